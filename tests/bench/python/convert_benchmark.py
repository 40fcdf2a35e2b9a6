#!/usr/bin/env python3
"""Times `serialctl convert` on large files next to R and cp of the same files, in one run.

    convert_benchmark.py [--serialctl build/bin/serialctl] [--work DIR] [--out-dir DIR]
                         [--reps 5] [--scale 1] [--inputs frame-ascii.rds,...]

Writes its inputs once (R's saveRDS for the R files, torch.save's layout for the Torch7 ones) and
reports, for every case, the median and the fastest wall time of --reps runs of the whole process
(start-up included, for serialctl, R and cp alike; on a virtual machine single runs of anything
that touches 400 MB of fresh memory can take 3-4 times the usual) and the largest peak RSS
(getrusage's ru_maxrss of the child) of those runs:

    numeric.rds     a numeric vector, uncompressed XDR (400 MB at --scale 1)
                    cp; R saveRDS(readRDS()) to XDR and serialize(xdr = FALSE) to native;
                    serialctl convert to rds (XDR) and to rds-native
    numeric-gz.rds  numeric.rds as saveRDS writes it by default (gzip)
                    cp; gzip -dc (decompressing alone); R saveRDS(readRDS(), compress = FALSE);
                    serialctl convert to rds and rds-native with --compress none (decompressed
                    a piece at a time as it is converted: no temporary file)
    frame.rds       a 5-column data.frame (doubles, integers, a factor, strings with NA, logicals)
                    cp; R saveRDS(readRDS()); serialctl convert to rds
    glm.rds         a fitted model: glm(y ~ x, binomial) of 2 million rows at --scale 1 (216 MB,
                    uncompressed XDR), with byte-compiled family functions and deferred strings
                    (its residuals' names)
                    cp; R saveRDS(readRDS()) to XDR (the same bytes) and serialize(xdr = FALSE);
                    serialctl convert to rds (the same bytes) and to rds-native (R's bytes)
    frame-ascii.rds the first quarter of that data.frame's rows, as saveRDS(ascii = TRUE) writes
                    it (uncompressed; about 90 MB at --scale 1)
                    cp; R saveRDS(readRDS()) to ascii again (the same bytes) and to XDR;
                    serialctl convert to rds-ascii (the same bytes) and to rds (R's XDR bytes)
    tensor.t7       a torch.FloatTensor (400 MB), little-endian with 8-byte longs
                    cp; serialctl convert to t7 (the same bytes) with the long size detected and
                    given, and to big-endian t7; to npy, through the object graph (its data
                    checked against the tensor's)
    tensor-be.t7    the same, big-endian: serialctl convert to little-endian t7
    small.t7        a torch.FloatTensor of 40 MB: cp; serialctl convert to t7-ascii (about 120 MB
                    of text, each float's "%.9g")
    small.ascii.t7  that ascii file (written by the first serialctl run of the row above, then
                    checked by this one): cp; serialctl convert to binary t7, which gives
                    small.t7's bytes back

Ratios (of medians) are against cp and R of the same row group. Inputs are read from the page cache (each
file is read once before timing). Every output is checked: the R rows and identity conversions
give the input's bytes, byte-order conversions the twin file's, rds-native R's own
serialize(xdr = FALSE) bytes. Outputs go to --out-dir, by default /dev/shm when it is there:
on a disk, each run's 400 MB of dirty pages throttles the next runs' writes by whatever the
kernel's writeback is doing, which swings every row (serialctl, R and cp alike) by 2-3 times.
The peak RSS of a child counts from its fork, so this script stays small (the Torch7 inputs are
written by a child process) and its own RSS is printed as the floor under every number.
Nothing is asserted; speeds depend on the machine.
"""
import argparse
import filecmp
import os
import statistics
import subprocess
import sys
import tempfile
import time

from bench_inputs import write_r_inputs

HERE = os.path.dirname(os.path.abspath(__file__))
REPOSITORY = os.path.abspath(os.path.join(HERE, "..", "..", ".."))


def run_child(command, preexec_fn=None):
    """Runs `command` (standard output discarded): its seconds, peak RSS (bytes), exit status and
    standard error. `preexec_fn` runs in the child before the command (memory_limit_benchmark
    moves it into a cgroup)."""
    # Standard error goes to a file, not a pipe: read only after wait4, a pipe the child fills
    # would block it forever.
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors,
                                   preexec_fn=preexec_fn)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        errors.seek(0)
        return (seconds, usage.ru_maxrss * 1024, os.waitstatus_to_exitcode(status),
                errors.read().decode(errors="replace"))


def run_measured(command):
    """Seconds and peak RSS (bytes) of one run of `command`, which must succeed."""
    seconds, rss, status, errors = run_child(command)
    if status != 0:
        sys.exit("failed (%s): %s\n%s" % (status, " ".join(command), errors))
    return seconds, rss


def measure(command, reps):
    runs = [run_measured(command) for _ in range(reps)]
    seconds = [s for s, _ in runs]
    return statistics.median(seconds), min(seconds), max(r for _, r in runs)


def warm(path):
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def make_tensor(path, count, big_endian):
    """bench_inputs.write_torch7_float_tensor in a child process: numpy's pages would otherwise
    stay in this one and count in every measured child's peak RSS."""
    subprocess.run([sys.executable, "-c",
                    "import sys; sys.path.insert(0, %r); import bench_inputs; "
                    "bench_inputs.write_torch7_float_tensor(%r, %d, big_endian=%r)"
                    % (HERE, path, count, big_endian)], check=True)


def peak_rss_bytes(pid="self"):
    """The peak resident set (VmHWM) of a running process, this one by default."""
    with open("/proc/%s/status" % pid) as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def self_rss_mb():
    return peak_rss_bytes() / 1e6


def same_tail(a, b, n):
    """Whether files `a` and `b` end with the same `n` bytes (an npy file's data is the tensor's)."""
    with open(a, "rb") as fa, open(b, "rb") as fb:
        fa.seek(-n, os.SEEK_END)
        fb.seek(-n, os.SEEK_END)
        while True:
            x = fa.read(1 << 22)
            if x != fb.read(1 << 22):
                return False
            if not x:
                return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--serialctl",
                        default=os.path.join(REPOSITORY, "build", "bin", "serialctl"))
    parser.add_argument("--work", default=None, help="where inputs and outputs go")
    parser.add_argument("--out-dir", default="/dev/shm" if os.access("/dev/shm", os.W_OK)
                        else None, help="where outputs go (default /dev/shm, else --work)")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0,
                        help="input size factor (1: 400 MB numeric and tensor files)")
    parser.add_argument("--inputs", default=None,
                        help="comma-separated input names (as in the table): only their rows")
    args = parser.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="convert-bench-")
    os.makedirs(work, exist_ok=True)
    doubles = int(50_000_000 * args.scale)
    rows = int(8_000_000 * args.scale)
    floats = int(100_000_000 * args.scale)
    numeric = os.path.join(work, "numeric.rds")
    frame = os.path.join(work, "frame.rds")
    frame_ascii = os.path.join(work, "frame-ascii.rds")
    glm = os.path.join(work, "glm.rds")
    numeric_gz = os.path.join(work, "numeric-gz.rds")
    tensor = os.path.join(work, "tensor.t7")
    tensor_be = os.path.join(work, "tensor-be.t7")
    small = os.path.join(work, "small.t7")
    small_ascii = os.path.join(work, "small.ascii.t7")
    out = os.path.join(args.out_dir or work, "convert-benchmark-%d.out" % os.getpid())
    if not os.path.exists(numeric) or not os.path.exists(frame):
        write_r_inputs(numeric, frame, doubles, rows)
    if not os.path.exists(frame_ascii):
        subprocess.run(["Rscript", "-e", "f <- readRDS('%s'); saveRDS(f[seq_len(%d), ], '%s', "
                        "ascii = TRUE, compress = FALSE)" % (frame, rows // 4, frame_ascii)],
                       check=True)
    if not os.path.exists(glm):
        subprocess.run(["Rscript", "-e", "set.seed(1); n <- %d; d <- data.frame(x = runif(n), "
                        "y = rbinom(n, 1, 0.5)); saveRDS(glm(y ~ x, family = binomial, data = d), "
                        "'%s', compress = FALSE)" % (rows // 4, glm)], check=True)
    if not os.path.exists(numeric_gz):
        subprocess.run(["Rscript", "-e", "saveRDS(readRDS('%s'), '%s')" % (numeric, numeric_gz)],
                       check=True)
    if not os.path.exists(tensor):
        make_tensor(tensor, floats, big_endian=False)
    if not os.path.exists(tensor_be):
        make_tensor(tensor_be, floats, big_endian=True)
    if not os.path.exists(small):
        make_tensor(small, floats // 10, big_endian=False)
    if not os.path.exists(small_ascii):
        subprocess.run([args.serialctl, "convert", "--to", "t7-ascii", small, small_ascii],
                       check=True)

    ctl = args.serialctl
    r_native = out + ".r-native"
    r_xdr = out + ".r-xdr"
    # (row name, command, file the output must equal after the row's runs, or None)
    groups = [
        (numeric, [
            ("cp", ["cp", numeric, out], numeric),
            ("R saveRDS(readRDS()) XDR",
             ["Rscript", "-e", "saveRDS(readRDS('%s'), '%s', compress = FALSE)" % (numeric, out)],
             numeric),
            ("R serialize(readRDS(), xdr = FALSE)",
             ["Rscript", "-e", "con <- file('%s', 'wb'); serialize(readRDS('%s'), con, "
              "xdr = FALSE); close(con)" % (r_native, numeric)], None),
            ("serialctl convert --to rds", [ctl, "convert", "--to", "rds", numeric, out], numeric),
            ("serialctl convert --to rds-native",
             [ctl, "convert", "--to", "rds-native", numeric, out], r_native),
        ]),
        (numeric_gz, [
            ("cp", ["cp", numeric_gz, out], numeric_gz),
            ("gzip -dc", ["sh", "-c", "gzip -dc < '%s' > '%s'" % (numeric_gz, out)], numeric),
            ("R saveRDS(readRDS(), compress = FALSE)",
             ["Rscript", "-e",
              "saveRDS(readRDS('%s'), '%s', compress = FALSE)" % (numeric_gz, out)], numeric),
            ("serialctl convert --to rds --compress none",
             [ctl, "convert", "--to", "rds", "--compress", "none", numeric_gz, out], numeric),
            ("serialctl convert --to rds-native --compress none",
             [ctl, "convert", "--to", "rds-native", "--compress", "none", numeric_gz, out],
             r_native),
        ]),
        (frame, [
            ("cp", ["cp", frame, out], frame),
            ("R saveRDS(readRDS()) XDR",
             ["Rscript", "-e", "saveRDS(readRDS('%s'), '%s', compress = FALSE)" % (frame, out)],
             frame),
            ("serialctl convert --to rds", [ctl, "convert", "--to", "rds", frame, out], frame),
        ]),
        (glm, [
            ("cp", ["cp", glm, out], glm),
            ("R saveRDS(readRDS()) XDR",
             ["Rscript", "-e", "saveRDS(readRDS('%s'), '%s', compress = FALSE)" % (glm, out)], glm),
            ("R serialize(readRDS(), xdr = FALSE)",
             ["Rscript", "-e", "con <- file('%s', 'wb'); serialize(readRDS('%s'), con, "
              "xdr = FALSE); close(con)" % (r_native, glm)], None),
            ("serialctl convert --to rds", [ctl, "convert", "--to", "rds", glm, out], glm),
            ("serialctl convert --to rds-native",
             [ctl, "convert", "--to", "rds-native", glm, out], r_native),
        ]),
        (frame_ascii, [
            ("cp", ["cp", frame_ascii, out], frame_ascii),
            ("R saveRDS(readRDS(), ascii = TRUE)",
             ["Rscript", "-e", "saveRDS(readRDS('%s'), '%s', ascii = TRUE, compress = FALSE)" % (
                 frame_ascii, out)], frame_ascii),
            ("R saveRDS(readRDS()) XDR",
             ["Rscript", "-e", "saveRDS(readRDS('%s'), '%s', compress = FALSE)" % (
                 frame_ascii, r_xdr)], None),
            ("serialctl convert --to rds-ascii",
             [ctl, "convert", "--to", "rds-ascii", frame_ascii, out], frame_ascii),
            ("serialctl convert --to rds", [ctl, "convert", "--to", "rds", frame_ascii, out],
             r_xdr),
        ]),
        (tensor, [
            ("cp", ["cp", tensor, out], tensor),
            ("serialctl convert --to t7 (long size detected)",
             [ctl, "convert", "--to", "t7", tensor, out], tensor),
            ("serialctl convert --from t7 --long-size 8 --to t7",
             [ctl, "convert", "--from", "t7", "--long-size", "8", "--to", "t7", tensor, out],
             tensor),
            ("serialctl convert --to t7 --byte-order big",
             [ctl, "convert", "--to", "t7", "--byte-order", "big", tensor, out], tensor_be),
            ("serialctl convert --to npy (through the object graph)",
             [ctl, "convert", "--to", "npy", tensor, out], ("tail", tensor, 4 * floats)),
        ]),
        (tensor_be, [
            ("cp", ["cp", tensor_be, out], tensor_be),
            ("serialctl convert --to t7 --byte-order little (detected)",
             [ctl, "convert", "--to", "t7", "--byte-order", "little", tensor_be, out], tensor),
        ]),
        (small, [
            ("cp", ["cp", small, out], small),
            ("serialctl convert --to t7-ascii",
             [ctl, "convert", "--to", "t7-ascii", small, out], small_ascii),
        ]),
        (small_ascii, [
            ("cp", ["cp", small_ascii, out], small_ascii),
            ("serialctl convert --to t7 (ascii in)",
             [ctl, "convert", "--to", "t7", small_ascii, out], small),
        ]),
    ]
    print("outputs in %s; this script's own peak RSS: %.0f MB" % (os.path.dirname(out),
                                                                 self_rss_mb()))
    print("| input | MB | command | median s | fastest s | x cp | x R | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|")
    only = set(args.inputs.split(",")) if args.inputs else None
    for path, cases in groups:
        if only is not None and os.path.basename(path) not in only:
            continue
        warm(path)
        size = os.path.getsize(path)
        cp_seconds = None
        r_seconds = None
        for name, command, expected in cases:
            seconds, fastest, rss = measure(command, args.reps)
            if isinstance(expected, tuple):  # ("tail", file, n): the last n bytes are the same
                if not same_tail(out, expected[1], expected[2]):
                    sys.exit("wrong output: %s does not end with the last %d bytes of %s" % (
                        " ".join(command), expected[2], expected[1]))
            elif expected is not None and not filecmp.cmp(out, expected, shallow=False):
                sys.exit("wrong output: %s does not give the bytes of %s" % (" ".join(command),
                                                                              expected))
            if name == "cp":
                cp_seconds = seconds
            if name.startswith("R saveRDS") and r_seconds is None:
                r_seconds = seconds
            print("| %s | %.0f | %s | %.3f | %.3f | %s | %s | %.0f |" % (
                os.path.basename(path), size / 1e6, name, seconds, fastest,
                "%.2f" % (seconds / cp_seconds) if cp_seconds else "",
                "%.2f" % (seconds / r_seconds) if r_seconds else "", rss / 1e6), flush=True)
    for path in (out, r_native, r_xdr):
        if os.path.exists(path):
            os.remove(path)


if __name__ == "__main__":
    main()

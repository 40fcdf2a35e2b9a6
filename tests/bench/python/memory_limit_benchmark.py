#!/usr/bin/env python3
"""Converts a file larger than the memory it is given: the conversions run inside a memory cgroup.

    memory_limit_benchmark.py [--serialctl build/bin/serialctl] [--seriald build/bin/seriald]
                              [--work DIR] [--gb 20] [--limit-mib 1024]
                              [--inputs rds,t7] [--no-r] [--keep-inputs]

A container's memory limit is a cgroup's: this script makes one (cgroup v2's memory.max, or v1's
memory.limit_in_bytes, swap included where v1 counts it) of --limit-mib, and runs each command
in it, so what a command may hold is what a container of that size would let it hold (its page
cache is charged there too, and reclaimed under the limit). It needs to be able to make a
cgroup (root, and a writable memory controller); when it cannot, it says what it tried and
exits 77 (skipped).

Inputs, written into --work unless there already (--gb decimal gigabytes of elements each):
    big.rds   seq(0, by = 0.5, length.out = n) as saveRDS(compress = FALSE) writes it (XDR); from
              --gb 17.2 on, a long vector (more than 2^31 - 1 elements)
    big.t7    a torch.FloatTensor (element i is i) as torch.save writes it, little-endian
Rows, each command inside the cgroup:
    cp                          the same bytes copied: the baseline
    serialctl convert           big.rds to rds-native, big.t7 to big-endian t7, in one process
    seriald + serialctl         the same through the service (ConvertStream): seriald in the
                                cgroup with --max-request-bytes and --max-response-bytes raised
                                to twice the file's size and its spill directory in --work; serialctl
                                --server in a second cgroup of the same limit, as a client in a
                                container of its own
    R saveRDS(readRDS())        big.rds only (unless --no-r): what R does in the same limit
Every output of serialctl is checked whole, byte for byte, against what it must be (computed a
block at a time, in a child process), cp's and R's by their size and first and last 64 MiB, and
then removed; a wrong output, or a serialctl or seriald that
fails, makes the exit status 1. R is expected to fail (its vector does not fit); its outcome is
reported, never judged. Reported per row: wall seconds, the ratio to cp, the peak resident set of
each process (getrusage's ru_maxrss; seriald's VmHWM), the cgroups' OOM kills, and the outcome.
A child's ru_maxrss counts from its fork, so this script never loads numpy (inputs are written
and outputs checked by children of their own) and prints its own peak RSS, the floor under every
number. Nothing about speed is asserted.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

from bench_inputs import (element_blocks, r_double_vector_header, torch7_float_tensor_header,
                          write_r_double_vector, write_torch7_float_tensor)
from convert_benchmark import peak_rss_bytes, run_child, self_rss_mb

HERE = os.path.dirname(os.path.abspath(__file__))
REPOSITORY = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
SKIPPED = 77


class MemoryCgroup:
    """A memory cgroup of `limit` bytes, made for this run under the cgroup this script is in,
    else at the hierarchy's root, and removed by close()."""

    def __init__(self, name, limit):
        tried = []
        self.path = None
        for path, version in self._candidates(name):
            try:
                os.mkdir(path)
            except OSError as e:
                tried.append("%s (%s)" % (path, e.strerror))
                continue
            try:
                if version == 2:
                    self._write(path, "memory.max", limit)
                    self._write_if_there(path, "memory.swap.max", 0)
                else:
                    self._write(path, "memory.limit_in_bytes", limit)
                    self._write_if_there(path, "memory.memsw.limit_in_bytes", limit)
            except OSError as e:
                os.rmdir(path)
                tried.append("%s (its limit: %s)" % (path, e.strerror))
                continue
            self.path, self.version = path, version
            break
        if self.path is None:
            sys.stderr.write("memory_limit_benchmark: skipped, no memory cgroup could be made: "
                             "tried %s\n" % ("; ".join(tried) or "no memory controller mounted"))
            sys.exit(SKIPPED)

    @staticmethod
    def _candidates(name):
        """(directory, cgroup version) to try, the current cgroup's child first."""
        own = {}
        with open("/proc/self/cgroup") as f:
            for line in f:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                own[controllers] = path.lstrip("/")
        v2_root = "/sys/fs/cgroup"
        if os.path.exists(os.path.join(v2_root, "cgroup.controllers")):
            with open(os.path.join(v2_root, "cgroup.controllers")) as f:
                if "memory" in f.read().split():
                    parent = os.path.join(v2_root, own.get("", ""))
                    for base in (parent, v2_root):
                        # A child gets the memory controller only where its parent hands it on.
                        try:
                            with open(os.path.join(base, "cgroup.subtree_control"), "w") as c:
                                c.write("+memory")
                        except OSError:
                            pass
                        yield os.path.join(base, name), 2
            return
        v1_root = "/sys/fs/cgroup/memory"
        if os.path.isdir(v1_root):
            for key, path in own.items():
                if "memory" in key.split(","):
                    yield os.path.join(v1_root, path, name), 1
            yield os.path.join(v1_root, name), 1

    @staticmethod
    def _write(path, name, value):
        with open(os.path.join(path, name), "w") as f:
            f.write(str(value))

    @classmethod
    def _write_if_there(cls, path, name, value):
        if os.path.exists(os.path.join(path, name)):
            try:
                cls._write(path, name, value)
            except OSError:
                pass

    def enter(self):
        """For Popen's preexec_fn: moves the child into the cgroup before it runs the command."""
        path = self.path
        return lambda: MemoryCgroup._write(path, "cgroup.procs", os.getpid())

    def oom_kills(self):
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        try:
            with open(os.path.join(self.path, name)) as f:
                for line in f:
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value)
        except OSError:
            pass
        return 0

    def close(self):
        for _ in range(50):
            try:
                os.rmdir(self.path)
                return
            except OSError:
                time.sleep(0.1)  # the last process may still be leaving


class Outcome:
    def __init__(self, seconds, rss, status, errors):
        self.seconds, self.rss, self.status, self.errors = seconds, rss, status, errors

    def describe(self):
        if self.status == 0:
            return "ok"
        if self.status == -9:
            return "killed (SIGKILL)"
        last = [line for line in self.errors.splitlines() if line.strip()]
        return "exit %d: %s" % (self.status, last[-1][:100] if last else "")


def run_in(cgroup, command):
    """Runs `command` in `cgroup`: its seconds, peak RSS, exit status and standard error."""
    return Outcome(*run_child(command, preexec_fn=cgroup.enter()))


class Server:
    """seriald in `cgroup` on a port the kernel picks, allowed calls of `max_bytes` each way,
    spilling into `spill_dir`."""

    def __init__(self, seriald, cgroup, max_bytes, spill_dir):
        self.process = subprocess.Popen(
            [seriald, "--listen", "127.0.0.1:0", "--max-request-bytes", str(max_bytes),
             "--max-response-bytes", str(max_bytes), "--spill-dir", spill_dir],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            preexec_fn=cgroup.enter())
        # "seriald: listening on 127.0.0.1:PORT" once it serves; nothing if it fails to start.
        line = self.process.stdout.readline()
        if "listening on" not in line:
            sys.exit("seriald did not start (exit %s)" % self.process.wait())
        self.address = line.split()[-1]

    def peak_rss(self):
        return peak_rss_bytes(self.process.pid)

    def stop(self):
        alive = self.process.poll() is None
        self.process.terminate()
        self.process.wait()
        self.process.stdout.close()
        return alive


def expected_output(kind, count):
    """The header and the element blocks a conversion of input `kind` of `count` elements gives:
    big.rds to rds-native, big.t7 to big-endian t7."""
    if kind == "rds":
        return (r_double_vector_header(count, native=True),
                element_blocks(count, "<f8", scale=0.5))
    return torch7_float_tensor_header(count, big_endian=True), element_blocks(count, ">f4")


def check_output(path, header, blocks):
    """Whether the file at `path` is `header` then the blocks' bytes, read a block at a time
    into one buffer. Runs in a child process (it needs numpy)."""
    import numpy

    with open(path, "rb", buffering=0) as f:
        if f.read(len(header)) != header:
            return "its header differs"
        offset = len(header)
        got = differ = None
        for block in blocks:
            expected = block.view(numpy.uint8)
            if got is None:
                got = numpy.empty(len(expected), numpy.uint8)
                differ = numpy.empty(len(expected), bool)
            n = len(expected)
            filled = 0
            while filled < n:
                read = f.readinto(memoryview(got)[filled:n])
                if not read:
                    return "it ends at byte %d, before the elements do" % (offset + filled)
                filled += read
            numpy.not_equal(got[:n], expected, out=differ[:n])
            if differ[:n].any():
                return "it differs from what it must be at byte %d" % (
                    offset + int(numpy.argmax(differ[:n])))
            offset += n
        if f.read(1):
            return "it is longer than the %d bytes expected" % offset
    return None


def check_copy(path, original):
    """Whether a copy (cp's, R's) is as long as the input and holds its first and last 64 MiB:
    the conversions' outputs are checked whole, the baselines' only so (reading 20 GB back from
    the disk takes minutes)."""
    size = os.path.getsize(original)
    if os.path.getsize(path) != size:
        return "it holds %d bytes, not %d" % (os.path.getsize(path), size)
    with open(path, "rb") as a, open(original, "rb") as b:
        for offset in (0, max(0, size - (1 << 26))):
            a.seek(offset)
            b.seek(offset)
            if a.read(1 << 26) != b.read(1 << 26):
                return "it differs from the input within bytes %d..%d" % (offset,
                                                                          offset + (1 << 26))
    return None


def child(args):
    """`write KIND PATH COUNT` or `check KIND PATH COUNT`, run as a process of its own."""
    action, kind, path, count = args[0], args[1], args[2], int(args[3])
    if action == "write":
        (write_r_double_vector if kind == "rds" else write_torch7_float_tensor)(path, count)
        return 0
    problem = check_output(path, *expected_output(kind, count))
    if problem is not None:
        print(problem)
        return 3
    return 0


def in_child(*args):
    """Runs child() with `args` in a new process: None, or the problem it found."""
    done = subprocess.run([sys.executable, os.path.abspath(__file__), "--child"] +
                          [str(a) for a in args], stdout=subprocess.PIPE, text=True)
    if done.returncode == 0:
        return None
    return done.stdout.strip() or "the check failed (exit %d)" % done.returncode


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        return child(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--serialctl",
                        default=os.path.join(REPOSITORY, "build", "bin", "serialctl"))
    parser.add_argument("--seriald", default=os.path.join(REPOSITORY, "build", "bin", "seriald"))
    parser.add_argument("--work", default=None, help="where inputs, outputs and spill files go")
    parser.add_argument("--gb", type=float, default=20.0,
                        help="size of each input's elements, in 10^9 bytes")
    parser.add_argument("--limit-mib", type=int, default=1024, help="the cgroup's memory limit")
    parser.add_argument("--inputs", default="rds,t7", help="rds, t7 or both")
    parser.add_argument("--no-r", action="store_true", help="leave out the R row")
    parser.add_argument("--keep-inputs", action="store_true",
                        help="leave the inputs in --work for another run")
    args = parser.parse_args()
    limit = args.limit_mib << 20
    work = args.work or tempfile.mkdtemp(prefix="memory-limit-bench-")
    os.makedirs(work, exist_ok=True)
    spill_dir = os.path.join(work, "spill")
    os.makedirs(spill_dir, exist_ok=True)
    name = "seriald-memory-limit-%d" % os.getpid()
    server_group = MemoryCgroup(name, limit)
    try:
        client_group = MemoryCgroup(name + "-client", limit)
        try:
            wrong = run_cases(args, work, spill_dir, server_group, client_group)
        finally:
            client_group.close()
    finally:
        server_group.close()
    if wrong:
        sys.exit("memory_limit_benchmark: " + "; ".join(wrong))
    return 0


def run_cases(args, work, spill_dir, server_group, client_group):
    """Writes the inputs, runs and reports the rows; what went wrong."""
    ctl = args.serialctl
    out = os.path.join(work, "memory-limit-benchmark.out")
    cases = []
    inputs = set(args.inputs.split(","))
    if "rds" in inputs:
        doubles = int(args.gb * 1e9) // 8
        cases.append((os.path.join(work, "big.rds"), "rds", doubles,
                      len(r_double_vector_header(doubles, False)) + 8 * doubles,
                      ["--to", "rds-native"]))
    if "t7" in inputs:
        floats = int(args.gb * 1e9) // 4
        cases.append((os.path.join(work, "big.t7"), "t7", floats,
                      len(torch7_float_tensor_header(floats, False)) + 4 * floats,
                      ["--to", "t7", "--byte-order", "big"]))

    print("memory cgroups %s and %s (v%d), limit %d MiB each; inputs in %s; this script's own "
          "peak RSS: %.0f MB" % (server_group.path, client_group.path, server_group.version,
                                 args.limit_mib, work, self_rss_mb()))
    print("| input | GB | command | s | x cp | peak RSS MB | seriald peak RSS MB | OOM kills | "
          "outcome |")
    print("|---|---|---|---|---|---|---|---|---|")
    wrong = []
    for path, kind, count, size, to in cases:
        if not os.path.exists(path) or os.path.getsize(path) != size:
            problem = in_child("write", kind, path, count)
            if problem is not None:
                wrong.append("could not write %s: %s" % (path, problem))
                continue
        kills = server_group.oom_kills() + client_group.oom_kills()
        cp_seconds = None

        def report(command, outcome, check, server_rss=None, must_succeed=True):
            """Checks the output (when the command succeeded), prints the row, removes the
            output; whether the command succeeded with the right output."""
            nonlocal kills
            now = server_group.oom_kills() + client_group.oom_kills()
            if outcome.status == 0:
                problem = check()
                if problem is not None:
                    outcome.status, outcome.errors = 1, "wrong output: " + problem
            print("| %s | %.1f | %s | %.2f | %s | %.0f | %s | %d | %s |" % (
                os.path.basename(path), size / 1e9, command, outcome.seconds,
                "%.2f" % (outcome.seconds / cp_seconds) if cp_seconds else "",
                outcome.rss / 1e6, "%.0f" % (server_rss / 1e6) if server_rss else "",
                now - kills, outcome.describe()), flush=True)
            kills = now
            if os.path.exists(out):
                os.remove(out)
            if outcome.status != 0 and must_succeed:
                wrong.append("%s: %s" % (command, outcome.describe()))
            return outcome.status == 0

        outcome = run_in(server_group, ["cp", path, out])
        if not report("cp", outcome, lambda: check_copy(out, path)):
            continue
        cp_seconds = outcome.seconds

        def check():
            return in_child("check", kind, out, count)

        report("serialctl convert " + " ".join(to),
               run_in(server_group, [ctl, "convert"] + to + [path, out]), check)

        server = Server(args.seriald, server_group, 2 * size, spill_dir)
        try:
            outcome = run_in(client_group, [ctl, "--server", server.address, "convert"] + to +
                             [path, out])
            server_rss = server.peak_rss()
        finally:
            server_alive = server.stop()
        report("seriald + serialctl --server convert " + " ".join(to), outcome, check,
               server_rss)
        if not server_alive:
            wrong.append("seriald ended during the call")

        if kind == "rds" and not args.no_r:
            outcome = run_in(server_group, [
                "Rscript", "-e", "saveRDS(readRDS('%s'), '%s', compress = FALSE)" % (path, out)])
            report("R saveRDS(readRDS())", outcome, lambda: check_copy(out, path),
                   must_succeed=False)
        if not args.keep_inputs:
            os.remove(path)
    return wrong


if __name__ == "__main__":
    sys.exit(main())

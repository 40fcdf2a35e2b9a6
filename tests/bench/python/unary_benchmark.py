#!/usr/bin/env python3
"""Times pyseriald's unary calls next to the streamed ones, against one seriald or two (a build to
compare with, started in turn in the same run), with the server's processor time and page faults.

    unary_benchmark.py [--seriald build/bin/seriald] [--baseline OTHER_SERIALD] [--rounds 2]
                       [--calls 20] [--work DIR]

Writes FloatTensors of 4 MB and 12 MB (and takes --frame, an RDS file, when given), starts each
server on a free port and reports, per round and server, the median wall time of --calls calls of:

    load, unary and streamed         (pyseriald.load of the bytes, stream_threshold 2^40 or 0)
    convert to npy and to rds, unary (pyseriald.convert)
    dump to t7, unary                (pyseriald.dump of what load gave: the tensor as numpy)
    inspect, unary                   (pyseriald.inspect: the input up, a summary back)

with the server's user + system time and minor page faults per call (from /proc/PID/stat), which
vary less than the wall clock on a shared machine. Run it with the Python that has pyseriald
(build/pyseriald-venv/bin/python). Nothing is asserted.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import pyseriald

from bench_inputs import write_torch7_float_tensor

HERE = os.path.dirname(os.path.abspath(__file__))
REPOSITORY = os.path.abspath(os.path.join(HERE, "..", "..", ".."))


def server_work(pid):
    """(processor seconds, minor page faults) of process `pid` so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), int(fields[7])


def measure(pid, calls, call):
    """'wall ms (server CPU ms, faults)' per call: medians of the wall, means of the rest."""
    call()  # warm: the connection, the server's first allocations
    cpu_before, faults_before = server_work(pid)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    cpu_after, faults_after = server_work(pid)
    return "%.1f ms (%.1f ms, %d)" % (1000 * statistics.median(times),
                                      1000 * (cpu_after - cpu_before) / calls,
                                      (faults_after - faults_before) / calls)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seriald", default=os.path.join(REPOSITORY, "build", "bin", "seriald"))
    parser.add_argument("--baseline", default=None, help="another seriald, measured in turn")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--frame", default=None, help="an RDS file to load as well")
    parser.add_argument("--work", default=None)
    args = parser.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="pyseriald-unary-")
    inputs = []
    for megabytes in (4, 12):
        path = os.path.join(work, "tensor%d.t7" % megabytes)
        write_torch7_float_tensor(path, megabytes * 250_000)
        inputs.append(path)
    if args.frame:
        inputs.append(args.frame)
    servers = [("seriald", args.seriald)] + ([("baseline", args.baseline)] if args.baseline else [])
    print("| round | server | input | MB | load unary | load streamed | convert to npy | "
          "convert to rds | dump to t7 | inspect |")
    print("|---|---|---|---:|---|---|---|---|---|---|")
    for round_number in range(1, args.rounds + 1):
        for label, binary in reversed(servers):
            process = subprocess.Popen([binary, "--listen", "127.0.0.1:0"],
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            address = process.stdout.readline().split()[-1]
            try:
                unary = pyseriald.SerialdClient(address, stream_threshold=1 << 40, timeout=600)
                streamed = pyseriald.SerialdClient(address, stream_threshold=0, timeout=600)
                for path in inputs:
                    with open(path, "rb") as f:
                        data = f.read()
                    tensor = path.endswith(".t7")
                    calls = args.calls if len(data) < 50_000_000 else max(1, args.calls // 4)
                    cells = [measure(process.pid, calls, lambda: unary.load(data)),
                             measure(process.pid, calls, lambda: streamed.load(data)),
                             measure(process.pid, calls, lambda: unary.convert(data, "npy"))
                             if tensor else "-",
                             measure(process.pid, calls, lambda: unary.convert(data, "rds"))
                             if tensor else "-"]
                    if tensor:
                        value = unary.load(data)
                        cells.append(measure(process.pid, calls, lambda: unary.dump(value, "t7")))
                    else:
                        cells.append("-")
                    cells.append(measure(process.pid, calls, lambda: unary.inspect(data)))
                    print("| %d | %s | %s | %.0f | %s |" % (round_number, label,
                                                          os.path.basename(path), len(data) / 1e6,
                                                          " | ".join(cells)), flush=True)
                unary.close()
                streamed.close()
            finally:
                process.terminate()
                process.wait(timeout=60)
    print("\nwall = median of the calls; in parentheses the server's processor time and minor "
          "page faults per call")


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Times pyseriald's load and dump of large real files next to baselines in the same run.

    load_benchmark.py [--seriald build/bin/seriald] [--work DIR] [--reps 3] [--scale 1]

Writes its inputs with R (saveRDS, uncompressed XDR) and a Torch7 stream (FloatTensor), starts a
seriald on a free port, and reports the median of --reps runs of:

    R readRDS / saveRDS of the same file        (R's own speed: the baseline a user compares to)
    cp of the file                              (the disk and page cache: the floor)
    bare stream                                 (the file's bytes up through grpcio in chunks of
                                                 pyseriald's size and as many back, to a server
                                                 with nothing but gRPC behind it: the floor of a
                                                 streamed load; needs --echo, the service
                                                 benchmark's echo server)
    pyseriald load / dump, unary and streamed   (through the service, ending in numpy/pandas)

Run it with the Python that has pyseriald (the venv ctest makes: build/pyseriald-venv/bin/python).
Nothing is asserted; speeds depend on the machine.
"""
import argparse
import mmap
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import grpc
import pyseriald

from bench_inputs import write_r_inputs, write_torch7_float_tensor

HERE = os.path.dirname(os.path.abspath(__file__))
REPOSITORY = os.path.abspath(os.path.join(HERE, "..", "..", ".."))


def median_seconds(function, reps):
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def r_seconds(code, reps):
    """Median seconds of `code` timed inside R (so R's start-up is not counted)."""
    script = ("t <- numeric(0); for (i in seq_len(%d)) t <- c(t, system.time({%s})[['elapsed']]);"
              " cat(median(t))" % (reps, code))
    return float(subprocess.run(["Rscript", "-e", script], check=True, capture_output=True,
                                text=True).stdout)


class Server:
    def __init__(self, command):
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        text=True)
        line = self.process.stdout.readline()
        self.address = line.split()[-1]

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=60)


def chunk_message(piece):
    """A seriald.bench.Chunk{data = piece}: encoded here, as pyseriald encodes its chunks."""
    def varint(value):
        out = bytearray()
        while value > 0x7F:
            out.append(value & 0x7F | 0x80)
            value >>= 7
        out.append(value)
        return bytes(out)
    return b"".join((b"\x0a", varint(len(piece)), piece))


def bare_stream(channel, path, chunk_bytes):
    """The file's bytes up to the echo server in chunks (from a mapping, as pyseriald sends a
    path), then as many back."""
    echo = channel.stream_stream("/seriald.bench.ByteEcho/Echo", request_serializer=None,
                                 response_deserializer=None)
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        view = memoryview(mapped)

        def requests():
            for offset in range(0, len(view), chunk_bytes):
                with view[offset:offset + chunk_bytes] as piece:
                    yield chunk_message(piece)

        # Each response is a Chunk: its tag and length, then the data.
        received = sum(len(message) for message in echo(requests(), timeout=600))
        sent = len(view)
        view.release()
    if received < sent:
        raise RuntimeError("the bare stream sent %d bytes and got %d back" % (sent, received))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seriald", default=os.path.join(REPOSITORY, "build", "bin", "seriald"))
    parser.add_argument("--echo", default=os.path.join(REPOSITORY, "build", "bin",
                                                       "service_benchmark"),
                        help="the service benchmark, whose --serve-echo serves the bare stream")
    parser.add_argument("--work", default=None)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="pyseriald-bench-")
    os.makedirs(work, exist_ok=True)
    doubles = int(25_000_000 * args.scale)      # 200 MB of doubles
    rows = int(2_000_000 * args.scale)          # a 5-column data frame
    floats = int(50_000_000 * args.scale)       # a 200 MB FloatTensor
    numeric = os.path.join(work, "numeric.rds")
    frame = os.path.join(work, "frame.rds")
    tensor = os.path.join(work, "tensor.t7")
    write_r_inputs(numeric, frame, doubles, rows)
    write_torch7_float_tensor(tensor, floats)

    server = Server([args.seriald, "--listen", "127.0.0.1:0"])
    echo = Server([args.echo, "--serve-echo"]) if os.path.exists(args.echo) else None
    rows_out = []
    try:
        echo_channel = (grpc.insecure_channel(echo.address, options=[
            ("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)])
            if echo else None)
        unary = pyseriald.SerialdClient(server.address, stream_threshold=1 << 40, timeout=600)
        streamed = pyseriald.SerialdClient(server.address, stream_threshold=0, timeout=600)
        for name, path in (("numeric.rds (%d doubles)" % doubles, numeric),
                           ("frame.rds (%d rows x 5)" % rows, frame),
                           ("tensor.t7 (%d floats)" % floats, tensor)):
            size = os.path.getsize(path)
            copy = os.path.join(work, "copy")
            cp = median_seconds(lambda: shutil.copyfile(path, copy), args.reps)
            row = {"file": name, "MB": size / 1e6, "cp": cp}
            if echo_channel is not None:
                row["bare stream"] = median_seconds(
                    lambda: bare_stream(echo_channel, path, streamed.chunk_bytes), args.reps)
            if path.endswith(".rds"):
                row["R readRDS"] = r_seconds("readRDS('%s')" % path, args.reps)
                x_code = "x <- readRDS('%s')" % path
                row["R saveRDS"] = float(subprocess.run(
                    ["Rscript", "-e", x_code + "; t <- numeric(0); for (i in 1:%d) t <- c(t,"
                     " system.time(saveRDS(x, '%s', compress = FALSE))[['elapsed']]);"
                     " cat(median(t))" % (args.reps, copy)],
                    check=True, capture_output=True, text=True).stdout)
            if size < (64 << 20):
                row["load unary"] = median_seconds(lambda: unary.load(path), args.reps)
            row["load streamed"] = median_seconds(lambda: streamed.load(path), args.reps)
            value = streamed.load(path)
            fmt = "rds" if path.endswith(".rds") else "t7"
            row["dump streamed"] = median_seconds(
                lambda: streamed.dump(value, fmt, path=copy, **({"compress": "none"}
                                                                 if fmt == "rds" else {})),
                args.reps)
            rows_out.append(row)
    finally:
        server.stop()
        if echo is not None:
            echo.stop()
    columns = ["file", "MB", "cp", "R readRDS", "R saveRDS", "bare stream", "load unary",
               "load streamed", "dump streamed"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows_out:
        cells = []
        for c in columns:
            v = row.get(c)
            cells.append("-" if v is None else (v if isinstance(v, str) else
                                                 ("%.0f" % v if c == "MB" else "%.2f s" % v)))
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Drives the Python client (pyseriald) over many files for service_corpus_e2e_test.

    corpus_client.py convert SERVER OUT_DIR LIST_FILE
    corpus_client.py roundtrip SERVER OUT_DIR LIST_FILE

LIST_FILE holds one "NAME<TAB>PATH" line per input file. Every call is made twice: with the
client's defaults (unary calls for inputs this small) and with a client that streams everything
in 64-byte chunks. Results go to OUT_DIR, for the test to compare byte for byte:

    convert:    NAME.unary.FORMAT, NAME.stream.FORMAT   for FORMAT in t7, t7-ascii, json
    roundtrip:  NAME.unary.roundtrip, NAME.stream.roundtrip   (deserialize, then serialize back
                in the format the input was read as)

A failed call writes no file and prints "error NAME WHAT: CODE MESSAGE" on standard error; the exit
status is then 1.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "client", "python"))
from pyseriald import client as seriald  # noqa: E402

FORMATS = ("t7", "t7-ascii", "json")


def main(argv):
    if len(argv) != 4 or argv[0] not in ("convert", "roundtrip"):
        sys.stderr.write(__doc__)
        return 2
    mode, server, out_dir, list_file = argv
    clients = {
        "unary": seriald.SerialdClient(server, timeout=60),
        "stream": seriald.SerialdClient(server, timeout=60, stream_threshold=0, chunk_bytes=64),
    }
    with open(list_file) as f:
        files = [line.rstrip("\n").split("\t", 1) for line in f if line.strip()]
    failures = 0
    for name, path in files:
        with open(path, "rb") as f:
            data = f.read()
        for kind, client in clients.items():
            if mode == "convert":
                jobs = [(fmt, lambda fmt=fmt: client.convert(data, to=fmt)) for fmt in FORMATS]
            else:
                def roundtrip():
                    value, fmt = client.deserialize(data)
                    return client.serialize(value, fmt)
                jobs = [("roundtrip", roundtrip)]
            for what, job in jobs:
                try:
                    result = job()
                except seriald.SerialdError as e:
                    sys.stderr.write("error %s %s.%s: %s %s\n" % (name, kind, what, e.code, e.message))
                    failures += 1
                    continue
                with open(os.path.join(out_dir, "%s.%s.%s" % (name, kind, what)), "wb") as out:
                    out.write(result)
    print("done %d files, %d failures" % (len(files), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

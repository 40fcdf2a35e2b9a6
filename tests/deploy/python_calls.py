#!/usr/bin/env python3
"""Deploy-test driver: makes N Convert calls through one Python client channel and prints one
line per call ("ok" or "error <code> <message>"), then a summary line "done <ok> <failed>".

    python_calls.py TARGET INPUT_FILE COUNT
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "client",
                                "python"))
from pyseriald import client as seriald  # noqa: E402


def main(target, path, count):
    with open(path, "rb") as f:
        data = f.read()
    connection = seriald.SerialdClient(target, timeout=30)
    ok = failed = 0
    for _ in range(count):
        try:
            connection.convert(data, to="t7-ascii")
            print("ok", flush=True)
            ok += 1
        except seriald.SerialdError as e:
            print("error %s %s" % (e.code, e.message), flush=True)
            failed += 1
    print("done %d %d" % (ok, failed), flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))

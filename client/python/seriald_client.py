#!/usr/bin/env python3
"""seriald_client: convert and read Torch7 and R serialization formats through a seriald server.

    python3 client/python/seriald_client.py --server HOST:PORT convert IN OUT --to FMT [options]
    python3 client/python/seriald_client.py --server HOST:PORT deserialize IN
    python3 client/python/seriald_client.py --server HOST:PORT inspect IN
    python3 client/python/seriald_client.py --server HOST:PORT health

IN and OUT may be "-" for standard input/output. Large inputs stream automatically. Exit status:
0 on success, 1 when the server refuses the input or the call fails, 2 for usage errors.
"""
import argparse
import mmap
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from google.protobuf import json_format  # noqa: E402

from pyseriald import client as seriald  # noqa: E402


def read_input(path):
    """The input's bytes: a memory map for regular files (no copy), else everything read."""
    if path == "-":
        return sys.stdin.buffer.read()
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return b""
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)


def progress_printer(enabled):
    if not enabled:
        return None

    def show(done, total):
        width = 30
        filled = int(width * done / total) if total else 0
        sys.stderr.write("\r[%s%s] %3d%% %d/%d MiB" % ("=" * filled, " " * (width - filled),
                                                     100 * done // max(total, 1), done >> 20,
                                                     total >> 20))
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()
    return show


def main(argv):
    parser = argparse.ArgumentParser(prog="seriald_client.py", description=__doc__.split("\n")[0])
    parser.add_argument("--server", required=True,
                        help="HOST:PORT, several HOST:PORT,HOST:PORT (round robin), or dns:///NAME:PORT")
    parser.add_argument("--tls-ca", help="PEM CA bundle to verify the server (enables TLS)")
    parser.add_argument("--tls-cert", help="PEM client certificate (mutual TLS)")
    parser.add_argument("--tls-key", help="PEM client private key (mutual TLS)")
    parser.add_argument("--timeout", type=float, default=None, help="deadline per call, seconds")
    commands = parser.add_subparsers(dest="command", required=True)

    convert = commands.add_parser("convert", help="convert IN to another format, written to OUT")
    convert.add_argument("input", metavar="IN")
    convert.add_argument("output", metavar="OUT")
    convert.add_argument("--to", required=True, choices=sorted(seriald.FORMATS))
    convert.add_argument("--from", dest="source", default="", choices=[""] + sorted(seriald.FORMATS),
                         help="input format (default: detected from the content)")
    convert.add_argument("--long-size", type=int, choices=[4, 8], default=0,
                         help="Torch7: bytes per C long to write (and, with --from t7, to read)")
    convert.add_argument("--big-endian", action="store_true",
                         help="Torch7: write big-endian (and, with --from t7, read big-endian)")
    convert.add_argument("--unreferenced", action="store_true",
                         help="Torch7: write shared objects once per occurrence")
    convert.add_argument("--version", type=int, choices=[2, 3], default=0,
                         help="R: serialization version to write")
    convert.add_argument("--compress", choices=sorted(seriald.COMPRESSIONS),
                         help="R: compression of the output file")
    convert.add_argument("--drop-unconvertible", action="store_true",
                         help="between Torch7 and R: leave out what the output cannot hold "
                              "instead of failing (listed on standard error)")
    convert.add_argument("--allow-inexact-integers", action="store_true",
                         help="to R: round int64 values beyond 2^53 to the nearest double")
    convert.add_argument("--strict", action="store_true",
                         help="array files (npy, npz, safetensors): refuse values that are not "
                              "arrays instead of skipping them")

    deserialize = commands.add_parser("deserialize", help="print IN as a JSON seriald.v1.Value")
    deserialize.add_argument("input", metavar="IN")
    deserialize.add_argument("--from", dest="source", default="", choices=[""] + sorted(seriald.FORMATS))

    inspect = commands.add_parser("inspect", help="print the format facts and tree of IN")
    inspect.add_argument("input", metavar="IN")
    inspect.add_argument("--from", dest="source", default="", choices=[""] + sorted(seriald.FORMATS))

    commands.add_parser("health", help="check the server's grpc.health.v1 status")

    args = parser.parse_args(argv)
    try:
        client = seriald.SerialdClient(args.server, tls_ca=args.tls_ca, tls_cert=args.tls_cert,
                                       tls_key=args.tls_key, timeout=args.timeout)
        if args.command == "health":
            status = client.health()
            print(status)
            return 0 if status == "SERVING" else 1

        data = read_input(args.input)
        show_progress = progress_printer(sys.stderr.isatty() and len(data) > (64 << 20))
        if args.command == "convert":
            forced = args.source == "t7"
            read = seriald.read_options(args.source,
                                        long_size=args.long_size if forced else 0,
                                        big_endian=True if (forced and args.big_endian) else None)
            write = seriald.write_options(args.to, long_size=args.long_size,
                                          big_endian=True if args.big_endian else None,
                                          unreferenced=args.unreferenced, version=args.version,
                                          compress=args.compress,
                                          drop_unconvertible=args.drop_unconvertible,
                                          allow_inexact_integers=args.allow_inexact_integers,
                                          strict=args.strict)
            if args.output == "-":
                converted = client.convert(data, args.to, read=read, write=write,
                                           output=sys.stdout.buffer, progress=show_progress)
            else:
                tmp = args.output + ".partial"
                try:
                    with open(tmp, "wb") as out:
                        converted = client.convert(data, args.to, read=read, write=write,
                                                   output=out, progress=show_progress)
                    os.replace(tmp, args.output)
                finally:
                    if os.path.exists(tmp):
                        os.unlink(tmp)
            for note in converted.notes:
                sys.stderr.write("seriald_client: note: %s\n" % note)
        elif args.command == "deserialize":
            value, _ = client.deserialize(data, read=seriald.read_options(args.source),
                                          progress=show_progress)
            print(json_format.MessageToJson(value, including_default_value_fields=True))
        elif args.command == "inspect":
            response = client.inspect(data, read=seriald.read_options(args.source))
            print("format: %s" % seriald.FORMAT_NAMES.get(response.format, "?"))
            print("nodes: %d, roots: %d" % (response.node_count, response.root_count))
            sys.stdout.write(response.summary)
            if not response.summary.endswith("\n"):
                print()
        return 0
    except seriald.SerialdError as e:
        sys.stderr.write("seriald_client: %s\n" % e.message)
        return 1
    except OSError as e:
        sys.stderr.write("seriald_client: %s\n" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Installs pyseriald into a fresh virtual environment the way a user does, offline, for the
Python client's tests (the pyseriald_venv ctest fixture):

    python3 -m venv --system-site-packages VENV
    VENV/bin/pip install --no-build-isolation --no-index client/python

The package is built from a copy of client/python and proto/ made under --work, so that the
build's by-products (build/, *.egg-info) never land in the source tree.

    install_pyseriald.py --venv build/pyseriald-venv --source . --work build/pyseriald-build \
        [--protoc PATH] [--grpc-plugin PATH] [--grpc-proto-dir DIR]
"""
import argparse
import os
import shutil
import subprocess
import sys

IGNORED = shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "*.pyc", "*_pb2.py",
                                 "*_pb2_grpc.py")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--venv", required=True, help="directory of the environment (recreated)")
    parser.add_argument("--source", required=True, help="the repository")
    parser.add_argument("--work", required=True, help="scratch directory for the build")
    parser.add_argument("--protoc")
    parser.add_argument("--grpc-plugin")
    parser.add_argument("--grpc-proto-dir")
    args = parser.parse_args(argv)

    for directory in (args.venv, args.work):
        shutil.rmtree(directory, ignore_errors=True)
    shutil.copytree(os.path.join(args.source, "client", "python"),
                    os.path.join(args.work, "client", "python"), ignore=IGNORED)
    shutil.copytree(os.path.join(args.source, "proto"), os.path.join(args.work, "proto"),
                    ignore=shutil.ignore_patterns("*.cc", "*.h", "CMakeLists.txt", "internal"))

    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", args.venv], check=True)
    environment = dict(os.environ)
    for variable, value in (("PROTOC", args.protoc), ("GRPC_PYTHON_PLUGIN", args.grpc_plugin),
                            ("SERIALD_GRPC_PROTO_DIR", args.grpc_proto_dir)):
        if value:
            environment[variable] = value
    environment["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    subprocess.run([os.path.join(args.venv, "bin", "python"), "-m", "pip", "install",
                    "--no-build-isolation", "--no-index", "--no-cache-dir",
                    os.path.join(args.work, "client", "python")],
                   check=True, env=environment)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

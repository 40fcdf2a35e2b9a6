"""Builds pyseriald with its generated protobuf/gRPC modules (metadata is in pyproject.toml).

`build_py` copies the package as usual, then runs generate_stubs.py to write the modules for
proto/seriald/v1/*.proto, google/rpc/status.proto and grpc/health/v1/health.proto into
pyseriald/_proto inside the build, replacing the source tree's _proto/__init__.py (whose job is
finding the CMake build's modules in a source checkout) with a plain one.

Where things are found: the schema in $SERIALD_PROTO_DIR, else ../../proto next to this file;
health.proto in $SERIALD_GRPC_PROTO_DIR, else /usr/share/grpc-proto (Debian's grpc-proto);
protoc and grpc_python_plugin in $PROTOC / $GRPC_PYTHON_PLUGIN, else on PATH.

    pip install --no-build-isolation --no-index client/python
"""
import os
import sys

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


class BuildWithStubs(build_py):
    def run(self):
        super().run()
        sys.path.insert(0, HERE)  # generate_stubs.py sits beside this file (build time only)
        try:
            import generate_stubs
        finally:
            sys.path.remove(HERE)
        out = os.path.join(self.build_lib, "pyseriald", "_proto")
        generate_stubs.generate(
            out,
            proto_dir=os.environ.get("SERIALD_PROTO_DIR", generate_stubs.DEFAULT_PROTO_DIR),
            grpc_proto_dir=os.environ.get("SERIALD_GRPC_PROTO_DIR",
                                          generate_stubs.DEFAULT_GRPC_PROTO_DIR))


setup(cmdclass={"build_py": BuildWithStubs})

"""pyseriald's protobuf and gRPC modules, generated from proto/ by generate_stubs.py.

An installed pyseriald holds them here: `pip install client/python` generates them into the
package (and replaces this file with a plain one). In a source checkout that the CMake build has
built, they are generated into <build>/python/pyseriald/_proto instead; this package then serves
them from there: $SERIALD_PYTHON_PATH/pyseriald/_proto when that variable names a build's python
directory, else <repository>/build/python/pyseriald/_proto.

    from pyseriald._proto import serializer_pb2, serializer_pb2_grpc
"""
import os


def _has_stubs(directory):
    return os.path.isfile(os.path.join(directory, "serializer_pb2.py"))


def _build_tree_stubs():
    """The build tree's generated modules for a source checkout, or None."""
    repository = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..")
    candidates = [os.environ.get("SERIALD_PYTHON_PATH", ""),
                  os.path.join(repository, "build", "python")]
    for python_dir in candidates:
        directory = os.path.join(python_dir, "pyseriald", "_proto")
        if python_dir and _has_stubs(directory):
            return os.path.abspath(directory)
    return None


if not _has_stubs(__path__[0]):
    # A module search path of this package only (PEP 302 __path__), not sys.path: nothing else
    # becomes importable.
    _directory = _build_tree_stubs()
    if _directory is None:
        raise ImportError(
            "pyseriald's generated modules were not found: install the package "
            "(pip install --no-build-isolation client/python), build the project (make build), "
            "or set SERIALD_PYTHON_PATH to <build>/python")
    __path__.append(_directory)

"""Python client of the seriald service (Torch7 and R serialization over gRPC).

The gRPC stubs are generated at build time from the same proto files as the C++ code
(proto/seriald/v1/*.proto) into <build>/python; `pyseriald.client` finds them there.

Example:

    from pyseriald.client import SerialdClient
    client = SerialdClient("127.0.0.1:50051")
    t7_ascii = client.convert(open("model.t7", "rb").read(), to="t7-ascii")
    value, fmt = client.deserialize(open("model.t7", "rb").read())
"""

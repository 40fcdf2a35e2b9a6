"""SerialdClient: convert, deserialize, serialize and inspect through a seriald server.

Payloads larger than `stream_threshold` bytes go through the streaming RPCs in chunks, so callers
never meet message-size limits. Errors raise SerialdError with the server's status code, message,
and the typed details (byte offset, format, limit).
"""
import os
import sys

import grpc


def _import_stubs():
    """Imports the generated modules, looking in $SERIALD_PYTHON_PATH and <repo>/build/python."""
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [os.environ.get("SERIALD_PYTHON_PATH", ""),
                  os.path.join(here, "..", "..", "..", "build", "python")]
    for path in candidates:
        if path and os.path.isdir(os.path.join(path, "seriald", "v1")) and path not in sys.path:
            sys.path.insert(0, os.path.abspath(path))
    try:
        from seriald.v1 import serializer_pb2, serializer_pb2_grpc, value_pb2  # noqa: F401
        from google.rpc import status_pb2
        from grpc_health.v1 import health_pb2, health_pb2_grpc
    except ImportError as e:  # pragma: no cover - depends on the build
        raise ImportError(
            "seriald's generated Python stubs were not found; build the project (make build) or "
            "set SERIALD_PYTHON_PATH to <build>/python (%s)" % e) from e
    return serializer_pb2, serializer_pb2_grpc, value_pb2, status_pb2, health_pb2, health_pb2_grpc


(serializer_pb2, serializer_pb2_grpc, value_pb2, status_pb2, health_pb2,
 health_pb2_grpc) = _import_stubs()

FORMATS = {
    "t7": serializer_pb2.FORMAT_T7,
    "t7-ascii": serializer_pb2.FORMAT_T7_ASCII,
    "rds": serializer_pb2.FORMAT_RDS,
    "rds-native": serializer_pb2.FORMAT_RDS_NATIVE,
    "rds-ascii": serializer_pb2.FORMAT_RDS_ASCII,
    "rds-asciihex": serializer_pb2.FORMAT_RDS_ASCIIHEX,
    "rdata": serializer_pb2.FORMAT_RDATA,
    "json": serializer_pb2.FORMAT_JSON,
}
FORMAT_NAMES = {number: name for name, number in FORMATS.items()}
COMPRESSIONS = {
    "none": value_pb2.R_COMPRESSION_NONE,
    "gzip": value_pb2.R_COMPRESSION_GZIP,
    "bzip2": value_pb2.R_COMPRESSION_BZIP2,
    "xz": value_pb2.R_COMPRESSION_XZ,
}

# Round robin over every address of the target; retry calls refused while a replica drains.
SERVICE_CONFIG = """{
  "loadBalancingConfig": [{"round_robin": {}}],
  "methodConfig": [{
    "name": [{"service": "seriald.v1.Serializer"}, {"service": "grpc.health.v1.Health"}],
    "retryPolicy": {"maxAttempts": 4, "initialBackoff": "0.1s", "maxBackoff": "2s",
                    "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}
  }]
}"""


class SerialdError(Exception):
    """A failed call: `code` (grpc.StatusCode), `message`, and the ErrorInfo fields."""

    def __init__(self, rpc_error):
        self.code = rpc_error.code()
        self.message = rpc_error.details()
        self.byte_offset = None
        self.format = ""
        self.limit = ""
        for key, value in rpc_error.trailing_metadata() or ():
            if key == "grpc-status-details-bin":
                status = status_pb2.Status.FromString(value)
                for detail in status.details:
                    info = serializer_pb2.ErrorInfo()
                    if detail.Unpack(info):
                        self.format = info.format
                        self.limit = info.limit
                        if info.HasField("byte_offset"):
                            self.byte_offset = info.byte_offset
        super().__init__(self.message)


def _channel_target(target):
    """"a:1,b:2" -> "ipv4:a:1,b:2"; other targets unchanged."""
    if "," in target and ":///" not in target and not target.startswith(("ipv4:", "ipv6:")):
        parts = [p.strip() for p in target.split(",") if p.strip()]
        return ("ipv6:" if parts[0].startswith("[") else "ipv4:") + ",".join(parts)
    return target


def _with_input_size(read, size):
    """A copy of the ReadOptions `read` carrying the input size hint (the caller's is untouched)."""
    copy = serializer_pb2.ReadOptions()
    copy.CopyFrom(read)
    copy.input_size = size
    return copy


def read_options(fmt="", long_size=0, big_endian=None, max_depth=0, input_size=0):
    options = serializer_pb2.ReadOptions(format=FORMATS[fmt] if fmt else 0,
                                         torch7_long_size=long_size, max_depth=max_depth,
                                         input_size=input_size)
    if big_endian is not None:
        options.torch7_byte_order = (serializer_pb2.BYTE_ORDER_BIG_ENDIAN if big_endian
                                     else serializer_pb2.BYTE_ORDER_LITTLE_ENDIAN)
    return options


def write_options(to, long_size=0, big_endian=None, unreferenced=False, version=0,
                  compress=None):
    options = serializer_pb2.WriteOptions(format=FORMATS[to], torch7_long_size=long_size,
                                          torch7_unreferenced=unreferenced, r_version=version)
    if big_endian is not None:
        options.torch7_byte_order = (serializer_pb2.BYTE_ORDER_BIG_ENDIAN if big_endian
                                     else serializer_pb2.BYTE_ORDER_LITTLE_ENDIAN)
    if compress is not None:
        options.r_compression = COMPRESSIONS[compress]
    return options


class SerialdClient:
    """A connection to one seriald server or several replicas."""

    def __init__(self, target, tls_ca=None, tls_cert=None, tls_key=None,
                 stream_threshold=16 << 20, chunk_bytes=1 << 20, timeout=None):
        options = [("grpc.service_config", SERVICE_CONFIG),
                   ("grpc.max_receive_message_length", -1),
                   ("grpc.max_send_message_length", -1)]
        target = _channel_target(target)
        if tls_ca:
            def read(path):
                with open(path, "rb") as f:
                    return f.read()
            credentials = grpc.ssl_channel_credentials(
                root_certificates=read(tls_ca),
                private_key=read(tls_key) if tls_key else None,
                certificate_chain=read(tls_cert) if tls_cert else None)
            self._channel = grpc.secure_channel(target, credentials, options=options)
        else:
            if tls_cert or tls_key:
                raise ValueError("--tls-cert/--tls-key need --tls-ca")
            self._channel = grpc.insecure_channel(target, options=options)
        self._stub = serializer_pb2_grpc.SerializerStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)
        self.stream_threshold = stream_threshold
        self.chunk_bytes = chunk_bytes
        self.timeout = timeout

    def close(self):
        self._channel.close()

    def _call(self, method, request, **kwargs):
        try:
            return method(request, timeout=self.timeout, **kwargs)
        except grpc.RpcError as e:
            raise SerialdError(e) from None

    def _chunks(self, data, progress):
        view = memoryview(data)
        for offset in range(0, len(view), self.chunk_bytes):
            piece = view[offset:offset + self.chunk_bytes]
            yield bytes(piece)
            if progress:
                progress(offset + len(piece), len(view))

    def convert(self, data, to, fmt="", read=None, write=None, output=None, progress=None):
        """Converts `data`; returns the bytes, or writes them to the file object `output`.

        `read`/`write` are ReadOptions/WriteOptions messages (see read_options/write_options);
        `fmt` names the input format ("" detects), `to` the output format.
        """
        read = read or read_options(fmt)
        write = write or write_options(to)
        if len(data) <= self.stream_threshold:
            response = self._call(self._stub.Convert,
                                  serializer_pb2.ConvertRequest(data=bytes(data), input=read,
                                                                output=write))
            if output is not None:
                output.write(response.data)
                return None
            return response.data
        read = _with_input_size(read, len(data))

        def requests():
            yield serializer_pb2.ConvertStreamRequest(
                options=serializer_pb2.ConvertStreamOptions(input=read, output=write))
            for piece in self._chunks(data, progress):
                yield serializer_pb2.ConvertStreamRequest(chunk=serializer_pb2.BytesChunk(data=piece))

        pieces = []
        try:
            for response in self._stub.ConvertStream(requests(), timeout=self.timeout):
                if response.WhichOneof("part") == "chunk":
                    if output is not None:
                        output.write(response.chunk.data)
                    else:
                        pieces.append(response.chunk.data)
        except grpc.RpcError as e:
            raise SerialdError(e) from None
        return None if output is not None else b"".join(pieces)

    def deserialize(self, data, fmt="", read=None, progress=None):
        """Reads `data` on the server; returns (seriald.v1.Value, format name)."""
        read = read or read_options(fmt)
        if len(data) <= self.stream_threshold:
            response = self._call(self._stub.Deserialize,
                                  serializer_pb2.DeserializeRequest(data=bytes(data), options=read))
            return response.value, FORMAT_NAMES.get(response.format, "")
        read = _with_input_size(read, len(data))

        def requests():
            yield serializer_pb2.DeserializeStreamRequest(options=read)
            for piece in self._chunks(data, progress):
                yield serializer_pb2.DeserializeStreamRequest(
                    chunk=serializer_pb2.BytesChunk(data=piece))

        header = None
        parts = {}
        try:
            for response in self._stub.DeserializeStream(requests(), timeout=self.timeout):
                if response.WhichOneof("part") == "header":
                    header = response.header
                else:
                    parts.setdefault(response.array_chunk.node, []).append(response.array_chunk.data)
        except grpc.RpcError as e:
            raise SerialdError(e) from None
        for node, pieces in parts.items():
            header.value.nodes[node].array.data = b"".join(pieces)
        return header.value, FORMAT_NAMES.get(header.format, "")

    def serialize(self, value, to, write=None):
        """Writes the seriald.v1.Value `value` in format `to` on the server; returns the bytes."""
        write = write or write_options(to)
        if value.ByteSize() <= self.stream_threshold:
            return self._call(self._stub.Serialize,
                              serializer_pb2.SerializeRequest(value=value, options=write)).data
        header_value = value_pb2.Value()
        header_value.CopyFrom(value)
        streamed = [i for i, node in enumerate(value.nodes)
                    if node.WhichOneof("kind") == "array" and len(node.array.data) >= self.chunk_bytes]
        for i in streamed:
            header_value.nodes[i].array.data = b""

        def requests():
            yield serializer_pb2.SerializeStreamRequest(header=serializer_pb2.SerializeStreamHeader(
                value=header_value, options=write, streamed_arrays=streamed))
            for i in streamed:
                data = value.nodes[i].array.data
                for offset in range(0, len(data), self.chunk_bytes):
                    yield serializer_pb2.SerializeStreamRequest(array_chunk=serializer_pb2.ArrayChunk(
                        node=i, offset=offset, data=data[offset:offset + self.chunk_bytes]))

        try:
            return b"".join(r.data for r in self._stub.SerializeStream(requests(), timeout=self.timeout))
        except grpc.RpcError as e:
            raise SerialdError(e) from None

    def inspect(self, data, fmt="", read=None):
        """Returns the server's InspectResponse for `data`."""
        return self._call(self._stub.Inspect,
                          serializer_pb2.InspectRequest(data=bytes(data), options=read or read_options(fmt)))

    def health(self, service=""):
        """The grpc.health.v1 serving status name ("SERVING", "NOT_SERVING", ...)."""
        response = self._call(self._health.Check, health_pb2.HealthCheckRequest(service=service))
        return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)

"""SerialdClient: load and dump native Python data, and convert, deserialize, serialize and
inspect, through a seriald server.

Payloads larger than `stream_threshold` bytes go through the streaming RPCs in chunks, so callers
never meet message-size limits (the channel's own receive and send limits are lifted). Errors
raise SerialdError with the server's status code, message, and the typed details (byte offset,
format, limit).

Example:

    client = SerialdClient("127.0.0.1:50051")
    model = client.load("model.t7")                 # dicts, lists, numpy arrays, Objects
    frame = client.load(rds_bytes)                  # a pandas DataFrame for an R data.frame
    client.dump(frame, "rds", path="frame.rds")
    ascii_bytes = client.convert(open("model.t7", "rb").read(), to="t7-ascii")
    arrays = client.convert(open("model.t7", "rb").read(), to="npz")   # numpy.load-able bytes
    arrays.notes                                    # ["skipped model._type (a string): ..."]
"""
import mmap
import os

import grpc

from . import _wire
from ._assembly import StreamedArrays
from ._proto import (health_pb2, health_pb2_grpc, serializer_pb2, serializer_pb2_grpc, status_pb2,
                     value_pb2)
from .decode import DTYPES, decode_data
from .encode import encode_data, plain_strings

FORMATS = {
    "t7": serializer_pb2.FORMAT_T7,
    "t7-ascii": serializer_pb2.FORMAT_T7_ASCII,
    "rds": serializer_pb2.FORMAT_RDS,
    "rds-native": serializer_pb2.FORMAT_RDS_NATIVE,
    "rds-ascii": serializer_pb2.FORMAT_RDS_ASCII,
    "rds-asciihex": serializer_pb2.FORMAT_RDS_ASCIIHEX,
    "rdata": serializer_pb2.FORMAT_RDATA,
    "json": serializer_pb2.FORMAT_JSON,
    "npy": serializer_pb2.FORMAT_NPY,
    "npz": serializer_pb2.FORMAT_NPZ,
    "npz-compressed": serializer_pb2.FORMAT_NPZ_COMPRESSED,
    "safetensors": serializer_pb2.FORMAT_SAFETENSORS,
}
FORMAT_NAMES = {number: name for name, number in FORMATS.items()}
COMPRESSIONS = {
    "none": value_pb2.R_COMPRESSION_NONE,
    "gzip": value_pb2.R_COMPRESSION_GZIP,
    "bzip2": value_pb2.R_COMPRESSION_BZIP2,
    "xz": value_pb2.R_COMPRESSION_XZ,
}

# A streamed dump still sends arrays below INLINE_ARRAY_BYTES inside the header (one message per
# tiny array would cost more than its bytes), up to INLINE_BYTES_PER_HEADER of them in all, so the
# header stays far below the server's message limit.
INLINE_ARRAY_BYTES = 64 << 10
INLINE_BYTES_PER_HEADER = 1 << 20
# In a unary load, arrays of at least this many bytes are found in the received message itself
# (see _wire) rather than copied out of the parsed message; smaller ones cost less to copy than to
# look for.
VIEWED_ARRAY_BYTES = 16 << 10

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


def _format_number(name):
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError("unknown format %r (one of %s)" % (name, ", ".join(sorted(FORMATS)))) from None


def read_options(fmt="", long_size=0, big_endian=None, max_depth=0, input_size=0):
    options = serializer_pb2.ReadOptions(format=_format_number(fmt) if fmt else 0,
                                         torch7_long_size=long_size, max_depth=max_depth,
                                         input_size=input_size)
    if big_endian is not None:
        options.torch7_byte_order = (serializer_pb2.BYTE_ORDER_BIG_ENDIAN if big_endian
                                     else serializer_pb2.BYTE_ORDER_LITTLE_ENDIAN)
    return options


def write_options(to, long_size=0, big_endian=None, unreferenced=False, version=0,
                  compress=None, drop_unconvertible=False, allow_inexact_integers=False,
                  strict=False):
    """WriteOptions for format `to`. Torch7: long_size (4, 8), big_endian, unreferenced. R:
    version (2, 3), compress ("none", "gzip", "bzip2", "xz"). Between Torch7 and R:
    drop_unconvertible (leave out what the output cannot hold, listing it in the notes),
    allow_inexact_integers (int64 beyond 2^53 rounded to a double in R). Array files (npy, npz,
    npz-compressed, safetensors): strict refuses values that are not arrays instead of skipping
    them."""
    options = serializer_pb2.WriteOptions(format=_format_number(to), torch7_long_size=long_size,
                                          torch7_unreferenced=unreferenced, r_version=version,
                                          drop_unconvertible=drop_unconvertible,
                                          allow_inexact_integers=allow_inexact_integers,
                                          strict_arrays=strict)
    if big_endian is not None:
        options.torch7_byte_order = (serializer_pb2.BYTE_ORDER_BIG_ENDIAN if big_endian
                                     else serializer_pb2.BYTE_ORDER_LITTLE_ENDIAN)
    if compress is not None:
        options.r_compression = COMPRESSIONS[compress]
    return options


class Converted(bytes):
    """What convert() returns: the converted bytes (empty when they went to `output`), plus
    `notes`, a list of str saying what a conversion between families or to an array file left
    out or changed ("skipped model._type (a string): not an array"; empty for a same-family
    conversion), and `input_format`, the name of the format the input was read as ("t7")."""

    def __new__(cls, data=b"", notes=(), input_format=""):
        converted = super().__new__(cls, data)
        converted.notes = list(notes)
        converted.input_format = input_format
        return converted


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
        # dump() sends repeated strings in dictionary form until a server refuses that form.
        self._string_codes = True

    def close(self):
        self._channel.close()

    def _call(self, method, request, **kwargs):
        try:
            return method(request, timeout=self.timeout, **kwargs)
        except grpc.RpcError as e:
            raise SerialdError(e) from None

    def _unary(self, method, request):
        """The unary call's response; None when the server refused it for its size (a server
        whose --max-message-bytes is below stream_threshold), for the caller to stream instead,
        as the error advises."""
        try:
            return self._call(method, request)
        except SerialdError as e:
            if e.code == grpc.StatusCode.RESOURCE_EXHAUSTED and e.limit == "max-message-bytes":
                return None
            raise

    def _chunk_requests(self, request_type, options, data, progress):
        """The messages of a stream whose first holds `options` and every later one a chunk of
        `data` (ConvertStream, DeserializeStream, InspectStream)."""
        yield request_type(options=options)
        for piece in self._chunks(data, progress):
            yield request_type(chunk=serializer_pb2.BytesChunk(data=piece))

    def _chunks(self, data, progress):
        view = memoryview(data)
        for offset in range(0, len(view), self.chunk_bytes):
            piece = view[offset:offset + self.chunk_bytes]
            yield bytes(piece)
            if progress:
                progress(offset + len(piece), len(view))

    def convert(self, data, to, fmt="", read=None, write=None, output=None, progress=None,
                **options):
        """Converts `data` (bytes-like) to format `to`; returns a Converted: the output bytes (a
        bytes subclass, so it is used as bytes), with `.notes` (list of str: what a conversion
        between Torch7 and R, or to npy/npz/safetensors, skipped or changed) and
        `.input_format` (the format name the input was read as). With `output` (a binary file
        object) the bytes are written there instead, piece by piece as they arrive, and the
        Converted is empty: the way to convert large files without holding the output. A Torch7
        to Torch7 conversion of a streamed input starts its output before the input has all been
        sent, so when it fails (SerialdError) `output` may hold the start of an output: discard it.

        `fmt` names the input format ("" detects), `to` the output format: "t7", "t7-ascii",
        "rds", "rds-native", "rds-ascii", "rds-asciihex", "rdata", "json", "npy", "npz",
        "npz-compressed" or "safetensors". `options` are those of write_options (long_size,
        big_endian, unreferenced, version, compress, drop_unconvertible,
        allow_inexact_integers, strict); or pass `read`/`write`, ReadOptions/WriteOptions
        messages (see read_options/write_options).
        """
        if write is not None and options:
            raise ValueError("convert() takes either write= or write options (%s), not both"
                             % ", ".join(sorted(options)))
        read = read or read_options(fmt)
        write = write or write_options(to, **options)
        response = None
        if len(data) <= self.stream_threshold:
            response = self._unary(self._stub.Convert,
                                   serializer_pb2.ConvertRequest(data=bytes(data), input=read,
                                                                 output=write))
        if response is not None:
            input_format = FORMAT_NAMES.get(response.input_format, "")
            if output is not None:
                output.write(response.data)
                return Converted(b"", response.notes, input_format)
            return Converted(response.data, response.notes, input_format)
        read = _with_input_size(read, len(data))

        requests = self._chunk_requests(
            serializer_pb2.ConvertStreamRequest,
            serializer_pb2.ConvertStreamOptions(input=read, output=write), data, progress)
        pieces = []
        notes = []
        input_format = ""
        try:
            for response in self._stub.ConvertStream(requests, timeout=self.timeout):
                part = response.WhichOneof("part")
                if part == "chunk":
                    if output is not None:
                        output.write(response.chunk.data)
                    else:
                        pieces.append(response.chunk.data)
                elif part == "notes":
                    notes.extend(response.notes.notes)
                elif part == "input_format":
                    input_format = FORMAT_NAMES.get(response.input_format, "")
        except grpc.RpcError as e:
            raise SerialdError(e) from None
        joined = b"".join(pieces)
        del pieces[:]  # the Converted copies `joined` once more (a bytes subclass must own its bytes)
        return Converted(joined, notes, input_format)

    def deserialize(self, data, fmt="", read=None, progress=None):
        """Reads `data` on the server; returns (seriald.v1.Value, format name)."""
        read = read or read_options(fmt)
        if len(data) <= self.stream_threshold:
            response = self._unary(self._stub.Deserialize,
                                   serializer_pb2.DeserializeRequest(data=bytes(data), options=read))
            if response is not None:
                return response.value, FORMAT_NAMES.get(response.format, "")
        read = _with_input_size(read, len(data))

        requests = self._chunk_requests(serializer_pb2.DeserializeStreamRequest, read, data,
                                        progress)
        header = None
        arrays = StreamedArrays(justified_bytes=len(data), kind="node")
        try:
            for response in self._stub.DeserializeStream(requests, timeout=self.timeout):
                if response.WhichOneof("part") == "header":
                    if header is not None:
                        raise ValueError("malformed stream from the server: a second header")
                    header = response.header
                    _expect_value_arrays(header, arrays)
                else:
                    chunk = response.array_chunk
                    arrays.add(chunk.node, chunk.offset, chunk.data)
        except grpc.RpcError as e:
            raise SerialdError(e) from None
        if header is None:
            raise ValueError("malformed stream from the server: no header")
        for node, data in arrays.finish().items():
            header.value.nodes[node].array.data = data.tobytes()
        return header.value, FORMAT_NAMES.get(header.format, "")

    def serialize(self, value, to, write=None):
        """Writes the seriald.v1.Value `value` in format `to` on the server; returns the bytes."""
        write = write or write_options(to)
        if value.ByteSize() <= self.stream_threshold:
            response = self._unary(self._stub.Serialize,
                                   serializer_pb2.SerializeRequest(value=value, options=write))
            if response is not None:
                return response.data
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

    def inspect(self, data, fmt="", read=None, progress=None):
        """Returns the server's InspectResponse for `data` (over stream_threshold bytes, sent in
        chunks through InspectStream)."""
        read = read or read_options(fmt)
        if len(data) <= self.stream_threshold:
            response = self._unary(self._stub.Inspect,
                                   serializer_pb2.InspectRequest(data=bytes(data), options=read))
            if response is not None:
                return response
        read = _with_input_size(read, len(data))

        return self._call(self._stub.InspectStream,
                          self._chunk_requests(serializer_pb2.InspectStreamRequest, read, data,
                                               progress))

    def health(self, service=""):
        """The grpc.health.v1 serving status name ("SERVING", "NOT_SERVING", ...)."""
        response = self._call(self._health.Check, health_pb2.HealthCheckRequest(service=service))
        return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)

    # -- native data ------------------------------------------------------------------------------

    def load(self, source, format=None, refhook=None, **options):
        """Reads `source` (bytes-like, or a path) on the server and returns it as Python data:
        one value, or a tuple when the stream holds several top-level objects (a Torch7 file
        written by several writeObject calls).

        `format` names the input format ("t7", "rds", "npz", "safetensors", ...; None detects
        it); `options` are those of read_options (long_size, big_endian, max_depth). Arrays are
        numpy arrays over the received bytes, without copies (read-only when they came in the
        unary response). An npz or safetensors file gives a dict from array name to array, an
        npy file its one array.

        `refhook`, as in R's unserialize(refhook =): called with the names (a list of str) of
        each persistent reference the file holds; what it returns takes the reference's place
        (None leaves it an Opaque of type "persistent reference" with those `names`).
        """
        read = read_options(format or "", **options)
        read.view = serializer_pb2.VIEW_DATA
        read.string_codes = True  # repeated strings in dictionary form: decoded once each
        with _InputBytes(source) as payload:
            roots = None
            if len(payload) <= self.stream_threshold:
                roots = self._load_unary(payload, read, refhook)
            if roots is None:
                read.input_size = len(payload)
                roots = self._load_stream(payload, read, refhook)
        if len(roots) == 1:
            return roots[0]
        return tuple(roots)

    def _load_unary(self, payload, read, refhook=None):
        """The roots; None when the server refused the call for its size (see _unary)."""
        options = read.SerializeToString()
        # DeserializeRequest{data, options}, encoded here: the input is copied once, into it.
        request = b"".join((
            _wire.length_prefix(_wire.DESERIALIZE_REQUEST_DATA_FIELD, len(payload)), payload,
            _wire.length_prefix(_wire.DESERIALIZE_REQUEST_OPTIONS_FIELD, len(options)), options))
        deserialize = self._channel.unary_unary(
            "/seriald.v1.Serializer/Deserialize",
            request_serializer=_as_is, response_deserializer=_as_is)
        raw = self._unary(deserialize, request)
        del request
        if raw is None:
            return None
        response = serializer_pb2.DeserializeResponse.FromString(raw)
        buffers = {}
        large = _large_arrays(response.data, VIEWED_ARRAY_BYTES)
        if large:
            spans = _wire.data_array_spans(raw, _wire.DESERIALIZE_RESPONSE_DATA_FIELD, large)
            if spans is not None:
                view = memoryview(raw)
                buffers = {item_id: view[start:end] for item_id, (start, end) in spans.items()}
        return decode_data(response.data, buffers, refhook)

    def _load_stream(self, payload, read, refhook=None):
        chunk_bytes = self.chunk_bytes

        def requests():
            yield serializer_pb2.DeserializeStreamRequest(options=read).SerializeToString()
            for offset in range(0, len(payload), chunk_bytes):
                with payload[offset:offset + chunk_bytes] as piece:
                    inner = _wire.length_prefix(_wire.BYTES_CHUNK_DATA_FIELD, len(piece))
                    yield b"".join((
                        _wire.length_prefix(_wire.DESERIALIZE_STREAM_CHUNK_FIELD,
                                            len(inner) + len(piece)), inner, piece))

        deserialize = self._channel.stream_stream(
            "/seriald.v1.Serializer/DeserializeStream",
            request_serializer=_as_is, response_deserializer=_as_is)
        header = None
        arrays = StreamedArrays(justified_bytes=len(payload))
        try:
            for raw in deserialize(requests(), timeout=self.timeout):
                chunk = _wire.parse_array_chunk(raw)
                if chunk is None:
                    if header is not None:
                        raise ValueError("malformed stream from the server: a second header")
                    header = serializer_pb2.DeserializeStreamResponse.FromString(raw).header
                    _expect_data_arrays(header, arrays)
                    continue
                arrays.add(*chunk)
        except grpc.RpcError as e:
            raise SerialdError(e) from None
        if header is None:
            raise ValueError("malformed stream from the server: no header")
        buffers = arrays.finish()
        return decode_data(header.data, buffers, refhook)

    def dump(self, obj, format, path=None, refhook=None, **options):
        """Writes the Python value `obj` in `format` ("t7", "rds", "npz", "safetensors", ...)
        on the server; returns the bytes, or writes them to the file `path` (through a temporary
        file renamed into place, so a failed dump leaves no partial file) and returns None.

        `options` are those of write_options (long_size, big_endian, unreferenced, version,
        compress, strict). Above stream_threshold, arrays travel in ArrayChunk messages sent
        straight from the arrays' memory. For array files ("npy", "npz", "npz-compressed",
        "safetensors") the arrays of `obj` are named by their dotted key path ({"model":
        {"weight": a}} writes "model.weight"; an array alone is "arr_0"); what is not an array
        is left out, or refused with strict=True; "npy" takes exactly one array.

        `refhook`, as in R's serialize(refhook =): called with each Opaque environment, external
        pointer and weak reference in `obj` (not the global, base and empty environments,
        namespaces or package environments, which R never asks about); a list of str writes a
        persistent reference with those names in its place, None leaves the Opaque (refused).
        An Opaque of type "persistent reference" with `names`, as load gives it, is written back
        as that reference without asking.
        """
        write = write_options(format, **options)
        data, arrays = encode_data(obj, refhook=refhook, string_codes=self._string_codes)
        try:
            return self._dump_data(data, arrays, write, path)
        except SerialdError as e:
            # A server older than the dictionary form of strings has no such item kind: the
            # same strings once more as plain StringArrays, and none again on this client.
            if not (e.code == grpc.StatusCode.INVALID_ARGUMENT and "no kind is set" in e.message
                    and self._string_codes and plain_strings(data)):
                raise
            self._string_codes = False
            return self._dump_data(data, arrays, write, path)

    def _dump_data(self, data, arrays, write, path):
        """Serialize (or SerializeStream, above stream_threshold) of the encoded `data`; the
        output's bytes, or None once written to `path`."""
        total = data.ByteSize() + sum(len(payload) for _, payload in arrays)
        response = None
        if total <= self.stream_threshold:
            request = serializer_pb2.SerializeRequest(options=write)
            request.data.CopyFrom(data)  # before the array data goes in: copies no array bytes
            _put_inline(request.data, arrays)
            response = self._unary(self._stub.Serialize, request)
            del request
        if response is not None:
            pieces = [response.data]
        else:
            pieces = self._dump_stream(data, arrays, write)
        if path is None:
            return b"".join(pieces)
        _write_file_atomically(path, pieces)
        return None

    def _dump_stream(self, data, arrays, write):
        """The output of SerializeStream, piece by piece (a generator: nothing is sent until the
        caller iterates)."""
        inline, streamed = [], []
        budget = INLINE_BYTES_PER_HEADER
        for item_id, payload in sorted(arrays, key=lambda array: len(array[1])):
            if len(payload) < INLINE_ARRAY_BYTES and len(payload) <= budget:
                inline.append((item_id, payload))
                budget -= len(payload)
            else:
                streamed.append((item_id, payload))
        streamed.sort(key=lambda array: array[0])
        header = serializer_pb2.SerializeStreamRequest()
        header.header.options.CopyFrom(write)
        header.header.data.CopyFrom(data)
        header.header.streamed_arrays.extend(item_id for item_id, _ in streamed)
        _put_inline(header.header.data, inline)
        chunk_bytes = self.chunk_bytes

        def requests():
            yield header.SerializeToString()
            for item_id, payload in streamed:
                for offset in range(0, len(payload), chunk_bytes):
                    yield _wire.encode_array_chunk(item_id, offset,
                                                   payload[offset:offset + chunk_bytes])

        serialize = self._channel.stream_stream(
            "/seriald.v1.Serializer/SerializeStream",
            request_serializer=_as_is, response_deserializer=serializer_pb2.BytesChunk.FromString)

        def responses():
            try:
                for chunk in serialize(requests(), timeout=self.timeout):
                    yield chunk.data
            except grpc.RpcError as e:
                raise SerialdError(e) from None

        return responses()


def _as_is(message):
    """Request serializer / response deserializer for messages pyseriald encodes or parses
    itself: bytes pass through; protobuf messages are serialized."""
    if isinstance(message, bytes):
        return message
    return message.SerializeToString()


def _large_arrays(data, minimum_bytes):
    """Ids of the array items of `data` holding at least `minimum_bytes` of data."""
    large = set()
    for item_id, item in enumerate(data.items):
        if item.WhichOneof("kind") == "array":
            dtype = DTYPES.get(item.array.dtype)
            if item.array.length * (dtype.itemsize if dtype is not None else 1) >= minimum_bytes:
                large.add(item_id)
    return large


def _expect_data_arrays(header, arrays):
    """Declares to `arrays` (StreamedArrays) the data items a DeserializeStream header says will
    follow, each once and of a known element type."""
    for item_id in header.streamed_arrays:
        if item_id >= len(header.data.items) or header.data.items[item_id].WhichOneof("kind") != "array":
            raise ValueError("malformed stream from the server: item %d is not an array" % item_id)
        if item_id in arrays:
            raise ValueError("malformed stream from the server: item %d streamed twice" % item_id)
        array = header.data.items[item_id].array
        dtype = DTYPES.get(array.dtype)
        if dtype is None:
            raise ValueError("malformed stream from the server: item %d has unknown element "
                             "type %d" % (item_id, array.dtype))
        arrays.expect(item_id, array.length * dtype.itemsize)


def _expect_value_arrays(header, arrays):
    """As _expect_data_arrays, for the Value form's nodes."""
    for node in header.streamed_arrays:
        if node >= len(header.value.nodes) or header.value.nodes[node].WhichOneof("kind") != "array":
            raise ValueError("malformed stream from the server: node %d is not an array" % node)
        array = header.value.nodes[node].array
        dtype = DTYPES.get(array.type)
        if dtype is None or node in arrays:
            raise ValueError("malformed stream from the server: node %d has unknown element type "
                             "%d or is streamed twice" % (node, array.type))
        arrays.expect(node, array.length * dtype.itemsize)


def _put_inline(data, arrays):
    for item_id, payload in arrays:
        if len(payload):
            data.items[item_id].array.data = payload.tobytes()


class _InputBytes:
    """The bytes of a load's source as a memoryview: the object itself for bytes-like sources, a
    read-only memory map for files (no copy, even for huge files). Released on exit."""

    def __init__(self, source):
        self.source = source
        self.file = None
        self.map = None
        self.view = None

    def __enter__(self):
        source = self.source
        if isinstance(source, (bytes, bytearray, memoryview)):
            self.view = memoryview(source).cast("B") if isinstance(source, memoryview) else \
                memoryview(source)
            return self.view
        if isinstance(source, (str, os.PathLike)):
            self.file = open(source, "rb")
            if os.fstat(self.file.fileno()).st_size == 0:
                self.view = memoryview(b"")
            else:
                self.map = mmap.mmap(self.file.fileno(), 0, access=mmap.ACCESS_READ)
                self.view = memoryview(self.map)
            return self.view
        raise TypeError("load() reads bytes, bytearray, memoryview or a path, not %s"
                        % type(source).__name__)

    def __exit__(self, *exc_info):
        try:
            if self.view is not None:
                self.view.release()
            if self.map is not None:
                self.map.close()
        except BufferError:
            pass  # a slice is still referenced (an abandoned request stream): unmapped when freed
        if self.file is not None:
            self.file.close()
        return False


def _write_file_atomically(path, pieces):
    """Writes the byte strings of `pieces` to `path` via a temporary file in the same directory,
    renamed over `path` once complete; removes the temporary file on failure."""
    path = os.fspath(path)
    directory, name = os.path.split(os.path.abspath(path))
    temporary = os.path.join(directory, ".%s.%d.%s.partial" % (name, os.getpid(), os.urandom(4).hex()))
    # os.open with mode 0o666 lets the umask decide the permissions, as open() would.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as output:
            for piece in pieces:
                output.write(piece)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise

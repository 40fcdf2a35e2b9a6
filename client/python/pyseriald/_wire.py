"""Protocol-buffer wire encoding for the few messages whose bytes pyseriald handles itself.

Array data is the bulk of every load and dump. Going through protobuf message objects would copy
it twice more (into the C++ message, then into a new Python bytes object on each field access), so:

- requests that carry a large payload (Deserialize's input, DeserializeStream's chunks,
  SerializeStream's array chunks) are encoded here from memoryviews of the caller's memory: one
  copy, straight into the outgoing message;
- in responses, the array data of a Data message is located in the received message's own bytes
  (data_array_spans), and streamed chunks are parsed here (parse_array_chunk), so numpy arrays can
  be views of what arrived.

Example:

    request = encode_bytes_field(1, memoryview(payload)) + options.SerializeToString()
    spans = data_array_spans(raw_response, DESERIALIZE_RESPONSE_DATA_FIELD, {3, 7})
    # -> {3: (start, end), 7: (start, end)}: where those items' array data lie in raw_response
"""

# Field numbers (serializer.proto, data.proto) of the paths this module walks.
DESERIALIZE_REQUEST_DATA_FIELD = 1        # DeserializeRequest.data
DESERIALIZE_REQUEST_OPTIONS_FIELD = 2     # DeserializeRequest.options
DESERIALIZE_RESPONSE_DATA_FIELD = 3       # DeserializeResponse.data (a Data)
DESERIALIZE_STREAM_CHUNK_FIELD = 2        # DeserializeStreamRequest.chunk (a BytesChunk)
BYTES_CHUNK_DATA_FIELD = 1                # BytesChunk.data
STREAM_ARRAY_CHUNK_FIELD = 2              # Serialize/DeserializeStream{Request,Response}.array_chunk
ARRAY_CHUNK_NODE_FIELD = 1                # ArrayChunk.node
ARRAY_CHUNK_OFFSET_FIELD = 2              # ArrayChunk.offset
ARRAY_CHUNK_DATA_FIELD = 3                # ArrayChunk.data
DATA_ITEMS_FIELD = 1                      # Data.items
DATA_ITEM_ARRAY_FIELD = 7                 # DataItem.array (an NdArray)
NDARRAY_DATA_FIELD = 6                    # NdArray.data

_VARINT, _FIXED64, _LENGTH_DELIMITED, _FIXED32 = 0, 1, 2, 5


class WireError(ValueError):
    """The bytes are not the message they should be."""


def encode_varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def length_prefix(field, length):
    """The tag and length of a length-delimited field holding `length` bytes."""
    return encode_varint(field << 3 | _LENGTH_DELIMITED) + encode_varint(length)


def encode_bytes_field(field, payload):
    """A whole length-delimited field; `payload` is any bytes-like object, copied once."""
    return b"".join((length_prefix(field, len(payload)), payload))


def encode_array_chunk(node, offset, payload):
    """A SerializeStreamRequest holding ArrayChunk{node, offset, payload}: the bytes of `payload`
    (a memoryview into the array) are copied once, into the returned message."""
    head = (encode_varint(ARRAY_CHUNK_NODE_FIELD << 3 | _VARINT) + encode_varint(node)
            + encode_varint(ARRAY_CHUNK_OFFSET_FIELD << 3 | _VARINT) + encode_varint(offset)
            + length_prefix(ARRAY_CHUNK_DATA_FIELD, len(payload)))
    return b"".join((length_prefix(STREAM_ARRAY_CHUNK_FIELD, len(head) + len(payload)), head, payload))


def _read_varint(buffer, position, end):
    result = 0
    shift = 0
    while True:
        if position >= end:
            raise WireError("truncated varint")
        byte = buffer[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7
        if shift > 63:
            raise WireError("varint too long")


def _fields(buffer, start, end):
    """Yields (field number, wire type, value or (start, end) of a length-delimited payload)."""
    position = start
    while position < end:
        key, position = _read_varint(buffer, position, end)
        field, wire_type = key >> 3, key & 7
        if wire_type == _VARINT:
            value, position = _read_varint(buffer, position, end)
            yield field, wire_type, value
        elif wire_type == _LENGTH_DELIMITED:
            length, position = _read_varint(buffer, position, end)
            if position + length > end:
                raise WireError("field %d runs past the end of its message" % field)
            yield field, wire_type, (position, position + length)
            position += length
        elif wire_type == _FIXED64:
            position += 8
        elif wire_type == _FIXED32:
            position += 4
        else:
            raise WireError("unsupported wire type %d" % wire_type)
    if position != end:
        raise WireError("message runs past its end")


def data_array_spans(raw, data_field, wanted):
    """{item id: (start, end)} of NdArray.data, for the item ids in the set `wanted`, in the Data
    held by field `data_field` of the message `raw` (bytes). Items are skipped by their length,
    and only wanted ones are opened. Returns None when the Data field occurs more than once
    (protobuf would merge the occurrences; this scan does not), so the caller falls back to the
    parsed message."""
    spans = {}
    data_span = None
    for field, wire_type, value in _fields(raw, 0, len(raw)):
        if field == data_field and wire_type == _LENGTH_DELIMITED:
            if data_span is not None:
                return None
            data_span = value
    if data_span is None or not wanted:
        return spans
    last_wanted = max(wanted)
    item_id = 0
    item_key = DATA_ITEMS_FIELD << 3 | _LENGTH_DELIMITED
    position, end = data_span
    while position < end and item_id <= last_wanted:
        key, position = _read_varint(raw, position, end)
        if key != item_key:  # Data.roots, or a field this client does not know: skip it
            wire_type = key & 7
            if wire_type == _VARINT:
                _, position = _read_varint(raw, position, end)
            elif wire_type == _LENGTH_DELIMITED:
                length, position = _read_varint(raw, position, end)
                position += length
            elif wire_type in (_FIXED64, _FIXED32):
                position += 8 if wire_type == _FIXED64 else 4
            else:
                raise WireError("unsupported wire type %d" % wire_type)
            continue
        length, position = _read_varint(raw, position, end)
        if item_id in wanted:
            for kind_field, kind_wire_type, kind_span in _fields(raw, position, position + length):
                if kind_field == DATA_ITEM_ARRAY_FIELD and kind_wire_type == _LENGTH_DELIMITED:
                    for array_field, array_wire_type, array_span in _fields(raw, *kind_span):
                        if array_field == NDARRAY_DATA_FIELD and array_wire_type == _LENGTH_DELIMITED:
                            spans[item_id] = array_span
        position += length
        item_id += 1
    if position > end:
        raise WireError("Data runs past its end")
    return spans


def parse_array_chunk(raw):
    """(node, offset, memoryview of the data) when the stream response `raw` is an array chunk,
    else None. The memoryview points into `raw`: no copy."""
    chunk = None
    for field, wire_type, value in _fields(raw, 0, len(raw)):
        if field == STREAM_ARRAY_CHUNK_FIELD and wire_type == _LENGTH_DELIMITED:
            chunk = value
        elif field != STREAM_ARRAY_CHUNK_FIELD:
            return None
    if chunk is None:
        return None
    node = offset = 0
    data = (0, 0)
    for field, wire_type, value in _fields(raw, *chunk):
        if field == ARRAY_CHUNK_NODE_FIELD and wire_type == _VARINT:
            node = value
        elif field == ARRAY_CHUNK_OFFSET_FIELD and wire_type == _VARINT:
            offset = value
        elif field == ARRAY_CHUNK_DATA_FIELD and wire_type == _LENGTH_DELIMITED:
            data = value
    return node, offset, memoryview(raw)[data[0]:data[1]]

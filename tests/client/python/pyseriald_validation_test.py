"""pyseriald takes nothing a server sends on trust: a fake server answers DeserializeStream with
headers and chunks no real seriald sends, and load() and deserialize() refuse each with a
ValueError naming the problem, instead of allocating what the server claims or returning arrays
with bytes that never arrived.

    python3 -m unittest pyseriald_validation_test
"""
from concurrent import futures
import unittest

import grpc
import numpy

from pyseriald import SerialdClient
from pyseriald._assembly import StreamedArrays
from pyseriald._proto import data_pb2, serializer_pb2, value_pb2


class FakeServer:
    """A gRPC server whose DeserializeStream reads the request and then sends `responses`."""

    def __init__(self, responses):
        def deserialize_stream(requests, context):
            for _ in requests:
                pass
            yield from responses

        handler = grpc.method_handlers_generic_handler("seriald.v1.Serializer", {
            "DeserializeStream": grpc.stream_stream_rpc_method_handler(
                deserialize_stream,
                request_deserializer=serializer_pb2.DeserializeStreamRequest.FromString,
                response_serializer=serializer_pb2.DeserializeStreamResponse.SerializeToString),
        })
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        self.server.add_generic_rpc_handlers((handler,))
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    def __enter__(self):
        return SerialdClient("127.0.0.1:%d" % self.port, timeout=30, stream_threshold=0)

    def __exit__(self, *exc):
        self.server.stop(None)


def data_header(dtype, length, shape=None):
    data = data_pb2.Data()
    item = data.items.add()
    item.array.dtype = dtype
    item.array.length = length
    item.array.shape.extend(shape if shape is not None else [length])
    item.array.strides.extend([1])
    data.roots.append(0)
    return serializer_pb2.DeserializeStreamResponse(
        header=serializer_pb2.DeserializeStreamHeader(data=data, streamed_arrays=[0]))


def value_header(element_type, length):
    value = value_pb2.Value()
    node = value.nodes.add()
    node.array.type = element_type
    node.array.length = length
    value.roots.append(0)
    return serializer_pb2.DeserializeStreamResponse(
        header=serializer_pb2.DeserializeStreamHeader(value=value, streamed_arrays=[0]))


def chunk(node, offset, data):
    return serializer_pb2.DeserializeStreamResponse(
        array_chunk=serializer_pb2.ArrayChunk(node=node, offset=offset, data=data))


class Validation(unittest.TestCase):
    def test_a_well_formed_stream_loads(self):
        with FakeServer([data_header(value_pb2.ELEMENT_TYPE_UINT8, 4), chunk(0, 0, b"ab"),
                         chunk(0, 2, b"cd")]) as client:
            self.assertEqual(list(client.load(b"input")), [97, 98, 99, 100])

    def test_an_undeclared_element_type(self):
        with FakeServer([data_header(99, 2)]) as client:
            with self.assertRaisesRegex(ValueError, "item 0 has unknown element type 99"):
                client.load(b"input")
        with FakeServer([value_header(99, 2)]) as client:
            with self.assertRaisesRegex(ValueError, "node 0 has unknown element type 99"):
                client.deserialize(b"input")

    def test_a_huge_declared_length_allocates_nothing(self):
        # 2^60 float64 claimed: refused when the stream ends short, not a MemoryError up front.
        with FakeServer([data_header(value_pb2.ELEMENT_TYPE_FLOAT64, 1 << 60),
                         chunk(0, 0, b"\0" * 8)]) as client:
            with self.assertRaisesRegex(ValueError, "item 0 ended at 8 of 9223372036854775808"):
                client.load(b"input")

    def test_chunks_out_of_place_past_their_array_or_unannounced(self):
        cases = [
            ([chunk(0, 2, b"ab")], "a chunk of 2 bytes at offset 2 for item 0"),
            ([chunk(0, 0, b"abcdef")], "a chunk of 6 bytes at offset 0 for item 0"),
            ([chunk(5, 0, b"ab")], "a chunk of 2 bytes at offset 0 for item 5"),
        ]
        for chunks, message in cases:
            with self.subTest(message=message):
                with FakeServer([data_header(value_pb2.ELEMENT_TYPE_UINT8, 4)] + chunks) as client:
                    with self.assertRaisesRegex(ValueError, message):
                        client.load(b"input")
        with FakeServer([value_header(value_pb2.ELEMENT_TYPE_UINT8, 4), chunk(0, 1, b"a")]) as client:
            with self.assertRaisesRegex(ValueError, "a chunk of 1 bytes at offset 1 for node 0"):
                client.deserialize(b"input")

    def test_a_stream_ending_early_or_with_two_headers(self):
        with FakeServer([data_header(value_pb2.ELEMENT_TYPE_UINT8, 4), chunk(0, 0, b"ab")]) as client:
            with self.assertRaisesRegex(ValueError, "item 0 ended at 2 of 4 bytes"):
                client.load(b"input")
        with FakeServer([data_header(value_pb2.ELEMENT_TYPE_UINT8, 0),
                         data_header(value_pb2.ELEMENT_TYPE_UINT8, 0)]) as client:
            with self.assertRaisesRegex(ValueError, "a second header"):
                client.load(b"input")

    def test_an_array_larger_than_the_input_grows_as_it_arrives(self):
        # 1000 bytes from a 5-byte input: the buffer starts small and doubles, keeping what came.
        payload = bytes(range(256)) * 3 + bytes(232)
        chunks = [chunk(0, offset, payload[offset:offset + 7]) for offset in range(0, 1000, 7)]
        with FakeServer([data_header(value_pb2.ELEMENT_TYPE_UINT8, 1000)] + chunks) as client:
            array = client.load(b"input")
        self.assertEqual(array.tobytes(), payload)


class OlderServer:
    """A gRPC server answering Serialize as a seriald older than CodedStrings does: protobuf drops
    the unknown item kind, and the item is refused for having none. It records each request's
    item kinds and answers the others with b"written"."""

    def __init__(self):
        self.kinds = []

        def serialize(request, context):
            kinds = [item.WhichOneof("kind") for item in request.data.items]
            self.kinds.append(kinds)
            if "coded_strings" in kinds:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                              "item %d: no kind is set" % kinds.index("coded_strings"))
            self.strings = (list(request.data.items[0].strings.values),
                            list(request.data.items[0].strings.na))
            return serializer_pb2.SerializeResponse(data=b"written")

        handler = grpc.method_handlers_generic_handler("seriald.v1.Serializer", {
            "Serialize": grpc.unary_unary_rpc_method_handler(
                serialize, request_deserializer=serializer_pb2.SerializeRequest.FromString,
                response_serializer=serializer_pb2.SerializeResponse.SerializeToString),
        })
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        self.server.add_generic_rpc_handlers((handler,))
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()


class Compatibility(unittest.TestCase):
    def test_an_older_server_gets_plain_strings_once_it_refuses_coded_ones(self):
        server = OlderServer()
        try:
            client = SerialdClient("127.0.0.1:%d" % server.port, timeout=30)
            repeated = numpy.array(["a", "b", None, "a"] * 5, dtype=object)
            self.assertEqual(client.dump(repeated, "rds"), b"written")
            self.assertEqual(server.kinds, [["coded_strings"], ["strings"]])
            self.assertEqual(server.strings, ([b"a", b"b", b"", b"a"] * 5, [2, 6, 10, 14, 18]))
            # Known from then on: one call.
            self.assertEqual(client.dump(repeated, "rds"), b"written")
            self.assertEqual(server.kinds[2:], [["strings"]])
        finally:
            server.server.stop(None)


class Assembly(unittest.TestCase):
    """StreamedArrays on its own: what it allocates, and what it returns."""

    def test_memory_follows_what_arrived_not_what_was_declared(self):
        arrays = StreamedArrays(justified_bytes=16)
        arrays.expect(3, 1 << 60)
        arrays.add(3, 0, b"x" * 10)
        self.assertEqual(len(arrays._buffers[3]), 16)  # what the caller justified
        arrays.add(3, 10, b"y" * 10)
        self.assertEqual(len(arrays._buffers[3]), 32)  # doubled, not the declared 2^60
        arrays.add(3, 20, b"z" * 100)
        self.assertEqual(len(arrays._buffers[3]), 120)  # at least what arrived
        self.assertEqual(arrays._buffers[3].tobytes(), b"x" * 10 + b"y" * 10 + b"z" * 100)
        with self.assertRaisesRegex(ValueError, "item 3 ended at 120 of 1152921504606846976"):
            arrays.finish()

    def test_arrays_started_at_once_share_one_head_start(self):
        arrays = StreamedArrays(justified_bytes=100)
        for array_id in range(5):
            arrays.expect(array_id, 1 << 40)
            arrays.add(array_id, 0, b"x")
        capacities = [len(arrays._buffers[array_id]) for array_id in range(5)]
        # The first takes the head start; the others only what they brought.
        self.assertEqual(capacities, [100, 1, 1, 1, 1])
        # Once the first has filled its head start, it grows by doubling, and the head start is
        # free again for the next.
        arrays.add(0, 1, b"y" * 99)
        arrays.add(0, 100, b"z")
        self.assertEqual(len(arrays._buffers[0]), 200)
        arrays.add(1, 1, b"w")
        self.assertEqual(len(arrays._buffers[1]), 2)  # doubled: the first still holds 99 ahead
        arrays.add(0, 101, b"v" * 99)
        arrays.add(2, 1, b"u")
        self.assertEqual(len(arrays._buffers[2]), 100)  # the first is full: the head start again

    def test_whole_arrays_are_exactly_their_bytes(self):
        arrays = StreamedArrays(justified_bytes=1 << 20, kind="node")
        arrays.expect(1, 6)
        arrays.expect(2, 0)
        arrays.add(1, 0, memoryview(b"abcd")[1:3])
        arrays.add(1, 2, bytearray(b"cdef"))
        buffers = arrays.finish()
        self.assertEqual(buffers[1].dtype, numpy.uint8)
        self.assertEqual(buffers[1].tobytes(), b"bccdef")  # never larger than declared
        self.assertEqual(len(buffers[2]), 0)
        with self.assertRaisesRegex(ValueError, "a chunk of 1 bytes at offset 6 for node 1"):
            arrays.add(1, 6, b"g")
        with self.assertRaisesRegex(ValueError, "a chunk of 1 bytes at offset 0 for node 4"):
            arrays.add(4, 0, b"g")


if __name__ == "__main__":
    unittest.main()

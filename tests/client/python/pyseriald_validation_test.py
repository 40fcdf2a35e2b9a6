"""pyseriald takes nothing a server sends on trust: a fake server answers DeserializeStream with
headers and chunks no real seriald sends, and load() and deserialize() refuse each with a
ValueError naming the problem, instead of allocating what the server claims or returning arrays
with bytes that never arrived.

    python3 -m unittest pyseriald_validation_test
"""
from concurrent import futures
import unittest

import grpc

from pyseriald import SerialdClient
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
            with self.assertRaisesRegex(ValueError, "a chunk of 1 bytes at offset 1 for item 0"):
                client.deserialize(b"input")

    def test_a_stream_ending_early_or_with_two_headers(self):
        with FakeServer([data_header(value_pb2.ELEMENT_TYPE_UINT8, 4), chunk(0, 0, b"ab")]) as client:
            with self.assertRaisesRegex(ValueError, "item 0 ended at 2 of 4 bytes"):
                client.load(b"input")
        with FakeServer([data_header(value_pb2.ELEMENT_TYPE_UINT8, 0),
                         data_header(value_pb2.ELEMENT_TYPE_UINT8, 0)]) as client:
            with self.assertRaisesRegex(ValueError, "a second header"):
                client.load(b"input")


if __name__ == "__main__":
    unittest.main()

"""SerialdClient.load and .dump against a real server: sources and destinations, streaming,
errors, write options, and loading without pandas.

    python3 -m unittest pyseriald_client_test
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import unittest

import grpc
import numpy
import pandas

from pyseriald import Object, Opaque, SerialdClient, SerialdError
import seriald_testing


class LoadAndDump(seriald_testing.ServerTestCase):
    def test_load_from_bytes_bytearray_memoryview_and_paths(self):
        data = self.client.dump({"a": numpy.arange(3.0)}, "t7")
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "a.t7")
            with open(path, "wb") as f:
                f.write(data)
            for source in (data, bytearray(data), memoryview(data), path, pathlib.Path(path)):
                value = self.client.load(source)
                numpy.testing.assert_array_equal(value["a"], [0.0, 1.0, 2.0])
            for source in (path, pathlib.Path(path)):  # memory-mapped, streamed in chunks
                value = self.streaming_client.load(source)
                numpy.testing.assert_array_equal(value["a"], [0.0, 1.0, 2.0])

    def test_load_refuses_other_sources(self):
        with self.assertRaises(TypeError):
            self.client.load(12)

    def test_format_hint(self):
        data = self.client.dump([1.0], "rds")
        numpy.testing.assert_array_equal(self.client.load(data, format="rds")[0], [1.0])
        with self.assertRaises(SerialdError):
            self.client.load(data, format="t7")
        with self.assertRaises(ValueError):
            self.client.load(data, format="pickle")

    def test_dump_to_a_file(self):
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "out.rds")
            self.assertIsNone(self.client.dump({"x": [1.5]}, "rds", path=path))
            with open(path, "rb") as f:
                self.assertEqual(f.read(), self.client.dump({"x": [1.5]}, "rds"))
            # Streamed, through a PathLike, replacing the file.
            self.streaming_client.dump({"x": numpy.arange(100000.0)}, "rds",
                                       path=pathlib.Path(path))
            numpy.testing.assert_array_equal(self.client.load(path)["x"], numpy.arange(100000.0))
            self.assertEqual(os.listdir(directory), ["out.rds"])

    def test_failed_dump_leaves_the_file_alone(self):
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "out.t7")
            with open(path, "wb") as f:
                f.write(b"before")
            with self.assertRaises(TypeError):
                self.client.dump({"bad": {1, 2}}, "t7", path=path)
            with self.assertRaises(SerialdError):  # refused by the server: no JSON for plain data
                self.client.dump({"x": 1.0}, "json", path=path)
            with open(path, "rb") as f:
                self.assertEqual(f.read(), b"before")
            self.assertEqual(os.listdir(directory), ["out.t7"])

    def test_write_options(self):
        gzip = self.client.dump(pandas.DataFrame({"a": [1.0]}), "rds", compress="gzip")
        self.assertEqual(gzip[:2], b"\x1f\x8b")
        version2 = self.client.dump([1.0], "rds", version=2)
        self.assertEqual(version2[:2], b"X\n")
        self.assertEqual(version2[2:6], b"\x00\x00\x00\x02")
        with self.assertRaises(ValueError):
            self.client.dump([1.0], "nope")

    def test_stream_of_twenty_megabytes(self):
        big = numpy.random.default_rng(7).standard_normal(2_621_440)  # 20 MiB of float64
        value = {"big": big, "view": big[::-2], "label": "large"}
        data = self.streaming_client.dump(value, "t7")
        self.assertGreater(len(data), 20 << 20)
        back = self.streaming_client.load(data)
        numpy.testing.assert_array_equal(back["big"], big)
        numpy.testing.assert_array_equal(back["view"], big[::-2])
        self.assertEqual(back["label"], "large")
        # The default client streams this size by itself too (above its 16 MiB threshold).
        numpy.testing.assert_array_equal(self.client.load(self.client.dump(big, "rds")), big)
        log = self.server.log()
        self.assertIn("SerializeStream", log)
        self.assertIn("DeserializeStream", log)

    def test_inspect_streams_above_the_threshold_and_answers_as_unary(self):
        data = self.client.dump({"x": numpy.arange(100000.0), "name": "n"}, "rds")
        unary = self.client.inspect(data)
        chunks = []
        streamed = self.streaming_client.inspect(data, progress=lambda sent, total: chunks.append(
            (sent, total)))
        self.assertEqual(streamed, unary)
        self.assertEqual(streamed.format, unary.format)
        self.assertIn("num [1:100000] 0 1 2", streamed.summary)
        self.assertEqual(chunks[-1], (len(data), len(data)))
        self.assertGreater(len(chunks), 1)
        self.assertIn("method=InspectStream ", self.server.log())
        # A bad input fails the same way, with its offset.
        with self.assertRaises(SerialdError) as raised:
            self.streaming_client.inspect(data[:200], fmt="rds")
        self.assertEqual(raised.exception.code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIsNotNone(raised.exception.byte_offset)

    def test_deep_nesting_round_trips_without_recursion(self):
        depth = 100000  # far beyond Python's recursion limit
        value = innermost = []
        for _ in range(depth):
            inner = []
            innermost.append(inner)
            innermost = inner
        innermost.append("bottom")
        for fmt in ("t7", "rds"):
            back = self.client.load(self.client.dump(value, fmt))
            for _ in range(depth):
                self.assertEqual(len(back), 1)
                back = back[0]
            self.assertEqual(list(back), ["bottom"], fmt)

    def test_channel_limits_do_not_apply(self):
        # 6 MiB answers are above gRPC's 4 MiB default receive limit; the client lifts it.
        unary = SerialdClient(self.server.address, stream_threshold=64 << 20)
        try:
            array = numpy.arange(786432.0)
            data = unary.dump(array, "t7")
            numpy.testing.assert_array_equal(unary.load(data), array)
        finally:
            unary.close()


class UnaryCapBelowTheThreshold(unittest.TestCase):
    """A server whose --max-message-bytes is below the client's stream_threshold: each call it
    refuses for its size is made again as a stream and gives what the unary call would have."""

    def test_refused_unary_calls_are_made_again_as_streams(self):
        server = seriald_testing.Server("--max-message-bytes", "65536")
        client = SerialdClient(server.address, timeout=60)
        try:
            big = numpy.arange(20000.0)  # 160 KB of doubles, under the 16 MiB threshold
            data = client.dump({"x": big}, "rds")
            self.assertGreater(len(data), 65536)
            numpy.testing.assert_array_equal(client.load(data)["x"], big)
            value, fmt = client.deserialize(data)
            self.assertEqual(fmt, "rds")
            self.assertEqual(client.serialize(value, "rds"), data)
            converted = client.convert(data, "rds-native")
            self.assertEqual(converted.input_format, "rds")
            numpy.testing.assert_array_equal(client.load(bytes(converted))["x"], big)
            self.assertIn("num [1:20000] 0 1 2", client.inspect(data).summary)
            log = server.log()
            for method in ("Serialize", "Deserialize", "Convert", "Inspect"):
                self.assertRegex(log, "method=%s .*status=RESOURCE_EXHAUSTED" % method)
                self.assertRegex(log, "method=%sStream .*status=OK" % method)
        finally:
            client.close()
            server.stop()


class Errors(seriald_testing.ServerTestCase):
    def test_garbage_is_invalid_argument_with_an_offset(self):
        for client in (self.client, self.streaming_client):
            with self.assertRaises(SerialdError) as raised:
                client.load(b"\x04\x00\x00\x00\x01\x00\x00\x00garbage that is not a t7 file")
            error = raised.exception
            self.assertEqual(error.code, grpc.StatusCode.INVALID_ARGUMENT)
            self.assertIsNotNone(error.byte_offset)
            self.assertTrue(error.message)

    def test_truncated_rds_names_the_offset(self):
        data = self.client.dump({"x": numpy.arange(100.0)}, "rds")
        with self.assertRaises(SerialdError) as raised:
            self.client.load(data[:200], format="rds")
        self.assertEqual(raised.exception.code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIsNotNone(raised.exception.byte_offset)

    def test_dumping_an_opaque_names_the_path_and_type(self):
        opaque = self.client.load(os.path.join(seriald_testing.shared_dir(), "corpus", "torch7",
                                               "generated", "function_plain.bin.t7"))
        self.assertIsInstance(opaque, Opaque)
        with self.assertRaises(ValueError) as raised:
            self.client.dump({"model": [1.0, 2.0, opaque]}, "t7")
        self.assertIn("obj['model'][2]", str(raised.exception))
        self.assertIn("function", str(raised.exception))

    def test_dumping_a_set_names_the_path(self):
        with self.assertRaises(TypeError) as raised:
            self.client.dump(Object({"layers": [{"a", "b"}]}, classes=["nn.Thing"]), "t7")
        self.assertIn("obj['layers'][0]", str(raised.exception))


NO_PANDAS_CHILD = r"""
import json, sys
sys.modules["pandas"] = None  # "import pandas" now raises ImportError
import numpy
import pyseriald
frame = pyseriald.SerialdClient(sys.argv[1]).load(sys.argv[2])
print(json.dumps({
    "type": type(frame).__name__,
    "columns": list(frame),
    "kinds": {name: type(column).__name__ for name, column in frame.items()},
    "x": frame["x"].tolist(),
    "s": list(frame["s"]),
    "f": list(frame["f"]),
    "pandas_loaded": "pandas" in sys.modules and sys.modules["pandas"] is not None,
}))
"""


class WithoutPandas(seriald_testing.ServerTestCase):
    def test_a_data_frame_loads_as_a_dict_of_columns(self):
        frame = pandas.DataFrame({"x": [1.5, 2.5], "s": ["a", None],
                                  "f": pandas.Categorical(["lo", "hi"])})
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "frame.rds")
            self.client.dump(frame, "rds", path=path)
            result = subprocess.run([sys.executable, "-c", NO_PANDAS_CHILD, self.server.address,
                                     path], capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr)
        child = json.loads(result.stdout)
        self.assertEqual(child["type"], "dict")
        self.assertEqual(child["columns"], ["x", "s", "f"])
        self.assertEqual(child["kinds"], {"x": "ndarray", "s": "ndarray", "f": "ndarray"})
        self.assertEqual(child["x"], [1.5, 2.5])
        self.assertEqual(child["s"], ["a", None])
        self.assertEqual(child["f"], ["lo", "hi"])  # factor labels
        self.assertFalse(child["pandas_loaded"])


if __name__ == "__main__":
    unittest.main()

"""pyseriald on Torch7 files: the real corpus (../shared/corpus/torch7) against its expected JSON
dumps, Python -> t7 -> Python round trips, and arrays that are views of the received bytes.

Every file of the corpus is loaded (unary, and streamed in small chunks) and walked together with
expected/<name>.json (CORPUS.md: tables as [key, value] pairs, "$id"/"$ref", storages truncated
to 64 elements): every tensor must be an ndarray of the storage's dtype whose shape is the
tensor's size and whose element [i, j, ...] is storage[offset + i*stride0 + j*stride1 ...] for
every element the expected dump lists; tables, classes, strings, numbers and references must
match too.

    SERIALD_SHARED_DIR=../shared python3 -m unittest pyseriald_torch7_test
"""
import glob
import itertools
import json
import math
import os
import unittest

import numpy

from pyseriald import Object, Opaque, Pairs, RList
from pyseriald._proto import serializer_pb2
import seriald_testing

CORPUS_DIRS = ("generated", "python-torchfile", "char_gru", "opencv_ascii", "tutorials")
TENSOR_DTYPES = {"Double": "<f8", "Float": "<f4", "Half": "<f2", "Byte": "u1", "Char": "i1",
                 "Short": "<i2", "Int": "<i4", "Long": "<i8"}
SPECIAL_NUMBERS = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan, "-0.0": -0.0}


def corpus_root():
    return os.path.join(seriald_testing.shared_dir(), "corpus", "torch7")


def corpus_files():
    """(expected JSON path, .t7 path) for every file with an expected dump."""
    root = corpus_root()
    pairs = []
    for expected in sorted(glob.glob(os.path.join(root, "expected", "*.json"))):
        name = os.path.basename(expected)[:-len(".json")]
        directory = next(d for d in CORPUS_DIRS if name.startswith(d + "_"))
        pairs.append((expected, os.path.join(root, directory, name[len(directory) + 1:])))
    return pairs


def class_kind(class_name):
    """("Double", "Tensor") for "torch.DoubleTensor"; (None, None) for other classes."""
    if class_name.startswith("torch."):
        for kind in ("Tensor", "Storage"):
            stem = class_name[len("torch."):-len(kind)]
            if class_name.endswith(kind) and stem in TENSOR_DTYPES:
                return stem, kind
    return None, None


def same_number(expected, actual):
    if isinstance(expected, str):
        expected = SPECIAL_NUMBERS[expected]
    if isinstance(expected, float) and math.isnan(expected):
        return math.isnan(actual)
    if expected == 0:
        return actual == 0 and math.copysign(1, float(expected)) == math.copysign(1, float(actual))
    return expected == actual or (isinstance(expected, float) and
                                  math.isclose(expected, actual, rel_tol=1e-15))


class CorpusWalk:
    """Walks an expected dump and a loaded value together, without recursion; collects
    mismatches as strings and counts what it checked."""

    def __init__(self, name):
        self.name = name
        self.by_id = {}          # "$id" -> the Python object it became
        self.storages = {}       # "$id" of a storage -> its listed elements (at most 64)
        self.problems = []
        self.tensors = 0
        self.elements = 0

    def problem(self, path, message):
        self.problems.append("%s %s: %s" % (self.name, path, message))

    def walk(self, expected, actual):
        stack = [(expected, actual, "root")]
        while stack:
            expected, actual, path = stack.pop()
            for child in reversed(self.visit(expected, actual, path)):
                stack.append(child)

    def visit(self, expected, actual, path):
        """Checks one pair; returns the (expected, actual, path) pairs beneath it, in order."""
        if isinstance(expected, dict) and "$ref" in expected:
            if expected["$ref"] not in self.by_id:
                self.problem(path, "reference to unseen $id %s" % expected["$ref"])
            elif self.by_id[expected["$ref"]] is not actual:
                self.problem(path, "a reference that is not the same object as $id %s"
                             % expected["$ref"])
            return []
        if isinstance(expected, dict) and "$id" in expected:
            self.by_id[expected["$id"]] = actual
        if expected is None or isinstance(expected, bool):
            if actual is not expected:
                self.problem(path, "expected %r, got %r" % (expected, actual))
        elif isinstance(expected, (int, float)) or (isinstance(expected, str) and
                                                    expected in SPECIAL_NUMBERS and
                                                    isinstance(actual, float)):
            # Lua numbers load as float; as map keys, integral ones load as int.
            if isinstance(actual, bool) or not isinstance(actual, (int, float)) or \
                    not same_number(expected, actual):
                self.problem(path, "expected number %r, got %r" % (expected, actual))
        elif isinstance(expected, str):
            if actual != expected:
                self.problem(path, "expected string %r, got %r" % (expected, actual))
        elif "$bytes_hex" in expected:
            if not isinstance(actual, str) or \
                    actual.encode("utf-8", "surrogateescape") != bytes.fromhex(expected["$bytes_hex"]):
                self.problem(path, "expected bytes %s, got %r" % (expected["$bytes_hex"], actual))
        elif "$table" in expected:
            return self.table(expected["$table"], actual, path)
        elif "$function" in expected:
            if not (isinstance(actual, Opaque) and actual.type == "function"):
                self.problem(path, "expected an Opaque function, got %r" % (actual,))
        elif "$class" in expected:
            return self.torch_object(expected, actual, path)
        else:
            self.problem(path, "unknown expected form %r" % (expected,))
        return []

    def table(self, entries, actual, path, classes=()):
        if isinstance(actual, Pairs):
            if len(actual) != len(entries):
                self.problem(path, "%d pairs for %d entries" % (len(actual), len(entries)))
                return []
            return [child for index, ((key, value), (actual_key, actual_value))
                    in enumerate(zip(entries, actual))
                    for child in ((key, actual_key, "%s<key %d>" % (path, index)),
                                  (value, actual_value, "%s[%r]" % (path, actual_key)))]
        if isinstance(actual, list):
            keys = sorted(entry[0] for entry in entries)
            if keys != list(range(1, len(entries) + 1)):
                self.problem(path, "a list for keys %r" % keys)
                return []
            by_key = {entry[0]: entry[1] for entry in entries}
            return [(by_key[i + 1], actual[i], "%s[%d]" % (path, i)) for i in range(len(actual))]
        if isinstance(actual, dict):
            if len(actual) != len(entries):
                self.problem(path, "%d keys for %d entries" % (len(actual), len(entries)))
                return []
            children = []
            for key, value in entries:
                if isinstance(key, (dict, list)) and "$bytes_hex" not in key:
                    self.problem(path, "a table key in a dict")
                    continue
                if isinstance(key, dict):
                    key = bytes.fromhex(key["$bytes_hex"]).decode("utf-8", "surrogateescape")
                elif key in SPECIAL_NUMBERS and isinstance(key, str) and key not in actual:
                    key = SPECIAL_NUMBERS[key]
                if key not in actual:
                    self.problem(path, "key %r missing from %r" % (key, sorted(map(repr, actual))))
                    continue
                children.append((value, actual[key], "%s[%r]" % (path, key)))
            return children
        self.problem(path, "expected a table, got %s" % type(actual).__name__)
        return []

    def torch_object(self, expected, actual, path):
        class_name = expected["$class"]
        stem, kind = class_kind(class_name)
        if kind == "Storage":
            self.storages[expected["$id"]] = expected["data"]
            self.array(actual, stem, [expected["n"]], [1], 1, expected["data"], path)
            return []
        if kind == "Tensor":
            storage = expected["storage"]
            if storage is None:
                listed = []
            elif "$ref" in storage:
                listed = self.storages[storage["$ref"]]
            else:
                self.storages[storage["$id"]] = listed = storage["data"]
            if storage is None or not expected["size"]:
                if not (isinstance(actual, numpy.ndarray) and actual.size == 0):
                    self.problem(path, "an empty tensor loaded as %r" % (actual,))
                self.tensors += 1
                return []
            self.array(actual, stem, expected["size"], expected["stride"],
                       expected["storageOffset(1-based)"], listed, path)
            return []
        if not isinstance(actual, (Object, Pairs, RList)) or actual.classes != [class_name]:
            self.problem(path, "expected a %s object, got %r" % (class_name, actual))
            return []
        if class_name == "tds.Vec":
            return [(item, actual[index], "%s[%d]" % (path, index))
                    for index, item in enumerate(expected["items"])]
        if class_name == "tds.Hash":
            return self.table(expected["entries"], actual, path)
        fields = expected.get("fields")
        if isinstance(fields, dict) and "$table" in fields:
            self.by_id[fields["$id"]] = actual
            return self.table(fields["$table"], actual, path)
        self.problem(path, "unexpected payload of %s" % class_name)
        return []

    def array(self, actual, stem, size, stride, offset, listed, path):
        self.tensors += 1
        if not isinstance(actual, numpy.ndarray):
            self.problem(path, "expected an ndarray, got %s" % type(actual).__name__)
            return
        if actual.dtype != numpy.dtype(TENSOR_DTYPES[stem]):
            self.problem(path, "dtype %s for %s" % (actual.dtype, stem))
        if list(actual.shape) != list(size):
            self.problem(path, "shape %s for size %s" % (actual.shape, size))
            return
        for index in itertools.product(*(range(n) for n in size)):
            position = offset - 1 + sum(i * s for i, s in zip(index, stride))
            if position < len(listed):
                self.elements += 1
                if not same_number(listed[position], actual[index].item()):
                    self.problem(path, "element %s is %r, storage[%d] is %r"
                                 % (index, actual[index], position, listed[position]))


class Torch7Corpus(seriald_testing.ServerTestCase):
    def test_every_file_matches_its_expected_dump(self):
        files = corpus_files()
        self.assertGreaterEqual(len(files), 150, corpus_root())
        tensors = elements = 0
        problems = []
        for client_name, client in (("unary", self.client), ("stream", self.streaming_client)):
            for expected_path, path in files:
                with open(expected_path) as f:
                    expected = json.load(f)
                loaded = client.load(path)
                walk = CorpusWalk("%s (%s)" % (os.path.relpath(path, corpus_root()), client_name))
                if isinstance(expected, list):  # several top-level objects
                    if not isinstance(loaded, tuple) or len(loaded) != len(expected):
                        problems.append("%s: expected %d roots, got %r"
                                        % (walk.name, len(expected), loaded))
                        continue
                    for expected_root, loaded_root in zip(expected, loaded):
                        walk.walk(expected_root, loaded_root)
                else:
                    walk.walk(expected, loaded)
                problems.extend(walk.problems)
                tensors += walk.tensors
                elements += walk.elements
        self.assertEqual(problems, [], "\n".join(problems[:40]))
        print("\ntorch7 corpus: %d files x 2 clients, %d tensors/storages, %d elements compared"
              % (len(files), tensors, elements))
        self.assertGreater(tensors, 200)

    def test_the_walk_notices_differences(self):
        path = os.path.join(corpus_root(), "generated", "nn_linear.bin.t7")
        with open(os.path.join(corpus_root(), "expected", "generated_nn_linear.bin.t7.json")) as f:
            expected = json.load(f)
        loaded = self.client.load(path)
        walk = CorpusWalk("nn_linear")
        walk.walk(expected, loaded)
        self.assertEqual(walk.problems, [])
        expected["fields"]["$table"][0][1]["storage"]["data"][4] = 99  # weight[1, 1]
        expected["fields"]["$table"][4][1] = "torch.FloatTensor"      # _type
        walk = CorpusWalk("nn_linear")
        walk.walk(expected, self.client.load(path))
        self.assertEqual(len(walk.problems), 2, walk.problems)
        self.assertIn("element (1, 1)", walk.problems[0])

    def test_generator_is_opaque(self):
        value = self.client.load(os.path.join(corpus_root(), "generated", "generator.bin.t7"))
        self.assertIsInstance(value, Opaque)
        self.assertEqual(value.type, "torch.Generator")

    def test_several_roots_make_a_tuple_and_keep_identity(self):
        value = self.client.load(os.path.join(corpus_root(), "generated", "multi_object.bin.t7"))
        self.assertIsInstance(value, tuple)
        self.assertEqual(value[0], "first")
        self.assertIs(value[2], value[3])


class Torch7RoundTrips(seriald_testing.ServerTestCase):
    def round_trip(self, value, client=None, **options):
        client = client or self.client
        return client.load(client.dump(value, "t7", **options), format="t7")

    def test_dict_of_arrays(self):
        value = {"double": numpy.arange(6.0).reshape(2, 3), "float": numpy.ones(4, "<f4"),
                 "long": numpy.array([-5000000000, 2**53], "<i8"), "byte": numpy.arange(5, dtype="u1"),
                 "char": numpy.array([-1, 2], "i1"), "short": numpy.array([-1000, 32767], "<i2"),
                 "int": numpy.array([-100000, 2**31 - 1], "<i4"), "half": numpy.array([1.5], "<f2"),
                 "transposed": numpy.arange(6.0).reshape(2, 3).T}
        for client in (self.client, self.streaming_client):
            back = self.round_trip(value, client)
            self.assertEqual(sorted(back), sorted(value))
            for key, array in value.items():
                self.assertEqual(back[key].dtype, array.dtype, key)
                numpy.testing.assert_array_equal(back[key], array, key)

    def test_nested_lists_strings_numbers_booleans(self):
        value = {"list": [1.5, "two", [3.0, [4.0, "deep"]], True, False],
                 "text": "caf\u00e9", "binary": b"\x00\xff".decode("utf-8", "surrogateescape"),
                 "number": -0.25, "yes": True, "no": False}
        back = self.round_trip(value)
        self.assertEqual(back, value)

    def test_empty_table_is_an_empty_list(self):
        self.assertEqual(self.round_trip({"empty": {}}), {"empty": []})

    def test_integers_come_back_as_numbers(self):
        self.assertEqual(self.round_trip({"n": 3}), {"n": 3.0})

    def test_nn_linear(self):
        weight = numpy.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
        bias = numpy.array([-1.0, 1.0])
        linear = Object({"weight": weight, "bias": bias, "_type": "torch.DoubleTensor"},
                        classes=["nn.Linear"])
        back = self.round_trip({"model": linear, "epoch": 3})
        model = back["model"]
        self.assertIsInstance(model, Object)
        self.assertEqual(model.class_name, "nn.Linear")
        numpy.testing.assert_array_equal(model["weight"], weight)
        numpy.testing.assert_array_equal(model["bias"], bias)
        self.assertEqual(model["_type"], "torch.DoubleTensor")

    def test_shared_and_cyclic_tables(self):
        shared = {"v": 7.0}
        value = {"a": shared, "b": shared}
        value["self"] = value
        back = self.round_trip(value)
        self.assertIs(back["a"], back["b"])
        self.assertIs(back["self"], back)

    def test_write_options(self):
        data = self.client.dump({"x": numpy.arange(3.0)}, "t7", long_size=4)
        self.assertEqual(self.client.inspect(data).source.torch7.long_size, 4)
        ascii_data = self.client.dump([1.0, "a"], "t7-ascii")
        self.assertTrue(ascii_data.startswith(b"3\n"))
        self.assertEqual(self.client.load(ascii_data), [1.0, "a"])


class ZeroCopy(seriald_testing.ServerTestCase):
    """Arrays a load returns are views of what arrived: the received message (unary) or the
    buffer the streamed chunks were assembled in."""

    def root_buffer(self, array, expected_type):
        """The object at the end of the array's base chain, which must be of `expected_type`: the
        bytes it views, or the ndarray that owns its memory."""
        self.assertFalse(array.flags.owndata)
        base = array
        while isinstance(base, numpy.ndarray) and base.base is not None:
            base = base.base
        if isinstance(base, memoryview):
            base = base.obj
        self.assertIs(type(base), expected_type)
        return base

    def test_unary_small_tensor_views_the_field_bytes(self):
        array = self.client.load(self.client.dump(numpy.arange(6.0).reshape(2, 3), "t7"))
        self.root_buffer(array, bytes)

    def test_unary_large_and_strided_tensors_view_the_response_message(self):
        matrix = numpy.arange(200000.0).reshape(400, 500)
        for sent in (matrix, matrix.T, numpy.asfortranarray(matrix)):
            for fmt in ("t7", "rds"):
                array = self.client.load(self.client.dump(sent, fmt))
                numpy.testing.assert_array_equal(array, sent)
                message = self.root_buffer(array, bytes)
                self.assertGreater(len(message), array.nbytes)
                self.assertTrue(numpy.shares_memory(array, numpy.frombuffer(message, numpy.uint8)))
                # It is the whole DeserializeResponse as received.
                response = serializer_pb2.DeserializeResponse.FromString(message)
                self.assertGreater(len(response.data.items), 0)
        transposed = self.client.load(self.client.dump(matrix.T, "t7"))
        self.assertEqual(transposed.strides, (8, 4000))  # the file's own strides, no copy

    def test_r_matrix_is_column_major_view(self):
        matrix = numpy.asfortranarray(numpy.arange(12.0).reshape(3, 4))
        array = self.client.load(self.client.dump(matrix, "rds"))
        self.assertEqual(array.strides, (8, 24))
        self.root_buffer(array, bytes)

    def test_streamed_arrays_view_the_assembled_buffer(self):
        matrix = numpy.arange(600000.0).reshape(1000, 600)  # large enough for the server to stream
        for sent in (matrix, matrix.T):
            array = self.streaming_client.load(self.client.dump(sent, "t7"))
            numpy.testing.assert_array_equal(array, sent)
            buffer = self.root_buffer(array, numpy.ndarray)
            self.assertTrue(buffer.flags.owndata)
            self.assertEqual(buffer.dtype, numpy.uint8)
            self.assertEqual(buffer.nbytes, matrix.nbytes)  # exactly the array's bytes
            self.assertTrue(numpy.shares_memory(array, buffer))
            self.assertTrue(array.flags.writeable)


if __name__ == "__main__":
    unittest.main()

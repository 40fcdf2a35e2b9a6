"""pyseriald and the array files (npy, npz, safetensors), checked by readers that are not
seriald's: numpy.load, torch.from_numpy, a safetensors reader written here, Torch7's own
layout as ../shared/tools/t7dump.py reads it, and R.

- Torch7 corpus -> npz, npz-compressed, safetensors, npy: for every file of
  ../shared/corpus/torch7 that holds a tensor or storage, the arrays expected are worked out from
  t7dump's reading of the file (ExpectedExport: names as dotted key paths, element [i, j, ...] as
  storage[offset - 1 + i*stride0 + j*stride1 ...]); the exported file must hold exactly those,
  with the dtype of the tensor's class, the shape and the values, and torch.from_numpy must see
  the same; the notes must list the skipped leaves and the repeated arrays.
- safetensors written here (write_safetensors) -> t7 and rds: load() finds the arrays by name,
  t7dump and R read the outputs.
- R -> npz and safetensors: R writes a list and describes it (dim, storage-order elements as
  C99 hex floats); numpy finds a[i-1, j-1] == x[i, j].
- convert() returns the notes (unary and streamed, into an output file too); strict=True refuses
  naming the leaf; dump() and load() of array files.

    SERIALD_SHARED_DIR=../shared python3 -m unittest -v pyseriald_export_test
"""
import glob
import importlib.util
import io
import itertools
import json
import math
import os
import re
import shutil
import struct
import tempfile
import unittest
import zipfile

import numpy

import pyseriald
from pyseriald import SerialdError
import seriald_testing

try:
    import torch
except ImportError:  # Debian's python3-torch; the venv sees it through --system-site-packages
    torch = None

CORPUS_DIRS = ("generated", "python-torchfile", "char_gru", "opencv_ascii", "tutorials")
# Files t7dump cannot read as objects (CORPUS.md): a Generator's raw THGenerator bytes and a file
# of bare File primitives. Neither holds a tensor; the test checks that the service finds no
# arrays in them either.
NOT_OBJECTS = {"generated/generator.bin.t7", "generated/primitives.ascii.txt"}
# Element type of each Torch7 tensor/storage class stem, in numpy and torch spelling.
NUMPY_DTYPES = {"Float": "float32", "Double": "float64", "Long": "int64", "Int": "int32",
                "Short": "int16", "Char": "int8", "Byte": "uint8", "Half": "float16"}
TORCH_DTYPES = {"float32": "float32", "float64": "float64", "int64": "int64", "int32": "int32",
                "int16": "int16", "int8": "int8", "uint8": "uint8", "float16": "float16",
                "bool": "bool"}
# safetensors dtype names (https://github.com/huggingface/safetensors, format section).
SAFETENSORS_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4",
                      "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?"}
SAFETENSORS_NAMES = {numpy.dtype(code): name for name, code in SAFETENSORS_DTYPES.items()}
# t7dump writes these numbers as strings (JSON has no NaN or -0).
SPECIAL_NUMBERS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "-0.0": -0.0}
# Notes beyond the first 50 are only counted, in one last line.
NOTES_KEPT = 50
SKIPPED_NOTE = re.compile(r"^skipped (.*) \((.*)\): not an array$")
REPEAT_NOTE = re.compile(r"^(.*) is the same array as (.*), written once under that name$")


def load_t7dump():
    path = os.path.join(seriald_testing.shared_dir(), "tools", "t7dump.py")
    spec = importlib.util.spec_from_file_location("t7dump", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


T7DUMP = load_t7dump()


def corpus_root():
    return os.path.join(seriald_testing.shared_dir(), "corpus", "torch7")


def corpus_files():
    """Paths, relative to the corpus root, of every file of the corpus directories."""
    root = corpus_root()
    files = []
    for directory in CORPUS_DIRS:
        for path in sorted(glob.glob(os.path.join(root, directory, "*"))):
            if os.path.isfile(path) and not path.endswith((".md", ".tsv")):
                files.append(os.path.relpath(path, root))
    return files


def t7dump_roots(path):
    """(top-level objects, "binary" or "ascii") of a Torch7 file as t7dump reads it, every
    element listed."""
    with open(path, "rb") as f:
        data = f.read()
    name = os.path.basename(path)
    mode, roots, _ = T7DUMP.load(data, "auto", long_size=4 if ".long4." in name else 8,
                                 big_endian=".bigendian." in name, max_elems=1 << 62)
    return roots, mode


def number(value):
    return SPECIAL_NUMBERS[value] if isinstance(value, str) else value


class ExpectedExport:
    """What an array export of a Torch7 file must hold, worked out from t7dump's tree alone.

    The rules (core/convert/item_paths.h, the README's array formats): values are walked in file
    order, depth-first, from the root (several roots are "1", "2", ...); table values by their
    key (1-based numbers for a table whose keys are exactly 1..n, visited in key order; other
    keys in file order: strings as they are, whole numbers without fraction, booleans as
    true/false); class objects by their fields in file order; tds.Vec items by position. Map keys
    themselves are not walked. Tensors and storages are arrays (a tensor without dimensions or
    storage is empty, shape (0,)); an array met again is written once, under its first path; nil
    is nothing; any other leaf (number, string, boolean, function) is skipped. A root array is
    "arr_0"."""

    def __init__(self, roots, mode="binary"):
        self.input_format = "t7-ascii" if mode == "ascii" else "t7"
        self.nodes = {}
        self.index(roots)
        self.arrays = []    # (name, t7dump node) in file order
        self.skipped = []   # paths of the leaves left out ("the root" for a root leaf)
        self.repeats = []   # (later path, first name) of arrays met again
        self.walk(roots)

    def index(self, roots):
        """Every "$id" of the tree (keys, upvalues and fields tables too) -> its node."""
        stack = list(roots)
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, dict):
                if "$id" in node:
                    self.nodes[node["$id"]] = node
                stack.extend(value for key, value in node.items() if key not in ("$id", "data"))

    def resolve(self, node):
        if isinstance(node, dict) and "$ref" in node:
            return self.nodes[node["$ref"]]
        return node

    @staticmethod
    def class_kind(node):
        if isinstance(node, dict) and "$class" in node:
            return T7DUMP.class_kind(node["$class"])
        return None, None

    def is_array(self, node):
        return self.class_kind(node)[1] in ("Tensor", "Storage")

    @staticmethod
    def sequence_keys(entries):
        keys = [key for key, _ in entries]
        return all(isinstance(key, int) and not isinstance(key, bool) for key in keys) and \
            sorted(keys) == list(range(1, len(keys) + 1))

    def key_text(self, key):
        key = self.resolve(key)
        if isinstance(key, bool):
            return "true" if key else "false"
        if isinstance(key, int):
            return str(key) if abs(key) < 2 ** 53 else "%.17g" % key
        if isinstance(key, float):
            return "%.17g" % key
        if isinstance(key, str):
            return key
        if "$bytes_hex" in key:
            return bytes.fromhex(key["$bytes_hex"]).decode("utf-8", "surrogateescape")
        if self.is_array(key):
            kind = "array"
        elif "$function" in key:
            kind = "opaque"
        elif "$table" in key and self.sequence_keys(key["$table"]):
            kind = "list"
        else:
            kind = "list" if key.get("$class") == "tds.Vec" else "map"
        return "<%s key>" % kind

    def children(self, node):
        """(child, key) pairs of a container in walk order, or None for a leaf."""
        if not isinstance(node, dict) or "$bytes_hex" in node or "$function" in node:
            return None
        if "$table" in node:
            entries = node["$table"]
            if self.sequence_keys(entries):
                return [(value, str(key)) for key, value in sorted(entries, key=lambda e: e[0])]
            return [(value, self.key_text(key)) for key, value in entries]
        class_name = node["$class"]
        if class_name == "tds.Vec":
            return [(item, str(i + 1)) for i, item in enumerate(node["items"])]
        if class_name == "tds.Hash":
            return [(value, self.key_text(key)) for key, value in node["entries"]]
        if class_name == "tds.AtomicCounter":
            return None
        fields = self.resolve(node["fields"])
        if isinstance(fields, dict) and "$table" in fields:
            return [(value, self.key_text(key)) for key, value in fields["$table"]]
        return [(node["fields"], "payload")]

    def walk(self, roots):
        first_path = {}
        stack = [(root, "" if len(roots) == 1 else str(i + 1))
                 for i, root in reversed(list(enumerate(roots)))]
        while stack:
            node, path = stack.pop()
            node = self.resolve(node)
            identity = node.get("$id") if isinstance(node, dict) else None
            if identity is not None:
                if identity in first_path:
                    if self.is_array(node):
                        self.repeats.append((path, first_path[identity] or "arr_0"))
                    continue
                first_path[identity] = path
            if self.is_array(node):
                self.arrays.append((path or "arr_0", node))
                continue
            children = self.children(node)
            if children is None:
                if node is not None:
                    self.skipped.append(path or "the root")
                continue
            for child, key in reversed(children):
                stack.append((child, key if not path else path + "." + key))

    def array(self, node):
        """The numpy array a tensor or storage node stands for, element by element."""
        stem, kind = self.class_kind(node)
        dtype = numpy.dtype(NUMPY_DTYPES[stem])
        if kind == "Storage":
            return numpy.array([number(v) for v in node["data"]], dtype).reshape(node["n"])
        storage = self.resolve(node["storage"])
        if storage is None or not node["size"]:
            return numpy.zeros(0, dtype)
        elements = storage["data"]
        expected = numpy.zeros(node["size"], dtype)
        offset = node["storageOffset(1-based)"] - 1
        for index in itertools.product(*(range(n) for n in node["size"])):
            expected[index] = number(elements[offset + sum(i * s for i, s in
                                                           zip(index, node["stride"]))])
        return expected


def same_values(actual, expected):
    """Equal dtype, shape and elements (NaN equal to NaN, -0.0 apart from 0.0)."""
    if actual.dtype != expected.dtype or actual.shape != expected.shape:
        return False
    if expected.dtype.kind == "f":
        return bool(numpy.array_equal(actual, expected, equal_nan=True) and
                    numpy.array_equal(numpy.signbit(actual), numpy.signbit(expected)))
    return bool(numpy.array_equal(actual, expected))


def read_safetensors(data):
    """An independent safetensors reader: (header length, {name: array}, [(name, begin, end)],
    body length). Little-endian u64 header length, a JSON header of name -> {dtype, shape,
    data_offsets} (plus an optional "__metadata__"), then the data, each array row-major."""
    (header_length,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(bytes(data[8:8 + header_length]).decode("utf-8"))
    header.pop("__metadata__", None)
    body = memoryview(data)[8 + header_length:]
    arrays, spans = {}, []
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        dtype = numpy.dtype(SAFETENSORS_DTYPES[entry["dtype"]])
        shape = tuple(entry["shape"])
        if end - begin != math.prod(shape) * dtype.itemsize or end > len(body):
            raise ValueError("%s: data_offsets %s do not fit shape %s of %s"
                             % (name, entry["data_offsets"], shape, entry["dtype"]))
        arrays[name] = numpy.frombuffer(body[begin:end], dtype).reshape(shape)
        spans.append((name, begin, end))
    return header_length, arrays, spans, len(body)


def write_safetensors(arrays):
    """An independent safetensors writer: `arrays` (name -> numpy array) in order, the header
    padded with spaces to a multiple of 8 bytes."""
    header, blobs, offset = {}, [], 0
    for name, array in arrays.items():
        blob = numpy.ascontiguousarray(array, array.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": SAFETENSORS_NAMES[array.dtype.newbyteorder("<")],
                        "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


class ArrayFileChecks:
    """Assertions shared by the test cases."""

    def assert_safetensors_layout(self, data):
        """The header is padded so that the data starts 8-aligned, and the arrays' data is
        contiguous: each begins where the one before ends, from 0 to the end of the file."""
        header_length, arrays, spans, body_length = read_safetensors(data)
        self.assertEqual(header_length % 8, 0, "header of %d bytes" % header_length)
        ordered = sorted(spans, key=lambda span: (span[1], span[2]))
        position = 0
        for name, begin, end in ordered:
            self.assertEqual(begin, position, "%s begins at %d, not %d" % (name, begin, position))
            position = end
        self.assertEqual(position, body_length)
        return arrays

    def assert_torch_sees(self, array, expected, where):
        tensor = torch.from_numpy(array)
        self.assertEqual(tuple(tensor.shape), expected.shape, where)
        self.assertEqual(tensor.dtype, getattr(torch, TORCH_DTYPES[expected.dtype.name]), where)
        reference = torch.from_numpy(expected.copy())
        if tensor.dtype.is_floating_point:
            self.assertTrue(torch.equal(torch.isnan(tensor), torch.isnan(reference)), where)
            finite = ~torch.isnan(reference)
            self.assertTrue(torch.equal(tensor[finite], reference[finite]), where)
        else:
            self.assertTrue(torch.equal(tensor, reference), where)


class Torch7CorpusExports(ArrayFileChecks, seriald_testing.ServerTestCase):
    """Every Torch7 corpus file with a tensor or storage, exported, against t7dump."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.expectations = {}
        for relative in corpus_files():
            if relative in NOT_OBJECTS:
                continue
            expected = ExpectedExport(*t7dump_roots(os.path.join(corpus_root(), relative)))
            if expected.arrays:
                cls.expectations[relative] = expected

    def read(self, relative):
        with open(os.path.join(corpus_root(), relative), "rb") as f:
            return f.read()

    def test_the_corpus_has_the_files_and_arrays_it_should(self):
        self.assertGreaterEqual(len(corpus_files()), 150, corpus_root())
        self.assertGreaterEqual(len(self.expectations), 70)
        self.assertGreaterEqual(sum(len(e.arrays) for e in self.expectations.values()), 150)
        # Files without arrays are refused for that reason; the Generator too (an opaque item).
        for relative in ("generated/generator.bin.t7", "generated/table_nested.bin.t7",
                         "generated/function_upvalues.bin.t7"):
            with self.assertRaises(SerialdError, msg=relative) as caught:
                self.client.convert(self.read(relative), "npz", drop_unconvertible=True)
            self.assertIn("no arrays", caught.exception.message, relative)
        # Bare File primitives are no Torch7 object at all.
        with self.assertRaises(SerialdError) as caught:
            self.client.convert(self.read("generated/primitives.ascii.txt"), "npz")
        self.assertEqual(caught.exception.code.name, "INVALID_ARGUMENT")

    def test_the_expectations_notice_differences(self):
        relative = "generated/nn_linear.bin.t7"
        roots, mode = t7dump_roots(os.path.join(corpus_root(), relative))
        with numpy.load(io.BytesIO(self.client.convert(self.read(relative), "npz"))) as npz:
            exported = {name: npz[name] for name in npz.files}
        expected = ExpectedExport(roots, mode)
        self.assertEqual(sorted(exported), sorted(name for name, _ in expected.arrays))
        self.assertTrue(all(same_values(exported[name], expected.array(node))
                            for name, node in expected.arrays))
        fields = roots[0]["fields"]["$table"]
        self.assertEqual(fields[0][0], "weight")
        fields[0][1]["storage"]["data"][4] = 99    # weight[1, 1]
        fields[1][0] = "renamed"                   # the second field's key
        changed = ExpectedExport(roots, mode)
        self.assertNotEqual(sorted(exported), sorted(name for name, _ in changed.arrays))
        weight = dict(changed.arrays)["weight"]
        self.assertFalse(same_values(exported["weight"], changed.array(weight)))
        self.assertEqual(changed.array(weight)[1, 1], 99)

    def check_notes(self, relative, expected, notes):
        """The notes: the skipped leaves in walk order, then the repeated arrays, the first 50
        in full and the rest counted in a last line (core/convert/conversion_notes.h)."""
        wanted = [("skipped", path) for path in expected.skipped] + \
            [("repeat", repeat) for repeat in expected.repeats]
        kept = wanted[:NOTES_KEPT]
        if len(wanted) > NOTES_KEPT:
            self.assertEqual(notes[-1], "... and %d more notes like these"
                             % (len(wanted) - NOTES_KEPT), relative)
            notes = notes[:-1]
        found = []
        for note in notes:
            if SKIPPED_NOTE.match(note):
                found.append(("skipped", SKIPPED_NOTE.match(note).group(1)))
            elif REPEAT_NOTE.match(note):
                found.append(("repeat", REPEAT_NOTE.match(note).groups()))
            else:
                found.append(("other", note))
        self.assertEqual(found, kept, relative)

    def test_npz_holds_every_array_by_path_with_dtype_shape_and_values(self):
        arrays = elements = 0
        for relative, expected in sorted(self.expectations.items()):
            data = self.read(relative)
            converted = self.client.convert(data, "npz", drop_unconvertible=True)
            self.assertIsInstance(converted, bytes)
            self.assertEqual(converted.input_format, expected.input_format, relative)
            self.check_notes(relative, expected, converted.notes)
            with numpy.load(io.BytesIO(converted)) as npz:
                self.assertEqual(sorted(npz.files), sorted(name for name, _ in expected.arrays),
                                 relative)
                for name, node in expected.arrays:
                    want = expected.array(node)
                    got = npz[name]
                    where = "%s: %s" % (relative, name)
                    self.assertEqual(got.dtype, want.dtype, where)
                    self.assertEqual(got.shape, want.shape, where)
                    self.assertTrue(same_values(got, want), "%s: %r != %r" % (where, got, want))
                    if torch is not None:
                        self.assert_torch_sees(got, want, where)
                    arrays += 1
                    elements += want.size
            # Streamed (64 KiB chunks, notes in the last message): the same bytes and notes.
            streamed = self.streaming_client.convert(data, "npz", drop_unconvertible=True)
            self.assertEqual(bytes(streamed), bytes(converted), relative)
            self.assertEqual(streamed.notes, converted.notes, relative)
            self.assertEqual(streamed.input_format, expected.input_format, relative)
        print("\ntorch7 corpus -> npz: %d files, %d arrays, %d elements compared"
              % (len(self.expectations), arrays, elements))
        self.assertGreater(elements, 40000)

    @unittest.skipIf(torch is None, "python3-torch is not installed")
    def test_torch_is_there(self):
        # The corpus test above checks torch.from_numpy only when torch imports.
        self.assertEqual(torch.from_numpy(numpy.arange(3, dtype="int16")).dtype, torch.int16)

    def test_safetensors_read_independently(self):
        for relative, expected in sorted(self.expectations.items()):
            converted = self.client.convert(self.read(relative), "safetensors",
                                            drop_unconvertible=True)
            self.check_notes(relative, expected, converted.notes)
            arrays = self.assert_safetensors_layout(converted)
            self.assertEqual(sorted(arrays), sorted(name for name, _ in expected.arrays), relative)
            for name, node in expected.arrays:
                want = expected.array(node)
                self.assertTrue(same_values(arrays[name], want),
                                "%s: %s: %r != %r" % (relative, name, arrays[name], want))

    def test_npz_compressed_is_deflated_and_equal(self):
        for relative in ("generated/checkpoint_like.bin.t7", "char_gru/data.t7",
                         "generated/tensor_transposed.ascii.t7"):
            expected = self.expectations[relative]
            converted = self.client.convert(self.read(relative), "npz-compressed")
            with zipfile.ZipFile(io.BytesIO(converted)) as archive:
                self.assertEqual({info.compress_type for info in archive.infolist()},
                                 {zipfile.ZIP_DEFLATED}, relative)
            with numpy.load(io.BytesIO(converted)) as npz:
                self.assertEqual(sorted(npz.files), sorted(name for name, _ in expected.arrays))
                for name, node in expected.arrays:
                    self.assertTrue(same_values(npz[name], expected.array(node)), relative)

    def test_npy_of_every_single_array_file(self):
        single = 0
        for relative, expected in sorted(self.expectations.items()):
            if len(expected.arrays) != 1:
                with self.assertRaises(SerialdError, msg=relative) as caught:
                    self.client.convert(self.read(relative), "npy", drop_unconvertible=True)
                self.assertIn("an npy file holds one array", caught.exception.message)
                continue
            single += 1
            (name, node), = expected.arrays
            converted = self.client.convert(self.read(relative), "npy", drop_unconvertible=True)
            got = numpy.load(io.BytesIO(converted))
            want = expected.array(node)
            self.assertTrue(same_values(got, want), "%s: %r != %r" % (relative, got, want))
            if torch is not None:
                self.assert_torch_sees(got, want, relative)
        self.assertGreaterEqual(single, 40)

    def test_strided_views_are_written_row_major(self):
        # transpose (stride {1, 3}), narrow (offset 2), select (offset 4) of {{1,2,3},{4,5,6}}
        for relative, want in (("generated/tensor_transposed.bin.t7", [[1, 4], [2, 5], [3, 6]]),
                               ("generated/tensor_narrow_offset.bin.t7", [[2, 3], [5, 6]]),
                               ("generated/tensor_select_1d.bin.t7", [4, 5, 6])):
            got = numpy.load(io.BytesIO(self.client.convert(self.read(relative), "npy")))
            numpy.testing.assert_array_equal(got, numpy.array(want, "float64"), relative)
            _, arrays, _, _ = read_safetensors(self.client.convert(self.read(relative),
                                                                   "safetensors"))
            numpy.testing.assert_array_equal(arrays["arr_0"], numpy.array(want, "float64"))


class Notes(seriald_testing.ServerTestCase):
    CHECKPOINT = os.path.join(corpus_root(), "generated", "checkpoint_like.bin.t7")
    CHECKPOINT_NOTES = ["skipped epoch (a number): not an array",
                        "skipped model._type (a string): not an array",
                        "skipped opt.lr (a number): not an array",
                        "skipped opt.name (a string): not an array"]

    def setUp(self):
        with open(self.CHECKPOINT, "rb") as f:
            self.checkpoint = f.read()

    def test_skipped_leaves_are_the_notes_unary_streamed_and_into_a_file(self):
        for client in (self.client, self.streaming_client):
            converted = client.convert(self.checkpoint, "npz")
            self.assertEqual(converted.notes, self.CHECKPOINT_NOTES)
            output = io.BytesIO()
            written = client.convert(self.checkpoint, "safetensors", output=output)
            self.assertEqual(bytes(written), b"")
            self.assertEqual(written.notes, self.CHECKPOINT_NOTES)
            self.assertEqual(written.input_format, "t7")
            self.assertIn(b'"model.weight"', output.getvalue())

    def test_a_same_family_conversion_has_no_notes(self):
        converted = self.client.convert(self.checkpoint, "t7-ascii")
        self.assertEqual(converted.notes, [])
        self.assertTrue(converted.startswith(b"3\n"))  # a table
        self.assertEqual(self.client.load(converted)["epoch"], 3.0)

    def test_strict_refuses_naming_the_leaf(self):
        for client in (self.client, self.streaming_client):
            with self.assertRaises(SerialdError) as caught:
                client.convert(self.checkpoint, "npz", strict=True)
            self.assertEqual(caught.exception.code.name, "INVALID_ARGUMENT")
            self.assertIn("epoch (a number) is not an array", caught.exception.message)
        with self.assertRaises(SerialdError) as caught:
            self.client.dump({"w": numpy.ones(2), "name": "x"}, "safetensors", strict=True)
        self.assertIn("name (a string) is not an array", caught.exception.message)

    def test_drop_unconvertible_lists_what_it_left_out(self):
        with open(os.path.join(corpus_root(), "generated", "function_upvalues.bin.t7"), "rb") as f:
            function = f.read()
        with self.assertRaises(SerialdError) as caught:
            self.client.convert(function, "rds")
        self.assertIn("R cannot hold", caught.exception.message)
        converted = self.client.convert(function, "rds", drop_unconvertible=True)
        self.assertEqual(len(converted.notes), 1)
        self.assertRegex(converted.notes[0], r"^left out the root \(a Lua function .*\)")
        self.assertIsNone(self.client.load(converted))

    def test_inexact_integers(self):
        data = write_safetensors({"x": numpy.array([2 ** 53 + 1, 5], "<i8")})
        with self.assertRaises(SerialdError) as caught:
            self.client.convert(data, "rds")
        self.assertIn("beyond 2^53", caught.exception.message)
        converted = self.client.convert(data, "rds", allow_inexact_integers=True)
        self.assertEqual(converted.notes,
                         ["x: 1 int64 elements beyond 2^53 rounded to the nearest double"])
        numpy.testing.assert_array_equal(self.client.load(converted)["x"], [2.0 ** 53, 5.0])

    def test_write_and_options_together_are_refused(self):
        with self.assertRaises(ValueError):
            self.client.convert(self.checkpoint, "npz",
                                write=pyseriald.client.write_options("npz"), strict=True)
        with self.assertRaises(ValueError):
            self.client.convert(self.checkpoint, "npz5")


class SafetensorsIn(ArrayFileChecks, seriald_testing.ServerTestCase):
    """A safetensors file written here goes through the service to t7 and rds."""

    ARRAYS = {"w": numpy.arange(6, dtype="<f4").reshape(2, 3) / 4,
              "ids": numpy.array([-3, 0, 2 ** 40, 7], "<i8"),
              "mask": numpy.array([[1, 0, 255], [0, 1, 2]], "u1"),
              "flags": numpy.array([True, False, True])}

    def setUp(self):
        self.data = write_safetensors(self.ARRAYS)

    def test_the_writer_here_agrees_with_the_reader_here(self):
        arrays = self.assert_safetensors_layout(self.data)
        for name, array in self.ARRAYS.items():
            self.assertTrue(same_values(arrays[name], array), name)

    def test_load_gives_the_arrays_by_name(self):
        for client in (self.client, self.streaming_client):
            loaded = client.load(self.data)
            self.assertEqual(list(loaded), list(self.ARRAYS))
            for name, array in self.ARRAYS.items():
                self.assertTrue(same_values(loaded[name], array), name)

    def test_to_t7_a_flat_table_of_tensors(self):
        converted = self.client.convert(self.data, "t7")
        self.assertEqual(converted.input_format, "safetensors")
        self.assertEqual(converted.notes, [])
        loaded = self.client.load(converted)
        self.assertEqual(sorted(loaded), sorted(self.ARRAYS))
        for name, array in self.ARRAYS.items():
            # Torch7 has no boolean tensor: booleans become a ByteTensor of 0 and 1.
            want = array.astype("u1") if array.dtype == bool else array
            self.assertTrue(same_values(loaded[name], want), "%s: %r" % (name, loaded[name]))
        # Torch7's layout, as t7dump reads it: one table of name -> tensor of the right class.
        (root,) = T7DUMP.load(bytes(converted), "binary")[1]
        tensors = {key: value for key, value in root["$table"]}
        classes = {"w": "torch.FloatTensor", "ids": "torch.LongTensor",
                   "mask": "torch.ByteTensor", "flags": "torch.ByteTensor"}
        expected = ExpectedExport([root])
        for name, array in self.ARRAYS.items():
            self.assertEqual(tensors[name]["$class"], classes[name])
            self.assertEqual(tensors[name]["size"], list(array.shape))
            want = array.astype("u1") if array.dtype == bool else array
            self.assertTrue(same_values(expected.array(tensors[name]), want), name)

    def test_to_rds_a_named_list_of_arrays(self):
        converted = self.client.convert(self.data, "rds")
        self.assertEqual(converted.notes, [])
        loaded = self.client.load(converted)
        self.assertEqual(list(loaded), list(self.ARRAYS))
        # R: float32 and int64 (all within 2^53) become double, uint8 integer, bool logical.
        for name, dtype in (("w", "float64"), ("ids", "float64"), ("mask", "int32"),
                            ("flags", "bool")):
            self.assertEqual(loaded[name].dtype, numpy.dtype(dtype), name)
            numpy.testing.assert_array_equal(loaded[name], self.ARRAYS[name], name)
        # And R reads it: dim and x[i, j] == w[i-1, j-1].
        directory = tempfile.mkdtemp(prefix="pyseriald-export-")
        try:
            with open(os.path.join(directory, "in.rds"), "wb") as f:
                f.write(converted)
            output = seriald_testing.run_rscript(r'''
x <- readRDS("in.rds")
cat(names(x), "\n")
cat(typeof(x$w), dim(x$w), "\n")
for (i in 1:2) for (j in 1:3) cat(sprintf("%a", x$w[i, j]), "")
cat("\n", typeof(x$mask), dim(x$mask), x$mask[2, 3], typeof(x$flags), x$flags, "\n")
''', directory).split("\n")
        finally:
            shutil.rmtree(directory)
        self.assertEqual(output[0].split(), list(self.ARRAYS))
        self.assertEqual(output[1].split(), ["double", "2", "3"])
        self.assertEqual([float.fromhex(v) for v in output[2].split()],
                         [float(v) for v in self.ARRAYS["w"].ravel()])
        self.assertEqual(output[3].split(),
                         ["integer", "2", "3", "2", "logical", "TRUE", "FALSE", "TRUE"])


class FromR(ArrayFileChecks, seriald_testing.ServerTestCase):
    """R writes a list; numpy and the safetensors reader here find R's values."""

    R_SCRIPT = r'''
x <- list(m = matrix(1:6 / 2, 2), i = c(1L, -2L, 2147483647L), l = c(TRUE, FALSE, TRUE),
          a = array(1:24, c(2, 3, 4)), d = c(0.1, -0, 1e300), s = "text",
          f = factor(c("u", "v")), df = data.frame(x = 1:2, y = c(0.5, 1)))
saveRDS(x, "list.rds")
saveRDS(list(l = c(TRUE, NA)), "na.rds")
for (name in c("m", "i", "l", "a", "d")) {
  v <- x[[name]]
  dims <- if (is.null(dim(v))) length(v) else dim(v)
  elements <- if (is.double(v)) sprintf("%a", v) else as.character(as.integer(v))
  cat(name, typeof(v), paste(dims, collapse = ","), paste(elements, collapse = ","), "\n")
}
'''
    DTYPES = {"double": "float64", "integer": "int32", "logical": "bool"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.directory = tempfile.mkdtemp(prefix="pyseriald-export-r-")
        cls.described = {}
        for line in seriald_testing.run_rscript(cls.R_SCRIPT, cls.directory).splitlines():
            name, kind, dims, elements = line.split()
            parse = float.fromhex if kind == "double" else int
            cls.described[name] = (kind, tuple(int(d) for d in dims.split(",")),
                                   [parse(e) for e in elements.split(",")])
        with open(os.path.join(cls.directory, "list.rds"), "rb") as f:
            cls.rds = f.read()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.directory)
        super().tearDownClass()

    def check(self, arrays):
        self.assertEqual(sorted(arrays), ["a", "d", "df.x", "df.y", "i", "l", "m"])
        for name, (kind, dims, elements) in self.described.items():
            array = arrays[name]
            self.assertEqual(array.dtype, numpy.dtype(self.DTYPES[kind]), name)
            self.assertEqual(array.shape, dims, name)
            # x[i, j, ...] in R is element i + j*d1 + ... of R's column-major storage.
            for index in itertools.product(*(range(n) for n in dims)):
                position = sum(i * math.prod(dims[:k]) for k, i in enumerate(index))
                want = elements[position]
                got = array[index].item()
                self.assertEqual(got, bool(want) if kind == "logical" else want, (name, index))
                if kind == "double":
                    self.assertEqual(math.copysign(1, got), math.copysign(1, want), (name, index))
        numpy.testing.assert_array_equal(arrays["df.x"], numpy.array([1, 2], "int32"))
        numpy.testing.assert_array_equal(arrays["df.y"], [0.5, 1.0])

    def test_rds_to_npz(self):
        converted = self.client.convert(self.rds, "npz")
        self.assertEqual(converted.input_format, "rds")
        self.assertEqual(sorted(converted.notes),
                         ["skipped f (a factor): not an array",
                          "skipped s (a character vector): not an array"])
        with numpy.load(io.BytesIO(converted)) as npz:
            arrays = {name: npz[name] for name in npz.files}
        self.check(arrays)
        self.assertEqual(arrays["m"].shape, (2, 3))
        self.assertEqual(arrays["m"][1, 2], 3.0)  # m[2, 3]
        self.assertEqual(arrays["l"].dtype, numpy.bool_)
        if torch is not None:
            self.assert_torch_sees(arrays["m"], numpy.array([[0.5, 1.5, 2.5], [1, 2, 3]]), "m")

    def test_rds_to_safetensors(self):
        arrays = self.assert_safetensors_layout(self.client.convert(self.rds, "safetensors"))
        self.check(arrays)

    def test_rds_to_t7(self):
        loaded = self.client.load(self.client.convert(self.rds, "t7", drop_unconvertible=True))
        numpy.testing.assert_array_equal(loaded["m"], [[0.5, 1.5, 2.5], [1, 2, 3]])
        self.assertEqual(loaded["i"].dtype, numpy.int32)   # integer -> IntTensor
        self.assertEqual(loaded["l"].dtype, numpy.uint8)   # logical -> ByteTensor
        numpy.testing.assert_array_equal(loaded["l"], [1, 0, 1])
        self.assertEqual(loaded["a"][1, 2, 3], 24)

    def test_logical_na_has_no_numpy_bool(self):
        with open(os.path.join(self.directory, "na.rds"), "rb") as f:
            data = f.read()
        with self.assertRaises(SerialdError) as caught:
            self.client.convert(data, "npz")
        self.assertIn("'l'", caught.exception.message)
        self.assertIn("NA", caught.exception.message)


class DumpAndLoad(ArrayFileChecks, seriald_testing.ServerTestCase):
    """dump() writes array files from Python values; load() reads array files numpy wrote."""

    VALUE = {"model": {"weight": numpy.arange(6, dtype="<f4").reshape(2, 3),
                       "bias": numpy.array([-1.0, 1.0])},
             "steps": numpy.array([3, 4], "<i8"),
             "mask": numpy.array([True, False]),
             "transposed": numpy.arange(6, dtype="<i2").reshape(2, 3).T,
             "fortran": numpy.asfortranarray(numpy.arange(12.0).reshape(3, 4)),
             "name": "not an array"}
    NAMES = {"model.weight": VALUE["model"]["weight"], "model.bias": VALUE["model"]["bias"],
             "steps": VALUE["steps"], "mask": VALUE["mask"], "transposed": VALUE["transposed"],
             "fortran": VALUE["fortran"]}

    def test_dump_safetensors_npz_and_npy_to_files(self):
        directory = tempfile.mkdtemp(prefix="pyseriald-export-dump-")
        try:
            for client in (self.client, self.streaming_client):
                path = os.path.join(directory, "model.safetensors")
                self.assertIsNone(client.dump(self.VALUE, "safetensors", path=path))
                with open(path, "rb") as f:
                    arrays = self.assert_safetensors_layout(f.read())
                self.assertEqual(sorted(arrays), sorted(self.NAMES))
                for name, array in self.NAMES.items():
                    self.assertTrue(same_values(arrays[name], array), name)
                for fmt in ("npz", "npz-compressed"):
                    path = os.path.join(directory, "model.npz")
                    client.dump(self.VALUE, fmt, path=path)
                    with numpy.load(path) as npz:
                        self.assertEqual(sorted(npz.files), sorted(self.NAMES))
                        for name, array in self.NAMES.items():
                            self.assertTrue(same_values(npz[name], array), (fmt, name))
                path = os.path.join(directory, "one.npy")
                client.dump(self.VALUE["transposed"], "npy", path=path)
                self.assertTrue(same_values(numpy.load(path), self.VALUE["transposed"]))
        finally:
            shutil.rmtree(directory)

    def test_npy_takes_one_array(self):
        with self.assertRaises(SerialdError) as caught:
            self.client.dump(self.NAMES, "npy")
        self.assertIn("an npy file holds one array", caught.exception.message)

    def test_load_of_files_numpy_wrote(self):
        arrays = {"f": numpy.asfortranarray(numpy.arange(6.0).reshape(2, 3)),
                  "b": numpy.array([[True, False], [False, True]]),
                  "big": numpy.array([1, -2, 70000], ">i4"),
                  "h": numpy.array([0.5, -2.0], "<f2"),
                  "u": numpy.arange(5, dtype="u1")}
        for save in (numpy.savez, numpy.savez_compressed):
            buffer = io.BytesIO()
            save(buffer, **arrays)
            for client in (self.client, self.streaming_client):
                loaded = client.load(buffer.getvalue())
                self.assertEqual(sorted(loaded), sorted(arrays))
                for name, array in arrays.items():
                    want = array.astype(array.dtype.newbyteorder("<"))
                    self.assertTrue(same_values(loaded[name], want), (save.__name__, name))
                self.assertIs(type(loaded["b"]), numpy.ndarray)  # plain bool, no mask
        buffer = io.BytesIO()
        numpy.save(buffer, arrays["b"])
        loaded = self.client.load(buffer.getvalue(), format="npy")
        self.assertIs(type(loaded), numpy.ndarray)
        self.assertTrue(same_values(loaded, arrays["b"]))


if __name__ == "__main__":
    unittest.main()

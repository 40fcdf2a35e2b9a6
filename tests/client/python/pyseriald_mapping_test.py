"""pyseriald's mapping between Python values and seriald.v1.Data, without a server.

Python values go through encode_data (what dump sends) and decode_data (what load does with the
answer); Data items are also built by hand the way the server writes them for R objects. Also the
wire helpers, and that the package carries its own generated modules.

    python3 -m unittest pyseriald_mapping_test
"""
import datetime
import os
import sys
import unittest
from unittest import mock

import numpy
import pandas

import pyseriald
from pyseriald import Object, Opaque, Pairs, RArray, RList, _wire
from pyseriald._proto import data_pb2, serializer_pb2, value_pb2
from pyseriald import encode
from pyseriald.decode import decode_data
from pyseriald.encode import R_NA_REAL_BITS, encode_data, plain_strings

NA_INTEGER = -2**31


def round_trip(value):
    """value -> Data -> value, with array data delivered as the client delivers streamed data."""
    data, arrays = encode_data(value)
    data = data_pb2.Data.FromString(data.SerializeToString())
    buffers = {item_id: bytearray(payload) for item_id, payload in arrays}
    return decode_data(data, buffers)[0]


class DataBuilder:
    """Builds a Data message item by item, as the server would send it."""

    def __init__(self):
        self.data = data_pb2.Data()

    def add(self, **fields):
        item = self.data.items.add()
        for name, value in fields.items():
            if name in ("classes",):
                item.classes.extend(value)
            elif isinstance(value, dict):
                getattr(item, name).SetInParent()
                for field, field_value in value.items():
                    target = getattr(item, name)
                    if isinstance(field_value, list):
                        getattr(target, field).extend(field_value)
                    else:
                        setattr(target, field, field_value)
            else:
                setattr(item, name, value)
        return len(self.data.items) - 1

    def array(self, values, dtype, element_type, shape=None, strides=None, **extra):
        values = numpy.asarray(values, dtype=dtype)
        return self.add(array=dict(dtype=element_type, shape=list(shape or values.shape),
                                   strides=list(strides or [1]), length=values.size,
                                   data=values.tobytes(), **extra))

    def strings(self, values, shape=()):
        return self.add(strings=dict(values=[(v or "").encode() for v in values],
                                     na=[i for i, v in enumerate(values) if v is None],
                                     shape=list(shape)))

    def decode(self, root):
        del self.data.roots[:]
        self.data.roots.append(root)
        return decode_data(data_pb2.Data.FromString(self.data.SerializeToString()), {})[0]


class ScalarsAndContainers(unittest.TestCase):
    def test_scalars(self):
        for value in (None, True, False, 0, -5, 2**62, 1.5, float("inf"), "text", "",
                      "caf\u00e9", b"\x00\xffraw"):
            self.assertEqual(round_trip(value), value)
            self.assertIs(type(round_trip(value)), type(value))

    def test_numpy_scalars_become_python_scalars(self):
        self.assertEqual(round_trip(numpy.int16(7)), 7)
        self.assertIs(type(round_trip(numpy.int16(7))), int)
        self.assertIs(type(round_trip(numpy.float32(0.5))), float)
        self.assertIs(round_trip(numpy.bool_(True)), True)

    def test_bytes_that_are_not_utf8_round_trip_through_str(self):
        text = b"a\xff\xfeb".decode("utf-8", "surrogateescape")
        self.assertEqual(round_trip(text), text)
        data, _ = encode_data(text)
        self.assertEqual(data.items[0].string, b"a\xff\xfeb")

    def test_containers(self):
        value = {"list": [1, 2.5, "x", None], "nested": {"a": {"b": [True]}}, 3: "int key",
                 2.5: "float key", False: "bool key"}
        self.assertEqual(round_trip(value), value)
        self.assertEqual(round_trip((1, 2)), [1, 2])

    def test_integral_float_keys_come_back_as_int(self):
        self.assertEqual(round_trip({1.0: "a", 2.0: "b"}), {1: "a", 2: "b"})

    def test_object_rlist_pairs(self):
        linear = Object({"weight": 1.0}, classes=["nn.Linear"])
        self.assertEqual(linear.class_name, "nn.Linear")
        back = round_trip(linear)
        self.assertIsInstance(back, Object)
        self.assertEqual(back.classes, ["nn.Linear"])
        self.assertEqual(dict(back), {"weight": 1.0})

        rlist = RList([1.0, "b"], names=["a", None], classes=["thing"], attributes={"x": 1})
        back = round_trip(rlist)
        self.assertIsInstance(back, RList)
        self.assertEqual(back.names, ["a", None])
        self.assertEqual(back.classes, ["thing"])
        self.assertEqual(back.attributes, {"x": 1})

        key = {"name": "key"}
        pairs = Pairs([(key, "value"), ("other", key)])
        back = round_trip(pairs)
        self.assertIsInstance(back, Pairs)
        self.assertEqual(back[0][1], "value")
        self.assertIs(back[0][0], back[1][1])

    def test_keys_equal_in_python_make_pairs(self):
        builder = DataBuilder()
        one, true = builder.add(number=1.0), builder.add(boolean=True)
        a, b = builder.add(string=b"a"), builder.add(string=b"b")
        table = builder.add(map=dict())
        for key, value in ((one, a), (true, b)):
            entry = builder.data.items[table].map.entries.add()
            entry.key, entry.value = key, value
        self.assertEqual(builder.decode(table), Pairs([(1, "a"), (True, "b")]))

    def test_sharing_and_cycles(self):
        shared = [1, 2]
        array = numpy.arange(3.0)
        value = {"a": shared, "b": shared, "x": array, "y": array}
        value["self"] = value
        back = round_trip(value)
        self.assertIs(back["a"], back["b"])
        self.assertIs(back["x"], back["y"])
        self.assertIs(back["self"], back)

    def test_deep_nesting_needs_no_recursion(self):
        depth = 200000
        value = []
        innermost = value
        for _ in range(depth):
            inner = []
            innermost.append(inner)
            innermost = inner
        innermost.append("bottom")
        back = round_trip(value)
        for _ in range(depth):
            back = back[0]
        self.assertEqual(back, ["bottom"])


class Refusals(unittest.TestCase):
    def assertRefused(self, value, error, *fragments):
        with self.assertRaises(error) as raised:
            encode_data(value)
        for fragment in fragments:
            self.assertIn(fragment, str(raised.exception))

    def test_set_names_its_path(self):
        self.assertRefused({"model": [1, 2, {3}]}, TypeError, "obj['model'][2]", "set")

    def test_opaque_names_its_path_and_type(self):
        self.assertRefused([Opaque("closure", "a function")], ValueError, "obj[0]", "closure")

    def test_unsupported_dtype(self):
        self.assertRefused({"t": numpy.zeros(2, dtype=numpy.uint64)}, TypeError, "obj['t']",
                           "uint64")

    def test_integer_too_large(self):
        self.assertRefused([2**70], ValueError, "obj[0]")

    def test_arbitrary_object(self):
        self.assertRefused({"f": len}, TypeError, "obj['f']")

    def test_deep_path(self):
        value = inner = []
        for _ in range(1000):
            inner.append([])
            inner = inner[0]
        inner.append({1, 2})
        self.assertRefused(value, TypeError, "obj" + "[0]" * 1001)


class Arrays(unittest.TestCase):
    def check(self, array):
        back = round_trip(array)
        self.assertEqual(back.dtype, array.dtype.newbyteorder("<") if array.dtype.byteorder == ">"
                         else array.dtype)
        numpy.testing.assert_array_equal(back, array)
        return back

    def test_dtypes(self):
        for dtype in ("u1", "i1", "<i2", "<i4", "<i8", "<f2", "<f4", "<f8", "<c16"):
            self.check(numpy.arange(6).astype(dtype).reshape(2, 3))

    def test_widened_dtypes(self):
        self.assertEqual(round_trip(numpy.array([1, 65535], dtype="<u2")).dtype, numpy.int32)
        self.assertEqual(round_trip(numpy.array([1, 2**32 - 1], dtype="<u4")).dtype, numpy.int64)

    def test_big_endian_is_sent_little_endian(self):
        self.check(numpy.arange(4, dtype=">f8"))

    def test_bool_is_logical(self):
        data, _ = encode_data(numpy.array([True, False]))
        self.assertEqual(data.items[0].array.dtype, value_pb2.ELEMENT_TYPE_LOGICAL)
        numpy.testing.assert_array_equal(round_trip(numpy.array([True, False])), [True, False])

    def test_views_are_sent_with_their_strides_without_copies(self):
        base = numpy.arange(24.0).reshape(4, 6)
        for view in (base.T, base[::-1, ::2], base[1:3, ::-3], base[:, 2],
                     numpy.broadcast_to(base[0], (3, 6)), base[2, 3, ...]):
            data, arrays = encode_data(view)
            payload = arrays[0][1]
            self.assertTrue(numpy.shares_memory(numpy.frombuffer(payload, dtype=numpy.uint8),
                                                base), view.strides)
            numpy.testing.assert_array_equal(round_trip(view), view)

    def test_strides_that_are_not_whole_elements_are_copied(self):
        records = numpy.zeros(3, dtype=[("a", "<i4"), ("b", "<f8")])
        records["b"] = [1.5, 2.5, 3.5]
        numpy.testing.assert_array_equal(round_trip(records["b"]), [1.5, 2.5, 3.5])

    def test_empty_and_zero_dimensional(self):
        self.check(numpy.zeros((0, 3)))
        self.check(numpy.array(4.5))

    def test_masked_arrays_write_r_missing_values(self):
        data, arrays = encode_data(numpy.ma.MaskedArray([1, 2, 3], mask=[False, True, False]))
        self.assertEqual(data.items[0].array.dtype, value_pb2.ELEMENT_TYPE_INT32)
        self.assertTrue(data.items[0].array.na_present)
        self.assertEqual(list(numpy.frombuffer(arrays[0][1], "<i4")), [1, NA_INTEGER, 3])

        data, arrays = encode_data(numpy.ma.MaskedArray([1.5, 2.5], mask=[True, False]))
        self.assertEqual(numpy.frombuffer(arrays[0][1], "<u8")[0], R_NA_REAL_BITS)

        data, arrays = encode_data(numpy.ma.MaskedArray([True, False], mask=[False, True]))
        self.assertEqual(data.items[0].array.dtype, value_pb2.ELEMENT_TYPE_LOGICAL)
        self.assertEqual(list(numpy.frombuffer(arrays[0][1], "<i4")), [1, NA_INTEGER])

        # Integers that do not fit R's integer become doubles.
        data, arrays = encode_data(numpy.ma.MaskedArray([2**40, 0], mask=[False, True]))
        self.assertEqual(data.items[0].array.dtype, value_pb2.ELEMENT_TYPE_FLOAT64)

    def test_strings(self):
        strings = numpy.array(["a", None, "c"], dtype=object)
        back = round_trip(strings)
        self.assertEqual(back.dtype, object)
        self.assertEqual(list(back), ["a", None, "c"])
        matrix = numpy.array([["a", "b", "c"], ["d", None, "f"]], dtype=object)
        data, _ = encode_data(matrix)
        self.assertEqual(list(data.items[0].strings.values), [b"a", b"d", b"b", b"", b"c", b"f"])
        self.assertEqual(list(data.items[0].strings.shape), [2, 3])
        self.assertTrue((round_trip(matrix) == matrix).all())

    def test_list_of_str_is_a_list(self):
        data, _ = encode_data(["a", "b"])
        self.assertEqual(data.items[0].WhichOneof("kind"), "list")

    def test_rarray_keeps_its_attributes(self):
        matrix = RArray.wrap(numpy.arange(6, dtype=numpy.int32).reshape(2, 3, order="F"),
                             dim_names=[["r1", "r2"], None], classes=["table"],
                             attributes={"comment": "hi"})
        back = round_trip(matrix)
        self.assertIsInstance(back, RArray)
        numpy.testing.assert_array_equal(back, matrix)
        self.assertEqual([None if d is None else list(d) for d in back.dim_names],
                         [["r1", "r2"], None])
        self.assertEqual(back.classes, ["table"])
        self.assertEqual(back.attributes, {"comment": "hi"})

    def test_rarray_is_a_view(self):
        array = numpy.arange(4.0)
        wrapped = RArray.wrap(array, names=list("abcd"))
        self.assertTrue(numpy.shares_memory(wrapped, array))
        self.assertEqual((wrapped * 2).names, list("abcd"))  # same shape: kept
        self.assertIsNone(wrapped[1:].names)  # no longer fits: dropped

    def test_datetime64(self):
        days = numpy.array(["2020-01-01", "NaT", "1969-12-31"], dtype="datetime64[D]")
        data, arrays = encode_data(days)
        self.assertEqual(data.items[0].array.temporal, data_pb2.TEMPORAL_DATE)
        self.assertEqual(numpy.frombuffer(arrays[0][1], "<u8")[1], R_NA_REAL_BITS)
        numpy.testing.assert_array_equal(round_trip(days), days)
        seconds = numpy.array(["2017-07-14T02:40:00.5", "NaT"], dtype="datetime64[ms]")
        data, arrays = encode_data(seconds)
        self.assertEqual(data.items[0].array.temporal, data_pb2.TEMPORAL_DATETIME)
        self.assertEqual(numpy.frombuffer(arrays[0][1], "<f8")[0], 1500000000.5)


class CodedStrings(unittest.TestCase):
    """String arrays in dictionary form (CodedStrings): sent by dump where they pay, read by load
    wherever a string array may be."""

    REPEATED = ["a", None, "b\udce9", "a", "b\udce9"] * 4  # 20 elements, 2 distinct, NA

    def coded(self, value, **options):
        data, _ = encode_data(value, **options)
        return data, data.items[0]

    def test_repeated_strings_go_coded_in_order_of_first_appearance(self):
        for without_pandas in (False, True):
            with self.subTest(without_pandas=without_pandas):
                with mock.patch.object(encode, "_pandas", lambda: None if without_pandas else pandas):
                    data, item = self.coded(numpy.array(self.REPEATED, dtype=object))
                self.assertEqual(item.WhichOneof("kind"), "coded_strings")
                self.assertEqual(list(item.coded_strings.values), [b"a", b"b\xe9"])
                self.assertEqual(numpy.frombuffer(item.coded_strings.codes, "<i4").tolist(),
                                 [0, -1, 1, 0, 1] * 4)
                back = decode_data(data_pb2.Data.FromString(data.SerializeToString()), {})[0]
                self.assertEqual(back.tolist(), self.REPEATED)
                # The same items as StringArrays (what an older server gets) read the same.
                self.assertTrue(plain_strings(data))
                self.assertEqual(data.items[0].WhichOneof("kind"), "strings")
                self.assertEqual(list(data.items[0].strings.na), [1, 6, 11, 16])
                self.assertEqual(decode_data(data, {})[0].tolist(), self.REPEATED)

    def test_matrices_masks_bytes_and_nan_go_coded_too(self):
        matrix = numpy.array(self.REPEATED, dtype=object).reshape(4, 5)
        data, item = self.coded(matrix)
        self.assertEqual(list(item.coded_strings.shape), [4, 5])
        self.assertEqual(round_trip(matrix).tolist(), matrix.tolist())
        masked = numpy.ma.MaskedArray(["x", "y"] * 8, mask=[True] + [False] * 15)
        _, item = self.coded(masked)
        self.assertEqual(numpy.frombuffer(item.coded_strings.codes, "<i4").tolist()[:3],
                         [-1, 1, 0])
        mixed = numpy.array([b"\xff", "z", float("nan"), pandas.NA] * 4, dtype=object)
        _, item = self.coded(mixed)
        self.assertEqual(list(item.coded_strings.values), [b"\xff", b"z"])
        self.assertEqual(round_trip(mixed).tolist(), ["\udcff", "z", None, None] * 4)

    def test_distinct_short_or_unasked_strings_stay_plain(self):
        cases = [numpy.array([str(i) for i in range(20)], dtype=object),        # distinct
                 numpy.array(["a"] * 15, dtype=object),                           # short
                 numpy.array(["a", 1] * 10, dtype=object)]                        # not strings
        kinds = [self.coded(value)[1].WhichOneof("kind") for value in cases]
        self.assertEqual(kinds, ["strings", "strings", "list"])
        _, item = self.coded(numpy.array(self.REPEATED, dtype=object), string_codes=False)
        self.assertEqual(item.WhichOneof("kind"), "strings")

    def test_a_data_frame_column_and_names_from_the_server(self):
        builder = DataBuilder()
        codes = numpy.array([1, 0, -1, 1] * 4, "<i4").tobytes()
        column = builder.add(coded_strings=dict(values=[b"lo", b"hi"], codes=codes))
        names = builder.add(coded_strings=dict(values=[b"k"], codes=numpy.zeros(1, "<i4").tobytes()))
        vector = builder.array([1.5], "<f8", value_pb2.ELEMENT_TYPE_FLOAT64)
        builder.data.items[vector].names = names
        frame = builder.add(data_frame=dict(column_names=["s"], columns=[column], row_count=16))
        builder.data.roots.extend([frame, vector])
        loaded, named = decode_data(builder.data, {})
        self.assertEqual(list(loaded["s"]), ["hi", "lo", None, "hi"] * 4)
        self.assertEqual(list(named.index), ["k"])

    def test_bad_codes_from_the_server_are_refused(self):
        for codes, message in ((numpy.array([0, 2], "<i4").tobytes(), "item 0 has a code outside"),
                               (b"\0\0\0", "item 0 has 3 bytes of codes")):
            builder = DataBuilder()
            builder.data.roots.append(builder.add(coded_strings=dict(values=[b"a"], codes=codes)))
            with self.assertRaisesRegex(ValueError, message):
                decode_data(builder.data, {})


class FromServerItems(unittest.TestCase):
    """Items as the server sends them for R objects."""

    def test_logical_with_na_is_masked(self):
        builder = DataBuilder()
        root = builder.array([1, NA_INTEGER, 0], "<i4", value_pb2.ELEMENT_TYPE_LOGICAL,
                             na_present=True)
        value = builder.decode(root)
        self.assertIsInstance(value, numpy.ma.MaskedArray)
        self.assertEqual(value.dtype, numpy.bool_)
        self.assertEqual(list(value.mask), [False, True, False])
        self.assertEqual(value[0], True)
        self.assertEqual(value[2], False)

    def test_int32_with_na_is_masked_without_copy(self):
        builder = DataBuilder()
        root = builder.array([5, NA_INTEGER], "<i4", value_pb2.ELEMENT_TYPE_INT32, na_present=True)
        value = builder.decode(root)
        self.assertIsInstance(value, numpy.ma.MaskedArray)
        self.assertFalse(value.data.flags.owndata)
        self.assertEqual(list(value.mask), [False, True])

    def test_int32_without_na_flag_is_plain(self):
        builder = DataBuilder()
        value = builder.decode(builder.array([NA_INTEGER, 1], "<i4", value_pb2.ELEMENT_TYPE_INT32))
        self.assertNotIsInstance(value, numpy.ma.MaskedArray)

    def test_column_major_matrix(self):
        builder = DataBuilder()
        root = builder.array([1, 2, 3, 4, 5, 6], "<f8", value_pb2.ELEMENT_TYPE_FLOAT64,
                             shape=[2, 3], strides=[1, 2])
        value = builder.decode(root)
        numpy.testing.assert_array_equal(value, [[1, 3, 5], [2, 4, 6]])
        self.assertFalse(value.flags.owndata)

    def test_named_vector_is_a_series(self):
        builder = DataBuilder()
        names = builder.strings(["a", "b"])
        root = builder.array([1.5, 2.5], "<f8", value_pb2.ELEMENT_TYPE_FLOAT64)
        builder.data.items[root].names = names
        value = builder.decode(root)
        self.assertIsInstance(value, pandas.Series)
        self.assertEqual(list(value.index), ["a", "b"])
        back = round_trip(value)
        self.assertEqual(list(back.index), ["a", "b"])

    def test_strings_matrix_is_fortran_ordered(self):
        builder = DataBuilder()
        value = builder.decode(builder.strings(["a", "b", None, "d"], shape=[2, 2]))
        self.assertEqual(value.tolist(), [["a", None], ["b", "d"]])

    def test_list_names(self):
        builder = DataBuilder()
        one, two = builder.add(number=1.0), builder.add(number=2.0)
        for names, expected_type in ((["a", "b"], dict), (["a", "a"], RList), (["a", ""], RList),
                                     (["a", None], RList)):
            names_id = builder.strings(names)
            root = builder.add(list=dict(items=[one, two]))
            builder.data.items[root].names = names_id
            value = builder.decode(root)
            self.assertIs(type(value), expected_type, names)

    def test_classed_named_list_is_an_object(self):
        builder = DataBuilder()
        one = builder.add(number=1.0)
        names_id = builder.strings(["coefficients"])
        root = builder.add(list=dict(items=[one]), classes=["lm"])
        builder.data.items[root].names = names_id
        value = builder.decode(root)
        self.assertIsInstance(value, Object)
        self.assertEqual(value.class_name, "lm")

    def test_factor(self):
        builder = DataBuilder()
        codes = builder.array([2, NA_INTEGER, 1], "<i4", value_pb2.ELEMENT_TYPE_INT32,
                              na_present=True)
        levels = builder.strings(["lo", "hi"])
        root = builder.add(factor=dict(codes=codes, levels=levels, ordered=True),
                           classes=["ordered", "factor"])
        value = builder.decode(root)
        self.assertIsInstance(value, pandas.Categorical)
        self.assertEqual(list(value.astype(object)), ["hi", numpy.nan, "lo"])
        self.assertTrue(value.ordered)
        data, arrays = encode_data(value)
        factor = data.items[0].factor
        self.assertTrue(factor.ordered)
        self.assertEqual(list(numpy.frombuffer(dict(arrays)[factor.codes], "<i4")),
                         [2, NA_INTEGER, 1])

    def test_dates_and_datetimes(self):
        builder = DataBuilder()
        na_real = numpy.array([R_NA_REAL_BITS], "<u8").view("<f8")[0]
        dates = builder.array([18262.0, na_real], "<f8", value_pb2.ELEMENT_TYPE_FLOAT64,
                              temporal=data_pb2.TEMPORAL_DATE, na_present=True)
        builder.data.items[dates].classes.append("Date")
        value = builder.decode(dates)
        self.assertEqual(value.dtype, numpy.dtype("datetime64[D]"))
        self.assertEqual(str(value[0]), "2020-01-01")
        self.assertTrue(numpy.isnat(value[1]))
        moments = builder.array([1.5e9, na_real], "<f8", value_pb2.ELEMENT_TYPE_FLOAT64,
                                temporal=data_pb2.TEMPORAL_DATETIME, timezone="Europe/Paris")
        value = builder.decode(moments)
        self.assertIsInstance(value, pandas.DatetimeIndex)
        self.assertEqual(str(value.tz), "Europe/Paris")
        self.assertEqual(value[0], pandas.Timestamp("2017-07-14 04:40:00", tz="Europe/Paris"))
        self.assertTrue(pandas.isna(value[1]))
        data, arrays = encode_data(value)
        self.assertEqual(data.items[0].array.timezone, "Europe/Paris")
        self.assertEqual(numpy.frombuffer(arrays[0][1], "<f8")[0], 1.5e9)

    def test_data_frame(self):
        builder = DataBuilder()
        ints = builder.array([1, NA_INTEGER], "<i4", value_pb2.ELEMENT_TYPE_INT32, na_present=True)
        logicals = builder.array([1, 0], "<i4", value_pb2.ELEMENT_TYPE_LOGICAL)
        texts = builder.strings(["x", None])
        days = builder.array([0.0, 1.0], "<f8", value_pb2.ELEMENT_TYPE_FLOAT64,
                             temporal=data_pb2.TEMPORAL_DATE)
        rows = builder.strings(["first", "second"])
        root = builder.add(data_frame=dict(column_names=["i", "l", "s", "d"],
                                           columns=[ints, logicals, texts, days], row_count=2,
                                           row_names=rows),
                           classes=["tbl_df", "tbl", "data.frame"])
        frame = builder.decode(root)
        self.assertEqual(list(frame.columns), ["i", "l", "s", "d"])
        self.assertEqual(str(frame["i"].dtype), "Int32")
        self.assertEqual(frame["l"].dtype, numpy.bool_)
        self.assertEqual(list(frame["s"]), ["x", None])
        self.assertEqual(list(frame["d"]), [datetime.date(1970, 1, 1), datetime.date(1970, 1, 2)])
        self.assertEqual(list(frame.index), ["first", "second"])
        self.assertEqual(frame.attrs["r_classes"], ["tbl_df", "tbl", "data.frame"])

        data, arrays = encode_data(frame)
        out = data.items[0]
        self.assertEqual(list(out.classes), ["tbl_df", "tbl", "data.frame"])
        self.assertEqual(list(out.data_frame.column_names), ["i", "l", "s", "d"])
        column = {name: data.items[i] for name, i in zip(out.data_frame.column_names,
                                                         out.data_frame.columns)}
        self.assertEqual(column["i"].array.dtype, value_pb2.ELEMENT_TYPE_INT32)
        self.assertEqual(column["l"].array.dtype, value_pb2.ELEMENT_TYPE_LOGICAL)
        self.assertEqual(column["d"].array.temporal, data_pb2.TEMPORAL_DATE)
        self.assertEqual(column["s"].WhichOneof("kind"), "strings")
        self.assertEqual(data.items[out.data_frame.row_names].WhichOneof("kind"), "strings")

    def test_nullable_pandas_columns_write_r_missing_values(self):
        frame = pandas.DataFrame({
            "int64": pandas.array([1, None, 3], dtype="Int64"),
            "big": pandas.array([2**40, None, 1], dtype="Int64"),
            "flag": pandas.array([True, None, False], dtype="boolean"),
            "text": pandas.array(["a", None, "c"], dtype="string"),
            "float": pandas.array([0.5, None, 2.0], dtype="Float64"),
        })
        data, arrays = encode_data(frame)
        payloads = dict(arrays)
        columns = dict(zip(data.items[0].data_frame.column_names, data.items[0].data_frame.columns))
        self.assertEqual(data.items[columns["int64"]].array.dtype, value_pb2.ELEMENT_TYPE_INT32)
        self.assertEqual(list(numpy.frombuffer(payloads[columns["int64"]], "<i4")),
                         [1, NA_INTEGER, 3])
        self.assertEqual(data.items[columns["big"]].array.dtype, value_pb2.ELEMENT_TYPE_FLOAT64)
        self.assertEqual(numpy.frombuffer(payloads[columns["big"]], "<u8")[1], R_NA_REAL_BITS)
        self.assertEqual(list(numpy.frombuffer(payloads[columns["flag"]], "<i4")),
                         [1, NA_INTEGER, 0])
        self.assertEqual(numpy.frombuffer(payloads[columns["float"]], "<u8")[1], R_NA_REAL_BITS)
        text = data.items[columns["text"]].strings
        self.assertEqual((list(text.values), list(text.na)), ([b"a", b"", b"c"], [1]))

    def test_complex_values(self):
        numpy.testing.assert_array_equal(round_trip(1 + 2j), [1 + 2j])
        back = round_trip(numpy.array([1 + 2j], dtype="<c8"))
        self.assertEqual(back.dtype, numpy.complex128)

    def test_default_index_is_automatic_row_names(self):
        data, _ = encode_data(pandas.DataFrame({"a": [1.0, 2.0]}))
        self.assertFalse(data.items[0].data_frame.HasField("row_names"))
        data, _ = encode_data(pandas.DataFrame({"a": [1.0, 2.0]}, index=[5, 7]))
        self.assertTrue(data.items[0].data_frame.HasField("row_names"))

    def test_opaque(self):
        builder = DataBuilder()
        value = builder.decode(builder.add(opaque=dict(type="environment", description="<env>")))
        self.assertEqual(value, Opaque("environment", "<env>"))
        self.assertIn("environment", repr(value))


class Wire(unittest.TestCase):
    def test_array_chunk_encoding(self):
        payload = memoryview(numpy.arange(1000, dtype=numpy.uint8))
        raw = _wire.encode_array_chunk(7, 300, payload[300:900])
        message = serializer_pb2.SerializeStreamRequest.FromString(raw)
        self.assertEqual(message.array_chunk.node, 7)
        self.assertEqual(message.array_chunk.offset, 300)
        self.assertEqual(message.array_chunk.data, payload[300:900].tobytes())

    def test_parse_array_chunk(self):
        message = serializer_pb2.DeserializeStreamResponse(
            array_chunk=serializer_pb2.ArrayChunk(node=3, offset=2**33, data=b"abc"))
        node, offset, data = _wire.parse_array_chunk(message.SerializeToString())
        self.assertEqual((node, offset, bytes(data)), (3, 2**33, b"abc"))
        header = serializer_pb2.DeserializeStreamResponse(
            header=serializer_pb2.DeserializeStreamHeader(streamed_arrays=[1]))
        self.assertIsNone(_wire.parse_array_chunk(header.SerializeToString()))

    def test_data_array_spans(self):
        data, arrays = encode_data({"a": numpy.arange(5.0), "b": "x", "c": numpy.arange(3)})
        for item_id, payload in arrays:
            data.items[item_id].array.data = payload.tobytes()
        raw = serializer_pb2.DeserializeResponse(data=data, format=1).SerializeToString()
        array_ids = {item_id for item_id, _ in arrays}
        spans = _wire.data_array_spans(raw, _wire.DESERIALIZE_RESPONSE_DATA_FIELD, array_ids)
        self.assertEqual(set(spans), array_ids)
        for item_id, (start, end) in spans.items():
            self.assertEqual(raw[start:end], data.items[item_id].array.data)
        first = min(array_ids)
        self.assertEqual(list(_wire.data_array_spans(
            raw, _wire.DESERIALIZE_RESPONSE_DATA_FIELD, {first})), [first])
        with self.assertRaises(_wire.WireError):
            _wire.data_array_spans(raw[:-3], _wire.DESERIALIZE_RESPONSE_DATA_FIELD, array_ids)


class Package(unittest.TestCase):
    def test_generated_modules_do_not_claim_top_level_names(self):
        for name in ("seriald", "google.rpc", "grpc.health", "grpc_health"):
            self.assertNotIn(name, sys.modules)

    @unittest.skipUnless(os.environ.get("SERIALD_EXPECT_INSTALLED"),
                         "checks an installed package (the ctest run installs one)")
    def test_installed_package_holds_its_stubs(self):
        from pyseriald import _proto
        package_dir = os.path.dirname(pyseriald.__file__)
        self.assertIn("site-packages", package_dir)
        self.assertEqual(list(_proto.__path__), [os.path.join(package_dir, "_proto")])
        self.assertTrue(os.path.isfile(os.path.join(package_dir, "_proto", "serializer_pb2.py")))

    def test_exports(self):
        for name in ("SerialdClient", "SerialdError", "Object", "RList", "RArray", "Opaque",
                     "Pairs"):
            self.assertTrue(hasattr(pyseriald, name), name)


if __name__ == "__main__":
    unittest.main()

"""pyseriald against R itself: R builds objects and writes them (saveRDS) together with a
description of their values; Python loads each file and must find R's values in the mapped form
(pandas DataFrame, Series, Categorical, numpy arrays, ...); then Python dumps each value back to
.rds and R must find it identical() to the original. Opaque objects (a closure, an environment)
must be refused with a clear error instead.

The description R writes (describe() below) is one line per fact, tab-separated:
    H path typeof class length        a value (path "name", "name/1" for a list's first element)
    V path i element                  element i in R's storage order
    N path i name                     names(x)[i]
    D path d1,d2,...                  dim(x)
    C path i,j,... element            x[i, j, ...] as R indexes it (the matrix oracle)
    M path dimension i name           dimnames(x)[[dimension]][i]
    L path i level                    levels(x)[i]
    T path tzone                      attr(x, "tzone"), or "-" when there is none
    R path automatic|explicit         a data frame's row names, then
    W path i element                  its explicit row names
Elements: doubles as C99 hex floats ("%a"), NA, NaN, Inf, -Inf; integers as decimal or NA;
logicals TRUE/FALSE/NA; strings as S + UTF-8 hex bytes, or NA; complex as two doubles.

    python3 -m unittest pyseriald_r_test
"""
import datetime
import math
import os
import shutil
import tempfile
import unittest

import numpy
import pandas

from pyseriald import Object, Opaque, RArray, RList
import seriald_testing

R_NA_REAL_BITS = 0x7FF00000000007A2

R_OBJECTS = r'''
objects <- list(
  int_vec = c(1L, -2L, 2147483647L),
  int_na = c(1L, NA, 3L),
  dbl_vec = c(1.5, -0, 1e300, 2^-1074, Inf, -Inf, 0.1),
  dbl_na_nan = c(1, NA, NaN, 2),
  dbl_scalar = 3.25,
  lgl = c(TRUE, FALSE, TRUE),
  lgl_na = c(TRUE, NA, FALSE),
  chr = c("a", "\u00e9t\u00e9", "", "\u65e5\u672c"),
  chr_na = c("x", NA, "z"),
  chr_scalar = "hello",
  named_dbl = c(a = 1, b = 2, c = NA),
  named_int = c(x = 1L, y = NA),
  named_chr = c(first = "a", second = NA),
  named_lgl = c(p = TRUE, q = FALSE),
  factor = factor(c("lo", "hi", NA, "lo"), levels = c("lo", "hi")),
  ordered = factor(c("S", "L", NA), levels = c("S", "M", "L"), ordered = TRUE),
  date = as.Date(c("2020-01-01", NA, "1969-12-31")),
  posixct_utc = structure(c(0, 1500000000.5, NA), class = c("POSIXct", "POSIXt"), tzone = "UTC"),
  posixct_no_tzone = structure(c(86400, NA, -1), class = c("POSIXct", "POSIXt")),
  int_matrix = matrix(1:6, nrow = 2),
  dbl_matrix_dimnames = matrix(c(1.5, 2, 3, NA), 2, dimnames = list(c("r1", "r2"), c("A", "B"))),
  named_dimnames = matrix(1:4, 2, dimnames = list(rows = c("a", "b"), cols = c("x", "y"))),
  array_3d = array(as.numeric(1:24), dim = c(2, 3, 4)),
  chr_matrix = matrix(c("a", "b", NA, "d"), 2),
  lgl_matrix = matrix(c(TRUE, NA, FALSE, TRUE), 2),
  named_list = list(a = 1, b = "two", c = TRUE),
  nested_list = list(x = list(y = list(z = 1:3)), w = list(1, "a")),
  unnamed_list = list(1, "a", NULL, c(TRUE, FALSE)),
  partly_named_list = list(a = 1, 2),
  s3_object = structure(list(coef = c(0.5, 2), label = "fit"), class = "myfit"),
  attributed_vector = structure(1:3, note = "kept"),
  data_frame = data.frame(
    int = c(1L, NA, 3L), dbl = c(1.5, NA, NaN), lgl = c(TRUE, NA, FALSE),
    chr = c("a", NA, "c"), fct = factor(c("u", NA, "v")),
    date = as.Date(c("2020-02-29", NA, "1970-01-01")), stringsAsFactors = FALSE),
  data_frame_plain = data.frame(flag = c(TRUE, FALSE), n = c(10L, 20L), stringsAsFactors = FALSE),
  data_frame_row_names = data.frame(x = c(1, 2), row.names = c("alpha", "beta")),
  data_frame_int_row_names = data.frame(x = 1:3)[2:3, , drop = FALSE],
  data_frame_posixct = data.frame(
    t = structure(c(0, 60, NA), class = c("POSIXct", "POSIXt"), tzone = "UTC")),
  tibble = structure(data.frame(a = 1:2, b = c("x", "y"), stringsAsFactors = FALSE),
                     class = c("tbl_df", "tbl", "data.frame")),
  empty_data_frame = data.frame(),
  zero_row_data_frame = data.frame(a = integer(0), b = character(0)),
  chr_repeated = rep(c("a", NA, "\u00e9t\u00e9", "a"), 8),
  chr_matrix_repeated = matrix(rep(c("x", "y", NA, "x"), 5), 4),
  named_chr_repeated = setNames(rep(c("u", "v"), 9), paste0("n", 1:18)),
  data_frame_repeated = data.frame(s = rep(c("lo", "hi", NA), 7), n = 1:21,
                                   row.names = paste0("r", 1:21), stringsAsFactors = FALSE),
  raw = as.raw(c(0, 255, 10)),
  complex = complex(real = c(1, -2.5), imaginary = c(0.5, 3)),
  null = NULL,
  closure = function(x) x + 1,
  environment = new.env()
)

enc_chr <- function(s) {
  if (is.na(s)) "NA" else paste0("S", paste(as.character(charToRaw(enc2utf8(s))), collapse = ""))
}
enc_dbl <- function(x) {
  if (is.nan(x)) "NaN" else if (is.na(x)) "NA" else if (is.infinite(x)) {
    if (x > 0) "Inf" else "-Inf"
  } else sprintf("%a", x)
}
enc <- function(x) {
  switch(typeof(x),
         double = enc_dbl(x),
         integer = if (is.na(x)) "NA" else as.character(x),
         logical = if (is.na(x)) "NA" else if (x) "TRUE" else "FALSE",
         character = enc_chr(x),
         complex = paste(enc_dbl(Re(x)), enc_dbl(Im(x))),
         raw = as.character(as.integer(x)))
}
line <- function(...) cat(paste(..., sep = "\t"), "\n", sep = "")

describe <- function(path, x) {
  line("H", path, typeof(x), paste(class(x), collapse = ","), length(x))
  if (is.data.frame(x)) {
    line("R", path, if (.row_names_info(x, type = 1L) < 0) "automatic" else "explicit")
    if (.row_names_info(x, type = 1L) >= 0) {
      row_names <- attr(x, "row.names")
      for (i in seq_along(row_names)) line("W", path, i, enc(row_names[i]))
    }
  }
  if (is.atomic(x)) {
    values <- unclass(x)
    attributes(values) <- NULL
    for (i in seq_along(values)) line("V", path, i, enc(values[i]))
  }
  if (!is.null(names(x)))
    for (i in seq_along(names(x))) line("N", path, i, enc_chr(names(x)[i]))
  if (!is.null(dim(x)) && !is.data.frame(x)) {
    line("D", path, paste(dim(x), collapse = ","))
    for (k in seq_len(length(x))) {
      index <- arrayInd(k, dim(x))
      line("C", path, paste(index, collapse = ","), enc(unclass(x)[index]))
    }
    for (d in seq_along(dimnames(x))) {
      labels <- dimnames(x)[[d]]
      for (i in seq_along(labels)) line("M", path, d, i, enc_chr(labels[i]))
    }
  }
  if (is.factor(x)) for (i in seq_along(levels(x))) line("L", path, i, enc_chr(levels(x)[i]))
  if (inherits(x, "POSIXct")) line("T", path, if (is.null(attr(x, "tzone"))) "-" else attr(x, "tzone"))
  if (is.list(x)) for (i in seq_along(x)) describe(paste0(path, "/", i), x[[i]])
}

for (name in names(objects)) {
  saveRDS(objects[[name]], paste0(name, ".rds"))
  if (!is.function(objects[[name]]) && !is.environment(objects[[name]])) describe(name, objects[[name]])
}
'''

R_IDENTICAL = r'''
for (file in sort(list.files(pattern = "\\.py\\.rds$"))) {
  name <- sub("\\.py\\.rds$", "", file)
  original <- readRDS(paste0(name, ".rds"))
  written <- readRDS(file)
  same <- identical(original, written)
  cat("IDENTICAL", name, same, "\n")
  if (!same) {
    cat("original:\n"); dput(original); str(attributes(original))
    cat("from python:\n"); dput(written); str(attributes(written))
  }
}
'''


class Description:
    """What R said about one value (see the module docstring)."""

    def __init__(self):
        self.type = None
        self.classes = []
        self.length = 0
        self.values = []
        self.names = None
        self.dim = None
        self.cells = {}
        self.dim_names = {}
        self.levels = []
        self.timezone = None
        self.automatic_row_names = None
        self.row_names = []


def decode_element(kind, text):
    """An R element as Python: None for NA, math.nan for NaN."""
    if text == "NA":
        return None
    if kind == "double":
        return {"NaN": math.nan, "Inf": math.inf, "-Inf": -math.inf}.get(text) or float.fromhex(text) \
            if text not in ("0x0p+0", "-0x0p+0") else float.fromhex(text)
    if kind in ("integer", "raw"):
        return int(text)
    if kind == "logical":
        return text == "TRUE"
    if kind == "character":
        return bytes.fromhex(text[1:]).decode("utf-8")
    if kind == "complex":
        real, imaginary = text.split(" ")
        return complex(decode_element("double", real), decode_element("double", imaginary))
    raise ValueError("unknown R type %s" % kind)


def parse_descriptions(text):
    descriptions = {}
    for row in text.splitlines():
        fields = row.split("\t")
        tag, path = fields[0], fields[1] if len(fields) > 1 else None
        if tag == "H":
            description = descriptions[path] = Description()
            description.type, classes, length = fields[2], fields[3], fields[4]
            description.classes = classes.split(",")
            description.length = int(length)
            continue
        if tag not in "VNDCMLTRW" or path not in descriptions:
            continue
        description = descriptions[path]
        kind = description.type
        if tag == "V":
            description.values.append(decode_element(kind, fields[3]))
        elif tag == "N":
            description.names = (description.names or []) + [decode_element("character", fields[3])]
        elif tag == "D":
            description.dim = [int(n) for n in fields[2].split(",")]
        elif tag == "C":
            index = tuple(int(i) - 1 for i in fields[2].split(","))
            description.cells[index] = decode_element(kind, fields[3])
        elif tag == "M":
            description.dim_names.setdefault(int(fields[2]) - 1, []).append(
                decode_element("character", fields[4]))
        elif tag == "L":
            description.levels.append(decode_element("character", fields[3]))
        elif tag == "T":
            description.timezone = None if fields[2] == "-" else fields[2]
        elif tag == "R":
            description.automatic_row_names = fields[2] == "automatic"
        elif tag == "W":
            text = fields[3]
            description.row_names.append(
                decode_element("character" if text.startswith("S") else "integer", text))
    return descriptions


def is_r_na_real(value):
    return numpy.array([value], dtype="<f8").view("<u8")[0] == R_NA_REAL_BITS


def python_doubles(values):
    """float64 values -> R-comparable elements: None for NA_real_ (by its bits), NaN stays NaN."""
    return [None if is_r_na_real(v) else float(v) for v in numpy.asarray(values, dtype="<f8")]


def python_masked(values):
    """A MaskedArray, pandas nullable array or plain array -> elements with None where missing."""
    if isinstance(values, numpy.ma.MaskedArray):
        return [None if masked else item.item()
                for item, masked in zip(values.data, numpy.ma.getmaskarray(values))]
    if isinstance(values, (pandas.Series, pandas.api.extensions.ExtensionArray)):
        return [None if value is pandas.NA else (value.item() if hasattr(value, "item") else value)
                for value in list(values)]
    return [value.item() if hasattr(value, "item") else value for value in numpy.asarray(values)]


def days_since_epoch(values):
    """datetime64[D] values or datetime.date objects -> days (None for NaT/None)."""
    result = []
    for value in values:
        if value is None or (isinstance(value, numpy.datetime64) and numpy.isnat(value)):
            result.append(None)
        elif isinstance(value, numpy.datetime64):
            result.append(int(value.astype("datetime64[D]").astype(numpy.int64)))
        else:
            result.append((value - datetime.date(1970, 1, 1)).days)
    return result


def seconds_since_epoch(index):
    """DatetimeIndex / datetime64[ns] values -> seconds since the epoch (None for NaT)."""
    nanoseconds = numpy.asarray(pandas.DatetimeIndex(index).asi8)
    missing = pandas.DatetimeIndex(index).isna()
    return [None if gone else int(ns) / 1e9 for ns, gone in zip(nanoseconds, missing)]


class AgainstR(unittest.TestCase):
    """One R run writes every object and its description; Python checks and dumps them; a
    second R run compares what Python wrote with the originals."""

    @classmethod
    def setUpClass(cls):
        if shutil.which(seriald_testing.rscript()) is None:
            raise unittest.SkipTest("Rscript is not installed")
        cls.directory = tempfile.mkdtemp(prefix="pyseriald-r-")
        cls.server = seriald_testing.Server()
        import pyseriald
        cls.client = pyseriald.SerialdClient(cls.server.address, timeout=120)
        cls.r = parse_descriptions(seriald_testing.run_rscript(R_OBJECTS, cls.directory))
        cls.loaded = {}
        for file in sorted(os.listdir(cls.directory)):
            if file.endswith(".rds") and not file.startswith("control_"):
                cls.loaded[file[:-len(".rds")]] = cls.client.load(os.path.join(cls.directory, file))
        cls.dump_errors = {}
        for name, value in cls.loaded.items():
            try:
                cls.client.dump(value, "rds", path=os.path.join(cls.directory, name + ".py.rds"))
            except Exception as error:  # checked by the tests: only opaque values may fail
                cls.dump_errors[name] = error
        # Negative controls: values Python changed must not pass as identical.
        changed = cls.loaded["int_vec"].copy()
        changed[-1] -= 1
        na_as_nan = cls.loaded["dbl_na_nan"].copy()
        na_as_nan[1] = float("nan")  # R's NA_real_ is a NaN with its own bits
        for name, original, value in (("control_changed_value", "int_vec", changed),
                                      ("control_na_became_nan", "dbl_na_nan", na_as_nan)):
            shutil.copy(os.path.join(cls.directory, original + ".rds"),
                        os.path.join(cls.directory, name + ".rds"))
            cls.client.dump(value, "rds", path=os.path.join(cls.directory, name + ".py.rds"))
        cls.identical = {}
        cls.identical_log = seriald_testing.run_rscript(R_IDENTICAL, cls.directory)
        for row in cls.identical_log.splitlines():
            if row.startswith("IDENTICAL "):
                _, name, same = row.split()
                cls.identical[name] = same == "TRUE"

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.server.stop()
        shutil.rmtree(cls.directory)

    # -- the round trip through Python ------------------------------------------------------------

    def test_at_least_thirty_objects(self):
        self.assertGreaterEqual(len(self.loaded), 40)

    def test_everything_but_opaque_values_is_identical_after_python(self):
        opaque = {"closure", "environment"}
        self.assertEqual({name: repr(error) for name, error in self.dump_errors.items()
                          if name not in opaque}, {})
        controls = {"control_changed_value", "control_na_became_nan"}
        self.assertEqual(set(self.identical) - controls, set(self.loaded) - opaque - controls)
        different = sorted(name for name, same in self.identical.items() if not same)
        self.assertEqual(different, sorted(controls), self.identical_log)

    def test_opaque_values_load_as_opaque_and_refuse_to_dump(self):
        for name, kind in (("closure", "closure"), ("environment", "environment")):
            value = self.loaded[name]
            self.assertIsInstance(value, Opaque)
            self.assertEqual(value.type, kind)
            error = self.dump_errors[name]
            self.assertIsInstance(error, ValueError)
            self.assertIn("obj", str(error))
            self.assertIn(kind, str(error))
        with self.assertRaises(ValueError) as raised:
            self.client.dump({"model": [1, 2, self.loaded["environment"]]}, "rds")
        self.assertIn("obj['model'][2]", str(raised.exception))

    # -- values as R has them -----------------------------------------------------------------------

    def plain(self, name, dtype):
        value = self.loaded[name]
        self.assertIs(type(value), numpy.ndarray, name)
        self.assertEqual(value.dtype, numpy.dtype(dtype), name)
        return value

    def test_vectors(self):
        self.assertEqual(self.plain("int_vec", "<i4").tolist(), self.r["int_vec"].values)
        self.assertEqual(self.plain("lgl", "bool").tolist(), self.r["lgl"].values)
        self.assertEqual(self.plain("dbl_scalar", "<f8").tolist(), [3.25])
        for name in ("dbl_vec", "dbl_na_nan"):
            got, expected = python_doubles(self.plain(name, "<f8")), self.r[name].values
            self.assertEqual(len(got), len(expected))
            for g, e in zip(got, expected):
                if e is None or g is None:
                    self.assertIs(g, e, name)  # NA_real_ stays NA, apart from NaN
                elif math.isnan(e):
                    self.assertTrue(math.isnan(g), name)
                else:
                    self.assertEqual((g, math.copysign(1, g)), (e, math.copysign(1, e)), name)
        self.assertEqual(self.plain("chr", "O").tolist(), self.r["chr"].values)
        self.assertEqual(self.plain("chr_na", "O").tolist(), self.r["chr_na"].values)
        self.assertEqual(self.plain("chr_scalar", "O").tolist(), ["hello"])
        self.assertEqual(self.loaded["raw"], bytes(self.r["raw"].values))
        self.assertEqual(self.plain("complex", "<c16").tolist(), self.r["complex"].values)
        self.assertIsNone(self.loaded["null"])

    def test_integer_and_logical_na_are_masked(self):
        for name, dtype in (("int_na", "<i4"), ("lgl_na", "bool")):
            value = self.loaded[name]
            self.assertIsInstance(value, numpy.ma.MaskedArray, name)
            self.assertEqual(value.dtype, numpy.dtype(dtype))
            self.assertEqual(python_masked(value), self.r[name].values, name)
        self.assertFalse(self.loaded["int_na"].data.flags.owndata)  # a view, not a copy

    def test_named_vectors_are_series(self):
        for name, dtype in (("named_dbl", "float64"), ("named_int", "Int32"),
                            ("named_chr", "object"), ("named_lgl", "bool")):
            value = self.loaded[name]
            self.assertIsInstance(value, pandas.Series, name)
            self.assertEqual(str(value.dtype), dtype, name)
            self.assertEqual(list(value.index), self.r[name].names, name)
            expected = self.r[name].values
            got = python_doubles(value.to_numpy()) if dtype == "float64" else python_masked(value)
            self.assertEqual(got, expected, name)

    def test_factors_are_categoricals(self):
        for name, ordered in (("factor", False), ("ordered", True)):
            value = self.loaded[name]
            self.assertIsInstance(value, pandas.Categorical, name)
            self.assertEqual(value.ordered, ordered)
            self.assertEqual(list(value.categories), self.r[name].levels)
            codes = [None if code == -1 else code + 1 for code in value.codes]
            self.assertEqual(codes, self.r[name].values)

    def test_dates(self):
        value = self.loaded["date"]
        self.assertEqual(value.dtype, numpy.dtype("datetime64[D]"))
        self.assertEqual(days_since_epoch(value), self.r["date"].values)

    def test_datetimes(self):
        utc = self.loaded["posixct_utc"]
        self.assertIsInstance(utc, pandas.DatetimeIndex)
        self.assertEqual(str(utc.tz), self.r["posixct_utc"].timezone)
        self.assertEqual(seconds_since_epoch(utc), self.r["posixct_utc"].values)
        naive = self.loaded["posixct_no_tzone"]
        self.assertIsInstance(naive, pandas.DatetimeIndex)
        self.assertIsNone(naive.tz)
        self.assertIsNone(self.r["posixct_no_tzone"].timezone)
        self.assertEqual(seconds_since_epoch(naive), self.r["posixct_no_tzone"].values)

    def check_cells(self, name, value, convert=lambda v: v):
        description = self.r[name]
        self.assertEqual(list(value.shape), description.dim, name)
        self.assertEqual(len(description.cells), numpy.prod(description.dim))
        for index, expected in description.cells.items():
            self.assertEqual(convert(value[index]), expected, "%s%s" % (name, list(index)))

    def test_matrices_index_like_r(self):
        value = self.plain("int_matrix", "<i4")
        self.check_cells("int_matrix", value, int)
        self.assertFalse(value.flags.owndata)
        self.assertEqual(value.strides, (4, 8))  # column-major, as R stores it: no copy
        array = self.plain("array_3d", "<f8")
        self.check_cells("array_3d", array, float)
        self.check_cells("chr_matrix", self.plain("chr_matrix", "O"))
        logical = self.loaded["lgl_matrix"]
        self.assertIsInstance(logical, numpy.ma.MaskedArray)
        self.check_cells("lgl_matrix", logical,
                         lambda v: None if v is numpy.ma.masked else bool(v))

    def test_dimnames_make_an_rarray(self):
        value = self.loaded["dbl_matrix_dimnames"]
        self.assertIsInstance(value, RArray)
        self.check_cells("dbl_matrix_dimnames", value,
                         lambda v: None if is_r_na_real(v) else float(v))
        dim_names = self.r["dbl_matrix_dimnames"].dim_names
        self.assertEqual([list(labels) for labels in value.dim_names], [dim_names[0], dim_names[1]])
        named = self.loaded["named_dimnames"]
        self.assertIsInstance(named.dim_names, dict)
        self.assertEqual(list(named.dim_names), ["rows", "cols"])
        self.assertEqual(list(named.dim_names["cols"]), self.r["named_dimnames"].dim_names[1])
        self.check_cells("named_dimnames", named, int)

    def test_lists(self):
        named = self.loaded["named_list"]
        self.assertIs(type(named), dict)
        self.assertEqual(list(named), self.r["named_list"].names)
        self.assertEqual(named["b"].tolist(), self.r["named_list/2"].values)
        nested = self.loaded["nested_list"]
        self.assertEqual(nested["x"]["y"]["z"].tolist(), self.r["nested_list/1/1/1"].values)
        self.assertEqual(nested["w"][1].tolist(), self.r["nested_list/2/2"].values)
        unnamed = self.loaded["unnamed_list"]
        self.assertIs(type(unnamed), list)
        self.assertEqual(len(unnamed), self.r["unnamed_list"].length)
        self.assertIsNone(unnamed[2])
        self.assertEqual(unnamed[3].tolist(), self.r["unnamed_list/4"].values)
        partly = self.loaded["partly_named_list"]
        self.assertIsInstance(partly, RList)
        self.assertEqual(partly.names, self.r["partly_named_list"].names)

    def test_classed_list_is_an_object(self):
        value = self.loaded["s3_object"]
        self.assertIsInstance(value, Object)
        self.assertEqual(value.classes, self.r["s3_object"].classes)
        self.assertEqual(list(value), self.r["s3_object"].names)
        self.assertEqual(value["coef"].tolist(), self.r["s3_object/1"].values)

    def test_other_attributes_make_an_rarray(self):
        value = self.loaded["attributed_vector"]
        self.assertIsInstance(value, RArray)
        self.assertEqual(value.tolist(), self.r["attributed_vector"].values)
        self.assertEqual(list(value.attributes["note"]), ["kept"])

    def test_data_frame_columns(self):
        frame = self.loaded["data_frame"]
        self.assertIsInstance(frame, pandas.DataFrame)
        r = self.r
        self.assertEqual(list(frame.columns), r["data_frame"].names)
        self.assertEqual(frame.index.tolist(), [0, 1, 2])  # automatic row names
        self.assertTrue(r["data_frame"].automatic_row_names)
        self.assertEqual(str(frame["int"].dtype), "Int32")
        self.assertEqual(python_masked(frame["int"]), r["data_frame/1"].values)
        got = python_doubles(frame["dbl"].to_numpy())
        self.assertEqual(got[:2], r["data_frame/2"].values[:2])
        self.assertTrue(math.isnan(got[2]) and math.isnan(r["data_frame/2"].values[2]))
        self.assertEqual(str(frame["lgl"].dtype), "boolean")
        self.assertEqual(python_masked(frame["lgl"]), r["data_frame/3"].values)
        self.assertEqual(frame["chr"].dtype, object)
        self.assertEqual(list(frame["chr"]), r["data_frame/4"].values)
        self.assertEqual(str(frame["fct"].dtype), "category")
        self.assertEqual(list(frame["fct"].cat.categories), r["data_frame/5"].levels)
        self.assertEqual([None if c == -1 else c + 1 for c in frame["fct"].cat.codes],
                         r["data_frame/5"].values)
        self.assertEqual(frame["date"].dtype, object)
        self.assertEqual(days_since_epoch(frame["date"]), r["data_frame/6"].values)
        self.assertIsInstance(frame["date"][0], datetime.date)

        plain = self.loaded["data_frame_plain"]
        self.assertEqual(plain["flag"].dtype, numpy.bool_)
        self.assertEqual(plain["flag"].tolist(), r["data_frame_plain/1"].values)
        self.assertEqual(plain["n"].dtype, numpy.int32)

        moments = self.loaded["data_frame_posixct"]["t"]
        self.assertEqual(str(moments.dtype), "datetime64[ns, UTC]")
        self.assertEqual(seconds_since_epoch(moments), r["data_frame_posixct/1"].values)

    def test_repeated_strings(self):
        # Sixteen elements or more, at most half distinct: they come (and go back, in the round
        # trip above) in dictionary form; names and row names are distinct and come plain.
        r = self.r
        self.assertEqual(self.plain("chr_repeated", "O").tolist(), r["chr_repeated"].values)
        matrix = self.loaded["chr_matrix_repeated"]
        self.assertEqual(matrix.shape, (4, 5))
        self.assertEqual(matrix.reshape(-1, order="F").tolist(), r["chr_matrix_repeated"].values)
        named = self.loaded["named_chr_repeated"]
        self.assertEqual(named.tolist(), r["named_chr_repeated"].values)
        self.assertEqual(named.index.tolist(), r["named_chr_repeated"].names)
        frame = self.loaded["data_frame_repeated"]
        self.assertEqual(list(frame["s"]), r["data_frame_repeated/1"].values)
        self.assertEqual(frame.index.tolist(), r["data_frame_repeated"].row_names)

    def test_row_names(self):
        frame = self.loaded["data_frame_row_names"]
        self.assertFalse(self.r["data_frame_row_names"].automatic_row_names)
        self.assertEqual(frame.index.tolist(), self.r["data_frame_row_names"].row_names)
        numbered = self.loaded["data_frame_int_row_names"]
        self.assertEqual(numbered.index.tolist(), self.r["data_frame_int_row_names"].row_names)

    def test_tibble_classes_are_kept(self):
        frame = self.loaded["tibble"]
        self.assertIsInstance(frame, pandas.DataFrame)
        self.assertEqual(frame.attrs["r_classes"], self.r["tibble"].classes)
        self.assertEqual(frame["b"].tolist(), self.r["tibble/2"].values)

    def test_empty_data_frames(self):
        empty = self.loaded["empty_data_frame"]
        self.assertEqual(empty.shape, (0, 0))
        zero_rows = self.loaded["zero_row_data_frame"]
        self.assertEqual(zero_rows.shape, (0, 2))
        self.assertEqual(list(zero_rows.columns), self.r["zero_row_data_frame"].names)


if __name__ == "__main__":
    unittest.main()

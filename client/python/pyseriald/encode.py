"""Native Python values -> seriald.v1.Data (plain data for the server to write).

The reverse of decode.py: None, bool, int, float, str, bytes, list/tuple, dict, numpy arrays,
pandas DataFrame/Series/Categorical/DatetimeIndex and pyseriald's Object, RList, RArray and Pairs
become Data items. Array data is not put into the message here: every array's bytes are returned
as a memoryview of the array's own memory (its elements, with the array's strides, including
negative ones), so the client can send them inline or in ArrayChunk messages without copying them
first. Values that have no mapping (a set, an Opaque) raise TypeError or ValueError naming where
they are, e.g. obj['model'][2]. An Opaque is written only as an R persistent reference: one of
type "persistent reference" with names (as loading gives it), or an environment, external pointer
or weak reference that `refhook` names, as R's serialize(refhook =) writes them.

Nothing here recurses: values are visited with an explicit stack, and containers and arrays are
remembered by identity, so shared objects are written once and cycles stay cycles.

Example:

    data, arrays = encode_data(obj)    # arrays: [(item id, memoryview of its bytes), ...]
    for item_id, payload in arrays:
        data.items[item_id].array.data = bytes(payload)
"""
import datetime
import sys

import numpy

from ._proto import data_pb2, value_pb2
from .decode import PERSISTENT_REFERENCE, R_NA_INTEGER
from .objects import Object, Opaque, Pairs, RArray, RList

# numpy dtype (little-endian) -> element type.
ELEMENT_TYPES = {
    numpy.dtype("u1"): value_pb2.ELEMENT_TYPE_UINT8,
    numpy.dtype("i1"): value_pb2.ELEMENT_TYPE_INT8,
    numpy.dtype("<i2"): value_pb2.ELEMENT_TYPE_INT16,
    numpy.dtype("<i4"): value_pb2.ELEMENT_TYPE_INT32,
    numpy.dtype("<i8"): value_pb2.ELEMENT_TYPE_INT64,
    numpy.dtype("<f2"): value_pb2.ELEMENT_TYPE_FLOAT16,
    numpy.dtype("<f4"): value_pb2.ELEMENT_TYPE_FLOAT32,
    numpy.dtype("<f8"): value_pb2.ELEMENT_TYPE_FLOAT64,
    numpy.dtype("<c16"): value_pb2.ELEMENT_TYPE_COMPLEX128,
}
# Types with no element type of their own, widened (a copy) to one that holds every value.
WIDENED = {
    numpy.dtype("<u2"): numpy.dtype("<i4"),
    numpy.dtype("<u4"): numpy.dtype("<i8"),
    numpy.dtype("<c8"): numpy.dtype("<c16"),
}
# R's NA_real_: a NaN whose low word is 1954.
R_NA_REAL_BITS = 0x7FF00000000007A2
INT64_MIN, INT64_MAX = -2**63, 2**63 - 1
# Seconds per unit of numpy datetime64 units that are a fixed number of seconds.
SECONDS_PER_UNIT = {"s": 1, "m": 60, "h": 3600, "D": 86400}
UNITS_PER_SECOND = {"ms": 10**3, "us": 10**6, "ns": 10**9, "ps": 10**12, "fs": 10**15,
                    "as": 10**18}
# The Opaque types R's serialize asks its refhook about.
REFHOOK_TYPES = frozenset(("environment", "externalptr", "weakref"))
# Descriptions of the environments R names by markers of their own, never asking its refhook
# (the global, base and empty environments; namespaces and package environments start
# "namespace:" and "package:").
SPECIAL_ENVIRONMENTS = frozenset(("R_GlobalEnv", "base", "R_EmptyEnv"))


def encode_data(obj, roots=None, refhook=None, string_codes=True):
    """(Data message, [(array item id, memoryview of its little-endian bytes), ...]) for `obj`
    (or for each value of `roots`, several top-level objects). Array data is left out of the
    message: the caller puts each payload inline or streams it. With `string_codes`, string
    arrays whose elements repeat go in dictionary form (CodedStrings; see _coded_strings).

    `refhook`, when given, is called with each Opaque environment, external pointer and weak
    reference (at each place it occurs), as R's serialize(refhook =) calls its hook: a list of
    str (or one str) writes a persistent reference with those names in its place; None leaves
    the Opaque, which is refused."""
    encoder = _Encoder(refhook, string_codes)
    values = [obj] if roots is None else list(roots)
    for index, value in enumerate(values):
        path = _Path(None, "obj") if roots is None else _Path(None, "roots[%d]" % index)
        encoder.data.roots.append(encoder.reference(value, path))
    encoder.run()
    return encoder.data, encoder.arrays


class _Path:
    """Where a value is, as a chain of steps; formatted only for an error message (a deep chain
    formatted at every level would cost quadratic time)."""

    __slots__ = ("parent", "step")

    def __init__(self, parent, step):
        self.parent = parent
        self.step = step

    def index(self, index):
        return _Path(self, index)

    def key(self, key):
        """The value of `key` in a map."""
        return _Path(self, ("value", key))

    def key_itself(self, key):
        return _Path(self, ("key", key))

    def attribute(self, name):
        return _Path(self, "." + name)

    def __str__(self):
        steps = []
        node = self
        while node is not None:
            step = node.step
            if isinstance(step, int):
                steps.append("[%d]" % step)
            elif isinstance(step, tuple):
                steps.append(("[%r]" if step[0] == "value" else " (the key %r)") % (step[1],))
            else:
                steps.append(step)
            node = node.parent
        return "".join(reversed(steps))


def _pandas():
    """pandas if the program has imported it (values can only be pandas objects then)."""
    return sys.modules.get("pandas")


class _Encoder:
    def __init__(self, refhook=None, string_codes=True):
        self.refhook = refhook
        self.string_codes = string_codes
        self.data = data_pb2.Data()
        self.arrays = []
        self.by_identity = {}   # id(container or array) -> item id
        self.alive = []         # what by_identity refers to stays alive, so ids stay unique
        self.pending = []       # (value, path, item id) still to fill

    def new_item(self):
        return len(self.data.items), self.data.items.add()

    def reference(self, value, path):
        """The item id of `value`: the item already made for this very object, or a new one
        (filled later by run(); scalars are filled at once)."""
        shared = isinstance(value, (list, tuple, dict, numpy.ndarray)) or _is_pandas(value)
        if shared:
            known = self.by_identity.get(id(value))
            if known is not None:
                return known
        item_id, item = self.new_item()
        if shared:
            self.by_identity[id(value)] = item_id
            self.alive.append(value)
        if not self._scalar(item, value, path):
            self.pending.append((value, path, item_id))
        return item_id

    def run(self):
        while self.pending:
            value, path, item_id = self.pending.pop()
            self._fill(self.data.items[item_id], item_id, value, path)

    # -- scalars ---------------------------------------------------------------------------------

    def _scalar(self, item, value, path):
        """Fills `item` when `value` is a scalar; False when it is not one."""
        if value is None:
            item.null.SetInParent()
        elif isinstance(value, (bool, numpy.bool_)):
            item.boolean = bool(value)
        elif isinstance(value, (int, numpy.integer)):
            if not INT64_MIN <= value <= INT64_MAX:
                raise ValueError("%s: the integer %d does not fit in 64 bits" % (path, value))
            item.integer = int(value)
        elif isinstance(value, (float, numpy.floating)):
            item.number = float(value)
        elif isinstance(value, str):
            item.string = value.encode("utf-8", "surrogateescape")
        elif isinstance(value, (bytes, bytearray, memoryview)):
            item.binary = bytes(value)
        elif isinstance(value, Opaque):
            names = self._persistent_names(value, path)
            if names is None:
                raise ValueError("%s: an Opaque (%s) cannot be written: it stands for something "
                                 "that has no plain-data form" % (path, value.type))
            item.opaque.type = PERSISTENT_REFERENCE
            item.opaque.description = ", ".join("NA" if name is None else name for name in names)
            item.names = self._string_item(names)
        else:
            return False
        return True

    def _persistent_names(self, opaque, path):
        """The names to write `opaque` as a persistent reference with, or None when it is not
        one: a loaded persistent reference's own names, or what the refhook gives an
        environment, external pointer or weak reference."""
        if opaque.type == PERSISTENT_REFERENCE and opaque.names is not None:
            names = opaque.names
        elif (self.refhook is not None and opaque.type in REFHOOK_TYPES
              and not _special_environment(opaque)):
            names = self.refhook(opaque)
            if names is None:
                return None
            if isinstance(names, str):
                names = [names]
        else:
            return None
        if not isinstance(names, (list, tuple)) or not names:
            raise TypeError("%s: persistent reference names are a non-empty list of str, not %r"
                            % (path, names))
        for name in names:
            if name is not None and not isinstance(name, str):
                raise TypeError("%s: persistent reference names are str (or None for NA), not %r"
                                % (path, name))
        return list(names)

    # -- containers ------------------------------------------------------------------------------

    def _fill(self, item, item_id, value, path):
        pandas = _pandas()
        if isinstance(value, Object):
            self._map(item, value.items(), path)
            item.classes.extend(_class_list(value.classes, path))
            self._attributes(item, value.attributes, path)
        elif isinstance(value, Pairs):
            self._pairs(item, value, path)
            item.classes.extend(_class_list(value.classes, path))
        elif isinstance(value, dict):
            self._map(item, value.items(), path)
        elif isinstance(value, RList):
            item.list.SetInParent()
            item.list.items.extend(self.reference(element, path.index(index))
                                   for index, element in enumerate(value))
            if value.names is not None:
                item.names = self._string_item(_name_list(value.names, len(value), path))
            item.classes.extend(_class_list(value.classes, path))
            self._attributes(item, value.attributes, path)
        elif isinstance(value, (list, tuple)):
            item.list.SetInParent()
            item.list.items.extend(self.reference(element, path.index(index))
                                   for index, element in enumerate(value))
        elif isinstance(value, numpy.ndarray):
            self._ndarray(item, item_id, value, path)
        elif pandas is not None and _is_pandas(value):
            self._pandas_value(pandas, item, item_id, value, path)
        elif isinstance(value, complex):
            self._ndarray(item, item_id, numpy.array([value], dtype="<c16"), path)
        elif isinstance(value, (set, frozenset)):
            raise TypeError("%s: a %s has no mapping to seriald data (its order is undefined); "
                            "use a list" % (path, type(value).__name__))
        else:
            raise TypeError("%s: %s.%s has no mapping to seriald data" % (
                path, type(value).__module__, type(value).__qualname__))

    def _map(self, item, entries, path):
        mapping = item.map
        mapping.SetInParent()
        for key, value in entries:
            entry = mapping.entries.add()
            entry.key = self.reference(key, path.key_itself(key))
            entry.value = self.reference(value, path.key(key))

    def _pairs(self, item, pairs, path):
        mapping = item.map
        mapping.SetInParent()
        for index, pair in enumerate(pairs):
            try:
                key, value = pair
            except (TypeError, ValueError):
                raise TypeError("%s[%d]: Pairs hold (key, value) tuples, not %r"
                                % (path, index, type(pair).__name__)) from None
            entry = mapping.entries.add()
            entry.key = self.reference(key, path.index(index).index(0))
            entry.value = self.reference(value, path.index(index).index(1))

    def _attributes(self, item, attributes, path):
        for name, value in (attributes or {}).items():
            if not isinstance(name, str):
                raise TypeError("%s.attributes: attribute names are str, not %r" % (path, name))
            attribute = item.attributes.add()
            attribute.name = name
            attribute.value = self.reference(value, path.attribute("attributes").key(name))

    def _string_item(self, values):
        """A new StringArray item of `values` (str or None); its id."""
        item_id, item = self.new_item()
        _put_strings(item.strings, values)
        return item_id

    # -- arrays ----------------------------------------------------------------------------------

    def _ndarray(self, item, item_id, value, path, names=None):
        mask = None
        if numpy.ma.isMaskedArray(value):
            mask = numpy.ma.getmaskarray(value)
            value = value.data
            if not mask.any():
                mask = None
        dim_names = None
        classes = []
        attributes = {}
        if isinstance(value, RArray):
            names = value.names if value.names is not None else names
            dim_names = value.dim_names
            classes = value.classes
            attributes = value.attributes
        if value.dtype.kind in "OUS":
            self._string_array(item, value, mask, path)
        elif value.dtype.kind == "M":
            self._datetime_array(item, item_id, value, mask, None)
        else:
            self._numbers(item, item_id, value, mask, path)
        self._array_attributes(item, value, names, dim_names, classes, attributes, path)

    def _array_attributes(self, item, value, names, dim_names, classes, attributes, path):
        if names is not None:
            if value.ndim != 1:
                raise ValueError("%s: names belong to 1-d arrays (use dim_names)" % path)
            item.names = self._string_item(_name_list(names, value.shape[0], path))
        if dim_names is not None:
            item.dim_names = self._dim_names(dim_names, value.shape, path)
        item.classes.extend(_class_list(classes, path))
        self._attributes(item, attributes, path)

    def _dim_names(self, dim_names, shape, path):
        """R dimnames (a list, or a dict/RList naming the dimensions) -> a ListItem id."""
        path = path.attribute("dim_names")
        labels = getattr(dim_names, "names", None)
        if isinstance(dim_names, dict):
            labels = list(dim_names.keys())
            dim_names = list(dim_names.values())
        dim_names = list(dim_names)
        if len(dim_names) != len(shape):
            raise ValueError("%s: %d entries for %d dimensions" % (path, len(dim_names), len(shape)))
        item_id, item = self.new_item()
        item.list.SetInParent()
        for dimension, (names, size) in enumerate(zip(dim_names, shape)):
            if names is None:
                child_id, child = self.new_item()
                child.null.SetInParent()
            else:
                child_id = self._string_item(_name_list(names, size, path.index(dimension)))
            item.list.items.append(child_id)
        if labels is not None:
            item.names = self._string_item(_name_list(labels, len(dim_names), path))
        return item_id

    def _string_array(self, item, value, mask, path):
        flat = value.reshape(-1, order="F") if value.ndim > 1 else value.reshape(-1)
        flat_mask = mask.reshape(-1, order="F") if mask is not None else None
        if self.string_codes and len(flat) >= CODED_STRINGS_MIN:
            coded = _coded_strings(flat, flat_mask)
            if coded is not None:
                values, codes = coded
                item.coded_strings.values.extend(values)
                item.coded_strings.codes = codes.tobytes()
                item.coded_strings.shape.extend(value.shape if value.ndim > 1 else ())
                return
        values = []
        for index, element in enumerate(flat):
            if flat_mask is not None and flat_mask[index]:
                values.append(None)
            elif element is None or isinstance(element, str):
                values.append(element)
            elif isinstance(element, bytes):
                values.append(element.decode("utf-8", "surrogateescape"))
            elif _is_missing(element):
                values.append(None)
            else:
                break
        else:
            _put_strings(item.strings, values, value.shape if value.ndim > 1 else ())
            return
        # Not all strings: a 1-d object array is a list of its elements.
        if value.ndim != 1:
            raise TypeError("%s: an object array of %d dimensions holds %s, not only str or None"
                            % (path, value.ndim, type(flat[len(values)]).__name__))
        item.list.SetInParent()
        item.list.items.extend(self.reference(element, path.index(index))
                               for index, element in enumerate(value))

    def _numbers(self, item, item_id, value, mask, path):
        kind = value.dtype.kind
        if kind == "b":  # R logical: int32 0/1, NA at masked places (a copy)
            element_type = value_pb2.ELEMENT_TYPE_LOGICAL
            value = value.astype("<i4")
            if mask is not None:
                value[mask] = R_NA_INTEGER
        elif mask is not None and kind in "iu":
            value, element_type = _integers_with_na(value, mask)
        elif mask is not None and kind == "f":
            value = value.astype("<f8")
            value.view("<u8")[mask] = R_NA_REAL_BITS
            element_type = value_pb2.ELEMENT_TYPE_FLOAT64
        elif mask is not None:
            raise TypeError("%s: masked %s arrays cannot be written (NA exists for bool, integer "
                            "and float arrays)" % (path, value.dtype))
        else:
            dtype = value.dtype
            if dtype.byteorder == ">":
                value = value.astype(dtype.newbyteorder("<"))
                dtype = value.dtype
            if dtype in WIDENED:
                value = value.astype(WIDENED[dtype])
                dtype = value.dtype
            element_type = ELEMENT_TYPES.get(dtype)
            if element_type is None:
                raise TypeError("%s: numpy arrays of dtype %s cannot be written (supported: bool, "
                                "int8-64, uint8-32, float16-64, complex, datetime64, str)"
                                % (path, value.dtype))
        array = item.array
        array.dtype = element_type
        if mask is not None:
            array.na_present = True
        self._put_elements(array, item_id, value)

    def _datetime_array(self, item, item_id, value, mask, timezone):
        """datetime64[D] -> R Date (days); other units -> R POSIXct (seconds since the epoch)."""
        unit, count = numpy.datetime_data(value.dtype)
        missing = numpy.isnat(value)
        if mask is not None:
            missing = missing | mask
        array = item.array
        if unit == "D" and timezone is None:
            numbers = value.view("<i8").astype("<f8") * count
            array.temporal = data_pb2.TEMPORAL_DATE
        else:
            if unit in ("Y", "M", "W"):  # not a fixed number of seconds: go through seconds
                value = value.astype("datetime64[s]")
                unit, count = "s", 1
            ticks = value.view("<i8")
            if unit in SECONDS_PER_UNIT:
                numbers = ticks.astype("<f8") * (SECONDS_PER_UNIT[unit] * count)
            else:
                numbers = ticks / (UNITS_PER_SECOND[unit] / count)
            array.temporal = data_pb2.TEMPORAL_DATETIME
            if timezone is not None:
                array.timezone = timezone
        numbers = numpy.ascontiguousarray(numbers, dtype="<f8")
        if missing.any():
            numbers.view("<u8")[missing] = R_NA_REAL_BITS
            array.na_present = True
        array.dtype = value_pb2.ELEMENT_TYPE_FLOAT64
        self._put_elements(array, item_id, numbers)

    def _put_elements(self, array, item_id, value):
        """Describes `value`'s elements (shape, strides, offset) and records their bytes: a
        memoryview of the memory `value` spans, no copy, whatever its strides."""
        if value.dtype.byteorder == ">":
            value = value.astype(value.dtype.newbyteorder("<"))
        itemsize = value.dtype.itemsize
        shape, strides = value.shape, value.strides
        array.shape.extend(shape)
        if value.size == 0:
            array.strides.extend([0] * value.ndim)
            self.arrays.append((item_id, memoryview(b"")))
            return
        contiguous = value.flags.c_contiguous or value.flags.f_contiguous
        if not contiguous and any(stride % itemsize for stride in strides):
            # Strides that are not whole elements (a field of a structured array): one copy.
            value = numpy.ascontiguousarray(value)
            strides, contiguous = value.strides, True
        if contiguous:
            # The common case, and a cheap one: the elements are exactly the array's memory.
            array.strides.extend(stride // itemsize for stride in strides)
            array.length = value.size
            self.arrays.append((item_id, memoryview(value.ravel(order="K").view(numpy.uint8))))
            return
        low = sum(stride * (size - 1) for stride, size in zip(strides, shape) if stride < 0)
        high = sum(stride * (size - 1) for stride, size in zip(strides, shape) if stride > 0)
        # A view of the lowest-addressed element, widened to every element up to the highest.
        lowest = value[tuple(slice(size - 1, size) if stride < 0 else slice(0, 1)
                             for stride, size in zip(strides, shape))].reshape(1)
        covering = numpy.lib.stride_tricks.as_strided(
            lowest, shape=((high - low) // itemsize + 1,), strides=(itemsize,))
        array.strides.extend(stride // itemsize for stride in strides)
        array.offset = -low // itemsize
        array.length = covering.size
        self.arrays.append((item_id, memoryview(covering.view(numpy.uint8))))

    # -- pandas ----------------------------------------------------------------------------------

    def _pandas_value(self, pandas, item, item_id, value, path):
        if isinstance(value, pandas.DataFrame):
            self._data_frame(pandas, item, value, path)
        elif isinstance(value, pandas.Series):
            names = None if _is_default_index(pandas, value.index) else _labels(value.index)
            self._column(pandas, item, item_id, value, path, names=names)
        elif isinstance(value, (pandas.Categorical, pandas.Index)):
            self._column(pandas, item, item_id, value, path)
        else:
            raise TypeError("%s: pandas %s has no mapping to seriald data"
                            % (path, type(value).__name__))

    def _data_frame(self, pandas, item, frame, path):
        data_frame = item.data_frame
        data_frame.SetInParent()
        data_frame.row_count = len(frame)
        for position in range(frame.shape[1]):
            name = frame.columns[position]
            column_path = path.key(name)
            column_id, column_item = self.new_item()
            self._column(pandas, column_item, column_id, frame.iloc[:, position], column_path)
            data_frame.column_names.append(str(name))
            data_frame.columns.append(column_id)
        if not _is_default_index(pandas, frame.index):
            data_frame.row_names = self._row_names(pandas, frame.index)
        item.classes.extend(_class_list(frame.attrs.get("r_classes", ()), path))
        self._attributes(item, frame.attrs.get("r_attributes"), path)

    def _row_names(self, pandas, index):
        if pandas.api.types.is_integer_dtype(index.dtype):
            numbers = numpy.asarray(index)
            if numbers.size == 0 or (numbers.min() > R_NA_INTEGER and numbers.max() < 2**31):
                item_id, item = self.new_item()
                item.array.dtype = value_pb2.ELEMENT_TYPE_INT32
                self._put_elements(item.array, item_id, numbers.astype("<i4"))
                return item_id
        return self._string_item(_labels(index))

    def _column(self, pandas, item, item_id, values, path, names=None):
        """A Series, Index or Categorical (a data frame column, or a value on its own) into
        `item`, with `names` (R names, from a Series' index) when given."""
        dtype = values.dtype
        types = pandas.api.types
        if isinstance(dtype, pandas.CategoricalDtype):
            self._factor(item, pandas.Categorical(values), path)
        elif isinstance(dtype, pandas.DatetimeTZDtype):
            index = pandas.DatetimeIndex(values)
            utc = index.tz_convert("UTC").tz_localize(None).to_numpy()
            self._datetime_array(item, item_id, utc, None, _timezone_name(index.tz))
        elif types.is_extension_array_dtype(dtype) and (
                types.is_integer_dtype(dtype) or types.is_bool_dtype(dtype)
                or types.is_float_dtype(dtype)):
            # Nullable "Int32", "boolean", "Float64"...: pd.NA becomes R's NA.
            numbers = values.array if hasattr(values, "array") else values
            plain = numbers.to_numpy(dtype=dtype.numpy_dtype,
                                     na_value=False if types.is_bool_dtype(dtype) else 0)
            mask = numpy.asarray(numbers.isna())
            self._ndarray(item, item_id, numpy.ma.MaskedArray(plain, mask=mask), path)
        elif types.is_string_dtype(dtype) or types.is_object_dtype(dtype):
            objects = numpy.asarray(values, dtype=object)
            days = _as_days(objects)
            if days is None:
                self._ndarray(item, item_id, objects, path)
            else:
                self._dates(item, item_id, days)
        else:
            self._ndarray(item, item_id, values.to_numpy(), path)
        if names is not None:
            item.names = self._string_item(_name_list(names, len(values), path))

    def _dates(self, item, item_id, days):
        """An R Date vector of `days` (float64, NaN for NA)."""
        array = item.array
        array.dtype = value_pb2.ELEMENT_TYPE_FLOAT64
        array.temporal = data_pb2.TEMPORAL_DATE
        missing = numpy.isnan(days)
        if missing.any():
            days.view("<u8")[missing] = R_NA_REAL_BITS
            array.na_present = True
        self._put_elements(array, item_id, days)

    def _factor(self, item, categorical, path):
        codes = categorical.codes.astype("<i4") + 1
        missing = codes == 0
        codes[missing] = R_NA_INTEGER
        codes_id, codes_item = self.new_item()
        codes_item.array.dtype = value_pb2.ELEMENT_TYPE_INT32
        codes_item.array.na_present = bool(missing.any())
        self._put_elements(codes_item.array, codes_id, codes)
        factor = item.factor
        factor.codes = codes_id
        factor.levels = self._string_item([str(level) for level in categorical.categories])
        factor.ordered = bool(categorical.ordered)


# String arrays of at least this many elements, at most half of them distinct, go to the server
# in dictionary form (CodedStrings): the distinct values once and an int32 code per element, where
# the plain form costs an encoded bytes object and a protobuf append per element.
CODED_STRINGS_MIN = 16


def _coded_strings(flat, flat_mask):
    """(distinct values as bytes, little-endian int32 codes, -1 for NA) for the 1-d object or
    string array `flat` (NA where `flat_mask` is set, or where an element is None, NaN or pandas.NA)
    when every element is a str, bytes or missing and at most half are distinct; else None (the
    element loop then says what the array holds)."""
    pandas = _pandas()
    try:
        if pandas is not None:
            # Hashing in C, NA-like elements -1, values in order of first appearance.
            codes, distinct = pandas.factorize(flat, use_na_sentinel=True)
            distinct = list(distinct)
        else:
            code_of = {}
            codes = numpy.empty(len(flat), numpy.int64)
            for position, element in enumerate(flat):
                codes[position] = (-1 if _is_missing(element)
                                   else code_of.setdefault(element, len(code_of)))
            distinct = list(code_of)
    except TypeError:  # an unhashable element: not a string array
        return None
    if 2 * len(distinct) > len(flat):
        return None
    values = []
    for element in distinct:
        if isinstance(element, str):
            values.append(element.encode("utf-8", "surrogateescape"))
        elif isinstance(element, bytes):
            values.append(bytes(element))
        else:
            return None
    codes = codes.astype("<i4")
    if flat_mask is not None:
        codes[flat_mask] = -1
    return values, codes


def plain_strings(data):
    """Rewrites the CodedStrings items of the Data message `data` as StringArray items, for a
    server older than the dictionary form; whether there were any."""
    rewritten = False
    for item in data.items:
        if item.WhichOneof("kind") != "coded_strings":
            continue
        coded = item.coded_strings
        values = list(coded.values)
        shape = list(coded.shape)
        codes = numpy.frombuffer(coded.codes, "<i4").tolist()
        strings = item.strings  # clears coded_strings
        for index, code in enumerate(codes):
            strings.values.append(b"" if code < 0 else values[code])
            if code < 0:
                strings.na.append(index)
        strings.shape.extend(shape)
        rewritten = True
    return rewritten


def _put_strings(strings, values, shape=()):
    """Fills the StringArray `strings` with `values` (str or None for NA, in R's order)."""
    strings.SetInParent()
    for index, value in enumerate(values):
        if value is None:
            strings.values.append(b"")
            strings.na.append(index)
        else:
            strings.values.append(value.encode("utf-8", "surrogateescape"))
    strings.shape.extend(shape)


def _integers_with_na(value, mask):
    """Integers with NAs: R integer (int32, NA = -2^31) when every value fits, else R double
    (NA = NA_real_). Returns (little-endian copy, element type)."""
    present = value[~mask]
    if present.size == 0 or (int(present.min()) > R_NA_INTEGER and int(present.max()) < 2**31):
        result = value.astype("<i4")
        result[mask] = R_NA_INTEGER
        return result, value_pb2.ELEMENT_TYPE_INT32
    result = value.astype("<f8")
    result.view("<u8")[mask] = R_NA_REAL_BITS
    return result, value_pb2.ELEMENT_TYPE_FLOAT64


def _special_environment(opaque):
    """Whether `opaque` is an environment R's serialize never asks its refhook about."""
    return opaque.type == "environment" and (
        opaque.description in SPECIAL_ENVIRONMENTS
        or opaque.description.startswith(("namespace:", "package:")))


def _is_pandas(value):
    return type(value).__module__.startswith("pandas.")


def _is_default_index(pandas, index):
    """R's automatic row names / no names: a RangeIndex 0, 1, ..., n-1."""
    return (isinstance(index, pandas.RangeIndex) and index.start == 0 and index.step == 1
            and index.name is None)


def _labels(index):
    """Index labels as R names: str, None for missing."""
    return [None if _is_missing(label) else str(label) for label in index]


def _is_missing(value):
    if value is None:
        return True
    if isinstance(value, float) and value != value:
        return True
    pandas = _pandas()
    return pandas is not None and value is pandas.NA


def _name_list(names, length, path):
    names = list(names)
    if len(names) != length:
        raise ValueError("%s: %d names for %d elements" % (path, len(names), length))
    for name in names:
        if name is not None and not isinstance(name, str):
            raise TypeError("%s: names are str or None, not %r" % (path, name))
    return names


def _class_list(classes, path):
    classes = list(classes or ())
    for name in classes:
        if not isinstance(name, str):
            raise TypeError("%s: classes are str, not %r" % (path, name))
    return classes


def _timezone_name(timezone):
    """The IANA name of a tzinfo ("UTC", "Europe/Paris"), as R's tzone attribute holds it."""
    for attribute in ("zone", "key"):  # pytz, zoneinfo
        name = getattr(timezone, attribute, None)
        if isinstance(name, str):
            return name
    name = str(timezone)
    return name[len("dateutil/"):] if name.startswith("dateutil/") else name


def _as_days(objects):
    """Days since 1970-01-01 (float64, NaN where missing) when every element of the object array
    is a datetime.date (not a datetime) or missing, and one is a date; else None."""
    epoch = datetime.date(1970, 1, 1)
    days = numpy.empty(len(objects), dtype="<f8")
    seen_date = False
    for index, element in enumerate(objects):
        if isinstance(element, datetime.date) and not isinstance(element, datetime.datetime):
            days[index] = (element - epoch).days
            seen_date = True
        elif _is_missing(element) or (type(element).__name__ == "NaTType"):
            days[index] = numpy.nan
        else:
            return None
    return days if seen_date else None

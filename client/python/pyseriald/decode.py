"""seriald.v1.Data (plain data from the server) -> native Python values.

Arrays become numpy arrays viewing the received bytes (no copy); R vectors with names become
pandas Series, data frames pandas DataFrames, factors Categoricals (when pandas is installed); lists
and maps become lists and dicts. The README's "Python client" section has the whole table.

Nothing here recurses: items are visited with an explicit stack, containers are created before
their contents and filled afterwards, so an item referred to twice is one Python object and
cycles (a Lua table that contains itself) come out as cycles.

Example:

    values = decode_data(response.data, buffers={})   # one Python value per root
"""

import numpy

from ._proto import data_pb2, value_pb2
from .objects import Object, Opaque, Pairs, RArray, RList

# NdArray element types -> numpy dtypes (little-endian, as the data travels).
DTYPES = {
    value_pb2.ELEMENT_TYPE_UINT8: numpy.dtype("u1"),
    value_pb2.ELEMENT_TYPE_INT8: numpy.dtype("i1"),
    value_pb2.ELEMENT_TYPE_INT16: numpy.dtype("<i2"),
    value_pb2.ELEMENT_TYPE_INT32: numpy.dtype("<i4"),
    value_pb2.ELEMENT_TYPE_INT64: numpy.dtype("<i8"),
    value_pb2.ELEMENT_TYPE_FLOAT16: numpy.dtype("<f2"),
    value_pb2.ELEMENT_TYPE_FLOAT32: numpy.dtype("<f4"),
    value_pb2.ELEMENT_TYPE_FLOAT64: numpy.dtype("<f8"),
    value_pb2.ELEMENT_TYPE_COMPLEX128: numpy.dtype("<c16"),
    value_pb2.ELEMENT_TYPE_LOGICAL: numpy.dtype("<i4"),
    value_pb2.ELEMENT_TYPE_RAW: numpy.dtype("u1"),
}
R_NA_INTEGER = -2**31
NANOSECONDS_PER_SECOND = 10**9

# Classes that a kind implies; an item carrying exactly these has no further class to keep.
USUAL_CLASSES = {
    "date": ["Date"],
    "datetime": ["POSIXct", "POSIXt"],
    "factor": ["factor"],
    "ordered": ["ordered", "factor"],
    "data_frame": ["data.frame"],
}
# Kinds decoded on the spot: they refer to no other item (apart from attributes, which a Python
# scalar cannot carry).
LEAF_KINDS = frozenset(("null", "boolean", "number", "integer", "string", "binary", "opaque"))
# Data frame columns read straight from their items (with pandas): their pandas form differs from
# the kind's own (a Date column holds datetime.date objects, an int32 column with NA is "Int32").
DIRECT_COLUMN_KINDS = frozenset(("array", "strings", "factor"))

_pandas = False  # not looked up yet


def pandas_module():
    """pandas, or None when it is not installed (imported on first use only)."""
    global _pandas
    if _pandas is False:
        try:
            import pandas
            _pandas = pandas
        except ImportError:
            _pandas = None
    return _pandas


def decode_text(raw):
    """Bytes from a file -> str; bytes that are not UTF-8 survive as surrogates (PEP 383), and
    encode back to the same bytes."""
    return raw.decode("utf-8", "surrogateescape")


def decode_data(data, buffers, refhook=None):
    """The Python values of the roots of `data` (a seriald.v1.Data message), in order.

    `buffers` maps an array item id to a bytes-like object holding its data when that data is
    not in the message itself (streamed arrays, or spans of the received message); arrays are
    views of it. `refhook`, when given, is called with the names (a list of str, None for NA) of
    each persistent reference, as R's unserialize(refhook =) calls its hook; what it returns
    takes the reference's place, and None leaves the Opaque.
    """
    return _Decoder(data, buffers, refhook).decode_roots()


# The Opaque type of an R persistent reference (what a refhook named when the file was written).
PERSISTENT_REFERENCE = "persistent reference"


class _Decoder:
    def __init__(self, data, buffers, refhook=None):
        self.items = data.items
        self.roots = list(data.roots)
        self.buffers = buffers
        self.refhook = refhook
        self.pandas = pandas_module()
        count = len(self.items)
        self.kinds = [None] * count
        self.values = [None] * count
        # 0 = not seen, 1 = created (containers: still being filled), 2 = done.
        self.state = bytearray(count)

    # -- traversal ---------------------------------------------------------------------------

    def decode_roots(self):
        for root in self.roots:
            self._check_id(root, "root")
            self._visit(root)
        return [self.values[root] for root in self.roots]

    def _check_id(self, item_id, what):
        if item_id >= len(self.items):
            raise ValueError("malformed Data from the server: %s refers to item %d of %d"
                             % (what, item_id, len(self.items)))

    def _kind(self, item_id):
        kind = self.kinds[item_id]
        if kind is None:
            kind = self.items[item_id].WhichOneof("kind")
            if kind is None:
                raise ValueError("malformed Data from the server: item %d has no kind" % item_id)
            if kind == "coded_strings":  # the same strings in dictionary form (_string_values)
                kind = "strings"
            self.kinds[item_id] = kind
        return kind

    def _visit(self, start):
        """Decodes `start` and everything it refers to, depth first, without recursion."""
        if self.state[start] == 2:
            return
        stack = [(start, False)]
        while stack:
            item_id, children_done = stack.pop()
            if children_done:
                self._finish(item_id)
                self.state[item_id] = 2
                continue
            if self.state[item_id]:
                continue  # done, or a container being filled (a cycle): its object exists
            kind = self._kind(item_id)
            if kind in LEAF_KINDS:
                self._leaf(item_id)
                continue
            self.state[item_id] = 1
            self._create(item_id, kind)
            stack.append((item_id, True))
            count = len(self.state)
            for child in reversed(self._children(item_id, kind)):
                if child >= count:
                    self._check_id(child, "item %d" % item_id)
                if not self.state[child]:
                    if self._kind(child) in LEAF_KINDS:
                        self._leaf(child)
                    else:
                        stack.append((child, False))

    def _children(self, item_id, kind):
        """Ids of the items whose Python values `item_id`'s value is made of."""
        item = self.items[item_id]
        children = [attribute.value for attribute in item.attributes]
        if item.HasField("dim_names"):
            children.append(item.dim_names)
        if kind == "list":
            children.extend(item.list.items)
        elif kind == "map":
            for entry in item.map.entries:
                children.append(entry.key)
                children.append(entry.value)
        elif kind == "data_frame":
            for column in item.data_frame.columns:
                self._check_id(column, "a column of item %d" % item_id)
                if self.pandas is None or self._kind(column) not in DIRECT_COLUMN_KINDS:
                    children.append(column)
        return children

    def _leaf(self, item_id):
        item = self.items[item_id]
        kind = self._kind(item_id)
        if kind == "null":
            value = None
        elif kind == "boolean":
            value = item.boolean
        elif kind == "number":
            value = item.number
        elif kind == "integer":
            value = item.integer
        elif kind == "string":
            value = decode_text(item.string)
        elif kind == "binary":
            value = item.binary
        else:
            value = self._opaque(item)
        self.values[item_id] = value
        self.state[item_id] = 2
        return value

    def _opaque(self, item):
        """An Opaque; a persistent reference carries its names, and is what `refhook` makes of
        them when it returns something."""
        opaque = item.opaque
        if opaque.type != PERSISTENT_REFERENCE or not item.HasField("names"):
            return Opaque(opaque.type, opaque.description)
        names = self._string_list(item.names)
        if self.refhook is not None:
            resolved = self.refhook(list(names))
            if resolved is not None:
                return resolved
        return Opaque(opaque.type, opaque.description, names=names)

    # -- containers: created first (so cycles can refer to them), filled when their items are --

    def _create(self, item_id, kind):
        item = self.items[item_id]
        if kind == "list":
            self.values[item_id] = self._list_shell(item)
        elif kind == "map":
            self.values[item_id] = self._map_shell(item_id, item)

    def _list_shell(self, item):
        names = self._string_list(item.names) if item.HasField("names") else None
        classes = list(item.classes)
        has_attributes = len(item.attributes) > 0
        if names is not None and _valid_keys(names):
            if classes or has_attributes:
                return Object(classes=classes)
            return {}
        if names is not None or classes or has_attributes:
            return RList(names=names, classes=classes)
        return []

    def _map_shell(self, item_id, item):
        keys = []
        hashable = True
        for entry in item.map.entries:
            self._check_id(entry.key, "a key of item %d" % item_id)
            if self._kind(entry.key) in LEAF_KINDS:
                keys.append(self._key(entry.key))
            else:
                hashable = False  # a table, array or list as a key
                break
        classes = list(item.classes)
        if hashable and len(set(keys)) == len(keys):
            if classes or len(item.attributes) > 0:
                return Object(classes=classes)
            return {}
        return Pairs(classes=classes)

    def _key(self, item_id):
        """A map key: integral numbers as int (Lua keys 1, 2, 3 are doubles), others as is."""
        value = self.values[item_id] if self.state[item_id] == 2 else self._leaf(item_id)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    def _finish(self, item_id):
        item = self.items[item_id]
        kind = self._kind(item_id)
        if kind == "list":
            self._fill_list(item_id, item)
        elif kind == "map":
            self._fill_map(item_id, item)
        elif kind == "array":
            self.values[item_id] = self._array(item_id, item)
        elif kind == "strings":
            self.values[item_id] = self._strings(item_id, item)
        elif kind == "factor":
            self.values[item_id] = self._factor(item)
        elif kind == "data_frame":
            self.values[item_id] = self._data_frame(item)
        else:  # pragma: no cover - every kind is handled above or as a leaf
            raise ValueError("item %d: unknown kind %r" % (item_id, kind))

    def _fill_list(self, item_id, item):
        container = self.values[item_id]
        values = [self.values[child] for child in item.list.items]
        if isinstance(container, dict):
            names = self._string_list(item.names)
            if len(names) != len(values):
                raise ValueError("malformed Data from the server: item %d has %d names for %d "
                                 "elements" % (item_id, len(names), len(values)))
            container.update(zip(names, values))
        else:
            container.extend(values)
        if isinstance(container, (Object, RList)):
            container.attributes.update(self._attributes(item))

    def _fill_map(self, item_id, item):
        container = self.values[item_id]
        if isinstance(container, Pairs):
            container.extend((self._key(entry.key) if self._kind(entry.key) in LEAF_KINDS
                              else self.values[entry.key], self.values[entry.value])
                             for entry in item.map.entries)
            return
        for entry in item.map.entries:
            container[self._key(entry.key)] = self.values[entry.value]
        if isinstance(container, Object):
            container.attributes.update(self._attributes(item))

    def _attributes(self, item):
        return {attribute.name: self.values[attribute.value] for attribute in item.attributes}

    # -- strings ---------------------------------------------------------------------------------

    def _string_list(self, item_id):
        """A string array item as a list of str, None for NA (names, levels, row names)."""
        self._check_id(item_id, "names")
        if self._kind(item_id) != "strings":
            raise ValueError("malformed Data from the server: item %d should be strings" % item_id)
        return self._string_values(self.items[item_id], item_id).reshape(-1, order="F").tolist()

    def _string_values(self, item, item_id):
        """A string array item (StringArray, or CodedStrings: its dictionary form) as an object
        ndarray of str/None in R's shape (column-major)."""
        if item.HasField("coded_strings"):
            coded = item.coded_strings
            # One str per distinct value, then references to them: no decoding per element.
            distinct = numpy.empty(len(coded.values) + 1, dtype=object)
            distinct[:-1] = [decode_text(raw) for raw in coded.values]
            distinct[-1] = None  # code -1, NA, indexes the last entry
            if len(coded.codes) % 4:
                raise ValueError("malformed Data from the server: item %d has %d bytes of codes"
                                 % (item_id, len(coded.codes)))
            codes = numpy.frombuffer(coded.codes, "<i4")
            if len(codes) and (codes.min() < -1 or codes.max() >= len(coded.values)):
                raise ValueError("malformed Data from the server: item %d has a code outside -1 .. "
                                 "%d" % (item_id, len(coded.values) - 1))
            array = distinct[codes]
            shape = coded.shape
        else:
            strings = item.strings
            values = [decode_text(raw) for raw in strings.values]
            for index in strings.na:
                values[index] = None
            array = numpy.empty(len(values), dtype=object)
            array[:] = values
            shape = strings.shape
        if len(shape) > 1:
            array = array.reshape(tuple(shape), order="F")
        return array

    def _strings(self, item_id, item):
        return self._with_attributes(self._string_values(item, item_id), item, usual_classes=())

    # -- arrays ----------------------------------------------------------------------------------

    def _raw_array(self, item_id, array):
        """The array's elements as an ndarray over the received bytes: no copy."""
        dtype = DTYPES.get(array.dtype)
        if dtype is None:
            raise ValueError("item %d: unknown element type %d" % (item_id, array.dtype))
        itemsize = dtype.itemsize
        shape = tuple(array.shape)
        strides = tuple(array.strides)
        if len(strides) != len(shape):
            raise ValueError("malformed Data from the server: item %d has %d strides for %d "
                             "dimensions" % (item_id, len(strides), len(shape)))
        buffer = self.buffers.get(item_id)
        if buffer is None:
            buffer = array.data  # one bytes object; the ndarray keeps it alive
        if len(buffer) < array.length * itemsize:
            raise ValueError("malformed Data from the server: item %d has %d bytes of data for "
                             "%d elements" % (item_id, len(buffer), array.length))
        return numpy.ndarray(shape, dtype, buffer=buffer, offset=array.offset * itemsize,
                             strides=tuple(stride * itemsize for stride in strides))

    def _array(self, item_id, item):
        array = item.array
        raw = self._raw_array(item_id, array)
        if array.temporal == data_pb2.TEMPORAL_DATE:
            return self._with_attributes(_dates(raw), item, USUAL_CLASSES["date"])
        if array.temporal == data_pb2.TEMPORAL_DATETIME:
            timezone = array.timezone if array.HasField("timezone") else None
            values = self._datetimes(raw, timezone)
            if values is None:  # beyond datetime64[ns]: keep R's seconds and class
                attributes = {"tzone": numpy.array([timezone], dtype=object)} if timezone else {}
                return RArray.wrap(raw, names=self._names(item), classes=["POSIXct", "POSIXt"],
                                   attributes=attributes)
            return self._with_attributes(values, item, USUAL_CLASSES["datetime"])
        mask = None
        if array.dtype == value_pb2.ELEMENT_TYPE_LOGICAL:
            if array.na_present:
                mask = raw == R_NA_INTEGER
            raw = raw != 0
        elif array.dtype == value_pb2.ELEMENT_TYPE_INT32 and array.na_present:
            mask = raw == R_NA_INTEGER
        return self._with_attributes(raw, item, usual_classes=(), mask=mask)

    def _names(self, item):
        return self._string_list(item.names) if item.HasField("names") else None

    def _with_attributes(self, values, item, usual_classes, mask=None):
        """`values` (ndarray, or DatetimeIndex) with the item's names, dimnames, class and other
        attributes: a Series for a plain named vector (with pandas), an RArray when there is more
        to keep, a MaskedArray over either when `mask` marks R's NAs."""
        names = self._names(item)
        classes = list(item.classes)
        if classes == list(usual_classes):
            classes = []
        dim_names = self.values[item.dim_names] if item.HasField("dim_names") else None
        attributes = self._attributes(item)
        pandas = self.pandas
        if mask is not None and not mask.any():
            mask = None
        if dim_names is None and not classes and not attributes:
            if names is not None and pandas is not None and numpy.ndim(values) == 1:
                return pandas.Series(_extension_array(pandas, values, mask), index=names, copy=False)
            if names is None:
                return values if mask is None else numpy.ma.MaskedArray(values, mask=mask)
        if not isinstance(values, numpy.ndarray):
            # A DatetimeIndex with attributes to keep: an RArray of its UTC datetime64[ns] values
            # (a time zone would be lost; R objects with names, dimnames or extra attributes on
            # POSIXct values are rare).
            if values.tz is not None:
                values = values.tz_convert("UTC").tz_localize(None)
            values = values.to_numpy()
        wrapped = RArray.wrap(values, names=names, dim_names=dim_names, classes=classes,
                              attributes=attributes)
        return wrapped if mask is None else numpy.ma.MaskedArray(wrapped, mask=mask)

    def _datetimes(self, seconds, timezone):
        """R POSIXct seconds -> DatetimeIndex (tz-aware for a named zone) or datetime64[ns];
        None when some value lies outside datetime64[ns]'s range."""
        nanoseconds = _seconds_to_datetime64(seconds)
        if nanoseconds is None:
            return None
        pandas = self.pandas
        if pandas is None or nanoseconds.ndim != 1:
            return nanoseconds
        index = pandas.DatetimeIndex(nanoseconds)
        if timezone:
            index = index.tz_localize("UTC").tz_convert(timezone)
        return index

    # -- factors and data frames -----------------------------------------------------------------

    def _factor(self, item):
        factor = item.factor
        self._check_id(factor.codes, "factor codes")
        codes_item = self.items[factor.codes]
        if codes_item.WhichOneof("kind") != "array":
            raise ValueError("malformed Data from the server: factor codes are not an array")
        codes = self._raw_array(factor.codes, codes_item.array)
        levels = self._string_list(factor.levels)
        pandas = self.pandas
        names = self._names(item)
        if pandas is not None and None not in levels and len(set(levels)) == len(levels):
            zero_based = numpy.where(codes == R_NA_INTEGER, -1, codes.astype(numpy.int64) - 1)
            categorical = pandas.Categorical.from_codes(zero_based, categories=levels,
                                                       ordered=factor.ordered)
            if names is not None:
                return pandas.Series(categorical, index=names)
            return categorical
        labels = numpy.empty(codes.shape, dtype=object)
        for index, code in numpy.ndenumerate(codes):
            labels[index] = levels[code - 1] if 1 <= code <= len(levels) else None
        return labels

    def _data_frame(self, item):
        frame = item.data_frame
        names = list(frame.column_names)
        if len(names) != len(frame.columns):
            raise ValueError("malformed Data from the server: a data frame has %d names for %d "
                             "columns" % (len(names), len(frame.columns)))
        pandas = self.pandas
        if pandas is None:
            return {name: self.values[column] for name, column in zip(names, frame.columns)}
        column_names = []
        column_values = []
        for name, column in zip(names, frame.columns):
            for sub_name, values in self._columns(name, column, frame.row_count):
                column_names.append(sub_name)
                column_values.append(values)
        index = pandas.RangeIndex(frame.row_count)
        if frame.HasField("row_names"):
            index = self._row_names(frame.row_names)
        result = pandas.DataFrame(dict(enumerate(column_values)), index=index)
        result.columns = pandas.Index(column_names, dtype=object)
        classes = list(item.classes)
        if classes and classes != USUAL_CLASSES["data_frame"]:
            result.attrs["r_classes"] = classes
        attributes = self._attributes(item)
        if attributes:
            result.attrs["r_attributes"] = attributes
        return result

    def _row_names(self, item_id):
        self._check_id(item_id, "row names")
        item = self.items[item_id]
        if self._kind(item_id) == "strings":
            return self.pandas.Index(self._string_list(item_id), dtype=object)
        if item.WhichOneof("kind") == "array":
            return self.pandas.Index(self._raw_array(item_id, item.array))
        raise ValueError("malformed Data from the server: row names are neither strings nor numbers")

    def _columns(self, name, column, row_count):
        """(name, pandas-ready values) of one data frame column; a nested data frame gives one
        column per inner column, named "outer.inner" as R prints them."""
        pandas = self.pandas
        item = self.items[column]
        kind = self._kind(column)
        if kind == "data_frame":
            inner = self.values[column]
            return [("%s.%s" % (name, inner_name), inner[inner_name].array)
                    for inner_name in inner.columns]
        if kind == "list":
            values = numpy.empty(len(item.list.items), dtype=object)
            values[:] = [self.values[child] for child in item.list.items]
            return [(name, values)]
        if kind == "strings":
            return [(name, self._string_values(item, column).reshape(-1, order="F"))]
        if kind == "factor":
            factor = self._factor(item)
            return [(name, factor.array if isinstance(factor, pandas.Series) else factor)]
        if kind != "array":  # not a vector (R allows anything of the right length): as it is
            values = numpy.empty(row_count, dtype=object)
            values[:] = [self.values[column]] * row_count
            return [(name, values)]
        array = item.array
        raw = self._raw_array(column, array)
        if raw.ndim != 1:  # a matrix column: one row of it per row
            rows = numpy.empty(raw.shape[0], dtype=object)
            rows[:] = list(raw)
            return [(name, rows)]
        if array.temporal == data_pb2.TEMPORAL_DATE:
            return [(name, _dates(raw).astype(object))]
        if array.temporal == data_pb2.TEMPORAL_DATETIME:
            timezone = array.timezone if array.HasField("timezone") else None
            values = self._datetimes(raw, timezone)
            return [(name, raw if values is None else values)]
        if array.dtype == value_pb2.ELEMENT_TYPE_LOGICAL:
            mask = raw == R_NA_INTEGER if array.na_present else None
            return [(name, _extension_array(pandas, raw != 0, mask))]
        if array.dtype == value_pb2.ELEMENT_TYPE_INT32 and array.na_present:
            return [(name, _extension_array(pandas, raw, raw == R_NA_INTEGER))]
        return [(name, raw)]


def _valid_keys(names):
    """Names that can be dict keys without losing anything: present, non-empty, distinct."""
    return all(names) and len(set(names)) == len(names)


def _extension_array(pandas, values, mask):
    """A pandas nullable array ("Int32", "boolean") when `mask` marks NAs, else `values`."""
    if mask is None or not mask.any():
        return values
    if values.dtype == numpy.bool_:
        return pandas.arrays.BooleanArray(numpy.ascontiguousarray(values), numpy.ascontiguousarray(mask))
    return pandas.arrays.IntegerArray(numpy.ascontiguousarray(values), numpy.ascontiguousarray(mask))


def _dates(days):
    """R Date (days since 1970-01-01, float64 or int32) -> datetime64[D], NaT for NA."""
    if days.dtype.kind == "f":
        missing = ~numpy.isfinite(days)
        whole = numpy.floor(numpy.where(missing, 0, days)).astype(numpy.int64)
    else:
        missing = days == R_NA_INTEGER
        whole = days.astype(numpy.int64)
    result = whole.astype("datetime64[D]")
    result[missing] = numpy.datetime64("NaT")
    return result


def _seconds_to_datetime64(seconds):
    """R POSIXct seconds -> datetime64[ns] (NaT for NA), or None when out of range."""
    seconds = numpy.asarray(seconds, dtype=numpy.float64)
    missing = numpy.isnan(seconds)
    scaled = numpy.rint(numpy.where(missing, 0.0, seconds) * NANOSECONDS_PER_SECOND)
    # datetime64[ns] spans +-2^63 ns (years 1677-2262); NaT itself is -2^63.
    if not numpy.all(numpy.abs(scaled) < 2.0**63 - 1024):
        return None
    result = scaled.astype(numpy.int64).view("datetime64[ns]")
    result[missing] = numpy.datetime64("NaT")
    return result

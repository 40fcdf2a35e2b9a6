// Plain JavaScript values -> seriald.v1.Data (the object proto-loader encodes): the inverse of
// lib/from_data.js, so that what `load` returns can be given back to `dump`.
//
// Every JavaScript object becomes one item, and an object met twice is one item met twice, so
// shared values and cycles reach the server as such. Nothing recurses: an object is given its
// id when first met and converted later from an explicit work list. String arrays whose
// elements repeat go as CodedStrings (each distinct string once, an int32 code per element),
// the others as StringArrays.
//
// Example:
//   const { data, payloadBytes } = toData([{ className: 'nn.Linear', weight: w }]);
//   // data.items[0].map.entries, data.items[0].classes = ['nn.Linear'], data.roots = [0]
'use strict';

const { DTYPES, BARE_TYPED_DTYPES, fromRowMajor, elementCount, typeName } = require('./ndarray');
const { kindOf } = require('./kind');

const TEMPORAL_ENUMS = { date: 'TEMPORAL_DATE', datetime: 'TEMPORAL_DATETIME' };

// The keys each kind of object may have: a plain object with other keys is a map.
const ARRAY_KEYS = new Set(['dtype', 'shape', 'data', 'na', 'temporal', 'timezone', 'names',
  'dimNames', 'classes', 'attributes']);
const STRINGS_KEYS = new Set(['dtype', 'shape', 'data', 'names', 'dimNames', 'classes', 'attributes']);
const FRAME_KEYS = new Set(['columns', 'rowNames', 'rowCount', 'classes', 'attributes']);
const FACTOR_KEYS = new Set(['levels', 'codes', 'ordered', 'names', 'classes', 'attributes']);
const OPAQUE_KEYS = new Set(['opaque', 'description', 'classes', 'attributes']);
const NUMERIC_DTYPES = new Set(DTYPES.map((dtype) => dtype.name));
// String arrays of at least this many elements, at most half of them distinct, are written in
// dictionary form (a CodedStrings item): one value per distinct string and 4 bytes per element,
// where the plain form sends every element's bytes (data frame columns mostly repeat a few
// strings). Smaller arrays are not worth the hashing; the server draws the same line.
const MIN_CODED_STRINGS = 16;

function isPlainObject(value) {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function hasOnlyKeys(object, allowed) {
  return Object.keys(object).every((key) => allowed.has(key));
}

function isStringElement(x) {
  return typeof x === 'string' || x === null || Buffer.isBuffer(x);
}

// A property the client keeps out of sight on plain objects (see from_data.js keyedObject).
function hiddenProperty(object, key) {
  const descriptor = Object.getOwnPropertyDescriptor(object, key);
  return descriptor && !descriptor.enumerable ? descriptor.value : undefined;
}

// The kind a plain object stands for: the one `load` made it as, else the one its keys and
// their values say.
function objectKind(object) {
  const marked = kindOf(object);
  if (marked) return marked;
  const { dtype, data } = object;
  if (dtype === 'string' && Array.isArray(data) && hasOnlyKeys(object, STRINGS_KEYS)) return 'strings';
  if (NUMERIC_DTYPES.has(dtype) && ArrayBuffer.isView(data) && hasOnlyKeys(object, ARRAY_KEYS)) return 'array';
  if (object.columns !== null && typeof object.columns === 'object' &&
      (Array.isArray(object.columns) || isPlainObject(object.columns)) && hasOnlyKeys(object, FRAME_KEYS)) {
    return 'frame';
  }
  if (Array.isArray(object.levels) && (object.codes instanceof Int32Array || Array.isArray(object.codes)) &&
      hasOnlyKeys(object, FACTOR_KEYS)) {
    return 'factor';
  }
  if (typeof object.opaque === 'string' && hasOnlyKeys(object, OPAQUE_KEYS)) return 'opaque';
  return 'map';
}

// Row-major elements for `shape` -> column-major (R's order for character matrices).
function rowMajorToColumnMajor(values, shape) {
  if (shape.length < 2) return values;
  const out = new Array(values.length);
  const columnStrides = [];
  let stride = 1;
  for (const size of shape) {
    columnStrides.push(stride);
    stride *= size;
  }
  const index = new Array(shape.length).fill(0);
  let target = 0;
  for (let read = 0; read < values.length; read++) {
    out[target] = values[read];
    for (let k = shape.length - 1; k >= 0; k--) {
      index[k]++;
      target += columnStrides[k];
      if (index[k] < shape[k]) break;
      target -= columnStrides[k] * shape[k];
      index[k] = 0;
    }
  }
  return out;
}

// The number of rows a data frame column has.
function columnLength(column) {
  if (ArrayBuffer.isView(column) || Array.isArray(column)) return column.length;
  if (column && typeof column === 'object') {
    if (Array.isArray(column.shape) && column.shape.length > 0) return Number(column.shape[0]);
    if (column.codes) return column.codes.length;
    if (typeof column.rowCount === 'number') return column.rowCount;
    if (column.data) return column.data.length;
  }
  return 0;
}

class DataBuilder {
  constructor() {
    this.items = [];
    this.ids = new Map();  // object -> its item id
    this.work = [];        // [id, object, id, object, ...] still to convert
    // Bytes of array, string and binary data: decides whether a call streams.
    this.payloadBytes = 0;
  }

  add(item) {
    this.items.push(item);
    return this.items.length - 1;
  }

  text(value) {
    const bytes = Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8');
    this.payloadBytes += bytes.length;
    return bytes;
  }

  // The item id of a value: scalars get a new item each time, objects one item for good.
  id(value) {
    switch (typeof value) {
      case 'undefined':
        return this.add({ null: {} });
      case 'boolean':
        return this.add({ boolean: value });
      case 'number':
        return this.add({ number: value });
      case 'bigint':
        return this.add({ integer: value.toString() });
      case 'string':
        return this.add({ string: this.text(value) });
      case 'object':
        if (value === null) return this.add({ null: {} });
        break;
      default:
        throw new TypeError(`seriald: cannot write a ${typeof value}`);
    }
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.add(null);
      this.ids.set(value, id);
      this.work.push(id, value);
    }
    return id;
  }

  finish() {
    while (this.work.length > 0) {
      const value = this.work.pop();
      const id = this.work.pop();
      this.items[id] = this.build(value);
    }
  }

  // The item for an object.
  build(value) {
    if (value instanceof Uint8Array) {
      return { binary: this.text(Buffer.from(value.buffer, value.byteOffset, value.byteLength)) };
    }
    if (ArrayBuffer.isView(value)) {
      const dtype = BARE_TYPED_DTYPES.get(value.constructor);
      if (!dtype) throw new TypeError(`seriald: cannot write a bare ${typeName(value)}; give { dtype, shape, data }`);
      return { array: this.array({ dtype, data: value }) };
    }
    if (Array.isArray(value)) {
      // Array.from, not map: holes in a sparse Array are written as null.
      return this.withMetadata(value, { list: { items: Array.from(value, (x) => this.id(x)) } });
    }
    if (value instanceof Map) {
      const entries = [];
      for (const [key, entry] of value) entries.push({ key: this.id(key), value: this.id(entry) });
      const item = { map: { entries } };
      item.classes = this.classesOf(value.className, value.classes);
      if (value.attributes) item.attributes = this.attributes(value.attributes);
      return item;
    }
    if (!isPlainObject(value)) {
      throw new TypeError(`seriald: cannot write a ${typeName(value)} (plain objects, Arrays, Maps, Buffers and TypedArrays only)`);
    }
    switch (objectKind(value)) {
      case 'array':
        return this.withMetadata(value, { array: this.array(value) });
      case 'strings':
        return this.withMetadata(value, this.strings(value.data, value.shape));
      case 'frame':
        return this.withMetadata(value, { dataFrame: this.frame(value) });
      case 'factor':
        return this.withMetadata(value, { factor: this.factor(value) });
      case 'opaque':
        return this.withMetadata(value, { opaque: { type: value.opaque, description: value.description || '' } });
      default:
        return this.map(value);
    }
  }

  // A plain object with string keys -> a map; `className` (or a hidden `classes`) is its class.
  map(object) {
    const entries = [];
    for (const key of Object.keys(object)) {
      if (key === 'className') continue;
      entries.push({ key: this.id(key), value: this.id(object[key]) });
    }
    const item = { map: { entries } };
    item.classes = this.classesOf(object.className, hiddenProperty(object, 'classes'));
    const attributes = hiddenProperty(object, 'attributes');
    if (attributes) item.attributes = this.attributes(attributes);
    return item;
  }

  classesOf(className, classes) {
    if (Array.isArray(classes)) return classes.map(String);
    if (typeof className === 'string') return [className];
    return [];
  }

  // Adds the names, dimNames, classes and attributes properties of `value` to its item.
  withMetadata(value, item) {
    if (value.names !== undefined && value.names !== null) item.names = this.stringsItem(value.names);
    if (value.dimNames !== undefined && value.dimNames !== null) item.dimNames = this.dimNames(value.dimNames);
    if (Array.isArray(value.classes)) item.classes = value.classes.map(String);
    if (value.attributes) item.attributes = this.attributes(value.attributes);
    return item;
  }

  attributes(attributes) {
    return Object.keys(attributes).map((name) => ({ name, value: this.id(attributes[name]) }));
  }

  array(value) {
    const array = fromRowMajor(value.dtype, value.shape, value.data);
    this.payloadBytes += array.data.length;
    if (value.temporal !== undefined) {
      array.temporal = TEMPORAL_ENUMS[value.temporal];
      if (!array.temporal) throw new TypeError(`seriald: temporal is 'date' or 'datetime', not ${JSON.stringify(value.temporal)}`);
    }
    if (typeof value.timezone === 'string') array.timezone = value.timezone;
    if (value.na) array.naPresent = true;
    return array;
  }

  // Elements (strings, null for NA, Buffers for bytes that are not UTF-8) in row-major order
  // -> the kind and message of a string array item, in R's column-major order for matrices:
  // { codedStrings } when the elements repeat enough for the dictionary form to pay, else
  // { strings }.
  strings(data, shape) {
    if (!data.every(isStringElement)) throw new TypeError('seriald: a string array holds strings, null (NA) or Buffers');
    shape = shape ? Array.from(shape, Number) : [data.length];
    if (elementCount(shape) !== data.length) {
      throw new TypeError(`seriald: shape [${shape}] needs ${elementCount(shape)} strings, the data holds ${data.length}`);
    }
    const ordered = rowMajorToColumnMajor(data, shape);
    const messageShape = shape.length > 1 ? shape : [];
    const coded = this.codedStrings(ordered);
    if (coded) return { codedStrings: { ...coded, shape: messageShape } };
    return { strings: { ...this.plainStrings(ordered), shape: messageShape } };
  }

  // A StringArray's values and na: one value per element, NA elements empty and listed in `na`.
  plainStrings(elements) {
    const na = [];
    const values = elements.map((x, i) => {
      if (x === null) {
        na.push(i);
        return Buffer.alloc(0);
      }
      return this.text(x);
    });
    return { values, na };
  }

  // CodedStrings' values and codes: the distinct values, each once in order of first
  // appearance, and one little-endian int32 per element, the index of its value or -1 for NA.
  // null when the dictionary form would not pay, as the server decides for what it sends: fewer
  // than MIN_CODED_STRINGS elements, or more than half of them distinct.
  codedStrings(elements) {
    const count = elements.length;
    if (count < MIN_CODED_STRINGS) return null;
    const maxDistinct = Math.floor(count / 2);
    // Strings and Buffers (bytes that are not UTF-8) are keyed in maps of their own, so that a
    // Buffer's key (its bytes as latin1, one character per byte) never meets a string's.
    const stringCodes = new Map();
    const bufferCodes = new Map();
    const distinct = [];
    const codes = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const element = elements[i];
      if (element === null) {
        codes[i] = -1;
        continue;
      }
      const isString = typeof element === 'string';
      const codeOf = isString ? stringCodes : bufferCodes;
      const key = isString ? element : element.toString('latin1');
      let code = codeOf.get(key);
      if (code === undefined) {
        code = distinct.length;
        if (code >= maxDistinct) return null;  // mostly distinct: a StringArray is smaller
        codeOf.set(key, code);
        distinct.push(element);
      }
      codes[i] = code;
    }
    this.payloadBytes += codes.byteLength;
    return { values: distinct.map((x) => this.text(x)), codes: Buffer.from(codes.buffer) };
  }

  stringsItem(data) {
    if (!Array.isArray(data)) throw new TypeError('seriald: names are an Array of strings');
    return this.add(this.strings(data));
  }

  dimNames(dimNames) {
    if (!Array.isArray(dimNames)) throw new TypeError('seriald: dimNames is an Array with one Array of strings (or null) per dimension');
    const items = dimNames.map((names) => (names === null ? this.add({ null: {} }) : this.stringsItem(names)));
    const list = { list: { items } };
    if (Array.isArray(dimNames.names)) list.names = this.stringsItem(dimNames.names);
    return this.add(list);
  }

  // A data frame column: an Array of strings is a character column; anything else is written
  // as it would be on its own (a bare TypedArray is a numeric vector).
  column(column) {
    if (Array.isArray(column) && column.every(isStringElement)) return this.add(this.strings(column));
    return this.id(column);
  }

  frame(frame) {
    const { columns } = frame;
    let columnNames;
    let values;
    if (Array.isArray(columns)) {
      columnNames = Array.isArray(columns.names) ? columns.names.map(String) : columns.map((_, i) => `V${i + 1}`);
      values = [...columns];
    } else {
      columnNames = Object.keys(columns);
      values = columnNames.map((name) => columns[name]);
    }
    const message = {
      columnNames,
      columns: values.map((column) => this.column(column)),
      rowCount: 0,
    };
    const { rowNames } = frame;
    if (typeof frame.rowCount === 'number') message.rowCount = frame.rowCount;
    else if (values.length > 0) message.rowCount = columnLength(values[0]);
    else if (rowNames) message.rowCount = rowNames.length;
    if (Array.isArray(rowNames)) {
      message.rowNames = this.stringsItem(rowNames);
    } else if (rowNames instanceof Int32Array) {
      message.rowNames = this.add({ array: this.array({ dtype: 'int32', data: rowNames }) });
    } else if (rowNames !== undefined && rowNames !== null) {
      throw new TypeError('seriald: rowNames is an Array of strings, an Int32Array, or null (1..n)');
    }
    return message;
  }

  factor(factor) {
    const codes = factor.codes instanceof Int32Array ? factor.codes : Int32Array.from(factor.codes);
    return {
      codes: this.add({ array: this.array({ dtype: 'int32', data: codes }) }),
      levels: this.stringsItem(factor.levels),
      ordered: Boolean(factor.ordered),
    };
  }
}

// JavaScript values, one per root -> { data: a seriald.v1.Data object, payloadBytes }.
function toData(roots) {
  const builder = new DataBuilder();
  const rootIds = roots.map((root) => builder.id(root));
  builder.finish();
  return { data: { items: builder.items, roots: rootIds }, payloadBytes: builder.payloadBytes };
}

// Rewrites the codedStrings items of `data` (a Data object as toData makes it) as plain strings
// items, for a server older than the dictionary form (it refuses the unknown kind with "no kind
// is set"); whether there were any.
function plainStringItems(data) {
  let rewritten = false;
  for (const item of data.items) {
    if (!item.codedStrings) continue;
    const { values, codes, shape } = item.codedStrings;
    const elements = [];
    const na = [];
    for (let i = 0; i < codes.length / 4; i++) {
      const code = codes.readInt32LE(4 * i);
      if (code < 0) na.push(i);
      elements.push(code < 0 ? Buffer.alloc(0) : values[code]);
    }
    delete item.codedStrings;
    item.strings = { values: elements, na, shape };
    rewritten = true;
  }
  return rewritten;
}

module.exports = { toData, rowMajorToColumnMajor, plainStringItems };

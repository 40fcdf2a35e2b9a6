// seriald.v1.Data (as decoded by proto-loader) -> plain JavaScript values: null, booleans,
// numbers, strings, Buffers, arrays as { dtype, shape, data: TypedArray } in row-major order,
// lists as Arrays, maps and named lists as objects or Maps, data frames, factors. The mapping is
// the table "Node client" in the README; lib/to_data.js is its inverse.
//
// A string array comes as a StringArray (one value per element) or, when its elements repeat
// and the load asked for it (ReadOptions.string_codes), as CodedStrings: each distinct string
// once and an int32 code per element. Both give the same Array of strings; the second decodes
// each distinct string once, and its elements share those strings (a Buffer, for bytes that are
// not UTF-8, stays each element's own).
//
// Items refer to each other by id. An id met twice gives the same JavaScript object, cycles
// included, and nothing recurses: containers are created empty when first met and filled later
// from an explicit work list, so a list nested 200000 deep converts like a flat one.
//
// Example:
//   const roots = fromData(response.data);   // one value per root of the stream
'use strict';

const { isUtf8 } = require('node:buffer');
const { toRowMajor, dtypeByProto, elementCount } = require('./ndarray');
const { markKind } = require('./kind');

const TEMPORAL_NAMES = { TEMPORAL_DATE: 'date', TEMPORAL_DATETIME: 'datetime' };
// Kinds whose children are converted after the item itself (see DataConverter.fill).
const CONTAINERS = new Set(['list', 'map', 'dataFrame']);
// The kind each item kind's JavaScript object is marked with (lib/kind.js); Arrays and Maps
// need no mark.
const MARKS = {
  array: 'array', strings: 'strings', codedStrings: 'strings', factor: 'factor', opaque: 'opaque', dataFrame: 'frame',
};

// A string's bytes as a JavaScript string when they are UTF-8 (R strings always are after the
// server's transcoding), else as a Buffer, so that a Lua string of arbitrary bytes is not
// mangled and writes back unchanged.
function decodeText(bytes) {
  return isUtf8(bytes) ? bytes.toString('utf8') : Buffer.from(bytes);
}

// The message of a string array item: a StringArray, or CodedStrings (the same strings in
// dictionary form); undefined for items of other kinds.
function stringMessage(item) {
  if (item.kind === 'strings') return item.strings;
  if (item.kind === 'codedStrings') return item.codedStrings;
  return undefined;
}

// The elements of string array item `id` in its own (R, column-major) order; NA elements are
// null.
function stringValues(id, item) {
  return item.kind === 'codedStrings' ? codedStringValues(id, item.codedStrings) : plainStringValues(id, item.strings);
}

// The elements of a StringArray: one value per element, NA elements listed in `na`.
function plainStringValues(id, strings) {
  const values = strings.values.map(decodeText);
  for (const index of strings.na) {
    const at = Number(index);
    if (!(at < values.length)) throw new Error(`seriald: string item ${id} marks element ${at} of ${values.length} NA`);
    values[at] = null;
  }
  return values;
}

// The elements of CodedStrings: each distinct value decoded once, and one reference to it per
// element (code -1: NA), so that a column of two million repeats of a few strings costs a few
// strings, not two million.
function codedStringValues(id, coded) {
  const { codes } = coded;
  if (codes.length % 4 !== 0) {
    throw new Error(`seriald: the codes of string item ${id} hold ${codes.length} bytes, not a whole number of int32s`);
  }
  const distinct = coded.values.map(decodeText);
  const count = codes.length / 4;
  // The codes slice the received message: read in place when aligned for an Int32Array.
  let codeArray;
  if (codes.byteOffset % 4 === 0) {
    codeArray = new Int32Array(codes.buffer, codes.byteOffset, count);
  } else {
    codeArray = new Int32Array(count);
    new Uint8Array(codeArray.buffer).set(codes);
  }
  const values = new Array(count);
  for (let i = 0; i < count; i++) {
    const code = codeArray[i];
    if (code >= 0 && code < distinct.length) {
      // Strings are immutable and shared; a Buffer (bytes that are not UTF-8) is each element's
      // own, as in a StringArray, so that changing one element does not change the others.
      const value = distinct[code];
      values[i] = typeof value === 'string' ? value : Buffer.from(value);
    } else if (code === -1) {
      values[i] = null;
    } else {
      throw new Error(`seriald: string item ${id}: element ${i} has code ${code}, outside -1 .. ${distinct.length - 1}`);
    }
  }
  return values;
}

// Elements stored column-major (first index fastest) for `shape` -> the same elements row-major.
function columnMajorToRowMajor(values, shape) {
  if (shape.length < 2) return values;
  const count = elementCount(shape);
  const columnStrides = [];
  let stride = 1;
  for (const size of shape) {
    columnStrides.push(stride);
    stride *= size;
  }
  const out = new Array(count);
  const index = new Array(shape.length).fill(0);
  let source = 0;
  for (let written = 0; written < count; written++) {
    out[written] = values[source];
    // Odometer over the row-major index; `source` follows in column-major positions.
    for (let k = shape.length - 1; k >= 0; k--) {
      index[k]++;
      source += columnStrides[k];
      if (index[k] < shape[k]) break;
      source -= columnStrides[k] * shape[k];
      index[k] = 0;
    }
  }
  return out;
}

// True when every name is a non-empty string and none is repeated.
function uniqueNonEmpty(names) {
  const seen = new Set();
  for (const name of names) {
    if (typeof name !== 'string' || name === '' || seen.has(name)) return false;
    seen.add(name);
  }
  return true;
}

// Names that can be the keys of a plain object made from a list or map: unique, non-empty, and
// none "className" (which such an object uses for its class).
function usableAsKeys(names) {
  return uniqueNonEmpty(names) && !names.includes('className');
}

// Sets a key on a plain object; "__proto__" becomes an own property instead of the prototype.
function setKey(object, key, value) {
  if (key === '__proto__') {
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    object[key] = value;
  }
}

function setHidden(object, key, value) {
  Object.defineProperty(object, key, { value, enumerable: false, writable: true, configurable: true });
}

function sameList(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

// The class attribute R gives each kind by default; such classes are left off the JavaScript
// value (writing it back without classes restores them).
function usualClasses(item) {
  switch (item.kind) {
    case 'dataFrame':
      return ['data.frame'];
    case 'factor':
      return item.factor.ordered ? ['ordered', 'factor'] : ['factor'];
    case 'array':
      if (item.array.temporal === 'TEMPORAL_DATE') return ['Date'];
      if (item.array.temporal === 'TEMPORAL_DATETIME') return ['POSIXct', 'POSIXt'];
      return [];
    default:
      return [];
  }
}

class DataConverter {
  constructor(items) {
    this.items = items;
    this.values = new Array(items.length);
    this.converted = new Uint8Array(items.length);
    // Items whose children still have to be converted (containers, attributes).
    this.pending = [];
    // Data frame columns given in their bare form (TypedArray, Array of strings), by item id.
    this.bareColumns = new Map();
    // Keys of plain objects made from maps and named lists, by item id, and those objects.
    this.objectKeys = new Map();
    this.keyedObjects = new WeakSet();
  }

  item(id) {
    const item = this.items[id];
    if (item === undefined) throw new Error(`seriald: the data refers to item ${id} of ${this.items.length}`);
    return item;
  }

  // The JavaScript value of item `id`: created on first use, the same object afterwards.
  value(id) {
    if (!this.converted[id]) {
      this.values[id] = this.create(id, this.item(id));
      this.converted[id] = 1;
    }
    return this.values[id];
  }

  // Converts everything the values handed out so far refer to.
  finish() {
    while (this.pending.length > 0) {
      const id = this.pending.pop();
      this.fill(id, this.items[id], this.values[id]);
    }
  }

  // Creates the value of an item; containers are created empty and queued for `fill`.
  create(id, item) {
    let value;
    switch (item.kind) {
      case 'null':
        return null;
      case 'boolean':
        return item.boolean;
      case 'number':
        return item.number;
      case 'integer':
        return BigInt(item.integer);
      case 'string':
        return decodeText(item.string);
      case 'binary':
        return item.binary;
      case 'array':
        value = this.arrayValue(item.array);
        break;
      case 'strings':
      case 'codedStrings':
        value = this.stringsValue(id, item);
        break;
      case 'factor':
        value = {
          levels: this.stringList(item.factor.levels),
          codes: this.codes(item.factor.codes),
          ordered: item.factor.ordered,
        };
        break;
      case 'opaque':
        value = { opaque: item.opaque.type, description: item.opaque.description };
        break;
      case 'dataFrame':
        value = { columns: null, rowNames: null, rowCount: Number(item.dataFrame.rowCount) };
        break;
      case 'list':
        value = this.listShell(id, item);
        break;
      case 'map':
        value = this.mapShell(id, item);
        break;
      default:
        throw new Error(`seriald: item ${id} has no kind (a newer server?)`);
    }
    if (MARKS[item.kind]) markKind(value, MARKS[item.kind]);
    this.describe(item, value);
    if (item.attributes.length > 0 || CONTAINERS.has(item.kind)) this.pending.push(id);
    return value;
  }

  // Adds names, dimNames and classes to the values whose shape the client defines (arrays,
  // strings, factors, data frames, opaque items, lists given as Arrays). Plain objects and Maps
  // got their class in keyedObject / keyedMap, and their names are their keys.
  describe(item, value) {
    if (value instanceof Map || this.keyedObjects.has(value)) return;
    if (item.names !== undefined) value.names = this.stringList(item.names);
    if (item.dimNames !== undefined) value.dimNames = this.dimNames(item.dimNames);
    const classes = item.classes;
    if (classes.length > 0 && !sameList(classes, usualClasses(item))) value.classes = [...classes];
  }

  arrayValue(array) {
    const { dtype, data } = toRowMajor(array);
    const value = { dtype, shape: array.shape.map(Number), data };
    if (array.naPresent) value.na = true;
    const temporal = TEMPORAL_NAMES[array.temporal];
    if (temporal) value.temporal = temporal;
    if (array.timezone !== undefined) value.timezone = array.timezone;
    return value;
  }

  stringsValue(id, item) {
    const values = stringValues(id, item);
    const { shape: dimensions } = stringMessage(item);
    const shape = dimensions.length > 0 ? dimensions.map(Number) : [values.length];
    return { dtype: 'string', shape, data: columnMajorToRowMajor(values, shape) };
  }

  // The elements of a string array item (names, levels, row names) as an Array.
  stringList(id) {
    const item = this.item(id);
    if (stringMessage(item) === undefined) throw new Error(`seriald: item ${id} should be strings, is ${item.kind}`);
    return stringValues(id, item);
  }

  // The codes of a factor: an int32 array item -> Int32Array.
  codes(id) {
    const item = this.item(id);
    if (item.kind !== 'array' || dtypeByProto(item.array.dtype).name !== 'int32') {
      throw new Error(`seriald: factor codes (item ${id}) should be an int32 array`);
    }
    return toRowMajor(item.array).data;
  }

  // A dimnames list -> an Array with one Array of strings (or null) per dimension; the names of
  // the dimensions, when R has them, in its `names` property.
  dimNames(id) {
    const item = this.item(id);
    if (item.kind !== 'list') throw new Error(`seriald: dimnames (item ${id}) should be a list`);
    const perDimension = item.list.items.map((dimensionId) => {
      const dimension = this.item(dimensionId);
      return dimension.kind === 'null' ? null : this.stringList(dimensionId);
    });
    if (item.names !== undefined) perDimension.names = this.stringList(item.names);
    return perDimension;
  }

  // A list: a plain object when it has names usable as keys (R named list), else an Array (with
  // a `names` property when it has names).
  listShell(id, item) {
    if (item.names !== undefined) {
      const names = this.stringList(item.names);
      if (usableAsKeys(names) && names.length === item.list.items.length) {
        this.objectKeys.set(id, names);
        return this.keyedObject(item);
      }
    }
    return [];
  }

  // A map: a plain object when every key is a string usable as an object key, else a Map.
  mapShell(id, item) {
    const keys = [];
    for (const entry of item.map.entries) {
      const key = this.item(entry.key);
      if (key.kind !== 'string' || !isUtf8(key.string)) return this.keyedMap(item);
      keys.push(key.string.toString('utf8'));
    }
    if (!usableAsKeys(keys)) return this.keyedMap(item);
    this.objectKeys.set(id, keys);
    return this.keyedObject(item);
  }

  // An empty plain object carrying the item's classes: `className` (enumerable, so a Torch
  // object's class is seen and written back) for one class; several R classes in a hidden
  // `classes` property.
  keyedObject(item) {
    const object = {};
    markKind(object, 'map');
    this.keyedObjects.add(object);
    if (item.classes.length === 1) object.className = item.classes[0];
    else if (item.classes.length > 1) setHidden(object, 'classes', [...item.classes]);
    return object;
  }

  keyedMap(item) {
    const map = new Map();
    if (item.classes.length === 1) map.className = item.classes[0];
    else if (item.classes.length > 1) map.classes = [...item.classes];
    return map;
  }

  // A data frame column: plain int32/float64/... vectors as bare TypedArrays, character vectors
  // as bare Arrays of strings; anything else (logical, dates, factors, lists, columns with
  // attributes) as the value `load` gives it on its own.
  column(id) {
    if (this.bareColumns.has(id)) return this.bareColumns.get(id);
    const item = this.item(id);
    const plain = item.classes.length === 0 && item.names === undefined &&
      item.dimNames === undefined && item.attributes.length === 0;
    let bare;
    if (plain && item.kind === 'array' && item.array.shape.length === 1 &&
        item.array.temporal === 'TEMPORAL_NONE' && dtypeByProto(item.array.dtype).name !== 'logical') {
      bare = toRowMajor(item.array).data;
    } else if (plain && stringMessage(item) !== undefined && stringMessage(item).shape.length === 0) {
      bare = stringValues(id, item);
    } else {
      return this.value(id);
    }
    this.bareColumns.set(id, bare);
    return bare;
  }

  rowNames(id) {
    const item = this.item(id);
    if (stringMessage(item) !== undefined) return stringValues(id, item);
    if (item.kind === 'array') return toRowMajor(item.array).data;
    throw new Error(`seriald: data frame row names (item ${id}) should be strings or int32`);
  }

  // Converts the children of a container and the attributes of any item.
  fill(id, item, value) {
    switch (item.kind) {
      case 'list': {
        const keys = this.objectKeys.get(id);
        item.list.items.forEach((childId, i) => {
          if (keys) setKey(value, keys[i], this.value(childId));
          else value.push(this.value(childId));
        });
        break;
      }
      case 'map': {
        const keys = this.objectKeys.get(id);
        item.map.entries.forEach((entry, i) => {
          if (keys) setKey(value, keys[i], this.value(entry.value));
          else value.set(this.value(entry.key), this.value(entry.value));
        });
        break;
      }
      case 'dataFrame': {
        const frame = item.dataFrame;
        const names = frame.columnNames;
        if (uniqueNonEmpty(names)) {
          value.columns = {};
          frame.columns.forEach((columnId, i) => setKey(value.columns, names[i], this.column(columnId)));
        } else {
          value.columns = frame.columns.map((columnId) => this.column(columnId));
          value.columns.names = [...names];
        }
        if (frame.rowNames !== undefined) value.rowNames = this.rowNames(frame.rowNames);
        break;
      }
      default:
        break;
    }
    if (item.attributes.length > 0) {
      const attributes = {};
      for (const attribute of item.attributes) setKey(attributes, attribute.name, this.value(attribute.value));
      if (this.keyedObjects.has(value)) setHidden(value, 'attributes', attributes);
      else value.attributes = attributes;
    }
  }
}

// A decoded seriald.v1.Data -> an Array with the JavaScript value of each root.
function fromData(data) {
  const converter = new DataConverter(data.items);
  const roots = data.roots.map((id) => converter.value(id));
  converter.finish();
  return roots;
}

module.exports = { fromData, decodeText, columnMajorToRowMajor, usualClasses };

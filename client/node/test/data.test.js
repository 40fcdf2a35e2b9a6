// The Node client's conversions without a server: NdArray views to row-major TypedArrays, Data
// items to JavaScript values and back, each Data passed through protobuf encoding as on the wire.
//
// Run: node --test test/data.test.js     (from client/node)
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { toRowMajor } = require('../lib/ndarray');
const { fromData, toData } = require('../lib');
const { wireRoundTrip } = require('./helpers');

const NA_INTEGER = -2147483648;

function bytesOf(typed) {
  return Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength);
}

// A Data of hand-written items (as toData or the server would send them) -> the root value.
function load(items, roots = [0]) {
  return fromData(wireRoundTrip({ items, roots }))[0];
}

// value -> Data -> wire -> value.
function roundTrip(value) {
  return fromData(wireRoundTrip(toData([value]).data))[0];
}

function ndarray(dtype, shape, strides, offset, typed) {
  return { dtype, shape, strides, offset, length: typed.length, data: bytesOf(typed) };
}

function strings(values, na = [], shape = []) {
  return { strings: { values: values.map((s) => Buffer.from(s)), na, shape } };
}

test('a transposed view is materialized row-major', () => {
  // Torch's t:transpose(1, 2) of {{1,2,3},{4,5,6}}: sizes {3,2}, strides {1,3}.
  const storage = new Float64Array([1, 2, 3, 4, 5, 6]);
  const { dtype, data } = toRowMajor(ndarray('ELEMENT_TYPE_FLOAT64', [3, 2], [1, 3], 0, storage));
  assert.equal(dtype, 'float64');
  assert.deepEqual([...data], [1, 4, 2, 5, 3, 6]);
});

test('an offset view (narrow) and a column-major R matrix', () => {
  const storage = new Int32Array([1, 2, 3, 4, 5, 6]);
  // narrow(2, 2, 2): {{2,3},{5,6}}, strides {3,1}, offset 1.
  assert.deepEqual([...toRowMajor(ndarray('ELEMENT_TYPE_INT32', [2, 2], [3, 1], 1, storage)).data], [2, 3, 5, 6]);
  // R matrix(1:6, 2): column-major, strides {1,2}: rows (1,3,5) and (2,4,6).
  assert.deepEqual([...toRowMajor(ndarray('ELEMENT_TYPE_INT32', [2, 3], [1, 2], 0, storage)).data], [1, 3, 5, 2, 4, 6]);
  // An expanded dimension (stride 0) and a 3-d permutation.
  assert.deepEqual([...toRowMajor(ndarray('ELEMENT_TYPE_INT32', [2, 3], [0, 1], 3, storage)).data], [4, 5, 6, 4, 5, 6]);
  const cube = new Int32Array(24).map((_, i) => i);
  const permuted = toRowMajor(ndarray('ELEMENT_TYPE_INT32', [4, 2, 3], [1, 12, 4], 0, cube)).data;
  assert.deepEqual([...permuted.subarray(0, 6)], [0, 4, 8, 12, 16, 20]);
  assert.equal(permuted[23], 23);
});

test('a contiguous aligned view is not copied; an unaligned one is, aligned', () => {
  const storage = new Float64Array([1, 2, 3, 4]);
  const view = toRowMajor(ndarray('ELEMENT_TYPE_FLOAT64', [2], [1], 1, storage)).data;
  assert.equal(view.buffer, storage.buffer);
  assert.deepEqual([...view], [2, 3]);

  const unaligned = Buffer.alloc(8 * 4 + 1).subarray(1);
  bytesOf(storage).copy(unaligned);
  const array = { dtype: 'ELEMENT_TYPE_FLOAT64', shape: [2, 2], strides: [2, 1], offset: 0, length: 4, data: unaligned };
  const copied = toRowMajor(array).data;
  assert.notEqual(copied.buffer, unaligned.buffer);
  assert.equal(copied.byteOffset % 8, 0);
  assert.deepEqual([...copied], [1, 2, 3, 4]);
  array.strides = [1, 2];
  assert.deepEqual([...toRowMajor(array).data], [1, 3, 2, 4]);
});

test('complex128, int64, float16 bits, 0-d and empty arrays', () => {
  const complex = new Float64Array([1, -1, 2, -2, 3, -3, 4, -4]);  // 2x2 of (re, im)
  const transposed = toRowMajor({
    dtype: 'ELEMENT_TYPE_COMPLEX128', shape: [2, 2], strides: [1, 2], offset: 0, length: 4, data: bytesOf(complex),
  });
  assert.deepEqual([...transposed.data], [1, -1, 3, -3, 2, -2, 4, -4]);

  const longs = new BigInt64Array([-5000000000n, 2n, 9007199254740993n]);
  const int64 = toRowMajor(ndarray('ELEMENT_TYPE_INT64', [3], [-1], 2, longs));
  assert.ok(int64.data instanceof BigInt64Array);
  assert.deepEqual([...int64.data], [9007199254740993n, 2n, -5000000000n]);

  const half = toRowMajor(ndarray('ELEMENT_TYPE_FLOAT16', [2], [1], 0, new Uint16Array([0x3c00, 0xc000])));
  assert.ok(half.data instanceof Uint16Array);
  assert.deepEqual([...half.data], [0x3c00, 0xc000]);

  assert.deepEqual([...toRowMajor(ndarray('ELEMENT_TYPE_FLOAT32', [], [], 2, new Float32Array([1, 2, 3]))).data], [3]);
  assert.equal(toRowMajor(ndarray('ELEMENT_TYPE_FLOAT32', [0, 3], [3, 1], 0, new Float32Array(0))).data.length, 0);
});

test('a view reaching outside its data is refused', () => {
  assert.throws(() => toRowMajor(ndarray('ELEMENT_TYPE_INT32', [2, 2], [2, 1], 1, new Int32Array(4))), /reaches elements 1..4 of 4/);
});

test('scalars, strings, Buffers and missing values', () => {
  const items = [
    { list: { items: [1, 2, 3, 4, 5, 6, 7, 8] } },
    { null: {} },
    { boolean: false },
    { number: -0.5 },
    { string: Buffer.from('héllo') },
    { string: Buffer.from([0x61, 0xff, 0x00]) },  // a Lua string that is not UTF-8
    { binary: Buffer.from([1, 2, 3]) },
    { array: { ...ndarray('ELEMENT_TYPE_LOGICAL', [3], [1], 0, new Int32Array([1, 0, NA_INTEGER])), naPresent: true } },
    { ...strings(['a', '', 'c'], [1]), names: 9 },
    strings(['x', 'y', 'z']),
  ];
  const value = load(items);
  assert.equal(value[0], null);
  assert.equal(value[1], false);
  assert.equal(value[2], -0.5);
  assert.equal(value[3], 'héllo');
  assert.deepEqual(value[4], Buffer.from([0x61, 0xff, 0x00]));
  assert.deepEqual(value[5], Buffer.from([1, 2, 3]));
  assert.deepEqual(value[6], { dtype: 'logical', shape: [3], data: new Int32Array([1, 0, NA_INTEGER]), na: true });
  assert.deepEqual(value[7], { dtype: 'string', shape: [3], data: ['a', null, 'c'], names: ['x', 'y', 'z'] });
  assert.deepEqual(roundTrip(value), value);
});

test('a character matrix comes row-major and goes back column-major', () => {
  // R matrix(c("a","b","c","d","e","f"), 2): rows (a, c, e) and (b, d, f).
  const value = load([strings(['a', 'b', 'c', 'd', 'e', 'f'], [], [2, 3])]);
  assert.deepEqual(value, { dtype: 'string', shape: [2, 3], data: ['a', 'c', 'e', 'b', 'd', 'f'] });
  const { data } = toData([value]);
  assert.deepEqual(data.items[0].strings.values.map(String), ['a', 'b', 'c', 'd', 'e', 'f']);
  assert.deepEqual(roundTrip(value), value);
});

test('lists: named with usable names -> object; otherwise an Array with names', () => {
  const named = load([{ list: { items: [1, 2] }, names: 3 }, { number: 1 }, { string: Buffer.from('two') }, strings(['a', 'b'])]);
  assert.deepEqual(named, { a: 1, b: 'two' });
  const repeated = load([{ list: { items: [1, 2] }, names: 3 }, { number: 1 }, { number: 2 }, strings(['a', 'a'])]);
  assert.ok(Array.isArray(repeated));
  assert.deepEqual([...repeated], [1, 2]);
  assert.deepEqual(repeated.names, ['a', 'a']);
  assert.deepEqual(roundTrip(repeated).names, ['a', 'a']);
  const protoKey = load([{ list: { items: [1] }, names: 2 }, { number: 7 }, strings(['__proto__'])]);
  assert.equal(Object.getPrototypeOf(protoKey), Object.prototype);
  assert.deepEqual(Object.keys(protoKey), ['__proto__']);
});

test('R classes and attributes of a named list stay out of its keys', () => {
  const items = [
    { list: { items: [1] }, names: 2, classes: ['lm', 'base'], attributes: [{ name: 'note', value: 3 }] },
    { number: 1 },
    strings(['coefficients']),
    { string: Buffer.from('fitted') },
  ];
  const value = load(items);
  assert.deepEqual(Object.keys(value), ['coefficients']);
  assert.deepEqual(value.classes, ['lm', 'base']);
  assert.deepEqual(value.attributes, { note: 'fitted' });
  const back = toData([value]).data.items[0];
  assert.deepEqual(back.classes, ['lm', 'base']);
  assert.equal(back.attributes[0].name, 'note');
});

test('maps: string keys -> object, other keys -> Map; a class object has className', () => {
  const torchObject = load([
    { map: { entries: [{ key: 1, value: 2 }] }, classes: ['Blah'] },
    { string: Buffer.from('x') }, { number: 3 },
  ]);
  assert.deepEqual(torchObject, { className: 'Blah', x: 3 });
  const back = toData([torchObject]).data;
  assert.deepEqual(back.items[0].classes, ['Blah']);
  assert.equal(back.items[0].map.entries.length, 1);

  const numbered = load([
    { map: { entries: [{ key: 1, value: 2 }, { key: 3, value: 4 }] } },
    { number: 0 }, { string: Buffer.from('zero') }, { number: 1 }, { string: Buffer.from('one') },
  ]);
  assert.ok(numbered instanceof Map);
  assert.deepEqual([...numbered], [[0, 'zero'], [1, 'one']]);
  assert.deepEqual(roundTrip(numbered), numbered);

  // A field named className with no class keeps the map a Map, so it is not taken for a class.
  const fieldNamedClassName = load([{ map: { entries: [{ key: 1, value: 2 }] } }, { string: Buffer.from('className') }, { number: 1 }]);
  assert.ok(fieldNamedClassName instanceof Map);
});

test('a loaded table whose keys look like another kind is written back as a table', () => {
  const opaqueLooking = load([{ map: { entries: [{ key: 1, value: 2 }] } }, { string: Buffer.from('opaque') }, { string: Buffer.from('yes') }]);
  const frameLooking = load([
    { map: { entries: [{ key: 1, value: 2 }] } }, { string: Buffer.from('columns') },
    { map: { entries: [{ key: 3, value: 4 }] } }, { string: Buffer.from('a') }, { number: 1 },
  ]);
  assert.deepEqual(opaqueLooking, { opaque: 'yes' });
  assert.deepEqual(frameLooking, { columns: { a: 1 } });
  assert.ok(toData([opaqueLooking]).data.items[0].map);
  assert.ok(toData([frameLooking]).data.items[0].map);
  // Built by a program, the same keys mean the kind.
  assert.ok(toData([{ opaque: 'closure' }]).data.items[0].opaque);
  assert.ok(toData([{ columns: { a: new Float64Array(1) } }]).data.items[0].dataFrame);
});

test('sharing and cycles: one item, one object', () => {
  // {a = S, b = S, self = <the table>}
  const value = load([
    { map: { entries: [{ key: 1, value: 2 }, { key: 5, value: 2 }, { key: 6, value: 0 }] } },
    { string: Buffer.from('a') }, { map: { entries: [{ key: 3, value: 4 }] } }, { string: Buffer.from('v') },
    { number: 7 }, { string: Buffer.from('b') }, { string: Buffer.from('self') },
  ]);
  assert.equal(value.a, value.b);
  assert.equal(value.self, value);
  const back = roundTrip(value);
  assert.equal(back.a, back.b);
  assert.equal(back.self, back);
  const { data } = toData([value]);
  assert.equal(data.items.filter((item) => item.map).length, 2);
});

test('200000 nested lists convert without recursion, both ways', () => {
  const depth = 200000;
  const items = [];
  for (let i = 0; i < depth; i++) items.push({ list: { items: [i + 1] } });
  items.push({ number: 42 });
  // Items written as proto-loader decodes them (quicker than encoding 200000 items).
  const decoded = items.map((item) => ({ classes: [], attributes: [], kind: Object.keys(item)[0], ...item }));
  let value = fromData({ items: decoded, roots: [0] })[0];
  const outer = value;
  for (let i = 0; i < depth; i++) value = value[0];
  assert.equal(value, 42);
  const { data } = toData([outer]);
  assert.equal(data.items.length, depth + 1);
});

test('data frames: bare numeric and character columns, full objects for the rest', () => {
  const items = [
    { dataFrame: { columnNames: ['i', 'x', 's', 'l', 'f', 'd'], columns: [1, 2, 3, 4, 5, 8], rowCount: 3, rowNames: 9 } },
    { array: { ...ndarray('ELEMENT_TYPE_INT32', [3], [1], 0, new Int32Array([1, NA_INTEGER, 3])), naPresent: true } },
    { array: ndarray('ELEMENT_TYPE_FLOAT64', [3], [1], 0, new Float64Array([0.5, 1.5, 2.5])) },
    strings(['a', '', 'c'], [1]),
    { array: ndarray('ELEMENT_TYPE_LOGICAL', [3], [1], 0, new Int32Array([1, 0, NA_INTEGER])) },
    { factor: { codes: 6, levels: 7, ordered: false }, classes: ['factor'] },
    { array: ndarray('ELEMENT_TYPE_INT32', [3], [1], 0, new Int32Array([2, 1, NA_INTEGER])) },
    strings(['lo', 'hi']),
    { array: { ...ndarray('ELEMENT_TYPE_FLOAT64', [3], [1], 0, new Float64Array([0, 1, 19000])), temporal: 'TEMPORAL_DATE' }, classes: ['Date'] },
    strings(['r1', 'r2', 'r3']),
  ];
  items[0].classes = ['data.frame'];
  const frame = load(items);
  assert.deepEqual(Object.keys(frame.columns), ['i', 'x', 's', 'l', 'f', 'd']);
  assert.deepEqual(frame.columns.i, new Int32Array([1, NA_INTEGER, 3]));
  assert.deepEqual(frame.columns.x, new Float64Array([0.5, 1.5, 2.5]));
  assert.deepEqual(frame.columns.s, ['a', null, 'c']);
  assert.deepEqual(frame.columns.l, { dtype: 'logical', shape: [3], data: new Int32Array([1, 0, NA_INTEGER]) });
  assert.deepEqual(frame.columns.f, { levels: ['lo', 'hi'], codes: new Int32Array([2, 1, NA_INTEGER]), ordered: false });
  assert.deepEqual(frame.columns.d, { dtype: 'float64', shape: [3], data: new Float64Array([0, 1, 19000]), temporal: 'date' });
  assert.deepEqual(frame.rowNames, ['r1', 'r2', 'r3']);
  assert.equal(frame.rowCount, 3);
  assert.equal(frame.classes, undefined);  // the usual class is left off

  const back = toData([frame]).data;
  const message = back.items[0].dataFrame;
  assert.deepEqual(message.columnNames, ['i', 'x', 's', 'l', 'f', 'd']);
  assert.equal(message.rowCount, 3);
  const kinds = message.columns.map((id) => Object.keys(back.items[id]).find((key) => key !== 'classes'));
  assert.deepEqual(kinds, ['array', 'array', 'strings', 'array', 'factor', 'array']);
  assert.deepEqual(roundTrip(frame), frame);
});

test('a data frame written from JavaScript: row count from the columns, automatic row names', () => {
  const { data } = toData([{ columns: { a: new Float64Array([1, 2]), b: ['x', null] } }]);
  const frame = data.items[0].dataFrame;
  assert.equal(frame.rowCount, 2);
  assert.equal(frame.rowNames, undefined);
  assert.deepEqual(data.items[frame.columns[1]].strings.na, [1]);
});

test('arrays carry names, dimNames, temporal, timezone and classes both ways', () => {
  const value = {
    dtype: 'float64',
    shape: [2, 2],
    data: new Float64Array([1, 2, 3, 4]),
    temporal: 'datetime',
    timezone: 'UTC',
    dimNames: Object.assign([['r1', 'r2'], null], { names: ['rows', 'cols'] }),
    classes: ['POSIXct', 'POSIXt', 'extra'],
  };
  assert.deepEqual(roundTrip(value), value);
  const { data } = toData([value]);
  assert.equal(data.items[0].array.temporal, 'TEMPORAL_DATETIME');
  assert.deepEqual(data.items[0].array.strides, [2, 1]);
});

test('bigint, bare TypedArrays, opaque items', () => {
  const { data } = toData([[5n, new Float32Array([1, 2]), new Uint8Array([7])]]);
  const items = wireRoundTrip(data).items;
  assert.equal(items[1].integer, 5);
  assert.equal(items[2].array.dtype, 'ELEMENT_TYPE_FLOAT32');
  assert.equal(items[3].kind, 'binary');
  const opaque = load([{ opaque: { type: 'closure', description: 'function(x) x' } }]);
  assert.deepEqual(opaque, { opaque: 'closure', description: 'function(x) x' });
});

test('values the client cannot write are refused before any call', () => {
  assert.throws(() => toData([new Date()]), /cannot write a Date/);
  assert.throws(() => toData([() => 1]), /cannot write a function/);
  assert.throws(() => toData([{ dtype: 'float64', shape: [3], data: new Float64Array(2) }]), /needs 3 elements/);
  assert.throws(() => toData([{ dtype: 'float64', data: new Int32Array(2) }]), /needs its data in a Float64Array/);
});

// Int32 codes as the bytes of a CodedStrings message.
function codeBytes(codes) {
  return bytesOf(new Int32Array(codes));
}

test('string arrays that repeat go in dictionary form (CodedStrings), the others as StringArrays', () => {
  const repeated = { dtype: 'string', shape: [20], data: Array.from({ length: 20 }, (_, i) => ['lo', 'hi', null, 'lo'][i % 4]) };
  const { data } = toData([repeated]);
  const item = wireRoundTrip(data).items[0];
  assert.equal(item.kind, 'codedStrings');
  assert.deepEqual(item.codedStrings.values.map(String), ['lo', 'hi']);  // in order of first appearance
  const codes = new Int32Array(Uint8Array.from(item.codedStrings.codes).buffer);
  assert.deepEqual([...codes.subarray(0, 8)], [0, 1, -1, 0, 0, 1, -1, 0]);
  assert.deepEqual(roundTrip(repeated), repeated);

  // The line the server draws too: at least 16 elements, at most half of them distinct.
  const kindOf = (elements) => wireRoundTrip(toData([{ dtype: 'string', data: elements }]).data).items[0].kind;
  const cycle = (length, distinct) => Array.from({ length }, (_, i) => `v${i % distinct}`);
  assert.equal(kindOf(cycle(16, 8)), 'codedStrings');
  assert.equal(kindOf(cycle(16, 9)), 'strings');
  assert.equal(kindOf(cycle(15, 1)), 'strings');
  assert.equal(kindOf(new Array(16).fill(null)), 'codedStrings');  // all NA: no values at all
  for (const elements of [cycle(16, 8), cycle(16, 9), cycle(15, 1), new Array(16).fill(null)]) {
    const value = { dtype: 'string', shape: [elements.length], data: elements };
    assert.deepEqual(roundTrip(value), value);
  }
});

test('dictionary form: Buffers (bytes that are not UTF-8) keep apart from strings and from each other', () => {
  // "ÿ" is the latin1 reading of the byte 0xff: the Buffer and the string are two values.
  const elements = [];
  for (let i = 0; i < 6; i++) elements.push('ÿ', Buffer.from([0xff]), null, Buffer.from([0x61, 0xfe]));
  const value = { dtype: 'string', shape: [elements.length], data: elements };
  const item = wireRoundTrip(toData([value]).data).items[0];
  assert.equal(item.kind, 'codedStrings');
  assert.deepEqual(item.codedStrings.values, [Buffer.from('ÿ'), Buffer.from([0xff]), Buffer.from([0x61, 0xfe])]);
  const back = roundTrip(value);
  assert.deepEqual(back, value);
  assert.equal(back.data[0], 'ÿ');
  assert.ok(Buffer.isBuffer(back.data[1]));
  // Each element has its own Buffer, as in a StringArray.
  assert.notEqual(back.data[1], back.data[5]);
});

test('dictionary form: character matrices, data frame columns, names', () => {
  // A 4x5 matrix of two strings: codes in R's column-major order, elements back row-major.
  const matrix = { dtype: 'string', shape: [4, 5], data: Array.from({ length: 20 }, (_, i) => (i < 5 ? 'top' : 'rest')) };
  const item = wireRoundTrip(toData([matrix]).data).items[0];
  assert.equal(item.kind, 'codedStrings');
  assert.deepEqual(item.codedStrings.shape, [4, 5]);
  const codes = new Int32Array(Uint8Array.from(item.codedStrings.codes).buffer);
  assert.deepEqual([...codes.subarray(0, 8)], [0, 1, 1, 1, 0, 1, 1, 1]);  // column by column
  assert.deepEqual(roundTrip(matrix), matrix);

  const rows = 40;
  const frame = {
    columns: {
      s: Array.from({ length: rows }, (_, i) => (i % 5 === 4 ? null : ['alpha', 'beta'][i % 2])),
      x: new Float64Array(rows).map((_, i) => i / 2),
    },
    rowNames: Array.from({ length: rows }, (_, i) => `r${i}`),  // all distinct: a StringArray
  };
  const { data } = toData([frame]);
  const message = data.items[0].dataFrame;
  assert.ok(data.items[message.columns[0]].codedStrings);
  assert.ok(data.items[message.rowNames].strings);
  assert.deepEqual(roundTrip(frame), { ...frame, rowCount: rows });

  const named = { dtype: 'float64', shape: [16], data: new Float64Array(16), names: new Array(16).fill('same') };
  assert.ok(toData([named]).data.items[1].codedStrings);
  assert.deepEqual(roundTrip(named), named);
});

test('CodedStrings from the server: NA, codes unaligned in the message, an empty array', () => {
  const coded = { codedStrings: { values: [Buffer.from('x'), Buffer.from('y')], codes: codeBytes([1, -1, 0, 1]) } };
  const expected = { dtype: 'string', shape: [4], data: ['y', null, 'x', 'y'] };
  assert.deepEqual(load([coded]), expected);

  // Codes that do not start at a multiple of 4 in the received message are copied.
  const decoded = wireRoundTrip({ items: [coded], roots: [0] });
  const unaligned = Buffer.alloc(17).subarray(1);
  decoded.items[0].codedStrings.codes.copy(unaligned);
  decoded.items[0].codedStrings.codes = unaligned;
  assert.deepEqual(fromData(decoded)[0], expected);

  assert.deepEqual(load([{ codedStrings: { values: [], codes: Buffer.alloc(0) } }]), { dtype: 'string', shape: [0], data: [] });
  // Names, levels and data frame columns may come in this form too.
  const names = { codedStrings: { values: [Buffer.from('k')], codes: codeBytes([0, 0]) } };
  const list = load([{ list: { items: [1, 1] }, names: 2 }, { number: 1 }, names]);
  assert.deepEqual(list.names, ['k', 'k']);
});

test('CodedStrings with codes outside the values, or not whole int32s, are refused naming the item', () => {
  const coded = (values, codes) => ({ codedStrings: { values: values.map((s) => Buffer.from(s)), codes } });
  assert.throws(() => load([coded(['a', 'b'], codeBytes([0, 2]))]),
    { message: 'seriald: string item 0: element 1 has code 2, outside -1 .. 1' });
  assert.throws(() => load([coded(['a'], codeBytes([-2]))]),
    { message: 'seriald: string item 0: element 0 has code -2, outside -1 .. 0' });
  assert.throws(() => load([coded([], codeBytes([0]))]),
    { message: 'seriald: string item 0: element 0 has code 0, outside -1 .. -1' });
  assert.throws(() => load([coded(['a'], Buffer.alloc(6))]),
    { message: 'seriald: the codes of string item 0 hold 6 bytes, not a whole number of int32s' });
  // As the names of a list, the names' own item is named.
  assert.throws(() => load([{ list: { items: [1] }, names: 2 }, { number: 1 }, coded(['a'], codeBytes([3]))]),
    { message: 'seriald: string item 2: element 0 has code 3, outside -1 .. 0' });
  // A StringArray's NA indices stay within its values.
  assert.throws(() => load([strings(['a'], [1])]), { message: 'seriald: string item 0 marks element 1 of 1 NA' });
});

// The Node client's convert() against a real seriald (started here on a free port): Torch7 corpus
// models converted to safetensors and read back by a safetensors parser written here (Buffer,
// JSON.parse, TypedArrays), with every name, dtype, shape and element checked against the
// corpus's expected dumps (../shared/corpus/torch7/expected, written by t7dump, not by seriald);
// the notes, unary and streamed; strict, dropUnconvertible and allowInexactIntegers; dump and
// load of array files.
//
// Run: SERIALD_BIN=build/bin/seriald node --test test/export.test.js     (from client/node)
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { SerialdClient, SerialdError } = require('..');
const { TORCH7_CORPUS, startServer } = require('./helpers');

// safetensors dtype -> TypedArray (F16 as its bit patterns).
const SAFETENSORS_TYPES = {
  F64: Float64Array, F32: Float32Array, F16: Uint16Array, I64: BigInt64Array, I32: Int32Array,
  I16: Int16Array, I8: Int8Array, U8: Uint8Array, BOOL: Uint8Array,
};
// Torch7 class stem -> the safetensors dtype its tensors must be written as.
const TORCH_DTYPES = {
  Double: 'F64', Float: 'F32', Half: 'F16', Long: 'I64', Int: 'I32', Short: 'I16', Char: 'I8', Byte: 'U8',
};
const SPECIAL_NUMBERS = { nan: NaN, inf: Infinity, '-inf': -Infinity, '-0.0': -0 };

const CHECKPOINT_NOTES = [
  'skipped epoch (a number): not an array',
  'skipped model._type (a string): not an array',
  'skipped opt.lr (a number): not an array',
  'skipped opt.name (a string): not an array',
];

function corpus(file) {
  return path.join(TORCH7_CORPUS, file);
}

// An independent safetensors reader: a little-endian u64 header length, a JSON header of
// name -> {dtype, shape, data_offsets} (and maybe __metadata__), then the data, row-major.
function parseSafetensors(buffer) {
  const headerLength = Number(buffer.readBigUInt64LE(0));
  const header = JSON.parse(buffer.subarray(8, 8 + headerLength).toString('utf8'));
  delete header.__metadata__;
  const body = buffer.subarray(8 + headerLength);
  const tensors = new Map();
  for (const [name, entry] of Object.entries(header)) {
    const [begin, end] = entry.data_offsets;
    const Type = SAFETENSORS_TYPES[entry.dtype];
    assert.ok(Type, `${name}: unknown dtype ${entry.dtype}`);
    const count = entry.shape.reduce((a, b) => a * b, 1);
    assert.equal(end - begin, count * Type.BYTES_PER_ELEMENT, `${name}: data_offsets ${begin}..${end}`);
    assert.ok(end <= body.length, `${name} ends past the file`);
    const bytes = new Uint8Array(end - begin);  // a copy, aligned for any TypedArray
    bytes.set(body.subarray(begin, end));
    tensors.set(name, { dtype: entry.dtype, shape: entry.shape, begin, end, data: new Type(bytes.buffer) });
  }
  return { headerLength, bodyLength: body.length, tensors };
}

// The header is padded so that the data starts 8-aligned; the arrays' data is contiguous, from
// 0 to the end of the file.
function assertLayout({ headerLength, bodyLength, tensors }) {
  assert.equal(headerLength % 8, 0, `header of ${headerLength} bytes`);
  let position = 0;
  for (const { begin, end } of [...tensors.values()].sort((a, b) => a.begin - b.begin || a.end - b.end)) {
    assert.equal(begin, position);
    position = end;
  }
  assert.equal(position, bodyLength);
}

// IEEE half-precision bits -> number.
function halfToNumber(bits) {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

// A Torch7 file's expected dump (t7dump's JSON), with its "$id" objects indexed.
function expectedDump(file) {
  const name = file.replace('/', '_');
  const root = JSON.parse(fs.readFileSync(path.join(TORCH7_CORPUS, 'expected', `${name}.json`), 'utf8'));
  const ids = new Map();
  const stack = [root];
  while (stack.length) {
    const node = stack.pop();
    if (Array.isArray(node)) stack.push(...node);
    else if (node && typeof node === 'object') {
      if ('$id' in node) ids.set(node.$id, node);
      for (const [key, value] of Object.entries(node)) if (key !== 'data') stack.push(value);
    }
  }
  const resolve = (node) => (node && typeof node === 'object' && '$ref' in node ? ids.get(node.$ref) : node);
  return { root, resolve };
}

// The node at a dotted path ("model.weight", "modules.1.output", "arr_0" for the root) of a dump:
// table entries and class object fields by key.
function lookup({ root, resolve }, name) {
  let node = resolve(root);
  if (name === 'arr_0') return node;
  for (const key of name.split('.')) {
    const entries = node.$table || resolve(node.fields).$table;
    const entry = entries.find(([k]) => String(resolve(k)) === key);
    assert.ok(entry, `no key ${key} of ${name} in the expected dump`);
    node = resolve(entry[1]);
  }
  return node;
}

// {dtype, shape, values} of a tensor node: element [i, j, ...] is
// storage[offset - 1 + i*stride0 + j*stride1 ...] (undefined past the 64 elements a dump lists);
// a tensor without size or storage is empty.
function expectedTensor(node, resolve) {
  const match = /^torch\.(\w+)Tensor$/.exec(node.$class);
  assert.ok(match, `${node.$class} is not a tensor class`);
  const dtype = TORCH_DTYPES[match[1]];
  const storage = resolve(node.storage);
  if (!storage || node.size.length === 0) return { dtype, shape: [0], values: [] };
  const values = [];
  const index = node.size.map(() => 0);
  const count = node.size.reduce((a, b) => a * b, 1);
  for (let n = 0; n < count; n++) {
    let position = node['storageOffset(1-based)'] - 1;
    index.forEach((i, d) => { position += i * node.stride[d]; });
    const value = storage.data[position];
    values.push(typeof value === 'string' ? SPECIAL_NUMBERS[value] : value);
    for (let d = index.length - 1; d >= 0; d--) {  // row-major: the last index moves fastest
      if (++index[d] < node.size[d]) break;
      index[d] = 0;
    }
  }
  return { dtype, shape: node.size, values };
}

function assertTensorEqual(actual, expected, where) {
  assert.equal(actual.dtype, expected.dtype, `${where}: dtype`);
  assert.deepEqual(actual.shape, expected.shape, `${where}: shape`);
  assert.equal(actual.data.length, expected.values.length, `${where}: element count`);
  let compared = 0;
  expected.values.forEach((value, i) => {
    if (value === undefined) return;
    compared++;
    let got = actual.data[i];
    if (actual.dtype === 'I64') value = BigInt(value);
    else if (actual.dtype === 'F32') value = Math.fround(value);
    else if (actual.dtype === 'F16') got = halfToNumber(got);
    assert.ok(Object.is(got, value), `${where}: element ${i} is ${got}, expected ${value}`);
  });
  return compared;
}

let server;
let client;
let streaming;

test.before(async () => {
  server = await startServer();
  client = new SerialdClient(server.address, { timeoutMs: 60000 });
  // Everything through ConvertStream, in 64-byte chunks.
  streaming = new SerialdClient(server.address, { timeoutMs: 60000, streamThreshold: 0, chunkBytes: 64 });
});

test.after(async () => {
  if (client) client.close();
  if (streaming) streaming.close();
  if (server) await server.stop();
});

test('a Torch7 checkpoint to safetensors: names, dtypes, shapes, values and notes', async () => {
  const file = 'generated/checkpoint_like.bin.t7';
  const dump = expectedDump(file);
  for (const [which, c] of [['unary', client], ['stream', streaming]]) {
    const { data, notes, inputFormat } = await c.convert(corpus(file), 'safetensors');
    assert.ok(Buffer.isBuffer(data));
    assert.equal(inputFormat, 't7');
    assert.deepEqual(notes, CHECKPOINT_NOTES, which);
    const parsed = parseSafetensors(data);
    assertLayout(parsed);
    assert.deepEqual([...parsed.tensors.keys()].sort(), [
      'losses', 'model.bias', 'model.gradBias', 'model.gradInput', 'model.gradWeight', 'model.output', 'model.weight',
    ]);
    for (const [name, tensor] of parsed.tensors) {
      assertTensorEqual(tensor, expectedTensor(lookup(dump, name), dump.resolve), `${which} ${name}`);
    }
    // Spot checks straight from CORPUS.md: weight {{.1,.2,.3},{.4,.5,.6}}, losses {0.9,0.5,0.25}.
    assert.deepEqual([...parsed.tensors.get('model.weight').data], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
    assert.deepEqual(parsed.tensors.get('model.weight').shape, [2, 3]);
    assert.deepEqual([...parsed.tensors.get('losses').data], [0.9, 0.5, 0.25]);
    assert.deepEqual(parsed.tensors.get('model.output').shape, [0]);
  }
});

test('every element type, strided views and shared tensors, against the expected dumps', async () => {
  const files = [
    'generated/tensor_double_2x3.bin.t7', 'generated/tensor_float_2x3.ascii.t7', 'generated/tensor_half_2x3.bin.t7',
    'generated/tensor_byte_2x3.bin.t7', 'generated/tensor_char_2x3.bin.t7', 'generated/tensor_short_2x3.bin.t7',
    'generated/tensor_int_2x3.bin.t7', 'generated/tensor_long_2x3.bin.t7', 'generated/tensor_long_2x3.long4.bin.t7',
    'generated/tensor_float_3d.bin.t7', 'generated/tensor_transposed.bin.t7', 'generated/tensor_narrow_offset.bin.t7',
    'generated/tensor_select_1d.bin.t7', 'generated/tensor_empty.bin.t7', 'generated/nn_linear_float.bin.t7',
    'generated/nn_sequential.bin.t7', 'generated/tensors_shared_storage.bin.t7', 'opencv_ascii/net_softmax_net.txt',
    'tutorials/X.t7',
  ];
  let elements = 0;
  for (const file of files) {
    const dump = expectedDump(file);
    const { data } = await client.convert(fs.readFileSync(corpus(file)), 'safetensors');
    const parsed = parseSafetensors(data);
    assertLayout(parsed);
    assert.ok(parsed.tensors.size > 0, file);
    for (const [name, tensor] of parsed.tensors) {
      elements += assertTensorEqual(tensor, expectedTensor(lookup(dump, name), dump.resolve), `${file} ${name}`);
    }
  }
  assert.ok(elements > 150, `${elements} elements compared`);
  // tutorials/X.t7 (CORPUS.md): a 32x32 image of 0 and 1 summing to 769, of which the dump lists
  // 64 elements.
  const exported = async (file) => parseSafetensors((await client.convert(corpus(file), 'safetensors')).data);
  const image = (await exported('tutorials/X.t7')).tensors.get('arr_0');
  assert.deepEqual(image.shape, [32, 32]);
  assert.ok(image.data.every((x) => x === 0 || x === 1));
  assert.equal(image.data.reduce((a, b) => a + b, 0), 769);

  // The transpose of {{1,2,3},{4,5,6}} is written row-major; a LongTensor keeps 64 bits.
  const transposed = await exported('generated/tensor_transposed.bin.t7');
  assert.deepEqual([...transposed.tensors.get('arr_0').data], [1, 4, 2, 5, 3, 6]);
  const long = await exported('generated/tensor_long_2x3.bin.t7');
  assert.deepEqual([...long.tensors.get('arr_0').data], [-5000000000n, 2n, 3n, 4n, 5n, 9007199254740992n]);
});

test('shared arrays are written once and named in the notes', async () => {
  const { data, notes } = await client.convert(corpus('generated/nn_sequential.bin.t7'), 'safetensors');
  const names = [...parseSafetensors(data).tensors.keys()];
  assert.ok(names.includes('gradInput') && !names.includes('modules.1.gradInput'), names.join(' '));
  const repeat = 'modules.1.gradInput is the same array as gradInput, written once under that name';
  assert.ok(notes.includes(repeat), notes.join('\n'));
  assert.ok(notes.includes('skipped modules.2.inplace (a boolean): not an array'), notes.join('\n'));
});

test('strict refuses what is not an array, naming it', async () => {
  for (const c of [client, streaming]) {
    await assert.rejects(c.convert(corpus('generated/checkpoint_like.bin.t7'), 'npz', { strict: true }), (error) => {
      assert.ok(error instanceof SerialdError);
      assert.equal(error.codeName, 'INVALID_ARGUMENT');
      assert.match(error.details, /^epoch \(a number\) is not an array/);
      return true;
    });
  }
  await assert.rejects(client.dump({ w: new Float64Array([1]), name: 'x' }, 'safetensors', { strict: true }),
    /name \(a string\) is not an array/);
});

test('Torch7 to R: dropUnconvertible leaves out a function, with a note', async () => {
  const file = corpus('generated/function_upvalues.bin.t7');
  await assert.rejects(client.convert(file, 'rds'), /R cannot hold/);
  const { data, notes, inputFormat } = await client.convert(file, 'rds', { dropUnconvertible: true });
  assert.equal(inputFormat, 't7');
  assert.equal(notes.length, 1);
  assert.match(notes[0], /^left out the root \(a Lua function/);
  assert.equal(await client.load(data), null);
  // Same family: no notes; the input format can be named.
  const ascii = await client.convert(corpus('generated/checkpoint_like.bin.t7'), 't7-ascii', { from: 't7' });
  assert.deepEqual(ascii.notes, []);
  assert.equal(ascii.data.subarray(0, 2).toString(), '3\n');
});

test('allowInexactIntegers rounds int64 beyond 2^53 into R, with a note', async () => {
  const beyond = { dtype: 'int64', shape: [2], data: new BigInt64Array([2n ** 53n + 1n, 5n]) };
  const st = await client.dump({ x: beyond }, 'safetensors');
  await assert.rejects(client.convert(st, 'rds'), /beyond 2\^53/);
  const { data, notes } = await client.convert(st, 'rds', { allowInexactIntegers: true });
  assert.deepEqual(notes, ['x: 1 int64 elements beyond 2^53 rounded to the nearest double']);
  const loaded = await client.load(data);
  assert.equal(loaded.x.dtype, 'float64');
  assert.deepEqual([...loaded.x.data], [2 ** 53, 5]);
});

test('dump writes array files, load reads them', async () => {
  const value = {
    model: { weight: { dtype: 'float32', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) } },
    steps: new BigInt64Array([3n, -4n]),
    mask: { dtype: 'uint8', shape: [2, 2], data: new Uint8Array([1, 0, 0, 1]) },
  };
  const parsed = parseSafetensors(await client.dump(value, 'safetensors'));
  assertLayout(parsed);
  assert.deepEqual([...parsed.tensors.keys()].sort(), ['mask', 'model.weight', 'steps']);
  assert.equal(parsed.tensors.get('model.weight').dtype, 'F32');
  assert.deepEqual(parsed.tensors.get('model.weight').shape, [2, 3]);
  assert.deepEqual([...parsed.tensors.get('model.weight').data], [1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...parsed.tensors.get('steps').data], [3n, -4n]);
  for (const format of ['npz', 'npz-compressed', 'safetensors']) {
    const loaded = await client.load(await client.dump(value, format));
    assert.deepEqual(Object.keys(loaded).sort(), ['mask', 'model.weight', 'steps'], format);
    assert.equal(loaded['model.weight'].dtype, 'float32');
    assert.deepEqual(loaded['model.weight'].shape, [2, 3]);
    assert.deepEqual([...loaded['model.weight'].data], [1, 2, 3, 4, 5, 6]);
    assert.deepEqual([...loaded.steps.data], [3n, -4n]);
  }
  // npy: one array; a column-major R matrix comes back row-major.
  const rMatrix = await client.dump({ dtype: 'float64', shape: [2, 2], data: new Float64Array([1, 2, 3, 4]) }, 'rds');
  const npy = await client.convert(rMatrix, 'npy');
  assert.equal(npy.inputFormat, 'rds');
  const matrix = await client.load(npy.data);
  assert.deepEqual(matrix.shape, [2, 2]);
  assert.deepEqual([...matrix.data], [1, 2, 3, 4]);
  await assert.rejects(client.dump(value, 'npy'), /an npy file holds one array/);
});

test('unknown formats are refused before any call', async () => {
  await assert.rejects(client.convert(Buffer.from('x'), 'npz5'), TypeError);
  await assert.rejects(client.convert(Buffer.from('x'), 'npz', { from: 'h5' }), TypeError);
});

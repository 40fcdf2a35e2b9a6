// The Node client against a real seriald (started here on a free port): real Torch7 files from
// the shared corpus, R data frames written and checked by R itself, dump/load round trips,
// streaming, and the typed errors.
//
// Run: SERIALD_BIN=build/bin/seriald node --test test/client.test.js     (from client/node)
// (SERIALD_BIN defaults to <repo>/build/bin/seriald, SERIALD_SHARED_DIR to <repo>/../shared.)
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { SerialdClient, SerialdError, toData } = require('..');
const { TORCH7_CORPUS, startServer, runR, tempDir, makeCertificates } = require('./helpers');

const NA_INTEGER = -2147483648;
const NA_REAL_BITS = 0x7ff00000000007a2n;

function corpus(file) {
  return path.join(TORCH7_CORPUS, file);
}

function naReal() {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, NA_REAL_BITS, true);
  return view.getFloat64(0, true);
}

function bitsOf(number) {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, number, true);
  return view.getBigUint64(0, true);
}

function assertClose(actual, expected, tolerance = 1e-6) {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance, `element ${i}: ${actual[i]} != ${expected[i]}`);
  }
}

let server;
let client;
let scratch;

test.before(async () => {
  server = await startServer();
  client = new SerialdClient(server.address, { timeoutMs: 60000 });
  scratch = tempDir();
});

test.after(async () => {
  if (client) client.close();
  if (server) await server.stop();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

test('a Torch7 DoubleTensor 2x3 from the corpus', async () => {
  const tensor = await client.load(corpus('python-torchfile/doubletensor.t7'));
  assert.equal(tensor.dtype, 'float64');
  assert.deepEqual(tensor.shape, [2, 3]);
  assert.ok(tensor.data instanceof Float64Array);
  assert.deepEqual([...tensor.data], [1, 2, 3, 4, 5, 6.9]);
});

test('a Torch7 FloatTensor 2x3x4: sum as torchfile expects', async () => {
  const tensor = await client.load(fs.readFileSync(corpus('python-torchfile/floattensor.t7')), { format: 't7' });
  assert.equal(tensor.dtype, 'float32');
  assert.deepEqual(tensor.shape, [2, 3, 4]);
  assert.ok(tensor.data instanceof Float32Array);
  const sum = tensor.data.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - 12.97241666913) < 1e-5, `sum ${sum}`);
});

test('strided Torch7 views come row-major: transpose, narrow, select', async () => {
  const transposed = await client.load(corpus('generated/tensor_transposed.bin.t7'));
  assert.deepEqual(transposed.shape, [3, 2]);
  assert.deepEqual([...transposed.data], [1, 4, 2, 5, 3, 6]);
  const narrowed = await client.load(corpus('generated/tensor_narrow_offset.bin.t7'));
  assert.deepEqual(narrowed.shape, [2, 2]);
  assert.deepEqual([...narrowed.data], [2, 3, 5, 6]);
  const row = await client.load(corpus('generated/tensor_select_1d.ascii.t7'));
  assert.deepEqual([...row.data], [4, 5, 6]);
});

test('every Torch7 element type', async () => {
  const expected = {
    'tensor_byte_2x3.bin.t7': ['uint8', Uint8Array, [1, 2, 3, 4, 5, 6]],
    'tensor_char_2x3.bin.t7': ['int8', Int8Array, [-1, 2, -3, 4, -5, 6]],
    'tensor_short_2x3.bin.t7': ['int16', Int16Array, [-1000, 2, 3, 4, 5, 32767]],
    'tensor_int_2x3.bin.t7': ['int32', Int32Array, [-100000, 2, 3, 4, 5, 2147483647]],
    'tensor_long_2x3.bin.t7': ['int64', BigInt64Array, [-5000000000n, 2n, 3n, 4n, 5n, 9007199254740992n]],
    'tensor_half_2x3.bin.t7': ['float16', Uint16Array, [0x3c00, 0x4000, 0x4200, 0x4400, 0x4500, 0x4600]],
    'tensor_float_2x3.bin.t7': ['float32', Float32Array, [1, 2, 3, 4, 5, 6]],
  };
  for (const [file, [dtype, Typed, values]] of Object.entries(expected)) {
    const tensor = await client.load(corpus(`generated/${file}`));
    assert.equal(tensor.dtype, dtype, file);
    assert.deepEqual(tensor.shape, [2, 3], file);
    assert.ok(tensor.data instanceof Typed, file);
    assert.deepEqual([...tensor.data], values, file);
  }
});

test('Torch7 tables: a list, a map with key 0, a map with a non-number key', async () => {
  assert.deepEqual(await client.load(corpus('python-torchfile/list_table.t7')), ['hello', 'world', 'third item', 123]);
  const map = await client.load(corpus('python-torchfile/map_table1.t7'));
  assert.ok(map instanceof Map);
  assert.deepEqual([...map].sort((a, b) => a[0] - b[0]), [[0, 'zero'], [1, 'hello'], [2, 'world'], [3, 'third item'], [4, 123]]);
  const mixed = await client.load(corpus('python-torchfile/map_table2.t7'));
  assert.ok(mixed instanceof Map);
  assert.equal(mixed.get('a'), 'non number key');
  assert.equal(mixed.get(4), 123);
  assert.deepEqual(await client.load(corpus('python-torchfile/hello=123.t7')), { hello: 123 });
});

test('Torch7 class objects have their className and keep it through dump', async () => {
  const blah = await client.load(corpus('python-torchfile/custom_class.t7'));
  assert.deepEqual(blah, { className: 'Blah' });
  const again = await client.load(await client.dump(blah, 't7'));
  assert.deepEqual(again, { className: 'Blah' });

  const point = await client.load(corpus('generated/class_point.bin.t7'));
  assert.deepEqual(point, { className: 'test.Point', x: 3, y: 4 });

  const model = await client.load(corpus('python-torchfile/gmodule_with_linear_identity.t7'));
  assert.equal(model.className, 'nn.gModule');
  const linear = model.modules.find((module) => module.className === 'nn.Linear');
  assertClose(linear.weight.data, [-0.0248373, 0.17503954]);
  assert.deepEqual(linear.weight.shape, [2, 1]);
  const back = await client.load(await client.dump(model, 't7'));
  assert.equal(back.className, 'nn.gModule');
  assert.equal(back.modules.length, model.modules.length);
  assert.deepEqual(back.modules.map((m) => m.className), model.modules.map((m) => m.className));
});

test('shared objects and cycles stay shared', async () => {
  const recursive = await client.load(corpus('python-torchfile/recursive_class.t7'));
  assert.equal(recursive.className, 'A');
  assert.equal(recursive.a, recursive);
  const shared = await client.load(corpus('generated/table_shared_ref.bin.t7'));
  assert.equal(shared.a, shared.b);
  const selfKeyed = await client.load(corpus('python-torchfile/recursive_kv_table.t7'));
  assert.ok(selfKeyed instanceof Map);
  assert.equal(selfKeyed.get(selfKeyed), selfKeyed);

  const back = await client.load(await client.dump(selfKeyed, 't7'));
  assert.equal(back.get(back), back);
});

test('several objects in one Torch7 stream: loadAll and dumpAll', async () => {
  const { roots, format } = await client.loadAll(corpus('generated/multi_object.bin.t7'));
  assert.equal(format, 't7');
  assert.equal(roots.length, 4);
  assert.equal(roots[0], 'first');
  assert.deepEqual(roots[1], [2]);
  assert.deepEqual(roots[2], { v: 7 });
  assert.equal(roots[2], roots[3]);
  const again = await client.loadAll(await client.dumpAll(roots, 't7'));
  assert.equal(again.roots.length, 4);
  assert.equal(again.roots[2], again.roots[3]);
});

test('a tensor and a table dumped to t7 and t7-ascii load back unchanged', async () => {
  const tensor = { dtype: 'float32', shape: [2, 3], data: new Float32Array([1, 2.5, -3, 4, 5, 6]) };
  for (const format of ['t7', 't7-ascii']) {
    const loaded = await client.load(await client.dump(tensor, format));
    assert.equal(loaded.dtype, 'float32');
    assert.deepEqual(loaded.shape, [2, 3]);
    assert.deepEqual(loaded.data, tensor.data);
  }
  const table = { name: 'net', epoch: 3, ok: true, losses: [0.5, 0.25], nested: { deep: { value: 'x' } } };
  const bytes = await client.dump(table, 't7');
  assert.ok(Buffer.isBuffer(bytes));
  assert.deepEqual(await client.load(bytes), table);
});

test('an int64 matrix beyond 2^53 goes through t7 unchanged', async () => {
  const matrix = { dtype: 'int64', shape: [3, 2], data: new BigInt64Array([1n, -2n, 3n, 4n, 5n, 9007199254740993n]) };
  const loaded = await client.load(await client.dump(matrix, 't7'));
  assert.deepEqual(loaded.shape, [3, 2]);
  assert.deepEqual([...loaded.data], [1n, -2n, 3n, 4n, 5n, 9007199254740993n]);
});

// Every file of the Torch7 corpus (functions and the Generator aside, which have no plain-data
// form and are refused by dump) loads, dumps and loads back equal; files whose tensors are
// contiguous views over their own storages come back byte for byte.
test('the whole Torch7 corpus: load, dump, load', async () => {
  let identical = 0;
  let files = 0;
  for (const dir of ['python-torchfile', 'generated', 'char_gru', 'tutorials', 'opencv_ascii']) {
    for (const name of fs.readdirSync(corpus(dir))) {
      if (!/\.t7$|_net\.txt$|_input\.txt$/.test(name)) continue;
      const file = corpus(path.join(dir, name));
      const { roots } = await client.loadAll(file);
      files++;
      if (/function|generator/.test(name)) continue;
      const format = /ascii|\.txt$/.test(name) ? 't7-ascii' : 't7';
      const bytes = await client.dumpAll(roots, format);
      assert.deepEqual((await client.loadAll(bytes)).roots, roots, file);
      if (bytes.equals(fs.readFileSync(file))) identical++;
    }
  }
  assert.equal(files, 151);
  // Not identical: non-contiguous or offset views (transposed, narrowed, selected, storages
  // shared by two tensors: a JavaScript array owns its elements), and the 4-byte-long and
  // big-endian files, written back with the defaults.
  assert.ok(identical >= 129, `${identical} of ${files} byte-identical`);
});

test('write options: Torch7 long size and byte order, R version and compression; save() files', async () => {
  for (const [file, options] of [['tensor_double_2x3.long4.bin.t7', { longSize: 4 }],
    ['tensor_double_2x3.bigendian.bin.t7', { bigEndian: true }]]) {
    const original = fs.readFileSync(corpus(`generated/${file}`));
    const value = await client.load(original, { format: 't7', ...options });
    assert.ok((await client.dump(value, 't7', options)).equals(original), file);
  }
  // torch.save(f, x, 'binary', false): a shared table written once per occurrence.
  const shared = await client.load(corpus('generated/table_shared_ref.bin.t7'));
  const unreferenced = await client.dump(shared, 't7', { unreferenced: true });
  assert.ok(unreferenced.equals(fs.readFileSync(corpus('generated/unreferenced_shared.bin.t7'))));
  const list = { a: [1, 2], b: 'x' };
  const variants = [['rds', { rVersion: 2, compress: 'gzip' }], ['rds', { compress: 'bzip2' }],
    ['rds', { compress: 'xz' }], ['rds-native', {}], ['rds-ascii', {}], ['rds-asciihex', {}]];
  for (const [i, [format, options]] of variants.entries()) {
    const bytes = await client.dump(list, format, options);
    const file = path.join(scratch, `options-${i}.rds`);
    fs.writeFileSync(file, bytes);
    // readRDS reads every encoding (XDR, native, ascii) and compression.
    assert.match(runR(`v <- readRDS("${file}"); stopifnot(identical(v, list(a = list(1, 2), b = "x"))); cat("OK\\n")`), /OK/, format);
  }
  // A save() file holds named objects: the object's keys.
  const rdata = path.join(scratch, 'objects.RData');
  fs.writeFileSync(rdata, await client.dump(list, 'rdata'));
  assert.match(runR(`load("${rdata}"); stopifnot(identical(a, list(1, 2)), identical(b, "x")); cat("OK\\n")`), /OK/);
  assert.deepEqual(Object.keys(await client.load(rdata)), ['a', 'b']);
});

// The data frame both sides build: integer, double, character, logical and factor columns with
// NA in each, a Date column, string row names.
const R_FRAME = `data.frame(
  i = c(1L, NA, 3L),
  x = c(0.5, NA, -2),
  s = c("a", NA, "c"),
  l = c(TRUE, NA, FALSE),
  f = factor(c("lo", "hi", NA), levels = c("lo", "hi")),
  d = as.Date(c("2020-01-01", NA, "1970-01-02")),
  row.names = c("r1", "r2", "r3"),
  stringsAsFactors = FALSE)`;

test('a data frame written by R loads with its columns, NA values and row names', async () => {
  const file = path.join(scratch, 'frame.rds');
  runR(`saveRDS(${R_FRAME}, "${file}")`);
  const frame = await client.load(file);
  assert.deepEqual(Object.keys(frame.columns), ['i', 'x', 's', 'l', 'f', 'd']);
  assert.deepEqual(frame.columns.i, new Int32Array([1, NA_INTEGER, 3]));
  assert.ok(frame.columns.x instanceof Float64Array);
  assert.equal(frame.columns.x[0], 0.5);
  assert.equal(bitsOf(frame.columns.x[1]), NA_REAL_BITS);
  assert.equal(frame.columns.x[2], -2);
  assert.deepEqual(frame.columns.s, ['a', null, 'c']);
  assert.deepEqual(frame.columns.l, { dtype: 'logical', shape: [3], data: new Int32Array([1, NA_INTEGER, 0]), na: true });
  assert.deepEqual(frame.columns.f, { levels: ['lo', 'hi'], codes: new Int32Array([1, 2, NA_INTEGER]), ordered: false });
  assert.equal(frame.columns.d.dtype, 'float64');
  assert.equal(frame.columns.d.temporal, 'date');
  assert.deepEqual([frame.columns.d.data[0], frame.columns.d.data[2]], [18262, 1]);
  assert.deepEqual(frame.rowNames, ['r1', 'r2', 'r3']);
  assert.equal(frame.rowCount, 3);
});

test('a data frame built in JavaScript is identical, for R, to the one R builds', async () => {
  const frame = {
    columns: {
      i: new Int32Array([1, NA_INTEGER, 3]),
      x: new Float64Array([0.5, naReal(), -2]),
      s: ['a', null, 'c'],
      l: { dtype: 'logical', shape: [3], data: new Int32Array([1, NA_INTEGER, 0]) },
      f: { levels: ['lo', 'hi'], codes: new Int32Array([1, 2, NA_INTEGER]), ordered: false },
      d: { dtype: 'float64', shape: [3], data: new Float64Array([18262, naReal(), 1]), temporal: 'date' },
    },
    rowNames: ['r1', 'r2', 'r3'],
  };
  const file = path.join(scratch, 'from-js.rds');
  fs.writeFileSync(file, await client.dump(frame, 'rds'));
  const out = runR(`a <- readRDS("${file}"); b <- ${R_FRAME}; str(a); stopifnot(identical(a, b)); cat("IDENTICAL\\n")`);
  assert.match(out, /IDENTICAL/);

  // And what load gave for R's own file goes back identical as well.
  const rFile = path.join(scratch, 'frame-again.rds');
  runR(`saveRDS(${R_FRAME}, "${rFile}")`);
  const reloaded = path.join(scratch, 'reloaded.rds');
  fs.writeFileSync(reloaded, await client.dump(await client.load(rFile), 'rds'));
  assert.match(runR(`stopifnot(identical(readRDS("${reloaded}"), ${R_FRAME})); cat("IDENTICAL\\n")`), /IDENTICAL/);
});

// R values of every other kind the mapping has, with names, dimnames, classes and attributes.
const R_VALUES = `list(
  m = matrix(1:6, 2),
  cm = matrix(c("a", "b", "c", "d"), 2),
  dm = matrix(c(1.5, 2.5, 3.5, 4.5), 2, dimnames = list(rows = c("r1", "r2"), c("c1", "c2"))),
  named = c(a = 1L, b = NA),
  raw = as.raw(c(1, 255)),
  nothing = NULL,
  flag = TRUE,
  z = complex(real = 1, imaginary = -1),
  when = as.POSIXct(c(0, 86400.5), origin = "1970-01-01", tz = "Europe/Paris"),
  size = structure(c(1, 2), units = "cm"),
  grade = factor(c("b", "a"), levels = c("a", "b"), ordered = TRUE),
  unnamed = list(1, "x"),
  fit = structure(list(coef = 2.5), class = "myfit"))`;

test('R values: matrices, names, dimnames, dates, factors, attributes, classes', async () => {
  const file = path.join(scratch, 'values.rds');
  runR(`saveRDS(${R_VALUES}, "${file}")`);
  const value = await client.load(file);
  assert.deepEqual(Object.keys(value), ['m', 'cm', 'dm', 'named', 'raw', 'nothing', 'flag', 'z', 'when', 'size',
    'grade', 'unnamed', 'fit']);
  // R's column-major matrix(1:6, 2) is rows (1, 3, 5) and (2, 4, 6).
  assert.deepEqual(value.m, { dtype: 'int32', shape: [2, 3], data: new Int32Array([1, 3, 5, 2, 4, 6]) });
  assert.deepEqual(value.cm, { dtype: 'string', shape: [2, 2], data: ['a', 'c', 'b', 'd'] });
  assert.deepEqual(value.dm.data, new Float64Array([1.5, 3.5, 2.5, 4.5]));
  assert.deepEqual(value.dm.dimNames, Object.assign([['r1', 'r2'], ['c1', 'c2']], { names: ['rows', ''] }));
  assert.deepEqual(value.named, { dtype: 'int32', shape: [2], data: new Int32Array([1, NA_INTEGER]), na: true, names: ['a', 'b'] });
  assert.deepEqual(value.raw, Buffer.from([1, 255]));
  assert.equal(value.nothing, null);
  assert.deepEqual(value.flag, { dtype: 'logical', shape: [1], data: new Int32Array([1]) });
  assert.deepEqual(value.z, { dtype: 'complex128', shape: [1], data: new Float64Array([1, -1]) });
  assert.deepEqual(value.when, { dtype: 'float64', shape: [2], data: new Float64Array([0, 86400.5]), temporal: 'datetime', timezone: 'Europe/Paris' });
  // R has no scalars: "cm" is a character vector of length 1.
  assert.deepEqual(value.size.attributes, { units: { dtype: 'string', shape: [1], data: ['cm'] } });
  assert.deepEqual(value.grade, { levels: ['a', 'b'], codes: new Int32Array([2, 1]), ordered: true });
  assert.deepEqual(value.unnamed, [{ dtype: 'float64', shape: [1], data: new Float64Array([1]) }, { dtype: 'string', shape: [1], data: ['x'] }]);
  assert.equal(value.fit.className, 'myfit');
  assert.deepEqual(value.fit.coef.data, new Float64Array([2.5]));

  const back = path.join(scratch, 'values-back.rds');
  fs.writeFileSync(back, await client.dump(value, 'rds'));
  const out = runR(`v <- readRDS("${back}"); o <- ${R_VALUES}; for (n in names(o)) if (!identical(v[[n]], o[[n]])) { cat("DIFFERS", n, "\\n"); str(v[[n]]); str(o[[n]]) }; stopifnot(identical(v, o)); cat("IDENTICAL\\n")`);
  assert.match(out, /IDENTICAL/);
});

// A data frame whose character column repeats three strings and NA (the server sends it in
// dictionary form, as a CodedStrings item) beside one whose strings are all distinct (a
// StringArray), and a factor.
const R_REPEATED_FRAME = `data.frame(
  s = rep(c("alpha", NA, "beta", "gamma"), 25),
  u = sprintf("u%03d", 1:100),
  f = factor(rep(c("x", "y"), 50)),
  stringsAsFactors = FALSE)`;

function repeatedFrameColumns() {
  return {
    s: Array.from({ length: 100 }, (_, i) => ['alpha', null, 'beta', 'gamma'][i % 4]),
    u: Array.from({ length: 100 }, (_, i) => `u${String(i + 1).padStart(3, '0')}`),
  };
}

test('a repeated string column written by R comes in dictionary form and loads with its values and NA', async () => {
  const file = path.join(scratch, 'repeated.rds');
  runR(`saveRDS(${R_REPEATED_FRAME}, "${file}")`);
  const bytes = fs.readFileSync(file);

  // On the wire: the repeated column as CodedStrings, the distinct one as a StringArray.
  const response = await client.unary('Deserialize', { data: bytes, options: { view: 'VIEW_DATA', stringCodes: true } });
  const { items } = response.data;
  const columns = items[response.data.roots[0]].dataFrame.columns;
  assert.equal(items[columns[0]].kind, 'codedStrings');
  assert.deepEqual(items[columns[0]].codedStrings.values.map(String), ['alpha', 'beta', 'gamma']);
  assert.equal(items[columns[1]].kind, 'strings');

  const expected = repeatedFrameColumns();
  const streaming = new SerialdClient(server.address, { streamThreshold: 64, chunkBytes: 100 });
  try {
    for (const caller of [client, streaming]) {
      const frame = await caller.load(bytes);
      assert.deepEqual(frame.columns.s, expected.s);
      assert.deepEqual(frame.columns.u, expected.u);
      assert.deepEqual(frame.columns.f.levels, ['x', 'y']);
      assert.equal(frame.rowCount, 100);
      // Written back (the column in dictionary form, unary and streamed), R reads the same frame.
      const back = path.join(scratch, 'repeated-back.rds');
      fs.writeFileSync(back, await caller.dump(frame, 'rds'));
      assert.match(runR(`stopifnot(identical(readRDS("${back}"), ${R_REPEATED_FRAME})); cat("IDENTICAL\\n")`), /IDENTICAL/);
    }
  } finally {
    streaming.close();
  }
  assert.ok(await server.waitForLog(/method=DeserializeStream .*status=OK/));
  assert.ok(await server.waitForLog(/method=SerializeStream .*status=OK/));
});

test('strings dumped in dictionary form load back the same', async () => {
  const rows = 64;
  const elements = Array.from({ length: rows }, (_, i) => ['red', 'green', null, 'bleu ✓'][i % 4]);
  const value = {
    frame: { columns: { colour: elements, n: new Int32Array(rows).map((_, i) => i) } },
    matrix: { dtype: 'string', shape: [8, 4], data: elements.slice(0, 32) },
    named: { dtype: 'float64', shape: [rows], data: new Float64Array(rows), names: elements.map((x) => x ?? 'na') },
    bytes: { dtype: 'string', shape: [rows], data: elements.map((x, i) => (i % 8 === 0 ? Buffer.from([0xff, i % 3]) : x)) },
  };
  const { data } = toData([value]);
  assert.ok(data.items.filter((item) => item.codedStrings).length >= 4, 'the strings went in dictionary form');
  const loaded = await client.load(await client.dump(value, 'rds'));
  assert.deepEqual(loaded.frame.columns, value.frame.columns);
  assert.deepEqual(loaded.matrix, value.matrix);
  assert.deepEqual(loaded.named, value.named);
  assert.deepEqual(loaded.bytes, value.bytes);
  // For R: the same as the frame it builds itself.
  const file = path.join(scratch, 'coded-from-js.rds');
  fs.writeFileSync(file, await client.dump(value.frame, 'rds'));
  const rFrame = 'data.frame(colour = rep(c("red", "green", NA, "bleu \\u2713"), 16), n = 0:63, stringsAsFactors = FALSE)';
  assert.match(runR(`stopifnot(identical(readRDS("${file}"), ${rFrame})); cat("IDENTICAL\\n")`), /IDENTICAL/);
});

test('large arrays stream both ways', async () => {
  const streaming = new SerialdClient(server.address, { streamThreshold: 64 * 1024, chunkBytes: 100 * 1000 });
  try {
    const rows = 500;
    const columns = 300;
    const data = new Float64Array(rows * columns).map((_, i) => i * 0.5);
    const bytes = await streaming.dump({ dtype: 'float64', shape: [rows, columns], data }, 't7');
    assert.ok(bytes.length > data.byteLength);
    const loaded = await streaming.load(bytes);
    assert.deepEqual(loaded.shape, [rows, columns]);
    assert.deepEqual(loaded.data, data);
    assert.equal(loaded.data.byteOffset % 8, 0);
    assert.ok(await server.waitForLog(/method=SerializeStream .*status=OK/), 'dump used SerializeStream');
    assert.ok(await server.waitForLog(/method=DeserializeStream .*status=OK/), 'load used DeserializeStream');
  } finally {
    streaming.close();
  }
});

test('inspect: the format, the facts and the printed tree, unary and streamed', async () => {
  const file = corpus('python-torchfile/doubletensor.t7');
  const unary = await client.inspect(file);
  assert.equal(unary.format, 't7');
  assert.equal(unary.nodeCount, 4);
  assert.equal(unary.rootCount, 1);
  assert.deepEqual(unary.firstRoots, [0]);
  assert.equal(unary.summary, 'DoubleTensor - size: 2x3\n');
  assert.equal(unary.source.torch7.longSize, 8);
  const streaming = new SerialdClient(server.address, { streamThreshold: 0, chunkBytes: 16 });
  try {
    assert.deepEqual(await streaming.inspect(fs.readFileSync(file)), unary);
    assert.ok(await server.waitForLog(/method=InspectStream .*status=OK/), 'inspect used InspectStream');
    // A bad input fails as load's does: INVALID_ARGUMENT with the byte offset.
    const garbage = Buffer.concat([Buffer.from([4, 0, 0, 0]), Buffer.from('not really a torch table')]);
    for (const caller of [client, streaming]) {
      await assert.rejects(caller.inspect(garbage, { format: 't7' }), (error) => {
        assert.ok(error instanceof SerialdError);
        assert.equal(error.code, 3);
        assert.equal(error.byteOffset, 8);
        return true;
      });
    }
  } finally {
    streaming.close();
  }
});

test('a unary call the server finds too large is retried as a stream', async () => {
  const small = await startServer(['--max-message-bytes', '65536']);
  const unaryFirst = new SerialdClient(small.address);
  try {
    const data = new Float32Array(100000).map((_, i) => i);
    const bytes = await unaryFirst.dump({ dtype: 'float32', shape: [data.length], data }, 't7');
    const loaded = await unaryFirst.load(bytes);
    assert.deepEqual(loaded.data, data);
    // Both calls were first refused as unary calls, then went through as streams.
    assert.ok(await small.waitForLog(/method=Serialize .*status=RESOURCE_EXHAUSTED/));
    assert.ok(await small.waitForLog(/method=SerializeStream .*status=OK/));
    assert.ok(await small.waitForLog(/method=Deserialize .*status=RESOURCE_EXHAUSTED/));
    assert.ok(await small.waitForLog(/method=DeserializeStream .*status=OK/));
    const inspected = await unaryFirst.inspect(bytes);
    assert.equal(inspected.summary, 'FloatTensor - size: 100000\n');
    assert.ok(await small.waitForLog(/method=Inspect .*status=RESOURCE_EXHAUSTED/));
    assert.ok(await small.waitForLog(/method=InspectStream .*status=OK/));
  } finally {
    unaryFirst.close();
    await small.stop();
  }
});

test('TLS and mutual TLS', async () => {
  const certs = makeCertificates(scratch);
  const secure = await startServer(['--tls-cert', certs.serverCert, '--tls-key', certs.serverKey,
    '--tls-client-ca', certs.ca]);
  const withCertificate = new SerialdClient(secure.address, {
    tlsCa: certs.ca, tlsCert: certs.clientCert, tlsKey: fs.readFileSync(certs.clientKey), timeoutMs: 20000,
  });
  const withoutCertificate = new SerialdClient(secure.address, { tlsCa: certs.ca, timeoutMs: 20000 });
  try {
    const tensor = await withCertificate.load(corpus('python-torchfile/doubletensor.t7'));
    assert.deepEqual([...tensor.data], [1, 2, 3, 4, 5, 6.9]);
    // The server asks for a client certificate signed by its CA: no certificate, no call.
    await assert.rejects(withoutCertificate.load(corpus('python-torchfile/doubletensor.t7')),
      (error) => error.code === 14);  // UNAVAILABLE
  } finally {
    withCertificate.close();
    withoutCertificate.close();
    await secure.stop();
  }
});

test('malformed input: INVALID_ARGUMENT with the byte offset and format', async () => {
  const garbage = Buffer.concat([Buffer.from([4, 0, 0, 0]), Buffer.from('not really a torch table')]);
  await assert.rejects(client.load(garbage, { format: 't7' }), (error) => {
    assert.ok(error instanceof SerialdError);
    assert.equal(error.code, 3);
    assert.equal(error.codeName, 'INVALID_ARGUMENT');
    assert.equal(error.format, 'torch7');
    assert.equal(error.byteOffset, 8);  // the 4-byte tag, then the version string's length
    assert.match(error.details, /at byte 8/);
    return true;
  });
  // Nothing recognises plain text: no byte offset, and the same through the streaming call.
  const text = Buffer.from('plain text, no format at all '.repeat(100));
  const streaming = new SerialdClient(server.address, { streamThreshold: 1024 });
  try {
    for (const caller of [client, streaming]) {
      await assert.rejects(caller.load(text), (error) => {
        assert.equal(error.code, 3);
        assert.equal(error.byteOffset, null);
        assert.match(error.details, /looks like text/);
        return true;
      });
    }
  } finally {
    streaming.close();
  }
  // What has no plain-data form is refused by the server, naming the item.
  await assert.rejects(client.dump({ opaque: 'closure', description: 'function(x) x' }, 'rds'),
    (error) => error.code === 3 && /opaque/.test(error.details));
});

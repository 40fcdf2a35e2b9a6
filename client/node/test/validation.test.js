// The Node client takes nothing a server sends on trust: a fake server (grpc-js, in this process)
// answers DeserializeStream with headers and chunks no real seriald sends, and load() refuses
// each with an Error naming the problem, instead of allocating what the server claims or
// returning arrays with bytes that never arrived. StreamedArrays (lib/assembly.js) on its own:
// what it allocates and what it hands out. No seriald binary needed.
//
// Run: node --test test/validation.test.js     (from client/node)
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const grpc = require('@grpc/grpc-js');
const { SerialdClient } = require('..');
const { serializerClient } = require('../lib/protos');
const { StreamedArrays } = require('../lib/assembly');

const MALFORMED = 'seriald: malformed stream from the server';
const INPUT = Buffer.from('input');

// Starts a gRPC server whose DeserializeStream reads the whole request (kept in `requests`),
// then sends `responses` and ends the call OK. Resolves to { client, requests, stop }; the client
// streams every input, so load() takes the DeserializeStream path.
async function fakeServer(responses) {
  const server = new grpc.Server();
  const requests = [];
  server.addService(serializerClient.service, {
    DeserializeStream(call) {
      call.on('data', (request) => requests.push(request));
      call.on('end', () => {
        for (const response of responses) call.write(response);
        call.end();
      });
    },
  });
  const port = await new Promise((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(),
      (error, bound) => (error ? reject(error) : resolve(bound)));
  });
  const client = new SerialdClient(`127.0.0.1:${port}`, { streamThreshold: 0, timeoutMs: 30000 });
  return {
    client,
    requests,
    stop() {
      client.close();
      server.forceShutdown();
    },
  };
}

// What load() of a small input gives when the server answers with `responses`.
async function loadFrom(responses) {
  const fake = await fakeServer(responses);
  try {
    return await fake.client.load(INPUT);
  } finally {
    fake.stop();
  }
}

// Asserts that load() fails with an Error (not a SerialdError: the call itself went well) whose
// message is exactly `message`.
async function assertRefused(responses, message) {
  await assert.rejects(loadFrom(responses), (error) => {
    assert.equal(error.constructor, Error);
    assert.equal(error.message, message);
    return true;
  });
}

// A streamed array item (its data empty in the header), as a NdArray message.
function streamedArray(dtype, length) {
  return { array: { dtype, shape: [length], strides: [1], offset: 0, length, data: Buffer.alloc(0) } };
}

// A header whose Data is `items` with root 0, announcing `streamedArrays`.
function header(items, streamedArrays) {
  return { header: { format: 'FORMAT_T7', data: { items, roots: [0] }, streamedArrays } };
}

// A header with one array item (id 0) streamed.
function arrayHeader(dtype, length) {
  return header([streamedArray(dtype, length)], [0]);
}

function chunk(node, offset, data) {
  return { arrayChunk: { node, offset, data: Buffer.from(data) } };
}

test('a well-formed stream loads, each array exactly its bytes, aligned, in memory of its own', async () => {
  // A list of a float64 array (3 elements: 16 bytes, then 8) and a uint8 array (4 bytes).
  const doubles = Buffer.from(new Float64Array([1.5, -2, 3]).buffer);
  const responses = [
    header([{ list: { items: [1, 2] } }, streamedArray('ELEMENT_TYPE_FLOAT64', 3), streamedArray('ELEMENT_TYPE_UINT8', 4)], [1, 2]),
    chunk(1, 0, doubles.subarray(0, 16)),
    chunk(2, 0, 'ab'),
    chunk(1, 16, doubles.subarray(16)),
    chunk(2, 2, 'cd'),
  ];
  const fake = await fakeServer(responses);
  let value;
  try {
    value = await fake.client.load(INPUT);
  } finally {
    fake.stop();
  }
  const [floats, bytes] = value;
  assert.deepEqual(floats, { dtype: 'float64', shape: [3], data: new Float64Array([1.5, -2, 3]) });
  assert.equal(floats.data.byteOffset, 0);
  assert.equal(floats.data.buffer.byteLength, 24);  // no spare capacity behind the array
  assert.deepEqual(bytes, { dtype: 'uint8', shape: [4], data: new Uint8Array([97, 98, 99, 100]) });
  assert.equal(bytes.data.buffer.byteLength, 4);

  // The request: options asking for plain data (strings in dictionary form welcome), then the
  // input.
  const [first, ...rest] = fake.requests;
  assert.equal(first.options.view, 'VIEW_DATA');
  assert.equal(first.options.stringCodes, true);
  assert.equal(first.options.inputSize, INPUT.length);
  assert.deepEqual(Buffer.concat(rest.map((request) => request.chunk.data)), INPUT);
});

test('an array larger than the input grows as it arrives, in many small chunks', async () => {
  // 1000 bytes from a 5-byte input: the buffer starts small and doubles, keeping what came.
  const payload = Buffer.alloc(1000).map((_, i) => (i * 7) % 251);
  const chunks = [];
  for (let offset = 0; offset < payload.length; offset += 7) chunks.push(chunk(0, offset, payload.subarray(offset, offset + 7)));
  const value = await loadFrom([arrayHeader('ELEMENT_TYPE_UINT8', 1000), ...chunks]);
  assert.deepEqual(Buffer.from(value.data), payload);
  assert.equal(value.data.buffer.byteLength, 1000);
});

test('a huge declared length allocates nothing up front', async () => {
  // 2^60 float64 claimed (2^63 bytes), 8 sent: refused when the stream ends short, not a
  // RangeError or an allocation of the declared size.
  await assertRefused([arrayHeader('ELEMENT_TYPE_FLOAT64', 2 ** 60), chunk(0, 0, Buffer.alloc(8))],
    `${MALFORMED}: item 0 ended at 8 of 9223372036854775808 bytes`);
});

test('chunks out of place, past their array, or for an array not listed', async () => {
  const uint8Header = arrayHeader('ELEMENT_TYPE_UINT8', 4);
  const cases = [
    // Not where the array's data ends so far: a gap, then a repeat.
    [[chunk(0, 2, 'ab')], 'a chunk of 2 bytes at offset 2 for item 0'],
    [[chunk(0, 0, 'ab'), chunk(0, 0, 'ab')], 'a chunk of 2 bytes at offset 0 for item 0'],
    // Past the declared size, at once or after a first chunk.
    [[chunk(0, 0, 'abcdef')], 'a chunk of 6 bytes at offset 0 for item 0'],
    [[chunk(0, 0, 'abc'), chunk(0, 3, 'de')], 'a chunk of 2 bytes at offset 3 for item 0'],
    // An item the Data does not have, and one it has but the header did not list.
    [[chunk(5, 0, 'ab')], 'a chunk of 2 bytes at offset 0 for item 5'],
  ];
  for (const [chunks, message] of cases) await assertRefused([uint8Header, ...chunks], `${MALFORMED}: ${message}`);
  await assertRefused([header([streamedArray('ELEMENT_TYPE_UINT8', 0)], []), chunk(0, 0, 'ab')],
    `${MALFORMED}: a chunk of 2 bytes at offset 0 for item 0`);
  // A chunk before any header names no listed array either.
  await assertRefused([chunk(0, 0, 'ab'), uint8Header], `${MALFORMED}: a chunk of 2 bytes at offset 0 for item 0`);
});

test('a stream ending before its arrays are whole: the lowest item first', async () => {
  await assertRefused([arrayHeader('ELEMENT_TYPE_UINT8', 4), chunk(0, 0, 'ab')], `${MALFORMED}: item 0 ended at 2 of 4 bytes`);
  const twoArrays = header(
    [{ list: { items: [1, 2] } }, streamedArray('ELEMENT_TYPE_INT32', 2), streamedArray('ELEMENT_TYPE_UINT8', 3)], [2, 1]);
  await assertRefused([twoArrays, chunk(2, 0, 'a')], `${MALFORMED}: item 1 ended at 0 of 8 bytes`);
});

test('two headers, or none', async () => {
  const uint8Header = arrayHeader('ELEMENT_TYPE_UINT8', 2);
  await assertRefused([uint8Header, chunk(0, 0, 'ab'), uint8Header], `${MALFORMED}: a second header`);
  await assertRefused([], `${MALFORMED}: no header`);
  await assertRefused([{ header: { format: 'FORMAT_T7', streamedArrays: [] } }], `${MALFORMED}: a header without data`);
});

test('header problems: an unknown element type, an item that is not an array, listed twice', async () => {
  await assertRefused([arrayHeader(99, 2), chunk(0, 0, 'ab')], `${MALFORMED}: item 0 has unknown element type 99`);
  // The next value a newer schema could add: the client cannot size its elements.
  await assertRefused([arrayHeader(11, 2)], `${MALFORMED}: item 0 has unknown element type 11`);
  await assertRefused([header([{ number: 1 }], [0])], `${MALFORMED}: item 0 is not an array`);
  await assertRefused([header([streamedArray('ELEMENT_TYPE_UINT8', 2)], [7])], `${MALFORMED}: item 7 is not an array`);
  await assertRefused([header([streamedArray('ELEMENT_TYPE_UINT8', 2)], [0, 0])], `${MALFORMED}: item 0 streamed twice`);
});

test('StreamedArrays: memory follows what arrived, not what was declared', () => {
  const arrays = new StreamedArrays(16);
  arrays.expect(3, 2 ** 60);
  arrays.add(3, 0, Buffer.alloc(10, 'x'));
  assert.equal(arrays.buffers.get(3).length, 16);  // what the client justified (its input)
  arrays.add(3, 10, Buffer.alloc(10, 'y'));
  assert.equal(arrays.buffers.get(3).length, 32);  // doubled, not the declared 2^60
  arrays.add(3, 20, Buffer.alloc(100, 'z'));
  assert.equal(arrays.buffers.get(3).length, 120);  // at least what arrived
  assert.equal(arrays.buffers.get(3).toString(), 'x'.repeat(10) + 'y'.repeat(10) + 'z'.repeat(100));
  assert.throws(() => arrays.finish(), { message: `${MALFORMED}: item 3 ended at 120 of 1152921504606846976 bytes` });

  // Without an input to justify it, the first buffer is what the first chunk brings.
  const unjustified = new StreamedArrays(0);
  unjustified.expect(0, 2 ** 60);
  unjustified.add(0, 0, Buffer.alloc(8));
  assert.equal(unjustified.buffers.get(0).length, 8);
});

test('StreamedArrays: arrays started at once share one head start', () => {
  const arrays = new StreamedArrays(100);
  for (let id = 0; id < 5; id++) {
    arrays.expect(id, 2 ** 40);
    arrays.add(id, 0, Buffer.from('x'));
  }
  // The first takes the head start; the others only what they brought.
  assert.deepEqual([0, 1, 2, 3, 4].map((id) => arrays.buffers.get(id).length), [100, 1, 1, 1, 1]);
  // Once the first has filled its head start, it grows by doubling, and the head start is free
  // again for the next.
  arrays.add(0, 1, Buffer.alloc(99, 'y'));
  arrays.add(0, 100, Buffer.from('z'));
  assert.equal(arrays.buffers.get(0).length, 200);
  arrays.add(1, 1, Buffer.from('w'));
  assert.equal(arrays.buffers.get(1).length, 2);  // doubled: the first still holds 99 ahead
  arrays.add(0, 101, Buffer.alloc(99, 'v'));
  arrays.add(2, 1, Buffer.from('u'));
  assert.equal(arrays.buffers.get(2).length, 100);  // the first is full: the head start again
});

test('StreamedArrays: whole arrays are exactly their bytes, never more than declared', () => {
  const arrays = new StreamedArrays(1 << 20);
  arrays.expect(1, 6);
  arrays.expect(2, 0);
  arrays.add(1, 0, Buffer.from('abcd').subarray(1, 3));
  arrays.add(1, 2, Buffer.from('cdef'));
  const buffers = arrays.finish();
  assert.equal(buffers.get(1).toString(), 'bccdef');
  assert.equal(buffers.get(1).buffer.byteLength, 6);  // the input's 1 MiB capped at the declared 6
  assert.equal(buffers.get(1).byteOffset, 0);
  assert.equal(buffers.get(2).length, 0);
  assert.throws(() => arrays.add(1, 6, Buffer.from('g')), { message: `${MALFORMED}: a chunk of 1 bytes at offset 6 for item 1` });
  assert.throws(() => arrays.add(4, 0, Buffer.from('g')), { message: `${MALFORMED}: a chunk of 1 bytes at offset 0 for item 4` });
});

// A server older than the CodedStrings item kind: its protobuf drops the unknown kind, and it
// refuses the item for having none, as seriald did. It records the kinds of each Serialize
// request's items and answers the others with "written".
test('an older server gets plain strings once it refuses coded ones, and from then on', async () => {
  const server = new grpc.Server();
  const kinds = [];
  let plain = null;
  server.addService(serializerClient.service, {
    Serialize(call, callback) {
      const itemKinds = call.request.data.items.map((item) => item.kind);
      kinds.push(itemKinds);
      const coded = itemKinds.indexOf('codedStrings');
      if (coded >= 0) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: `item ${coded}: no kind is set` });
        return;
      }
      plain = call.request.data.items[0].strings;
      callback(null, { data: Buffer.from('written') });
    },
  });
  const port = await new Promise((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(),
      (error, bound) => (error ? reject(error) : resolve(bound)));
  });
  const client = new SerialdClient(`127.0.0.1:${port}`, { timeoutMs: 30000 });
  try {
    const repeated = { dtype: 'string', data: Array.from({ length: 20 }, (_, i) => ['a', 'b', null, 'a'][i % 4]) };
    assert.equal((await client.dump(repeated, 'rds')).toString(), 'written');
    assert.deepEqual(kinds, [['codedStrings'], ['strings']]);
    assert.deepEqual(plain.values.map((value) => value.toString()),
      Array.from({ length: 20 }, (_, i) => ['a', 'b', '', 'a'][i % 4]));
    assert.deepEqual(plain.na.map(Number), [2, 6, 10, 14, 18]);
    // Known from then on: one call.
    assert.equal((await client.dump(repeated, 'rds')).toString(), 'written');
    assert.deepEqual(kinds.slice(2), [['strings']]);
  } finally {
    client.close();
    server.forceShutdown();
  }
});

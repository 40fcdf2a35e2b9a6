// SerialdClient: load Torch7 and R serialized bytes as plain JavaScript values and dump such
// values back, through a seriald server (the Deserialize/Serialize RPCs with VIEW_DATA); convert
// bytes from one format to another (Convert), Torch7 <-> R and either to npy/npz/safetensors,
// with the notes of what the conversion left out; inspect bytes (Inspect): their format, facts
// and printed tree.
//
// Inputs and outputs above `streamThreshold` bytes go through the streaming RPCs: the input in
// chunks, large arrays as ArrayChunk messages. A unary call the server refuses as too large
// (RESOURCE_EXHAUSTED, limit "max-message-bytes": e.g. a small compressed file that expands) is
// retried as a stream. The channel accepts messages of any size, lifting gRPC's default 4 MiB
// receive limit, so the server's own --max-message-bytes is the only cap on unary calls.
//
// Example:
//   const { SerialdClient } = require('seriald');
//   const client = new SerialdClient('127.0.0.1:50051');
//   const tensor = await client.load('model.t7');            // { dtype, shape, data, ... }
//   const rds = await client.dump({ columns: { x: new Float64Array([1, 2]) } }, 'rds');
//   const { data, notes } = await client.convert('model.t7', 'safetensors');
//   client.close();
'use strict';

const fs = require('node:fs');
const grpc = require('@grpc/grpc-js');
const { serializerClient } = require('./protos');
const { fromData } = require('./from_data');
const { toData, plainStringItems } = require('./to_data');
const { DTYPES } = require('./ndarray');
const { StreamedArrays, MALFORMED } = require('./assembly');
const { SerialdError, fromCallError } = require('./errors');

const MiB = 1 << 20;

// Format names (as serialctl spells them) -> seriald.v1.Format.
const FORMATS = {
  t7: 'FORMAT_T7',
  't7-ascii': 'FORMAT_T7_ASCII',
  rds: 'FORMAT_RDS',
  'rds-native': 'FORMAT_RDS_NATIVE',
  'rds-ascii': 'FORMAT_RDS_ASCII',
  'rds-asciihex': 'FORMAT_RDS_ASCIIHEX',
  rdata: 'FORMAT_RDATA',
  json: 'FORMAT_JSON',
  npy: 'FORMAT_NPY',
  npz: 'FORMAT_NPZ',
  'npz-compressed': 'FORMAT_NPZ_COMPRESSED',
  safetensors: 'FORMAT_SAFETENSORS',
};
const FORMAT_NAMES = Object.fromEntries(Object.entries(FORMATS).map(([name, proto]) => [proto, name]));
const COMPRESSIONS = {
  none: 'R_COMPRESSION_NONE',
  gzip: 'R_COMPRESSION_GZIP',
  bzip2: 'R_COMPRESSION_BZIP2',
  xz: 'R_COMPRESSION_XZ',
};

// Arrays at least this large travel as ArrayChunks in a streaming dump; smaller ones stay in the
// header, where many tiny arrays cost less than one message each.
const STREAMED_ARRAY_MIN_BYTES = 64 * 1024;

// Round robin over every address of the target; calls refused while a replica drains
// (UNAVAILABLE) are retried, as the C++ and Python clients do.
const SERVICE_CONFIG = JSON.stringify({
  loadBalancingConfig: [{ round_robin: {} }],
  methodConfig: [{
    name: [{ service: 'seriald.v1.Serializer' }],
    retryPolicy: {
      maxAttempts: 4,
      initialBackoff: '0.1s',
      maxBackoff: '2s',
      backoffMultiplier: 2,
      retryableStatusCodes: ['UNAVAILABLE'],
    },
  }],
});

function formatEnum(name, { allowDetect }) {
  if ((name === undefined || name === '' || name === 'auto') && allowDetect) return 'FORMAT_UNSPECIFIED';
  const format = FORMATS[name];
  if (!format) throw new TypeError(`seriald: unknown format ${JSON.stringify(name)} (one of ${Object.keys(FORMATS).join(', ')})`);
  return format;
}

function byteOrder(bigEndian) {
  if (bigEndian === undefined || bigEndian === null) return 'BYTE_ORDER_UNSPECIFIED';
  return bigEndian ? 'BYTE_ORDER_BIG_ENDIAN' : 'BYTE_ORDER_LITTLE_ENDIAN';
}

// load options -> seriald.v1.ReadOptions asking for plain data, with string arrays whose
// elements repeat (R data frame columns) in dictionary form (CodedStrings items): one decoded
// string per distinct value instead of one per element (lib/from_data.js codedStringValues).
function readOptions(options, inputSize) {
  return { ...inspectReadOptions(options, inputSize), view: 'VIEW_DATA', stringCodes: true };
}

// load's options (format, longSize, bigEndian, maxDepth) -> seriald.v1.ReadOptions, as inspect
// sends them.
function inspectReadOptions(options, inputSize) {
  return {
    format: formatEnum(options.format, { allowDetect: true }),
    torch7LongSize: options.longSize || 0,
    torch7ByteOrder: byteOrder(options.bigEndian),
    maxDepth: options.maxDepth || 0,
    inputSize,
  };
}

// convert options -> seriald.v1.ReadOptions for the input (`from` names its format).
function convertReadOptions(options, inputSize) {
  return {
    format: formatEnum(options.from, { allowDetect: true }),
    torch7LongSize: options.readLongSize || 0,
    torch7ByteOrder: byteOrder(options.readBigEndian),
    maxDepth: options.maxDepth || 0,
    inputSize,
  };
}

// dump/convert format and options -> seriald.v1.WriteOptions.
function writeOptions(format, options) {
  const message = {
    format: formatEnum(format, { allowDetect: false }),
    torch7LongSize: options.longSize || 0,
    torch7ByteOrder: byteOrder(options.bigEndian),
    torch7Unreferenced: Boolean(options.unreferenced),
    rVersion: options.rVersion || 0,
    dropUnconvertible: Boolean(options.dropUnconvertible),
    allowInexactIntegers: Boolean(options.allowInexactIntegers),
    strictArrays: Boolean(options.strict),
  };
  if (options.compress !== undefined) {
    message.rCompression = COMPRESSIONS[options.compress];
    if (!message.rCompression) throw new TypeError(`seriald: compress is one of ${Object.keys(COMPRESSIONS).join(', ')}`);
  }
  return message;
}

function isTooLargeForUnary(error) {
  return error instanceof SerialdError && error.code === grpc.status.RESOURCE_EXHAUSTED &&
    error.limit === 'max-message-bytes';
}

function readPem(source) {
  if (source === undefined || source === null) return null;
  return Buffer.isBuffer(source) ? source : fs.readFileSync(source);
}

// Resolves once the call can take more messages, or once it is over (then writing stops).
function drained(call) {
  return new Promise((resolve) => {
    const done = () => {
      call.off('drain', done);
      call.off('status', done);
      call.off('error', done);
      resolve();
    };
    call.on('drain', done);
    call.on('status', done);
    call.on('error', done);
  });
}

// Runs a bidirectional streaming call: writes `requests` (an iterable of messages) with
// backpressure, hands every response to `onResponse`, and resolves once the server has ended
// the call with OK; rejects with a SerialdError otherwise.
function streamCall(call, requests, onResponse) {
  return new Promise((resolve, reject) => {
    let over = false;
    let ended = false;
    let ok = false;
    const fail = (error) => {
      if (over) return;
      over = true;
      call.cancel();
      reject(fromCallError(error));
    };
    call.on('data', (response) => {
      if (over) return;
      try {
        onResponse(response);
      } catch (error) {
        fail(error);
      }
    });
    call.on('error', fail);
    // Both the end of the responses and an OK status, whichever comes last, complete the call.
    const complete = () => {
      if (ended && ok && !over) {
        over = true;
        resolve();
      }
    };
    call.on('end', () => {
      ended = true;
      complete();
    });
    call.on('status', (status) => {
      ok = status.code === grpc.status.OK;
      complete();
    });
    (async () => {
      for (const request of requests) {
        if (over) return;
        if (!call.write(request)) await drained(call);
      }
      if (!over) call.end();
    })().catch(fail);
  });
}

// load's input as a Buffer: a file's contents, or the bytes given (not copied).
async function inputBytes(input) {
  if (typeof input === 'string') return fs.promises.readFile(input);
  if (ArrayBuffer.isView(input)) return Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (input instanceof ArrayBuffer) return Buffer.from(input);
  throw new TypeError('seriald: load takes a Buffer, a Uint8Array, an ArrayBuffer or a file path');
}

// ElementType enum name -> dtype, looked up without dtypeByProto's throw: an unknown type in a
// stream's header is the stream's fault, and named as such.
const DTYPE_BY_PROTO = new Map(DTYPES.map((dtype) => [dtype.proto, dtype]));

// Declares to `arrays` (a StreamedArrays) the items a DeserializeStream header says will follow:
// each an array item, listed once, of an element type the client knows (its declared size is
// the array's length times the element's size).
function expectStreamedArrays(header, arrays) {
  if (!header.data) throw new Error(`${MALFORMED}: a header without data`);
  const { items } = header.data;
  for (const id of header.streamedArrays) {
    const item = items[id];
    if (item === undefined || item.kind !== 'array') throw new Error(`${MALFORMED}: item ${id} is not an array`);
    if (arrays.has(id)) throw new Error(`${MALFORMED}: item ${id} streamed twice`);
    const dtype = DTYPE_BY_PROTO.get(item.array.dtype);
    if (dtype === undefined) throw new Error(`${MALFORMED}: item ${id} has unknown element type ${item.array.dtype}`);
    arrays.expect(id, Number(item.array.length) * dtype.bytes);
  }
}

// Pieces of `bytes` of at most `size` bytes each, without copying.
function* pieces(bytes, size) {
  for (let offset = 0; offset < bytes.length; offset += size) {
    yield { offset, piece: bytes.subarray(offset, Math.min(offset + size, bytes.length)) };
  }
}

class SerialdClient {
  // target: "HOST:PORT" or any gRPC target ("dns:///host:port").
  // options:
  //   streamThreshold  inputs and dumps above this many bytes stream (default 4 MiB)
  //   chunkBytes       size of the pieces streamed (default 1 MiB)
  //   timeoutMs        deadline of each call (default none)
  //   tlsCa, tlsCert, tlsKey   PEM file paths or Buffers: TLS (tlsCa), mutual TLS (all three)
  //   channelOptions   extra grpc-js channel options
  constructor(target, options = {}) {
    this.streamThreshold = options.streamThreshold ?? 4 * MiB;
    this.chunkBytes = options.chunkBytes ?? MiB;
    this.timeoutMs = options.timeoutMs;
    // dump sends repeated strings in dictionary form until a server refuses that form.
    this.serverReadsCodedStrings = true;
    let credentials;
    if (options.tlsCa) {
      credentials = grpc.credentials.createSsl(readPem(options.tlsCa), readPem(options.tlsKey), readPem(options.tlsCert));
    } else if (options.tlsCert || options.tlsKey) {
      throw new TypeError('seriald: tlsCert/tlsKey need tlsCa');
    } else {
      credentials = grpc.credentials.createInsecure();
    }
    this.stub = new serializerClient(target, credentials, {
      // gRPC's default receive limit is 4 MiB; the server decides what is too large.
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': -1,
      'grpc.service_config': SERVICE_CONFIG,
      ...options.channelOptions,
    });
  }

  close() {
    this.stub.close();
  }

  callOptions() {
    return this.timeoutMs ? { deadline: new Date(Date.now() + this.timeoutMs) } : {};
  }

  unary(method, request) {
    return new Promise((resolve, reject) => {
      this.stub[method](request, this.callOptions(), (error, response) => {
        if (error) reject(fromCallError(error));
        else resolve(response);
      });
    });
  }

  // The value of the first (for R: the only) object in `input`: a Buffer, a Uint8Array or the
  // path of a file. options: format ("t7", "rds", ...; detected when absent), longSize (4 or 8)
  // and bigEndian for Torch7 files that need them, maxDepth.
  async load(input, options = {}) {
    return (await this.loadAll(input, options)).roots[0];
  }

  // Every object in `input` (a Torch7 stream may hold several) and the format it was read as:
  // { roots: [value, ...], format: "t7" }. Values shared between roots are shared here too.
  async loadAll(input, options = {}) {
    const bytes = await inputBytes(input);
    let result;
    if (bytes.length > this.streamThreshold) {
      result = await this.deserializeStream(bytes, readOptions(options, bytes.length));
    } else {
      try {
        result = await this.unary('Deserialize', { data: bytes, options: readOptions(options, 0) });
      } catch (error) {
        if (!isTooLargeForUnary(error)) throw error;
        result = await this.deserializeStream(bytes, readOptions(options, bytes.length));
      }
    }
    return { roots: fromData(result.data), format: FORMAT_NAMES[result.format] || '' };
  }

  // DeserializeStream: the options, then the input in chunks; back come the header with the
  // data (large arrays empty) and the data of those arrays in ArrayChunks, assembled here into
  // fresh (hence aligned) buffers. What the server sends is checked, not trusted (see
  // lib/assembly.js): the header once and first, each listed id an array item of a known element
  // type, listed once; chunks in order and within the declared sizes; every array whole at the end.
  async deserializeStream(bytes, read) {
    const chunkBytes = this.chunkBytes;
    function* requests() {
      yield { options: read };
      for (const { piece } of pieces(bytes, chunkBytes)) yield { chunk: { data: piece } };
    }
    let header = null;
    const arrays = new StreamedArrays(bytes.length);
    await streamCall(this.stub.DeserializeStream(this.callOptions()), requests(), (response) => {
      if (response.part === 'header') {
        if (header !== null) throw new Error(`${MALFORMED}: a second header`);
        header = response.header;
        expectStreamedArrays(header, arrays);
        return;
      }
      const chunk = response.arrayChunk;
      arrays.add(chunk.node, Number(chunk.offset), chunk.data);
    });
    if (header === null) throw new Error(`${MALFORMED}: no header`);
    for (const [id, data] of arrays.finish()) header.data.items[id].array.data = data;
    return header;
  }

  // `value` written in `format` ("t7", "t7-ascii", "rds", "rds-ascii", "rdata", "npz",
  // "safetensors", ...), as a Buffer. options: longSize, bigEndian, unreferenced (Torch7);
  // rVersion (2 or 3) and compress ("none", "gzip", "bzip2", "xz") (R); strict (array files:
  // refuse what is not an array instead of leaving it out).
  async dump(value, format, options = {}) {
    return this.dumpAll([value], format, options);
  }

  // Several values as one Torch7 stream (one writeObject each), sharing what they share.
  async dumpAll(values, format, options = {}) {
    const write = writeOptions(format, options);
    const { data, payloadBytes } = toData(values);
    if (!this.serverReadsCodedStrings) plainStringItems(data);
    try {
      return await this.serialize(data, payloadBytes, write);
    } catch (error) {
      // A server older than the dictionary form of strings has no such item kind: the same
      // strings once more as plain string items, and only those from then on.
      if (!(error instanceof SerialdError && error.code === grpc.status.INVALID_ARGUMENT &&
            error.details.includes('no kind is set') && plainStringItems(data))) {
        throw error;
      }
      this.serverReadsCodedStrings = false;
      return this.serialize(data, payloadBytes, write);
    }
  }

  // Serialize, or SerializeStream above streamThreshold (or when the server's message limit
  // refuses the unary call).
  async serialize(data, payloadBytes, write) {
    if (payloadBytes <= this.streamThreshold) {
      try {
        return (await this.unary('Serialize', { data, options: write })).data;
      } catch (error) {
        if (!isTooLargeForUnary(error)) throw error;
      }
    }
    return this.serializeStream(data, write);
  }

  // `input` (a Buffer, a Uint8Array or a file path) converted to format `to`: resolves to
  // { data: Buffer, notes: [string], inputFormat: "t7" }. `notes` says what a conversion between
  // Torch7 and R, or to npy/npz/safetensors, left out or changed ("skipped model._type (a
  // string): not an array"); it is empty for a same-family conversion. options: from (the
  // input's format; detected when absent), readLongSize and readBigEndian (Torch7 input that
  // needs them), maxDepth; the write options of dump (longSize, bigEndian, unreferenced,
  // rVersion, compress, strict) and dropUnconvertible (Torch7 <-> R: leave out what the output
  // cannot hold, listed in the notes, instead of failing) and allowInexactIntegers (to R: int64
  // beyond 2^53 rounded to the nearest double).
  async convert(input, to, options = {}) {
    const bytes = await inputBytes(input);
    const write = writeOptions(to, options);
    if (bytes.length <= this.streamThreshold) {
      try {
        const response = await this.unary('Convert', {
          data: bytes, input: convertReadOptions(options, 0), output: write,
        });
        return {
          data: response.data,
          notes: response.notes,
          inputFormat: FORMAT_NAMES[response.inputFormat] || '',
        };
      } catch (error) {
        if (!isTooLargeForUnary(error)) throw error;
      }
    }
    return this.convertStream(bytes, convertReadOptions(options, bytes.length), write);
  }

  // ConvertStream: the options, then the input in chunks; back come the input's format, the
  // output in chunks and, when there are any, the notes.
  async convertStream(bytes, read, write) {
    const chunkBytes = this.chunkBytes;
    function* requests() {
      yield { options: { input: read, output: write } };
      for (const { piece } of pieces(bytes, chunkBytes)) yield { chunk: { data: piece } };
    }
    const output = [];
    const notes = [];
    let inputFormat = '';
    await streamCall(this.stub.ConvertStream(this.callOptions()), requests(), (response) => {
      if (response.part === 'chunk') output.push(response.chunk.data);
      else if (response.part === 'notes') notes.push(...response.notes.notes);
      else if (response.part === 'inputFormat') inputFormat = FORMAT_NAMES[response.inputFormat] || '';
    });
    return { data: Buffer.concat(output), notes, inputFormat };
  }

  // What `input` (a Buffer, a Uint8Array or a file path) holds, without its array data: resolves
  // to { format, source, nodeCount, rootCount, firstRoots, summary }, where `summary` is the tree
  // `serialctl inspect` prints and `source` the stream's facts (source.torch7: longSize,
  // bigEndian, ...; source.r: the R header). options: as load's (format, longSize, bigEndian,
  // maxDepth). Above streamThreshold bytes (or when the server's message limit refuses the unary
  // call) the input goes through InspectStream in chunks.
  async inspect(input, options = {}) {
    const bytes = await inputBytes(input);
    let response;
    if (bytes.length <= this.streamThreshold) {
      try {
        response = await this.unary('Inspect', { data: bytes, options: inspectReadOptions(options, 0) });
      } catch (error) {
        if (!isTooLargeForUnary(error)) throw error;
      }
    }
    if (response === undefined) {
      response = await this.inspectStream(bytes, inspectReadOptions(options, bytes.length));
    }
    return {
      format: FORMAT_NAMES[response.format] || '',
      source: response.source,
      nodeCount: response.nodeCount,
      rootCount: response.rootCount,
      firstRoots: response.firstRoots,
      summary: response.summary,
    };
  }

  // InspectStream: the options, then the input in chunks, written with backpressure; one
  // InspectResponse comes back.
  inspectStream(bytes, read) {
    const chunkBytes = this.chunkBytes;
    return new Promise((resolve, reject) => {
      let over = false;
      const call = this.stub.InspectStream(this.callOptions(), (error, response) => {
        over = true;
        if (error) reject(fromCallError(error));
        else resolve(response);
      });
      (async () => {
        if (!call.write({ options: read })) await drained(call);
        for (const { piece } of pieces(bytes, chunkBytes)) {
          if (over) return;
          if (!call.write({ chunk: { data: piece } })) await drained(call);
        }
        if (!over) call.end();
      })().catch((error) => {
        if (over) return;
        over = true;
        call.cancel();
        reject(error);
      });
    });
  }

  // SerializeStream: a header with the data (large arrays emptied and listed), then those
  // arrays in chunks, each whole and in order; the output comes back in chunks.
  async serializeStream(data, write) {
    const streamed = [];
    const headerItems = data.items.map((item, id) => {
      if (!item.array || item.array.data.length < STREAMED_ARRAY_MIN_BYTES) return item;
      streamed.push(id);
      return { ...item, array: { ...item.array, data: Buffer.alloc(0) } };
    });
    const chunkBytes = this.chunkBytes;
    function* requests() {
      yield { header: { data: { items: headerItems, roots: data.roots }, options: write, streamedArrays: streamed } };
      for (const id of streamed) {
        for (const { offset, piece } of pieces(data.items[id].array.data, chunkBytes)) {
          yield { arrayChunk: { node: id, offset, data: piece } };
        }
      }
    }
    const output = [];
    await streamCall(this.stub.SerializeStream(this.callOptions()), requests(), (chunk) => output.push(chunk.data));
    return Buffer.concat(output);
  }
}

module.exports = { SerialdClient, FORMATS };

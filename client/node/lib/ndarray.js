// Typed arrays for seriald's NdArray items: the dtype table (name, proto enum, TypedArray), and the
// two conversions between a view (shape, strides and offset over little-endian bytes, as the
// server sends it) and a row-major TypedArray (what a JavaScript program works with).
//
// Example:
//   const { toRowMajor } = require('./ndarray');
//   // a 3x2 transposed Torch tensor over storage {1..6}: strides [1, 3]
//   toRowMajor({ dtype: 'ELEMENT_TYPE_FLOAT64', shape: [3, 2], strides: [1, 3], offset: 0,
//                length: 6, data: bytesOf(new Float64Array([1, 2, 3, 4, 5, 6])) });
//   // -> { dtype: 'float64', data: Float64Array [1, 4, 2, 5, 3, 6] }
'use strict';

const os = require('node:os');

// TypedArrays use the host's byte order and seriald's arrays are little-endian; every platform
// Node runs on in practice is little-endian, and the client refuses to run elsewhere rather than
// hand out byte-swapped numbers.
if (os.endianness() !== 'LE') {
  throw new Error('seriald: the Node client needs a little-endian host');
}

// name: the dtype string the client uses; proto: the ElementType enum name; Typed: the
// TypedArray holding the elements; lanes: TypedArray entries per element (2 for complex128:
// interleaved real, imaginary); bytes: bytes per element.
const DTYPES = [
  { name: 'uint8', proto: 'ELEMENT_TYPE_UINT8', Typed: Uint8Array, lanes: 1 },
  { name: 'int8', proto: 'ELEMENT_TYPE_INT8', Typed: Int8Array, lanes: 1 },
  { name: 'int16', proto: 'ELEMENT_TYPE_INT16', Typed: Int16Array, lanes: 1 },
  { name: 'int32', proto: 'ELEMENT_TYPE_INT32', Typed: Int32Array, lanes: 1 },
  { name: 'int64', proto: 'ELEMENT_TYPE_INT64', Typed: BigInt64Array, lanes: 1 },
  // IEEE 754 binary16, as the raw bit patterns (JavaScript has no half-precision array).
  { name: 'float16', proto: 'ELEMENT_TYPE_FLOAT16', Typed: Uint16Array, lanes: 1 },
  { name: 'float32', proto: 'ELEMENT_TYPE_FLOAT32', Typed: Float32Array, lanes: 1 },
  { name: 'float64', proto: 'ELEMENT_TYPE_FLOAT64', Typed: Float64Array, lanes: 1 },
  { name: 'complex128', proto: 'ELEMENT_TYPE_COMPLEX128', Typed: Float64Array, lanes: 2 },
  // R logical: 0, 1, or NA (-2147483648).
  { name: 'logical', proto: 'ELEMENT_TYPE_LOGICAL', Typed: Int32Array, lanes: 1 },
  { name: 'raw', proto: 'ELEMENT_TYPE_RAW', Typed: Uint8Array, lanes: 1 },
].map((d) => ({ ...d, bytes: d.Typed.BYTES_PER_ELEMENT * d.lanes }));

const BY_NAME = new Map(DTYPES.map((d) => [d.name, d]));
const BY_PROTO = new Map(DTYPES.map((d) => [d.proto, d]));

// The dtype a bare TypedArray stands for when one is given without a dtype (a data frame
// column, a top-level value). Uint8Array is not here: it is R raw data (a `binary` item).
const BARE_TYPED_DTYPES = new Map([
  [Float64Array, 'float64'],
  [Float32Array, 'float32'],
  [Int32Array, 'int32'],
  [Int16Array, 'int16'],
  [Int8Array, 'int8'],
  [BigInt64Array, 'int64'],
]);

function dtypeByName(name) {
  const dtype = BY_NAME.get(name);
  if (!dtype) {
    throw new TypeError(`seriald: unknown dtype ${JSON.stringify(name)} (one of ${[...BY_NAME.keys()].join(', ')})`);
  }
  return dtype;
}

function dtypeByProto(protoName) {
  const dtype = BY_PROTO.get(protoName);
  if (!dtype) throw new Error(`seriald: the server sent an unknown element type ${protoName}`);
  return dtype;
}

function elementCount(shape) {
  let count = 1;
  for (const size of shape) count *= size;
  return count;
}

// The strides of a row-major (C order) array of `shape`, in elements.
function rowMajorStrides(shape) {
  const strides = new Array(shape.length);
  let stride = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    strides[k] = stride;
    stride *= shape[k];
  }
  return strides;
}

// True when the view shows elements offset, offset + 1, ... in row-major order. Dimensions of
// size 1 may have any stride (Torch7 writes arbitrary ones there).
function isRowMajorContiguous(shape, strides) {
  let expected = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    if (shape[k] !== 1 && strides[k] !== expected) return false;
    expected *= shape[k];
  }
  return true;
}

// A TypedArray over `bytes[byteStart, byteEnd)` without copying when the start is aligned for
// the type, else over an aligned copy of just that range.
function typedOver(bytes, dtype, byteStart, byteEnd) {
  const { Typed } = dtype;
  const entries = (byteEnd - byteStart) / Typed.BYTES_PER_ELEMENT;
  if ((bytes.byteOffset + byteStart) % Typed.BYTES_PER_ELEMENT === 0) {
    return new Typed(bytes.buffer, bytes.byteOffset + byteStart, entries);
  }
  const copy = new Uint8Array(byteEnd - byteStart);
  copy.set(bytes.subarray(byteStart, byteEnd));
  return new Typed(copy.buffer, 0, entries);
}

// An NdArray message (dtype enum name, shape, strides, offset, length, data bytes) ->
// { dtype: name, data: TypedArray } with the view's elements in row-major order. Throws when
// the view reaches outside the data.
function toRowMajor(array) {
  const dtype = dtypeByProto(array.dtype);
  const shape = array.shape.map(Number);
  const strides = array.strides.map(Number);
  const offset = Number(array.offset);
  const length = Number(array.length);
  const bytes = array.data;
  if (strides.length !== shape.length) {
    throw new Error(`seriald: array with ${shape.length} dimensions but ${strides.length} strides`);
  }
  if (bytes.length !== length * dtype.bytes) {
    throw new Error(`seriald: array of ${length} ${dtype.name} elements holds ${bytes.length} bytes`);
  }
  const count = elementCount(shape);
  if (count === 0) return { dtype: dtype.name, data: new dtype.Typed(0) };

  // The lowest and highest element the view touches must lie inside the data.
  let lowest = offset;
  let highest = offset;
  for (let k = 0; k < shape.length; k++) {
    const reach = strides[k] * (shape[k] - 1);
    if (reach < 0) lowest += reach;
    else highest += reach;
  }
  if (lowest < 0 || highest >= length) {
    throw new Error(`seriald: array view reaches elements ${lowest}..${highest} of ${length}`);
  }

  const { lanes } = dtype;
  if (isRowMajorContiguous(shape, strides)) {
    return {
      dtype: dtype.name,
      data: typedOver(bytes, dtype, offset * dtype.bytes, (offset + count) * dtype.bytes),
    };
  }
  // Gather: walk the view in row-major order, the last dimension in the inner loop. `source`
  // covers only elements lowest..highest, so positions are counted from `lowest`.
  const source = typedOver(bytes, dtype, lowest * dtype.bytes, (highest + 1) * dtype.bytes);
  const out = new dtype.Typed(count * lanes);
  const ndim = shape.length;  // at least 1: a 0-d view is always contiguous
  const last = ndim - 1;
  const innerSize = shape[last];
  const innerStride = strides[last];
  const index = new Array(ndim).fill(0);
  let position = offset - lowest;  // element of `source` at index [0, ..., 0, 0]
  let written = 0;
  for (;;) {
    let at = position;
    if (lanes === 1) {
      for (let i = 0; i < innerSize; i++, at += innerStride) out[written++] = source[at];
    } else {
      for (let i = 0; i < innerSize; i++, at += innerStride) {
        out[written++] = source[2 * at];
        out[written++] = source[2 * at + 1];
      }
    }
    // Advance the outer dimensions like an odometer.
    let k = last - 1;
    for (; k >= 0; k--) {
      index[k]++;
      position += strides[k];
      if (index[k] < shape[k]) break;
      position -= strides[k] * shape[k];
      index[k] = 0;
    }
    if (k < 0) break;
  }
  return { dtype: dtype.name, data: out };
}

// { dtype: name, shape, data: TypedArray in row-major order } -> the NdArray message fields
// (row-major strides, offset 0, the TypedArray's bytes without copying). Throws a TypeError when
// the TypedArray does not match the dtype or the shape.
function fromRowMajor(dtypeName, shape, data) {
  const dtype = dtypeByName(dtypeName);
  if (!(data instanceof dtype.Typed)) {
    throw new TypeError(`seriald: a ${dtype.name} array needs its data in a ${dtype.Typed.name}, got ${typeName(data)}`);
  }
  if (data.length % dtype.lanes !== 0) {
    throw new TypeError(`seriald: a complex128 array needs an even number of Float64Array entries`);
  }
  const length = data.length / dtype.lanes;
  if (shape === undefined || shape === null) shape = [length];
  shape = Array.from(shape, (size) => {
    const n = Number(size);
    if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`seriald: bad array shape ${JSON.stringify(shape)}`);
    return n;
  });
  if (elementCount(shape) !== length) {
    throw new TypeError(`seriald: shape [${shape}] needs ${elementCount(shape)} elements, the data holds ${length}`);
  }
  return {
    dtype: dtype.proto,
    shape,
    strides: rowMajorStrides(shape),
    offset: 0,
    length,
    data: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
  };
}

// What a value is, for error messages: its constructor's name or its type.
function typeName(value) {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor ? value.constructor.name : 'an object';
  return typeof value;
}

module.exports = {
  DTYPES,
  BARE_TYPED_DTYPES,
  dtypeByName,
  dtypeByProto,
  elementCount,
  rowMajorStrides,
  isRowMajorContiguous,
  toRowMajor,
  fromRowMajor,
  typeName,
};

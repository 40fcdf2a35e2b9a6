// StreamedArrays: where a DeserializeStream's large arrays are put back together from their
// ArrayChunk messages.
//
// The header lists the arrays whose data follows; each array's chunks must come whole and in
// order. Nothing the server sends is taken on trust: a chunk for an array the header did not
// list, at another offset than where the array's data ends so far, or running past the array's
// declared size, and a stream that ends before every array is whole, are Errors naming the
// array and the offsets.
//
// A declared size is not a promise either: an array's memory starts at the smaller of its
// declared size and what the client can justify (the size of the input it sent, or what has
// arrived), and doubles as data arrives, never past the declared size. A server claiming 2^60
// bytes gets no more memory than it sends, not a RangeError or an allocation of 2^60. The head
// start is shared: all buffers together hold at most the justified bytes beyond what has arrived
// (plus what doubling adds), so a server that starts many arrays at once gets no more than one
// array's head start. Since a
// buffer never grows past the declared size and a whole array has exactly that size, the
// buffers handed out hold exactly their bytes, each over an ArrayBuffer of its own (offset 0,
// hence aligned for any element type).
//
// Example:
//   const arrays = new StreamedArrays(input.length);
//   arrays.expect(itemId, declaredBytes);        // for each id in header.streamedArrays
//   arrays.add(chunk.node, chunk.offset, chunk.data);
//   const buffers = arrays.finish();             // Map item id -> Buffer, each exactly whole
'use strict';

const MALFORMED = 'seriald: malformed stream from the server';

// A byte count as a decimal integer: declared sizes beyond 2^53 print as the number they are
// (2^63 as 9223372036854775808, where String() gives 9223372036854776000).
function countText(n) {
  return Number.isInteger(n) ? BigInt(n).toString() : String(n);
}

class StreamedArrays {
  // justifiedBytes: what an array's buffer may take before its data arrives (the client already
  // holds that much input).
  constructor(justifiedBytes = 0) {
    this.justifiedBytes = justifiedBytes;
    this.ahead = 0;             // bytes the buffers hold beyond what has arrived, all together
    this.expected = new Map();  // item id -> its declared size in bytes
    this.sizes = new Map();     // item id -> bytes arrived so far
    this.buffers = new Map();   // item id -> the Buffer they are in (allocated on first data)
  }

  has(id) {
    return this.expected.has(id);
  }

  // Declares that array `id` has `expectedBytes` of data to come. Nothing is allocated yet.
  expect(id, expectedBytes) {
    this.expected.set(id, expectedBytes);
    this.sizes.set(id, 0);
  }

  // Appends a chunk's data (a Buffer) to its array: copied once.
  add(id, offset, piece) {
    const expected = this.expected.get(id);
    const size = this.sizes.get(id) ?? 0;
    const length = piece.length;
    if (expected === undefined || offset !== size || length > expected - size) {
      throw new Error(`${MALFORMED}: a chunk of ${length} bytes at offset ${countText(offset)} for item ${id}`);
    }
    const end = size + length;
    let buffer = this.buffers.get(id);
    if (buffer === undefined || end > buffer.length) {
      const current = buffer ? buffer.length : 0;
      const othersAhead = this.ahead - (current - size);
      const headStart = Math.max(0, this.justifiedBytes - othersAhead);
      const capacity = Math.min(expected, Math.max(end, 2 * current, headStart));
      // Unpooled, so that the Buffer is all of its ArrayBuffer; the bytes past `size` are
      // written before they can be seen (finish hands out only whole arrays).
      const grown = Buffer.allocUnsafeSlow(capacity);
      if (size > 0) buffer.copy(grown, 0, 0, size);
      buffer = grown;
      this.buffers.set(id, buffer);
      this.ahead = othersAhead + (capacity - size);
    }
    piece.copy(buffer, size);
    this.sizes.set(id, end);
    this.ahead -= length;
  }

  // Map item id -> Buffer of its bytes, once every array is whole; else an Error naming the
  // lowest item id that is not.
  finish() {
    const ids = [...this.expected.keys()].sort((a, b) => a - b);
    for (const id of ids) {
      const size = this.sizes.get(id);
      const expected = this.expected.get(id);
      if (size !== expected) {
        throw new Error(`${MALFORMED}: item ${id} ended at ${size} of ${countText(expected)} bytes`);
      }
    }
    // Whole means size === expected, and a buffer never grows past expected: no slicing.
    const whole = new Map();
    for (const id of ids) whole.set(id, this.buffers.get(id) ?? Buffer.allocUnsafeSlow(0));
    return whole;
  }
}

module.exports = { StreamedArrays, MALFORMED };

"""StreamedArrays: where pyseriald puts the arrays of a DeserializeStream back together.

The header lists the arrays whose data follows in ArrayChunk messages; each array's chunks must
come whole and in order. Nothing the server sends is taken on trust: a chunk for an array not
listed, at another offset than where the last one ended, or past the array's size, and a stream
that ends before every array is whole, raise ValueError naming the array and the offsets.

Each array is collected in a numpy uint8 buffer, which the arrays load() returns are views of.
numpy asks the kernel for huge pages for large buffers, so filling 200 MB costs about a hundred
page faults; a bytearray grown by `+=` took 4 KiB pages (tens of thousands of faults, most of a
streamed load's time on the machines measured). A declared size is not a promise: a buffer starts
at the smaller of the declared size and what the caller can justify (the size of the input it
sent, or the first chunk), and doubles as data arrives, never past the declared size, so a
server claiming 2^60 bytes gets no more memory than it sends. The head start is shared: all
buffers together hold at most the justified bytes beyond what has arrived (plus what doubling
adds), so a server that starts many arrays at once gets no more than one array's head start.

Example:

    arrays = StreamedArrays(justified_bytes=len(payload))
    arrays.expect(item_id, declared_bytes)      # for each id in header.streamed_arrays
    arrays.add(node, offset, memoryview_of_chunk_data)
    buffers = arrays.finish()                   # {id: numpy uint8 array}, each exactly whole
"""
import numpy


class StreamedArrays:
    def __init__(self, justified_bytes=0, kind="item"):
        """`justified_bytes`: what a buffer may take before its data arrives (the caller already
        holds that much input); `kind` names an array in errors ("item", "node")."""
        self._justified = justified_bytes
        self._ahead = 0  # bytes the buffers hold beyond what has arrived, all together
        self._kind = kind
        self._expected = {}
        self._buffers = {}
        self._sizes = {}

    def __contains__(self, array_id):
        return array_id in self._expected

    def expect(self, array_id, expected_bytes):
        """Declares that array `array_id` has `expected_bytes` of data to come. Nothing is
        allocated yet."""
        self._expected[array_id] = expected_bytes
        self._sizes[array_id] = 0

    def add(self, array_id, offset, piece):
        """Appends a chunk's data (any bytes-like object) to its array: copied once."""
        expected = self._expected.get(array_id)
        size = self._sizes.get(array_id, 0)
        length = len(piece)
        if expected is None or offset != size or length > expected - size:
            raise ValueError("malformed stream from the server: a chunk of %d bytes at offset %d "
                             "for %s %d" % (length, offset, self._kind, array_id))
        end = size + length
        buffer = self._buffers.get(array_id)
        if buffer is None or end > len(buffer):
            current = 0 if buffer is None else len(buffer)
            others_ahead = self._ahead - (current - size)
            head_start = max(0, self._justified - others_ahead)
            capacity = min(expected, max(end, 2 * current, head_start))
            grown = numpy.empty(capacity, numpy.uint8)
            if size:
                grown[:size] = buffer[:size]
            buffer = self._buffers[array_id] = grown
            self._ahead = others_ahead + (capacity - size)
        buffer[size:end] = numpy.frombuffer(piece, numpy.uint8)
        self._sizes[array_id] = end
        self._ahead -= length

    def finish(self):
        """{array id: numpy uint8 array of its bytes} once every array is whole."""
        for array_id, expected in self._expected.items():
            if self._sizes[array_id] != expected:
                raise ValueError("malformed stream from the server: %s %d ended at %d of %d bytes"
                                 % (self._kind, array_id, self._sizes[array_id], expected))
        empty = numpy.empty(0, numpy.uint8)
        # Whole means size == expected, and a buffer never grows past expected: no slicing.
        return {array_id: self._buffers.get(array_id, empty) for array_id in self._expected}

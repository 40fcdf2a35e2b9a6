"""The large inputs the Python benchmarks time, written the way R and Torch7 write them.

    write_r_inputs(numeric_path, frame_path, doubles, rows)
    write_torch7_float_tensor(path, count, big_endian=False)
    write_r_double_vector(path, count)             # seq(0, by = 0.5, length.out = count), XDR
    torch7_float_tensor_header(count, big_endian)  # the bytes before the tensor's elements
    r_double_vector_header(count, native)          # the bytes before the vector's elements
    element_blocks(count, dtype, scale)            # the elements, 16 Mi at a time
"""
import struct
import subprocess

BLOCK_ELEMENTS = 1 << 24


def write_r_inputs(numeric, frame, doubles, rows):
    """With R's saveRDS (uncompressed XDR): runif(doubles) to `numeric`, and to `frame` a
    data.frame of `rows` rows: doubles, integers, a factor, strings with NA, logicals with NA."""
    subprocess.run(["Rscript", "-e", (
        "set.seed(1); saveRDS(runif(%d), '%s', compress = FALSE);"
        "n <- %d; saveRDS(data.frame(x = runif(n), i = sample.int(1000L, n, TRUE),"
        " f = factor(sample(letters, n, TRUE)), s = sample(c('alpha', 'beta', NA), n, TRUE),"
        " b = sample(c(TRUE, FALSE, NA), n, TRUE), stringsAsFactors = FALSE), '%s',"
        " compress = FALSE)") % (doubles, numeric, rows, frame)], check=True)


def element_blocks(count, dtype, scale=1):
    """Elements i * scale for i in 0..count-1, as numpy arrays of `dtype` (with its byte order)
    of BLOCK_ELEMENTS each (the last shorter): computed, never all in memory. The arrays are
    views of buffers used again for the next block (fresh memory for every block would cost
    more than the computing), valid until the next block is asked for."""
    import numpy

    index = numpy.arange(min(count, BLOCK_ELEMENTS), dtype="f8")
    values = numpy.empty_like(index)
    typed = numpy.empty(len(index), dtype)
    for start in range(0, count, BLOCK_ELEMENTS):
        n = min(BLOCK_ELEMENTS, count - start)
        numpy.add(index[:n], start, out=values[:n])
        if scale != 1:
            values[:n] *= scale
        typed[:n] = values[:n]  # converted to dtype, swapped to its byte order
        yield typed[:n]


def torch7_float_tensor_header(count, big_endian):
    """What torch.save writes (8-byte longs) before the elements of a 1-d torch.FloatTensor of
    `count` elements: the tensor object, then its storage's header."""
    order = ">" if big_endian else "<"

    def string(s):
        return struct.pack(order + "i", len(s)) + s

    return (struct.pack(order + "i", 4) + struct.pack(order + "i", 1) + string(b"V 1") +
            string(b"torch.FloatTensor") + struct.pack(order + "i", 1) +
            struct.pack(order + "q", count) + struct.pack(order + "q", 1) +
            struct.pack(order + "q", 1) + struct.pack(order + "i", 4) +
            struct.pack(order + "i", 2) + string(b"V 1") + string(b"torch.FloatStorage") +
            struct.pack(order + "q", count))


def write_torch7_float_tensor(path, count, big_endian=False):
    """One torch.FloatTensor of `count` elements (element i is i), laid out as torch.save writes
    it with 8-byte longs, written 64 MB at a time."""
    order = ">" if big_endian else "<"
    with open(path, "wb") as f:
        f.write(torch7_float_tensor_header(count, big_endian))
        for block in element_blocks(count, order + "f4"):
            block.tofile(f)


def r_double_vector_header(count, native):
    """What R 4.2.2's serialize() writes (version 3, XDR or native) before the elements of a
    plain double vector of `count` elements: a long vector's length for more than 2^31 - 1."""
    order = "<" if native else ">"

    def word(v):
        return struct.pack(order + "i", v)

    header = (b"B\n" if native else b"X\n") + word(3) + word(0x040202) + word(0x030500)
    header += word(5) + b"UTF-8" + word(14)  # REALSXP, no attributes
    if count <= 0x7FFFFFFF:
        return header + word(count)
    return header + word(-1) + word(count >> 32) + struct.pack(order + "I", count & 0xFFFFFFFF)


def write_r_double_vector(path, count):
    """seq(0, by = 0.5, length.out = count) as saveRDS(compress = FALSE) writes it (XDR), 128 MB
    at a time: any size, without R holding it."""
    with open(path, "wb") as f:
        f.write(r_double_vector_header(count, native=False))
        for block in element_blocks(count, ">f8", scale=0.5):
            block.tofile(f)

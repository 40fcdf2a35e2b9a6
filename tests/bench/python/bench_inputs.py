"""The large inputs the Python benchmarks time, written the way R and Torch7 write them.

    write_r_inputs(numeric_path, frame_path, doubles, rows)
    write_torch7_float_tensor(path, count, big_endian=False)
"""
import struct
import subprocess


def write_r_inputs(numeric, frame, doubles, rows):
    """With R's saveRDS (uncompressed XDR): runif(doubles) to `numeric`, and to `frame` a
    data.frame of `rows` rows: doubles, integers, a factor, strings with NA, logicals with NA."""
    subprocess.run(["Rscript", "-e", (
        "set.seed(1); saveRDS(runif(%d), '%s', compress = FALSE);"
        "n <- %d; saveRDS(data.frame(x = runif(n), i = sample.int(1000L, n, TRUE),"
        " f = factor(sample(letters, n, TRUE)), s = sample(c('alpha', 'beta', NA), n, TRUE),"
        " b = sample(c(TRUE, FALSE, NA), n, TRUE), stringsAsFactors = FALSE), '%s',"
        " compress = FALSE)") % (doubles, numeric, rows, frame)], check=True)


def write_torch7_float_tensor(path, count, big_endian=False):
    """One torch.FloatTensor of `count` elements (element i is i), laid out as torch.save writes
    it with 8-byte longs, written 64 MB at a time."""
    import numpy

    order = ">" if big_endian else "<"

    def string(s):
        return struct.pack(order + "i", len(s)) + s

    header = (struct.pack(order + "i", 4) + struct.pack(order + "i", 1) + string(b"V 1") +
              string(b"torch.FloatTensor") + struct.pack(order + "i", 1) +
              struct.pack(order + "q", count) + struct.pack(order + "q", 1) +
              struct.pack(order + "q", 1) + struct.pack(order + "i", 4) +
              struct.pack(order + "i", 2) + string(b"V 1") + string(b"torch.FloatStorage") +
              struct.pack(order + "q", count))
    with open(path, "wb") as f:
        f.write(header)
        chunk = 1 << 24
        for start in range(0, count, chunk):
            numpy.arange(start, min(count, start + chunk), dtype=order + "f4").tofile(f)

#!/usr/bin/env Rscript
## as.character() of doubles as R 4.2 computes it (the formatting deferred_string ALTREP objects
## expand to), for rds_interop_test: one line per number and scipen, "<%a of x>\t<scipen>\t<string>".
## Usage: Rscript rds_numbers.R OUT
args <- commandArgs(trailingOnly = TRUE)
set.seed(7)
x <- c(0, 1, -1, 0.1, 0.2, 0.1 + 0.2, 1/3, 2/3, pi, exp(1), 100, 1e5, 1e15, 1e16, 1e17, 1e-4, 1e-5,
       123456, 1234567, 0.0001234, 123456789012, 1234567890123456, 123456789012345678,
       99999.99999999999, 999999999999999.9, 9999999999999998, 0.30000000000000004, 1e22, 1e23,
       1e-300, 5e-324, .Machine$double.xmax, .Machine$double.xmin, .Machine$double.eps,
       2^31, 2^53, 2^53 + 2, -0.5, -123.456, 1e100, 1e-100, 1e-99, 1e99, 1.5e-99, 3e100,
       runif(300) * 10^sample(-30:30, 300, TRUE), -runif(100) * 10^sample(-10:10, 100, TRUE),
       round(runif(100) * 1e6) / 100, sample(-1e6:1e6, 100) + 0, 10^(-20:20), 2^(-30:60),
       # 15th significant digit within a long double's rounding of a half: R scales them by an
       # exact power of 10 (these differed in 25 of runif(1e7)'s strings before).
       0x1.e95b0a28p-1, 0x1.27f30a28p-1, 0x1.75fc082p-4, 0x1.ef030a28p-1, 0x1.639c082p-4,
       0x1.5b1b0a28p-1, 0x1.f7730a28p-1, 0x1.542b0a28p-1, 0x1.213c082p-4, 0x1.6cdc082p-4)
out <- file(args[1], "w")
for (s in c(0L, -3L, 4L, 100L, -100L)) {
    options(scipen = s)
    writeLines(paste(sprintf("%a", x), s, as.character(x), sep = "\t"), out)
}
close(out)

#!/usr/bin/env Rscript
## R's side of rds_benchmark: makes the benchmark data, writes it as serialize() streams for
## seriald to decode, and times R's own serialize()/unserialize() of the same objects in memory
## (median of REPS runs, gc() before each).
## Usage: Rscript rds_bench.R DIR N_DOUBLES N_STRINGS REPS
## Writes DIR/<object>_<format>.bin (object: doubles, strings; format: xdr, native) and prints one
## line per measurement: "<object>\t<format>\t<serialize|unserialize>\t<seconds>\t<bytes>".
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]; n <- as.numeric(args[2]); m <- as.numeric(args[3]); reps <- as.integer(args[4])
set.seed(1)
med <- function(f) median(vapply(seq_len(reps), function(i) {
    gc(); system.time(f())[["elapsed"]] }, 0))
bench <- function(label, x) {
    for (fmt in c("xdr", "native")) {
        xdr <- fmt == "xdr"
        b <- NULL
        ts <- med(function() b <<- serialize(x, NULL, xdr = xdr, version = 3))
        tu <- med(function() { y <- unserialize(b); invisible(y) })
        writeBin(b, file.path(dir, sprintf("%s_%s.bin", label, fmt)))
        cat(sprintf("%s\t%s\tserialize\t%.6f\t%.0f\n", label, fmt, ts, length(b)))
        cat(sprintf("%s\t%s\tunserialize\t%.6f\t%.0f\n", label, fmt, tu, length(b)))
        rm(b); invisible(gc())
    }
}
x <- runif(n)                                  # a plain (not ALTREP) double vector
bench("doubles", x); rm(x); invisible(gc())
s <- sprintf("s%09d", sample.int(1e9, m))     # unique 10-byte ASCII strings
bench("strings", s); rm(s); invisible(gc())

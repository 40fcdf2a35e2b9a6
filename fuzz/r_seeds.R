# Small R inputs for the fuzz targets' seed corpora (fuzz/make_seeds.sh runs this).
#
#   Rscript fuzz/r_seeds.R OUTDIR
#
# Writes a few dozen small objects, one of each kind the R reader handles (vectors of every
# type with NA and attributes, strings in several encodings, lists, pairlists, language,
# closures and byte code, environments with cycles, S4, ALTREP compact sequences and wrappers,
# data frames, factors), each in every encoding (XDR, native, ascii, asciihex; versions 2 and 3),
# some as saveRDS() files under gzip, bzip2 and xz, and a few save() files. All files together
# stay well under 1 MiB.
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 1) stop("usage: Rscript r_seeds.R OUTDIR")
out <- args[[1]]
dir.create(out, recursive = TRUE, showWarnings = FALSE)

e_cycle <- new.env()
assign("self", e_cycle, envir = e_cycle)
assign("x", 1:3, envir = e_cycle)
f_closure <- local({
  k <- 2
  function(x, y = k) x * y + 1
})
f_compiled <- compiler::cmpfun(function(x) if (x > 1) x - 1 else x + 1)
setClass("SeedPoint", representation(x = "numeric", y = "numeric"))
latin1 <- "caf\xe9"
Encoding(latin1) <- "latin1"
bytes_string <- "\xff\xfe"
Encoding(bytes_string) <- "bytes"

objects <- list(
  null = NULL,
  logical = c(TRUE, FALSE, NA),
  integer = c(1L, NA, -2147483647L),
  double = c(1.5, NA, NaN, Inf, -Inf, -0, 5e-324, .Machine$double.xmax),
  complex = complex(real = c(1, NA), imaginary = c(-1, 2)),
  character = c("a", NA, "", "\u00e9\u4e2d", "line\nbreak"),
  strings_encodings = c(latin1, bytes_string, "ascii"),
  raw = as.raw(c(0, 1, 255)),
  empty_double = numeric(0),
  named = c(a = 1, b = 2),
  matrix = matrix(1:6, 2, dimnames = list(c("r1", "r2"), NULL)),
  array3 = array(as.double(1:24), c(2, 3, 4)),
  list = list(1, "a", list(TRUE, NULL)),
  nested = list(a = list(b = list(c = list(d = 1)))),
  pairlist = pairlist(a = 1, b = "x"),
  factor = factor(c("lo", "hi", "lo", NA), levels = c("lo", "hi")),
  ordered = factor(c("s", "m"), levels = c("s", "m", "l"), ordered = TRUE),
  date = as.Date("2024-02-29") + 0:2,
  posixct = as.POSIXct(c(0, 1e9), origin = "1970-01-01", tz = "UTC"),
  data_frame = data.frame(x = 1:3, y = c("a", "b", "c"), z = c(0.5, NA, 2)),
  symbol = as.name("sym"),
  call = quote(f(x, y = 2, ...)),
  formula = y ~ x + log(z),
  expression = expression(a + b, 1),
  closure = f_closure,
  bytecode = f_compiled,
  builtin = sum,
  special = `if`,
  environment = e_cycle,
  global_env = globalenv(),
  s4 = new("SeedPoint", x = 1, y = 2),
  compact_intseq = 1:1000,
  compact_realseq = seq(1, 10, by = 1),
  wrapper = local({ x <- c(3, 1, 2); x[1] <- 3; sort(x) }),
  deferred_string = as.character(1:5),
  int64_like = structure(c(1, 2), class = "integer64"),
  lm_fit = lm(dist ~ speed, data = cars[1:10, ])
)

write_stream <- function(name, bytes) writeBin(bytes, file.path(out, name))

for (name in names(objects)) {
  x <- objects[[name]]
  write_stream(paste0(name, ".xdr_v3.bin"), serialize(x, NULL, xdr = TRUE, version = 3))
  write_stream(paste0(name, ".xdr_v2.bin"), serialize(x, NULL, xdr = TRUE, version = 2))
  write_stream(paste0(name, ".native_v3.bin"), serialize(x, NULL, xdr = FALSE, version = 3))
  write_stream(paste0(name, ".ascii_v3.txt"), serialize(x, NULL, ascii = TRUE, version = 3))
  write_stream(paste0(name, ".ascii_v2.txt"), serialize(x, NULL, ascii = TRUE, version = 2))
  write_stream(paste0(name, ".asciihex_v3.txt"), serialize(x, NULL, ascii = NA, version = 3))
}

compressed <- c("double", "character", "list", "data_frame", "closure", "environment", "factor",
                "compact_intseq", "s4")
for (name in compressed) {
  x <- objects[[name]]
  saveRDS(x, file.path(out, paste0(name, ".gz.rds")))
  saveRDS(x, file.path(out, paste0(name, ".bz2.rds")), compress = "bzip2")
  saveRDS(x, file.path(out, paste0(name, ".xz.rds")), compress = "xz")
  saveRDS(x, file.path(out, paste0(name, ".ascii_gz.rds")), ascii = TRUE)
}

saved <- objects[c("integer", "character", "list", "factor", "closure")]
local({
  list2env(saved, environment())
  vars <- names(saved)
  save(list = vars, file = file.path(out, "save.rdx3_gz.RData"))
  save(list = vars, file = file.path(out, "save.rdx2_raw.RData"), version = 2, compress = FALSE)
  save(list = vars, file = file.path(out, "save.rda3_ascii.RData"), ascii = TRUE, compress = FALSE)
  save(list = vars, file = file.path(out, "save.rdx3_xz.RData"), compress = "xz")
  save(list = vars, file = file.path(out, "save.rdx3_bz2.RData"), compress = "bzip2")
})
# A native (RDB) save() file: save() offers none, so the stream is written by hand.
con <- file(file.path(out, "save.rdb3_raw.RData"), "wb")
writeBin(charToRaw("RDB3\n"), con)
writeBin(serialize(as.pairlist(saved), NULL, xdr = FALSE, version = 3), con)
close(con)

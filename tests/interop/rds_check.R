#!/usr/bin/env Rscript
## One batched check of seriald's R conversions against R itself (run by rds_interop_test).
##
## Usage: Rscript rds_check.R PLAN REPORT
##   PLAN    tab-separated, header "name source target out": `source` is a corpus stream file,
##           `target` one of X2 X3 B2 B3 A2 A3 H2 H3 (format letter: X xdr, B native, A ascii,
##           H asciihex; digit: version), `out` what seriald wrote for that conversion.
##   REPORT  one line per plan row: name source target bytes_equal ours_identical r_identical
##           error. bytes_equal: seriald's bytes are serialize(unserialize(source), NULL, ...)
##           with the target's settings (a fresh unserialize() per row: writing version 2
##           resets ALTREP wrapper metadata); ours_identical: identical(x, unserialize(out));
##           r_identical: identical(x, unserialize(R's own bytes)).
args <- commandArgs(trailingOnly = TRUE)
plan <- read.delim(args[1], stringsAsFactors = FALSE, quote = "")
invisible(compiler::enableJIT(0))
suppressPackageStartupMessages({ library(methods); library(stats4) })

## The refhook of the corpus object refhook_env (see gen.R).
pers_env <- local({ e <- new.env(); e$payload <- "restored"; e })
read_hook <- function(s) { if (identical(s, "my-env-id")) pers_env else stop("unknown id") }
write_hook <- function(x) if (identical(x, pers_env)) "my-env-id" else NULL

settings <- function(target) {
    fmt <- substr(target, 1, 1); ver <- as.integer(substr(target, 2, 2))
    switch(fmt,
           X = list(ascii = FALSE, xdr = TRUE, version = ver),
           B = list(ascii = FALSE, xdr = FALSE, version = ver),
           A = list(ascii = TRUE, xdr = TRUE, version = ver),
           H = list(ascii = NA, xdr = TRUE, version = ver))
}

cache <- new.env()
source_bytes <- function(path) {
    if (is.null(cache[[path]])) {
        raw <- readBin(path, "raw", file.size(path))
        ## saveRDS files (uncompressed here) are streams too
        cache[[path]] <- raw
    }
    cache[[path]]
}

out <- file(args[2], "w")
writeLines("name\tsource\ttarget\tbytes_equal\tours_identical\tr_identical\terror", out)
for (i in seq_len(nrow(plan))) {
    row <- plan[i, ]
    hook_r <- if (row$name == "refhook_env") read_hook else NULL
    hook_w <- if (row$name == "refhook_env") write_hook else NULL
    res <- withCallingHandlers(tryCatch({
        src <- source_bytes(row$source)
        s <- settings(row$target)
        x <- unserialize(src, refhook = hook_r)
        expected <- serialize(x, NULL, ascii = s$ascii, xdr = s$xdr, version = s$version,
                              refhook = hook_w)
        actual <- readBin(row$out, "raw", file.size(row$out))
        x0 <- unserialize(src, refhook = hook_r)
        ours <- identical(x0, unserialize(actual, refhook = hook_r))
        theirs <- identical(x0, unserialize(expected, refhook = hook_r))
        c(identical(expected, actual), ours, theirs, "")
    }, error = function(e) c(NA, NA, NA, gsub("[\t\n]", " ", conditionMessage(e)))),
    warning = function(w) invokeRestart("muffleWarning"))
    writeLines(paste(row$name, row$source, row$target, res[1], res[2], res[3], res[4], sep = "\t"),
               out)
}
close(out)

# What R sees in the .rds files seriald converts from Torch7 (cross_family_interop_test.cc).
#
#   Rscript cross_family_walk.R FILES CHECKS OUT
#
# FILES: lines "name<TAB>path.rds". For every numeric (double or integer) vector or array in each
# object, found by walking lists recursively, OUT gets a line
#   array<TAB>name<TAB>path<TAB>typeof<TAB>dim=2,3 | len=5<TAB>torch7_type attribute<TAB>elements
# with the path dotted (list names, 1-based positions for unnamed elements; "" for the root) and
# the elements in R's column-major order, each as sprintf("%.17g").
# A file R cannot read gives unreadable<TAB>name<TAB>R's message instead.
# CHECKS: lines "name<TAB>R expression", evaluated with `m` bound to that file's object; OUT gets
# check<TAB>name<TAB>expression<TAB>result (numbers as "%.17g", strings as they are, joined by ",").
args <- commandArgs(trailingOnly = TRUE)
read_tsv <- function(path) {
  read.delim(path, header = FALSE, sep = "\t", quote = "", stringsAsFactors = FALSE,
             colClasses = "character")
}
files <- read_tsv(args[1])
checks <- read_tsv(args[2])
out <- file(args[3], "w")

format_values <- function(x, sep) paste(sprintf("%.17g", as.vector(x)), collapse = sep)

walk <- function(x, path, name) {
  if (is.list(x)) {
    keys <- names(x)
    for (i in seq_along(x)) {
      key <- if (!is.null(keys) && !is.na(keys[i]) && nzchar(keys[i])) keys[i] else as.character(i)
      walk(x[[i]], if (nzchar(path)) paste0(path, ".", key) else key, name)
    }
  } else if ((is.double(x) || is.integer(x)) && !is.factor(x)) {
    d <- dim(x)
    shape <- if (is.null(d)) paste0("len=", length(x)) else paste0("dim=", paste(d, collapse = ","))
    type <- attr(x, "torch7_type", exact = TRUE)
    if (is.null(type)) type <- ""
    writeLines(paste("array", name, path, typeof(x), shape, type, format_values(x, " "),
                     sep = "\t"), out)
  }
}

objects <- list()
for (i in seq_len(nrow(files))) {
  object <- tryCatch(readRDS(files[i, 2]), error = function(e) e)
  if (inherits(object, "error")) {
    writeLines(paste("unreadable", files[i, 1], gsub("[\t\n]", " ", conditionMessage(object)),
                     sep = "\t"), out)
    next
  }
  walk(object, "", files[i, 1])
  if (files[i, 1] %in% checks[, 1]) objects[[files[i, 1]]] <- object
}

for (i in seq_len(nrow(checks))) {
  result <- tryCatch({
    value <- eval(parse(text = checks[i, 2]), list(m = objects[[checks[i, 1]]]))
    if (is.character(value)) paste(value, collapse = ",") else format_values(value, ",")
  }, error = function(e) paste("ERROR:", conditionMessage(e)))
  writeLines(paste("check", checks[i, 1], checks[i, 2], result, sep = "\t"), out)
}
close(out)

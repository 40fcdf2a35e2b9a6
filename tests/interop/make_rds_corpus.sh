#!/bin/sh
# Generates the R corpus for the interop tests (the rds_corpus ctest fixture):
#   make_rds_corpus.sh GEN_R OUTDIR
# The generator is copied next to OUTDIR first: it compiles a small C helper beside itself, and
# the shared corpus it comes from may be read-only.
# gen.R serializes objects of package Matrix, which Debian ships as r-cran-matrix.
set -e
export LANG=C.UTF-8
if ! Rscript -e 'quit(status = !requireNamespace("Matrix", quietly = TRUE))'; then
  echo "make_rds_corpus: gen.R needs the R package Matrix (Debian package r-cran-matrix)" >&2
  exit 1
fi
source_dir=$(dirname "$1")
work="$2.generator"
rm -rf "$work" "$2"
mkdir -p "$work"
cp "$1" "$work/gen.R"
if [ -d "$source_dir/csrc" ]; then
  mkdir -p "$work/csrc"
  cp "$source_dir"/csrc/*.c "$work/csrc/"
fi
exec Rscript "$work/gen.R" "$2"

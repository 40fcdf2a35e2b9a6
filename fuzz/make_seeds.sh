#!/usr/bin/env bash
# Makes the seed corpus of every fuzz target from the test data, so that no binary seeds are
# committed:
#
#   fuzz/make_seeds.sh BUILD_DIR        # BUILD_DIR holds fuzz/fuzz_seed_tool (build-fuzz)
#
# writes BUILD_DIR/seeds/<target>/ (replacing what was there) from
#   * the Torch7 corpus: every .t7 file under $SERIALD_SHARED_DIR/corpus/torch7 (default
#     ../shared next to the repository, as the tests' CMake cache variable SERIALD_SHARED_DIR);
#   * R files made here by fuzz/r_seeds.R: small objects of every kind in every encoding,
#     version, compression, and save() files;
#   * a sample of the R files installed under /usr/lib/R and /usr/share/R (.rds, .rda, .rdx);
# and what fuzz_seed_tool makes of them (JSON, seriald.v1.Value and seriald.v1.Data messages,
# npy/npz/safetensors files, option bytes for the targets that take them). At most 300 files of
# at most 1 MiB per target. Needs Rscript (scripts/install-deps.sh installs R); fails if the
# Torch7 corpus or Rscript is missing.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:?usage: fuzz/make_seeds.sh BUILD_DIR}" && pwd)"
shared="${SERIALD_SHARED_DIR:-$repo/../shared}"
tool="$build/fuzz/fuzz_seed_tool"

fail() { echo "make_seeds: $*" >&2; exit 1; }
[ -x "$tool" ] || fail "$tool is missing (build the seriald_fuzz target)"
[ -d "$shared/corpus/torch7" ] ||
  fail "no Torch7 corpus at $shared/corpus/torch7 (set SERIALD_SHARED_DIR)"
command -v Rscript >/dev/null || fail "Rscript not found (install r-base-core)"

stage="$build/seeds-input"
rm -rf "$stage" "$build/seeds"
mkdir -p "$stage/t7" "$stage/r/generated" "$stage/r/installed"

# Torch7: the corpus's streams (not its expected-output JSON and notes).
find "$shared/corpus/torch7" -type f -name '*.t7' -size -1024k -print0 |
  while IFS= read -r -d '' f; do
    rel="${f#"$shared/corpus/torch7/"}"
    cp "$f" "$stage/t7/${rel//\//_}"
  done

# R: generated streams in every encoding.
Rscript "$repo/fuzz/r_seeds.R" "$stage/r/generated" >/dev/null

# R: installed files, an even sample of each kind (sorted, so the same machine gives the same
# seeds): 24 .rds, 6 save() files, 6 lazy-load indexes.
sample_installed() {  # PATTERN COUNT
  local list
  list="$(find -L /usr/lib/R /usr/share/R -type f -name "$1" -size -64k 2>/dev/null | sort || true)"
  [ -n "$list" ] || return 0
  local total
  total="$(printf '%s\n' "$list" | wc -l)"
  printf '%s\n' "$list" | awk -v total="$total" -v want="$2" \
    'BEGIN { step = total / want; if (step < 1) step = 1; next_pick = 0 }
     NR - 1 >= next_pick { print; next_pick += step }' |
    while IFS= read -r f; do
      rel="${f#/usr/}"
      cp "$f" "$stage/r/installed/${rel//\//_}"
    done
}
sample_installed '*.rds' 24
sample_installed '*.rda' 6
sample_installed '*.rdx' 6

"$tool" "$build/seeds" "$stage/t7" "$stage/r"

#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in their own build directory, makes their seed corpora
# and runs them, one at a time (one process each: the machine's other cores stay free).
#
#   fuzz/run.sh fuzz     # FUZZ_SECONDS (300) per target; the corpus grows in
#                        # $FUZZ_BUILD_DIR/corpus/<target> from run to run (`make fuzz`)
#   fuzz/run.sh smoke    # replay every seed and regression input, then FUZZ_SECONDS (10) per
#                        # target from a fresh corpus (`make fuzz-smoke`, the fuzz_smoke ctest)
#
# Environment:
#   FUZZ_BUILD_DIR      build directory (default build-fuzz in the repository)
#   FUZZ_SECONDS        seconds of fuzzing per target (300 for fuzz, 10 for smoke)
#   FUZZ_TARGETS        targets to run (default: all nine, space-separated)
#   FUZZ_MAX_LEN        -max_len of generated inputs (65536)
#   FUZZ_RSS_LIMIT_MB   -rss_limit_mb, also the largest single allocation (2048)
#   FUZZ_TIMEOUT        -timeout per input in seconds (25)
#   FUZZ_SEED           libFuzzer's -seed: for smoke 1 unless given, so that a check that gates
#                       every change makes the same inputs from run to run (one that fails is
#                       found again with the same seed); for fuzz a fresh one each run unless given
#   SERIALD_SHARED_DIR  where corpus/torch7 lives (default ../shared next to the repository)
#   JOBS                parallel compile jobs (nproc)
#
# Inputs that once crashed live in fuzz/regressions/<target>/ and are replayed by both modes.
# A crash, leak, timeout or out-of-memory is saved as $FUZZ_BUILD_DIR/artifacts/<target>/...;
# the script then prints the reproducing command and exits 1 once every target has run. Without
# clang (or libFuzzer's runtime, libclang-rt-14-dev) it fails: the smoke is never skipped.
set -euo pipefail

mode="${1:-}"
case "$mode" in
  fuzz) seconds="${FUZZ_SECONDS:-300}" seed="${FUZZ_SEED:-}" ;;
  smoke) seconds="${FUZZ_SECONDS:-10}" seed="${FUZZ_SEED:-1}" ;;
  *) echo "usage: fuzz/run.sh fuzz|smoke" >&2; exit 2 ;;
esac

repo="$(cd "$(dirname "$0")/.." && pwd)"
build="${FUZZ_BUILD_DIR:-$repo/build-fuzz}"
all_targets="torch7_fuzzer rds_fuzzer detect_fuzzer json_fuzzer proto_value_fuzzer \
  proto_data_fuzzer arrays_fuzzer convert_fuzzer chunk_wire_fuzzer"
targets="${FUZZ_TARGETS:-$all_targets}"
max_len="${FUZZ_MAX_LEN:-65536}"
rss_limit="${FUZZ_RSS_LIMIT_MB:-2048}"
timeout="${FUZZ_TIMEOUT:-25}"
jobs="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
export SERIALD_SHARED_DIR="${SERIALD_SHARED_DIR:-$repo/../shared}"

for tool in clang clang++ cmake ninja; do
  command -v "$tool" >/dev/null || {
    echo "fuzz: $tool not found; scripts/install-deps.sh installs it" \
      "(clang, libclang-rt-14-dev)" >&2
    exit 1
  }
done

# Configure (again: quick, and picks up new sources) and build only the fuzz targets.
started=$(date +%s)
mkdir -p "$build"
build="$(cd "$build" && pwd)"
CC=clang CXX=clang++ cmake -S "$repo" -B "$build" -G Ninja -DSERIALD_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSERIALD_SHARED_DIR="$SERIALD_SHARED_DIR" \
  >"$build/configure.log" 2>&1 || {
  cat "$build/configure.log" >&2
  echo "fuzz: configuring $build failed" >&2
  exit 1
}
cmake --build "$build" --target seriald_fuzz -j "$jobs"
built=$(date +%s)
echo "fuzz: built in $((built - started)) s"

"$repo/fuzz/make_seeds.sh" "$build"

export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"

summary=()
still_failing=()
failed=0
for target in $targets; do
  binary="$build/fuzz/$target"
  seeds="$build/seeds/$target"
  regressions="$repo/fuzz/regressions/$target"
  artifacts="$build/artifacts/$target"
  logs="$build/logs"
  mkdir -p "$artifacts" "$logs"
  [ -x "$binary" ] || { echo "fuzz: no target $target" >&2; exit 1; }
  inputs=("$seeds")
  [ -d "$regressions" ] && inputs+=("$regressions")

  # 1. Replay, whole (the fuzzing run below cuts inputs to -max_len): the seeds in one run (files
  #    given one by one are run once each), then each regression input on its own, so that every
  #    one still failing is listed.
  result="ok"
  replay_log="$logs/$target.replay.log"
  : >"$replay_log"
  replay() {
    "$binary" -rss_limit_mb="$rss_limit" -timeout="$timeout" -artifact_prefix="$artifacts/" \
      "$@" >>"$replay_log" 2>&1
  }
  mapfile -t files < <(find "$seeds" -type f | sort)
  if [ "${#files[@]}" -gt 0 ] && ! replay "${files[@]}"; then
    result="REPLAY FAILED"
    still_failing+=("$target: a seed (see $replay_log)")
  fi
  if [ -d "$regressions" ]; then
    while IFS= read -r input; do
      if ! replay "$input"; then
        result="REPLAY FAILED"
        still_failing+=("$target: $input")
      fi
    done < <(find "$regressions" -type f | sort)
  fi

  # 2. Fuzz for $seconds from the seeds and regressions; new inputs go to the first directory.
  #    `fuzz` runs in fork mode with one worker, which keeps going after a crash, timeout or
  #    out-of-memory (each saved as an artifact) for the whole time; `smoke` stops at the first.
  if [ "$mode" = smoke ]; then
    corpus="$build/smoke-corpus/$target"
    rm -rf "$corpus"
    keep_going=()
  else
    corpus="$build/corpus/$target"
    keep_going=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  fi
  [ -n "$seed" ] && keep_going+=(-seed="$seed")
  mkdir -p "$corpus"
  log="$logs/$target.$mode.log"
  rm -f "$log"
  before="$(find "$artifacts" -type f ! -name 'slow-unit-*' | sort)"
  # (A failed replay ends a smoke there; `fuzz` goes on, its fork mode survives the input.)
  if [ "$result" = ok ] || [ "$mode" = fuzz ]; then
    if ! "$binary" "${keep_going[@]}" -max_total_time="$seconds" -max_len="$max_len" \
        -rss_limit_mb="$rss_limit" -timeout="$timeout" -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "$corpus" "${inputs[@]}" >"$log" 2>&1; then
      [ "$result" = ok ] && result="FAILED"
    fi
  fi
  new_artifacts="$(comm -13 <(printf '%s\n' "$before") \
    <(find "$artifacts" -type f ! -name 'slow-unit-*' | sort) | sed '/^$/d')"
  findings="$(printf '%s' "$new_artifacts" | grep -c . || true)"
  if [ "$result" = ok ] && [ "$findings" -gt 0 ]; then result="$findings FINDINGS"; fi

  # libFuzzer's last status line ("#123 DONE cov: 456 ft: 789 corp: 12/3456b ...", in fork mode
  # "#123: cov: 456 ft: 789 corp: 12 ... time: 300s") and its "Done 123 runs in 10 second(s)".
  runs="-" secs="-" cov="-" ft="-" corp="-"
  if [ -f "$log" ]; then
    status_line="$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)"
    runs="$(grep -oE '^#[0-9]+' <<<"$status_line" | tr -d '#' || true)"
    secs="$(grep -oE 'time: [0-9]+s' <<<"$status_line" | grep -oE '[0-9]+' || true)"
    done_line="$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1 || true)"
    if [ -n "$done_line" ]; then
      runs="$(awk '{print $2}' <<<"$done_line")"
      secs="$(awk '{print $5}' <<<"$done_line")"
    fi
    # Fork mode counts coverage its own way: measure the final corpus as a plain run does.
    if [ "$mode" = fuzz ]; then
      status_line="$("$binary" -runs=0 -max_len="$max_len" -rss_limit_mb="$rss_limit" \
        -timeout="$timeout" "$corpus" 2>&1 | grep -E '^#[0-9]+.*INITED.*cov: ' | tail -1 || true)"
    fi
    cov="$(grep -oE 'cov: [0-9]+' <<<"$status_line" | awk '{print $2}' || true)"
    ft="$(grep -oE 'ft: [0-9]+' <<<"$status_line" | awk '{print $2}' || true)"
    corp="$(grep -oE 'corp: [0-9]+(/[0-9]+[a-zA-Z]*)?' <<<"$status_line" |
      awk '{print $2}' || true)"
  fi
  summary+=("$(printf '%-20s %-14s %10s %6s %7s %7s %14s' "$target" "$result" "${runs:--}" \
    "${secs:--}" "${cov:--}" "${ft:--}" "${corp:--}")")

  if [ "$result" != ok ]; then
    failed=1
    failing_log="$log"
    [ "$result" = "REPLAY FAILED" ] && failing_log="$replay_log"
    echo "fuzz: $target: $result; log $failing_log" >&2
    grep -E '^Running: ' "$failing_log" | tail -1 >&2 || true
    grep -E 'ERROR: |FUZZ INVARIANT|runtime error|SUMMARY|Test unit written' "$failing_log" |
      tail -6 >&2 || true
    if [ "$result" = "REPLAY FAILED" ] && [ "$mode" = fuzz ] && [ "$findings" -gt 0 ]; then
      echo "fuzz: $target: and $findings new findings while fuzzing (log $log)" >&2
    fi
    for artifact in $new_artifacts; do
      echo "fuzz: reproduce with: $binary $artifact" >&2
    done
  fi
done

echo
echo "fuzz ($mode, ${seconds} s per target, -max_len=$max_len, -rss_limit_mb=$rss_limit${seed:+, -seed=$seed}):"
printf '%-20s %-14s %10s %6s %7s %7s %14s\n' target result runs secs cov ft corpus
printf '%s\n' "${summary[@]}"
if [ "${#still_failing[@]}" -gt 0 ]; then
  echo "fuzz: replayed inputs that fail (fuzz/regressions/README.md says why):"
  printf '  %s\n' "${still_failing[@]}"
fi
echo "fuzz: total $(($(date +%s) - started)) s (build $((built - started)) s);" \
  "logs in $build/logs"
exit "$failed"

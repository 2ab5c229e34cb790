#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 (ASan + UBSan) in build/fuzz and runs each one.
#   tests/fuzz/run.sh                      smoke: 10 s per target (scripts/test.sh)
#   FUZZ_SECONDS=3600 tests/fuzz/run.sh    long run: an hour per target
#   FUZZ_TARGETS="fuzz_push" tests/fuzz/run.sh   a subset
#   FUZZ_JOBS=2                            parallel fuzzing processes per target (long runs)
# The corpus in tests/fuzz/corpus/<target>/ is read (seeds + kept regression inputs); new
# interesting inputs go to build/fuzz/corpus-new/<target>/ (merge them by hand if they matter).
# A crash stops the run with a non-zero exit; the input is saved as build/fuzz/crash-<target>-*.
# Copy it into tests/fuzz/corpus/<target>/regress-<name> once fixed, so every run replays it.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${FUZZ_BUILD_DIR:-$ROOT/build/fuzz}
SECONDS_PER_TARGET=${FUZZ_SECONDS:-10}
# Short (CI smoke) runs use a fixed seed so a landing is not failed by a lucky new input; long runs
# explore with a random seed unless FUZZ_SEED is given. New finds go to the corpus as regressions.
if [ -z "${FUZZ_SEED:-}" ] && [ "$SECONDS_PER_TARGET" -le 60 ]; then FUZZ_SEED=1; fi
SEED_ARG=()
[ -n "${FUZZ_SEED:-}" ] && SEED_ARG=(-seed="$FUZZ_SEED")
TARGETS=${FUZZ_TARGETS:-"fuzz_event fuzz_push fuzz_pull fuzz_settings fuzz_import"}
JOBS=${FUZZ_JOBS:-1}

if [ ! -f "$BUILD/build.ninja" ]; then
  CC=clang-14 CXX=clang++-14 cmake -S tests/fuzz -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$BUILD" -j"${BUILD_JOBS:-$(nproc)}" --target $TARGETS make_seeds
# Seeds are generated from the real code once (kept in the repo); regenerate when formats change
# with: rm -r tests/fuzz/corpus/*/seed-* && build/fuzz/make_seeds tests/fuzz/corpus

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:suppressions=$ROOT/tests/fuzz/ubsan.supp}
summary=()
status=0
for t in $TARGETS; do
  seeds=$ROOT/tests/fuzz/corpus/$t
  new=$BUILD/corpus-new/$t
  mkdir -p "$new" "$seeds"
  log=$BUILD/$t.log
  echo "--- $t: ${SECONDS_PER_TARGET}s (corpus: $(ls "$seeds" | wc -l) files)"
  set +e
  # Replay every kept input first (regressions must stay fixed), then fuzz.
  "$BUILD/$t" -runs=0 "$seeds" >"$log.replay" 2>&1
  rc=$?
  if [ $rc -eq 0 ]; then
    # run inside $BUILD: with -jobs libFuzzer writes fuzz-N.log into the working directory
    (cd "$BUILD" && "$BUILD/$t" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -jobs="$JOBS" -workers="$JOBS" -print_final_stats=1 -artifact_prefix="$BUILD/crash-$t-" "${SEED_ARG[@]}" \
      "$new" "$seeds" >"$log" 2>&1)
    rc=$?
    [ "$JOBS" -gt 1 ] && cat "$BUILD"/fuzz-*.log >>"$log" 2>/dev/null && rm -f "$BUILD"/fuzz-*.log
  else
    cp "$log.replay" "$log"
  fi
  set -e
  execs=$(grep -h 'stat::number_of_executed_units' "$log" | awk '{s+=$2} END {print s+0}')
  cov=$(grep -ho 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  if [ $rc -ne 0 ]; then
    echo "FAILED: $t (exit $rc) — see $log"; tail -40 "$log"; status=1
  fi
  summary+=("$(printf '%-14s %8ss %12s execs  cov %s  %s' "$t" "$SECONDS_PER_TARGET" "$execs" "${cov:-?}" "$([ $rc -eq 0 ] && echo ok || echo CRASH)")")
done
printf '\n'; printf '%s\n' "${summary[@]}"
exit $status

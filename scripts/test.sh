#!/usr/bin/env bash
# Builds native and web, runs every test suite, exits non-zero on any failure.
#   scripts/test.sh            unit + integration + wasm core tests + browser e2e
#   CLOSELOOP_LONG=1 scripts/test.sh   also the long fuzz/soak modes (opt-in)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export NODE_PATH=/usr/share/nodejs
JOBS=${JOBS:-$(nproc)}

step() { printf '\n=== %s\n' "$*"; }

step "native build"
[ -f build/native/build.ninja ] || cmake --preset native >/dev/null
cmake --build build/native -j"$JOBS"

step "native tests (ctest)"
ctest --test-dir build/native --output-on-failure -j"$JOBS" --timeout 600

step "server reliability: kill -9 crash cycles, hostile HTTP, 50-device load (real process)"
tests/reliability/run.sh build/native/server/closeloop-server

step "fuzz smoke (libFuzzer, clang-14, ASan+UBSan, ${FUZZ_SECONDS:=5}s per target)"
FUZZ_SECONDS=$FUZZ_SECONDS tests/fuzz/run.sh

step "web build (Emscripten)"
[ -f build/web/build.ninja ] || cmake --preset web >/dev/null
cmake --build build/web -j"$JOBS"

step "core tests compiled to WebAssembly, under Node"
ctest --test-dir build/web --output-on-failure --timeout 600

step "sanitizers: core, fault and server suites under ASan + UBSan (preset sanitize)"
[ -f build/sanitize/build.ninja ] || cmake --preset sanitize >/dev/null
cmake --build build/sanitize -j"$JOBS"
CLOSELOOP_TEST_SCALE=small ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build/sanitize --output-on-failure -j"$JOBS" --timeout 900

if [ -x tests/e2e/run.sh ]; then
  step "browser end-to-end tests (headless Chromium)"
  tests/e2e/run.sh
fi

step "all suites passed"

#!/usr/bin/env bash
# Side-by-side benchmarks (issue 6). Not part of scripts/test.sh.
#   scripts/bench.sh [--size small|default|large] [--runs N] [--skip-install] [--skip-build] [--with-automerge]
#                    [--server PATH] [--only inproc,crdt,http,sqljs,micro,coldstart]
# Installs the npm peers into bench/peers (git-ignored), builds closeloop_bench and
# closeloop_bench_scenarios (+ the server when it builds) in build/bench and, with Emscripten, the
# wasm inbox query and the web client in build/bench-web, generates one seeded data set, runs every
# scenario for closeloop and each peer on it and writes bench/results/latest.json and
# bench/results/latest.md. See bench/README.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/bench"
BUILD="${CLOSELOOP_BENCH_BUILD:-$ROOT/build/bench}"
WEB_BUILD="${CLOSELOOP_BENCH_WEB_BUILD:-$ROOT/build/bench-web}"
SIZE=default RUNS="" WITH_AUTOMERGE="" SKIP_INSTALL=0 SKIP_BUILD=0 SERVER="${CLOSELOOP_SERVER:-}" ONLY="inproc,crdt,http,sqljs,micro,coldstart"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --size) SIZE="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --skip-install) SKIP_INSTALL=1; shift ;;
    --with-automerge) WITH_AUTOMERGE=1; shift ;;
    --skip-build) SKIP_BUILD=1; shift ;;
    --server) SERVER="$2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
want() { [[ ",$ONLY," == *",$1,"* ]]; }

case "$SIZE" in
  small)   CASES=1000;   EVENTS=10000;   DEF_RUNS=3; QUERY_BIG=10000;  SCALING=10000,30000;          AM_RUNS=1; HTTP_RUNS=1; MICRO_TIME=0.1 ;;
  default) CASES=10000;  EVENTS=100000;  DEF_RUNS=5; QUERY_BIG=100000; SCALING=10000,100000;         AM_RUNS=1; HTTP_RUNS=3; MICRO_TIME=0.5 ;;
  large)   CASES=100000; EVENTS=1000000; DEF_RUNS=3; QUERY_BIG=100000; SCALING=10000,100000,1000000; AM_RUNS=1; HTTP_RUNS=1; MICRO_TIME=0.5 ;;
  *) echo "--size must be small, default or large" >&2; exit 2 ;;
esac
RUNS="${RUNS:-$DEF_RUNS}"
RESULTS="$BENCH/results"
WORK="$RESULTS/work-$SIZE"
mkdir -p "$RESULTS" "$WORK"
# Each phase with the seconds since the start (the small size must stay under a minute).
log() { printf '\n== [%3ds] %s\n' "$SECONDS" "$*" >&2; }

# ---- peers (npm, into the ignored bench/peers) ----
if [[ $SKIP_INSTALL -eq 0 ]]; then
  log "npm peers -> bench/peers"
  mkdir -p "$BENCH/peers"
  [[ -f "$BENCH/peers/package.json" ]] || echo '{ "name": "closeloop-bench-peers", "private": true, "version": "0.0.0" }' > "$BENCH/peers/package.json"
  if [[ ! -d "$BENCH/peers/node_modules/pouchdb-server" || ! -d "$BENCH/peers/node_modules/@automerge/automerge" ||
        ! -d "$BENCH/peers/node_modules/yjs" || ! -d "$BENCH/peers/node_modules/sql.js" ]]; then
    (cd "$BENCH/peers" && npm install --no-audit --no-fund pouchdb-server @automerge/automerge yjs sql.js >&2)
  fi
fi

# ---- build ----
if [[ $SKIP_BUILD -eq 0 ]]; then
  log "build (Release) in $BUILD"
  SERVER_FLAG=-DCLOSELOOP_BUILD_SERVER=ON
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF $SERVER_FLAG >&2 ||
    cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DCLOSELOOP_BUILD_SERVER=OFF >&2
  cmake --build "$BUILD" --target closeloop_bench_scenarios >&2
  cmake --build "$BUILD" --target closeloop_bench >&2 || echo "closeloop_bench (Google Benchmark) not built" >&2
  if [[ -z "$SERVER" ]]; then
    cmake --build "$BUILD" --target closeloop-server >&2 || echo "closeloop-server does not build yet: HTTP scenarios for closeloop are skipped" >&2
  fi
fi
[[ -z "$SERVER" && -x "$BUILD/server/closeloop-server" ]] && SERVER="$BUILD/server/closeloop-server"

# ---- web build (Emscripten): closeloop's wasm inbox query (sqljs part) and the client (coldstart) ----
# Its own build dir with the web preset's settings (MinSizeRel = -Os, as shipped), the bench folder
# switched on (CLOSELOOP_BENCH_WASM) and the Playwright test bridge off (not shipped).
export NODE_PATH="${NODE_PATH:-/usr/share/nodejs}"  # Debian's emcc loads acorn from there
WEB_TARGETS=()
want sqljs && WEB_TARGETS+=(closeloop_bench_wasm_query)
want coldstart && WEB_TARGETS+=(closeloop_client)
WEB_SKIP=""
if [[ ${#WEB_TARGETS[@]} -gt 0 && $SKIP_BUILD -eq 0 ]]; then
  if ! command -v emcmake >/dev/null || ! command -v emcc >/dev/null; then
    WEB_SKIP="Emscripten (emcc) not installed"
  else
    log "web build (Emscripten, MinSizeRel) in $WEB_BUILD: ${WEB_TARGETS[*]}"
    emcmake cmake -S "$ROOT" -B "$WEB_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=MinSizeRel -DBUILD_TESTING=OFF \
      -DCLOSELOOP_BENCH_WASM=ON -DCLOSELOOP_TEST_BRIDGE=OFF >&2 || WEB_SKIP="the web configuration failed"
    if [[ -z "$WEB_SKIP" ]]; then
      for t in "${WEB_TARGETS[@]}"; do
        cmake --build "$WEB_BUILD" --target "$t" -j"${JOBS:-$(nproc)}" >&2 || echo "web target $t does not build" >&2
      done
    fi
  fi
fi
WASM_QUERY="$WEB_BUILD/bench/closeloop_bench_wasm_query.js"
WWW="${CLOSELOOP_WWW:-$WEB_BUILD/client/www}"
# A part that could not run: an empty figure file with the reason, so the report lists it.
skip_part() {  # file scenario system reason
  printf '{"figures":[],"skipped":[{"scenario":"%s","system":"%s","reason":"%s"}]}\n' "$2" "$3" "$4" > "$1"
  echo "skipped $2 ($3): $4" >&2
  PARTS+=("$1")
}
SCEN="$BUILD/bench/closeloop_bench_scenarios"
[[ -x "$SCEN" ]] || { echo "missing $SCEN (build failed?)" >&2; exit 1; }

META_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
META_LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
META_HOST="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
SKIPPED='[]'
PARTS=()

# ---- in-process scenarios (also exports the data set for the peers) ----
log "closeloop in-process scenarios: $CASES cases / $EVENTS events, $RUNS runs"
SC_ONLY=export
want sqljs && SC_ONLY="export,query"  # the query databases for sql.js and the wasm query
want inproc && SC_ONLY="export,fold,merge,insert,query,retention,pull,sla,scaling"
"$SCEN" --cases "$CASES" --events "$EVENTS" --runs "$RUNS" --work "$WORK" --query-big-cases "$QUERY_BIG" \
  --scaling "$SCALING" --only "$SC_ONLY" > "$WORK/closeloop.json"
PARTS+=("$WORK/closeloop.json")

if want crdt; then
  log "CRDT peers (merge)"
  # Automerge runs at --size small, or with --with-automerge: at the default size (Automerge 3,
  # 2026-11) building the replicas takes ~1 min and the merge then runs out of its 4 GiB wasm heap
  # after ~9 min (rust_oom), so it is left out unless asked for, and its failure is recorded.
  # yjs holds both 500k-event replicas at --size large: more than node's default heap.
  node --max-old-space-size=12288 "$BENCH/js/crdt_merge.mjs" --work "$WORK" --runs "$RUNS" --automerge-runs "$AM_RUNS" --only yjs > "$WORK/crdt.json"
  PARTS+=("$WORK/crdt.json")
  if [[ "$SIZE" != small && -z "$WITH_AUTOMERGE" ]]; then
    SKIPPED='[{"scenario":"merge","system":"automerge","reason":"left out at this size: its merge of the 100k-event replicas runs out of the 4 GiB wasm heap after ~9 min (rust_oom); see --size small or pass --with-automerge"}]'
  elif ! node --max-old-space-size=12288 "$BENCH/js/crdt_merge.mjs" --work "$WORK" --runs "$RUNS" --automerge-runs "$AM_RUNS" \
         --only automerge > "$WORK/crdt_automerge.json" 2> "$WORK/crdt_automerge.err"; then
    why="failed"
    grep -q rust_oom "$WORK/crdt_automerge.err" && why="ran out of its 4 GiB wasm heap (rust_oom)"
    echo "automerge $why" >&2
    SKIPPED="[{\"scenario\":\"merge\",\"system\":\"automerge\",\"reason\":\"$why at $EVENTS events\"}]"
  else
    cat "$WORK/crdt_automerge.err" >&2
    PARTS+=("$WORK/crdt_automerge.json")
  fi
fi

if want http; then
  log "HTTP on loopback (closeloop-server: ${SERVER:-not built}; pouchdb-server)"
  node "$BENCH/js/http_bench.mjs" --work "$WORK" --runs "$HTTP_RUNS" --server "${SERVER:-}" > "$WORK/http.json"
  PARTS+=("$WORK/http.json")
fi

if want sqljs; then
  # sql.js and closeloop's own wasm build of the same query on the same files (before they are
  # deleted below), in alternating rounds pooled per figure: sub-millisecond timings follow the
  # machine's load, which should fall on both alike (bench/js/pool_rounds.mjs).
  SQ_ROUNDS=()
  WQ_ROUNDS=()
  for round in 1 2 3; do
    log "inbox query, round $round of 3: sql.js"
    node "$BENCH/js/sqljs_query.mjs" --work "$WORK" --runs "$RUNS" > "$WORK/sqljs.$round.json"
    SQ_ROUNDS+=("$WORK/sqljs.$round.json")
    if [[ -f "$WASM_QUERY" ]]; then
      log "inbox query, round $round of 3: closeloop (wasm) under node"
      node "$WASM_QUERY" --work "$WORK" --runs "$RUNS" > "$WORK/wasm_query.$round.json"
      WQ_ROUNDS+=("$WORK/wasm_query.$round.json")
    fi
  done
  node "$BENCH/js/pool_rounds.mjs" "${SQ_ROUNDS[@]}" > "$WORK/sqljs.json"
  PARTS+=("$WORK/sqljs.json")
  if [[ ${#WQ_ROUNDS[@]} -gt 0 ]]; then
    node "$BENCH/js/pool_rounds.mjs" "${WQ_ROUNDS[@]}" > "$WORK/wasm_query.json"
    PARTS+=("$WORK/wasm_query.json")
  else
    skip_part "$WORK/wasm_query.json" query "closeloop (wasm)" "${WEB_SKIP:-$WASM_QUERY not built}"
  fi
fi

if want coldstart; then
  log "client cold start in headless Chromium (closeloop-server: ${SERVER:-not built})"
  CHROMIUM_BIN="${CHROMIUM:-/usr/bin/chromium}"
  if [[ ! -f "$WWW/closeloop.wasm" ]]; then
    skip_part "$WORK/coldstart.json" coldstart closeloop "no web client in $WWW (${WEB_SKIP:-build it: emcmake cmake -S . -B build/bench-web ... see bench/README.md})"
  elif [[ ! -x "$CHROMIUM_BIN" ]]; then
    skip_part "$WORK/coldstart.json" coldstart closeloop "no Chromium at $CHROMIUM_BIN"
  elif [[ ! -d "$ROOT/tests/e2e/node_modules/playwright-core" ]]; then
    skip_part "$WORK/coldstart.json" coldstart closeloop "playwright-core not installed (cd tests/e2e && npm install)"
  else
    # at least 5 browser starts: one cold start is noisy
    # A returning user's start: a device store of 10k cases (the query scenario's file), when there is one.
    STORE_ARGS=()
    [ -f "$WORK/query_10000.db" ] && STORE_ARGS=(--store "$WORK/query_10000.db")
    node "$BENCH/js/coldstart.mjs" --server "${SERVER:-}" --www "$WWW" --runs $(( RUNS > 5 ? RUNS : 5 )) --chromium "$CHROMIUM_BIN" "${STORE_ARGS[@]}" > "$WORK/coldstart.json"
    PARTS+=("$WORK/coldstart.json")
  fi
fi

if want micro && [[ -x "$BUILD/bench/closeloop_bench" ]]; then
  log "Google Benchmark micro-benchmarks -> $RESULTS/micro.json"
  CLOSELOOP_BENCH_CASES=$CASES CLOSELOOP_BENCH_EVENTS=$EVENTS "$BUILD/bench/closeloop_bench" \
    --benchmark_repetitions=3 --benchmark_report_aggregates_only=true --benchmark_min_time="$MICRO_TIME" \
    --benchmark_out="$RESULTS/micro.json" --benchmark_out_format=json >&2
fi

META=$(printf '{"size":"%s","date":"%s","loadavg":"%s","host":"%s","runs":%s,"server":"%s","skipped":%s}' \
  "$SIZE" "$META_DATE" "$META_LOAD" "$META_HOST" "$RUNS" "${SERVER:-not built}" "$SKIPPED")
node "$BENCH/js/report.mjs" --out "$RESULTS" --meta "$META" "${PARTS[@]}"
# the big intermediate files stay in $WORK (ignored); drop the SQLite copies
rm -f "$WORK"/*.db "$WORK"/*.db-wal "$WORK"/*.db-shm
echo "wrote $RESULTS/latest.json and $RESULTS/latest.md" >&2

#!/usr/bin/env bash
# One command for an admin: set up, build the server (native) and the web client (web), then run
# the server on http://127.0.0.1:8080 with its data in ./data, serving the client.
#   scripts/run.sh [--demo] [extra closeloop-server options...]
#   --demo   fill a "demo" team with ~50 realistic cases (users alice, bob, maria, quinn) first
# Environment: CLOSELOOP_ADMIN_PASSWORD (first start), CLOSELOOP_DEMO_PASSWORD, DATA_DIR (default ./data),
#              SKIP_SETUP=1 (skip scripts/setup.sh), SKIP_WEB=1 (do not build the web client).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export NODE_PATH=/usr/share/nodejs  # emcc loads acorn from there
DATA_DIR=${DATA_DIR:-./data}

DEMO=0
ARGS=()
for a in "$@"; do
  if [[ "$a" == "--demo" ]]; then DEMO=1; else ARGS+=("$a"); fi
done

log() { printf '[run] %s\n' "$*"; }

if [[ "${SKIP_SETUP:-0}" != "1" ]]; then
  bash scripts/setup.sh
fi

log "building the server (preset native -> build/native)"
cmake --preset native >/dev/null
cmake --build --preset native --target closeloop-server

if [[ "${SKIP_WEB:-0}" != "1" ]]; then
  if [[ -f client/CMakeLists.txt && -f /usr/share/emscripten/cmake/Modules/Platform/Emscripten.cmake ]]; then
    log "building the web client (preset web -> build/web)"
    if cmake --preset web >/dev/null 2>&1 && cmake --build --preset web --target help 2>/dev/null | grep -q 'closeloop_client'; then
      cmake --build --preset web --target closeloop_client || log "web client build failed; serving without it"
    else
      log "web client target not available yet; serving the API only"
    fi
  else
    log "Emscripten not found; serving the API only"
  fi
fi

SERVER="$ROOT/build/native/server/closeloop-server"
if [[ "$DEMO" == "1" ]]; then
  log "seeding demo data into $DATA_DIR"
  "$SERVER" demo --data "$DATA_DIR"
fi

STATIC_ARGS=()
if [[ -d build/web/client/www ]]; then STATIC_ARGS=(--static build/web/client/www); fi
exec "$SERVER" --host 127.0.0.1 --port 8080 --data "$DATA_DIR" "${STATIC_ARGS[@]}" "${ARGS[@]}"

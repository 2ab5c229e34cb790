#!/usr/bin/env bash
# Browser end-to-end tests: the real web client (build/web) in headless Chromium against the real
# server (build/native). Screenshots land in tests/e2e/artifacts/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(cd ../.. && pwd)
export CLOSELOOP_WWW=${CLOSELOOP_WWW:-$ROOT/build/web/client/www}
export CLOSELOOP_SERVER=${CLOSELOOP_SERVER:-$ROOT/build/native/server/closeloop-server}
[ -d node_modules/playwright-core ] || PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --silent
mkdir -p artifacts
exec node --test --test-concurrency=1 .

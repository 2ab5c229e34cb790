#!/usr/bin/env bash
# Installs everything closeloop needs on a fresh Debian bookworm machine, idempotently.
#  - Debian packages (compilers, libraries, Emscripten, Chromium)
#  - npm packages for the browser tests (into tests/e2e/node_modules, ignored)
#  - third-party sources Debian ships only as source packages (Dear ImGui, cpp-httplib, SQLite
#    amalgamation) into the ignored third_party/ folder.
# A second run finds everything in place and takes a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
TP="$ROOT/third_party"
STAMP="$TP/.setup-stamp-v4"

# Pinned source package versions (sid moves: fall back to the newest offered).
IMGUI_VERSION="1.92.2b+ds-1"
HTTPLIB_VERSION="0.41.0+ds-3"
SQLITE_VERSION="3.53.4-2"

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates dpkg-dev tcl
  libsqlite3-dev sqlite3 libcereal-dev rapidjson-dev libgtest-dev libgmock-dev libbenchmark-dev
  libsodium-dev emscripten chromium clang-14 libclang-rt-14-dev curl
  fonts-inter python3-fonttools fonts-dejavu-core libssl-dev openssl
)
# Node.js and npm: use the machine's when present (a nodesource node conflicts with Debian's npm).
command -v node >/dev/null 2>&1 || APT_PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(npm)

log() { printf '[setup] %s\n' "$*"; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing_packages() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  echo "${missing[@]:-}"
}

ensure_apt() {
  local missing
  missing=$(missing_packages)
  if [ -n "$missing" ]; then
    log "installing Debian packages: $missing"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
}

ensure_debsrc() {
  local f=/etc/apt/sources.list.d/closeloop-debsrc.sources
  if [ ! -f "$f" ]; then
    log "adding deb-src entries (bookworm trixie sid) for newer upstream sources"
    $SUDO tee "$f" >/dev/null <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm trixie sid
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    $SUDO apt-get update -qq
  fi
}

# fetch_source NAME PINNED_VERSION DEST_DIR
fetch_source() {
  local name=$1 pin=$2 dest=$3
  [ -d "$dest" ] && return 0
  local work="$TP/.src-$name"
  rm -rf "$work"; mkdir -p "$work"
  (
    cd "$work"
    if ! apt-get source -qq --download-only "$name=$pin" >/dev/null 2>&1; then
      log "$name $pin is no longer offered; taking the newest version"
      $SUDO apt-get update -qq || true
      apt-get source -qq --download-only "$name" >/dev/null
    fi
    local dsc
    dsc=$(ls ./*.dsc | head -1)
    log "$name: using $(basename "$dsc" .dsc)"
    dpkg-source --no-check -x "$dsc" unpacked >/dev/null
  )
  mv "$work/unpacked" "$dest"
  rm -rf "$work"
}

ensure_sources() {
  mkdir -p "$TP"
  fetch_source imgui "$IMGUI_VERSION" "$TP/imgui"
  fetch_source cpp-httplib "$HTTPLIB_VERSION" "$TP/cpp-httplib"
  fetch_source sqlite3 "$SQLITE_VERSION" "$TP/sqlite3-src"
  if [ ! -f "$TP/sqlite/sqlite3.c" ]; then
    log "generating the SQLite amalgamation"
    mkdir -p "$TP/sqlite"
    (cd "$TP/sqlite3-src" && { [ -f Makefile ] || ./configure --quiet >/dev/null; } && make -s sqlite3.c >/dev/null 2>&1)
    cp "$TP/sqlite3-src/sqlite3.c" "$TP/sqlite3-src/sqlite3.h" "$TP/sqlite/"
  fi
}

ensure_npm() {
  local dir="$ROOT/tests/e2e"
  if [ -f "$dir/package.json" ] && [ ! -d "$dir/node_modules/playwright-core" ]; then
    log "installing npm packages for browser tests"
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --silent >/dev/null)
  fi
}

if [ -f "$STAMP" ] && [ -z "$(missing_packages)" ] && [ -f "$TP/sqlite/sqlite3.c" ] \
   && [ -d "$TP/imgui" ] && [ -d "$TP/cpp-httplib" ]; then
  ensure_npm
  exit 0
fi

ensure_apt
ensure_debsrc
ensure_sources
ensure_npm
touch "$STAMP"
log "done"

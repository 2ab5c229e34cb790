#!/usr/bin/env bash
# Reliability/security harness against the real server process (builds nothing).
#   tests/reliability/run.sh path/to/closeloop-server
# Normal mode (~1-2 min on 2 cores): 3 kill -9 cycles, hostile HTTP, 10 s of load with 50 devices,
# TLS, the command line's refusals.
# CLOSELOOP_LONG=1: 50 kill cycles and 60 s of load. CLOSELOOP_SEED=N replays the seeded choices.
# Every test prints one JSON line of figures on stdout; the last line is "N passed, M failed".
set -u
here="$(cd "$(dirname "$0")" && pwd)"
bin="${1:-}"
if [[ -z "$bin" || ! -x "$bin" ]]; then
    echo "usage: $0 path/to/closeloop-server" >&2
    echo "0 passed, 1 failed"
    exit 2
fi
for tool in python3 sqlite3 openssl; do
    if ! command -v "$tool" >/dev/null; then
        echo "reliability: $tool is required" >&2
        echo "0 passed, 1 failed"
        exit 2
    fi
done
limit=300
[[ "${CLOSELOOP_LONG:-}" == 1 ]] && limit=3600
export PYTHONDONTWRITEBYTECODE=1
passed=0
failed=0
failed_names=()
for t in crash_test hostile_test load_test tls_test cli_test; do
    echo "--- $t" >&2
    start=$(date +%s)
    if timeout "$limit" python3 "$here/$t.py" "$bin"; then
        passed=$((passed + 1))
        echo "--- $t ok ($(( $(date +%s) - start )) s)" >&2
    else
        failed=$((failed + 1))
        failed_names+=("$t")
        echo "--- $t FAILED ($(( $(date +%s) - start )) s)" >&2
    fi
done
[[ $failed -gt 0 ]] && echo "failed: ${failed_names[*]}" >&2
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]

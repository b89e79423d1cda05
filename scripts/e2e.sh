#!/usr/bin/env bash
# e2e.sh: end-to-end test of inline mode with network namespaces (tests/e2e/netns.py) against
# the built binary. Skips (exit 0, "e2e: skipped (reason)") when not root or without a working
# `ip netns`/ethtool; otherwise ends with "e2e: N passed, M failed" and exits non-zero on a
# failure. Extra arguments go to netns.py (--keep, --bridge, --fake, --set KEY=VALUE).
# SLUICE=path overrides the binary (default build/app/sluice/sluice).
set -uo pipefail
cd "$(dirname "$0")/.."
skip() { echo "e2e: skipped ($1)"; exit 0; }
[ "$(id -u)" -eq 0 ] || skip "not root"
command -v ip >/dev/null 2>&1 || skip "no ip command"
command -v ethtool >/dev/null 2>&1 || skip "no ethtool"
[ -x /usr/bin/python3 ] || skip "no /usr/bin/python3"
probe="sl-e2e-probe-$$"
ip netns add "$probe" >/dev/null 2>&1 || skip "ip netns unavailable"
ip netns del "$probe" >/dev/null 2>&1
BIN=${SLUICE:-build/app/sluice/sluice}
if [ ! -x "$BIN" ]; then
    echo "e2e: $BIN is not built (scripts/build.sh)"
    echo "e2e: 0 passed, 1 failed"
    exit 1
fi
exec /usr/bin/python3 tests/e2e/netns.py "$BIN" "$@"

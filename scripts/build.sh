#!/usr/bin/env bash
# build.sh: configure (once) and build sluice into build/ with warnings as errors.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f build/build.ninja ] || meson setup build -Dwerror=true >/dev/null
ninja -C build

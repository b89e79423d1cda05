#!/usr/bin/env bash
# fuzz.sh: build the libFuzzer targets in tests/fuzz/ and run each one for a bounded time.
# usage: scripts/fuzz.sh [seconds-per-target]   (default 20; SL_FUZZ_TARGETS="fuzz_x ..." picks targets;
#        SL_FUZZ_SEED=N fixes libFuzzer's random seed, so a run tries the same inputs in the same
#        order every time: scripts/test.sh uses it, so that a test run is repeatable; unset, each
#        run explores with a new seed, which is what a fuzzing session by hand wants)
#
# Everything goes to build-fuzz/ (ignored by git), from a clean checkout, without using build/:
#   build-fuzz/obj/        lib/*/*.c compiled with clang, ASan+UBSan and fuzzer coverage
#   build-fuzz/libsluice.a those objects (the same sources meson puts in sl_sources)
#   build-fuzz/fuzz_*      one binary per target (libFuzzer main, ASan, UBSan)
#   build-fuzz/seeds/      seed inputs written by tests/fuzz/make_seeds.py
#   build-fuzz/lists/      small pool lists for fuzz_inspect/fuzz_packet when config/ has none
#   build-fuzz/corpus/     a fresh corpus per target per run
#   build-fuzz/artifacts/  crash/timeout/oom reproducers; build-fuzz/logs/ the fuzzer output
# The library is compiled here rather than through a meson build dir: the meson files must
# stay as they are, and libFuzzer needs -fsanitize=fuzzer-no-link on the library objects so
# its coverage feedback reaches the parsers (a plain -Db_sanitize build would not have it).
# Prints "fuzz <name>: ok (<execs> execs)" or "fuzz <name>: CRASH <artifact>" per target and
# ends with "fuzz: N passed, M failed"; exits non-zero if any target failed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECS=${1:-20}
case $SECS in '' | *[!0-9]* | 0) echo "usage: $0 [seconds-per-target (>= 1)]" >&2; exit 2 ;; esac
SEED_ARGS=()
case ${SL_FUZZ_SEED-} in
'') ;;
*[!0-9]*) echo "$0: SL_FUZZ_SEED must be a number" >&2; exit 2 ;;
*) SEED_ARGS=(-seed="$SL_FUZZ_SEED") ;;
esac
OUT=$ROOT/build-fuzz
TARGETS=(${SL_FUZZ_TARGETS:-fuzz_dns fuzz_tls fuzz_http fuzz_ws fuzz_inspect fuzz_packet fuzz_capture fuzz_probe fuzz_dev})
CC=${FUZZ_CC:-clang}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

scripts/deps.sh || { echo "fuzz: 0 passed, 1 failed (dependencies)"; exit 1; }
command -v "$CC" >/dev/null || { echo "fuzz: $CC not found"; echo "fuzz: 0 passed, 1 failed"; exit 1; }

# libFuzzer's runtime ships in libclang-rt-14-dev on Debian 12 (a Recommends of clang-14).
if ! printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' |
    "$CC" -fsanitize=fuzzer -x c - -o /dev/null 2>/dev/null; then
    echo "fuzz: $CC cannot link -fsanitize=fuzzer (Debian: install libclang-rt-14-dev)"
    echo "fuzz: 0 passed, 1 failed"; exit 1
fi
mkdir -p "$OUT/obj" "$OUT/logs" "$OUT/seeds" "$OUT/lists" "$OUT/corpus" "$OUT/artifacts"

# Same defines as meson.build (burst_size default 32, config_dir = source tree config/).
DEFS=(-D_GNU_SOURCE -DALLOW_EXPERIMENTAL_API -DSL_BURST=32 "-DSL_CONFIG_DIR=\"$ROOT/config\"")
INCS=()
for d in lib/*/; do INCS+=(-I"$ROOT/${d%/}"); done
# shellcheck disable=SC2207
PKG_CFLAGS=($(pkg-config --cflags libdpdk libhs libpcap libmicrohttpd openssl))
# rte_eth_from_rings() (port.c) lives in the ring PMD, which pkg-config does not list: meson
# links it with find_library('rte_net_ring'); do the same.
# shellcheck disable=SC2207
PKG_LIBS=($(pkg-config --libs libdpdk libhs libpcap libmicrohttpd openssl) -lrte_net_ring -lnuma -lm -lpthread)
SAN=(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
COMMON=(-g -O1 -std=c11 -Wall -Wextra -Wno-unused-parameter "${SAN[@]}" "${DEFS[@]}"
    "${INCS[@]}" "${PKG_CFLAGS[@]}")

echo "fuzz: building the library with $($CC --version | head -1)"
BUILD_LOG=$OUT/logs/build-lib.log
: >"$BUILD_LOG"
objs=()
pids=()
for src in lib/*/*.c; do
    obj=$OUT/obj/$(basename "$(dirname "$src")")_$(basename "${src%.c}").o
    objs+=("$obj")
    "$CC" "${COMMON[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$obj" \
        >"$obj.log" 2>&1 &
    pids+=($!)
done
lib_ok=1
for i in "${!pids[@]}"; do
    if ! wait "${pids[$i]}"; then lib_ok=0; fi
    cat "${objs[$i]}.log" >>"$BUILD_LOG"; rm -f "${objs[$i]}.log"
done
if [ $lib_ok -ne 1 ]; then
    tail -40 "$BUILD_LOG"
    echo "fuzz: library build failed (see $BUILD_LOG)"
    echo "fuzz: 0 passed, ${#TARGETS[@]} failed"
    exit 1
fi
rm -f "$OUT/libsluice.a"
ar rcs "$OUT/libsluice.a" "${objs[@]}"

# Pool lists: the targets read $SL_FUZZ_DOMAINS / $SL_FUZZ_IPS, else config/pools.* when
# present, else run without. A list neither named by the caller nor present in config/ is
# replaced by a small one written here, so that the list-driven detectors (pool names in
# DNS/TLS/HTTP Host, WebSocket upgrades to a pool host, pool addresses) stay reachable. The
# seeds name the first pool name and IPv4 address of the lists in use.
if [ -z "${SL_FUZZ_DOMAINS+set}" ] && [ ! -r config/pools.domains ]; then
    printf '%s\n' '# fuzz: pool names' pool.example minexmr.test '*.xmr.pool.test' \
        >"$OUT/lists/pools.domains"
    export SL_FUZZ_DOMAINS=$OUT/lists/pools.domains
fi
if [ -z "${SL_FUZZ_IPS+set}" ] && [ ! -r config/pools.ips ]; then
    printf '%s\n' '# fuzz: pool addresses' 198.51.100.0/24 2001:db8:5::/48 203.0.113.9 \
        >"$OUT/lists/pools.ips"
    export SL_FUZZ_IPS=$OUT/lists/pools.ips
fi
rm -rf "$OUT/seeds"
if ! "$PY" tests/fuzz/make_seeds.py "$OUT/seeds" "${SL_FUZZ_DOMAINS-config/pools.domains}" \
    "${SL_FUZZ_IPS-config/pools.ips}" >"$OUT/logs/seeds.log" 2>&1; then
    cat "$OUT/logs/seeds.log"; echo "fuzz: seed generation failed"
    echo "fuzz: 0 passed, ${#TARGETS[@]} failed"; exit 1
fi
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# run_fuzzer LOG BINARY ARGS...: run one fuzzer process with $asan as ASAN_OPTIONS; returns
# its exit status. Afterwards removes DPDK's runtime directory (file prefix sl-fuzz-<pid>,
# see fuzz_packet.c) in case the process died before its atexit clean-up: only ours, named
# by the pid we started.
run_fuzzer() {
    local log=$1 fpid rc rd
    shift
    ASAN_OPTIONS=$asan "$@" >"$log" 2>&1 &
    fpid=$!
    wait $fpid
    rc=$?
    for rd in "${XDG_RUNTIME_DIR:-/nonexistent}/dpdk/sl-fuzz-$fpid" \
        "/var/run/dpdk/sl-fuzz-$fpid" "/tmp/dpdk/sl-fuzz-$fpid"; do
        if [ -d "$rd" ]; then rm -rf "$rd"; fi
    done
    return $rc
}

# crash_report TARGET LOG ARTIFACT: what a crash was, on lines that start with "fuzz TARGET:"
# (scripts/test.sh shows only such lines): the sanitizer's or libFuzzer's first error line, the
# first frames of its stack, and the input as base64 (inputs are at most 4 KiB), so that a
# crash seen only in someone else's run can be rebuilt: base64 -d > x.bin; build-fuzz/T x.bin
crash_report() {
    local t=$1 log=$2 art=$3
    grep -m1 -E '(==[0-9]+== ?ERROR|runtime error|property failed|deadly signal)' "$log" |
        sed "s/^/fuzz $t: /"
    grep -E '^ +#[0-9]+ ' "$log" | head -12 | sed "s/^ */fuzz $t:   /"
    if [ -n "$art" ] && [ -f "$art" ]; then
        base64 -w 0 "$art" | fold -w 160 | sed "s/^/fuzz $t: input /"
    fi
}

pass=0
fail=0
for t in "${TARGETS[@]}"; do
    bin=$OUT/$t
    log=$OUT/logs/$t.log
    if ! "$CC" "${COMMON[@]}" -fsanitize=fuzzer "tests/fuzz/$t.c" "$OUT/libsluice.a" \
        "${PKG_LIBS[@]}" -o "$bin" >"$OUT/logs/build-$t.log" 2>&1; then
        tail -20 "$OUT/logs/build-$t.log"
        echo "fuzz $t: CRASH (build failed, see $OUT/logs/build-$t.log)"
        fail=$((fail + 1))
        continue
    fi
    # LeakSanitizer stays on for every target, fuzz_packet included: what DPDK's EAL
    # allocates at init is still reachable at exit, so LSan has nothing to report there and
    # detect_leaks=0 is not needed. Mbufs are not malloc'd; fuzz_packet checks that the
    # mempool is full again after every input.
    asan=${ASAN_OPTIONS:-}
    # Known reproducers first (tests/fuzz/crashes/<target>-*.bin): a crash that was found and
    # not fixed yet fails every run, not just the runs that happen to find it again.
    known=()
    for f in tests/fuzz/crashes/"$t"-*.bin; do [ -f "$f" ] && known+=("$f"); done
    if [ ${#known[@]} -gt 0 ]; then
        bad=""
        for f in "${known[@]}"; do
            if ! run_fuzzer "$OUT/logs/$t-replay.log" "$bin" \
                -artifact_prefix="$OUT/artifacts/$t-replay-" "$f"; then
                bad=$f; break
            fi
        done
        if [ -n "$bad" ]; then
            echo "fuzz $t: CRASH $ROOT/$bad (known reproducer, see $OUT/logs/$t-replay.log)"
            crash_report "$t" "$OUT/logs/$t-replay.log" ""
            fail=$((fail + 1))
            continue
        fi
    fi
    corpus=$OUT/corpus/$t
    rm -rf "$corpus" "$OUT/artifacts/$t"
    mkdir -p "$corpus" "$OUT/artifacts/$t" "$OUT/seeds/$t"
    run_fuzzer "$log" "$bin" "${SEED_ARGS[@]}" -max_total_time="$SECS" -max_len=4096 \
        -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$OUT/artifacts/$t/" "$corpus" "$OUT/seeds/$t"
    rc=$?
    execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | tail -1 | grep -oE '[0-9]+$')
    art=$(find "$OUT/artifacts/$t" -type f | head -1)
    if [ $rc -eq 0 ] && [ -z "$art" ]; then
        echo "fuzz $t: ok (${execs:-0} execs)"
        pass=$((pass + 1))
    else
        echo "fuzz $t: CRASH ${art:-"(exit $rc, no artifact; see $log)"}"
        crash_report "$t" "$log" "$art"
        fail=$((fail + 1))
    fi
done
echo "fuzz: $pass passed, $fail failed"
[ $fail -eq 0 ]

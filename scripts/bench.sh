#!/usr/bin/env bash
# bench.sh: the worker-path benchmark (not a test). Builds sluice, runs tests/bench (real
# worker pipeline with detection on, packets already in mbufs, no PMD cost) for 10 k and 1 M
# established flows, for new flows, and for a realistic mix (the demo office capture plus
# every detection capture of tests/gen, merged) replayed so every flow is new each pass: the
# cost of inspection. ndpiReader runs on the same captures in the same run. Ends with:
# bench: established_mpps=X new_flow_mpps=Y cycles_per_pkt=Z ndpi_ratio=R mix_mpps=M mix_gbps=G mix_ndpi_ratio=Q block_p50_us=A block_p99_us=B
# (block_*: first mining packet to the block in force, worker and control core on one core)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh >/dev/null
work=$(mktemp -d /tmp/sluice-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
pcap=$work/est10k.pcap
/usr/bin/python3 tests/gen/gen.py "$work/gen" demo detect >/dev/null
mapfile -t parts < <(ls "$work/gen/demo.pcap" "$work"/gen/detect/*.pcap 2>/dev/null || true)
mergecap -F pcap -w "$work/mix.pcap" "${parts[@]}"
out=$(build/tests/bench/sluice-bench "$pcap" "${BENCH_PASSES:-20}" "$work/mix.pcap")
echo "$out" | grep -v '^bench-data:'
read -r est est1m newf cyc mixm mixg mixc latp50 latp99 <<<"$(grep '^bench-data:' <<<"$out" | cut -d' ' -f2-)"

# ndpiReader's own throughput line (pps, K/M suffixes) for one capture
ndpi_pps() {
    local nd
    nd=$(ndpiReader -i "$1" 2>&1 | grep -E 'nDPI throughput' | head -1)
    echo "ndpiReader on $(basename "$1"): ${nd## }" >&2
    awk '{for (i=1;i<=NF;i++) if ($i=="pps") { v=$(i-2); u=$(i-1); if (u=="K") v*=1e3; else if (u=="M") v*=1e6; print v; exit } }' <<<"$nd"
}
ratio() { awk -v a="$1" -v b="${2:-0}" 'BEGIN { if (b > 0) printf "%.1f", a * 1e6 / b; else print "nan" }'; }
nd=$(ndpi_pps "$pcap")
ndm=$(ndpi_pps "$work/mix.pcap")
echo "bench: established_mpps=$est new_flow_mpps=$newf cycles_per_pkt=$cyc ndpi_ratio=$(ratio "$est" "$nd") mix_mpps=$mixm mix_gbps=$mixg mix_ndpi_ratio=$(ratio "$mixm" "$ndm") block_p50_us=$latp50 block_p99_us=$latp99"

#!/usr/bin/env bash
# bench.sh: the worker-path benchmark (not a test). Builds sluice, runs tests/bench (real
# worker pipeline on packets already in mbufs, no PMD cost) for 10 k and 1 M established
# flows and for new flows, runs ndpiReader on the same 10 k-flow capture in the same run,
# and ends with: bench: established_mpps=X new_flow_mpps=Y cycles_per_pkt=Z ndpi_ratio=R
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh >/dev/null
pcap=$(mktemp /tmp/sluice-bench-XXXXXX.pcap)
trap 'rm -f "$pcap"' EXIT
out=$(build/tests/bench/sluice-bench "$pcap" "${BENCH_PASSES:-20}")
echo "$out" | grep -v '^bench-data:'
read -r est est1m newf cyc <<<"$(grep '^bench-data:' <<<"$out" | cut -d' ' -f2-)"
nd=$(ndpiReader -i "$pcap" 2>&1 | grep -E 'nDPI throughput' | head -1)
echo "ndpiReader on the same capture: ${nd## }"
ndpps=$(awk '{for (i=1;i<=NF;i++) if ($i=="pps") { v=$(i-2); u=$(i-1); if (u=="K") v*=1e3; else if (u=="M") v*=1e6; print v; exit } }' <<<"$nd")
ratio=$(awk -v a="$est" -v b="${ndpps:-0}" 'BEGIN { if (b > 0) printf "%.1f", a * 1e6 / b; else print "nan" }')
echo "bench: established_mpps=$est new_flow_mpps=$newf cycles_per_pkt=$cyc ndpi_ratio=$ratio"

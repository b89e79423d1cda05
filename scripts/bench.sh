#!/usr/bin/env bash
# bench.sh: what sluice costs and what a user meets (a benchmark, not a test). In one go on a
# fresh Debian 12 machine (installs what is missing, builds):
#  0. memory: reserves 2 MiB hugepages when it can (scripts/hugepages.sh, BENCH_HUGEPAGES
#     pages, default 1536; 0 = leave them alone) and says which memory every figure used
#     (mem=hugepages or mem=4k);
#  1. the worker path (tests/bench: real worker pipeline with detection on, packets already in
#     mbufs, no PMD cost) for 10 k and 1 M established flows, for new flows, and for a
#     realistic mix (the demo office capture plus every detection capture of tests/gen, merged)
#     replayed so every flow is new each pass: the cost of inspection; ndpiReader's own
#     throughput line on the same captures;
#  2. the whole process offline against ndpiReader (hyperfine, medians): a mix of every
#     Ethernet capture tests/gen makes, replicated with shifted times to >= 500 k packets, the
#     10 k-flow capture of step 1, and a one-packet capture (start-up time);
#  3. live throughput with what was lost: the real binary on a net_pcap vdev looping a mix of
#     <= 100 k frames (infinite_rx), one worker, one queue then two queues, for LIVE_SECONDS
#     (30): Mpps handled (telemetry, after a 2 s warm-up) and, from the summary, detection
#     events produced / written / lost, flow samples and host reports lost, ring_full.
# Environment: BENCH_PASSES (20) passes of step 1, BENCH_RUNS (5) hyperfine runs,
# OFFLINE_PACKETS (500000), LIVE_SECONDS (30), LIVE_FRAMES (100000), BENCH_HUGEPAGES (1536).
# Ends with one line (keys in this order; mem=... keys say which memory each part used):
# bench: established_mpps=X new_flow_mpps=Y cycles_per_pkt=Z ndpi_ratio=R mix_mpps=M mix_gbps=G mix_ndpi_ratio=Q block_p50_us=A block_p99_us=B worker_mem=W offline_mix_s=S ndpi_mix_s=N offline_ratio=O offline_10k_ratio=K startup_s=U ndpi_startup_s=V offline_mem=M live_mpps=L live_lost=D live2q_mpps=L2 live2q_lost=D2 live_mem=H
# (block_*: first mining packet to the block in force, worker and control core on one core;
# *_ratio = ndpiReader time / sluice time: above 1 sluice is faster)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh >/dev/null
SLUICE=build/app/sluice/sluice
work=$(mktemp -d /tmp/sluice-bench-XXXXXX)
live_pid="" live_prefix="" live_ev=""
cleanup() {
    if [ -n "$live_pid" ] && kill -0 "$live_pid" 2>/dev/null; then kill -KILL "$live_pid" 2>/dev/null || true; fi
    [ -z "$live_ev" ] || rm -f "$live_ev"
    [ -z "$live_prefix" ] || rm -rf "/var/run/dpdk/$live_prefix"
    rm -rf "$work"
}
trap cleanup EXIT

# ---- 0. memory: 2 MiB hugepages when the machine gives them -----------------------------
hp_free_mb() { awk '/^HugePages_Free:/ {f = $2} /^Hugepagesize:/ {s = $2} END {print int(f * s / 1024)}' /proc/meminfo; }
want=${BENCH_HUGEPAGES:-1536}
if [ "$want" -gt 0 ]; then
    cur=$(awk '/^HugePages_Total:/ {print $2}' /proc/meminfo)
    [ "${cur:-0}" -le "$want" ] || want=$cur # never take pages away from anyone
    if scripts/hugepages.sh "$want" >"$work/hugepages.log" 2>&1; then
        echo "bench: hugepages: $want x 2 MiB reserved, $(hp_free_mb) MB free"
    else
        echo "bench: hugepages: not reserved ($(grep '^hugepages:' "$work/hugepages.log" | tail -1)): 4 KiB pages"
    fi
fi

# ---- 1. the worker path, packets in memory ------------------------------------------------
pcap=$work/est10k.pcap
/usr/bin/python3 tests/gen/gen.py "$work/gen" >/dev/null # every capture the tests make
mapfile -t parts < <(ls "$work/gen/demo.pcap" "$work"/gen/detect/*.pcap 2>/dev/null || true)
mergecap -F pcap -w "$work/mix.pcap" "${parts[@]}"
if ! out=$(build/tests/bench/sluice-bench "$pcap" "${BENCH_PASSES:-20}" "$work/mix.pcap"); then
    echo "bench: the worker bench failed ($(grep -m1 'memory' <<<"$out" || true)); again on 4 KiB pages" >&2
    out=$(SL_BENCH_NO_HUGE=1 build/tests/bench/sluice-bench "$pcap" "${BENCH_PASSES:-20}" "$work/mix.pcap")
fi
echo "$out" | grep -v '^bench-data:'
read -r est est1m newf cyc mixm mixg mixc latp50 latp99 <<<"$(grep '^bench-data:' <<<"$out" | cut -d' ' -f2-)"
worker_mem=$(grep -q '^bench: memory: hugepages' <<<"$out" && echo hugepages || echo 4k)

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
echo "bench: worker path: mem=$worker_mem"

# ---- 2. the whole process offline, against ndpiReader -------------------------------------
# Every capture tests/gen makes that is Ethernet and reads to its end, merged in time order;
# then copies of it, each shifted past the end of the one before, concatenated.
eth=()
while IFS= read -r f; do
    lt=$(capinfos -T -r -E "$f" 2>/dev/null | awk -F'\t' 'NR == 1 {print $2}') || continue
    [ "$lt" = ether ] && capinfos "$f" >/dev/null 2>&1 && eth+=("$f")
done < <(find "$work/gen" \( -name '*.pcap' -o -name '*.pcapng' \) | sort)
mergecap -F pcap -w "$work/base.pcap" "${eth[@]}"
read -r nbase first last < <(capinfos -T -r -c -a -e -S "$work/base.pcap" | awk -F'\t' '{print $2, $3, $4}')
span=$(awk -v a="$first" -v b="$last" 'BEGIN {printf "%d", b - a + 2}')
copies=$(( (${OFFLINE_PACKETS:-500000} + nbase - 1) / nbase ))
cps=()
for k in $(seq 0 $((copies - 1))); do
    editcap -F pcap -t $((k * span)) "$work/base.pcap" "$work/copy$k.pcap"
    cps+=("$work/copy$k.pcap")
done
mergecap -a -F pcap -w "$work/offmix.pcap" "${cps[@]}"
rm -f "${cps[@]}"
nmix=$(capinfos -T -r -c -M "$work/offmix.pcap" | awk -F'\t' '{print $2}')
editcap -F pcap -r "$work/gen/demo.pcap" "$work/one.pcap" 1
echo "bench: offline mix: ${#eth[@]} Ethernet captures of tests/gen, $nbase packets, x $copies = $nmix packets"

# hyperfine medians (s) of sluice -r and ndpiReader -i on one capture: "sluice_s ndpi_s"
hf() {
    local cap=$1 name=$2
    hyperfine -N --style basic --warmup 1 --runs "${BENCH_RUNS:-5}" --output null \
        --export-json "$work/hf-$name.json" \
        -n "sluice $name" "$SLUICE -r $cap -q -s /dev/null -e /dev/null" \
        -n "ndpiReader $name" "ndpiReader -i $cap -q" >"$work/hf-$name.log" 2>&1 ||
        { echo "bench: hyperfine $name failed: $(tail -3 "$work/hf-$name.log")" >&2; echo "nan nan"; return; }
    jq -r '[.results[].median] | map(. * 1e4 | round / 1e4) | "\(.[0]) \(.[1])"' "$work/hf-$name.json"
}
hratio() { awk -v s="$1" -v n="$2" 'BEGIN { if (s > 0) printf "%.2f", n / s; else print "nan" }'; }
offline_mem=$([ "$(hp_free_mb)" -ge 512 ] && echo hugepages || echo 4k)
read -r off_mix nd_mix < <(hf "$work/offmix.pcap" mix)
read -r off_10k nd_10k < <(hf "$pcap" 10k)
read -r off_one nd_one < <(hf "$work/one.pcap" one)
echo "bench: offline (mem=$offline_mem: sluice -r takes free hugepages with --in-memory, else --no-huge) median s, sluice / ndpiReader:" \
     "mix ($nmix pkts) $off_mix / $nd_mix = x$(hratio "$off_mix" "$nd_mix");" \
     "10k flows (320 k pkts) $off_10k / $nd_10k = x$(hratio "$off_10k" "$nd_10k");" \
     "one packet (start-up) $off_one / $nd_one"

# ---- 3. live: the real binary on a looping net_pcap vdev ----------------------------------
# The offline mix's frames of at most 1 514 bytes, at most LIVE_FRAMES of them (infinite_rx
# holds the whole file in mbufs).
tshark -r "$work/base.pcap" -Y 'frame.cap_len <= 1514' -F pcap -w "$work/live-all.pcap" 2>/dev/null
editcap -F pcap -r "$work/live-all.pcap" "$work/live.pcap" "1-${LIVE_FRAMES:-100000}"
nlive=$(capinfos -T -r -c -M "$work/live.pcap" | awk -F'\t' '{print $2}')
rm -f "$work/live-all.pcap"

# rx_packets from the process' telemetry socket ($1)
tel_rx() {
    /usr/bin/python3 - "$1" <<'EOF' 2>/dev/null || echo ""
import json, socket, sys
sk = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
sk.settimeout(5)
sk.connect(sys.argv[1])
sk.recv(4096)
sk.send(b"/sluice/stats")
print(json.loads(sk.recv(1 << 20).decode())["/sluice/stats"]["rx_packets"])
EOF
}
now() { date +%s.%N; }

# live_run NAME NQUEUES: prints what it measured; "mpps lost" into $work/live-NAME.res
live_run() {
    local name=$1 nq=$2 vdev="net_pcap0" mem mem_args sum sock rx0 rx1 t0 t1 mpps
    sum=$work/live-$name.json
    local i secs=${LIVE_SECONDS:-30}
    for ((i = 0; i < nq; i++)); do vdev+=",rx_pcap=$work/live.pcap"; done
    vdev+=",infinite_rx=1"
    if [ "$(hp_free_mb)" -ge 1536 ]; then mem=hugepages mem_args=(--in-memory); else mem=4k mem_args=(--no-huge -m 3072); fi
    live_prefix=sl-bench-$$-$name
    live_ev=/dev/shm/sluice-bench-$$-$name.events
    sock=/var/run/dpdk/$live_prefix/dpdk_telemetry.v2
    "$SLUICE" -l 0-1 "${mem_args[@]}" --no-pci --file-prefix="$live_prefix" --log-level='lib.*:error' \
        --vdev "$vdev" -- -q -s "$sum" -e "$live_ev" --set exit_idle_ms=0 \
        --set mbufs=$((nq * nlive + 16384)) --set metrics_port=0 2>"$work/live-$name.err" &
    live_pid=$!
    for ((i = 0; i < 600; i++)); do
        [ ! -S "$sock" ] || break
        kill -0 "$live_pid" 2>/dev/null || break
        sleep 0.1
    done
    sleep 2 # warm-up: the file is in mbufs, flows and hosts fill their tables
    rx0=$(tel_rx "$sock") t0=$(now)
    sleep "$secs"
    rx1=$(tel_rx "$sock") t1=$(now)
    kill -INT "$live_pid" 2>/dev/null || true
    for ((i = 0; i < 600; i++)); do
        kill -0 "$live_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$live_pid" 2>/dev/null || true
    wait "$live_pid" 2>/dev/null || true
    live_pid=""
    if [ ! -s "$sum" ]; then
        echo "bench: live $name: no summary ($(tail -2 "$work/live-$name.err" | tr '\n' ' '))" >&2
        rm -f "$live_ev"
        echo "nan nan" >"$work/live-$name.res"
        return
    fi
    if [ -n "$rx0" ] && [ -n "$rx1" ]; then
        mpps=$(awk -v a="$rx0" -v b="$rx1" -v s="$t0" -v e="$t1" 'BEGIN {printf "%.2f", (b - a) / (e - s) / 1e6}')
    else # no telemetry: the whole run, start-up included
        mpps=$(jq -r --arg s "$secs" '.totals.rx_packets / ($s | tonumber + 2) / 1e6 * 100 | round / 100' "$sum")
    fi
    local written stats
    written=$(grep -c '"event_type":"detection"' "$live_ev" 2>/dev/null || true)
    # the stats record sluice writes last in the event log (flow samples lost live there)
    stats=$(grep '"event_type":"sluice_stats"' "$live_ev" 2>/dev/null | tail -1 || true)
    rm -f "$live_ev"
    rm -rf "/var/run/dpdk/$live_prefix"
    # Counters summed over workers; those a summary may not have (yet) read as null.
    jq -r --arg name "$name" --arg mem "$mem" --arg mpps "$mpps" --arg written "${written:-0}" \
        --arg secs "$secs" --arg nq "$nq" --arg nlive "$nlive" --argjson st "${stats:-null}" '
        def wsum(f): [.workers[]? | f | numbers] | if length > 0 then add else null end;
        def deep(k): [.. | objects | .[k]? | numbers] | if length > 0 then add else null end;
        (wsum(.inspection.events)) as $ev | (wsum(.inspection.events_lost)) as $evl |
        (deep("flow_samples_lost") // $st.sluice_stats.flow_samples_lost) as $sl | (wsum(.hosts.reports_lost)) as $hl |
        ([paths(scalars) as $p | select($p[-1] | tostring | test("busy|overload"))
          | "\($p | map(tostring) | join("."))=\(getpath($p))"] | join(" ")) as $ctl |
        "bench: live \($name) (mem=\($mem), 1 worker, \($nq) queue(s) looping \($nlive) frames, \($secs) s):" +
        " \($mpps) Mpps handled (\(.totals.rx_packets) packets in all);" +
        " detection events produced \(.control.detections.produced // $ev) / written \(.control.detections.written // $written)" +
        " / aggregated \(.control.detections.aggregated // 0) / lost \(.control.detections.dropped // $evl)" +
        " (equation holds: \(.control.detections.holds // "n/a"));" +
        " control core busy \(.control.busy_share // "n/a");" +
        " (control core took \(.scoring.detections // "?"));" +
        " flow samples lost \($sl // "n/a") (sent \($st.sluice_stats.flow_samples // "?"), control core took \(.scoring.samples // "?"));" +
        " host reports lost \($hl // "n/a") (report_ring_full \(wsum(.hosts.report_ring_full) // "n/a"));" +
        " ring_full \(wsum(.channel.ring_full) // "n/a")" +
        (if $ctl != "" then "; control core: \($ctl)" else "" end),
        "\($mpps) \(($evl // 0) + ($sl // 0) + ($hl // 0))"' "$sum" >"$work/live-$name.out"
    sed '$d' "$work/live-$name.out"
    tail -1 "$work/live-$name.out" >"$work/live-$name.res"
}
live_mem=$([ "$(hp_free_mb)" -ge 1536 ] && echo hugepages || echo 4k)
live_run 1q 1
read -r live_mpps live_lost <"$work/live-1q.res"
live_run 2q 2
read -r live2_mpps live2_lost <"$work/live-2q.res"

# 4. The control plane alone, fed recorded worker records from memory (no workers, no rings):
# host deltas, flow samples, and distinct detections formatted as JSON lines into /dev/null
# and into a file on tmpfs.
ctlb=build/tests/bench/sluice-ctl-bench
out=$("$ctlb" "${CTL_RECORDS:-4000000}" /dev/null 2>&1 | grep '^ctl-bench:' || true)
echo "$out" | grep -v 'host_rps='
read -r ctl_host ctl_sample ctl_det <<<"$(grep 'host_rps=' <<<"$out" | sed 's/.*host_rps=\([0-9]*\) sample_rps=\([0-9]*\) det_eps=\([0-9]*\).*/\1 \2 \3/')"
out=$("$ctlb" "${CTL_RECORDS:-4000000}" "/dev/shm/sluice-ctl-bench-$$.events" 2>&1 | grep '^ctl-bench:' || true)
rm -f "/dev/shm/sluice-ctl-bench-$$.events"
echo "$out" | grep 'detections written'
ctl_det_tmpfs=$(grep 'host_rps=' <<<"$out" | sed 's/.*det_eps=\([0-9]*\).*/\1/')

echo "bench: established_mpps=$est new_flow_mpps=$newf cycles_per_pkt=$cyc ndpi_ratio=$(ratio "$est" "$nd") mix_mpps=$mixm mix_gbps=$mixg mix_ndpi_ratio=$(ratio "$mixm" "$ndm") block_p50_us=$latp50 block_p99_us=$latp99 worker_mem=$worker_mem offline_mix_s=$off_mix ndpi_mix_s=$nd_mix offline_ratio=$(hratio "$off_mix" "$nd_mix") offline_10k_ratio=$(hratio "$off_10k" "$nd_10k") startup_s=$off_one ndpi_startup_s=$nd_one offline_mem=$offline_mem live_mpps=$live_mpps live_lost=$live_lost live2q_mpps=$live2_mpps live2q_lost=$live2_lost live_mem=$live_mem ctl_host_rps=${ctl_host:-nan} ctl_sample_rps=${ctl_sample:-nan} ctl_det_eps=${ctl_det:-nan} ctl_det_tmpfs_eps=${ctl_det_tmpfs:-nan}"

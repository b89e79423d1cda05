#!/usr/bin/env bash
# demo.sh: on a fresh Debian 12 machine: install what sluice needs, build it, generate a
# demo capture (an office network browsing the web, DNS and TLS, plus one host mining to a
# pool over Stratum), run sluice offline on it and show what it found: detections, the host's
# score with its reasons, and the block it would get (mode = dry_run decides, drops nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh >/dev/null
out=build/demo
mkdir -p "$out"
/usr/bin/python3 tests/gen/gen.py "$out" demo devices 2>/dev/null
echo "== sluice -r $out/demo.pcap --summary $out/summary.json --events $out/events.json"
rm -f "$out/events.json"
build/app/sluice/sluice -r "$out/demo.pcap" --summary "$out/summary.json" --events "$out/events.json" \
    --set mode=dry_run
echo
echo "== detections (one JSON line per flow and detector in $out/events.json)"
jq -r 'select(.event_type == "detection") | "\(.timestamp)  host \(.judged_host)  \(.src_ip):\(.src_port) -> \(.dest_ip):\(.dest_port)  \(.detector) [\(.protocol), weight \(.weight)]\n    evidence at byte \(.evidence.offset) \(.direction): \(.evidence.excerpt)"' "$out/events.json"
echo
echo "== alerts and verdicts (event lines alert, host_score, block)"
jq -r 'select(.event_type == "alert") | "\(.timestamp)  ALERT \(.judged_host) score \(.score) (\(.level)), reasons:", (.explanation.reasons[] | "    \(.signal) \(.detector // "") \(.points)/\(.weight) points, flow to \(.peer):\(.dest_port)"), "    device: \(.device.mac // .device.note) \(.device.vendor // "")"' "$out/events.json"
jq -r 'select(.event_type == "block") | "\(.timestamp)  BLOCK \(.judged_host) -> \(.peer):\(.dest_port) \(.proto) for \(.ttl_s) s, backend \(.backend) (dry run: nothing dropped): \(.reason)"' "$out/events.json"
echo
echo "== detections by detector"
jq -r '.detection.events_by_detector | to_entries[] | "\(.key)\t\(.value)"' "$out/summary.json" | column -t -s $'\t'
echo
echo "== hosts by traffic (from the summary JSON; the Stratum miner is 192.168.1.66)"
jq -r '.hosts.top[] | "\(.ip)\tflows \(.flows_opened)\tpeers \(.external_peers)\tlong-lived \(.long_lived_flows)\tout \(.bytes_out) B\tin \(.bytes_in) B"' "$out/summary.json" | column -t -s $'\t'
echo
echo "== largest flows (the miner's Stratum session is the one that stays established)"
jq -r '.top_flows[] | "\(.proto) \(.src_ip):\(.src_port) -> \(.dest_ip):\(.dest_port)  \(.pkts_toserver)/\(.pkts_toclient) pkts  \(.start) .. \(.end)  \(.tcp_state // "")"' "$out/summary.json" | head -5
echo
echo "== packet conservation"
jq -r '.conservation | "\(.equation)\n\(.received) = \(.handled) + \(.skipped) + \(.malformed) + \(.dropped) + \(.nic_dropped): ok=\(.ok)"' "$out/summary.json"
echo
echo "Full summary: $out/summary.json"

echo
echo "== where the miner is: $out/dev_miner.pcap, a Bitmain that takes its address by DHCP on VLAN 42, then mines"
build/app/sluice/sluice -r "$out/dev_miner.pcap" -q --events "$out/dev_events.json" --summary "$out/dev_summary.json"
jq -r 'select(.event_type == "alert") | "ALERT \(.judged_host) score \(.score): " + (if .device.mac then "MAC \(.device.mac) (\(.device.vendor)), VLANs \(.device.vlans), DHCP name \(.device.name // "-"), vendor class \(.device.vendor_class // "-"), first seen \(.device.first_seen), \(.device.mining_hardware // "")" else .device.note + " " + (.device.gateway_mac // "") end)' "$out/dev_events.json"

#!/usr/bin/env bash
# calibrate.sh: run sluice over the real-traffic calibration corpus (../shared/corpus beside
# the clone, read in place; SL_CORPUS overrides) and the generated benign sessions
# (build/tests-data/calib, made by tests/gen/gen.py from the wire formats; build/tests-data/
# calib-real, made by real programs by tests/gen/real_sessions.sh), one sluice process per capture, two at a
# time, with log_judgements = 1; print per category (manifest.tsv) the flows judged by
# behaviour, their highest behaviour points, what the known-protocol table took out, and every
# alert. Nothing in the corpus mines: every alert is a false positive.
#   scripts/calibrate.sh [SLUICE] [OUTDIR]     (default build/app/sluice/sluice; OUTDIR keeps
#   every run's summary and event log, default a temporary directory removed at the end)
# Exit status: 0 with no alert, 1 with alerts, 2 if the corpus or the binary is missing.
# SL_CALIB_JOBS (2) sluice processes run at once.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/app/sluice/sluice}
if [ -n "${2:-}" ]; then
    out=$2
else
    out=$(mktemp -d /tmp/sluice-calib.XXXXXX)
    trap 'rm -rf "$out"' EXIT
fi
corpus=${SL_CORPUS:-../shared/corpus}
gen=${SL_CALIB_GEN:-build/tests-data/calib}
real=${SL_CALIB_REAL:-build/tests-data/calib-real}
jobs=${SL_CALIB_JOBS:-2}
if [ ! -f "$corpus/manifest.tsv" ]; then
    echo "calibrate: no corpus at $corpus (manifest.tsv missing)" >&2; exit 2
fi
[ -x "$bin" ] || { echo "calibrate: no binary $bin" >&2; exit 2; }
rm -rf "$out"; mkdir -p "$out/run"
# the list: corpus captures with their category, then generated sessions (category "generated")
list=$out/list.tsv
awk -F'\t' -v d="$corpus" 'NR > 1 { print d "/" $1 "\t" $8 }' "$corpus/manifest.tsv" > "$list"
if [ -d "$gen" ]; then
    for f in "$gen"/*.pcap; do [ -f "$f" ] && printf '%s\tgenerated\n' "$f" >> "$list"; done
else
    echo "calibrate: no generated sessions in $gen (run tests/gen/gen.py build/tests-data)" >&2
fi
if [ -d "$real" ]; then
    for f in "$real"/*.pcap; do [ -f "$f" ] && printf '%s\treal-programs\n' "$f" >> "$list"; done
else
    echo "calibrate: no real-program sessions in $real (tests/gen/real_sessions.sh $real)" >&2
fi
# SL_CALIB_SET: more options for every run (e.g. "--set score_beh_known=0": the figures
# without the known-protocol table)
export bin out SL_CALIB_SET=${SL_CALIB_SET:-}
run_one() { # $1 = index, $2 = capture
    local o=$out/run/$1
    "$bin" -r "$2" -q -s "$o.sum.json" -e "$o.events.json" \
        --set log_judgements=1 --set summary_top_hosts=0 $SL_CALIB_SET 2> "$o.err" || echo "$?" > "$o.rc"
}
export -f run_one
awk -F'\t' '{ print NR "\t" $1 }' "$list" | xargs -P "$jobs" -d '\n' -n 1 \
    bash -c 'IFS=$'"'"'\t'"'"' read -r i f <<<"$1"; run_one "$i" "$f"' _
python3 - "$list" "$out/run" <<'EOF'
import json, os, sys
from collections import defaultdict

lst, run = sys.argv[1], sys.argv[2]
# the UDP entries of SL_KNOWN_PROTOS (lib/match/sl_match.h): labels, never judged
UDP = {"wireguard", "openvpn_udp", "ipsec_natt", "utp", "quic", "stun"}
cats = defaultdict(lambda: {"files": 0, "judged": set(), "max": (0, ""), "known": defaultdict(set),
                            "labels": defaultdict(int), "alerts": [], "errors": 0})
for i, line in enumerate(open(lst), 1):
    path, cat = line.rstrip("\n").split("\t")
    c = cats[cat]
    c["files"] += 1
    name = os.path.basename(path)
    if os.path.exists(os.path.join(run, "%d.rc" % i)):
        rc = open(os.path.join(run, "%d.rc" % i)).read().strip()
        err = open(os.path.join(run, "%d.err" % i)).read().strip()
        if rc == "1" and "stopped after" in err:
            # the reader stopped early (libpcap refuses the rest of the file); what was read is
            # judged and its results written
            print("note: %s" % err)
        else:
            c["errors"] += 1
            print("error: sluice failed (exit %s) on %s: %s" % (rc, name, err))
    sm = os.path.join(run, "%d.sum.json" % i)
    if os.path.exists(sm):
        for k, n in json.load(open(sm)).get("detection", {}).get("known_protocols", {}).items():
            if k in UDP:
                c["labels"][k] += n
    ev = os.path.join(run, "%d.events.json" % i)
    if not os.path.exists(ev):
        continue
    for l in open(ev):
        d = json.loads(l)
        t = d.get("event_type")
        key = (name, d.get("flow_id"))
        if t == "judgement":
            if d["judged"]:
                c["judged"].add(key)
                if d["behaviour_points"] > c["max"][0]:
                    c["max"] = (d["behaviour_points"], "%s :%s" % (name, d["dest_port"]))
            elif d["gate"] == "known":
                c["known"][d["not_judged"]].add(key)
        elif t == "alert":
            why = ["%s %s" % (r["signal"], r.get("detector", r.get("behaviour_points", "")))
                   for r in d["explanation"]["reasons"]]
            c["alerts"].append("%s host %s -> %s:%s score %s (%s)" % (
                name, d["judged_host"], d.get("dest_ip"), d.get("dest_port"), d["score"], ", ".join(why)))
alerts = 0
print("%-13s %5s %7s %8s  %s" % ("category", "files", "judged", "max_pts", "taken out by the known-protocol table (flows)"))
for cat in sorted(cats):
    c = cats[cat]
    known = ", ".join("%s %d" % (k, len(v)) for k, v in sorted(c["known"].items()))
    print("%-13s %5d %7d %8d  %s" % (cat, c["files"], len(c["judged"]), c["max"][0], known or "-"))
    if c["max"][0]:
        print("%-13s %5s %7s %8s  highest: %s" % ("", "", "", "", c["max"][1]))
    if c["labels"]:
        print("%-13s %5s %7s %8s  UDP labels: %s" % ("", "", "", "", ", ".join(
            "%s %d" % kv for kv in sorted(c["labels"].items()))))
for cat in sorted(cats):
    for a in cats[cat]["alerts"]:
        print("ALERT [%s] %s" % (cat, a))
        alerts += 1
errors = sum(c["errors"] for c in cats.values())
print("calibrate: %d captures, %d alerts, %d errors" % (sum(c["files"] for c in cats.values()), alerts, errors))
sys.exit(1 if alerts or errors else 0)
EOF

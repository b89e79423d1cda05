#!/usr/bin/python3
"""run.py: integration tests. Runs the real sluice binary offline (-r) and live (EAL with
net_pcap vdevs) on the captures tests/gen/gen.py made, and checks the summary JSON against
the expected counts written beside each capture, plus exit codes and messages for bad input.

usage: run.py SLUICE DATADIR   (prints one line per test, then 'N passed, M failed')
       SL_IT_ONLY=REGEX run.py ...  runs only the tests whose names it finds
"""
import glob
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

SLUICE, DATA = sys.argv[1], sys.argv[2]
TMP = tempfile.mkdtemp(prefix="sluice-it-")
RESULTS = []
QUIET = ["--set", "idle_polls=64"]
# live defaults are sized for an appliance (1 M flows); tests run in 512 MB without hugepages
LIVE_SIZES = ["--set", "flow_capacity=65536", "--set", "payload_buffers=4096",
              "--set", "host_capacity=65536"]
LIVE_SMALL = LIVE_SIZES + ["--set", "metrics_port=0"]  # most tests need no /metrics


def run(args, timeout=120):
    p = subprocess.run([SLUICE] + args, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def offline(cap, *extra, name=None):
    out = os.path.join(TMP, (name or os.path.basename(cap)) + ".%d.json" % len(RESULTS))
    rc, so, se = run(["-r", os.path.join(DATA, cap) if not cap.startswith("/") else cap,
                      "-s", out, "-q"] + QUIET + list(extra))
    s = json.load(open(out)) if os.path.exists(out) else None
    return rc, s, se, out


def live(vdevs, *extra, lcores="0-1", timeout=120):
    out = os.path.join(TMP, "live.%d.json" % len(RESULTS))
    eal = ["-l", lcores, "--no-huge", "-m", "512", "--no-pci", "--no-shconf",
           "--file-prefix=sl-it-%d-%d" % (os.getpid(), len(RESULTS)), "--log-level=lib.*:error"]
    for v in vdevs:
        eal += ["--vdev", v]
    rc, so, se = run(eal + ["--", "-s", out, "-q", "--set", "exit_idle_ms=1500",
                            "--set", "idle_polls=64"] + LIVE_SMALL + list(extra), timeout=timeout)
    s = json.load(open(out)) if os.path.exists(out) else None
    return rc, s, se


def test(fn):
    name = fn.__name__
    only = os.environ.get("SL_IT_ONLY")  # a regular expression: run only the tests it finds
    if only and not re.search(only, name):
        return fn
    try:
        fn()
        RESULTS.append((name, True, ""))
        print("ok     %s" % name, flush=True)
    except AssertionError as e:
        RESULTS.append((name, False, str(e)))
        print("FAIL   %s: %s" % (name, e), flush=True)
    except Exception as e:  # a crash of the harness is a failure too
        RESULTS.append((name, False, repr(e)))
        print("FAIL   %s: %r" % (name, e), flush=True)
    return fn


def eq(a, b, what):
    assert a == b, "%s: expected %r, got %r" % (what, b, a)


def flat_outcomes(s):
    oc = s["totals"]["outcomes"]
    d = {}
    for c in ("skipped", "malformed", "dropped"):
        for k, v in oc[c].items():
            if v:
                d[k] = v
    return d


def hosts_of(s):
    return {h["ip"]: h for h in s["hosts"]["top"]}


def check_expect(s, exp, hosts=True):
    t = s["totals"]
    eq(t["rx_packets"], exp["packets"], "packets")
    eq(t["rx_bytes"], exp["bytes"], "bytes")
    eq(t["outcomes"]["handled"], exp["handled"], "handled")
    eq(flat_outcomes(s), exp["outcomes"], "outcomes by reason")
    eq(t["flows"]["created"], exp["flows"], "flows created")
    eq(s["conservation"]["ok"], True, "conservation")
    for p in s["ports"]:
        eq(p["conservation"]["ok"], True, "port conservation")
    for w in s["workers"]:
        eq(w["conservation"]["ok"], True, "worker conservation")
    if hosts:
        got = hosts_of(s)
        eq(s["hosts"]["tracked"], len(exp["hosts"]), "hosts tracked")
        for ip, h in exp["hosts"].items():
            assert ip in got, "host %s missing" % ip
            for k in ("pkts_out", "pkts_in", "bytes_out", "bytes_in", "flows_opened"):
                eq(got[ip][k], h[k], "host %s %s" % (ip, k))
            assert abs(got[ip]["external_peers"] - h["external_peers"]) <= max(1, h["external_peers"] * 0.2), \
                "host %s peers %d vs %d" % (ip, got[ip]["external_peers"], h["external_peers"])


def expect(name):
    return json.load(open(os.path.join(DATA, name + ".expect.json")))


def host_view(s):
    """Host counters independent of timing: what live and offline must agree on."""
    return {h["ip"]: {k: h[k] for k in ("pkts_out", "pkts_in", "bytes_out", "bytes_in",
                                         "flows_opened", "external_peers")}
            for h in s["hosts"]["top"]}


# ------------------------------------------------------------------ offline, exact counts

for cap in ("basic", "malformed", "jumbo", "snap", "many_flows", "timeouts", "demo"):
    def _t(cap=cap):
        rc, s, se, _ = offline(cap + ".pcap", "--set", "summary_top_hosts=100000")
        eq(rc, 0, "exit code (stderr: %s)" % se[-300:])
        check_expect(s, expect(cap))
    _t.__name__ = "offline_counts_" + cap
    test(_t)

for lt in ("eth", "eth.pcapng", "sll", "sll2", "raw", "null", "loop"):
    def _t(lt=lt):
        f = "linktypes/%s" % lt if lt.endswith("pcapng") else "linktypes/%s.pcap" % lt
        rc, s, se, _ = offline(f)
        eq(rc, 0, "exit code (%s)" % se[-300:])
        check_expect(s, expect("linktypes/" + lt))
    _t.__name__ = "offline_linktype_" + lt.replace(".", "_")
    test(_t)


@test
def offline_any_config_value_runs():
    """Offline sizes memory from what the capture uses: every capacity at the top of its accepted
    range runs (tables mapped lazily, mbufs capped at what the reader can have in flight), with the
    same counts as the defaults."""
    top = {"mbufs": 16777216, "rx_desc": 16384, "workers": 16, "offline_flow_capacity": 67108864,
           "payload_bytes": 65536, "offline_payload_buffers": 16777216, "report_ring_size": 1048576,
           "worker_host_capacity": 16777216, "offline_host_capacity": 67108864,
           "score_capacity": 16777216, "block_max_active": 1048576, "block_max_per_minute": 1000000}
    sets = sum((["--set", "%s=%d" % kv] for kv in top.items()), [])
    rc, s, se, _ = offline("demo.pcap", "--set", "summary_top_hosts=100000", *sets)
    eq(rc, 0, "exit code (stderr: %s)" % se[-300:])
    check_expect(s, expect("demo"))
    rc, _, se, _ = offline("demo.pcap", "--set", "workers=17")
    eq(rc, 2, "workers above the offline port's 16 queues")
    assert "workers" in se, se


@test
def offline_repeat_identical():
    _, _, _, a = offline("basic.pcap")
    _, _, _, b = offline("basic.pcap")
    assert open(a, "rb").read() == open(b, "rb").read(), "summaries differ between runs"


@test
def offline_two_workers_same_hosts():
    _, s1, _, _ = offline("basic.pcap")
    rc, s2, se, _ = offline("basic.pcap", "--workers", "2")
    eq(rc, 0, "exit code")
    eq(len(s2["workers"]), 2, "workers")
    assert all(w["rx_packets"] > 0 for w in s2["workers"]), "software RSS used one worker only"
    eq(host_view(s2), host_view(s1), "host table with 2 workers")
    eq(s2["totals"]["flows"]["created"], s1["totals"]["flows"]["created"], "flows")
    eq(s2["conservation"]["ok"], True, "conservation")


@test
def offline_two_workers_repeat_identical():
    _, _, _, a = offline("basic.pcap", "-w", "2")
    _, _, _, b = offline("basic.pcap", "-w", "2")
    assert open(a, "rb").read() == open(b, "rb").read(), "2-worker summaries differ"


@test
def offline_files_as_one_stream():
    _, s1, _, _ = offline("basic.pcap")
    rc, s2, se, _ = offline("split/part1.pcap", "-r", os.path.join(DATA, "split/part2.pcap"))
    eq(rc, 0, "exit code")
    eq(host_view(s2), host_view(s1), "hosts, two files vs one")
    eq(s2["totals"]["flows"]["created"], s1["totals"]["flows"]["created"], "flows")
    eq(s2["input"]["files_read"], 2, "files read")


@test
def offline_directory():
    rc, s, se, _ = offline("linktypes")
    eq(rc, 0, "exit code (%s)" % se)
    eq(s["input"]["files_read"], 7, "files in the directory")
    eq(s["totals"]["rx_packets"], 7 * expect("linktypes/eth")["packets"], "packets")
    names = [os.path.basename(f["path"]) for f in s["input"]["files"]]
    eq(names, sorted(names), "directory read in name order")


@test
def offline_flow_table_full():
    rc, s, se, _ = offline("many_flows.pcap", "--set", "offline_flow_capacity=1024")
    eq(rc, 0, "exit code")
    full = s["totals"]["outcomes"]["dropped"]["flow_table_full"]
    assert full > 0, "no flow_table_full drops"
    eq(s["totals"]["outcomes"]["handled"] + full, 10000, "handled + dropped")
    eq(s["conservation"]["ok"], True, "conservation")


@test
def offline_host_tables_full():
    rc, s, se, _ = offline("many_flows.pcap", "--set", "worker_host_capacity=64")
    eq(rc, 0, "exit code")
    assert s["workers"][0]["hosts"]["untracked_flows"] > 0, "worker host table never full"
    eq(s["hosts"]["tracked"], 64, "hosts tracked with 64 worker slots")
    eq(s["conservation"]["ok"], True, "conservation")
    rc, s, se, _ = offline("many_flows.pcap", "--set", "offline_host_capacity=100")
    assert s["hosts"]["table_full"] > 0, "control host table never full"
    eq(s["hosts"]["tracked"], 100, "control table holds its capacity")
    eq(s["conservation"]["ok"], True, "conservation")


@test
def offline_small_ring_exact():
    _, s1, _, _ = offline("many_flows.pcap", "--set", "summary_top_hosts=100000")
    rc, s2, _, _ = offline("many_flows.pcap", "--set", "report_ring_size=64",
                           "--set", "summary_top_hosts=100000")
    eq(rc, 0, "exit code")
    eq(host_view(s2), host_view(s1), "hosts with a 64-record ring")
    eq(s2["workers"][0]["hosts"]["reports_lost"], 0, "records lost offline")


@test
def offline_small_payload_pool():
    rc, s, _, _ = offline("basic.pcap", "--set", "offline_payload_buffers=4")
    eq(rc, 0, "exit code")
    assert s["totals"]["flows"]["payload_pool_empty"] > 0, "pool exhaustion not counted"


@test
def offline_jumbo_chained():
    rc, s, _, _ = offline("jumbo.pcap")
    assert s["input"]["multi_segment"] > 0, "no chained mbufs for 8.9 kB frames"
    assert s["totals"]["flows"]["payload_bytes"] > 2048, "payload not captured across segments"


@test
def offline_snaplen():
    rc, s, _, _ = offline("snap.pcap")
    eq(s["input"]["snapped"], expect("snap")["snapped"], "snapped packets")


@test
def offline_timeouts():
    rc, s, _, _ = offline("timeouts.pcap")
    f = s["totals"]["flows"]
    eq(f["tcp_reused"], 1, "tcp_reused")
    eq(f["long_lived"], 1, "long_lived")
    eq(f["created"], 5, "created")
    eq(f["expired"] + f["active"], 5, "expired + active")


@test
def offline_home_nets():
    rc, s, _, _ = offline("basic.pcap", "--set", "home_nets=10.0.0.0/24")
    eq(rc, 0, "exit code")
    eq(s["hosts"]["judged"], "home_nets", "mode")
    assert all(h["ip"].startswith("10.0.0.") for h in s["hosts"]["top"]), "outside host tracked"
    assert "10.0.0.53" in hosts_of(s), "inside responder (resolver) not tracked"


# ------------------------------------------------------------------ bad input


def bad(args, code, needle):
    rc, so, se = run(args)
    eq(rc, code, "exit code for %s (stderr: %s)" % (args, se[-200:]))
    assert needle in se, "stderr lacks %r: %r" % (needle, se[-300:])


@test
def bad_missing_file():
    bad(["-r", "/nonexistent/x.pcap"], 2, "/nonexistent/x.pcap: No such file")


@test
def bad_corrupt_file():
    bad(["-r", os.path.join(DATA, "corrupt.pcap")], 2, "corrupt.pcap: not a readable")


@test
def bad_empty_file():
    bad(["-r", os.path.join(DATA, "empty.pcap")], 2, "empty.pcap")


@test
def bad_linktype():
    bad(["-r", os.path.join(DATA, "radiotap.pcap")], 2, "link type 127")


@test
def bad_directory_without_captures():
    bad(["-r", os.path.join(DATA, "nocaps")], 2, "no .pcap")


@test
def truncated_capture():
    rc, s, se, _ = offline("truncated.pcap")
    eq(rc, 1, "exit code")
    assert "truncated.pcap: stopped after" in se, se
    eq(s["input"]["read_errors"], 1, "read_errors")
    eq(s["conservation"]["ok"], True, "conservation of what was read")


@test
def clock_jumps():
    """Timestamps at 0xffffffff s and 2^31 s are skipped and counted; a valid jump of decades
    and the way back cost O(1): the run ends, with a summary, well within the timeout."""
    rc, s, se, _ = offline("clock_jumps.pcap", "-w", "1")
    exp = expect("clock_jumps")
    eq(rc, 0, "exit code (%s)" % se[-300:])
    assert s is not None, "no summary"
    eq(s["input"]["bad_timestamps"], exp["bad_timestamps"], "bad_timestamps")
    eq(s["input"]["packets"], exp["packets"], "packets read")
    eq(s["conservation"]["ok"], True, "conservation")
    assert s["scoring"]["time_jumps"] >= 1, "time_jumps: %r" % s["scoring"]["time_jumps"]


@test
def bad_options():
    bad(["-r", os.path.join(DATA, "basic.pcap"), "--bogus"], 2, "unknown option '--bogus'")
    bad(["-r"], 2, "needs a value")
    bad([], 2, "nothing to read")
    bad(["-r", os.path.join(DATA, "basic.pcap"), "-w", "0"], 2, "--workers")
    bad(["-r", os.path.join(DATA, "basic.pcap"), "extra"], 2, "unexpected argument 'extra'")
    bad(["-r", os.path.join(DATA, "basic.pcap"), "--set", "nokey"], 2, "KEY=VALUE")
    bad(["-r", os.path.join(DATA, "basic.pcap"), "--set", "flow_capacity=abc"], 2, "flow_capacity")
    bad(["-r", os.path.join(DATA, "basic.pcap"), "--set", "frobnicate=1"], 2, "unknown key 'frobnicate'")
    bad(["-r", os.path.join(DATA, "basic.pcap"), "-s", "-", "-e", "-"], 2, "share stdout")
    bad(["-l", "0-1", "--", "-r", os.path.join(DATA, "basic.pcap")], 2, "offline form")


@test
def bad_config_file():
    cfg = os.path.join(TMP, "bad.conf")
    with open(cfg, "w") as f:
        f.write("# comment\nflow_capacity = 4096\nhome_nets = 10.0.0.0/8, 300.1.2.3/8\n")
    bad(["-r", os.path.join(DATA, "basic.pcap"), "-c", cfg], 2, cfg + ":3: home_nets")
    with open(cfg, "w") as f:
        f.write("udp_timeout 30\n")
    bad(["-r", os.path.join(DATA, "basic.pcap"), "-c", cfg], 2, cfg + ":1: expected 'key = value'")
    with open(cfg, "w") as f:
        f.write("report_ring_size = 1000\n")
    bad(["-r", os.path.join(DATA, "basic.pcap"), "-c", cfg], 2, "power of two")
    bad(["-r", os.path.join(DATA, "basic.pcap"), "-c", "/nonexistent.conf"], 2, "/nonexistent.conf")


@test
def sample_config_loads():
    conf = os.path.join(os.path.dirname(__file__), "..", "..", "config", "sluice.conf")
    rc, s, se, _ = offline("basic.pcap", "-c", conf)
    eq(rc, 0, "exit code with config/sluice.conf (%s)" % se[-300:])


# ------------------------------------------------------------------ live


@test
def live_one_queue_matches_offline():
    _, off, _, _ = offline("basic.pcap")
    rc, s, se = live(["net_pcap0,rx_pcap=%s" % os.path.join(DATA, "basic.pcap")])
    eq(rc, 0, "exit code (%s)" % se[-300:])
    eq(s["sluice"]["mode"], "live", "mode")
    eq(s["totals"]["rx_packets"], off["totals"]["rx_packets"], "packets")
    eq(host_view(s), host_view(off), "hosts live vs offline")
    eq(s["conservation"]["ok"], True, "conservation")


@test
def live_two_queues_one_worker():
    _, off, _, _ = offline("basic.pcap")
    rc, s, se = live(["net_pcap0,rx_pcap=%s,rx_pcap=%s" % (os.path.join(DATA, "split/q0.pcap"),
                                                          os.path.join(DATA, "split/q1.pcap"))])
    eq(rc, 0, "exit code (%s)" % se[-300:])
    eq(s["ports"][0]["rx_queues"], 2, "queues polled")
    eq(len(s["workers"][0]["rx_queues"]), 2, "queues on the worker")
    eq(host_view(s), host_view(off), "hosts live (2 queues) vs offline")
    eq(s["totals"]["flows"]["created"], off["totals"]["flows"]["created"], "flows")
    eq(s["conservation"]["ok"], True, "conservation")


@test
def live_two_ports():
    _, off, _, _ = offline("basic.pcap")
    rc, s, se = live(["net_pcap0,rx_pcap=%s" % os.path.join(DATA, "split/q0.pcap"),
                      "net_pcap1,rx_pcap=%s" % os.path.join(DATA, "split/q1.pcap")])
    eq(rc, 0, "exit code (%s)" % se[-300:])
    eq(len(s["ports"]), 2, "ports")
    eq(host_view(s), host_view(off), "hosts live (2 ports) vs offline")
    for p in s["ports"]:
        eq(p["conservation"]["ok"], True, "port %d conservation" % p["port"])


@test
def live_non_ethernet_pcap():
    _, off, _, _ = offline("linktypes/sll.pcap")
    rc, s, se = live(["net_pcap0,rx_pcap=%s" % os.path.join(DATA, "linktypes/sll.pcap")])
    eq(rc, 0, "exit code (%s)" % se[-300:])
    eq(s["totals"]["outcomes"]["handled"], off["totals"]["outcomes"]["handled"], "handled")
    eq(host_view(s), host_view(off), "hosts")


@test
def live_small_ring_counts_and_conserves():
    _, off, _, _ = offline("many_flows.pcap", "--set", "summary_top_hosts=100000")
    rc, s, se = live(["net_pcap0,rx_pcap=%s" % os.path.join(DATA, "many_flows.pcap")],
                     "--set", "report_ring_size=64", "--set", "report_interval_ms=500",
                     "--set", "summary_top_hosts=100000", "--set", "mbufs=32768")
    eq(rc, 0, "exit code (%s)" % se[-300:])
    w = s["workers"][0]
    assert w["channel"]["ring_full"] > 0, "ring never full"
    eq(s["conservation"]["ok"], True, "conservation")
    eq(host_view(s), host_view(off), "hosts (deltas kept and retried, none lost)")


@test
def live_bad_vdev_linktype():
    rc, so, se = run(["-l", "0-1", "--no-huge", "-m", "256", "--no-pci", "--file-prefix=sl-bad",
                      "--vdev", "net_pcap0,rx_pcap=%s" % os.path.join(DATA, "radiotap.pcap"), "--"])
    eq(rc, 2, "exit code")
    assert "link type 127" in se, se


@test
def live_sigint_writes_summary():
    out = os.path.join(TMP, "sigint.json")
    p = subprocess.Popen([SLUICE, "-l", "0-1", "--no-huge", "-m", "512", "--no-pci",
                          "--no-shconf", "--file-prefix=sl-sigint-%d" % os.getpid(),
                          "--vdev", "net_null0", "--", "-s", out, "-q",
                          "--set", "idle_polls=64"] + LIVE_SMALL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    time.sleep(3)
    p.send_signal(signal.SIGINT)
    p.wait(timeout=30)
    eq(p.returncode, 0, "exit code after SIGINT")
    s = json.load(open(out))
    assert s["totals"]["rx_packets"] > 0, "net_null delivered nothing"
    eq(s["conservation"]["ok"], True, "conservation after SIGINT")



# ------------------------------------------------------------------ detection (lib/match)

DET = os.path.abspath(os.path.join(DATA, "detect"))
EV_KEYS = ("detector", "src_ip", "src_port", "dest_ip", "dest_port", "proto", "judged_host")
EV_FIELDS = ("timestamp", "event_type", "flow_id", "src_ip", "src_port", "dest_ip", "dest_port",
             "proto", "community_id", "host", "judged_host", "alert", "detector", "protocol",
             "weight", "direction", "evidence")


def eve_validator():
    """config/eve.schema.json: every event line every test reads must validate."""
    global _EVE
    if _EVE is None:
        import jsonschema
        here = os.path.dirname(os.path.abspath(__file__))
        schema = json.load(open(os.path.join(here, "..", "..", "config", "eve.schema.json")))
        jsonschema.Draft202012Validator.check_schema(schema)
        _EVE = jsonschema.Draft202012Validator(schema)
    return _EVE


_EVE = None


def read_all_events(path):
    evs = []
    v = eve_validator()
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                e = json.loads(line)
                errs = sorted(v.iter_errors(e), key=lambda x: list(x.path))
                assert not errs, "%s:%d does not validate: %s at %s: %s" % (
                    path, n, errs[0].message, list(errs[0].path), line[:300])
                evs.append(e)
    return evs


def read_events(path, kind="detection"):
    """The event lines of one event_type (detections by default)."""
    return [e for e in read_all_events(path) if e.get("event_type") == kind]


def ev_multiset(evs):
    return sorted(tuple(e[k] for k in EV_KEYS) for e in evs)


def offline_events(cap, *extra, name=None, every=False):
    """Run offline with an event file: detections (every=True: all event lines)."""
    evp = os.path.join(TMP, (name or os.path.basename(cap)) + ".%d.events" % len(RESULTS))
    if os.path.exists(evp):
        os.unlink(evp)
    rc, s, se, _ = offline(cap, "-e", evp, *extra, name=name)
    if not os.path.exists(evp):
        return rc, s, se, None
    return rc, s, se, (read_all_events(evp) if every else read_events(evp))


def manifest():
    path = os.path.join(DET, "manifest.json")
    return json.load(open(path)) if os.path.exists(path) else []


def set_args(d):
    a = []
    for k, v in sorted(d.items()):
        a += ["--set", "%s=%s" % (k, v)]
    return a


def check_event_lines(evs):
    for e in evs:
        for k in EV_FIELDS:
            assert k in e, "event lacks %s: %r" % (k, e)
        eq(e["event_type"], "detection", "event_type")
        assert isinstance(e["evidence"]["offset"], int), e
        assert e["evidence"]["excerpt"] != "", "empty excerpt: %r" % e
        assert 0 < e["flow_id"] < 2 ** 53, e


for ent in manifest():
    def _t(ent=ent):
        rc, s, se, evs = offline_events(os.path.join(DET, ent["pcap"]), *set_args(ent.get("set", {})))
        eq(rc, 0, "exit code (%s)" % se[-300:])
        want = json.load(open(os.path.join(DET, ent["events"])))
        got = ev_multiset(evs)
        exp = sorted(tuple(e[k] for k in EV_KEYS) for e in want)
        if got != exp:
            missing = [e for e in exp if e not in got]
            extra = [e for e in got if e not in exp]
            raise AssertionError("%s: missing %r, unexpected %r" % (ent["pcap"], missing, extra))
        check_event_lines(evs)
        eq(s["detection"]["events"], len(evs), "summary event count")
        eq(s["conservation"]["ok"], True, "conservation")
    _t.__name__ = "detect_" + ent["pcap"].rsplit(".", 1)[0]
    test(_t)


# ------------------------------------------------------------------ EVE shape (lib/report/eve.c)

TOOLS = os.path.join(os.path.dirname(os.path.abspath(SLUICE)), "..", "..", "tests", "bench")


def tshark_cids(cap):
    r = subprocess.run(["tshark", "--enable-protocol", "communityid", "-r", cap, "-T", "fields",
                        "-e", "communityid"], capture_output=True, text=True, timeout=60)
    eq(r.returncode, 0, "tshark (%s)" % r.stderr[-300:])
    return r.stdout.splitlines()


@test
def eve_community_id_matches_tshark():
    """sluice's Community ID of every packet (TCP, UDP, ICMP both ways and one-way, ICMPv6,
    IPv6, GRE) equals tshark's; detection and alert lines carry their flow's."""
    cap = os.path.join(DATA, "community_id.pcap")
    r = subprocess.run([os.path.join(TOOLS, "sluice-community-id"), cap], capture_output=True,
                       text=True, timeout=60)
    eq(r.returncode, 0, "sluice-community-id (%s)" % r.stderr)
    ours, theirs = r.stdout.splitlines(), tshark_cids(cap)
    eq(len(ours), 18, "packets")
    eq(ours, theirs, "Community IDs, packet by packet")
    assert len(set(ours)) == 12, "both directions of a flow share an id: %r" % ours
    cap = os.path.join(DET, "stratum_v1.pcap")
    want = set(tshark_cids(cap)) - {""}
    rc, s, se, evs = offline_events(cap, every=True)
    eq(rc, 0, "exit code (%s)" % se[-300:])
    flows = [e for e in evs if "flow_id" in e]
    assert len(flows) >= 5, evs
    for e in flows:
        assert e["community_id"] in want, (e["community_id"], want)


@test
def eve_alert_shape():
    """Detection, alert and block lines carry EVE's alert object (stable signature ids from
    sluice's range, the strongest reason's for an alert), EVE's host is the sensor (sensor_id,
    else the hostname), the judged host is judged_host, timestamps have a numeric offset, the
    stats line is sluice_stats; twice the same ids."""
    import socket
    rc, s, se, evs = offline_events("demo.pcap", "--set", "sensor_id=edge-7", "--set", "mode=dry_run",
                                    every=True)
    eq(rc, 0, "exit code (%s)" % se[-300:])
    eq({e["host"] for e in evs}, {"edge-7"}, "EVE host is the sensor on every line")
    kinds = {e["event_type"] for e in evs}
    for k in ("detection", "alert", "host_score", "block", "sluice_stats"):
        assert k in kinds, "%s missing from %r" % (k, kinds)
    assert "stats" not in kinds
    ids = {}
    for e in evs:
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+0000$", e["timestamp"]), e
        if e["event_type"] in ("detection", "alert", "block", "block_refused"):
            a = e["alert"]
            eq(a["gid"], 1, "gid")
            assert 8100001 <= a["signature_id"] <= 8100999, a
            assert a["signature"].startswith("sluice: "), a
            if e["event_type"] == "detection":
                ids.setdefault(e["detector"], set()).add(a["signature_id"])
                assert e["src_ip"] in a["signature"] and e["dest_ip"] in a["signature"], a
                eq(a["action"], "allowed", "a detection acts on nothing")
            if e["event_type"] == "block":
                eq((a["action"], a["severity"]), ("blocked", 1), "block line")
        else:
            assert "alert" not in e, e
        assert "judged_host" in e or e["event_type"] == "sluice_stats", e
    eq(ids["stratum_subscribe"], {8100001}, "stratum_subscribe's id")
    assert all(len(v) == 1 for v in ids.values()), ids
    al = [e for e in evs if e["event_type"] == "alert"][0]
    top = al["explanation"]["reasons"][0]
    eq(al["alert"]["signature_id"], ids[top["detector"]].copy().pop(), "an alert takes its strongest reason's id")
    eq(al["alert"]["severity"], 1 if al["score"] >= al["explanation"]["block_threshold"] else 2, "severity")
    blk = [e for e in evs if e["event_type"] == "block"][0]
    assert blk["alert"]["signature_id"] in {i for v in ids.values() for i in v}, blk
    times = re.findall(r'"(\d{4}-\d\d-\d\dT[^"]*)"', json.dumps(s))
    assert times and all(t.endswith("+0000") for t in times), times[:5]
    _, _, _, again = offline_events("demo.pcap", "--set", "mode=dry_run", every=True)
    eq({e["host"] for e in again}, {socket.gethostname()}, "default sensor_id: the hostname")
    eq([e.get("alert") for e in again], [e.get("alert") for e in evs], "the same alert objects twice")


RSYSLOG_CONF = """global(maxMessageSize="256k" workDirectory="{d}")
module(load="imudp")
module(load="imtcp")
module(load="imuxsock" SysSock.Use="off")
template(name="m" type="string" string="%msg%\\n")
ruleset(name="u") {{ action(type="omfile" file="{d}/udp.log" template="m") }}
ruleset(name="t") {{ action(type="omfile" file="{d}/tcp.log" template="m") }}
ruleset(name="x") {{ action(type="omfile" file="{d}/unix.log" template="m") }}
input(type="imudp" address="127.0.0.1" port="5514" ruleset="u")
input(type="imtcp" address="127.0.0.1" port="5514" ruleset="t")
input(type="imuxsock" Socket="{d}/log.sock" ruleset="x" UseSpecialParser="off" ParseHostname="on")
"""


def lines_of(path, n, timeout=10):
    """The first @n lines rsyslog wrote to @path (waits for them)."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        if os.path.exists(path):
            got = open(path).read().splitlines()
            if len(got) >= n:
                return got
        time.sleep(0.1)
    return open(path).read().splitlines() if os.path.exists(path) else []


@test
def syslog_to_rsyslog_equals_file():
    """A real rsyslog in a network namespace receives exactly the event log's lines as RFC 5424
    messages, over UDP, TCP and its local socket, offline and live (writer thread); nothing
    is dropped and the summary counts what was sent."""
    ns = "sl-rsys-%d" % os.getpid()
    d = os.path.join(TMP, "rsyslog")
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, "rs.conf"), "w").write(RSYSLOG_CONF.format(d=d))
    subprocess.run(["ip", "netns", "add", ns], check=True)
    rs = None
    try:
        subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"], check=True)
        rs = subprocess.Popen(["ip", "netns", "exec", ns, "rsyslogd", "-n", "-f",
                               os.path.join(d, "rs.conf"), "-i", os.path.join(d, "pid")],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(50):
            if os.path.exists(os.path.join(d, "log.sock")):
                break
            time.sleep(0.1)
        time.sleep(0.3)
        for kind, target in (("udp", "udp:127.0.0.1:5514"), ("tcp", "tcp:127.0.0.1:5514"),
                             ("unix", "unix:" + os.path.join(d, "log.sock"))):
            evp = os.path.join(d, kind + ".events")
            out = os.path.join(d, kind + ".json")
            r = subprocess.run(["ip", "netns", "exec", ns, SLUICE, "-r", os.path.join(DATA, "demo.pcap"),
                                "-q", "-s", out, "-e", evp, "--set", "mode=dry_run", "--set",
                                "syslog=" + target, "--set", "sensor_id=rsys-test"] + QUIET,
                               capture_output=True, text=True, timeout=60)
            eq(r.returncode, 0, "%s: exit code (%s)" % (kind, r.stderr[-300:]))
            want = open(evp).read().splitlines()
            got = lines_of(os.path.join(d, kind + ".log"), len(want))
            eq(got, want, "%s: rsyslog's lines" % kind)
            c = json.load(open(out))["control"]
            eq((c["syslog_dropped"], c["syslog_errors"]), (0, 0), "%s: nothing dropped" % kind)
            unb = sum(1 for line in want if '"event_type":"unblock"' in line)  # written after the summary
            eq(c["syslog_sent"], len(want) - unb, "%s: sent" % kind)
        # live: the writer thread sends
        out = os.path.join(d, "live.json")
        evp = os.path.join(d, "live.events")
        r = subprocess.run(["ip", "netns", "exec", ns, SLUICE, "-l", "0-1", "--no-huge", "-m", "512",
                            "--no-pci", "--no-shconf", "--file-prefix=sl-rsys-%d" % os.getpid(),
                            "--log-level=lib.*:error", "--vdev",
                            "net_pcap0,rx_pcap=%s" % os.path.join(DATA, "demo.pcap"), "--", "-q",
                            "-s", out, "-e", evp, "--set", "exit_idle_ms=1500",
                            "--set", "syslog=tcp:127.0.0.1:5514"] + QUIET + LIVE_SMALL,
                           capture_output=True, text=True, timeout=60)
        eq(r.returncode, 0, "live: exit code (%s)" % r.stderr[-300:])
        want = open(evp).read().splitlines()
        assert len(want) >= 8, want
        got = lines_of(os.path.join(d, "tcp.log"), 2 * len(want))  # after the offline run's
        eq(got[-len(want):], want, "live: rsyslog's lines")
        read_all_events(evp)
    finally:
        if rs is not None:
            rs.terminate()
            rs.wait(timeout=10)
        subprocess.run(["ip", "netns", "del", ns])


@test
def syslog_missing_socket_is_counted():
    """A missing local socket or a collector that is down: a warning at start, every line
    dropped and counted, the run and the event file unaffected; bad targets exit 2."""
    evp = os.path.join(TMP, "nosock.events")
    rc, s, se, _ = offline("demo.pcap", "-e", evp, "--set", "syslog=unix:/nonexistent/log.sock")
    eq(rc, 0, "exit code (%s)" % se[-300:])
    assert "syslog unix:/nonexistent/log.sock" in se and "dropped and counted" in se, se
    n = len(read_all_events(evp))
    eq((s["control"]["syslog_sent"], s["control"]["syslog_dropped"]), (0, n), "all dropped")
    rc, s, se, _ = offline("demo.pcap", "-e", os.path.join(TMP, "down.events"),
                           "--set", "syslog=tcp:127.0.0.1:1")
    eq(rc, 0, "exit code (%s)" % se[-300:])
    eq(s["control"]["syslog_sent"], 0, "a collector that is down takes nothing")
    assert s["control"]["syslog_dropped"] > 0, s["control"]
    for bad in ("syslog=tcp:127.0.0.1", "syslog=ftp:host:1", "syslog=udp:h:99999",
                "syslog_facility=local9"):
        rc, _, se, _ = offline("demo.pcap", "--set", bad, "--set", "syslog=udp:127.0.0.1:514"
                               if not bad.startswith("syslog=") else "syslog_facility=local5")
        eq(rc, 2, "%s: exit code (%s)" % (bad, se[-200:]))
        assert "syslog" in se, se


# ------------------------------------------------------------------ scoring (lib/score)

BEH = os.path.abspath(os.path.join(DATA, "behave"))


def iso_to_s(ts):
    import datetime
    return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def behave_manifest():
    path = os.path.join(BEH, "manifest.json")
    return json.load(open(path)) if os.path.exists(path) else []


def check_alert_line(a):
    """An alert carries its explanation: every reason with its kind, points and evidence."""
    for k in ("timestamp", "event_type", "host", "judged_host", "alert", "score", "level",
              "threshold", "explanation"):
        assert k in a, "alert lacks %s: %r" % (k, a)
    ex = a["explanation"]
    assert ex["host"] == a["judged_host"] and ex["reasons"], a
    for r in ex["reasons"]:
        for k in ("signal", "points", "weight", "count", "first_seen", "last_seen"):
            assert k in r, "reason lacks %s: %r" % (k, r)
        if r["signal"] == "behaviour":
            assert r["features"]["age_s"] > 0 and r["matched"], r
            assert 0 < r["behaviour_points"] <= 100, r
        elif r["signal"] in ("dpi", "pool_name", "pool_ip", "fingerprint"):
            assert r["detector"] and "excerpt" in r["evidence"], r
    assert a["score"] >= a["threshold"], a


def behave_run(ent, *extra):
    rc, s, se, allev = offline_events(os.path.join(BEH, ent["pcap"]), *extra, every=True)
    eq(rc, 0, "exit code (%s)" % se[-300:])
    return s, allev


for ent in behave_manifest():
    def _t(ent=ent):
        s, allev = behave_run(ent)
        alerts = {}
        for e in allev:
            if e["event_type"] == "alert":
                check_alert_line(e)
                alerts.setdefault(e["judged_host"], e)
        for m in ent["miners"]:
            a = alerts.get(m["host"])
            assert a is not None, "%s: miner %s (%s) not alerted; peak %r" % (
                ent["pcap"], m["host"], m["kind"],
                [h["peak"] for h in s["scoring"]["hosts"] if h["host"] == m["host"]])
            late = iso_to_s(a["timestamp"]) - m["start"]
            assert 0 <= late <= m.get("deadline", 120), "%s: %s alerted %.1f s after its start" % (
                ent["pcap"], m["host"], late)
            kinds = {r["signal"] for r in a["explanation"]["reasons"]}
            assert kinds & {"behaviour", "fingerprint"}, "%s: %s alerted for %r" % (
                ent["pcap"], m["host"], kinds)
        bad = sorted(h for h in alerts if h in ent["benign"])
        eq(bad, [], "%s: benign hosts alerted" % ent["pcap"])
        for h in s["scoring"]["hosts"]:
            if h["host"] in ent["benign"]:
                assert h["peak"] < 60, h
        # hosts that leave their learned baseline carry a baseline reason, and only they
        want = {b["host"]: b["metrics"] for b in ent.get("baseline", [])}
        for h in s["scoring"]["hosts"]:
            base = [r["baseline"] for r in h["reasons"] if r["signal"] == "baseline"]
            if h["host"] in want:
                assert base and base[0]["metric"] in want[h["host"]], h
                assert base[0]["z"] >= 4 and base[0]["buckets"] >= 10, base
            else:
                eq(base, [], "baseline reasons of %s" % h["host"])
        for host in want:
            assert host in [h["host"] for h in s["scoring"]["hosts"]], "%s has no score" % host
        eq(s["conservation"]["ok"], True, "conservation")
    _t.__name__ = "behave_" + ent["pcap"].rsplit(".", 1)[0]
    test(_t)


@test
def behave_manifest_present():
    man = behave_manifest()
    miners = sum(len(e["miners"]) for e in man)
    benign = sum(len(e["benign"]) for e in man)
    assert miners >= 10 and benign >= 15, "behaviour captures: %d miners, %d benign" % (miners, benign)


@test
def scores_repeatable_and_two_workers():
    """Same packets, same alerts and scores: twice, and with the flows spread on two workers."""
    ent = [e for e in behave_manifest() if e["pcap"].startswith("enc_xmrig")][0]

    def verdicts(*extra):
        s, allev = behave_run(ent, *extra)
        al = sorted((e["timestamp"], e["judged_host"], e["score"]) for e in allev
                    if e["event_type"] in ("alert", "host_score"))
        top = [(h["host"], h["score"], h["level"]) for h in s["scoring"]["hosts"]]
        return al, top

    a = verdicts()
    eq(verdicts(), a, "second run")
    eq(verdicts("--set", "workers=2"), a, "two workers")


@test
def live_scores_equal_offline():
    """The same packets give the same alerts, level changes and scores live (net_pcap replay,
    time from the port's RX timestamps: port_time = 1) as offline (packet time)."""
    def verdicts(allev, s):
        al = [(e["timestamp"], e["event_type"], e["judged_host"], e["score"], e["level"]) for e in allev
              if e["event_type"] in ("alert", "host_score")]
        return al, [(h["host"], h["score"], h["peak"], h["level"]) for h in s["scoring"]["hosts"]]

    for name in ("enc_xmrig_tls.pcap", "enc_sv2_noise.pcap", "benign_chat_ws.pcap"):
        ent = [e for e in behave_manifest() if e["pcap"] == name][0]
        s, allev = behave_run(ent)
        off = verdicts(allev, s)
        evp = os.path.join(TMP, "live-" + name + ".events")
        if os.path.exists(evp):
            os.unlink(evp)
        rc, ls, se = live(["net_pcap0,rx_pcap=" + os.path.join(BEH, name)], "-e", evp,
                          "--set", "port_time=1")
        eq(rc, 0, "live exit code (%s)" % se[-300:])
        eq(verdicts(read_all_events(evp), ls), off, "live with port_time vs offline: " + name)
        assert off[0] or name.startswith("benign"), "no verdicts to compare in " + name


@test
def score_off_and_bad_score_config():
    ent = [e for e in behave_manifest() if e["pcap"].startswith("enc_xmrig")][0]
    s, allev = behave_run(ent, "--set", "score=0")
    eq([e for e in allev if e["event_type"] in ("alert", "host_score")], [], "score=0: no alerts")
    eq(s["scoring"]["enabled"], False, "summary says scoring is off")
    for bad, why in ((["--set", "score_block=50", "--set", "score_alert=60"], "score_block"),
                     (["--set", "score_beh_service_ports=22,x"], "score_beh_service_ports"),
                     (["--set", "score_beh_pool_ports=" + ",".join(str(p) for p in range(1, 40))],
                      "more than 32"),
                     (["--set", "score_alert=0"], "score_alert"),
                     (["--set", "mode=bogus"], "mode"),
                     (["--set", "block_scope=everything"], "block_scope"),
                     (["--set", "block_backend=fpga"], "block_backend"),
                     (["--set", "block_allowlist=10.0.0.0/33"], "block_allowlist"),
                     (["--set", "block_ttl_s=100", "--set", "block_ttl_max_s=10"],
                      "block_ttl_max_s")):
        rc, _, se, _ = offline("demo.pcap", *bad)
        eq(rc, 2, "exit status for %r" % bad)
        assert why in se, "%r: %s" % (bad, se[-300:])


@test
def score_decays_and_host_score_events():
    """A detected miner goes to block at once; after its flows end the score decays and the
    host steps down (host_score events) and leaves the table."""
    rc, s, se, allev = offline_events("demo.pcap", every=True)
    eq(rc, 0, "exit code")
    ups = [e for e in allev if e["event_type"] == "host_score" and e["direction"] == "up"]
    eq([(e["judged_host"], e["level"]) for e in ups], [("192.168.1.66", "block")], "level changes up")
    al = [e for e in allev if e["event_type"] == "alert"]
    eq(len(al), 1, "one alert")
    check_alert_line(al[0])
    eq(al[0]["explanation"]["reasons"][0]["signal"], "dpi", "strongest reason")
    st = [e for e in allev if e["event_type"] == "sluice_stats"]
    eq(len(st), 1, "a final stats line offline")
    eq(st[0]["sluice_stats"]["detections"], 7, "stats detections")
    eq(st[0]["sluice_stats"]["scoring"]["alerts"], 1, "stats alerts")


def first_positive():
    for ent in manifest():
        want = json.load(open(os.path.join(DET, ent["events"])))
        if len(want) >= 3 and not ent.get("set"):
            return ent
    return None


@test
def detect_manifest_present():
    assert len(manifest()) >= 10, "tests/gen detection captures missing (%d)" % len(manifest())
    pos = sum(1 for e in manifest() if json.load(open(os.path.join(DET, e["events"]))))
    neg = len(manifest()) - pos
    assert pos >= 8 and neg >= 5, "positives %d, negatives %d" % (pos, neg)


@test
def detect_demo_flags_the_miner():
    rc, s, se, evs = offline_events("demo.pcap")
    eq(rc, 0, "exit code")
    hosts = {e["judged_host"] for e in evs}
    eq(hosts, {"192.168.1.66"}, "only the miner is flagged")
    dets = {e["detector"] for e in evs}
    for d in ("stratum_subscribe", "stratum_authorize", "stratum_notify", "stratum_submit"):
        assert d in dets, "%s missing from %s" % (d, sorted(dets))


@test
def detect_repeatable_and_two_workers():
    ent = first_positive()
    assert ent is not None, "no positive capture"
    cap = os.path.join(DET, ent["pcap"])
    _, _, _, a = offline_events(cap)
    _, _, _, b = offline_events(cap)
    _, _, _, c = offline_events(cap, "-w", "2")
    key = lambda e: json.dumps(e, sort_keys=True)
    eq(sorted(map(key, b)), sorted(map(key, a)), "second run")
    eq(sorted(map(key, c)), sorted(map(key, a)), "two workers")


@test
def detect_small_ring_offline_exact():
    ent = first_positive()
    cap = os.path.join(DET, ent["pcap"])
    _, _, _, a = offline_events(cap)
    _, s, _, b = offline_events(cap, "--set", "report_ring_size=64")
    eq(ev_multiset(b), ev_multiset(a), "events with a 64-record ring")


@test
def detect_off():
    rc, s, se, evs = offline_events("demo.pcap", "--set", "detect=0")
    eq(rc, 0, "exit code")
    eq(evs, [], "no events with detect=0")
    eq(s["detection"]["enabled"], False, "detection disabled in the summary")


@test
def detect_overrides_file():
    ov = os.path.join(TMP, "det.conf")
    with open(ov, "w") as f:
        f.write("# turn one off, weigh another\nstratum_notify off\nstratum_submit weight 12\n")
    rc, s, se, evs = offline_events("demo.pcap", "--set", "detectors=" + ov)
    eq(rc, 0, "exit code (%s)" % se[-200:])
    dets = {e["detector"]: e for e in evs}
    assert "stratum_notify" not in dets, "disabled detector fired"
    eq(dets["stratum_submit"]["weight"], 12, "weight override")


@test
def detect_bad_lists():
    bad = os.path.join(TMP, "bad.domains")
    with open(bad, "w") as f:
        f.write("# ok\nnanopool.org\nnot a domain!\n")
    rc, so, se = run(["-r", os.path.join(DATA, "demo.pcap"), "-q", "--set", "pools_domains=" + bad])
    eq(rc, 2, "exit code for a bad pools_domains")
    assert "bad.domains:3:" in se, se
    badip = os.path.join(TMP, "bad.ips")
    with open(badip, "w") as f:
        f.write("198.51.100.0/24\n10.0.0.0/33\n")
    rc, so, se = run(["-r", os.path.join(DATA, "demo.pcap"), "-q", "--set", "pools_ips=" + badip])
    eq(rc, 2, "exit code for a bad pools_ips")
    assert "bad.ips:2:" in se, se
    det = os.path.join(TMP, "bad.det")
    with open(det, "w") as f:
        f.write("no_such_detector off\n")
    rc, so, se = run(["-r", os.path.join(DATA, "demo.pcap"), "-q", "--set", "detectors=" + det])
    eq(rc, 2, "exit code for an unknown detector")
    assert "bad.det:1: unknown detector" in se, se
    rc, so, se = run(["-r", os.path.join(DATA, "demo.pcap"), "-q",
                      "--set", "pools_domains=/nonexistent/pools.domains"])
    eq(rc, 2, "exit code for a missing list")
    assert "/nonexistent/pools.domains" in se, se


@test
def detect_live_matches_offline():
    ent = first_positive()
    cap = os.path.join(DET, ent["pcap"])
    _, _, _, a = offline_events(cap)
    evp = os.path.join(TMP, "live.events")
    rc, s, se = live(["net_pcap0,rx_pcap=%s" % cap], "-e", evp)
    eq(rc, 0, "exit code (%s)" % se[-300:])
    b = read_events(evp)
    strip = lambda evs: sorted(tuple(e[k] for k in EV_KEYS + ("direction",)) for e in evs)
    eq(strip(b), strip(a), "live events = offline events")
    det = s["detection"]
    lost = s["workers"][0]["inspection"]["events_lost"]
    eq(det["inspection"]["events"], det["events"] + lost, "events produced = taken + lost")


@test
def detect_host_follows_home_nets():
    cap = os.path.join(DET, "pool_ip.pcap")
    ips = os.path.join(DET, "pools_test.ips")
    _, _, _, a = offline_events(cap, "--set", "pools_ips=" + ips)
    _, _, _, b = offline_events(cap, "--set", "pools_ips=" + ips,
                                "--set", "home_nets=10.20.0.0/16, 2001:db8:20::/48")
    eq(len(b), len(a), "same events with home_nets")
    for e in b:
        inside = e["dest_ip"] if e["dest_ip"].startswith("10.20.") else e["src_ip"]
        if e["src_ip"].startswith("2001:db8:20:"):
            inside = e["src_ip"]
        eq(e["judged_host"], inside, "judged host of %s -> %s" % (e["src_ip"], e["dest_ip"]))
    inbound = [e for e in b if e["src_ip"] == "198.51.100.9"]
    eq(len(inbound), 1, "the inbound flow")
    eq(inbound[0]["judged_host"], "10.20.0.9", "inbound flow: the inside responder is judged")

@test
def detect_live_small_ring_counts_lost_events():
    cap = os.path.join(DET, "many_miners.pcap")
    want = len(json.load(open(os.path.join(DET, "many_miners.events.json"))))
    evp = os.path.join(TMP, "ring.events")
    rc, s, se = live(["net_pcap0,rx_pcap=%s" % cap], "-e", evp, "--set", "report_ring_size=64")
    eq(rc, 0, "exit code (%s)" % se[-300:])
    det = s["detection"]
    lost = s["workers"][0]["inspection"]["events_lost"]
    got = len(read_events(evp))
    eq(det["inspection"]["events"], want, "events produced")
    eq(got, det["events"], "events written = events taken")
    eq(got + lost, want, "taken + lost = produced")
    # whether a one-shot replay overflows 64 records depends on how fast the control core
    # drains; live_overload_counts_every_detection forces overflow with a looping replay
    eq(s["control"]["detections"]["holds"], True, "produced = written + aggregated + dropped")
    eq(s["conservation"]["ok"], True, "conservation")

@test
def detect_payload_pool_empty_is_counted():
    cap = os.path.join(DET, "many_miners.pcap")
    rc, s, se, evs = offline_events(cap, "--set", "offline_payload_buffers=16")
    eq(rc, 0, "exit code (%s)" % se[-300:])
    fl = s["totals"]["flows"]
    eq(fl["payload_buffers_used"] <= 16 + fl["expired"], True, "buffers handed out")
    assert fl["payload_pool_empty"] > 0, "pool never ran dry: %r" % fl
    flagged = {(e["src_ip"], e["src_port"]) for e in evs}
    eq(len(flagged) + fl["payload_pool_empty"], 800, "every flow either inspected or counted")

def telemetry(prefix, cmd):
    import socket
    path = "/var/run/dpdk/%s/dpdk_telemetry.v2" % prefix
    sk = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sk.settimeout(10)
    sk.connect(path)
    sk.recv(4096)  # the greeting
    sk.send(cmd.encode())
    r = json.loads(sk.recv(65536).decode())
    sk.close()
    return r


@test
def detect_reload_live():
    doms = os.path.join(TMP, "reload.domains")
    with open(doms, "w") as f:
        f.write("nanopool.org\n")
    out = os.path.join(TMP, "reload.json")
    prefix = "sl-reload-%d" % os.getpid()
    p = subprocess.Popen([SLUICE, "-l", "0-1", "--no-huge", "-m", "512", "--no-pci",
                          "--file-prefix=" + prefix, "--vdev", "net_null0", "--", "-s", out, "-q",
                          "--set", "idle_polls=64", "--set", "pools_domains=" + doms,
                          "--set", "pools_ips="] + LIVE_SMALL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(3)
        with open(doms, "w") as f:
            f.write("nanopool.org\nminexmr.com\n")
        p.send_signal(signal.SIGUSR2)
        time.sleep(1)
        with open(doms, "w") as f:
            f.write("nanopool.org\nthis is bad\n")
        p.send_signal(signal.SIGUSR2)
        time.sleep(1)
        with open(doms, "w") as f:
            f.write("nanopool.org\nminexmr.com\nsupportxmr.com\n")
        r = telemetry(prefix, "/sluice/reload")
        body = r.get("/sluice/reload", {})
        eq(body.get("status"), "ok", "telemetry reload status (%r)" % r)
        eq(body.get("generation"), 3, "generation after the telemetry reload")
        time.sleep(1.2)
        # /sluice/stats answers with /metrics off (metrics_port = 0) too
        st = telemetry(prefix, "/sluice/stats").get("/sluice/stats", {})
        eq((st.get("tables_generation"), st.get("workers")), (3, 1), "/sluice/stats (%r)" % st)
    finally:
        p.send_signal(signal.SIGINT)
        _, se = p.communicate(timeout=30)
    eq(p.returncode, 0, "exit code (%s)" % se[-300:])
    assert "generation 2, 2 pool names" in se, se
    assert "reload refused, keeping generation 2: %s:2:" % doms in se, se
    t = json.load(open(out))["detection"]["tables"]
    eq((t["generation"], t["pool_names"], t["reloads"], t["reload_errors"]), (3, 3, 2, 1),
       "tables after reloads")


@test
def events_file_reopened_on_sighup():
    evp = os.path.join(TMP, "rotate.events")
    out = os.path.join(TMP, "rotate.json")
    p = subprocess.Popen([SLUICE, "-l", "0-1", "--no-huge", "-m", "512", "--no-pci",
                          "--no-shconf", "--file-prefix=sl-hup-%d" % os.getpid(),
                          "--vdev", "net_null0", "--", "-s", out, "-q", "-e", evp,
                          "--set", "idle_polls=64"] + LIVE_SMALL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2.5)
        assert os.path.exists(evp), "events file not created"
        os.rename(evp, evp + ".1")
        p.send_signal(signal.SIGHUP)
        time.sleep(1)
        assert os.path.exists(evp), "events file not reopened after SIGHUP"
    finally:
        p.send_signal(signal.SIGINT)
        _, se = p.communicate(timeout=30)
    eq(p.returncode, 0, "exit code (%s)" % se[-300:])


# ------------------------------------------------------------------ metrics (live)

def free_port():
    import socket
    sk = socket.socket()
    sk.bind(("127.0.0.1", 0))
    port = sk.getsockname()[1]
    sk.close()
    return port


def http_get(port, path, method="GET", headers=None):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request(method, path, headers=headers or {})
    r = c.getresponse()
    body = r.read().decode(errors="replace")
    c.close()
    return r.status, dict(r.getheaders()), body


@test
def metrics_endpoint_prometheus_and_telemetry():
    port, pport = free_port(), free_port()
    prefix = "sl-metrics-%d" % os.getpid()
    out = os.path.join(TMP, "metrics.json")
    cap = os.path.join(DATA, "demo.pcap")
    small = LIVE_SIZES
    p = subprocess.Popen([SLUICE, "-l", "0-1", "--no-huge", "-m", "512", "--no-pci",
                          "--file-prefix=" + prefix, "--vdev", "net_pcap0,rx_pcap=" + cap, "--",
                          "-s", out, "-q", "-e", os.devnull, "--set", "idle_polls=64",
                          "--set", "metrics_port=%d" % port, "--set", "metrics_interval_ms=200"]
                         + small, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    prom = None
    import re
    try:
        deadline = time.time() + 20
        body = ""
        while time.time() < deadline:
            try:
                st, hd, body = http_get(port, "/metrics")
                if st == 200 and 'sluice_port_rx_packets_total{port="0",name="net_pcap0"} 307' in body \
                        and 'sluice_hosts_over_threshold{level="block",threshold="85"} 1' in body:
                    break  # the decay pass that counts hosts over thresholds runs every second
            except OSError:
                pass
            time.sleep(0.2)
        assert 'sluice_port_rx_packets_total{port="0",name="net_pcap0"} 307' in body, body[:500]
        assert 'sluice_detections_total{detector="stratum_submit",protocol="stratum"} 1' in body
        assert 'sluice_alerts_total 1' in body, body
        assert 'sluice_hosts_over_threshold{level="block",threshold="85"} 1' in body, body
        assert re.search(r'^sluice_host_score\{host="192.168.1.66",level="block"\} (9\d|100)\.\d$',
                         body, re.M), [l for l in body.splitlines() if "host_score" in l]
        assert hd.get("Content-Type", "").startswith("text/plain; version=0.0.4"), hd
        dash = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                           "config", "grafana", "sluice.json")))
        used = set()
        for pn in dash["panels"]:
            for tg in pn["targets"]:
                used |= set(re.findall(r"sluice_[a-z_]+", tg["expr"]))
        served = set(re.findall(r"^# TYPE (sluice_[a-z_]+) ", body, re.M))
        eq(sorted(used - served), [], "dashboard metrics that /metrics does not serve")
        chk = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                             text=True)
        eq(chk.returncode, 0, "promtool check metrics (%s%s)" % (chk.stdout, chk.stderr))
        # bad requests: proper status codes, and the endpoint keeps working
        eq(http_get(port, "/")[0], 404, "GET /")
        eq(http_get(port, "/metrics/../etc/passwd")[0], 404, "path traversal")
        eq(http_get(port, "/metrics", method="POST")[0], 405, "POST")
        eq(http_get(port, "/metrics", method="DELETE")[0], 405, "DELETE")
        eq(http_get(port, "/metrics", headers={"X-Big": "a" * 60000})[0], 431, "huge header")
        eq(http_get(port, "/metrics", method="HEAD")[0], 200, "HEAD")
        eq(http_get(port, "/metrics")[0], 200, "still serving")
        # DPDK telemetry, from the same snapshot
        r = telemetry(prefix, "/sluice/stats")["/sluice/stats"]
        eq(r.get("rx_packets"), 307, "telemetry rx_packets (%r)" % r)
        eq(r.get("events"), 7, "telemetry events")
        eq((r.get("alerts"), r.get("hosts_over_block")), (1, 1), "telemetry alerts (%r)" % r)
        for _ in range(50):  # host counters arrive with the workers' next report
            hosts = telemetry(prefix, "/sluice/hosts,3")["/sluice/hosts"]
            if len(hosts.get("host", [])) == 3 and min(hosts["bytes_in"]) > 0:
                break
            time.sleep(0.2)
        eq(len(hosts.get("host", [])), 3, "three hosts asked for (%r)" % hosts)
        eq(hosts["host"][0], "192.168.1.66", "the miner heads the list (%r)" % hosts)
        eq(hosts["level"][0], "block", "the miner's level")
        assert hosts["score"][0] >= 85 and hosts["score"][1:] == [0, 0], hosts
        assert "stratum" in hosts["reason"][0], hosts["reason"]
        off = host_view(offline("demo.pcap", "--set", "detect=0")[1])
        for i, ip in enumerate(hosts["host"]):
            eq((hosts["bytes_out"][i], hosts["bytes_in"][i]),
               (off[ip]["bytes_out"], off[ip]["bytes_in"]), "telemetry host %s" % ip)
        one = telemetry(prefix, "/sluice/host,192.168.1.66")["/sluice/host"]
        eq((one.get("tracked"), one.get("pkts_out")), (1, off["192.168.1.66"]["pkts_out"]),
           "/sluice/host,192.168.1.66 (%r)" % one)
        eq(one.get("level"), "block", "the miner's level")
        assert len(one.get("reasons", [])) >= 4, one
        assert any(r.startswith("dpi stratum_submit") for r in one["reasons"]), one["reasons"]
        eq(telemetry(prefix, "/sluice/host,203.0.113.254")["/sluice/host"], {"tracked": 0},
           "an unknown host")
        eq(telemetry(prefix, "/sluice/host,not-an-ip")["/sluice/host"], None, "a bad address")
        eq(telemetry(prefix, "/sluice/hosts,1000")["/sluice/hosts"], None, "too many hosts")
        # a real Prometheus server scrapes it
        pdir = tempfile.mkdtemp(prefix="sl-prom-", dir=TMP)
        cfg = os.path.join(pdir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: sluice\n"
                    "    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % port)
        prom = subprocess.Popen(["prometheus", "--config.file=" + cfg,
                                 "--storage.tsdb.path=" + os.path.join(pdir, "data"),
                                 "--web.listen-address=127.0.0.1:%d" % pport],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        val = None
        deadline = time.time() + 40
        while time.time() < deadline and val is None:
            time.sleep(1)
            try:
                st, _, b = http_get(pport, "/api/v1/query?query=sluice_queue_packets_total")
                res = json.loads(b)["data"]["result"] if st == 200 else []
                if res:
                    val = res[0]["value"][1]
            except (OSError, ValueError, KeyError):
                pass
        eq(val, "307", "Prometheus sees sluice_queue_packets_total")
        st, _, b = http_get(pport, "/api/v1/query?query=sluice_host_score")
        res = json.loads(b)["data"]["result"]
        eq([(r["metric"]["host"], r["metric"]["level"], float(r["value"][1]) >= 85) for r in res],
           [("192.168.1.66", "block", True)], "Prometheus sees the miner's score (%r)" % res)
    finally:
        if prom is not None:
            prom.terminate()
            prom.wait(timeout=30)
        p.send_signal(signal.SIGINT)
        _, se = p.communicate(timeout=30)
    eq(p.returncode, 0, "exit code (%s)" % se[-300:])


@test
def metrics_port_in_use_is_an_error():
    import socket
    sk = socket.socket()
    sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sk.bind(("127.0.0.1", 0))
    sk.listen(1)
    port = sk.getsockname()[1]
    try:
        small = LIVE_SIZES
        rc, so, se = run(["-l", "0-1", "--no-huge", "-m", "512", "--no-pci", "--no-shconf",
                          "--file-prefix=sl-inuse-%d" % os.getpid(), "--vdev", "net_null0", "--",
                          "-q", "--set", "metrics_port=%d" % port] + small, timeout=60)
    finally:
        sk.close()
    eq(rc, 1, "exit code")
    assert "cannot serve metrics on 127.0.0.1 port %d" % port in se, se


# ------------------------------------------------------------------ response (lib/block)

def pcap_count(path):
    """Frames in a classic pcap (header 24 bytes, 16 per record)."""
    import struct
    n = 0
    with open(path, "rb") as f:
        if len(f.read(24)) < 24:
            return 0
        while True:
            h = f.read(16)
            if len(h) < 16:
                return n
            f.seek(struct.unpack("<IIII", h)[2], 1)
            n += 1


def empty_pcap():
    path = os.path.join(TMP, "empty.pcap")
    if not os.path.exists(path):
        import struct
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    return path


def inline_run(cap, *extra, name="inline"):
    """demo-like capture in on port 0, forwarded to port 1's tx_pcap: (rc, summary, events,
    frames out)."""
    out1 = os.path.join(TMP, name + ".out1.pcap")
    out0 = os.path.join(TMP, name + ".out0.pcap")
    evp = os.path.join(TMP, name + ".events")
    for f in (out0, out1, evp):
        if os.path.exists(f):
            os.unlink(f)
    rc, s, se = live(["net_pcap0,rx_pcap=%s,tx_pcap=%s" % (os.path.join(DATA, cap), out0),
                      "net_pcap1,rx_pcap=%s,tx_pcap=%s" % (empty_pcap(), out1)],
                     "-e", evp, "--set", "port_time=1", *extra)
    return rc, s, (read_all_events(evp) if os.path.exists(evp) else []), pcap_count(out1), se


def live_with_telemetry(prefix, vdevs, name, evp, *extra):
    """sluice live in inline mode on @vdevs, in the background, once its telemetry socket is
    up: (process, socket path). Summary in TMP/name.json."""
    eal = []
    for v in vdevs:
        eal += ["--vdev", v]
    p = subprocess.Popen([SLUICE, "-l", "0-1", "--no-huge", "-m", "512", "--no-pci",
                          "--file-prefix=" + prefix] + eal +
                         ["--", "-q", "-e", evp, "-s", os.path.join(TMP, name + ".json"),
                          "--set", "idle_polls=64", "--set", "mode=inline"] + list(extra) +
                         LIVE_SMALL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sock = "/var/run/dpdk/%s/dpdk_telemetry.v2" % prefix
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.1)
    # the commands are registered once the ports are up (slow on a loaded machine)
    for _ in range(150):
        try:
            if "/sluice/blocks" in telemetry(prefix, "/").get("/", []):
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    time.sleep(0.2)
    return p, sock


@test
def inline_forwards_and_drops_blocked_flows():
    """mode = inline: everything from port 0 leaves on port 1 but the miner's flow once it
    is blocked; net_pcap has no rte_flow, so the rule goes to the soft blocklist."""
    rc, s, evs, out, se = inline_run("demo.pcap", "--set", "mode=inline")
    eq(rc, 0, "exit code (%s)" % se[-300:])
    w = s["workers"][0]["inline"]
    eq(w["ok"], True, "inline conservation (%r)" % w)
    # the replay is faster than the control core: how much of the miner's flow is still
    # forwarded before its block is a race; what leaves must be what was not dropped
    eq(w["forwarded"] + w["blocked"], 307, "forwarded + blocked (%r)" % w)
    eq(out, w["forwarded"], "frames out of port 1")
    blocks = [e for e in evs if e["event_type"] == "block"]
    eq([(b["judged_host"], b["peer"], b["dest_port"], b["backend"]) for b in blocks],
       [("192.168.1.66", "198.51.100.7", 3333, "soft")], "block events")
    assert "validate" in blocks[0]["nic_error"] or "create" in blocks[0]["nic_error"], blocks[0]
    r = s["response"]
    eq((r["mode"], r["installed_soft"], r["nic_refused"]), ("inline", 1, 1), "response counters")
    eq(r["soft_dropped_packets"], w["blocked"], "dropped packets")
    unb = [e for e in evs if e["event_type"] == "unblock"]
    eq([u["why"] for u in unb], ["exit"], "rules removed at exit")


@test
def inline_drops_the_blocked_flow_for_good():
    """The capture replayed in a loop (infinite_rx) for 3 s: once blocked, every later pass of
    the miner's flow is dropped, the rest goes on being forwarded."""
    prefix = "sl-loop-%d" % os.getpid()
    evp = os.path.join(TMP, "loop.events")
    p, _ = live_with_telemetry(prefix, ["net_pcap0,rx_pcap=%s,tx_pcap=/dev/null,infinite_rx=1"
                                        % os.path.join(DATA, "demo.pcap"),
                                        "net_pcap1,rx_pcap=%s,tx_pcap=/dev/null" % empty_pcap()],
                               "loop", evp, "--set", "port_time=1")
    time.sleep(3)
    p.send_signal(signal.SIGINT)
    _, se = p.communicate(timeout=30)
    eq(p.returncode, 0, "exit code (%s)" % se[-300:])
    s = json.load(open(os.path.join(TMP, "loop.json")))
    w = s["workers"][0]["inline"]
    eq(w["ok"], True, "inline conservation (%r)" % w)
    assert w["blocked"] > 1000 and w["forwarded"] > w["blocked"], w
    eq(s["response"]["soft_dropped_packets"], w["blocked"], "soft drops")
    eq([(e["judged_host"], e["backend"]) for e in read_all_events(evp) if e["event_type"] == "block"],
       [("192.168.1.66", "soft")], "one block")


@test
def inline_allowlisted_and_dry_run_never_drop():
    rc, s, evs, out, se = inline_run("demo.pcap", "--set", "mode=inline",
                                     "--set", "block_allowlist=192.168.1.0/28 192.168.1.64/30",
                                     name="inline-allow")
    eq(rc, 0, "exit code (%s)" % se[-300:])
    eq(out, 307, "every frame forwarded")
    ref = [e for e in evs if e["event_type"] == "block_refused"]
    eq([(e["judged_host"], e["refusal"]) for e in ref], [("192.168.1.66", "allowlisted")], "refusals")
    eq([e for e in evs if e["event_type"] == "block"], [], "no block")
    rc, s, evs, out, se = inline_run("demo.pcap", "--set", "mode=dry_run", name="inline-dry")
    eq(rc, 0, "exit code (%s)" % se[-300:])
    eq(out, 307, "dry run: every frame forwarded")
    eq([(e["judged_host"], e["backend"]) for e in evs if e["event_type"] == "block"],
       [("192.168.1.66", "dry")], "dry run decides")
    eq(s["response"]["soft_dropped_packets"], 0, "dry run drops nothing")


@test
def spoofed_flood_hits_the_caps():
    """800 'miners' at once (forged sources): automatic blocks stop at block_max_per_minute,
    the rest are refused and counted, never silently dropped."""
    cap = os.path.join(DET, "many_miners.pcap")
    rc, s, se, evs = offline_events(cap, "--set", "mode=inline", "--set", "block_max_per_minute=50",
                                    every=True)
    eq(rc, 0, "exit code (%s)" % se[-300:])
    made = [e for e in evs if e["event_type"] == "block"]
    ref = [e for e in evs if e["event_type"] == "block_refused"]
    eq(len(made), 50, "blocks made")
    assert len(ref) >= 700 and all(e["refusal"] == "cap_rate" for e in ref), len(ref)
    r = s["response"]
    eq((r["installed_dry"], r["refused_cap_rate"]), (50, len(ref)), "counters")
    rc, s, se, evs = offline_events(cap, "--set", "mode=inline", "--set", "block_max_active=20",
                                    every=True)
    eq(s["response"]["installed_dry"], 20, "active cap")
    assert s["response"]["refused_cap_active"] >= 700, s["response"]


@test
def operator_commands_by_telemetry():
    prefix = "sl-ops-%d" % os.getpid()
    evp = os.path.join(TMP, "ops.events")
    p, sock = live_with_telemetry(prefix, ["net_null0", "net_null1"], "ops", evp,
                                  "--set", "block_allowlist=10.9.0.0/16")
    try:
        eq(oct(os.stat(sock).st_mode & 0o777), "0o600", "telemetry socket mode")

        def t(c):
            return telemetry(prefix, c)[c.split(",")[0]]
        eq(t("/sluice/block,10.1.2.3"), {"status": "blocked"}, "quarantine a host")
        eq(t("/sluice/block,10.1.2.4,198.51.100.9,3333"), {"status": "blocked"}, "a pool rule")
        eq(t("/sluice/block,10.1.2.4,198.51.100.9,3333")["status"], "exists", "again")
        eq(t("/sluice/block,10.9.1.1")["status"], "refused", "allowlisted")
        for bad in ("/sluice/block,bad", "/sluice/block,10.1.2.4,1.2.3.4,99999",
                    "/sluice/block,10.1.2.4,1.2.3.4,80,sctp", "/sluice/block,1,2,3,4,5",
                    "/sluice/unblock,", "/sluice/allow,300.1.1.1/8", "/sluice/blocks,x"):
            eq(t(bad), None, "bad command %s" % bad)
        ls = t("/sluice/blocks")
        eq(sorted(zip(ls["host"], ls["scope"], ls["backend"])),
           [("10.1.2.3", "quarantine", "soft"), ("10.1.2.4", "pool", "soft")], "list")
        eq(t("/sluice/unblock,10.1.2.3"), {"removed": 1}, "unblock")
        eq(t("/sluice/allow,10.8.0.0/16"), {"status": "ok"}, "allow")
        eq(t("/sluice/allow,10.8.0.0/16"), {"status": "exists"}, "allow again")
        eq(t("/sluice/allowlist"), ["10.9.0.0/16", "10.8.0.0/16"], "allowlist")
        eq(t("/sluice/disallow,10.8.0.0/16"), {"status": "ok"}, "disallow")
        eq(t("/sluice/disallow,10.8.0.0/16"), {"status": "absent"}, "disallow again")
        # the same through scripts/sluice-ctl
        ctl = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts",
                           "sluice-ctl")
        r = subprocess.run([ctl, "-p", prefix, "list"], capture_output=True, text=True)
        eq(r.returncode, 0, "sluice-ctl list (%s)" % r.stderr)
        eq(json.loads(r.stdout)["host"], ["10.1.2.4"], "sluice-ctl list")
        r = subprocess.run([ctl, "-p", prefix, "block", "10.9.3.3"], capture_output=True, text=True)
        eq((r.returncode, json.loads(r.stdout)["status"]), (1, "refused"), "sluice-ctl refused")
        r = subprocess.run([ctl, "-p", prefix, "block", "nope"], capture_output=True, text=True)
        eq((r.returncode, r.stdout.strip()), (1, "null"), "sluice-ctl bad address")
        r = subprocess.run([ctl, "-p", prefix, "frobnicate"], capture_output=True, text=True)
        eq(r.returncode, 2, "sluice-ctl usage")
        r = subprocess.run([ctl, "-p", "no-such-prefix", "list"], capture_output=True, text=True)
        eq(r.returncode, 2, "sluice-ctl without sluice")
    finally:
        p.send_signal(signal.SIGINT)
        _, se = p.communicate(timeout=30)
    eq(p.returncode, 0, "exit code (%s)" % se[-300:])
    evs = read_all_events(evp)
    kinds = [(e["event_type"], e["judged_host"], e.get("why") or e.get("refusal") or "") for e in evs
             if e["event_type"] in ("block", "block_refused", "unblock")]
    eq(kinds, [("block", "10.1.2.3", ""), ("block", "10.1.2.4", ""),
               ("block_refused", "10.1.2.4", "exists"), ("block_refused", "10.9.1.1", "allowlisted"),
               ("unblock", "10.1.2.3", "operator"), ("block_refused", "10.9.3.3", "allowlisted"),
               ("unblock", "10.1.2.4", "exit")], "events")


@test
def net_tap_validates_then_falls_back_to_soft():
    """net_tap checks rte_flow rules but this kernel has no TC flower to hold them: the rule
    must pass validation, fail at create, and land in the soft blocklist, counted and logged.
    Where tc flower works, the NIC backend must hold it instead."""
    tag = "%d" % (os.getpid() % 100000)
    rc, s, se = live(["net_tap0,iface=sltA%s" % tag, "net_tap1,iface=sltB%s" % tag],
                     "--set", "mode=inline", "--set", "exit_idle_ms=3000",
                     "-e", os.path.join(TMP, "tap.events"))
    if rc != 0 and ("tap" in se and ("Operation not permitted" in se or "No such" in se)):
        raise AssertionError("net_tap unavailable: %s" % se[-300:])
    eq(rc, 0, "exit code (%s)" % se[-400:])
    # an operator block through telemetry needs the process alive: use the API in a second run
    prefix = "sl-tap-%s" % tag
    evp = os.path.join(TMP, "tap2.events")
    p, _ = live_with_telemetry(prefix, ["net_tap0,iface=sltC%s" % tag, "net_tap1,iface=sltD%s" % tag],
                               "tap2", evp)
    try:
        r = telemetry(prefix, "/sluice/block,10.1.2.3,198.51.100.9,3333")["/sluice/block"]
        eq(r, {"status": "blocked"}, "block on net_tap")
        flower = subprocess.run(["tc", "filter", "show", "dev", "sltC%s" % tag, "ingress"],
                                capture_output=True, text=True)
    finally:
        p.send_signal(signal.SIGINT)
        _, se = p.communicate(timeout=30)
    eq(p.returncode, 0, "exit code (%s)" % se[-300:])
    blk = [e for e in read_all_events(evp) if e["event_type"] == "block"]
    eq(len(blk), 1, "one block event")
    if blk[0]["backend"] == "nic":  # a kernel with TC flower: the rule is in the kernel
        assert "flower" in flower.stdout, flower.stdout
    else:
        eq(blk[0]["backend"], "soft", "fallback")
        assert "create" in blk[0]["nic_error"], "validated, refused at create: %r" % blk[0]
    s2 = json.load(open(os.path.join(TMP, "tap2.json")))
    eq(s2["response"]["nic_refused"], 1 if blk[0]["backend"] == "soft" else 0, "nic_refused")


def overload_run(name, *extra, secs=3, settle=False):
    """The detection captures replayed in a loop (infinite_rx) into one worker whose ring holds 64 records,
    for @secs: the control core cannot take everything. With @settle, then until the event log has
    stopped growing for 2 s (every distinct detection seen: the replay has looped at least once, however
    slow a loaded machine makes it), then @secs more. (summary, events, stderr)"""
    evp = os.path.join(TMP, name + ".events")
    out = os.path.join(TMP, name + ".json")
    mix = os.path.join(TMP, "overload.pcap")  # every detection capture: sessions that close and start again
    if not os.path.exists(mix):
        subprocess.run(["mergecap", "-F", "pcap", "-w", mix] +
                       sorted(glob.glob(os.path.join(DATA, "detect", "*.pcap"))), check=True)
    p = subprocess.Popen([SLUICE, "-l", "0-1", "--no-huge", "-m", "768", "--no-pci", "--no-shconf",
                          "--file-prefix=sl-%s-%d" % (name, os.getpid()), "--log-level=lib.*:error",
                          "--vdev", "net_pcap0,rx_pcap=%s,infinite_rx=1" % mix,
                          "--", "-q", "-s", out, "-e", evp, "--set", "report_ring_size=64",
                          "--set", "mbufs=16384"] + LIVE_SMALL + list(extra),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(secs)
    if settle:
        last, still, t0 = -1, 0.0, time.time()
        while still < 2.0 and time.time() - t0 < 60:
            time.sleep(0.5)
            size = os.path.getsize(evp) if os.path.exists(evp) else 0
            still = still + 0.5 if size == last and size > 0 else 0.0
            last = size
        time.sleep(secs)
    p.send_signal(signal.SIGINT)
    _, se = p.communicate(timeout=60)
    eq(p.returncode, 0, "exit code (%s)" % se[-300:])
    return json.load(open(out)), read_all_events(evp), se


@test
def live_overload_counts_every_detection():
    """Overload live: every detection a worker produced is written, aggregated or dropped
    (counted), exactly; the event log holds exactly the lines counted as written."""
    s, evs, _ = overload_run("overload")
    c = s["control"]
    d = c["detections"]
    assert d["produced"] > 1000, d
    assert c["det_dropped_ring"] > 0, "a 64-record ring under a looping replay never overflowed: %r" % d
    eq(d["produced"], d["written"] + d["aggregated"] + d["dropped"], "produced = written + aggregated + dropped")
    eq(d["holds"], True, "summary says it holds")
    eq(d["aggregated"], 0, "no aggregation by default")
    eq(d["dropped"], c["det_dropped_ring"] + c["det_dropped_write"], "dropped by kind")
    eq(sum(w["inspection"]["events_lost"] for w in s["workers"]), c["det_dropped_ring"], "ring drops as workers count them")
    eq(len([e for e in evs if e["event_type"] == "detection"]), d["written"], "detection lines")
    f = c["flow_samples"]
    eq(f["produced"], f["scored"] + f["dropped"], "flow samples")
    assert 0 <= c["busy_share"] <= 1, c


@test
def live_overload_aggregates_repeats():
    """With event_dedup_s, repeats of a detection fold into one line per window: fewer lines,
    the same conservation, and the aggregate lines say how many they stand for."""
    s, evs, _ = overload_run("overload-agg", "--set", "event_dedup_s=3600", settle=True)
    c = s["control"]
    d = c["detections"]
    eq(d["produced"], d["written"] + d["aggregated"] + d["dropped"], "produced = written + aggregated + dropped")
    assert d["aggregated"] > d["written"], d
    det = [e for e in evs if e["event_type"] == "detection"]
    agg = [e for e in det if "repeats" in e]
    eq(len(det), d["written"] + c["agg_lines"], "lines: first ones and aggregates")
    eq(sum(e["repeats"]["count"] for e in agg), d["aggregated"], "aggregate counts")
    for e in agg:
        assert e["repeats"]["first"] <= e["repeats"]["last"], e


# ------------------------------------------------------------------ evidence packets (lib/evid)

EVD = os.path.abspath(os.path.join(DATA, "evidence"))


def ts_us(text):
    """EVE timestamp ('2023-11-14T22:13:21.036200+0000') -> epoch microseconds."""
    import datetime
    d = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")
    return int(d.timestamp()) * 1000000 + d.microsecond


def tshark_pkts(cap, flt=None):
    """(time us, src, sport, dst, dport, seq, len) per TCP packet of a capture, via tshark."""
    args = ["tshark", "-r", cap, "-T", "fields", "-e", "frame.time_epoch", "-e", "ip.src",
            "-e", "tcp.srcport", "-e", "ip.dst", "-e", "tcp.dstport", "-e", "tcp.seq_raw",
            "-e", "tcp.len"]
    if flt:
        args += ["-Y", flt]
    r = subprocess.run(args, capture_output=True, text=True)
    eq(r.returncode, 0, "tshark -r %s (%s)" % (cap, r.stderr[-300:]))
    out = []
    for line in r.stdout.splitlines():
        f = line.split("\t")
        sec, _, frac = f[0].partition(".")
        out.append((int(sec) * 1000000 + int((frac + "000000")[:6]),) + tuple(f[1:]))
    return out


_EV_RUNS = [0]


def evidence_run(cap, *extra, live_run=False, name="ev"):
    _EV_RUNS[0] += 1
    d = os.path.join(TMP, "%s-%d-%d" % (name, len(RESULTS), _EV_RUNS[0]))
    evp = d + ".events"
    if live_run:
        rc, s, se = live(["net_pcap0,rx_pcap=%s" % cap], "-e", evp, "--set", "evidence_dir=" + d, *extra)
    else:
        rc, s, se, _ = offline(cap, "-e", evp, "--set", "evidence_dir=" + d, *extra, name=name)
    eq(rc, 0, "exit code (%s)" % se[-300:])
    evs = read_all_events(evp)  # validates every line against config/eve.schema.json
    return s, evs, d, se


def ev_counters(s):
    return {k[len("evidence_"):]: v for k, v in s["control"].items() if k.startswith("evidence_")}


def miner_alert(evs, host):
    al = [e for e in evs if e["event_type"] == "alert" and e["judged_host"] == host]
    eq(len(al), 1, "one alert for %s" % host)
    assert "evidence_files" in al[0], al[0]
    return al[0]


@test
def evidence_offline_pcap_from_the_alert_on():
    """Offline: the alert names its pcap and stream file; the pcap opens in tshark and holds
    exactly the mining flow's packets from the alert's timestamp on (compared with the
    capture); the stream file holds the flow's first bytes; a second run writes the same
    bytes."""
    cap = os.path.join(EVD, "miner_tail.pcap")
    m = json.load(open(os.path.join(EVD, "miner_tail.json")))
    s, evs, d, _ = evidence_run(cap)
    al = miner_alert(evs, m["host"])
    pcap, stream = al["evidence_files"]["pcap"], al["evidence_files"]["stream"]
    eq(os.path.dirname(pcap), d, "files in evidence_dir")
    assert os.path.basename(pcap).startswith("sluice-%s-" % m["host"]), pcap
    got = tshark_pkts(pcap)
    flt = "tcp.port==%d && ip.addr==%s" % (m["sport"], m["peer"])
    t0 = ts_us(al["timestamp"])
    want = [p for p in tshark_pkts(cap, flt) if p[0] >= t0]
    eq(len(want) > 250, True, "the capture has packets after the alert (%d)" % len(want))
    eq(got, want, "evidence = the flow's packets from the alert on")
    c = ev_counters(s)
    eq(c["files"], 1, "files")
    eq(c["pkts"], len(got), "packets counted")
    eq(c["streams"], 2, "both directions' first bytes")
    eq(c["errors"] + c["ring_full"] + c["orphans"] + c["over_flow"] + c["over_host"], 0, "nothing lost")
    body = open(stream, "rb").read()
    assert b"# sluice stream to_server %s:%d -> %s:%d tcp" % (m["host"].encode(), m["sport"], m["peer"].encode(), m["dport"]) in body, body[:200]
    assert b'"method":"mining.subscribe","params":["xmrig/6.21.0"]' in body, body[:300]
    assert b'"method":"mining.authorize"' in body
    assert b"# sluice stream to_client" in body and b'"result":true' in body
    eq(os.path.getsize(pcap) + os.path.getsize(stream), c["bytes"], "bytes counted")
    s2, evs2, d2, _ = evidence_run(cap)
    al2 = miner_alert(evs2, m["host"])
    for k in ("pcap", "stream"):
        eq(open(al2["evidence_files"][k], "rb").read(), open(al["evidence_files"][k], "rb").read(), "%s identical run after run" % k)
    eq(ev_counters(s2), c, "counters identical run after run")


@test
def evidence_live_net_pcap():
    """Live (net_pcap replay): the workers copy the marked flow's packets once the alert has
    reached them; the pcap holds a tail of the flow (every packet the capture has after the
    first one copied, in order), the stream file its first bytes."""
    cap = os.path.join(EVD, "miner_tail.pcap")
    m = json.load(open(os.path.join(EVD, "miner_tail.json")))
    s, evs, d, _ = evidence_run(cap, live_run=True, name="evlive")
    al = miner_alert(evs, m["host"])
    got = tshark_pkts(al["evidence_files"]["pcap"])
    flow = tshark_pkts(cap, "tcp.port==%d && ip.addr==%s" % (m["sport"], m["peer"]))
    c = ev_counters(s)
    eq(c["pkts"], len(got), "packets counted")
    eq(c["ring_full"] + c["orphans"] + c["errors"], 0, "nothing lost")
    # the alert reaches the workers while the 150 000 benign packets play (tens of ms); on a
    # loaded machine the control core may be late, so a part of the session is enough
    assert len(got) >= 100, "the session after the benign packets (%d packets)" % len(got)
    strip = lambda ps: [p[1:] for p in ps]  # live times are the replay's
    eq(strip(got), strip(flow[-len(got):]), "a tail of the flow, in order")
    body = open(al["evidence_files"]["stream"], "rb").read()
    assert b'"method":"mining.subscribe"' in body, body[:300]
    eq(c["streams"], 2, "streams")


@test
def evidence_live_ring_full_counted():
    """Live with an evidence ring of 16 records: the workers never wait; what does not fit is
    counted, and what the pcap holds is what was counted written."""
    cap = os.path.join(EVD, "miner_tail.pcap")
    m = json.load(open(os.path.join(EVD, "miner_tail.json")))
    s, evs, d, _ = evidence_run(cap, "--set", "evidence_ring=16", live_run=True, name="evring")
    al = miner_alert(evs, m["host"])
    c = ev_counters(s)
    assert c["ring_full"] > 0, c
    eq(len(tshark_pkts(al["evidence_files"]["pcap"])), c["pkts"], "pcap = packets counted")
    assert c["pkts"] + c["ring_full"] >= 100, c


@test
def evidence_bounds_under_a_flood_of_alerts():
    """800 miners alerted within seconds: at most evidence_max_files alerts keep files, their
    bytes stay within evidence_max_kb, the rest is rotated away, counted; what stays opens in
    tshark."""
    cap = os.path.join(DET, "many_miners.pcap")
    s, evs, d, _ = evidence_run(cap, "--set", "evidence_max_files=40", "--set", "evidence_max_kb=24",
                                "--set", "evidence_host_kb=4", name="evflood")
    al = [e for e in evs if e["event_type"] == "alert"]
    eq(len(al), 800, "alerts")
    assert all("evidence_files" in e for e in al), "every alert names its files"
    c = ev_counters(s)
    eq(c["files"], 800, "files opened")
    left = sorted(os.listdir(d))
    pcaps = [f for f in left if f.endswith(".pcap")]
    eq(len(pcaps), 800 - c["rotated"], "files left = opened - rotated")
    assert len(pcaps) <= 40, len(pcaps)
    eq(len([f for f in left if f.endswith(".stream")]), len(pcaps), "a stream file beside each pcap")
    total = sum(os.path.getsize(os.path.join(d, f)) for f in left)
    assert total <= 24 * 1024, total
    for f in left:
        assert os.path.getsize(os.path.join(d, f)) <= 4 * 1024, f
    # the newest alerts keep their files
    kept = {os.path.basename(e["evidence_files"]["pcap"]) for e in al[-len(pcaps):]}
    eq(kept, set(pcaps), "the newest alerts' files are the ones kept")
    n = 0
    for f in pcaps[:3]:
        n += len(tshark_pkts(os.path.join(d, f)))
    assert n > 0, "kept pcaps hold packets"
    assert c["pkts"] > 0 and c["streams"] > 0, c


@test
def evidence_bounds_per_flow_and_host():
    """evidence_flow_packets caps each flow, evidence_host_kb each alert's files; counted."""
    cap = os.path.join(EVD, "miner_tail.pcap")
    m = json.load(open(os.path.join(EVD, "miner_tail.json")))
    s, evs, d, _ = evidence_run(cap, "--set", "evidence_flow_packets=7", name="evflow")
    al = miner_alert(evs, m["host"])
    got = tshark_pkts(al["evidence_files"]["pcap"])
    eq(len(got), 7, "packets of the flow")
    c = ev_counters(s)
    eq(c["over_flow"], 307 - 7, "packets over the flow bound")
    s, evs, d, _ = evidence_run(cap, "--set", "evidence_host_kb=8", name="evhost")
    al = miner_alert(evs, m["host"])
    f = al["evidence_files"]
    size = os.path.getsize(f["pcap"]) + os.path.getsize(f["stream"])
    assert size <= 8192, size
    c = ev_counters(s)
    assert c["over_host"] > 0, c
    eq(len(tshark_pkts(f["pcap"])), c["pkts"], "pcap = packets counted")


@test
def evidence_dir_unusable():
    """evidence_dir that is a file, or cannot be created: a clear message naming the key, a
    counter, the run goes on (alerts without evidence_files)."""
    cap = os.path.join(DET, "stratum_v1.pcap")
    plain = os.path.join(TMP, "evidence-plain-file")
    open(plain, "w").close()
    for i, (path, why) in enumerate(((plain, "not a directory"), (os.path.join(plain, "sub"), "Not a directory"),
                                     ("/proc/sluice-evidence", "evidence_dir '/proc/sluice-evidence'"))):
        evp = os.path.join(TMP, "evbad-%d-%d.events" % (len(RESULTS), i))
        rc, s, se, _ = offline(cap, "-e", evp, "--set", "evidence_dir=" + path, name="evbad")
        eq(rc, 0, "exit code (%s)" % se[-300:])
        assert "evidence_dir" in se and why in se and "evidence packets off" in se, se
        eq(s["control"]["evidence_errors"], 1, "counted")
        al = [e for e in read_all_events(evp) if e["event_type"] == "alert"]
        assert al and all("evidence_files" not in e for e in al), al


@test
def evidence_disk_full():
    """evidence_dir on a 32 KiB tmpfs under a flood of alerts: writes fail, are counted and
    reported once on stderr; the run ends normally with every alert line written."""
    d = os.path.join(TMP, "evidence-full")
    os.makedirs(d, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32k", "tmpfs", d], capture_output=True, text=True)
    eq(r.returncode, 0, "mount a small tmpfs (root needed, as for the netns tests): %s" % r.stderr)
    try:
        evp = os.path.join(TMP, "evfull.events")
        rc, s, se, _ = offline(os.path.join(DET, "many_miners.pcap"), "-e", evp,
                               "--set", "evidence_dir=" + d, name="evfull")
        eq(rc, 0, "exit code (%s)" % se[-300:])
        c = ev_counters(s)
        assert c["errors"] > 0, c
        assert "No space left on device" in se and "evidence_errors" in se, se
        eq(len([e for e in read_all_events(evp) if e["event_type"] == "alert"]), 800, "alert lines")
    finally:
        subprocess.run(["umount", d])


@test
def evidence_metrics():
    """Live /metrics: sluice_evidence_total{counter=...} for every evidence counter, equal to
    the summary's; promtool accepts the page."""
    import re
    port = free_port()
    d = os.path.join(TMP, "evmetrics")
    out = os.path.join(TMP, "evmetrics.json")
    p = subprocess.Popen([SLUICE, "-l", "0-1", "--no-huge", "-m", "512", "--no-pci",
                          "--file-prefix=sl-evidence-%d" % os.getpid(), "--vdev",
                          "net_pcap0,rx_pcap=" + os.path.join(DATA, "demo.pcap"), "--", "-s", out, "-q",
                          "-e", os.devnull, "--set", "idle_polls=64", "--set", "metrics_port=%d" % port,
                          "--set", "metrics_interval_ms=200", "--set", "evidence_dir=" + d] + LIVE_SIZES,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    body = ""
    try:
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                st, _, body = http_get(port, "/metrics")
                if st == 200 and 'sluice_evidence_total{counter="files"} 1' in body:
                    break
            except OSError:
                pass
            time.sleep(0.2)
    finally:
        p.send_signal(signal.SIGINT)
        _, se = p.communicate(timeout=60)
    assert 'sluice_evidence_total{counter="files"} 1' in body, [l for l in body.splitlines() if "evidence" in l]
    got = dict(re.findall(r'^sluice_evidence_total\{counter="(\w+)"\} (\d+)$', body, re.M))
    s = json.load(open(out))
    eq(sorted(got), sorted(ev_counters(s)), "every evidence counter served")
    chk = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, text=True)
    eq(chk.returncode, 0, "promtool: %s" % (chk.stdout + chk.stderr)[-300:])


@test
def evidence_off_by_default_and_bad_keys():
    """No evidence_dir: no files, no field, counters 0. Bad keys: exit 2 naming the key."""
    evp = os.path.join(TMP, "evoff.events")
    rc, s, se, _ = offline(os.path.join(DET, "stratum_v1.pcap"), "-e", evp, name="evoff")
    eq(rc, 0, "exit code")
    al = [e for e in read_all_events(evp) if e["event_type"] == "alert"]
    assert al and all("evidence_files" not in e for e in al), al
    eq(sum(ev_counters(s).values()), 0, "counters")
    d = os.path.join(TMP, "evbadkeys")
    for extra, needle in ((["--set", "evidence_ring=100"], "evidence_ring"),
                          (["--set", "evidence_host_kb=2048", "--set", "evidence_max_kb=1024"], "evidence_host_kb")):
        rc, _, se, _ = offline(os.path.join(DET, "stratum_v1.pcap"), "--set", "evidence_dir=" + d, *extra, name="evbadkeys")
        eq(rc, 2, "exit code for %s (%s)" % (extra, se[-200:]))
        assert needle in se, se


passed = sum(1 for r in RESULTS if r[1])
failed = len(RESULTS) - passed
print("integration: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)

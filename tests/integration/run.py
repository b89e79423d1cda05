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
def offline_directory_over_4096_files():
    """A directory of 4200 captures is read whole, in name order (4096 were once read and the
    rest dropped silently, in readdir order)."""
    exp = json.load(open(os.path.join(DATA, "many_files.expect.json")))
    rc, s, se, _ = offline("many_files", "-w", "1", "--set", "summary_top_hosts=1")
    eq(rc, 0, "exit code (%s)" % se[-300:])
    eq(s["input"]["files_read"], exp["files"], "files read")
    eq(len(s["input"]["files"]), exp["files"], "files listed")
    eq(s["input"]["packets"], exp["packets"], "packets")
    eq(s["hosts"]["tracked"], exp["hosts"], "hosts (one per file)")
    names = [os.path.basename(f["path"]) for f in s["input"]["files"]]
    eq(names, sorted(names), "name order")
    eq(s["conservation"]["ok"], True, "conservation")


@test
def offline_absurd_lengths_bounded():
    """Original lengths of 0xffffffff, 0, below the captured length or past 512 KiB are
    replaced by the captured length and counted, in pcap and pcapng alike."""
    for cap, name in (("bad_lengths.pcap", "bad_lengths"), ("bad_lengths.pcapng",) * 2):
        exp = expect(name)
        rc, s, se, _ = offline(cap)
        eq(rc, 0, "%s: exit code (%s)" % (cap, se[-300:]))
        eq(s["input"]["packets"], exp["packets"], cap + ": packets")
        eq(s["input"]["bad_lengths"], exp["bad_lengths"], cap + ": bad_lengths")
        eq(s["input"]["bytes"], exp["bytes"], cap + ": input bytes")
        eq(s["totals"]["rx_bytes"], exp["bytes"], cap + ": bytes the workers counted")
        eq(s["input"]["snapped"], 0, cap + ": nothing counts as cut by snaplen")
        eq(s["conservation"]["ok"], True, cap + ": conservation")


def pcapng_interfaces(path):
    """Interface Description Blocks in a pcapng file (0 when it is not pcapng)."""
    import struct
    n = 0
    with open(path, "rb") as f:
        b = f.read()
    if b[:4] != b"\x0a\x0d\x0d\x0a":
        return 0
    off, bo = 0, "<"
    while off + 12 <= len(b):
        if b[off:off + 4] == b"\x0a\x0d\x0d\x0a":
            bo = "<" if b[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
        t, ln = struct.unpack_from(bo + "II", b, off)
        if ln < 12:
            break
        n += t == 1
        off += ln
    return n


def tshark_count(path):
    p = subprocess.run(["capinfos", "-c", "-M", path], capture_output=True, text=True)
    m = re.search(r"Number of packets:\s+(\d+)", p.stdout)
    assert m, "capinfos on %s: %s" % (path, p.stderr)
    return int(m.group(1))


@test
def offline_pcapng_mixed_interfaces():
    """Interfaces of different link types, snapshot lengths and time units, in two sections of
    either byte order: each packet is read by its own interface's link type (libpcap 1.10
    refuses the file). The traffic is linktypes/eth.pcap's: the same flows and host counts,
    bytes by each interface's own link header, the same first and last times."""
    exp = expect("pcapng/mixed.pcapng")
    _, ref, _, _ = offline("linktypes/eth.pcap")
    rc, s, se, _ = offline("pcapng/mixed.pcapng")
    eq(rc, 0, "exit code (%s)" % se[-300:])
    eq(s["input"]["packets"], exp["packets"], "packets")
    eq(s["input"]["bytes"], exp["bytes"], "bytes")
    eq(s["input"]["bad_records"], exp["bad_records"], "bad_records (unknown interface)")
    eq(s["input"]["read_errors"], 0, "read errors")
    for k in ("first_packet", "last_packet"):
        eq(s["input"][k], ref["input"][k], k)
    eq(s["totals"]["outcomes"]["handled"], ref["totals"]["outcomes"]["handled"], "handled")
    eq(s["totals"]["flows"]["created"], ref["totals"]["flows"]["created"], "flows")
    strip = lambda v: {ip: {k: h[k] for k in ("pkts_out", "pkts_in", "flows_opened",
                                               "external_peers")} for ip, h in v.items()}
    eq(strip(host_view(s)), strip(host_view(ref)), "hosts")
    eq(s["conservation"]["ok"], True, "conservation")
    ok = os.path.abspath(os.path.join(DATA, "pcapng/mixed_ok.pcapng"))
    rc, s, se, _ = offline(ok)
    eq(rc, 0, "exit code (%s)" % se[-300:])
    eq(s["input"]["packets"], tshark_count(ok), "packets, as capinfos counts them")


@test
def offline_pcapng_corpus_multi_interface():
    """The real multi-interface pcapng files of the shared corpus (read in place): sluice
    reads as many packets as capinfos."""
    corpus = os.environ.get("SL_CORPUS", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                      "../../../shared/corpus"))
    if not os.path.isdir(corpus):
        print("       (no corpus at %s: skipped)" % corpus)
        return
    files = [f for f in sorted(glob.glob(os.path.join(corpus, "*.pcapng")))
             if pcapng_interfaces(f) > 1]
    assert files, "no multi-interface pcapng in %s" % corpus
    for f in files:
        rc, s, se, _ = offline(f, name="corpus")
        eq(rc, 0, "%s: exit code (%s)" % (f, se[-300:]))
        eq(s["input"]["packets"], tshark_count(f), os.path.basename(f) + ": packets")
        eq(s["conservation"]["ok"], True, "conservation")


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
    # a worker table is never larger than the control table: one worker refuses what the
    # control core could not hold; two fill the control table from both sides
    rc, s, se, _ = offline("many_flows.pcap", "--set", "offline_host_capacity=100")
    assert s["workers"][0]["hosts"]["untracked_flows"] > 0, "worker table not capped at 100"
    eq(s["hosts"]["tracked"], 100, "control table holds its capacity")
    eq(s["conservation"]["ok"], True, "conservation")
    rc, s, se, _ = offline("many_flows.pcap", "-w", "2", "--set", "offline_host_capacity=100")
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
EV_KEYS = ("detector", "src_ip", "src_port", "dest_ip", "dest_port", "proto", "host")
EV_FIELDS = ("timestamp", "event_type", "flow_id", "src_ip", "src_port", "dest_ip", "dest_port",
             "proto", "host", "detector", "protocol", "weight", "direction", "evidence")


def read_all_events(path):
    evs = []
    with open(path) as f:
        for line in f:
            if line.strip():
                evs.append(json.loads(line))
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


# ------------------------------------------------------------------ scoring (lib/score)

BEH = os.path.abspath(os.path.join(DATA, "behave"))


def iso_to_s(ts):
    import datetime
    return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def behave_manifest():
    path = os.path.join(BEH, "manifest.json")
    return json.load(open(path)) if os.path.exists(path) else []


def check_alert_line(a):
    """An alert carries its explanation: every reason with its kind, points and evidence."""
    for k in ("timestamp", "event_type", "host", "score", "level", "threshold", "explanation"):
        assert k in a, "alert lacks %s: %r" % (k, a)
    ex = a["explanation"]
    assert ex["host"] == a["host"] and ex["reasons"], a
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
                alerts.setdefault(e["host"], e)
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
        al = sorted((e["timestamp"], e["host"], e["score"]) for e in allev
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
        al = [(e["timestamp"], e["event_type"], e["host"], e["score"], e["level"]) for e in allev
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
    eq([(e["host"], e["level"]) for e in ups], [("192.168.1.66", "block")], "level changes up")
    al = [e for e in allev if e["event_type"] == "alert"]
    eq(len(al), 1, "one alert")
    check_alert_line(al[0])
    eq(al[0]["explanation"]["reasons"][0]["signal"], "dpi", "strongest reason")
    st = [e for e in allev if e["event_type"] == "stats"]
    eq(len(st), 1, "a final stats line offline")
    eq(st[0]["stats"]["detections"], 7, "stats detections")
    eq(st[0]["stats"]["scoring"]["alerts"], 1, "stats alerts")


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
    hosts = {e["host"] for e in evs}
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
        eq(e["host"], inside, "judged host of %s -> %s" % (e["src_ip"], e["dest_ip"]))
    inbound = [e for e in b if e["src_ip"] == "198.51.100.9"]
    eq(len(inbound), 1, "the inbound flow")
    eq(inbound[0]["host"], "10.20.0.9", "inbound flow: the inside responder is judged")

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
    eq([(b["host"], b["peer"], b["dest_port"], b["backend"]) for b in blocks],
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
    eq([(e["host"], e["backend"]) for e in read_all_events(evp) if e["event_type"] == "block"],
       [("192.168.1.66", "soft")], "one block")


@test
def inline_allowlisted_and_dry_run_never_drop():
    rc, s, evs, out, se = inline_run("demo.pcap", "--set", "mode=inline",
                                     "--set", "block_allowlist=192.168.1.0/28 192.168.1.64/30",
                                     name="inline-allow")
    eq(rc, 0, "exit code (%s)" % se[-300:])
    eq(out, 307, "every frame forwarded")
    ref = [e for e in evs if e["event_type"] == "block_refused"]
    eq([(e["host"], e["refusal"]) for e in ref], [("192.168.1.66", "allowlisted")], "refusals")
    eq([e for e in evs if e["event_type"] == "block"], [], "no block")
    rc, s, evs, out, se = inline_run("demo.pcap", "--set", "mode=dry_run", name="inline-dry")
    eq(rc, 0, "exit code (%s)" % se[-300:])
    eq(out, 307, "dry run: every frame forwarded")
    eq([(e["host"], e["backend"]) for e in evs if e["event_type"] == "block"],
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
def flood_hides_no_miner():
    """A Stratum miner that starts 30 s into a flood of 300 k spoofed sources (one SYN, one
    flow, one host each) is still tracked exactly and alerted: the worker host table lets go
    of idle flows' slots (reclaims, detached) instead of refusing hosts (untracked_flows was
    166 k of 300 k, and the miner's host was never tracked)."""
    exp = expect("flood_miner")
    for workers in ("1", "2"):
        rc, s, se, evs = offline_events("flood_miner.pcap", "-w", workers, every=True,
                                        name="flood%s" % workers)
        eq(rc, 0, "exit code (%s)" % se[-300:])
        eq(s["input"]["packets"], exp["packets"], "packets")
        hs = [w["hosts"] for w in s["workers"]]
        eq(sum(h["untracked_flows"] for h in hs), 0, "untracked flows (%d workers)" % len(hs))
        assert sum(h["reclaims"] for h in hs) > 0 and sum(h["detached"] for h in hs) > 0, hs
        got = hosts_of(s).get(exp["miner"])
        assert got is not None, "miner %s not in the host table" % exp["miner"]
        for k in ("pkts_out", "pkts_in", "bytes_out", "bytes_in", "flows_opened"):
            eq(got[k], exp["miner_host"][k], "miner " + k)
        alerts = [e for e in evs if e["event_type"] == "alert"]
        eq({e["host"] for e in alerts}, {exp["miner"]}, "alerted hosts")
        eq(s["conservation"]["ok"], True, "conservation")


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
    kinds = [(e["event_type"], e["host"], e.get("why") or e.get("refusal") or "") for e in evs
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


def overload_run(name, *extra, secs=3):
    """The detection captures replayed in a loop (infinite_rx) into one worker whose ring holds 64 records,
    for @secs: the control core cannot take everything. (summary, events, stderr)"""
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
    s, evs, _ = overload_run("overload-agg", "--set", "event_dedup_s=3600")
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


passed = sum(1 for r in RESULTS if r[1])
failed = len(RESULTS) - passed
print("integration: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)

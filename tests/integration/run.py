#!/usr/bin/python3
"""run.py: integration tests. Runs the real sluice binary offline (-r) and live (EAL with
net_pcap vdevs) on the captures tests/gen/gen.py made, and checks the summary JSON against
the expected counts written beside each capture, plus exit codes and messages for bad input.

usage: run.py SLUICE DATADIR   (prints one line per test, then 'N passed, M failed')
       SL_IT_ONLY=REGEX run.py ...  runs only the tests whose names it finds
With a SLUICE built with the address and undefined-behaviour sanitizers, a test after which
a sanitizer report appears fails and shows it.
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
# A binary built with -Db_sanitize=address,undefined: ASan writes its reports into SAN
# (every child inherits these options), UBSan (which ignores log_path) to stderr, caught by
# run() below; a test after which a report appears fails with it. Both stop at the first
# finding with status 86, which no test expects, so a report in a run whose stderr a test
# does not look at still fails it.
SAN_STDERR = []
SAN = os.path.join(TMP, "sanitizer")
os.makedirs(SAN)
os.environ["ASAN_OPTIONS"] = "detect_leaks=0:exitcode=86:log_path=%s/asan" % SAN
os.environ["UBSAN_OPTIONS"] = ("halt_on_error=1:print_stacktrace=1:exitcode=86:"
                               "log_path=%s/ubsan" % SAN)
RESULTS = []
QUIET = ["--set", "idle_polls=64"]
# live defaults are sized for an appliance (1 M flows); tests run in 512 MB without hugepages
LIVE_SIZES = ["--set", "flow_capacity=65536", "--set", "payload_buffers=4096",
              "--set", "host_capacity=65536"]
LIVE_SMALL = LIVE_SIZES + ["--set", "metrics_port=0"]  # most tests need no /metrics


def run(args, timeout=120):
    p = subprocess.run([SLUICE] + args, capture_output=True, text=True, timeout=timeout)
    if "runtime error:" in p.stderr or "Sanitizer" in p.stderr:
        SAN_STDERR.append(p.stderr)
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
    seen = set(os.listdir(SAN))
    t0 = time.time()
    try:
        fn()
        err = None
    except AssertionError as e:
        err = str(e)
    except Exception as e:  # a crash of the harness is a failure too
        err = repr(e)
    reports = sorted(set(os.listdir(SAN)) - seen)
    if reports:
        with open(os.path.join(SAN, reports[0])) as f:
            err = "sanitizer report %s (%s): %s" % (reports[0], err or "test passed",
                                                   f.read()[:3000])
    elif SAN_STDERR:
        err = "sanitizer report on stderr (%s): %s" % (err or "test passed", SAN_STDERR[0][-3000:])
    del SAN_STDERR[:]
    RESULTS.append((name, err is None, err or ""))
    if err is None:
        print("ok     %s%s" % (name, "  (%.1f s)" % (time.time() - t0)
                               if os.environ.get("SL_IT_TIMES") else ""), flush=True)
    else:
        print("FAIL   %s: %s" % (name, err), flush=True)
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
def offline_capture_without_hosts():
    """A capture with no IP packet: no hosts, a summary and the report all the same (under the
    sanitizers this ran qsort(NULL, 0), undefined)."""
    import struct
    frame = b"\xff" * 6 + b"\x00\x11\x22\x33\x44\x55\x08\x06" + b"\x00" * 28
    path = os.path.join(TMP, "nohosts.pcap")
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        f.write(struct.pack("<IIII", 1000, 0, len(frame), len(frame)) + frame)
    out = os.path.join(TMP, "nohosts.json")
    rc, so, se = run(["-r", path, "-s", out, "-e", "/dev/null"])  # the human report too
    eq(rc, 0, "exit code (%s)" % se[-300:])
    s = json.load(open(out))
    eq(s["hosts"]["tracked"], 0, "hosts")
    eq(s["hosts"]["top"], [], "top hosts")
    eq(s["totals"]["rx_packets"], 1, "packets")
    eq(s["conservation"]["ok"], True, "conservation")


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
def long_set_value_is_not_cut():
    """A --set value of any length is taken whole: a home_nets of 5 KB ending in
    192.168.0.0/16 must not become 192.168.0.0/1 (outside hosts judged as inside)."""
    filler = ", ".join("203.0.113.%d/32" % (i % 256) for i in range(250))
    val = filler + ", 192.168.0.0/16"
    assert len(val) > 4096, len(val)
    rc, s, se, _ = offline("demo.pcap", "--set", "home_nets=" + val,
                           "--set", "summary_top_hosts=100", name="long_home_nets")
    eq(rc, 0, "exit code (%s)" % se[-300:])
    _, ref, _, _ = offline("demo.pcap", "--set", "home_nets=192.168.0.0/16",
                           "--set", "summary_top_hosts=100", name="short_home_nets")
    _, cut, _, _ = offline("demo.pcap", "--set", "home_nets=192.168.0.0/1",
                           "--set", "summary_top_hosts=100", name="cut_home_nets")
    got = sorted(h["ip"] for h in s["hosts"]["top"])
    eq(got, sorted(h["ip"] for h in ref["hosts"]["top"]), "hosts with the long home_nets")
    assert got != sorted(h["ip"] for h in cut["hosts"]["top"]), "the capture cannot tell a cut list"
    assert all(ip.startswith("192.168.") for ip in got), got
    # one CIDR too many is refused by count, naming the key; a token too long is named
    bad(["-r", os.path.join(DATA, "basic.pcap"), "--set",
         "home_nets=" + ",".join("10.0.%d.0/24" % i for i in range(257))], 2,
        "--set home_nets: home_nets: more than 256 CIDRs")
    bad(["-r", os.path.join(DATA, "basic.pcap"), "--set", "home_nets=10.0.0.0/8," + "1" * 3000],
        2, "home_nets: '111")


def conf_error(text, line, needle, extra=(), binary=False):
    cfg = os.path.join(TMP, "err.conf")
    with open(cfg, "wb" if binary else "w") as f:
        f.write(text)
    rc, so, se = run(["-r", os.path.join(DATA, "basic.pcap"), "-q", "-c", cfg] + list(extra))
    want = "%s:%d: %s" % (cfg, line, needle)
    assert rc == 2 and want in se, "%r: exit %d, stderr lacks %r: %s" % (text[:60], rc, want,
                                                                     se[-300:])


@test
def config_errors_name_key_and_line():
    """Every bad value, of numeric and text keys alike, exits 2 naming file:line and the key;
    a key given twice names both lines; a NUL byte is said so; lists are checked at start."""
    pre = "# sluice\nworkers = 1\n"  # the bad line is line 3
    cases = [
        ("mode = bogus\n", "mode: 'bogus' is not one of monitor|inline|dry_run"),
        ("mode = \n", "mode:"),
        ("mode = INLINE\n", "mode:"),
        ("block_scope = everything\n", "block_scope: 'everything'"),
        ("block_scope = \n", "block_scope:"),
        ("block_backend = fpga\n", "block_backend: 'fpga'"),
        ("block_backend = nic,soft\n", "block_backend:"),
        ("block_allowlist = 10.0.0.0/33\n", "block_allowlist: '10.0.0.0/33' is not a CIDR"),
        ("block_allowlist = 10.0.0.0/8 bogus\n", "block_allowlist: 'bogus'"),
        ("block_allowlist = " + ", ".join("10.%d.0.0/16" % i for i in range(257)) + "\n",
         "block_allowlist: more than 256 CIDRs"),
        ("score_beh_service_ports = 22,x\n", "score_beh_service_ports: bad port at 'x'"),
        ("score_beh_service_ports = 0\n", "score_beh_service_ports: bad port"),
        ("score_beh_service_ports = 70000\n", "score_beh_service_ports: bad port"),
        ("score_beh_pool_ports = 3333;4444\n", "score_beh_pool_ports: bad port"),
        ("score_beh_pool_ports = " + ",".join(str(p) for p in range(1, 40)) + "\n",
         "score_beh_pool_ports: more than 32 ports"),
        ("metrics_bind = 127.0.0.256\n", "metrics_bind: '127.0.0.256' is not an IPv4 or IPv6"),
        ("metrics_bind = localhost\n", "metrics_bind: 'localhost'"),
        ("pools_domains = /nonexistent/pools.domains\n",
         "pools_domains: /nonexistent/pools.domains: No such file"),
        ("pools_ips = /nonexistent/pools.ips\n", "pools_ips: /nonexistent/pools.ips: No such"),
        ("detectors = /nonexistent/det\n", "detectors: /nonexistent/det: No such file"),
        ("detectors = /\n", "detectors: /: Is a directory"),
        ("pools_domains = /" + "p" * 5000 + "\n", "pools_domains: value of 5001 bytes"),
        ("udp_timeout = abc\n", "udp_timeout: 'abc' is not a non-negative integer"),
        ("udp_timeout = 0\n", "udp_timeout: 0 is out of range"),
        ("home_nets = 10.0.0.0/8, 300.1.2.3/8\n", "home_nets: '300.1.2.3/8'"),
        ("frobnicate = 1\n", "unknown key 'frobnicate'"),
        ("udp_timeout 30\n", "expected 'key = value'"),
        ("report_ring_size = 1000\n", "report_ring_size: 1000 is not a power of two"),
    ]
    for text, needle in cases:
        conf_error(pre + text, 3, needle)
    # a key set twice: an error on the second line naming both
    conf_error("mode = monitor\n# x\nudp_timeout = 5\nmode = inline\n", 4,
               "mode is set twice, on lines 1 and 4")
    conf_error("udp_timeout = 5\nudp_timeout = 5\n", 2, "udp_timeout is set twice")
    # a NUL byte is not "line too long"
    conf_error(b"workers = 1\nudp_timeout = 3\x000\n", 2, "NUL byte at column 16", binary=True)
    # cross-key: both keys and where each was set
    conf_error("score_alert = 70\nscore_block = 65\n", 2, "score_block (65) is below score_alert (70, ")
    conf_error("block_ttl_s = 100\n\nblock_ttl_max_s = 10\n", 3,
               "block_ttl_max_s (10) is below block_ttl_s (100, ")
    # a bad list's line is named with the key and where the key was set
    lst = os.path.join(TMP, "bad2.domains")
    with open(lst, "w") as f:
        f.write("nanopool.org\nnot a domain!\n")
    conf_error("# x\n\npools_domains = %s\n" % lst, 3, "pools_domains: %s:2: " % lst)
    # a long line is taken whole (no "line too long")
    with open(os.path.join(TMP, "ok.conf"), "w") as f:
        f.write("# " + "c" * 10000 + "\nhome_nets = " + ", " * 3000 + "10.0.0.0/24\n")
    rc, s, se, _ = offline("basic.pcap", "-c", os.path.join(TMP, "ok.conf"))
    eq(rc, 0, "exit code with 10 KB lines (%s)" % se[-300:])
    eq(s["hosts"]["judged"], "home_nets", "home_nets read from a 6 KB line")
    # --set errors name the option; --set may override the file and an earlier --set
    bad(["-r", os.path.join(DATA, "basic.pcap"), "--set", "mode=bogus"], 2,
        "--set mode: mode: 'bogus' is not one of")
    bad(["-r", os.path.join(DATA, "basic.pcap"), "--set", "score_block=50"], 2,
        "--set: score_block (50) is below score_alert (60, default)")
    rc, s, se, _ = offline("basic.pcap", "--set", "udp_timeout=5", "--set", "udp_timeout=6")
    eq(rc, 0, "a key given twice with --set: the last wins (%s)" % se[-300:])


@test
def metrics_bind_checked_offline_and_live():
    """A bad metrics_bind is a config error (exit 2) offline and live, before anything runs."""
    bad(["-r", os.path.join(DATA, "basic.pcap"), "--set", "metrics_bind=999.1.1.1"], 2,
        "metrics_bind: '999.1.1.1' is not an IPv4 or IPv6 address")
    rc, s, se = live(["net_pcap0,rx_pcap=%s" % os.path.join(DATA, "basic.pcap")],
                     "--set", "metrics_bind=999.1.1.1")
    eq(rc, 2, "live exit code (%s)" % se[-300:])
    assert "metrics_bind: '999.1.1.1'" in se, se[-300:]


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
                # every line of an ordinary run; past 3000 lines (overload runs) every 97th and
                # every line that is not a detection
                if n <= 3000 or n % 97 == 0 or e.get("event_type") != "detection":
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
def long_paths_are_taken():
    """A list path of about 2 KB (nested directories) works from --set and from a config
    file (relative to the file's directory); one longer than PATH_MAX is refused, named."""
    d = os.path.join(TMP, "long")
    rel = os.path.join(*(["d" * 200] * 10))
    os.makedirs(os.path.join(d, rel), exist_ok=True)
    src = os.path.join(os.path.dirname(__file__), "..", "..", "config", "pools.domains")
    lst = os.path.join(d, rel, "pools.domains")
    with open(src) as f, open(lst, "w") as g:
        g.write(f.read())
    assert len(lst) > 2000
    ent = first_positive()
    cap = os.path.join(DET, ent["pcap"])
    _, _, _, ref = offline_events(cap, *set_args(ent.get("set", {})), name="path_ref")
    assert ref, "no events to compare"
    rc, so, se = run(["-r", cap, "-q", "-e", os.path.join(TMP, "path_set.json"),
                      "--set", "pools_domains=" + lst] + set_args(ent.get("set", {})))
    eq(rc, 0, "exit code with a 2 KB pools_domains (%s)" % se[-300:])
    eq(ev_multiset(read_events(os.path.join(TMP, "path_set.json"))), ev_multiset(ref),
       "events with the long path")
    conf = os.path.join(d, "long.conf")
    with open(conf, "w") as f:
        f.write("pools_domains = %s/pools.domains\n" % rel)
    rc, so, se = run(["-r", cap, "-q", "-e", "/dev/null", "-c", conf])
    eq(rc, 0, "exit code with a relative 2 KB path in a config file (%s)" % se[-300:])
    bad(["-r", cap, "--set", "pools_domains=/" + "x" * 5000], 2,
        "--set pools_domains: pools_domains: value of 5001 bytes is longer than the 4095")


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
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: os.umask(0o022))
    try:
        time.sleep(2.5)
        assert os.path.exists(evp), "events file not created"
        os.rename(evp, evp + ".1")
        p.send_signal(signal.SIGHUP)
        time.sleep(1)
        assert os.path.exists(evp), "events file not reopened after SIGHUP"
        eq(oct(os.stat(evp).st_mode & 0o777), "0o640", "mode of the reopened events file")
    finally:
        p.send_signal(signal.SIGINT)
        _, se = p.communicate(timeout=30)
    eq(p.returncode, 0, "exit code (%s)" % se[-300:])
    eq(oct(os.stat(out).st_mode & 0o777), "0o640", "mode of the live summary")


@test
def outputs_naming_hosts_are_0640():
    """events.json and summary.json name hosts and flows: created 0640 under umask 022 (not
    0644), offline and live; an existing file keeps its mode."""
    evp = os.path.join(TMP, "mode.events")
    out = os.path.join(TMP, "mode.json")
    for f in (evp, out):
        if os.path.exists(f):
            os.unlink(f)
    p = subprocess.run([SLUICE, "-r", os.path.join(DATA, "demo.pcap"), "-q", "-e", evp,
                        "-s", out], capture_output=True, text=True, timeout=120,
                       preexec_fn=lambda: os.umask(0o022))
    eq(p.returncode, 0, "exit code (%s)" % p.stderr[-300:])
    assert os.path.getsize(evp) > 0 and os.path.getsize(out) > 0, "outputs empty"
    eq(oct(os.stat(evp).st_mode & 0o777), "0o640", "events file mode")
    eq(oct(os.stat(out).st_mode & 0o777), "0o640", "summary file mode")
    # a stricter umask is honoured too; an existing file is not touched
    os.unlink(out)
    p = subprocess.run([SLUICE, "-r", os.path.join(DATA, "basic.pcap"), "-q", "-e", evp,
                        "-s", out], capture_output=True, text=True, timeout=120,
                       preexec_fn=lambda: os.umask(0o077))
    eq(p.returncode, 0, "exit code (%s)" % p.stderr[-300:])
    eq(oct(os.stat(out).st_mode & 0o777), "0o600", "summary under umask 077")
    eq(oct(os.stat(evp).st_mode & 0o777), "0o640", "events file appended to")


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


class SlowClients:
    """@n clients that each send one byte of an endless request head every @gap seconds
    (slowloris), from the given source addresses, reconnecting whenever sluice closes one.
    Counts connections made, those closed after being held (cut) and those closed at once
    (refused: a limit)."""

    def __init__(self, port, sources, gap=2.0):
        import threading
        self.port, self.sources, self.gap = port, sources, gap
        self.stop = False
        self.made = self.cut = self.refused = 0
        self.socks = [None] * len(sources)
        self.born = [0.0] * len(sources)
        self.sent = [0] * len(sources)
        self.lock = threading.Lock()
        self.th = threading.Thread(target=self.loop, daemon=True)

    def connect(self, i):
        import socket
        sk = socket.socket()
        sk.settimeout(2)
        try:
            sk.bind((self.sources[i], 0))
            sk.connect(("127.0.0.1", self.port))
        except OSError:
            sk.close()
            self.refused += 1
            return
        sk.setblocking(False)
        self.socks[i], self.born[i], self.sent[i] = sk, time.time(), 0
        self.made += 1

    def alive(self, src=None):
        """Connections open now (a closed one reads end of file), from @src or all."""
        n = 0
        with self.lock:
            for i, sk in enumerate(self.socks):
                if sk is None or (src is not None and self.sources[i] != src):
                    continue
                try:
                    if sk.recv(1) == b"":
                        continue
                except BlockingIOError:
                    pass
                except OSError:
                    continue
                n += 1
        return n

    def loop(self):
        head = b"GET /metrics HTTP/1.1\r\nHost: sluice\r\n"
        for i in range(len(self.sources)):
            self.connect(i)
        while not self.stop:
            t0 = time.time()
            self.lock.acquire()
            for i, sk in enumerate(self.socks):
                if self.stop:
                    break
                if sk is None:
                    self.connect(i)
                    continue
                try:
                    if sk.recv(1) == b"":
                        raise OSError("closed")
                except BlockingIOError:
                    pass
                except OSError:
                    sk.close()
                    self.socks[i] = None
                    if time.time() - self.born[i] > 1.0:
                        self.cut += 1
                    else:
                        self.refused += 1
                    continue
                n = self.sent[i]
                b = head[n:n + 1] if n < len(head) else b"X-Slow-%d: y\r\n" % n
                try:
                    sk.send(b[:1] if n < len(head) else b)
                    self.sent[i] += 1
                except OSError:
                    pass  # found closed on the next pass
            self.lock.release()
            time.sleep(max(0.0, self.gap - (time.time() - t0)))
        for sk in self.socks:
            if sk is not None:
                sk.close()


@test
def metrics_survives_slow_clients():
    """200 clients that send one header byte every 2 s (100 from one address, 100 from 100
    others) hold what the limits let them: a scraper at its own address still gets 20 of 20
    scrapes within 2 s each; one address holds at most metrics_per_ip_connections; held
    connections are cut at metrics_request_timeout_s and counted."""
    port = free_port()
    prefix = "sl-slow-%d" % os.getpid()
    p = subprocess.Popen([SLUICE, "-l", "0-1", "--no-huge", "-m", "512", "--no-pci",
                          "--file-prefix=" + prefix, "--vdev", "net_null0", "--", "-q",
                          "-e", os.devnull, "--set", "idle_polls=64",
                          "--set", "metrics_port=%d" % port, "--set", "metrics_interval_ms=200",
                          "--set", "metrics_request_timeout_s=4"] + LIVE_SIZES,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    slow = None
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if http_get(port, "/metrics")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        sources = ["127.0.0.2"] * 100 + ["127.0.1.%d" % i for i in range(1, 101)]
        slow = SlowClients(port, sources)
        slow.th.start()
        time.sleep(3)  # every slow client connected and trickling
        held_one = slow.alive("127.0.0.2")
        assert slow.alive() >= 90, "slow clients holding: %d (made %d)" % (slow.alive(), slow.made)
        ok, worst = 0, 0.0
        for _ in range(20):
            t0 = time.time()
            try:
                st, _, body = http_get(port, "/metrics")
                if st == 200 and "sluice_render_seconds" in body and time.time() - t0 < 2.0:
                    ok += 1
            except OSError:
                pass
            worst = max(worst, time.time() - t0)
            time.sleep(0.2)
        eq(ok, 20, "scrapes answered within 2 s while %d slow clients held connections (slowest "
           "%.2f s)" % (slow.alive(), worst))
        assert held_one <= 4, "one address held %d connections (per-address limit 4)" % held_one
        time.sleep(3)  # past the 4 s deadline of the first connections
        st, _, body = http_get(port, "/metrics")
        m = re.search(r"^sluice_metrics_requests_cut_total (\d+)$", body, re.M)
        assert m and int(m.group(1)) >= 50, "cut: %r" % (m and m.group(0))
        assert slow.cut >= 50, "slow clients cut: %d" % slow.cut
    finally:
        if slow is not None:
            slow.stop = True
            slow.th.join(10)
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
        eq({e["judged_host"] for e in alerts}, {exp["miner"]}, "alerted hosts")
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
        # targets no rule can mean: refused with the reason, never listed
        for cmd, why in (("0.0.0.0", "host 0.0.0.0 is an unspecified address"),
                         ("::", "host :: is the unspecified address"),
                         ("255.255.255.255", "host 255.255.255.255 is the broadcast address"),
                         ("224.0.0.1", "host 224.0.0.1 is a multicast address"),
                         ("ff02::1", "host ff02::1 is a multicast address"),
                         ("10.1.2.5,224.0.0.251,5353,udp", "peer 224.0.0.251 is a multicast"),
                         ("10.1.2.5,0.0.0.0,3333", "peer 0.0.0.0 is an unspecified"),
                         ("10.1.2.5,2001:db8::1,3333", "different address families"),
                         ("2001:db8::5,198.51.100.9,3333", "different address families")):
            r = t("/sluice/block," + cmd)
            eq(r.get("status") if r else r, "refused", "block %s" % cmd)
            assert why in r.get("reason", ""), "block %s: reason %r" % (cmd, r)
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
        r = subprocess.run([ctl, "-p", prefix, "block", "224.0.0.1"], capture_output=True,
                           text=True)
        eq((r.returncode, json.loads(r.stdout)["status"]), (1, "refused"), "sluice-ctl multicast")
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


def offline_leftovers(pid, since):
    """Runtime directories of process @pid made since @since (an older one is another
    process's that had the same pid: the prefix also carries the start time in us)."""
    return [d for d in glob.glob("/var/run/dpdk/sluice-%d-*" % pid)
            if int(d.rsplit("-", 1)[1]) >= int(since * 1e6) - 10 ** 6]


@test
def runtime_directory_left_behind_by_nobody():
    """Offline leaves no /var/run/dpdk/sluice-* directory, whatever the exit status; live
    removes its runtime directory (config, fbarray_*, sockets) at a clean exit, and a second
    primary that cannot start on the same prefix leaves the first one's files alone."""
    for args, code in (([os.path.join(DATA, "basic.pcap")], 0),
                       ([os.path.join(DATA, "demo.pcap"), "-w", "2"], 0),
                       ([os.path.join(DATA, "truncated.pcap")], 1),
                       ([os.path.join(DATA, "demo.pcap"), "--set",
                         "pools_domains=" + os.path.join(TMP, "bad2.domains")], 2)):
        with open(os.path.join(TMP, "bad2.domains"), "w") as f:
            f.write("not a domain!\n")
        t0 = time.time()
        p = subprocess.Popen([SLUICE, "-r"] + args + ["-q", "-e", "/dev/null"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _, se = p.communicate(timeout=120)
        eq(p.returncode, code, "exit code of %r (%s)" % (args, se[-300:]))
        eq(offline_leftovers(p.pid, t0), [], "offline runtime directory of %r" % args)
    # live, stopped by SIGINT with its telemetry socket up (config, fbarray_*, sockets)
    prefix = "sl-rtdir-%d" % os.getpid()
    d = "/var/run/dpdk/" + prefix
    p = subprocess.Popen([SLUICE, "-l", "0-1", "--no-huge", "-m", "512", "--no-pci",
                          "--file-prefix=" + prefix, "--vdev", "net_null0", "--", "-q",
                          "-e", "/dev/null"] + LIVE_SMALL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(150):
            if os.path.exists(d + "/dpdk_telemetry.v2"):
                break
            time.sleep(0.1)
        time.sleep(0.5)
        files = sorted(os.listdir(d))
        assert "config" in files and any(f.startswith("fbarray_") for f in files), files
        # a second primary on the same prefix is refused by EAL and must not touch the files
        r = subprocess.run([SLUICE, "-l", "0-1", "--no-huge", "-m", "256", "--no-pci",
                            "--file-prefix=" + prefix, "--vdev", "net_null0", "--", "-q"] +
                           LIVE_SMALL, capture_output=True, text=True, timeout=60)
        assert r.returncode != 0, "a second primary on %s started" % prefix
        eq(sorted(os.listdir(d)), files, "the first primary's files after the second failed")
    finally:
        p.send_signal(signal.SIGINT)
        _, se = p.communicate(timeout=30)
    eq(p.returncode, 0, "live exit code (%s)" % se[-300:])
    assert not os.path.exists(d), "left behind: %s %r" % (d, os.listdir(d))
    # live with --no-shconf, stopped by exit_idle_ms
    rc, s, se = live(["net_pcap0,rx_pcap=%s" % os.path.join(DATA, "basic.pcap")])
    eq(rc, 0, "live exit code (%s)" % se[-300:])
    left = glob.glob("/var/run/dpdk/sl-it-%d-%d" % (os.getpid(), len(RESULTS)))
    eq(left, [], "live runtime directory after exit_idle_ms")


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

# ---- the active probe (lib/probe): scripted servers in a network namespace ----

PROBE_NS = "probe-srv"
PROBE_H, PROBE_S = "probe-h", "probe-s"
PROBE_ME, PROBE_SRV = "10.199.7.1", "10.199.7.2"
PROBE_TOOL = os.path.join(os.path.dirname(os.path.abspath(SLUICE)), "..", "..", "tests", "bench",
                          "sluice-probe")
PROBE_SERVERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pool_servers.py")
# mode, port, tls
PROBE_SPECS = [("stratum", 3333, False), ("xmrig", 3334, False), ("eth", 8008, False),
               ("sv2", 34254, False), ("sv2_noise", 34255, False),
               ("stratum", 14433, True), ("xmrig", 14444, True), ("eth", 18008, True),
               ("sv2", 34256, True),
               ("http", 443, True), ("http", 80, False), ("ssh", 22, False),
               ("silent", 5555, False), ("reset", 6666, False), ("trickle", 7777, False),
               ("echo", 9999, False)]


def sh(*cmd, check=True):
    p = subprocess.run(list(cmd), capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError("%s: %s" % (" ".join(cmd), p.stderr.strip()))
    return p


PROBE_SENS = "probe-sens"


class ProbeNet:
    """A namespace with the scripted servers on PROBE_SRV, reached over a veth pair whose
    other end (PROBE_H, PROBE_ME) is in the root namespace (sluice may watch it with
    net_af_packet) or, with sensor_ns, in a namespace of its own routed through the servers'
    one (so probes of any address stay on this machine). extra: (address, [specs]) served
    too."""

    def __init__(self, sensor_ns=False, extra=None):
        self.sensor_ns, self.extra = sensor_ns, extra

    def __enter__(self):
        self.srv, self.more = None, None
        self.down()
        sh("ip", "netns", "add", PROBE_NS)
        sh("ip", "link", "add", PROBE_H, "type", "veth", "peer", "name", PROBE_S)
        sh("ip", "link", "set", PROBE_S, "netns", PROBE_NS)
        me = []
        if self.sensor_ns:
            sh("ip", "netns", "add", PROBE_SENS)
            sh("ip", "link", "set", PROBE_H, "netns", PROBE_SENS)
            me = ["ip", "netns", "exec", PROBE_SENS]
            sh(*me, "ip", "link", "set", "lo", "up")
        sh(*me, "ip", "addr", "add", PROBE_ME + "/24", "dev", PROBE_H)
        sh(*me, "ip", "link", "set", PROBE_H, "up")
        if self.sensor_ns:
            sh(*me, "ip", "route", "add", "default", "via", PROBE_SRV)
        for c in (["ip", "addr", "add", PROBE_SRV + "/24", "dev", PROBE_S],
                  ["ip", "link", "set", PROBE_S, "up"], ["ip", "link", "set", "lo", "up"]):
            sh("ip", "netns", "exec", PROBE_NS, *c)
        # whole frames as the wire has them (no partial checksums, no GSO super-frames)
        sh("ethtool", "-K", PROBE_H, "tx", "off", "tso", "off", "gso", "off", "gro", "off",
           check=False)
        d = tempfile.mkdtemp(prefix="probe-", dir=TMP)
        self.cert, self.key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", self.key,
           "-out", self.cert, "-days", "1", "-subj", "/CN=pool.invalid")
        specs = ["%s:%d%s" % (m, p, ":tls" if t else "") for m, p, t in PROBE_SPECS]
        self.srv = subprocess.Popen(["ip", "netns", "exec", PROBE_NS, "/usr/bin/python3",
                                     PROBE_SERVERS, "--cert", self.cert, "--key", self.key,
                                     PROBE_SRV] + specs,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.srv.stdout.readline().strip() == "ready", "scripted servers did not start"
        if self.extra:
            addr, specs = self.extra
            sh("ip", "netns", "exec", PROBE_NS, "ip", "addr", "add", addr + "/32", "dev", "lo")
            self.more = subprocess.Popen(["ip", "netns", "exec", PROBE_NS, "/usr/bin/python3",
                                          PROBE_SERVERS, "--cert", self.cert, "--key", self.key,
                                          addr] + specs, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True)
            assert self.more.stdout.readline().strip() == "ready", "extra servers did not start"
        time.sleep(0.3)
        return self

    def down(self):
        for p in (self.srv, self.more):
            if p is not None:
                p.kill()
                p.wait()
        self.srv = self.more = None
        sh("ip", "netns", "del", PROBE_NS, check=False)
        sh("ip", "netns", "del", PROBE_SENS, check=False)
        sh("ip", "link", "del", PROBE_H, check=False)

    def __exit__(self, *a):
        self.down()


def probe_tool(ip, port, *opts):
    p = subprocess.run([PROBE_TOOL, "-t", "600", "-b", "150"] + list(opts) + [ip, str(port)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, "sluice-probe %s %d: %s" % (ip, port, p.stderr)
    return json.loads(p.stdout)


@test
def probe_confirms_scripted_pools():
    """Stratum v1, XMRig-style, eth-proxy and SV2 servers, in cleartext and behind TLS (a
    self-signed certificate made now), and a Noise SV2 responder: each is a pool, with the
    right protocol, inside TLS where it is."""
    with ProbeNet():
        for mode, port, tls in PROBE_SPECS[:9]:
            r = probe_tool(PROBE_SRV, port)
            eq((r["result"], r["protocol"], r["tls"]), ("pool", mode, tls),
               "%s%s on %d (%r)" % (mode, " in tls" if tls else "", port, r))
            assert r["what"] and r["answer"], r
            assert r["latency_ms"] < 5000, r


@test
def probe_refutes_non_pools_and_timeouts_hold():
    """A TLS web server, an HTTP server, an SSH banner, a silent port, a port that resets, a
    trickle of bytes forever, an echo, a refused port and an address that never answers:
    none is a pool, each named for what it did, and every probe ends within its deadlines."""
    t, b = 600, 150
    with ProbeNet():
        want = {443: ("not_pool", "in tls, http: HTTP/1.1 400"), 80: ("not_pool", "http: HTTP/1.1 400"),
                22: ("not_pool", "ssh: SSH-2.0-OpenSSH"), 5555: ("silent", "connected, nothing said"),
                6666: ("not_pool", "reset after accepting"), 7777: ("not_pool", "binary banner"),
                9999: ("not_pool", ""), 4000: ("refused", "connection refused")}
        for port, (res, what) in want.items():
            r = probe_tool(PROBE_SRV, port)
            eq(r["result"], res, "result on port %d (%r)" % (port, r))
            assert r["what"].startswith(what), "what on port %d: %r" % (port, r)
            eq(r["protocol"], "", "no protocol on port %d" % port)
            # at most every step's deadline: 5 protocols in cleartext, a TLS handshake
            assert r["latency_ms"] <= 6 * t + b + 1500, "port %d took %d ms" % (port, r["latency_ms"])
        r = probe_tool(PROBE_SRV, 7777)
        assert r["latency_ms"] < t + b, "a trickle holds the probe: %r" % r
        r = probe_tool(PROBE_SRV, 5555)
        assert r["latency_ms"] >= 5 * t, "the silent port was given its time: %r" % r
        r = probe_tool("10.199.7.99", 3333)  # nobody there: no SYN-ACK
        eq(r["result"], "silent", "an address that never answers (%r)" % r)
        assert r["latency_ms"] <= t + 1500, r
        r = probe_tool(PROBE_SRV, 14433, "-n")  # TLS steps off: a TLS pool is not confirmed
        assert r["result"] != "pool", r
        # the source address: ours works, one this machine does not have is a local error
        eq(probe_tool(PROBE_SRV, 3333, "-s", PROBE_ME)["result"], "pool", "probe_source")
        r = probe_tool(PROBE_SRV, 3333, "-s", "10.199.7.50")
        eq(r["result"], "error", "a source address that is not ours (%r)" % r)


def probe_live(prefix, name, vdevs, *sets, netns=None):
    evp = os.path.join(TMP, name + ".events")
    if os.path.exists(evp):
        os.unlink(evp)
    eal = []
    for v in vdevs:
        eal += ["--vdev", v]
    args = (["ip", "netns", "exec", netns] if netns else []) + \
           [SLUICE, "-l", "0-1", "--no-huge", "-m", "512", "--no-pci",
            "--file-prefix=" + prefix] + eal + \
           ["--", "-q", "-e", evp, "-s", os.path.join(TMP, name + ".json"),
            "--set", "idle_polls=64", "--set", "probe=1", "--set", "probe_timeout_ms=600",
            "--set", "probe_banner_ms=150"] + LIVE_SMALL
    for x in sets:
        args += ["--set", x]
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(200):
        try:
            if "/sluice/probes" in telemetry(prefix, "/").get("/", []):
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    return p, evp


def probe_stop(p, name, prefix=None):
    p.send_signal(signal.SIGINT)
    try:
        _, se = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        _, se = p.communicate()
    if prefix:  # live runs leave EAL's runtime directory: remove ours
        import shutil
        shutil.rmtree("/var/run/dpdk/" + prefix, ignore_errors=True)
    eq(p.returncode, 0, "exit code (%s)" % se[-300:])
    return json.load(open(os.path.join(TMP, name + ".json")))


def tprobe(prefix, ip, port):
    import socket
    path = "/var/run/dpdk/%s/dpdk_telemetry.v2" % prefix
    sk = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sk.settimeout(60)
    sk.connect(path)
    sk.recv(4096)
    cmd = "/sluice/probe,%s,%d" % (ip, port)
    sk.send(cmd.encode())
    r = json.loads(sk.recv(65536).decode())
    sk.close()
    return r["/sluice/probe"]


@test
def probe_live_operator_cache_caps_allowlist_home_nets():
    """/sluice/probe on a running sluice: a pool confirmed, then answered from the cache; the
    per-destination and per-minute caps, the allowlist and home_nets refuse probes (nothing
    is sent); /sluice/probes lists the cache; every probe is a probe event that validates."""
    prefix, name = "probe-ops-%d" % os.getpid(), "probe-ops"
    with ProbeNet():
        p, evp = probe_live(prefix, name, ["net_null0"], "probe_max_per_dest=3",
                            "probe_max_per_minute=4", "home_nets=10.200.0.0/16",
                            "block_allowlist=10.199.7.77/32", "metrics_port=47719",
                            "metrics_interval_ms=200")
        try:
            r = tprobe(prefix, PROBE_SRV, 3333)
            eq((r["status"], r["result"], r["protocol"]), ("probed", "pool", "stratum"), "first probe (%r)" % r)
            r = tprobe(prefix, PROBE_SRV, 3333)
            eq((r["status"], r["result"]), ("cached", "pool"), "second ask (%r)" % r)
            r = tprobe(prefix, PROBE_SRV, 22)
            eq((r["status"], r["result"]), ("probed", "not_pool"), "ssh (%r)" % r)
            r = tprobe(prefix, PROBE_SRV, 34256)
            eq((r["result"], r["protocol"], r["tls"]), ("pool", "sv2", 1), "sv2 in tls (%r)" % r)
            r = tprobe(prefix, PROBE_SRV, 3334)
            eq((r["status"], r["skip_reason"]), ("skipped", "cap_dest"), "fourth probe of one address (%r)" % r)
            r = tprobe(prefix, "10.199.7.77", 3333)
            eq((r["status"], r["skip_reason"]), ("skipped", "allowlisted"), "allowlisted (%r)" % r)
            r = tprobe(prefix, "10.200.1.1", 3333)
            eq((r["status"], r["skip_reason"]), ("skipped", "home_net"), "home_nets (%r)" % r)
            r = tprobe(prefix, "10.199.7.99", 3333)  # the fourth probe this minute
            eq(r["result"], "silent", "nobody there (%r)" % r)
            r = tprobe(prefix, "10.199.7.98", 3333)
            eq((r["status"], r["skip_reason"]), ("skipped", "cap_rate"), "fifth this minute (%r)" % r)
            ls = telemetry(prefix, "/sluice/probes")["/sluice/probes"]
            rows = {(ls["ip"][i], ls["port"][i]): ls["result"][i] for i in range(len(ls["ip"]))}
            eq(rows.get((PROBE_SRV, 3333)), "pool", "cache lists the pool (%r)" % rows)
            eq(rows.get((PROBE_SRV, 22)), "not_pool", "cache lists the refuted peer")
            eq(telemetry(prefix, "/sluice/probe,not-an-ip,3333")["/sluice/probe"], None, "bad ip")
            eq(telemetry(prefix, "/sluice/probe,10.0.0.1,0")["/sluice/probe"], None, "bad port")
            ctl = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts",
                               "sluice-ctl")
            c = subprocess.run(["/usr/bin/python3", ctl, "-p", prefix, "probe", PROBE_SRV, "3333"],
                               capture_output=True, text=True, timeout=60)
            eq(c.returncode, 0, "sluice-ctl probe (%s)" % c.stderr)
            eq(json.loads(c.stdout)["result"], "pool", "sluice-ctl probe answer")
            c = subprocess.run(["/usr/bin/python3", ctl, "-p", prefix, "probes"],
                               capture_output=True, text=True, timeout=60)
            eq(c.returncode, 0, "sluice-ctl probes (%s)" % c.stderr)
            assert PROBE_SRV in json.loads(c.stdout)["ip"], c.stdout
            time.sleep(0.5)
            import urllib.request
            m = urllib.request.urlopen("http://127.0.0.1:47719/metrics", timeout=5).read().decode()
            for line in ('sluice_probes_total{result="pool"} 2', 'sluice_probes_total{result="silent"} 1',
                         'sluice_probe_pools_total{protocol="sv2"} 1',
                         'sluice_probe_skipped_total{reason="cap_dest"} 1'):
                assert line in m.split("\n"), "metrics lack %r" % line
        finally:
            s = probe_stop(p, name, prefix)
        pr = s["probe"]
        eq((pr["results"]["pool"], pr["results"]["not_pool"], pr["results"]["silent"]), (2, 1, 1),
           "results (%r)" % pr)
        eq((pr["skipped"]["cap_dest"], pr["skipped"]["allowlisted"], pr["skipped"]["home_net"],
            pr["skipped"]["cap_rate"]), (1, 1, 1, 1), "skips (%r)" % pr)
        eq(pr["started"], 4, "probes started")
        evs = read_events(evp, "probe")
        eq(sorted((e["dest_ip"], e["dest_port"], e["probe"]["result"]) for e in evs),
           sorted([(PROBE_SRV, 3333, "pool"), (PROBE_SRV, 22, "not_pool"), (PROBE_SRV, 34256, "pool"),
                   (PROBE_SRV, 3334, "skipped"), ("10.199.7.77", 3333, "skipped"),
                   ("10.200.1.1", 3333, "skipped"), ("10.199.7.99", 3333, "silent"),
                   ("10.199.7.98", 3333, "skipped")]), "probe events")
        st = [e for e in evs if e["dest_port"] == 3333 and e["probe"]["result"] == "pool"][0]
        assert "mining.subscribe" in st["probe"]["request"], st
        assert "mining.notify" in st["probe"]["answer"] or "mining.set_difficulty" in st["probe"]["answer"], st
        eq(st["probe"]["origin"], "operator", "origin")


@test
def probe_own_flow_on_the_monitored_link_is_not_scored():
    """sluice watches the veth its probes leave by (net_af_packet): the probe's own Stratum
    session crosses the monitored link and is recognised (counted, never scored, no
    detection line), while a real client's XMRig login on the same link is detected."""
    import socket
    prefix, name = "probe-own-%d" % os.getpid(), "probe-own"
    with ProbeNet():
        p, evp = probe_live(prefix, name, ["net_af_packet0,iface=" + PROBE_H],
                            "report_interval_ms=100", "tcp_closed_timeout=1")
        try:
            time.sleep(1)
            r = tprobe(prefix, PROBE_SRV, 3333)
            eq(r["result"], "pool", "the probe (%r)" % r)
            c = socket.create_connection((PROBE_SRV, 3334), timeout=5)
            c.sendall(b'{"id":1,"jsonrpc":"2.0","method":"login","params":{"login":"44AFFq5kSiGBoZ4NMD'
                      b'wYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A",'
                      b'"pass":"x","agent":"XMRig/6.21.0 (Linux x86_64) libuv/1.44.2 gcc/12.2.0",'
                      b'"algo":["rx/0"]}}\n')
            c.recv(4096)
            time.sleep(2)
            c.close()
            time.sleep(1)
        finally:
            s = probe_stop(p, name, prefix)
        assert s["probe"]["own_flows"] >= 1, "the probe's flow was not seen: %r" % s["probe"]
        d = s["control"]["detections"]
        assert d["probe_own"] >= 1 and d["holds"], "detections of the probe's flow: %r" % d
        evs = read_all_events(evp)
        det = [e for e in evs if e["event_type"] == "detection"]
        eq(sorted({e["dest_port"] for e in det}), [3334], "detections only on the client's flow (%r)" %
           [(e["dest_port"], e["detector"]) for e in det])
        alerts = [e for e in evs if e["event_type"] == "alert"]
        for a in alerts:
            for rsn in a["explanation"]["reasons"]:
                assert rsn.get("dest_port") != 3333, "the probe's flow was scored: %r" % a


@test
def probe_offline_never_probes():
    """Offline (-r) never probes, whatever probe says: no probe events, no probe object, and
    the same events as without it (the precision of offline runs does not lean on probes)."""
    cap = os.path.join(BEH, "enc_xmrig_tls.pcap")
    rc, s, se, evs = offline_events(cap, "--set", "probe=1", name="probe-off", every=True)
    eq(rc, 0, "exit code (%s)" % se[-300:])
    eq([e for e in evs if e["event_type"] == "probe"], [], "probe events offline")
    assert "probe" not in s, "a probe object offline"
    rc, s0, se, evs0 = offline_events(cap, name="probe-off0", every=True)
    strip = lambda l: [{k: v for k, v in e.items() if k != "host"} for e in l if e["event_type"] != "sluice_stats"]
    eq(strip(evs), strip(evs0), "events with probe=1 offline")
    assert [e for e in evs if e["event_type"] == "alert"], "the miners are still alerted offline"


def probe_miner_run(name, pool_mode):
    """enc_xmrig_tls replayed live (net_pcap, packet time) by a sluice in its own namespace
    whose probes reach a scripted server on the capture's pool address 203.0.113.32:3333;
    every other address of the capture is routed into the servers' namespace and answers
    nothing. @return the summary's view of 10.20.1.12 (the miner of that pool) and the events."""
    cap = os.path.join(BEH, "enc_xmrig_tls.pcap")
    assert os.path.exists(cap), "no %s (tests/gen/gen.py makes it)" % cap
    prefix = "probe-%s-%d" % (name, os.getpid())
    with ProbeNet(sensor_ns=True, extra=("203.0.113.32", ["%s:3333:tls" % pool_mode])):
        p, evp = probe_live(prefix, name, ["net_pcap0,rx_pcap=" + cap], "port_time=1",
                            "exit_idle_ms=6000", "summary_top_hosts=50", netns=PROBE_SENS)
        try:
            p.wait(timeout=90)
        except subprocess.TimeoutExpired:
            pass
        s = probe_stop(p, name, prefix) if p.returncode is None else \
            json.load(open(os.path.join(TMP, name + ".json")))
        import shutil
        shutil.rmtree("/var/run/dpdk/" + prefix, ignore_errors=True)
    evs = read_all_events(evp)
    top = {h["host"]: h for h in s["scoring"]["hosts"]}
    return top.get("10.20.1.12"), evs, s


@test
def probe_confirmed_pool_blocks_an_encrypted_miner():
    """An XMRig-over-TLS miner judged by behaviour alone: its pool, probed live, answers a
    login with a job inside TLS, so pool_confirmed joins the behaviour and the host reaches
    the block level; the alert quotes the probe's request and answer."""
    h, evs, s = probe_miner_run("probe-pool", "xmrig")
    pr = [e for e in evs if e["event_type"] == "probe" and e["dest_ip"] == "203.0.113.32"]
    eq([(e["probe"]["result"], e["probe"].get("protocol"), e["probe"].get("tls")) for e in pr],
       [("pool", "xmrig", True)], "the probe of the pool (%r)" % pr)
    eq(pr[0]["judged_host"], "10.20.1.12", "who asked")
    assert h is not None, "10.20.1.12 not scored"
    eq(h["level"], "block", "level of the miner (%r)" % h)
    sig = [r for r in h["reasons"] if r["signal"] == "pool_confirmed"]
    assert sig and "login" in sig[0]["probe"]["request"] and "result" in sig[0]["probe"]["answer"], h
    al = [e for e in evs if e["event_type"] == "alert" and e["judged_host"] == "10.20.1.12"]
    assert al, "no alert for the miner"


@test
def probe_refuted_peer_keeps_an_encrypted_miner_below_alert():
    """The same session, but the address answers as a TLS web server: the probe refutes it,
    the held behaviour never counts, and the host is never alerted."""
    h, evs, s = probe_miner_run("probe-web", "http")
    pr = [e for e in evs if e["event_type"] == "probe" and e["dest_ip"] == "203.0.113.32"]
    eq([e["probe"]["result"] for e in pr], ["not_pool"], "the probe (%r)" % pr)
    assert "http" in pr[0]["probe"]["what"], pr
    al = [e for e in evs if e["event_type"] == "alert" and e["judged_host"] == "10.20.1.12"]
    eq(al, [], "alerts for 10.20.1.12")
    assert h is None or h["peak"] < 60, h
    # the other miners (peers that never answer: inconclusive) are still judged by behaviour
    others = [e for e in evs if e["event_type"] == "alert" and e["judged_host"] != "10.20.1.12"]
    assert others, "inconclusive probes must not hide the other miners"


# ------------------------------------------------------------------ BGP (FlowSpec, RTBH)

BGP_SEQ = [0]


class BgpLab:
    """Two network namespaces joined by a veth: in bgp-s-*, sluice and its gobgpd (AS 65000,
    10.255.0.1); in bgp-r-*, a second gobgpd playing the edge router (the route reflector,
    10.255.0.2). Both speak ipv4/ipv6 unicast and FlowSpec over one iBGP session."""

    FAMS = ["ipv4-unicast", "ipv6-unicast", "ipv4-flowspec", "ipv6-flowspec"]

    def __init__(self):
        BGP_SEQ[0] += 1
        tag = "%d%d" % (os.getpid() % 100000, BGP_SEQ[0])
        self.ns_s, self.ns_r = "bgp-s-" + tag, "bgp-r-" + tag
        self.dir = tempfile.mkdtemp(prefix="bgp-", dir=TMP)
        self.procs = {}
        va, vb = "bgp%sa" % tag, "bgp%sb" % tag
        for cmd in (["ip", "netns", "add", self.ns_s], ["ip", "netns", "add", self.ns_r],
                    ["ip", "link", "add", va, "type", "veth", "peer", "name", vb],
                    ["ip", "link", "set", va, "netns", self.ns_s],
                    ["ip", "link", "set", vb, "netns", self.ns_r],
                    ["ip", "-n", self.ns_s, "addr", "add", "10.255.0.1/30", "dev", va],
                    ["ip", "-n", self.ns_r, "addr", "add", "10.255.0.2/30", "dev", vb],
                    ["ip", "-n", self.ns_s, "link", "set", va, "up"],
                    ["ip", "-n", self.ns_r, "link", "set", vb, "up"],
                    ["ip", "-n", self.ns_s, "link", "set", "lo", "up"],
                    ["ip", "-n", self.ns_r, "link", "set", "lo", "up"]):
            subprocess.run(cmd, check=True, capture_output=True)
        self.conf("s", "10.255.0.1", "10.255.0.2", rr=False)
        self.conf("r", "10.255.0.2", "10.255.0.1", rr=True)
        self.start("r")
        self.start("s")

    def conf(self, side, me, peer, rr):
        afi = "".join('[[neighbors.afi-safis]]\n  [neighbors.afi-safis.config]\n'
                      '    afi-safi-name = "%s"\n' % f for f in self.FAMS)
        with open(os.path.join(self.dir, side + ".toml"), "w") as f:
            f.write('[global.config]\n  as = 65000\n  router-id = "%s"\n'
                    '  local-address-list = ["%s"]\n\n[[neighbors]]\n[neighbors.config]\n'
                    '  neighbor-address = "%s"\n  peer-as = 65000\n'
                    '[neighbors.timers.config]\n  connect-retry = 1\n  hold-time = 9\n'
                    '  keepalive-interval = 3\n%s%s' % (
                        me, me, peer,
                        '[neighbors.route-reflector.config]\n  route-reflector-client = true\n'
                        '  route-reflector-cluster-id = "%s"\n' % me if rr else "", afi))

    def ns(self, side):
        return self.ns_s if side == "s" else self.ns_r

    def start(self, side):
        log = open(os.path.join(self.dir, side + ".log"), "a")
        self.procs[side] = subprocess.Popen(
            ["ip", "netns", "exec", self.ns(side), "gobgpd", "-f",
             os.path.join(self.dir, side + ".toml"), "--api-hosts", "127.0.0.1:50051",
             "-l", "warn"], stdout=log, stderr=log)

    def kill(self, side):
        p = self.procs.pop(side)
        p.kill()
        p.wait(timeout=10)

    def gobgp(self, side, *args):
        r = subprocess.run(["ip", "netns", "exec", self.ns(side), "gobgp"] + list(args),
                           capture_output=True, text=True, timeout=20)
        return r.returncode, r.stdout

    def established(self, timeout=30):
        t0 = time.time()
        while time.time() - t0 < timeout:
            rc, out = self.gobgp("r", "neighbor", "-j")
            if rc == 0 and '"session_state":6' in out.replace(" ", ""):
                return True
            time.sleep(0.2)
        raise AssertionError("BGP session not established in %d s: %s" % (timeout, out[-300:]))

    def rib(self, fam, side="r"):
        """{prefix or FlowSpec rule: [paths]} in @side's RIB."""
        rc, out = self.gobgp(side, "global", "rib", "-a", fam, "-j")
        if rc != 0:
            return {}
        return json.loads(out) if out.strip() else {}

    def wait_rib(self, fam, pred, timeout, step=0.02):
        """Poll the router's RIB until pred(rib) is true: (rib, seconds), or (rib, None)."""
        t0 = time.time()
        while True:
            r = self.rib(fam)
            if pred(r):
                return r, time.time() - t0
            if time.time() - t0 > timeout:
                return r, None
            time.sleep(step)

    def sluice(self, name, vdevs, *extra):
        """sluice in the sensor namespace, in the background, once its telemetry is up."""
        prefix = "bgp-sl-%s-%s" % (self.ns_s[6:], name)
        evp = os.path.join(self.dir, name + ".events")
        eal = []
        for v in vdevs:
            eal += ["--vdev", v]
        p = subprocess.Popen(["ip", "netns", "exec", self.ns_s, SLUICE, "-l", "0-1", "--no-huge",
                              "-m", "512", "--no-pci", "--file-prefix=" + prefix,
                              "--log-level=lib.*:error"] + eal +
                             ["--", "-q", "-e", evp, "-s", os.path.join(self.dir, name + ".json"),
                              "--set", "idle_polls=64"] + LIVE_SMALL + list(extra),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(300):
            try:
                if "/sluice/blocks" in telemetry(prefix, "/").get("/", []):
                    break
            except (OSError, ValueError):
                pass
            if p.poll() is not None:
                break
            time.sleep(0.1)
        return p, prefix, evp

    def close(self):
        for side in list(self.procs):
            self.kill(side)
        for n in (self.ns_s, self.ns_r):
            subprocess.run(["ip", "netns", "del", n], capture_output=True)


def bgp_stop(p):
    p.send_signal(signal.SIGINT)
    _, se = p.communicate(timeout=60)
    return p.returncode, se


def fs_rules(rib):
    """FlowSpec RIB as {(source, destination, proto, dport, action): communities}."""
    out = {}
    for _, paths in rib.items():
        for pa in paths:
            comp = {c["type"]: c["value"] for c in pa["nlri"]["value"]}
            src = comp.get(2, {}).get("prefix")
            dst = comp.get(1, {}).get("prefix")
            proto = comp[3][0]["value"] if 3 in comp else None
            dport = comp[5][0]["value"] if 5 in comp else None
            act, comms = "accept", []
            for a in pa["attrs"]:
                if a["type"] == 16 and any(x.get("subtype") == 6 and x.get("rate") == 0
                                           for x in a["value"]):
                    act = "discard"
                if a["type"] == 8:
                    comms = ["%d:%d" % (c >> 16, c & 0xffff) for c in a["communities"]]
            out[(src, dst, proto, dport, act)] = comms
    return out


def unicast(rib):
    """Unicast RIB as {prefix: (next hop, communities)}."""
    out = {}
    for pfx, paths in rib.items():
        for pa in paths:
            nh, comms = None, []
            for a in pa["attrs"]:
                if a["type"] == 3:
                    nh = a["nexthop"]
                if a["type"] == 14:
                    nh = a["nexthop"]
                if a["type"] == 8:
                    comms = ["%d:%d" % (c >> 16, c & 0xffff) for c in a["communities"]]
            out[pfx] = (nh, comms)
    return out


def wait_events(evp, pred, timeout):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if os.path.exists(evp):
            evs = [e for e in read_all_events(evp) if pred(e)]
            if evs:
                return evs
        time.sleep(0.01)
    return []


MINER = ("192.168.1.66/32", "198.51.100.7/32", 6, 3333, "discard")


@test
def bgp_flowspec_announced_within_a_second_then_withdrawn():
    """A mining session replayed live: the router's RIB shows the FlowSpec rule (source host,
    destination pool, tcp, port 3333, discard, the configured community) within 1 s of the
    block event; it leaves the router at expiry, and an operator block leaves it at stop.
    The block is held by the soft blocklist and BGP at once."""
    lab = BgpLab()
    try:
        lab.established()
        p, prefix, evp = lab.sluice(
            "fs", ["net_pcap0,rx_pcap=%s,tx_pcap=/dev/null" % os.path.join(DATA, "demo.pcap"),
                   "net_pcap1,rx_pcap=%s,tx_pcap=/dev/null" % empty_pcap()],
            "--set", "mode=inline", "--set", "block_backend=auto bgp",
            "--set", "bgp_community=65000:666", "--set", "block_ttl_s=4",
            "--set", "block_quiet_s=1")
        try:
            blk = wait_events(evp, lambda e: e["event_type"] == "block", 30)
            assert blk, "no block event"
            rib, _ = lab.wait_rib("ipv4-flowspec", lambda r: MINER in fs_rules(r), 5, step=0.01)
            t_rib = time.time()
            ev_t = iso_to_s(blk[0]["timestamp"])
            lat = t_rib - ev_t
            print("       bgp: FlowSpec rule in the router's RIB %.0f ms after the block event"
                  % (lat * 1000), flush=True)
            eq(fs_rules(rib), {MINER: ["65000:666"]}, "the router's FlowSpec rules")
            assert lat < 1.0, "announced %.3f s after the block event" % lat
            eq((blk[0]["backend"], blk[0]["backends"], blk[0]["bgp_routes"]),
               ("soft", ["soft", "bgp"], 1), "holders")
            for _ in range(50):  # the control core reads the speaker thread's answers every 100 ms
                ls = telemetry(prefix, "/sluice/blocks")["/sluice/blocks"]
                if ls["bgp"] == ["announced"]:
                    break
                time.sleep(0.1)
            eq((ls["backends"], ls["bgp"], ls["bgp_speaker"], ls["bgp_routes_announced"]),
               (["soft,bgp"], ["announced"], "up", 1), "/sluice/blocks")
            # expiry: the block goes, and so does the route
            unb = wait_events(evp, lambda e: e["event_type"] == "unblock", 20)
            eq([u["why"] for u in unb], ["expired"], "expiry")
            rib, t = lab.wait_rib("ipv4-flowspec", lambda r: not r, 5)
            assert t is not None, "withdrawn at expiry: %r" % fs_rules(rib)
            # an operator block, then stop: withdrawn at exit
            r = telemetry(prefix, "/sluice/block,10.1.2.3,198.51.100.9,4444,udp")["/sluice/block"]
            eq(r, {"status": "blocked"}, "operator block")
            rule = ("10.1.2.3/32", "198.51.100.9/32", 17, 4444, "discard")
            rib, t = lab.wait_rib("ipv4-flowspec", lambda r: rule in fs_rules(r), 5)
            assert t is not None, "operator block announced: %r" % fs_rules(rib)
            # IPv6: ipv6-flowspec, /128 source and destination
            r = telemetry(prefix, "/sluice/block,2001:db8::66,2001:db8:1::7,3333")["/sluice/block"]
            eq(r, {"status": "blocked"}, "operator block (IPv6)")
            rule6 = ("2001:db8::66/128", "2001:db8:1::7/128", 6, 3333, "discard")
            rib, t = lab.wait_rib("ipv6-flowspec", lambda r: rule6 in fs_rules(r), 5)
            assert t is not None, "IPv6 block announced: %r" % fs_rules(rib)
            eq(fs_rules(rib)[rule6], ["65000:666"], "IPv6 rule's community")
            for _ in range(50):  # the control core reads the speaker thread's answers every 100 ms
                if telemetry(prefix, "/sluice/blocks")["/sluice/blocks"]["bgp_announced"] >= 3:
                    break
                time.sleep(0.1)
        finally:
            rc, se = bgp_stop(p)
        eq(rc, 0, "exit code (%s)" % se[-300:])
        rib, t = lab.wait_rib("ipv4-flowspec", lambda r: not r, 5)
        assert t is not None, "withdrawn at stop: %r" % fs_rules(rib)
        eq(lab.rib("ipv6-flowspec"), {}, "IPv6 withdrawn at stop")
        s = json.load(open(os.path.join(lab.dir, "fs.json")))
        b = s["response"]["bgp"]
        eq((b["announced"], b["announce_failed"], b["withdraw_failed"], b["speaker"]),
           (3, 0, 0, "up"), "summary bgp counters")
        eq(s["response"]["installed_bgp"], 3, "rules announced")
    finally:
        lab.close()


@test
def bgp_rtbh_from_monitor_mode():
    """mode = monitor with block_backend = bgp: the response runs with BGP alone and drops
    nothing locally; RTBH mode announces the pool's /32 with the blackhole community and the
    configured next hop; gone at stop. /metrics shows the speaker, routes and calls."""
    lab = BgpLab()
    mport = 19000 + os.getpid() % 1000
    try:
        lab.established()
        p, prefix, evp = lab.sluice(
            "rtbh", ["net_pcap0,rx_pcap=%s" % os.path.join(DATA, "demo.pcap")],
            "--set", "mode=monitor", "--set", "block_backend=bgp", "--set", "bgp_mode=rtbh",
            "--set", "bgp_rtbh_nexthop=192.0.2.66", "--set", "metrics_port=%d" % mport,
            "--set", "metrics_interval_ms=100")
        try:
            blk = wait_events(evp, lambda e: e["event_type"] == "block", 30)
            assert blk, "no block event"
            rib, t = lab.wait_rib("ipv4", lambda r: "198.51.100.7/32" in r, 5)
            assert t is not None, "RTBH route: %r" % rib
            eq(unicast(rib), {"198.51.100.7/32": ("192.0.2.66", ["65535:666"])}, "RTBH route")
            eq((blk[0]["backend"], blk[0]["backends"]), ("bgp", ["bgp"]), "BGP alone")
            r = telemetry(prefix, "/sluice/block,2001:db8::66,2001:db8:1::7,3333")["/sluice/block"]
            eq(r, {"status": "blocked"}, "operator block (IPv6)")
            rib6, t = lab.wait_rib("ipv6", lambda r: "2001:db8:1::7/128" in r, 5)
            eq(unicast(rib6), {"2001:db8:1::7/128": ("100::1", ["65535:666"])}, "IPv6 RTBH route")
            eq(fs_rules(lab.rib("ipv4-flowspec")), {}, "no FlowSpec in RTBH mode")
            # /metrics (in the sensor's namespace): the speaker, the routes, the calls
            time.sleep(0.5)
            m = subprocess.run(["ip", "netns", "exec", lab.ns_s, "/usr/bin/python3", "-c",
                                "import urllib.request as u; print(u.urlopen("
                                "'http://127.0.0.1:%d/metrics').read().decode())" % mport],
                               capture_output=True, text=True, timeout=30).stdout
            for want in ('sluice_bgp_speaker_up{state="up"} 1',
                         'sluice_bgp_routes{state="announced"} 2',
                         'sluice_bgp_calls_total{op="announce",result="ok"} 2',
                         'sluice_bgp_calls_total{op="announce",result="failed"} 0',
                         'sluice_blocks_active{backend="bgp"} 2',
                         'sluice_blocks_installed_total{backend="bgp"} 2'):
                assert want + "\n" in m, "%s not in /metrics: %s" % (
                    want, [l for l in m.splitlines() if "bgp" in l])
            chk = subprocess.run(["promtool", "check", "metrics"], input=m, capture_output=True,
                                 text=True)
            eq(chk.returncode, 0, "promtool check metrics (%s%s)" % (chk.stdout, chk.stderr))
        finally:
            rc, se = bgp_stop(p)
        eq(rc, 0, "exit code (%s)" % se[-300:])
        rib, t = lab.wait_rib("ipv4", lambda r: not r, 5)
        assert t is not None, "withdrawn at stop: %r" % rib
        eq(lab.rib("ipv6"), {}, "IPv6 withdrawn at stop")
        s = json.load(open(os.path.join(lab.dir, "rtbh.json")))
        r = s["response"]
        eq((r["mode"], r["installed_soft"], r["installed_nic"], r["soft_dropped_packets"]),
           ("monitor", 0, 0, 0), "monitor mode drops nothing locally")
        eq(sum(w.get("inline", {}).get("blocked", 0) for w in s["workers"]), 0, "no drops")
        eq(r["installed_bgp"], 2, "announced: the miner's pool and the operator's IPv6 block")
    finally:
        lab.close()


@test
def bgp_speaker_restart_reannounces():
    """Kill sluice's gobgpd and start it again: sluice announces every active route again
    (after a pause, the poll sees it down then up; at once, the RIB holds fewer routes than
    sluice gave it). A quarantine is announced as accept routes for the allowlisted ranges
    before the discard of the host (RFC 8955 order), counted against the route cap."""
    lab = BgpLab()
    try:
        lab.established()
        p, prefix, evp = lab.sluice(
            "restart", ["net_null0"], "--set", "mode=monitor", "--set", "block_backend=bgp",
            "--set", "block_allowlist=10.9.0.0/16 192.0.2.0/24 2001:db8:9::/48",
            "--set", "bgp_poll_ms=300")
        want = {("10.1.2.4/32", "198.51.100.9/32", 6, 3333, "discard"): [],
                ("10.1.2.3/32", "10.9.0.0/16", None, None, "accept"): [],
                ("10.1.2.3/32", "192.0.2.0/24", None, None, "accept"): [],
                ("10.1.2.3/32", None, None, None, "discard"): []}
        try:
            t = lambda c: telemetry(prefix, c)[c.split(",")[0]]
            eq(t("/sluice/block,10.1.2.3"), {"status": "blocked"}, "quarantine")
            eq(t("/sluice/block,10.1.2.4,198.51.100.9,3333"), {"status": "blocked"}, "pool")
            rib, s1 = lab.wait_rib("ipv4-flowspec", lambda r: fs_rules(r) == want, 5)
            assert s1 is not None, "announced: %r" % fs_rules(rib)
            for pause in (3, 0):
                lab.kill("s")
                if pause:
                    rib, t1 = lab.wait_rib("ipv4-flowspec", lambda r: not r, 15)
                    assert t1 is not None, "the router dropped the routes with the session"
                    time.sleep(pause)
                lab.start("s")
                lab.established()
                rib, t2 = lab.wait_rib("ipv4-flowspec", lambda r: fs_rules(r) == want, 15)
                assert t2 is not None, "announced again (pause %d): %r" % (pause, fs_rules(rib))
            ls = t("/sluice/blocks")
            eq(ls["bgp_speaker"], "up", "speaker state")
            assert ls["bgp_speaker_restarts"] >= 2, ls
        finally:
            rc, se = bgp_stop(p)
        eq(rc, 0, "exit code (%s)" % se[-300:])
        sp = [e for e in read_all_events(evp) if e["event_type"] == "bgp_speaker"]
        assert any(e["state"] == "down" for e in sp), sp
        assert sum(1 for e in sp if e["restarted"] and e["reannounced"] == 4) >= 2, sp
        rib, t = lab.wait_rib("ipv4-flowspec", lambda r: not r, 5)
        assert t is not None, "withdrawn at stop: %r" % fs_rules(rib)
    finally:
        lab.close()


@test
def bgp_allowlisted_host_never_announced():
    lab = BgpLab()
    try:
        lab.established()
        p, prefix, evp = lab.sluice(
            "allow", ["net_pcap0,rx_pcap=%s" % os.path.join(DATA, "demo.pcap")],
            "--set", "mode=monitor", "--set", "block_backend=bgp",
            "--set", "block_allowlist=192.168.1.64/30")
        try:
            ref = wait_events(evp, lambda e: e["event_type"] == "block_refused", 30)
            eq([(e["judged_host"], e["refusal"]) for e in ref], [("192.168.1.66", "allowlisted")],
               "refused")
            r = telemetry(prefix, "/sluice/block,192.168.1.65")["/sluice/block"]
            eq(r["status"], "refused", "operator block of an allowlisted host")
            time.sleep(1.5)
            eq(lab.rib("ipv4-flowspec"), {}, "nothing announced")
            eq(lab.rib("ipv4-flowspec", side="s"), {}, "nothing given to the speaker")
        finally:
            rc, se = bgp_stop(p)
        eq(rc, 0, "exit code (%s)" % se[-300:])
        eq(json.load(open(os.path.join(lab.dir, "allow.json")))["response"]["bgp"]["announced"],
           0, "no announce call")
    finally:
        lab.close()


@test
def bgp_route_cap_holds_under_spoofed_flood():
    """800 forged miners at once with bgp_max_routes = 25: the router holds 25 rules, the
    rest are refused (bgp_cap) and counted, never lost silently."""
    lab = BgpLab()
    try:
        lab.established()
        p, prefix, evp = lab.sluice(
            "cap", ["net_pcap0,rx_pcap=%s" % os.path.join(DET, "many_miners.pcap")],
            "--set", "mode=monitor", "--set", "block_backend=bgp", "--set", "bgp_max_routes=25",
            "--set", "block_max_per_minute=100000", "--set", "block_max_active=100000")
        try:
            ref = wait_events(evp, lambda e: e["event_type"] == "block_refused", 30)
            assert ref, "no refusal"
            rib, t = lab.wait_rib("ipv4-flowspec", lambda r: len(fs_rules(r)) >= 25, 30)
            assert t is not None, "25 rules: %d" % len(fs_rules(rib))
            time.sleep(2)
            eq(len(fs_rules(lab.rib("ipv4-flowspec"))), 25, "the cap holds")
        finally:
            rc, se = bgp_stop(p)
        eq(rc, 0, "exit code (%s)" % se[-300:])
        evs = read_all_events(evp)
        made = [e for e in evs if e["event_type"] == "block"]
        ref = [e for e in evs if e["event_type"] == "block_refused"]
        eq(len(made), 25, "blocks made")
        assert len(ref) >= 700 and all(e["refusal"] == "bgp_cap" for e in ref), \
            (len(ref), set(e["refusal"] for e in ref))
        r = json.load(open(os.path.join(lab.dir, "cap.json")))["response"]
        eq((r["installed_bgp"], r["refused_bgp_cap"]), (25, len(ref)), "counters")
        rib, t = lab.wait_rib("ipv4-flowspec", lambda r: not r, 10)
        assert t is not None, "withdrawn at stop: %d left" % len(fs_rules(rib))
    finally:
        lab.close()


@test
def bgp_offline_never_announces_and_config_errors():
    """Offline: blocks are a dry run, the gobgp command is never run. Bad bgp_* keys in a
    config file stop sluice with exit 2 and file:line."""
    mark = os.path.join(TMP, "bgp-called")
    fake = os.path.join(TMP, "fake-gobgp")
    with open(fake, "w") as f:
        f.write("#!/bin/sh\necho \"$@\" >> %s\n" % mark)
    os.chmod(fake, 0o755)
    rc, s, se, out = offline("demo.pcap", "--set", "mode=inline", "--set", "block_backend=bgp",
                             "--set", "bgp_gobgp=" + fake, "-e", os.path.join(TMP, "bgp-off.ev"))
    eq(rc, 0, "exit code (%s)" % se[-300:])
    blk = [e for e in read_all_events(os.path.join(TMP, "bgp-off.ev")) if e["event_type"] == "block"]
    eq([(e["judged_host"], e["backend"]) for e in blk], [("192.168.1.66", "dry")], "a dry run")
    eq(os.path.exists(mark), False, "gobgp never called offline")
    assert "bgp" not in s["response"], s["response"]
    rc, s, se, out = offline("demo.pcap", "--set", "mode=monitor", "--set", "block_backend=bgp",
                             "--set", "bgp_gobgp=" + fake, name="bgp-monitor-off")
    eq((rc, s["response"]["installed_dry"]), (0, 1), "monitor with bgp, offline: a dry run")
    eq(os.path.exists(mark), False, "gobgp never called offline (monitor)")
    cfg = os.path.join(TMP, "bgp-bad.conf")
    for line, why in (("bgp_mode = flowspecs", "bgp_mode: 'flowspecs' is not one of flowspec|rtbh"),
                      ("bgp_community = 65000:70000", "bgp_community: '65000:70000'"),
                      ("bgp_community = 1:2 3:4 5:6 7:8 9:10 11:12 13:14 15:16 17:18", "bgp_community: more than 8"),
                      ("bgp_rtbh_community = blackhol", "bgp_rtbh_community: 'blackhol'"),
                      ("bgp_rtbh_nexthop = 192.0.2.300", "bgp_rtbh_nexthop: '192.0.2.300'"),
                      ("bgp_rtbh_nexthop6 = 192.0.2.1", "bgp_rtbh_nexthop6: '192.0.2.1'"),
                      ("bgp_api_host = a b", "bgp_api_host: 'a b' must be one word"),
                      ("bgp_gobgp =", "bgp_gobgp: '' must be one word"),
                      ("bgp_api_port = 0", "bgp_api_port: 0 is out of range"),
                      ("bgp_max_routes = 0", "bgp_max_routes: 0 is out of range"),
                      ("bgp_retry_ms = x", "bgp_retry_ms: 'x'"),
                      ("bgp_poll_ms = 10", "bgp_poll_ms: 10 is out of range"),
                      ("bgp_timeout_ms = 99", "bgp_timeout_ms: 99 is out of range")):
        with open(cfg, "w") as f:
            f.write("# bgp\nmode = inline\n%s\n" % line)
        bad(["-r", os.path.join(DATA, "basic.pcap"), "-c", cfg], 2, cfg + ":3: " + why)
    for v in ("bgp,bgp", "nic soft", "auto fpga"):
        bad(["-r", os.path.join(DATA, "basic.pcap"), "--set", "block_backend=" + v], 2,
            "block_backend: '%s'" % v)


@test
def fleet_prometheus_and_speaker_samples():
    """config/prometheus: the sample prometheus.yml and its rules pass promtool; every sluice
    metric they use is one sluice serves; the recording rules and alerts compute fleet-wide
    views from two sensors' series (promtool test rules); config/gobgp/gobgpd.conf loads."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "config")
    prom = os.path.join(root, "prometheus")
    for args in (["check", "config", os.path.join(prom, "prometheus.yml")],
                 ["check", "rules", os.path.join(prom, "sluice.rules.yml")]):
        r = subprocess.run(["promtool"] + args, capture_output=True, text=True)
        eq(r.returncode, 0, "promtool %s (%s%s)" % (args[1], r.stdout, r.stderr))
    hdr = open(os.path.join(root, "..", "lib", "metrics", "sl_metrics.h")).read()
    fams = set("sluice_" + m for m in re.findall(r"X\(([a-z_]+), (?:counter|gauge)", hdr))
    used = set(re.findall(r"(?<![:\w])sluice_[a-z_]+(?![:\w])",  # not recorded names (a:b:c)
                          open(os.path.join(prom, "sluice.rules.yml")).read()))
    assert len(used) >= 10, used
    eq(sorted(used - fams), [], "rule metrics sluice does not serve")
    test = os.path.join(TMP, "rules.test.yml")
    with open(test, "w") as f:
        f.write("""rule_files: [%s]
evaluation_interval: 30s
tests:
  - interval: 30s
    input_series:
      - series: 'up{job="sluice",instance="a:9877",sensor="a"}'
        values: '1x10'
      - series: 'up{job="sluice",instance="b:9877",sensor="b"}'
        values: '1 1 0x8'
      - series: 'sluice_queue_packets_total{job="sluice",instance="a:9877",sensor="a"}'
        values: '0+3000x10'
      - series: 'sluice_queue_packets_total{job="sluice",instance="b:9877",sensor="b"}'
        values: '0+6000x10'
      - series: 'sluice_bgp_speaker_up{job="sluice",instance="a:9877",sensor="a",state="up"}'
        values: '1x10'
      - series: 'sluice_bgp_speaker_up{job="sluice",instance="b:9877",sensor="b",state="down"}'
        values: '0x10'
      - series: 'sluice_bgp_routes{job="sluice",instance="a:9877",sensor="a",state="announced"}'
        values: '3x10'
      - series: 'sluice_bgp_routes{job="sluice",instance="b:9877",sensor="b",state="announced"}'
        values: '4x10'
    promql_expr_test:
      - expr: fleet:sluice_packets:rate1m
        eval_time: 4m
        exp_samples: [{labels: 'fleet:sluice_packets:rate1m', value: 300}]
      - expr: fleet:sluice_sensors_up:count
        eval_time: 4m
        exp_samples: [{labels: 'fleet:sluice_sensors_up:count', value: 1}]
      - expr: fleet:sluice_bgp_speakers_down:count
        eval_time: 4m
        exp_samples: [{labels: 'fleet:sluice_bgp_speakers_down:count', value: 1}]
      - expr: fleet:sluice_bgp_routes:sum
        eval_time: 4m
        exp_samples: [{labels: 'fleet:sluice_bgp_routes:sum{state="announced"}', value: 7}]
    alert_rule_test:
      - eval_time: 4m
        alertname: SluiceSensorDown
        exp_alerts:
          - exp_labels: {job: sluice, instance: "b:9877", sensor: b}
            exp_annotations: {summary: "sluice sensor b (b:9877) is not scraped"}
      - eval_time: 4m
        alertname: SluiceBgpSpeakerDown
        exp_alerts:
          - exp_labels: {job: sluice, instance: "b:9877", sensor: b, state: down}
            exp_annotations: {summary: "b: its BGP speaker does not answer; blocks are not announced"}
""" % os.path.join(prom, "sluice.rules.yml"))
    r = subprocess.run(["promtool", "test", "rules", test], capture_output=True, text=True)
    eq(r.returncode, 0, "promtool test rules (%s%s)" % (r.stdout[-800:], r.stderr[-800:]))
    r = subprocess.run(["gobgpd", "-d", "-f", os.path.join(root, "gobgp", "gobgpd.conf")],
                       capture_output=True, text=True, timeout=30)
    eq(r.returncode, 0, "gobgpd -d config/gobgp/gobgpd.conf (%s)" % r.stderr[-300:])


# ---------------------------------------------------------------- the real-traffic corpus
# ../shared/corpus beside the clone (SL_CORPUS overrides): real public captures, none mining.
CORPUS = os.environ.get("SL_CORPUS") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "corpus")


def corpus_run(cap, *extra):
    """Offline run with judgement lines: (summary, events)."""
    path = os.path.join(CORPUS, cap)
    assert os.path.exists(path), "corpus capture missing: %s (SL_CORPUS=%s)" % (path, CORPUS)
    ev = os.path.join(TMP, "corpus-%d.events.json" % len(RESULTS))
    if os.path.exists(ev):
        os.unlink(ev)
    rc, s, se, _ = offline(path, "-e", ev, "--set", "log_judgements=1", *extra)
    assert rc == 0 and s is not None, (rc, se)
    return s, [json.loads(l) for l in open(ev)] if os.path.exists(ev) else []


# (capture, protocol name and label the table gives its long opaque flows, alerts when judged
# anyway): every one of these alerted before the known-protocol table (behaviour points 80-97);
# SMB's came from one-byte TCP keepalive probes, which no longer count as messages
KNOWN_CORPUS = [
    ("zeek__testing-btest-Traces-irc-more-commands.pcap", "irc", "IRC", True),
    ("malcolm-test-artifacts__pcap-other-Digital_Bond_S4-Advantech.pcap", "modbus", "Modbus/TCP", True),
    ("zeek-spicy-openvpn__tests-traces-openvpn-tcp-tls-auth.pcap", "openvpn", "OpenVPN over TCP", True),
    ("zeek__testing-btest-Traces-smb-smb_v2_only_non_zero_reserved1.pcap", "smb", "SMB", False),
]


@test
def corpus_known_protocols_not_judged():
    """Real captures whose long flows a behavioural judge took for miners: the known-protocol
    table names them, takes them out of judging (gate known, the protocol in the line) and
    nothing alerts; with score_beh_known = 0 the same flows are judged and alert again."""
    for cap, name, label, alerts in KNOWN_CORPUS:
        s, evs = corpus_run(cap)
        assert s["detection"]["known_protocols"].get(name, 0) >= 1, (cap, s["detection"]["known_protocols"])
        jl = [e for e in evs if e["event_type"] == "judgement"]
        assert jl, "%s: no flow past the shape gates" % cap
        assert all(e["gate"] == "known" and e["not_judged"] == label for e in jl
                   if e["features"].get("protocol") == label), cap
        assert any(e["gate"] == "known" and e["not_judged"] == label for e in jl), (cap, jl[:1])
        eq([e for e in evs if e["event_type"] == "alert"], [], "%s: alerts" % cap)
        eq(s["scoring"]["samples_known"] > 0, True, "%s: samples_known" % cap)
        s0, evs0 = corpus_run(cap, "--set", "score_beh_known=0")
        assert any(e["event_type"] == "judgement" and e["judged"] for e in evs0), cap
        eq(any(e["event_type"] == "alert" for e in evs0), alerts, "%s: alert without the table" % cap)


@test
def corpus_udp_labels():
    """UDP protocols are labelled (not judged): WireGuard, QUIC, OpenVPN over UDP."""
    for cap, name in [("malcolm-test-artifacts__pcap-protocols-WireGuard.pcap", "wireguard"),
                      ("retina__traces-quic.pcap", "quic"),
                      ("zeek-spicy-openvpn__tests-traces-openvpn_udp_tls-auth.pcap", "openvpn_udp"),
                      ("mercury__unit_tests-pcaps-bittorrent.pcap", "bittorrent")]:
        s, _ = corpus_run(cap)
        assert s["detection"]["known_protocols"].get(name, 0) >= 1, (cap, s["detection"]["known_protocols"])


@test
def corpus_timer_pair_not_alerted():
    """An HMI and its server each sending a fixed-size message every ~25 s (GE iFIX, 20 h):
    two timers, no request answered; judged, kept under the alert level."""
    s, evs = corpus_run("malcolm-test-artifacts__pcap-other-Digital_Bond_S4-iFix_Client86.pcap")
    jl = [e for e in evs if e["event_type"] == "judgement" and e["judged"]]
    assert len(jl) > 1000, len(jl)
    assert max(e["behaviour_points"] for e in jl) * 80 < 60 * 100, max(e["behaviour_points"] for e in jl)
    assert all(e["features"]["client_requests_answered"] * 2 < e["features"]["client_sizes_measured"]
               for e in jl if e["features"]["client_sizes_measured"] >= 2)
    eq([e for e in evs if e["event_type"] == "alert"], [], "alerts")


@test
def calib_generated_sessions():
    """Generated benign sessions of the protocols the corpus lacks (tests/gen/calib.py: Bitcoin
    v1 and BIP324, Tor cells in TLS, Monero levin, Gnutella): each named by the known-protocol
    table, its flows not judged, no alert."""
    man = json.load(open(os.path.join(DATA, "calib", "manifest.json")))
    assert len(man) >= 5, man
    man = [dict(e, dir="calib") for e in man]
    real = os.path.join(DATA, "calib-real", "manifest.json")  # tests/gen/real_sessions.sh, if run
    if os.path.exists(real):
        man += [dict(e, dir="calib-real") for e in json.load(open(real))]
    for ent in man:
        s, evs = corpus_run(os.path.abspath(os.path.join(DATA, ent["dir"], ent["pcap"])))
        assert s["detection"]["known_protocols"].get(ent["protocol"], 0) >= 1, (ent["pcap"], s["detection"]["known_protocols"])
        eq([e for e in evs if e["event_type"] == "alert"], [], "%s: alerts" % ent["pcap"])
        jl = [e for e in evs if e["event_type"] == "judgement"]
        eq([e for e in jl if e["judged"]], [], "%s: judged flows" % ent["pcap"])


@test
def known_protocols_in_host_view_live():
    """Live (net_pcap, packet time): /sluice/host lists the protocols the known-protocol table
    took out of behavioural judging for that host, with how they were recognised."""
    prefix = "sl-calib-known-%d" % os.getpid()
    cap = os.path.abspath(os.path.join(DATA, "calib", "tor_client.pcap"))
    p = subprocess.Popen([SLUICE, "-l", "0-1", "--no-huge", "-m", "512", "--no-pci",
                          "--file-prefix=" + prefix, "--vdev", "net_pcap0,rx_pcap=" + cap, "--",
                          "-q", "-e", os.devnull, "--set", "idle_polls=64", "--set", "port_time=1"]
                         + LIVE_SMALL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        one, deadline = {}, time.time() + 30
        while time.time() < deadline:
            try:
                one = telemetry(prefix, "/sluice/host,10.62.0.8")["/sluice/host"] or {}
                if any(r.startswith("not judged: Tor") for r in one.get("reasons", [])):
                    break
            except OSError:
                pass
            time.sleep(0.3)
        assert any(r.startswith("not judged: Tor, TLS whose records are cell-sized")
                   for r in one.get("reasons", [])), one
        eq(one.get("level"), "none", "the Tor client's level")
    finally:
        p.send_signal(signal.SIGINT)
        p.communicate(timeout=30)


# ---- devices (lib/dev) ----

DEVICE_CORPUS = os.environ.get("SL_CORPUS", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                         "..", "..", "..", "shared", "corpus"))
CFG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "config", "sluice.conf")


def dev_state_lines(path):
    """The device state file as {mac: fields}."""
    devs = {}
    with open(path) as f:
        lines = f.read().split("\n")
    eq(lines[0], "sluice-devices 1", "state header")
    for line in lines[1:]:
        if line.startswith("dev\t"):
            f = line.split("\t")
            devs[f[1]] = {"flags": int(f[2]), "first": int(f[3]), "last": int(f[4]),
                          "vlans": [int(v) for v in f[8].split(",") if v],
                          "ips": [a.split("=")[0] for a in f[9].split(",") if a],
                          "name": f[10], "name_src": f[11], "vclass": f[12], "fp": f[13],
                          "client_id": f[14], "nbr_port": f[15], "vendor": f[16], "miner": f[17]}
    return devs


def dev_alerts(evs):
    return {e["judged_host"]: e for e in evs if e["event_type"] == "alert"}


@test
def device_miner_alert_names_device():
    """A Bitmain miner that takes its address by DHCP on VLAN 42 and then mines: its alert
    names the MAC, vendor, DHCP name, vendor class and VLAN, and mining_hw is one of its
    reasons; a host behind a gateway MAC is alerted without blaming the gateway; a relayed
    DHCP client is known by its chaddr (not the relay's MAC, no VLAN); the laptop is not
    alerted; mining hardware alone (the idle Canaan) does not reach the alert level."""
    exp = json.load(open(os.path.join(DATA, "dev_miner.expect.json")))
    st = os.path.join(TMP, "dev_miner.state")
    rc, s, se, evs = offline_events("dev_miner.pcap", "-D", st, "--set", "mode=dry_run", every=True)
    eq(rc, 0, "exit code (%s)" % se[-300:])
    al = dev_alerts(evs)
    m = exp["miner"]
    blk = {e["judged_host"]: e for e in evs if e["event_type"] == "block"}
    eq(blk[m["ip"]]["device"]["mac"], m["mac"], "the block names the device")
    d = al[m["ip"]]["device"]
    eq((d["mac"], d["vendor"], d["name"], d["name_source"], d["vendor_class"], d["vlans"],
        d["dhcp_fingerprint"]), (m["mac"], m["vendor"], m["name"], "dhcp", m["vendor_class"], [m["vlan"]],
                                 m["dhcp_fingerprint"]), "miner's device")
    assert d["mining_hardware"].startswith("MAC prefix: Bitmain"), d
    assert m["ip"] in d["addresses"], d
    reasons = {r["signal"]: r for r in al[m["ip"]]["explanation"]["reasons"]}
    assert "mining_hw" in reasons and "dpi" in reasons, reasons
    eq(reasons["mining_hw"]["device"]["mac"], m["mac"], "mining_hw names the device")
    r = exp["router"]
    g = al[r["miner_ip"]]["device"]
    eq((g["note"], g["gateway_mac"]), ("behind a router or gateway", r["mac"]), "behind the gateway")
    assert "mac" not in g, g
    assert "mining_hw" not in {x["signal"] for x in al[r["miner_ip"]]["explanation"]["reasons"]}
    assert exp["laptop"]["ip"] not in al, "the laptop is not alerted"
    assert exp["relayed"]["ip"] not in al, "mining hardware alone is not an alert"
    devs = dev_state_lines(st)
    eq(devs[r["mac"]]["flags"] & 1, 1, "the gateway MAC is marked a router")
    rel = devs[exp["relayed"]["mac"]]
    eq((rel["name"], rel["vlans"], rel["ips"], rel["vendor"]),
       (exp["relayed"]["name"], [], [exp["relayed"]["ip"]], exp["relayed"]["vendor"]), "relayed DHCP client")
    assert rel["miner"].startswith("MAC prefix: Canaan"), rel  # a 28-bit MA-M prefix
    eq(devs[exp["laptop"]["mac"]]["name"], exp["laptop"]["name"], "laptop's DHCP name")
    eq(devs[exp["laptop"]["mac"]]["flags"] & 2, 0, "the laptop is not mining hardware")
    eq(s["control"]["dev_records"] > 0, True, "device records counted")


@test
def device_repeatable_and_two_workers():
    """Offline without --device-state neither loads nor saves, and device members keep
    results identical run after run and with two workers."""
    _, _, _, a = offline_events("dev_miner.pcap", every=True)
    _, _, _, b = offline_events("dev_miner.pcap", every=True)
    _, _, _, c = offline_events("dev_miner.pcap", "-w", "2", every=True)
    key = lambda e: json.dumps(e, sort_keys=True)
    eq(list(map(key, b)), list(map(key, a)), "second run")
    eq(sorted(map(key, c)), sorted(map(key, a)), "two workers")


@test
def device_no_mac_seen():
    """Raw IP: no MAC anywhere; the alert says so."""
    rc, s, se, evs = offline_events("dev_raw.pcap", every=True)
    eq(rc, 0, "exit code (%s)" % se[-300:])
    al = dev_alerts(evs)
    eq(al["10.7.0.5"]["device"], {"note": "no MAC seen"}, "device of a raw-IP host")


@test
def device_discovery_frames_and_malformed():
    """ARP (one tagged), LLDP (chassis MAC, port, system name, management address) and CDP
    (device id, port) make devices; truncated and malformed forms make none and crash
    nothing; every packet is still accounted for."""
    exp = json.load(open(os.path.join(DATA, "dev_l2.expect.json")))
    st = os.path.join(TMP, "dev_l2.state")
    rc, s, se, _ = offline("dev_l2.pcap", "-D", st)
    eq(rc, 0, "exit code (%s)" % se[-300:])
    eq(s["conservation"]["ok"], True, "conservation")
    devs = dev_state_lines(st)
    for mac, want in exp["devices"].items():
        assert mac in devs, (mac, sorted(devs))
        got = devs[mac]
        if "ip" in want:
            eq(got["ips"], [want["ip"]], mac + " address")
        if "vlan" in want:
            eq(got["vlans"], [want["vlan"]], mac + " VLAN")
        if "name" in want:
            eq((got["name"], got["nbr_port"]), (want["name"], want["neighbor_port"]), mac + " neighbour")
    for bad in ("00:1b:21:aa:00:06", "00:1b:21:aa:00:07"):
        assert bad not in devs, "malformed frame made a device: " + bad
    eq(devs["00:1b:21:aa:00:01"]["vendor"], "Intel Corporate", "vendor from ieee-data")


@test
def device_corpus_captures():
    """The real LLDP, CDP, DHCP and ARP captures of the corpus."""
    want = {
        "tcpdump__tests-LLDP_and_CDP.pcap": {"00:18:ba:98:68:8f": ("S1.cisco.com", "lldp", "Fa0/13")},
        "tcpdump__tests-3560_CDP.pcap": {"00:19:06:ea:b8:85": ("Switch", "cdp", "GigabitEthernet0/5")},
        "packets__dhcp_nolease_initialization.pcapng": {"00:0c:29:59:fd:21": ("ubuntu2", "dhcp", "")},
    }
    for cap, devs_want in want.items():
        path = os.path.join(DEVICE_CORPUS, cap)
        if not os.path.exists(path):
            continue
        st = os.path.join(TMP, cap + ".state")
        rc, s, se, _ = offline(path, "-D", st)
        eq(rc, 0, "%s exit code (%s)" % (cap, se[-300:]))
        devs = dev_state_lines(st)
        for mac, (name, src, port) in devs_want.items():
            eq((devs[mac]["name"], devs[mac]["name_src"], devs[mac]["nbr_port"]), (name, src, port), cap)
    path = os.path.join(DEVICE_CORPUS, "packets__dhcp6_outlease_acquisition.pcapng")
    if os.path.exists(path):  # DHCPv6: the client's DUID and link-local address
        st = os.path.join(TMP, "dhcp6.state")
        offline(path, "-D", st)
        d6 = dev_state_lines(st)["00:0c:29:5e:77:44"]
        eq((d6["client_id"], d6["ips"]), ("000100011def69bd000c295e7744", ["fe80::20c:29ff:fe5e:7744"]),
           "DHCPv6 client")
    path = os.path.join(DEVICE_CORPUS, "ipfixprobe__tests-functional-inputs-arp.pcap")
    if os.path.exists(path):
        st = os.path.join(TMP, "arp.state")
        offline(path, "-D", st)
        devs = dev_state_lines(st)
        eq(len(devs), 6, "ARP senders")
        eq(devs["b8:27:eb:4d:ae:8c"]["vendor"], "Raspberry Pi Foundation", "vendor")
        eq(devs["b8:27:eb:4d:ae:8c"]["ips"], ["192.168.0.251"], "ARP sender address")


@test
def device_state_restart_and_corrupt():
    """A state file carries devices across runs (first seen kept); a truncated file is
    refused with a clear message, kept aside as .bad, and the run starts empty."""
    st = os.path.join(TMP, "restart.state")
    offline("dev_miner.pcap", "-D", st)
    first = dev_state_lines(st)
    rc, s, se, _ = offline("dev_l2.pcap", "-D", st)
    eq(rc, 0, "exit code (%s)" % se[-300:])
    both = dev_state_lines(st)
    miner = "e0:a5:09:12:34:56"
    eq(both[miner]["first"], first[miner]["first"], "first seen kept across runs")
    assert "00:1b:21:aa:00:04" in both, "new devices added"
    data = open(st).read()
    open(st, "w").write(data[:len(data) // 2])
    rc, s, se, _ = offline("dev_l2.pcap", "-D", st)
    eq(rc, 0, "a corrupt state file is not fatal (%s)" % se[-300:])
    assert "device state" in se and ("truncated" in se or "cut short" in se) and ".bad" in se, se
    eq(open(st + ".bad").read(), data[:len(data) // 2], "the bad file kept aside")
    after = dev_state_lines(st)
    assert miner not in after, "started empty"
    open(st, "w").write("not a state file\n")
    rc, s, se, _ = offline("dev_l2.pcap", "-D", st)
    assert "not a sluice device state file" in se, se


@test
def device_new_after_learning_period():
    """With device_learn_s = 600, a device first seen an hour in that mines gets new_device;
    one seen from the start does not. Neither device signal alone alerts."""
    exp = json.load(open(os.path.join(DATA, "dev_new.expect.json")))
    rc, s, se, evs = offline_events("dev_new.pcap", "--set", "device_learn_s=%d" % exp["learn_s"],
                                    "--set", "device_events=1", every=True)
    eq(rc, 0, "exit code (%s)" % se[-300:])
    al = dev_alerts(evs)
    new = {r["signal"] for r in al[exp["new"]]["explanation"]["reasons"]}
    old = {r["signal"] for r in al[exp["old"]]["explanation"]["reasons"]}
    assert "new_device" in new, new
    assert "new_device" not in old, old
    eq(al[exp["new"]]["device"]["new"], True, "device marked new")
    eq(al[exp["old"]]["device"]["new"], False, "old device")
    dn = [e for e in evs if e["event_type"] == "device_new"]
    eq(sorted(e["device"]["mac"] for e in dn if e["device"]["mac"].startswith("00:1b:21")),
       ["00:1b:21:00:00:01", "00:1b:21:00:00:02"], "device_new lines")
    mv = [e for e in evs if e["event_type"] == "device_moved"]
    eq([(e["device"]["mac"], e["device"]["vlans"], e["judged_host"]) for e in mv],
       [("00:1b:21:00:00:01", [0, 9], exp["old"])], "device_moved: the old host on VLAN 9")
    assert int(open(CFG).read().split("score_weight_new_device = ")[1].split()[0]) + \
        int(open(CFG).read().split("score_weight_mining_hw = ")[1].split()[0]) < \
        int(open(CFG).read().split("score_alert = ")[1].split()[0]), "device signals alone stay below alert"


@test
def device_live_telemetry_and_state():
    """Live: /sluice/devices, /sluice/device by MAC and by address, /sluice/host with its
    device, sluice-ctl devices; the state file is written at stop and loaded at the next
    start (first seen kept, devices of both runs)."""
    exp = json.load(open(os.path.join(DATA, "dev_miner.expect.json")))
    m = exp["miner"]
    st = os.path.join(TMP, "device-live.state")
    prefix = "sl-device-%d" % os.getpid()
    cap = os.path.join(DATA, "dev_miner.pcap")
    p = subprocess.Popen([SLUICE, "-l", "0-1", "--no-huge", "-m", "512", "--no-pci",
                          "--file-prefix=" + prefix, "--vdev", "net_pcap0,rx_pcap=" + cap, "--",
                          "-q", "-e", os.devnull, "-D", st, "--set", "idle_polls=64"] + LIVE_SMALL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        one = None
        for _ in range(100):
            try:
                one = telemetry(prefix, "/sluice/device," + m["mac"])["/sluice/device"]
                if one and one.get("known") and one.get("name"):
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        assert one and one.get("known") == 1, one
        eq((one["mac"], one["vendor"], one["vlans"], one["name"], one["vendor_class"]),
           (m["mac"], m["vendor"], str(m["vlan"]), m["name"], m["vendor_class"]), "/sluice/device by MAC")
        assert one["mining_hardware"].startswith("MAC prefix"), one
        by_ip = telemetry(prefix, "/sluice/device," + m["ip"])["/sluice/device"]
        eq(by_ip.get("mac"), m["mac"], "/sluice/device by address")
        gw = telemetry(prefix, "/sluice/device," + exp["router"]["miner_ip"])["/sluice/device"]
        eq((gw.get("note"), gw.get("mac"), gw.get("router")),
           ("behind a router or gateway", exp["router"]["mac"], 1), "an address behind the gateway")
        eq(telemetry(prefix, "/sluice/device,203.0.113.254")["/sluice/device"], {"known": 0}, "unknown")
        eq(telemetry(prefix, "/sluice/device,zz:zz")["/sluice/device"], None, "a bad parameter")
        for _ in range(50):
            h = telemetry(prefix, "/sluice/host," + m["ip"])["/sluice/host"]
            if h.get("device_mac"):
                break
            time.sleep(0.2)
        eq((h.get("device_mac"), h.get("device_vendor"), h.get("device_vlans"), h.get("device_name")),
           (m["mac"], m["vendor"], str(m["vlan"]), m["name"]), "/sluice/host says where the device is")
        ctl = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts",
                           "sluice-ctl")
        r = subprocess.run([ctl, "-p", prefix, "devices", "50"], capture_output=True, text=True)
        eq(r.returncode, 0, "sluice-ctl devices (%s)" % r.stderr)
        devs = json.loads(r.stdout)
        assert m["mac"] in devs["mac"] and exp["router"]["mac"] in devs["mac"], devs
        r = subprocess.run([ctl, "-p", prefix, "device", m["ip"]], capture_output=True, text=True)
        eq(json.loads(r.stdout).get("name"), m["name"], "sluice-ctl device")
    finally:
        p.send_signal(signal.SIGINT)
        try:
            p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
    first = dev_state_lines(st)
    assert m["mac"] in first, sorted(first)
    rc, s, se = live(["net_pcap0,rx_pcap=%s" % os.path.join(DATA, "dev_l2.pcap")], "-D", st)
    eq(rc, 0, "exit code (%s)" % se[-300:])
    both = dev_state_lines(st)
    eq(both[m["mac"]]["first"], first[m["mac"]]["first"], "first seen kept across a restart")
    assert "00:1b:21:aa:00:04" in both, sorted(both)


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

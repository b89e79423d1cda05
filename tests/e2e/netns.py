#!/usr/bin/python3
"""netns.py: end-to-end test of sluice's inline (blocking) mode with network namespaces.

usage (root; use Debian's /usr/bin/python3):
    /usr/bin/python3 tests/e2e/netns.py SLUICE_BINARY [--keep] [--bridge [--observe]]
                                        [--set KEY=VALUE ...]
    scripts/e2e.sh [same options]       (skips cleanly when not root or without ip netns)

Prints one line per check, "ok NAME" or "FAIL NAME: why", detail lines starting with "#",
and last "e2e: N passed, M failed"; exits 0 only when every check passed. Takes ~15-30 s.

Topology (TAG = this process's pid, so parallel runs do not collide):

    netns slm-TAG                    root netns                       netns slp-TAG
    e0: 10.99.1.10 miner        sla<TAG> ==[ sluice  ]== slb<TAG>     e0: 10.99.1.20 pool :3333
        10.99.1.11 benign        (veth A)  port 0   port 1  (veth B)      10.99.1.21 web  :8080
        10.99.1.12 allowlisted miner

sluice runs in the root netns with two net_af_packet ports on the root veth ends (up, no IP,
IPv6 off) and --set mode=inline: everything it receives on one port goes out of the other,
except flows of a blocked host. Offloads (tx checksum, TSO, GSO, GRO) are turned off on all
four veth ends: with TX checksum offload the frames af_packet hands over carry partial
checksums (forwarded TCP dies), and with GSO/TSO the packet socket sees 64 KB super-frames
that the af_packet PMD truncates to its frame size (2048 by default).

Checks:
  arp_and_ping                 the miner pings the pool through sluice (ARP forwarded: both
                               sides end with a neighbour entry for the other)
  benign_download              10.99.1.11 fetches 20 MiB over HTTP from the web server (paced at
                               4 MiB/s so it overlaps the mining session) and the sha256 matches
  miner_cut                    a real Stratum v1 TCP session from 10.99.1.10 (subscribe,
                               authorize, set_difficulty/notify, a submit every 0.5 s) stops
                               working (no reply within 2 s, reset, ...) within 5 s of its
                               first mining message
  allowlisted_miner_never_cut  the same from 10.99.1.12 (in block_allowlist) runs 12 s with every
                               message answered
  block_expires                after the cut the miner is silent 8 s (block_ttl_s=5,
                               block_quiet_s=2), then a new TCP connection works (PING/PONG
                               outside Stratum), until it mines again and is cut again (<= 5 s)
  events_and_summary           after SIGINT sluice exits 0, the events file has an event_type
                               "block" event with judged_host 10.99.1.10 (and none for 10.99.1.12), and
                               the summary JSON parses; the block events are printed as found

Options:
  --keep      keep the work directory (sluice log, events, summary, helper outputs) and print
              its path; namespaces, veths and processes are removed regardless
  --bridge    stand-in for developing the harness: a Linux bridge in the root netns joins the
              two veth ends instead of sluice. Connectivity checks pass; miner_cut,
              block_expires and events_and_summary fail (nothing blocks)
  --observe   with --bridge: also run sluice passively (no inline/block settings) on the two
              bridge ports, to exercise its start, SIGINT exit, events and summary
  --fake      self-test of the harness: a python AF_PACKET forwarder (netns.py _fakesluice,
              same arguments as sluice) stands in for sluice and blocks a host on its first
              "mining.submit" (allowlist, ttl and quiet honoured), writing block/unblock events
              and a small summary. All six checks pass with it
  --set K=V   extra sluice --set (repeatable), after the harness's own ones

Helpers run inside the namespaces as `ip netns exec NS /usr/bin/python3 netns.py _SUB ...`
(_pool, _web, _miner, _download); they are internal. Everything the harness creates (netns
slm-/slp-TAG, veth sla/slb TAG, bridge slbr TAG, processes, /var/run/dpdk/sl-e2e-TAG) is
removed in a finally block, also on Ctrl-C, SIGTERM and SIGHUP.
"""
import argparse
import hashlib
import json
import os
import random
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

ME = os.path.abspath(__file__)
PY = "/usr/bin/python3"
MINER, BENIGN, ALLOWED = "10.99.1.10", "10.99.1.11", "10.99.1.12"
POOL, WEB = "10.99.1.20", "10.99.1.21"
POOL_PORT, WEB_PORT = 3333, 8080
DL_SIZE = 20 * 1024 * 1024
DL_RATE = 4 * 1024 * 1024       # bytes/s: the download lasts ~5 s, across the mining session
DL_SEED = 0x51CE
SUBMIT_EVERY = 0.5
REPLY_TIMEOUT = 2.0             # a message unanswered this long = the connection is cut
CUT_BOUND = 5.0                 # cut within this many s of the first mining message
CUT_GIVE_UP = 15.0              # a mining session that is never cut ends after this long
STEADY_S = 12.0                 # the allowlisted session's length (>= 10 s required)
BLOCK_TTL, BLOCK_QUIET = 5, 2
QUIET_WAIT = 8.0                # silence after the cut before reconnecting
TCP_USER_TIMEOUT = 18           # linux/tcp.h


# ---------------------------------------------------------------- Stratum v1 messages
def _line(obj):
    return (json.dumps(obj) + "\n").encode()


SUBSCRIBE = {"id": 1, "method": "mining.subscribe", "params": ["cgminer/4.10.0"]}
AUTHORIZE = {"params": ["worker1", "x"], "id": 2, "method": "mining.authorize"}
SUBSCRIBE_RESULT = [[["mining.set_difficulty", "b4b6693b72a50c7116db18d6497cac52"],
                     ["mining.notify", "ae6812eb4cd7735a302a8a9dd95cf71f"]], "08000002", 4]
SET_DIFFICULTY = {"id": None, "method": "mining.set_difficulty", "params": [1]}
NOTIFY = {"params": ["bf", "4d16b6f85af6e2198f44ae2a6de67f78487ae5611b77c6c0440b921e00000000",
                     "01000000010000000000000000000000000000000000000000000000000000000000000000"
                     "ffffffff20020862062f503253482f04b8864e5008",
                     "072f736c7573682f000000000100f2052a010000001976a914d23fcdf86f7e756a64a7a968"
                     "8ef9903327048ed988ac00000000", [],
                     "00000002", "1c2ac4af", "504e86b9", False],
          "id": None, "method": "mining.notify"}


def submit_msg(i):
    return {"params": ["worker1", "bf", "%08x" % i, "504e86ed", "%08x" % (0xb2957c02 + i)],
            "id": i, "method": "mining.submit"}


def payload(n=DL_SIZE):
    """The web server's deterministic bytes."""
    return random.Random(DL_SEED).randbytes(n)


# ---------------------------------------------------------------- helpers (inside a netns)
def helper_pool(ip, port):
    """Stratum v1 pool: answers subscribe/authorize (then set_difficulty + notify) and submits;
    'PING' lines get 'PONG' (a liveness probe that is not Stratum)."""
    import socketserver

    class H(socketserver.StreamRequestHandler):
        def handle(self):
            # a cut connection's unacknowledged replies are abandoned after 3 s
            self.request.setsockopt(socket.IPPROTO_TCP, TCP_USER_TIMEOUT, 3000)
            try:
                for raw in self.rfile:
                    if raw.strip() == b"PING":
                        self.wfile.write(b"PONG\n")
                        continue
                    try:
                        m = json.loads(raw)
                    except ValueError:
                        continue
                    meth, mid = m.get("method"), m.get("id")
                    if meth == "mining.subscribe":
                        out = _line({"id": mid, "result": SUBSCRIBE_RESULT, "error": None})
                    elif meth == "mining.authorize":
                        out = (_line({"id": mid, "result": True, "error": None}) +
                               _line(SET_DIFFICULTY) + _line(NOTIFY))
                    elif meth == "mining.submit":
                        out = _line({"error": None, "id": mid, "result": True})
                    else:
                        out = _line({"id": mid, "result": None,
                                     "error": [20, "unknown method", None]})
                    self.wfile.write(out)
            except OSError:
                pass

    class S(socketserver.ThreadingTCPServer):
        allow_reuse_address = True
        daemon_threads = True

    srv = S((ip, port), H)
    print("ready", flush=True)
    srv.serve_forever()


def helper_web(ip, port, size, rate):
    """HTTP server: GET /blob returns payload(size), paced at rate bytes/s."""
    import http.server
    data = payload(size)

    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            t0, off, chunk = time.time(), 0, 65536
            while off < len(data):
                self.wfile.write(data[off:off + chunk])
                off += chunk
                ahead = t0 + off / rate - time.time()
                if ahead > 0:
                    time.sleep(ahead)

    http.server.ThreadingHTTPServer.daemon_threads = True
    srv = http.server.ThreadingHTTPServer((ip, port), H)
    print("ready", flush=True)
    srv.serve_forever()


def helper_download(src, url_host, port):
    import http.client
    r = {"t_start": time.time(), "bytes": 0}
    h = hashlib.sha256()
    try:
        c = http.client.HTTPConnection(url_host, port, timeout=10, source_address=(src, 0))
        c.request("GET", "/blob")
        resp = c.getresponse()
        r["status"] = resp.status
        while True:
            b = resp.read(65536)
            if not b:
                break
            if r["bytes"] == 0:
                r["t_first_byte"] = time.time()
            r["bytes"] += len(b)
            h.update(b)
    except Exception as e:  # noqa: BLE001 - reported to the harness
        r["error"] = "%s: %s" % (type(e).__name__, e)
    r["t_end"] = time.time()
    r["sha256"] = h.hexdigest()
    print(json.dumps(r), flush=True)


def _icmp_sum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff


def helper_ping(src, dst, count, timeout):
    """ICMP echo from src to dst (no dependency on iputils-ping): count requests 0.2 s apart,
    each answered within timeout s or lost."""
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.bind((src, 0))
    ident, rtts = os.getpid() & 0xffff, []
    for seq in range(count):
        body = struct.pack("!d", time.time()) + bytes(48)
        hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
        pkt = struct.pack("!BBHHH", 8, 0, _icmp_sum(hdr + body), ident, seq) + body
        t0 = time.time()
        s.sendto(pkt, (dst, 0))
        while time.time() - t0 < timeout:
            rd, _, _ = select.select([s], [], [], timeout - (time.time() - t0))
            if not rd:
                break
            data, addr = s.recvfrom(2048)
            ihl = (data[0] & 0xf) * 4
            typ, _, _, rid, rseq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
            if addr[0] == dst and typ == 0 and rid == ident and rseq == seq:
                rtts.append(time.time() - t0)
                break
        if seq + 1 < count:
            time.sleep(max(0.0, t0 + 0.2 - time.time()))
    print(json.dumps({"sent": count, "received": len(rtts), "rtts": rtts}), flush=True)


class _Conn:
    """Line reader over a TCP socket; closed says why it stopped working."""

    def __init__(self, s):
        self.s, self.buf, self.closed = s, b"", None

    def send(self, data):
        try:
            self.s.sendall(data)
        except OSError as e:
            self.closed = self.closed or "send: %s" % e

    def poll(self, timeout):
        if self.closed:
            time.sleep(timeout)
            return []
        try:
            rd, _, _ = select.select([self.s], [], [], max(timeout, 0))
            if not rd:
                return []
            b = self.s.recv(65536)
        except OSError as e:
            self.closed = "recv: %s" % e
            return []
        if not b:
            self.closed = "connection closed by peer (EOF)"
            return []
        self.buf += b
        lines = self.buf.split(b"\n")
        self.buf = lines.pop()
        return lines


def helper_miner(src, dst, port, mode, limit):
    """A Stratum v1 miner. mode 'cut': mine until the connection stops working or limit s have
    passed; 'steady': mine limit s; 'reconnect': PING/PONG first, then as 'cut'. Prints one JSON
    object: times are time.time() (shared by all namespaces)."""
    r = {"mode": mode, "src": src, "cut": False, "sent": 0, "answered": 0, "submits": 0,
         "submits_answered": 0, "notify": False}
    s = socket.socket()
    s.bind((src, 0))
    s.setsockopt(socket.IPPROTO_TCP, TCP_USER_TIMEOUT, 4000)
    s.settimeout(3)
    r["t_connect_start"] = time.time()
    try:
        s.connect((dst, port))
    except OSError as e:
        r["connect_error"] = str(e)
        r["cut"], r["why"] = True, "connect failed: %s" % e
        r["t_cut"] = r["t_detect"] = r["t_closed"] = time.time()
        print(json.dumps(r), flush=True)
        return
    r["t_connected"] = time.time()
    c = _Conn(s)
    if mode == "reconnect":
        c.send(b"PING\n")
        deadline = time.time() + REPLY_TIMEOUT
        while time.time() < deadline and not c.closed and not r.get("pong"):
            for ln in c.poll(deadline - time.time()):
                if ln.strip() == b"PONG":
                    r["pong"], r["t_pong"] = True, time.time()
        if not r.get("pong"):
            r["cut"], r["why"] = True, "no PONG before mining: %s" % (c.closed or "timeout")
            r["t_cut"], r["t_detect"] = r["t_connected"], time.time()
    pending = {}     # id -> (send time, method)
    state = "subscribe"
    next_submit, nid = 0.0, 3

    def send(msg):
        now = time.time()
        r.setdefault("t_first_mining", now)
        pending[msg["id"]] = (now, msg["method"])
        r["sent"] += 1
        c.send(_line(msg))

    if not r["cut"]:
        send(SUBSCRIBE)
    while not r["cut"]:
        now = time.time()
        end = r["t_first_mining"] + limit
        if now >= end and (mode != "steady" or not pending):
            break
        if mode == "steady" and now >= end + REPLY_TIMEOUT:
            break
        if pending:
            oldest = min(pending, key=lambda k: pending[k][0])
            if now - pending[oldest][0] > REPLY_TIMEOUT:
                r["cut"] = True
                r["why"] = "no reply to %s id %d within %.0f s" % (
                    pending[oldest][1], oldest, REPLY_TIMEOUT)
                r["t_cut"], r["t_detect"] = pending[oldest][0], now
                break
        if c.closed:
            r["cut"], r["why"] = True, c.closed
            r["t_cut"] = r["t_detect"] = now
            break
        if state == "mining" and now >= next_submit and now < end:
            r.setdefault("t_first_submit", now)
            r["submits"] += 1
            send(submit_msg(nid))
            nid += 1
            next_submit = now + SUBMIT_EVERY
        wait = 0.05 if state != "mining" else max(0.0, min(next_submit - now, 0.1))
        for ln in c.poll(wait):
            try:
                m = json.loads(ln)
            except ValueError:
                continue
            if m.get("method") == "mining.notify":
                r["notify"] = True
            if m.get("id") in pending and "result" in m:
                t_sent, meth = pending.pop(m["id"])
                r["answered"] += 1
                r["t_last_answer"] = time.time()
                if meth == "mining.submit":
                    r["submits_answered"] += 1
                if meth == "mining.subscribe":
                    send(AUTHORIZE)
                    state = "authorize"
            if state == "authorize" and r["notify"] and 2 not in pending:
                state = "mining"
    r["t_end"] = time.time()
    r["pending_at_end"] = len(pending)
    # RST instead of FIN: no retransmissions, so the host really is silent afterwards
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    r["t_closed"] = time.time()
    print(json.dumps(r), flush=True)


def helper_fake_sluice(argv):
    """--fake stand-in, run in the root netns with sluice's own argument shape: forwards frames
    between the two --vdev ...,iface=X ports with AF_PACKET sockets, blocks a host (IPv4 source
    of a TCP segment containing b"mining.submit") unless in block_allowlist (exact /32 only),
    drops frames to or from it, unblocks after block_ttl_s once it was silent block_quiet_s,
    writes block/unblock events (-e) and a summary (-s), exits on SIGINT. Validates the harness
    and the veth/af_packet set-up; it is not sluice."""
    ifaces = [a.split("iface=")[1].split(",")[0] for a in argv if "iface=" in a]
    sets = dict(argv[i + 1].split("=", 1) for i, a in enumerate(argv) if a == "--set")
    ev_path = argv[argv.index("-e") + 1] if "-e" in argv else None
    sum_path = argv[argv.index("-s") + 1] if "-s" in argv else None
    allow = {c.split("/")[0] for c in sets.get("block_allowlist", "").split(",") if c}
    ttl, quiet = float(sets.get("block_ttl_s", 60)), float(sets.get("block_quiet_s", 0))
    stop = []
    signal.signal(signal.SIGINT, lambda *a: stop.append(1))
    socks = []
    for ifc in ifaces:
        sk = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
        sk.bind((ifc, 3))
        socks.append(sk)
    ev = open(ev_path, "w") if ev_path else None
    blocked, st = {}, {"rx": [0, 0], "tx": [0, 0], "dropped_blocked": 0, "tx_errors": 0,
                       "oversize": 0, "blocks": 0}

    def emit(kind, host, **kw):
        if ev:
            ev.write(json.dumps(dict(event_type=kind, ts=time.time(), judged_host=host, **kw)) + "\n")
            ev.flush()

    def expire(now):
        for h, b in list(blocked.items()):
            if now - b["t"] >= ttl and now - b["seen"] >= quiet:
                del blocked[h]
                emit("unblock", h, backend="fake", blocked_s=round(now - b["t"], 3))

    while not stop:
        try:
            rd, _, _ = select.select(socks, [], [], 0.1)
        except InterruptedError:
            continue
        now = time.time()
        expire(now)
        for i, sk in enumerate(socks):
            if sk not in rd:
                continue
            frame, addr = sk.recvfrom(65535)
            if addr[2] == socket.PACKET_OUTGOING:
                continue
            st["rx"][i] += 1
            src = dst = None
            if len(frame) >= 34 and frame[12:14] == b"\x08\x00":
                src, dst = socket.inet_ntoa(frame[26:30]), socket.inet_ntoa(frame[30:34])
                if src in blocked:
                    blocked[src]["seen"] = now
                if src not in blocked and src not in allow and frame[23] == 6 and \
                        b"mining.submit" in frame[34:]:
                    blocked[src] = {"t": now, "seen": now}
                    st["blocks"] += 1
                    emit("block", src, backend="fake", score=95, reason="mining.submit")
            if src in blocked or dst in blocked:
                st["dropped_blocked"] += 1
                continue
            if len(frame) > 1514:
                st["oversize"] += 1
            try:
                socks[1 - i].send(frame)
                st["tx"][1 - i] += 1
            except OSError:
                st["tx_errors"] += 1
    if sum_path:
        with open(sum_path, "w") as f:
            json.dump({"fake": True, "ports": ifaces, "counters": st,
                       "blocked_at_exit": sorted(blocked)}, f)
    return 0


# ---------------------------------------------------------------- harness
class Procs:
    """Processes this harness started (each in its own session), killed by pid at cleanup."""

    def __init__(self):
        self.all = []
        self.lock = threading.Lock()

    def spawn(self, cmd, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        p = subprocess.Popen(cmd, start_new_session=True, **kw)
        with self.lock:
            self.all.append(p)
        return p

    def run(self, cmd, timeout):
        """(rc, stdout, stderr); rc None on timeout (the process group is killed)."""
        p = self.spawn(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            out, err = p.communicate(timeout=timeout)
            return p.returncode, out, err
        except subprocess.TimeoutExpired:
            self.kill(p)
            out, err = p.communicate()
            return None, out, err

    @staticmethod
    def kill(p, sig=signal.SIGKILL):
        if p.poll() is None:
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                pass

    def kill_all(self):
        with self.lock:
            ps = list(self.all)
        for p in ps:
            self.kill(p, signal.SIGTERM)
        t = time.time() + 2
        for p in ps:
            try:
                p.wait(max(0.05, t - time.time()))
            except subprocess.TimeoutExpired:
                self.kill(p)
                p.wait()


def sh(*cmd, check=True):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError("%s: rc %d: %s" % (" ".join(cmd), p.returncode, p.stderr.strip()))
    return p


def nsx(ns, *cmd):
    return ["ip", "netns", "exec", ns] + list(cmd)


class Topo:
    def __init__(self, tag, bridge=False):
        self.tag = tag
        self.ns_m, self.ns_p = "slm-%s" % tag, "slp-%s" % tag
        self.ra, self.rb = "sla%s" % tag, "slb%s" % tag
        self.br = "slbr%s" % tag if bridge else None
        self.warnings = []

    def offloads_off(self, ns, ifc):
        pre = nsx(ns) if ns else []
        for feat in ("tx", "rx", "tso", "gso", "gro", "lro", "sg"):
            sh(*(pre + ["ethtool", "-K", ifc, feat, "off"]), check=False)
        k = sh(*(pre + ["ethtool", "-k", ifc]), check=False).stdout
        for feat in ("tx-checksumming", "generic-segmentation-offload",
                     "tcp-segmentation-offload", "generic-receive-offload"):
            if "%s: on" % feat in k:
                self.warnings.append("%s%s: %s still on" % (ns + "/" if ns else "", ifc, feat))

    def up(self):
        for ns in (self.ns_m, self.ns_p):
            sh("ip", "netns", "add", ns)
            for k in ("all", "default"):
                sh(*nsx(ns, "sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % k), check=False)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "link", "add", self.ra, "type", "veth", "peer", "name", "e0", "netns", self.ns_m)
        sh("ip", "link", "add", self.rb, "type", "veth", "peer", "name", "e0", "netns", self.ns_p)
        for ns, addrs in ((self.ns_m, (MINER, BENIGN, ALLOWED)), (self.ns_p, (POOL, WEB))):
            sh(*nsx(ns, "sysctl", "-qw", "net.ipv6.conf.e0.disable_ipv6=1"), check=False)
            for a in addrs:
                sh("ip", "-n", ns, "addr", "add", a + "/24", "dev", "e0")
            self.offloads_off(ns, "e0")
            sh("ip", "-n", ns, "link", "set", "e0", "up")
        for ifc in (self.ra, self.rb):
            sh("sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % ifc, check=False)
            self.offloads_off(None, ifc)
            sh("ip", "link", "set", ifc, "up")
        if self.br:
            sh("ip", "link", "add", self.br, "type", "bridge", "stp_state", "0",
               "forward_delay", "0")
            sh("sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % self.br, check=False)
            for ifc in (self.ra, self.rb):
                sh("ip", "link", "set", ifc, "master", self.br)
            sh("ip", "link", "set", self.br, "up")

    def down(self):
        for ns in (self.ns_m, self.ns_p):
            pids = sh("ip", "netns", "pids", ns, check=False).stdout.split()
            for pid in pids:   # only ours: the namespace is this run's own
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            sh("ip", "netns", "del", ns, check=False)
        for ifc in (self.br, self.ra, self.rb):
            if ifc and os.path.exists("/sys/class/net/" + ifc):
                sh("ip", "link", "del", ifc, check=False)


class Harness:
    def __init__(self, sluice, bridge=False, observe=False, extra_sets=(), keep=False,
                 fake=False):
        self.tag = str(os.getpid())
        self.sluice_bin = sluice
        self.fake = fake
        self.bridge, self.observe = bridge, observe
        self.extra_sets = list(extra_sets)
        self.keep = keep
        self.topo = Topo(self.tag, bridge)
        self.procs = Procs()
        self.results = []
        self.dir = tempfile.mkdtemp(prefix="sluice-e2e-%s-" % self.tag)
        self.events = os.path.join(self.dir, "events.json")
        self.summary = os.path.join(self.dir, "summary.json")
        self.sluice_log = os.path.join(self.dir, "sluice.log")
        self.prefix = "sl-e2e-%s" % self.tag
        self.sluice = None
        self.sluice_rc = None

    # -- reporting
    def check(self, name, ok, why=""):
        self.results.append((name, bool(ok)))
        print(("ok %s" % name) if ok else ("FAIL %s: %s" % (name, why)), flush=True)

    @staticmethod
    def info(msg):
        print("# " + msg, flush=True)

    # -- sluice
    def runs_sluice(self):
        return not self.bridge or self.observe

    def sluice_cmd(self):
        cmd = ([PY, ME, "_fakesluice"] if self.fake else [self.sluice_bin]) + ["-l", "0-1", "--no-huge", "-m", "512", "--no-pci",
               "--file-prefix=" + self.prefix,
               "--vdev", "net_af_packet0,iface=" + self.topo.ra,
               "--vdev", "net_af_packet1,iface=" + self.topo.rb,
               "--", "-q", "-s", self.summary, "-e", self.events]
        sets = ["idle_polls=64", "flow_capacity=65536", "payload_buffers=4096",
                "host_capacity=65536", "metrics_port=0"]
        if not self.bridge:
            sets += ["mode=inline", "block_allowlist=%s/32" % ALLOWED,
                     "block_ttl_s=%d" % BLOCK_TTL, "block_quiet_s=%d" % BLOCK_QUIET]
        for s in sets + self.extra_sets:
            cmd += ["--set", s]
        return cmd

    def start_sluice(self):
        cmd = self.sluice_cmd()
        self.info("sluice: " + " ".join(cmd))
        self.sluice = self.procs.spawn(cmd, stdout=open(self.sluice_log, "w"),
                                       stderr=subprocess.STDOUT)

    def sluice_dead(self):
        return self.sluice is not None and self.sluice.poll() is not None

    def log_tail(self, n=15):
        try:
            with open(self.sluice_log) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stop_sluice(self):
        if self.sluice is None:
            return
        if self.sluice.poll() is None:
            self.sluice.send_signal(signal.SIGINT)
            try:
                self.sluice.wait(20)
            except subprocess.TimeoutExpired:
                self.info("sluice ignored SIGINT for 20 s; killed")
                self.procs.kill(self.sluice)
                self.sluice.wait()
        self.sluice_rc = self.sluice.returncode

    # -- helpers
    def helper_cmd(self, ns, *args):
        return nsx(ns, PY, ME) + [str(a) for a in args]

    def start_server(self, ns, *args):
        p = self.procs.spawn(self.helper_cmd(ns, *args), stdout=subprocess.PIPE,
                             stderr=open(os.path.join(self.dir, args[0] + ".err"), "w"),
                             text=True)
        rd, _, _ = select.select([p.stdout], [], [], 10)
        if not rd or p.stdout.readline().strip() != "ready":
            raise RuntimeError("helper %s did not start (see %s)" % (args[0], self.dir))
        return p

    def run_helper(self, ns, timeout, *args):
        rc, out, err = self.procs.run(self.helper_cmd(ns, *args), timeout)
        try:
            return json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {"error": "helper %s: rc %s, no result: %s" % (args[0], rc, err.strip()[-300:])}

    def ping(self, src, dst, count=1, timeout=1):
        """True when every echo request was answered."""
        r = self.run_helper(self.topo.ns_m, timeout * count + 5, "_ping", src, dst, count,
                            timeout)
        return r.get("received") == count

    def neigh(self, ns, ip):
        out = sh("ip", "-n", ns, "neigh", "show", ip, "dev", "e0", check=False).stdout
        return out.strip()

    # -- checks
    def check_arp_and_ping(self):
        t0, deadline = time.time(), time.time() + 20
        ok = False
        while time.time() < deadline and not self.sluice_dead():
            if self.ping(MINER, POOL):
                ok = True
                break
            time.sleep(0.2)
        if self.sluice_dead():
            self.check("arp_and_ping", False, "sluice exited (rc %s): %s"
                       % (self.sluice.returncode, self.log_tail(5).strip()))
            return False
        if not ok:
            self.check("arp_and_ping", False, "no reply from %s to %s within 20 s" % (POOL, MINER))
            return False
        self.info("arp_and_ping: first reply %.2f s after start" % (time.time() - t0))
        ok3 = self.ping(MINER, POOL, count=3)
        nm, np_ = self.neigh(self.topo.ns_m, POOL), self.neigh(self.topo.ns_p, MINER)
        self.info("arp_and_ping: neighbours: miner ns [%s], pool ns [%s]" % (nm, np_))
        arp = "lladdr" in nm and "lladdr" in np_
        self.check("arp_and_ping", ok3 and arp,
                   "3 pings %s; ARP entries %s" % ("ok" if ok3 else "lost",
                                                   "ok" if arp else "missing"))
        return True

    def miner_sequence(self, out):
        """Thread: the miner's first session, the silence, the reconnect."""
        ns = self.topo.ns_m
        first = self.run_helper(ns, CUT_GIVE_UP + 20, "_miner", MINER, POOL, POOL_PORT, "cut",
                                CUT_GIVE_UP)
        out["first"] = first
        if not first.get("cut") or "t_first_mining" not in first:
            return
        time.sleep(max(0.0, first["t_closed"] + QUIET_WAIT - time.time()))
        out["t_reconnect"] = time.time()
        out["ping_after_quiet"] = self.ping(MINER, POOL, count=1, timeout=2)
        out["second"] = self.run_helper(ns, CUT_GIVE_UP + 20, "_miner", MINER, POOL, POOL_PORT,
                                        "reconnect", CUT_GIVE_UP)

    def concurrent_phase(self):
        dl, allow, miner = {}, {}, {}

        def run_into(d, ns, timeout, *args):
            d.update(self.run_helper(ns, timeout, *args))

        ts = [threading.Thread(target=run_into, daemon=True,
                               args=(dl, self.topo.ns_m, 90, "_download", BENIGN, WEB, WEB_PORT))]
        ts[0].start()
        time.sleep(0.3)
        ts.append(threading.Thread(target=run_into, daemon=True,
                                   args=(allow, self.topo.ns_m, STEADY_S + 30, "_miner", ALLOWED,
                                         POOL, POOL_PORT, "steady", STEADY_S)))
        ts.append(threading.Thread(target=self.miner_sequence, args=(miner,), daemon=True))
        for t in ts[1:]:
            t.start()
        for t in ts:
            t.join(120)
        return dl, allow, miner

    def describe_session(self, name, r):
        if "t_first_mining" not in r:
            self.info("%s: %s" % (name, r.get("why") or r.get("error") or r))
            return
        t = r["t_first_mining"]
        rel = lambda k: ("%.3f" % (r[k] - t)) if k in r else "-"  # noqa: E731
        self.info("%s: from %s: sent %d (submits %d), answered %d (submits %d); first submit "
                  "+%s s, last answer +%s s, cut %s" % (
                      name, r["src"], r["sent"], r["submits"], r["answered"],
                      r["submits_answered"], rel("t_first_submit"), rel("t_last_answer"),
                      ("at +%s s (message sent then), noticed +%s s: %s" % (
                          rel("t_cut"), rel("t_detect"), r.get("why")))
                      if r.get("cut") else "no"))

    def eval_cut(self, r):
        """(ok, why, delay) for a session that must be cut within CUT_BOUND."""
        if "error" in r:
            return False, r["error"], None
        if "t_first_mining" not in r:
            return False, "no mining message was sent: %s" % r.get("why"), None
        if not r.get("cut"):
            return False, "not cut: %d messages in %.1f s, %d answered" % (
                r["sent"], r["t_end"] - r["t_first_mining"], r["answered"]), None
        delay = r["t_cut"] - r["t_first_mining"]
        if delay > CUT_BOUND:
            return False, "cut %.2f s after the first mining message (bound %.0f s)" % (
                delay, CUT_BOUND), delay
        return True, "", delay

    def check_concurrent(self, dl, allow, miner):
        # benign_download
        want = hashlib.sha256(payload()).hexdigest()
        first = miner.get("first", {})
        if "t_end" in dl:
            dur = dl["t_end"] - dl["t_start"]
            self.info("benign_download: %d bytes in %.2f s (%.1f MB/s)%s" % (
                dl.get("bytes", 0), dur, dl.get("bytes", 0) / max(dur, 1e-6) / 1e6,
                ", error " + dl["error"] if "error" in dl else ""))
        why = ""
        if "error" in dl:
            why = dl["error"]
        elif dl.get("bytes") != DL_SIZE or dl.get("sha256") != want:
            why = "got %s bytes, sha256 %s (want %d, %s)" % (dl.get("bytes"), dl.get("sha256"),
                                                            DL_SIZE, want)
        elif "t_first_mining" in first:
            m_end = first.get("t_detect", first.get("t_end"))
            overlap = min(dl["t_end"], m_end) - max(dl["t_start"], first["t_first_mining"])
            self.info("benign_download: overlapped the first mining session by %.2f s%s" % (
                overlap, "; still running when the miner was cut" if first.get("cut") and
                dl["t_end"] > first["t_cut"] else ""))
            if overlap <= 0:
                why = "did not overlap the mining session"
        else:
            why = "no mining session to run beside"
        self.check("benign_download", not why, why)

        # miner_cut
        self.describe_session("miner_cut", first)
        ok, why, delay = self.eval_cut(first)
        if delay is not None:
            self.info("miner_cut: cut %.2f s after the first mining message, %s after the first "
                      "submit" % (delay, ("%.2f s" % (first["t_cut"] - first["t_first_submit"]))
                                  if "t_first_submit" in first else "before any"))
        self.check("miner_cut", ok, why)

        # allowlisted_miner_never_cut
        self.describe_session("allowlisted_miner_never_cut", allow)
        if "error" in allow:
            why = allow["error"]
        elif "t_first_mining" not in allow:
            why = "no session: %s" % allow.get("why")
        elif allow.get("cut"):
            why = "cut %.2f s after the first mining message: %s" % (
                allow["t_cut"] - allow["t_first_mining"], allow.get("why"))
        else:
            span = allow.get("t_last_answer", 0) - allow["t_first_mining"]
            why = ""
            if allow["answered"] != allow["sent"]:
                why = "%d of %d messages answered" % (allow["answered"], allow["sent"])
            elif span < 10 or allow["submits"] < 18:
                why = "only %.1f s / %d submits" % (span, allow["submits"])
        self.check("allowlisted_miner_never_cut", not why, why)

        # block_expires
        second = miner.get("second")
        if second is None:
            self.check("block_expires", False, "not tried: the first session was not cut")
            return
        self.info("block_expires: reconnected %.2f s after the miner went silent; ping %s" % (
            miner["t_reconnect"] - first["t_closed"],
            "answered" if miner.get("ping_after_quiet") else "NOT answered"))
        self.describe_session("block_expires", second)
        if "error" in second:
            why = second["error"]
        elif "connect_error" in second:
            why = "the new connection failed: %s (block not expired?)" % second["connect_error"]
        elif not second.get("pong"):
            why = "the new connection did not work before mining: %s" % second.get("why")
        else:
            ok, why2, delay = self.eval_cut(second)
            why = "" if ok else "after mining again: " + why2
            if delay is not None:
                self.info("block_expires: cut again %.2f s after mining again" % delay)
        self.check("block_expires", not why, why)

    def check_events(self):
        if not self.runs_sluice():
            self.check("events_and_summary", False, "no sluice in this run (--bridge)")
            return
        self.info("sluice exit code %s" % self.sluice_rc)
        events, bad = [], 0
        try:
            with open(self.events) as f:
                for ln in f:
                    if ln.strip():
                        try:
                            events.append(json.loads(ln))
                        except ValueError:
                            bad += 1
        except OSError as e:
            self.check("events_and_summary", False, "events file: %s" % e)
            return
        hist = {}
        for e in events:
            hist[e.get("event_type")] = hist.get(e.get("event_type"), 0) + 1
        self.info("events: %d lines (%d unparsable), event types %s" % (
            len(events), bad, json.dumps(hist, sort_keys=True)))
        blocky = [e for e in events if "block" in str(e.get("event_type", "")).lower()]
        for e in blocky[:8]:
            self.info("event: " + json.dumps(e, sort_keys=True)[:400])
        for e in events:
            if e.get("event_type") in ("alert", "detection") and \
                    any(ip in json.dumps(e) for ip in (MINER, ALLOWED)):
                self.info("first %s event: %s" % (e["event_type"], json.dumps(e)[:300]))
                break
        blocks = [e for e in events if e.get("event_type") == "block"]
        mine = [e for e in blocks if e.get("judged_host") == MINER]
        allowed = [e for e in blocks if e.get("judged_host") == ALLOWED]
        try:
            with open(self.summary) as f:
                summ = json.load(f)
            sumwhy = ""
            self.info("summary: keys %s" % ", ".join(sorted(summ)[:30]))
            for k in sorted(summ):
                if "block" in k.lower() or k in ("conservation", "mode"):
                    self.info("summary %s: %s" % (k, json.dumps(summ[k])[:300]))
        except (OSError, ValueError) as e:
            sumwhy = "summary: %s" % e
        why = []
        if self.sluice_rc != 0:
            why.append("sluice exit code %s: %s" % (self.sluice_rc, self.log_tail(3).strip()))
        if not mine and not self.bridge:
            why.append("no event_type 'block' with judged_host %s (%d block events)" % (MINER,
                                                                                  len(blocks)))
        elif mine:
            self.info("block events for %s: %d, backend %s" % (
                MINER, len(mine), sorted({str(e.get("backend")) for e in mine})))
        if allowed:
            why.append("block event for the allowlisted %s" % ALLOWED)
        if sumwhy:
            why.append(sumwhy)
        self.check("events_and_summary", not why, "; ".join(why))

    # -- the run
    def run(self):
        t_start = time.time()
        try:
            self.topo.up()
            for w in self.topo.warnings:
                self.info("warning: " + w)
            if self.runs_sluice():
                self.start_sluice()
            self.start_server(self.topo.ns_p, "_pool", POOL, POOL_PORT)
            self.start_server(self.topo.ns_p, "_web", WEB, WEB_PORT, DL_SIZE, DL_RATE)
            self.check_arp_and_ping()
            if self.sluice_dead():
                for name in ("benign_download", "miner_cut", "allowlisted_miner_never_cut",
                             "block_expires"):
                    self.check(name, False, "not run: sluice exited")
            else:
                dl, allow, miner = self.concurrent_phase()
                self.check_concurrent(dl, allow, miner)
            if self.sluice is not None and self.sluice.poll() is not None:
                self.info("sluice exited early (rc %s): %s" % (self.sluice.returncode,
                                                              self.log_tail(5).strip()))
            self.stop_sluice()
            self.check_events()
        except RuntimeError as e:
            self.check("setup", False, str(e))
        finally:
            sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
            old = [signal.signal(s, signal.SIG_IGN) for s in sigs]   # no interrupting cleanup
            try:
                self.cleanup()
            finally:
                for s, h in zip(sigs, old):
                    signal.signal(s, h)
        npass = sum(1 for _, ok in self.results if ok)
        nfail = len(self.results) - npass
        self.info("elapsed %.1f s" % (time.time() - t_start))
        print("e2e: %d passed, %d failed" % (npass, nfail), flush=True)
        return 0 if nfail == 0 and npass > 0 else 1

    def cleanup(self):
        if self.sluice is not None and self.sluice.poll() is None:
            self.stop_sluice()
        self.procs.kill_all()
        self.topo.down()
        shutil.rmtree("/var/run/dpdk/" + self.prefix, ignore_errors=True)
        if self.keep:
            self.info("kept " + self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def _raise_interrupt(sig, frame):
    raise KeyboardInterrupt("signal %d" % sig)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0].startswith("_"):       # helper inside a namespace
        sub, a = argv[0], argv[1:]
        if sub == "_pool":
            helper_pool(a[0], int(a[1]))
        elif sub == "_web":
            helper_web(a[0], int(a[1]), int(a[2]), int(a[3]))
        elif sub == "_download":
            helper_download(a[0], a[1], int(a[2]))
        elif sub == "_fakesluice":
            return helper_fake_sluice(a)
        elif sub == "_ping":
            helper_ping(a[0], a[1], int(a[2]), float(a[3]))
        elif sub == "_miner":
            helper_miner(a[0], a[1], int(a[2]), a[3], float(a[4]))
        else:
            sys.exit("unknown helper " + sub)
        return 0
    ap = argparse.ArgumentParser(description="sluice inline-mode end-to-end test (netns)")
    ap.add_argument("sluice", help="the sluice binary (unused with --bridge alone)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--bridge", action="store_true", help="Linux bridge stand-in for sluice")
    ap.add_argument("--observe", action="store_true",
                    help="with --bridge: also run sluice passively on the bridge ports")
    ap.add_argument("--fake", action="store_true",
                    help="python AF_PACKET forwarder/blocker instead of sluice (self-test)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="extra sluice --set")
    o = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("e2e: needs root (ip netns)", file=sys.stderr)
        return 2
    if o.fake and o.bridge:
        ap.error("--fake and --bridge are alternatives")
    if (not o.bridge or o.observe) and not o.fake and not os.access(o.sluice, os.X_OK):
        print("e2e: %s is not an executable" % o.sluice, file=sys.stderr)
        return 2
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with it ignored
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, _raise_interrupt)
    h = Harness(o.sluice, bridge=o.bridge, observe=o.observe, extra_sets=o.set, keep=o.keep,
                fake=o.fake)
    try:
        return h.run()
    except KeyboardInterrupt:
        print("e2e: interrupted", flush=True)
        return 130


if __name__ == "__main__":
    sys.exit(main())

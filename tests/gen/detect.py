#!/usr/bin/python3
"""detect.py: captures for sluice's detection engine (lib/match), with the exact events each
must produce. Called from gen.py: gen_detect(OUTDIR) writes OUTDIR/detect/NAME.pcap,
NAME.events.json and manifest.json (see tests/integration/run.py).

Expectations follow the detector specification and come from intent, never from re-parsing the
bytes: every message is built from pieces, and a piece carries the detectors (or composite
terms, "t:NAME") its bytes complete. A Flow tracks per-direction stream offsets, so a piece
counts only when all of its bytes lie in the first WINDOW payload bytes of its direction (TCP:
the in-order stream, stopped by a sequence hole; UDP: the datagrams concatenated). M() pieces
are whole messages: they must lie wholly inside or wholly outside the window (the generator
refuses to guess otherwise); X() pieces are exactly the bytes a pattern matches, so one that
crosses the window edge does not fire. Composite detectors (xmr_login, xmr_job, xmr_submit,
ws_miner_*) fire when their last needed term arrives, terms collected per flow direction.
Each detector fires at most once per flow; pool_ip fires at a flow's first packet.
"""
import base64
import hashlib
import ipaddress
import json
import os
import random
import struct
import zlib

from scapy.all import DNS, DNSQR, DNSRR, Dot1Q, Ether, IP, IPv6, Raw, TCP, UDP

import gen as G

R = random.Random(20480)
WINDOW = 2048

# composite detectors: (required terms, optional terms, optional terms needed)
COMPOSITES = {
    "xmr_login": ({"m_login"}, {"pass", "agent", "rigid", "algo_list", "wallet_login"}, 2),
    "xmr_job": ({"blob_hex"}, {"job_id", "target", "seed_hash", "height"}, 2),
    "xmr_submit": ({"m_submit"}, {"job_id", "nonce_hex", "result_hex"}, 2),
    "ws_miner_auth": ({"t_auth", "site_key"}, set(), 0),
    "ws_miner_job": ({"t_job"}, {"job_id", "blob_key", "target"}, 2),
    "ws_miner_submit": ({"t_submit"}, {"job_id", "nonce_hex", "result_hex"}, 2),
}
TERMS = set().union(*[r | o for r, o, n in COMPOSITES.values()]) | {"blob_hex"}
DETECTORS = {
    "stratum_subscribe", "stratum_authorize", "stratum_submit", "stratum_configure",
    "stratum_extranonce_subscribe", "stratum_suggest_difficulty", "stratum_notify",
    "stratum_set_difficulty", "stratum_set_extranonce", "stratum_set_version_mask",
    "stratum_set_target", "stratum_get_transactions", "stratum_client_method",
    "stratum_subscribe_reply", "xmr_keepalived", "miner_agent", "eth_submit_login",
    "eth_get_work", "eth_submit_work", "eth_submit_hashrate", "eth_stratum_nicehash",
    "http_getwork", "http_getblocktemplate", "http_submitblock", "http_mining_extensions",
    "http_stratum_header", "http_miner_ua", "sv2_setup", "sv2_mining", "sv2_noise",
    "web_miner_script", "ws_pool_upgrade", "dns_pool_name", "tls_sni_pool", "http_host_pool",
    "pool_ip"} | set(COMPOSITES)


# ---------------------------------------------------------------- pieces

def _b(x):
    return x.encode() if isinstance(x, str) else x


def _check_tags(tags):
    for t in tags:
        if t.startswith("t:"):
            assert t[2:] in TERMS, "unknown term %s" % t
        else:
            assert t in DETECTORS, "unknown detector %s" % t


def M(data, *tags):
    """A whole message (or a part of one) that completes `tags` somewhere inside it."""
    _check_tags(tags)
    return [(_b(data), tags, False)]


def X(data, *tags):
    """Exactly the bytes a pattern matches: fires iff its last byte is inside the window."""
    _check_tags(tags)
    return [(_b(data), tags, True)]


def cat(*parts):
    out = []
    for p in parts:
        if isinstance(p, (bytes, str)):
            out.append((_b(p), (), False))
        else:
            out.extend(p)
    return out


def pieces_of(msg):
    if isinstance(msg, (bytes, str)):
        return [(_b(msg), (), False)]
    return msg


def joined(msg):
    return b"".join(p[0] for p in pieces_of(msg))


# ---------------------------------------------------------------- random material

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def rbytes(n):
    return bytes(R.randrange(256) for _ in range(n))


def hexs(n):
    return "".join(R.choice("0123456789abcdef") for _ in range(n))


def b64id(n):
    return "".join(R.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
                   for _ in range(n))


def xmr_address():
    return "4" + R.choice("123456789AB") + "".join(R.choice(B58) for _ in range(93))


def xmr_blob():
    # major/minor version 16, varint timestamp, previous block id, 4-byte nonce, tree root, ntx
    return "1010" + hexs(10) + hexs(64) + "00000000" + hexs(64) + "0a"


def noise_bytes(n):
    """Random-looking bytes that do not start like a plaintext SV2 frame."""
    while True:
        b = rbytes(n)
        if b[0] != 0 and b[1] not in (0x00, 0x80):
            return b


def jd(obj):
    """Compact JSON, key order as written (rapidjson/XMRig style)."""
    return json.dumps(obj, separators=(",", ":"))


# ---------------------------------------------------------------- captures and flows

class DetCap:
    """One detection capture: packets (a gen.Capture) plus the events it must produce."""

    def __init__(self, name, about, pool_nets=(), settings=None):
        self.name = name
        self.about = about
        self.cap = G.Capture(name)
        self.events = []
        self.nets = [ipaddress.ip_network(n) for n in pool_nets]
        self.settings = settings or {}
        self.macs = {}
        self.port = 40000 + R.randrange(20000)

    def mac(self, ip):
        if ip not in self.macs:
            self.macs[ip] = G.mac(0x100 + len(self.macs))
        return self.macs[ip]

    def eph(self):
        self.port += R.randrange(1, 40)
        if self.port > 65000:
            self.port = 33000 + R.randrange(1000)
        return self.port

    def tcp(self, c, s, sport, t, cport=None, **kw):
        return TcpFlow(self, c, s, cport or self.eph(), sport, t, **kw)

    def udp(self, c, s, sport, t, cport=None, **kw):
        return UdpFlow(self, c, s, cport or self.eph(), sport, t, **kw)

    def write(self, d):
        G.write_pcap(os.path.join(d, self.name + ".pcap"), self.cap)
        evs = sorted(self.events, key=lambda e: (e["src_ip"], e["src_port"], e["dest_ip"],
                                                 e["dest_port"], e["proto"], e["detector"]))
        with open(os.path.join(d, self.name + ".events.json"), "w") as f:
            json.dump(evs, f, indent=1)
        return {"pcap": self.name + ".pcap", "events": self.name + ".events.json",
                "set": self.settings, "about": self.about}


class Flow:
    def __init__(self, dc, c, s, cport, sport, proto, t, vlan=None):
        self.dc = dc
        self.c, self.s = ipaddress.ip_address(c).compressed, ipaddress.ip_address(s).compressed
        self.cport, self.sport, self.proto, self.vlan = cport, sport, proto, vlan
        self.v6 = ":" in self.c
        self.t = t
        self.off = {"c": 0, "s": 0}
        self.terms = {"c": set(), "s": set()}
        self.dead = {"c": False, "s": False}
        self.fired = set()
        ca, sa = ipaddress.ip_address(c), ipaddress.ip_address(s)
        if any(ca in n or sa in n for n in dc.nets):
            self.fire("pool_ip")

    def fire(self, det):
        if det in self.fired:
            return
        self.fired.add(det)
        self.dc.events.append({"detector": det, "src_ip": self.c, "src_port": self.cport,
                               "dest_ip": self.s, "dest_port": self.sport, "proto": self.proto,
                               "judged_host": self.c})

    def _apply(self, who, tags):
        for tag in tags:
            if tag.startswith("t:"):
                self.terms[who].add(tag[2:])
                if tag == "t:blob_hex":
                    self.terms[who].add("blob_key")
            else:
                self.fire(tag)
        have = self.terms[who]
        for det, (req, opt, need) in COMPOSITES.items():
            if req <= have and len(opt & have) >= need:
                self.fire(det)

    def _would_change(self, who, tags):
        for tag in tags:
            if tag.startswith("t:"):
                name = tag[2:]
                if name not in self.terms[who] and any(
                        name in r | o and d not in self.fired for d, (r, o, n) in COMPOSITES.items()):
                    return True
            elif tag not in self.fired:
                return True
        return False

    def account(self, who, msg):
        """Advance the stream offset of `who` over msg's pieces, firing what lies in the window."""
        pos = self.off[who]
        for data, tags, exact in pieces_of(msg):
            end = pos + len(data)
            if tags and not self.dead[who] and pos < WINDOW:
                if end <= WINDOW:
                    self._apply(who, tags)
                elif not exact and self._would_change(who, tags):
                    raise ValueError("%s: a tagged piece %r crosses the %d-byte window edge "
                                     "(offset %d..%d): make it exact or move it"
                                     % (self.dc.name, tags, WINDOW, pos, end))
            pos = end
        self.off[who] = pos

    def l2(self, who):
        src, dst = (self.c, self.s) if who == "c" else (self.s, self.c)
        e = Ether(src=self.dc.mac(src), dst=self.dc.mac(dst))
        if self.vlan is not None:
            e = e / Dot1Q(vlan=self.vlan)
        return e / (IPv6(src=src, dst=dst, hlim=64) if self.v6 else IP(src=src, dst=dst, ttl=64))

    def at(self, at=None, dt=0.0005):
        t = self.t + dt if at is None else at
        if t <= self.t:
            t = self.t + 0.00001
        self.t = t
        return t


class TcpFlow(Flow):
    def __init__(self, dc, c, s, cport, sport, t, vlan=None, rtt=0.02, mss=1448, handshake=True,
                 answer=True):
        Flow.__init__(self, dc, c, s, cport, sport, "TCP", t, vlan)
        self.rtt, self.mss = rtt, mss
        self.seq = {"c": R.randrange(1 << 32), "s": R.randrange(1 << 32)}
        self.t = t - 0.00001
        if handshake:
            opts = [("MSS", mss + 12 if not self.v6 else mss - 8), ("SAckOK", b""),
                    ("Timestamp", (R.randrange(1 << 32), 0)), ("NOP", None), ("WScale", 7)]
            self.pkt("c", "S", t=self.at(t), opts=opts)
            self.seq["c"] += 1
            if not answer:
                return
            self.pkt("s", "SA", t=self.at(dt=rtt), opts=opts[:2] + [("NOP", None), ("WScale", 9)])
            self.seq["s"] += 1
            self.pkt("c", "A", t=self.at(dt=0.0002))

    def pkt(self, who, flags, payload=b"", t=None, opts=None, seq=None):
        other = "s" if who == "c" else "c"
        sp, dp = (self.cport, self.sport) if who == "c" else (self.sport, self.cport)
        ack = self.seq[other] & 0xffffffff if "A" in flags else 0
        l4 = TCP(sport=sp, dport=dp, flags=flags, seq=(self.seq[who] if seq is None else seq) & 0xffffffff,
                 ack=ack, window=502 if who == "c" else 509, options=opts or [])
        p = self.l2(who) / l4
        if payload:
            p = p / Raw(payload)
        self.dc.cap.add(p, t=self.t if t is None else t)

    def send(self, who, msg, at=None, dt=0.0005, cuts=None, ack=True, gap=0.0002, order=None):
        """Send msg (bytes or pieces) as one or more segments; cuts = offsets to split at;
        order = the segments' transmission order (reordering on the wire), default in order."""
        data = joined(msg)
        self.account(who, msg)
        if cuts is None:
            cuts = list(range(self.mss, len(data), self.mss))
        bounds = [0] + list(cuts) + [len(data)]
        nseg = len(bounds) - 1
        base = self.seq[who]
        self.at(at, dt)
        for k, i in enumerate(order if order is not None else range(nseg)):
            seg = data[bounds[i]:bounds[i + 1]]
            if k:
                self.at(dt=gap)
            self.pkt(who, "PA" if i == nseg - 1 else "A", seg, seq=base + bounds[i])
        self.seq[who] = base + len(data)
        if ack:
            self.pkt("s" if who == "c" else "c", "A", t=self.at(dt=self.rtt / 2))

    def lose(self, who, data):
        """Bytes the capture missed (a sequence hole): that direction is inspected no further."""
        self.dead[who] = True
        self.account(who, data)
        self.seq[who] += len(joined(data))

    def close(self, at=None, who="c"):
        other = "s" if who == "c" else "c"
        self.pkt(who, "FA", t=self.at(at, 0.001))
        self.seq[who] += 1
        self.pkt(other, "FA", t=self.at(dt=self.rtt))
        self.seq[other] += 1
        self.pkt(who, "A", t=self.at(dt=0.0002))


class UdpFlow(Flow):
    def __init__(self, dc, c, s, cport, sport, t, vlan=None):
        Flow.__init__(self, dc, c, s, cport, sport, "UDP", t, vlan)
        self.t = t - 0.00001

    def send(self, who, msg, at=None, dt=0.0005):
        self.account(who, msg)
        sp, dp = (self.cport, self.sport) if who == "c" else (self.sport, self.cport)
        self.dc.cap.add(self.l2(who) / UDP(sport=sp, dport=dp) / Raw(joined(msg)), t=self.at(at, dt))


# ---------------------------------------------------------------- protocol material

XMRIG_AGENT = "XMRig/6.21.0 (Linux x86_64) libuv/1.44.2 gcc/12.2.0"
XMRIG_ALGOS = ["cn/1", "cn/2", "cn/r", "cn/fast", "cn/half", "cn/xao", "cn/rto", "cn/rwz", "cn/zls",
               "cn/double", "cn/ccx", "cn-lite/1", "cn-heavy/0", "cn-heavy/tube", "cn-heavy/xhv",
               "cn-pico", "cn-pico/tlo", "cn/upx2", "rx/0", "rx/wow", "rx/arq", "rx/graft", "rx/sfx",
               "rx/keva", "argon2/chukwa", "argon2/chukwav2", "argon2/ninja", "astrobwt/v2",
               "ghostrider"]
JOB_TERMS = ("t:blob_hex", "t:job_id", "t:target", "t:height", "t:seed_hash")
SUBMIT_TERMS = ("t:m_submit", "t:job_id", "t:nonce_hex", "t:result_hex")


def xmr_job_obj(height, seed, target="b88d0600"):
    return {"blob": xmr_blob(), "job_id": b64id(28), "target": target, "algo": "rx/0",
            "height": height, "seed_hash": seed}


def xmrig_session(dc, c, pool, pport, t0, duration=300.0, vlan=None, login_cuts=None,
                  agent=XMRIG_AGENT, client_port=None):
    """XMRig 6 plaintext stratum: login, login reply with a job, job pushes, submits,
    keepalived after 60 s of client silence."""
    f = dc.tcp(c, pool, pport, t0, cport=client_port, vlan=vlan, rtt=0.045)
    wallet = xmr_address()
    login = {"id": 1, "jsonrpc": "2.0", "method": "login",
             "params": {"login": wallet, "pass": "x", "agent": agent, "rigid": "",
                        "algo": XMRIG_ALGOS}}
    f.send("c", M(jd(login) + "\n", "t:m_login", "t:pass", "t:agent", "t:rigid", "t:algo_list",
                  "t:wallet_login", "miner_agent"), dt=0.001, cuts=login_cuts)
    sid = hexs(8) + "-" + hexs(4) + "-" + hexs(4) + "-" + hexs(4) + "-" + hexs(12)
    height, seed = 3012345, hexs(64)
    job = xmr_job_obj(height, seed)
    reply = {"id": 1, "jsonrpc": "2.0", "error": None,
             "result": {"id": sid, "job": job, "extensions": ["algo", "nicehash", "connect", "tls",
                                                                "keepalive"], "status": "OK"}}
    f.send("s", M(jd(reply) + "\n", *JOB_TERMS), dt=0.05)
    # a low-hashrate CPU miner: shares now and then, a job per block, keepalived after 60 s idle
    timeline = []
    t = 0.0
    while True:
        t += R.uniform(100, 140)
        if t >= duration:
            break
        timeline.append((t, "job"))
    for s in (35.0, 150.0, 185.0, 290.0, 330.0, 400.0):
        if s + 0.3 < duration:
            timeline.append((s + R.uniform(-3, 3), "submit"))
    timeline.sort()
    # keepalived: 60 s after the last client message when nothing else was sent
    out, last_c, rid, jid = [], 0.0, 2, job["job_id"]
    for t, what in timeline + [(duration, "end")]:
        while t - last_c > 60.0:
            last_c += 60.0
            out.append((last_c, "keepalived"))
        if what == "submit":
            last_c = t
        if what != "end":
            out.append((t, what))
    for t, what in sorted(out):
        at = t0 + t
        if what == "job":
            height += 1
            job = xmr_job_obj(height, seed)
            jid = job["job_id"]
            f.send("s", M(jd({"jsonrpc": "2.0", "method": "job", "params": job}) + "\n", *JOB_TERMS),
                   at=at)
        elif what == "submit":
            sub = {"id": rid, "jsonrpc": "2.0", "method": "submit",
                   "params": {"id": sid, "job_id": jid, "nonce": hexs(8), "result": hexs(64),
                              "algo": "rx/0"}}
            f.send("c", M(jd(sub) + "\n", *SUBMIT_TERMS), at=at)
            f.send("s", jd({"id": rid, "jsonrpc": "2.0", "error": None,
                            "result": {"status": "OK"}}) + "\n", dt=0.045)
            rid += 1
        else:
            ka = {"id": rid, "jsonrpc": "2.0", "method": "keepalived", "params": {"id": sid}}
            f.send("c", M(jd(ka) + "\n", "xmr_keepalived"), at=at)
            f.send("s", jd({"id": rid, "jsonrpc": "2.0", "error": None,
                            "result": {"status": "KEEPALIVED"}}) + "\n", dt=0.045)
            rid += 1
    f.close(at=t0 + duration)
    return f


def xmrstak_session(dc, c, pool, pport, t0, duration=200.0):
    """xmr-stak 2.10: method first, id last; keepalived; submits."""
    f = dc.tcp(c, pool, pport, t0, rtt=0.03)
    agent = "xmr-stak/2.10.8/c3b5b0e3/master/lin/cpu/monero/20"
    login = '{"method":"login","params":{"login":"%s","pass":"rig7:x","rigid":"","agent":"%s"},"id":1}\n' % (
        xmr_address(), agent)
    f.send("c", M(login, "t:m_login", "t:pass", "t:rigid", "t:agent", "t:wallet_login",
                  "miner_agent"), dt=0.001)
    sid, seed, height = hexs(24), hexs(64), 3012400
    job = {"blob": xmr_blob(), "job_id": hexs(12), "target": "f3220000", "id": sid,
           "height": height, "seed_hash": seed, "algo": "rx/0"}
    f.send("s", M(jd({"id": 1, "jsonrpc": "2.0", "error": None,
                      "result": {"id": sid, "job": job, "status": "OK"}}) + "\n", *JOB_TERMS), dt=0.04)
    rid = 2
    for t, what in ((22.0, "submit"), (48.0, "submit"), (90.0, "job"), (108.0, "submit"),
                    (168.0, "keepalived"), (181.0, "job")):
        if t >= duration:
            break
        if what == "job":
            height += 1
            job = {"blob": xmr_blob(), "job_id": hexs(12), "target": "f3220000", "id": sid,
                   "height": height, "seed_hash": seed, "algo": "rx/0"}
            f.send("s", M(jd({"jsonrpc": "2.0", "method": "job", "params": job}) + "\n", *JOB_TERMS),
                   at=t0 + t)
        elif what == "submit":
            m = '{"method":"submit","params":{"id":"%s","job_id":"%s","nonce":"%s","result":"%s"},"id":%d}\n' % (
                sid, job["job_id"], hexs(8), hexs(64), rid)
            f.send("c", M(m, *SUBMIT_TERMS), at=t0 + t)
            f.send("s", jd({"id": rid, "jsonrpc": "2.0", "error": None, "result": {"status": "OK"}}) + "\n",
                   dt=0.03)
            rid += 1
        else:
            f.send("c", M('{"method":"keepalived","params":{"id":"%s"},"id":%d}\n' % (sid, rid),
                          "xmr_keepalived"), at=t0 + t)
            f.send("s", jd({"id": rid, "jsonrpc": "2.0", "error": None,
                            "result": {"status": "KEEPALIVED"}}) + "\n", dt=0.03)
            rid += 1
    f.close(at=t0 + duration)


def btc_notify(jid, clean, branches=6):
    mb = ",".join('"%s"' % hexs(64) for _ in range(branches))
    return ('{"params":["%s","%s","01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4b03%s",'
            '"%s",[%s],"20000000","17053894","%08x",%s],"id":null,"method":"mining.notify"}\n'
            % (jid, hexs(64), hexs(56), "ffffffff0" + hexs(120), mb, 1700000000 + R.randrange(600),
               "true" if clean else "false"))


def dns_msg(name, qtype="A", answer=None, qid=None, rtype=None, extra=None):
    """A DNS query (answer None) or response; bytes."""
    if qid is None:
        while True:  # keep TCP/53 streams from looking like SV2 mining frames (id high byte)
            qid = R.randrange(65536)
            if qid >> 8 not in (0x10, 0x11, 0x13, 0x14, 0x15, 0x1a, 0x1b, 0x1c, 0x20, 0x21):
                break
    if answer is None:
        return bytes(DNS(id=qid, rd=1, qd=DNSQR(qname=name, qtype=qtype))), qid
    an = None
    for rr in answer:
        r = DNSRR(rrname=rr[0], type=rr[1], ttl=rr[3] if len(rr) > 3 else 300, rdata=rr[2])
        an = r if an is None else an / r
    return bytes(DNS(id=qid, qr=1, rd=1, ra=1, qd=DNSQR(qname=name, qtype=qtype), an=an)), qid


def dns_udp(dc, c, resolver, name, t, qtype="A", answer=None, tags=(), flow=None, cport=None,
            vlan=None):
    """One lookup over UDP (or on an existing UDP flow: the same socket reused)."""
    f = flow or dc.udp(c, resolver, 53, t, cport=cport, vlan=vlan)
    q, qid = dns_msg(name, qtype)
    f.send("c", M(q, *tags), at=t)
    if answer is None:
        answer = [(name, qtype, "203.0.113.%d" % R.randrange(2, 250) if qtype == "A"
                   else "2001:db8:4000::%x" % R.randrange(1, 0xffff))]
    r, _ = dns_msg(name, qtype, answer, qid)
    f.send("s", r, dt=R.uniform(0.004, 0.03))
    return f


def dns_tcp(dc, c, resolver, name, t, qtype="A", answer=None, tags=(), split_len=False):
    """One lookup over TCP/53: each message carries a 2-byte length prefix."""
    f = dc.tcp(c, resolver, 53, t, rtt=0.004)
    q, qid = dns_msg(name, qtype)
    msg = cat(struct.pack(">H", len(q)), M(q, *tags))
    f.send("c", msg, dt=0.0003, cuts=[2] if split_len else None)
    if answer is None:
        answer = [(name, qtype, "203.0.113.%d" % R.randrange(2, 250) if qtype == "A"
                   else "2001:db8:4000::%x" % R.randrange(1, 0xffff))]
    r, _ = dns_msg(name, qtype, answer, qid)
    f.send("s", struct.pack(">H", len(r)) + r, dt=0.01)
    f.close()
    return f


# TLS ClientHello, built extension by extension (OpenSSL 3 default, as XMRig links; or a
# Chrome-like hello with a post-quantum key share, which spans two TCP segments)

def _ext(t, data):
    return struct.pack(">HH", t, len(data)) + data


def _sni_ext(name):
    n = name.encode()
    return _ext(0, struct.pack(">HBH", len(n) + 3, 0, len(n)) + n)


def client_hello(sni, kind="openssl"):
    """Returns (handshake message, offset of the server name inside it)."""
    grease = R.choice([0x0a0a, 0x1a1a, 0x2a2a, 0x3a3a, 0x4a4a, 0x5a5a, 0x6a6a, 0x7a7a])
    sigalgs = [0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0809, 0x080a, 0x080b, 0x0804, 0x0805,
               0x0806, 0x0401, 0x0501, 0x0601, 0x0303, 0x0301, 0x0302, 0x0402, 0x0502, 0x0602]
    if kind == "openssl":
        suites = [0x1302, 0x1303, 0x1301, 0xc02c, 0xc030, 0x009f, 0xcca9, 0xcca8, 0xccaa, 0xc02b,
                  0xc02f, 0x009e, 0xc024, 0xc028, 0x006b, 0xc023, 0xc027, 0x0067, 0xc00a, 0xc014,
                  0x0039, 0xc009, 0xc013, 0x0033, 0x009d, 0x009c, 0x003d, 0x003c, 0x0035, 0x002f,
                  0x00ff]
        groups = [0x001d, 0x0017, 0x001e, 0x0019, 0x0018, 0x0100, 0x0101, 0x0102, 0x0103, 0x0104]
        head = []
        tail = [_ext(11, b"\x03\x00\x01\x02"),
                _ext(10, struct.pack(">H", 2 * len(groups)) + b"".join(struct.pack(">H", g) for g in groups)),
                _ext(35, b""), _ext(22, b""), _ext(23, b""),
                _ext(13, struct.pack(">H", 2 * len(sigalgs)) + b"".join(struct.pack(">H", s) for s in sigalgs)),
                _ext(43, b"\x04\x03\x04\x03\x03"), _ext(45, b"\x01\x01"),
                _ext(51, struct.pack(">HHH", 36, 0x001d, 32) + rbytes(32))]
    else:
        suites = [grease, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8,
                  0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035]
        ks = struct.pack(">HH", grease, 1) + b"\x00" + struct.pack(">HH", 0x11ec, 1216) + rbytes(1216) + \
            struct.pack(">HH", 0x001d, 32) + rbytes(32)
        head = [_ext(grease, b"")]
        tail = [_ext(23, b""), _ext(0xff01, b"\x00"),
                _ext(10, struct.pack(">HHHHHH", 10, grease, 0x11ec, 0x001d, 0x0017, 0x0018)),
                _ext(11, b"\x01\x00"), _ext(35, b""),
                _ext(16, b"\x00\x0c\x02h2\x08http/1.1"), _ext(5, b"\x01\x00\x00\x00\x00"),
                _ext(13, struct.pack(">H", 16) + b"".join(struct.pack(">H", s) for s in
                                                        (0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601))),
                _ext(18, b""), _ext(51, struct.pack(">H", len(ks)) + ks), _ext(45, b"\x01\x01"),
                _ext(43, struct.pack(">BHHH", 6, grease, 0x0304, 0x0303)), _ext(27, b"\x02\x00\x02"),
                _ext(17613, b"\x00\x03\x02h2"),
                _ext(0xfe0d, b"\x00\x00\x01\x00\x01" + bytes([R.randrange(256)]) + b"\x00\x20" + rbytes(32) +
                     struct.pack(">H", 144) + rbytes(144)),
                _ext(grease ^ 0x1010, b"\x00")]
    sni_ext = _sni_ext(sni) if sni else b""
    body_head = struct.pack(">H", 0x0303) + rbytes(32) + b"\x20" + rbytes(32) + \
        struct.pack(">H", 2 * len(suites)) + b"".join(struct.pack(">H", s) for s in suites) + b"\x01\x00"
    exts_head = b"".join(head)
    exts = exts_head + sni_ext + b"".join(tail)
    body = body_head + struct.pack(">H", len(exts)) + exts
    hs = b"\x01" + struct.pack(">I", len(body))[1:] + body
    name_off = 4 + len(body_head) + 2 + len(exts_head) + 9
    return hs, name_off


def tls_record(hs, split=None):
    """The handshake message in one TLS record, or in two split at byte `split` of hs."""
    parts = [hs] if split is None else [hs[:split], hs[split:]]
    return b"".join(b"\x16\x03\x01" + struct.pack(">H", len(p)) + p for p in parts)


def tls_session(dc, c, s, sport, t, sni, tags=(), kind="openssl", cuts=None, rec_split=None,
                vlan=None, server_bytes=None, app=2):
    """TLS: ClientHello (tagged), the server's flight, some application data both ways."""
    f = dc.tcp(c, s, sport, t, vlan=vlan, rtt=R.uniform(0.01, 0.06))
    hs, noff = client_hello(sni, kind)
    if cuts == "sni":  # three segments: inside the record header's reach and inside the name
        cuts = [3, 5 + noff + len(sni) // 2]
    split = noff + 3 if rec_split == "sni" else rec_split
    f.send("c", M(tls_record(hs, split), *tags), dt=0.0003, cuts=cuts)
    f.send("s", G.tls_server_flight(server_bytes or R.randrange(1500, 4000)), dt=f.rtt)
    f.send("c", b"\x14\x03\x03\x00\x01\x01" + b"\x17\x03\x03\x00\x35" + rbytes(53), dt=0.002)
    for _ in range(app):
        n = R.randrange(80, 600)
        f.send("c", b"\x17\x03\x03" + struct.pack(">H", n) + rbytes(n), dt=R.uniform(0.05, 2))
        n = R.randrange(200, 5000)
        f.send("s", b"\x17\x03\x03" + struct.pack(">H", n) + rbytes(n), dt=f.rtt)
    f.close()
    return f


# WebSocket

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def ws_frame(payload, masked, opcode=1, rsv1=False):
    payload = _b(payload)
    b0 = 0x80 | (0x40 if rsv1 else 0) | opcode
    n = len(payload)
    mbit = 0x80 if masked else 0
    if n < 126:
        hdr = bytes([b0, mbit | n])
    elif n < 65536:
        hdr = bytes([b0, mbit | 126]) + struct.pack(">H", n)
    else:
        hdr = bytes([b0, mbit | 127]) + struct.pack(">Q", n)
    if masked:
        key = rbytes(4)
        payload = bytes(b ^ key[i & 3] for i, b in enumerate(payload))
        hdr += key
    return hdr + payload


def ws_upgrade(host, path, origin, deflate=False):
    key = base64.b64encode(rbytes(16)).decode()
    req = ("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nPragma: no-cache\r\n"
           "Cache-Control: no-cache\r\nUser-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
           "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\n"
           "Upgrade: websocket\r\nOrigin: %s\r\nSec-WebSocket-Version: 13\r\n"
           "Accept-Encoding: gzip, deflate\r\nAccept-Language: en-US,en;q=0.9\r\n"
           "Sec-WebSocket-Key: %s\r\n%s\r\n"
           % (path, host, origin, key,
              "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" if deflate else ""))
    acc = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
    resp = ("HTTP/1.1 101 Switching Protocols\r\nServer: nginx\r\nDate: Tue, 14 Nov 2023 22:13:20 GMT\r\n"
            "Connection: upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: %s\r\n%s\r\n"
            % (acc, "Sec-WebSocket-Extensions: permessage-deflate\r\n" if deflate else ""))
    return req, resp


def ws_miner_session(dc, c, host, ip, port, t0, duration=150.0, upgrade_tags=(), origin=None,
                     split_submit=False):
    """Coinhive-protocol browser miner: auth, authed, jobs, submits, hash_accepted."""
    f = dc.tcp(c, ip, port, t0, rtt=0.03)
    req, resp = ws_upgrade(host, "/proxy", origin or "http://blog.example.com")
    f.send("c", M(req, *upgrade_tags), dt=0.001)
    f.send("s", resp, dt=0.03)
    site_key = b64id(32).replace("+", "x").replace("/", "y")
    auth = jd({"type": "auth", "params": {"site_key": site_key, "type": "anonymous", "user": None,
                                          "goal": 0}})
    f.send("c", M(ws_frame(auth, True), "t:t_auth", "t:site_key"), dt=0.01)
    f.send("s", ws_frame(jd({"type": "authed", "params": {"token": "", "hashes": 0}}), False), dt=0.03)

    def job():
        return {"type": "job", "params": {"job_id": b64id(24), "blob": xmr_blob(), "target": "ffffff00"}}
    j = job()
    f.send("s", M(ws_frame(jd(j), False), "t:t_job", "t:job_id", "t:blob_hex", "t:target"), dt=0.001)
    hashes, t, nsub = 0, 0.0, 0
    while True:
        t += R.uniform(8, 25)
        if t >= duration:
            break
        if R.random() < 0.3:
            j = job()
            f.send("s", M(ws_frame(jd(j), False), "t:t_job", "t:job_id", "t:blob_hex", "t:target"),
                   at=t0 + t)
            continue
        sub = jd({"type": "submit", "params": {"job_id": j["params"]["job_id"], "nonce": hexs(8),
                                               "result": hexs(64)}})
        fr = ws_frame(sub, True)
        cuts = [len(fr) // 2] if split_submit and nsub == 0 else None
        f.send("c", M(fr, "t:t_submit", "t:job_id", "t:nonce_hex", "t:result_hex"), at=t0 + t, cuts=cuts)
        nsub += 1
        hashes += 256
        f.send("s", ws_frame(jd({"type": "hash_accepted", "params": {"hashes": hashes}}), False), dt=0.03)
    f.close(at=t0 + duration)
    return f


# Stratum V2

def sv2_frame(msg_type, payload, channel=False):
    return struct.pack("<HB", 0x8000 if channel else 0, msg_type) + struct.pack("<I", len(payload))[:3] + payload


def str0_255(s):
    b = _b(s)
    return bytes([len(b)]) + b


def u8(v):
    return struct.pack("<B", v)


def u16(v):
    return struct.pack("<H", v)


def u32(v):
    return struct.pack("<I", v)


def u64(v):
    return struct.pack("<Q", v)


def f32(v):
    return struct.pack("<f", v)


def u256_target(leading_zero_bytes):
    """A target as U256 (little-endian): high bytes zero, the rest 0xff."""
    be = bytes(leading_zero_bytes) + b"\xff" * (32 - leading_zero_bytes)
    return be[::-1]


def sv2_setup_connection(host, port, vendor, hw, fw, dev, flags=1):
    p = u8(0) + u16(2) + u16(2) + u32(flags) + str0_255(host) + u16(port) + str0_255(vendor) + \
        str0_255(hw) + str0_255(fw) + str0_255(dev)
    return sv2_frame(0x00, p)


# ---------------------------------------------------------------- the captures

RESOLVER = "192.168.1.1"
RESOLVER6 = "2001:db8:53::53"


def cap_xmrig():
    dc = DetCap("xmrig", "XMRig 6.21 (Linux) and xmr-stak plaintext Monero stratum, 5 and 3 minutes, "
                "with the pool name lookup")
    c = "192.168.10.21"
    dns_udp(dc, c, RESOLVER, "pool.supportxmr.com", G.T0 + 0.5, tags=("dns_pool_name",))
    xmrig_session(dc, c, "203.0.113.50", 3333, G.T0 + 0.6, duration=300.0)
    dns_udp(dc, "192.168.10.33", RESOLVER, "www.example.com", G.T0 + 3.0)
    xmrstak_session(dc, "192.168.10.34", "203.0.113.51", 5555, G.T0 + 20.0, duration=200.0)
    return dc


def cap_stratum_v1():
    dc = DetCap("stratum_v1", "Stratum v1 (Bitcoin): cgminer with configure/subscribe/"
                "extranonce/authorize/suggest_difficulty, server notify/set_difficulty/"
                "set_version_mask/set_extranonce/show_message/get_version, get_transactions, "
                "submits for 3 minutes; bfgminer redirected by client.reconnect")
    c, pool = "10.10.0.5", "203.0.113.60"
    f = dc.tcp(c, pool, 3333, G.T0 + 1.0, rtt=0.035)
    f.send("c", M('{"id": 1, "method": "mining.configure", "params": [["version-rolling"], '
                  '{"version-rolling.mask": "1fffe000", "version-rolling.min-bit-count": 2}]}\n',
                  "stratum_configure"), dt=0.001)
    f.send("s", '{"id":1,"result":{"version-rolling":true,"version-rolling.mask":"1fffe000"},"error":null}\n',
           dt=0.035)
    f.send("c", M('{"id": 2, "method": "mining.subscribe", "params": ["cgminer/4.10.0"]}\n',
                  "stratum_subscribe", "miner_agent"), dt=0.001)
    f.send("s", M('{"id":2,"result":[[["mining.set_difficulty","b4b6693b72a50c7116db18d6497cac52"],'
                  '["mining.notify","ae6812eb4cd7735a302a8a9dd95cf71f"]],"08000002",4],"error":null}\n',
                  "stratum_subscribe_reply"), dt=0.035)
    f.send("c", M('{"id": 3, "method": "mining.extranonce.subscribe", "params": []}\n',
                  "stratum_extranonce_subscribe"), dt=0.001, ack=False)
    f.send("c", M('{"id": 4, "method": "mining.authorize", "params": ["slush.miner1", "password"]}\n',
                  "stratum_authorize"), dt=0.0005, ack=False)
    f.send("c", M('{"id": 5, "method": "mining.suggest_difficulty", "params": [8192]}\n',
                  "stratum_suggest_difficulty"), dt=0.0005)
    f.send("s", '{"id":3,"result":true,"error":null}\n{"id":4,"result":true,"error":null}\n'
                '{"id":5,"result":true,"error":null}\n', dt=0.03)
    f.send("s", M('{"id":null,"method":"mining.set_version_mask","params":["1fffe000"]}\n',
                  "stratum_set_version_mask"), dt=0.001)
    f.send("s", M('{"id":null,"method":"mining.set_difficulty","params":[8192]}\n',
                  "stratum_set_difficulty"), dt=0.001)
    jid = 0x17a3
    f.send("s", M(btc_notify("%x" % jid, True), "stratum_notify"), dt=0.001)
    f.send("s", M('{"id":null,"method":"client.show_message","params":["Welcome to the pool. '
                  'Maintenance on Sunday 02:00 UTC."]}\n', "stratum_client_method"), dt=0.2)
    f.send("s", '{"id":7,"method":"client.get_version","params":[]}\n', at=G.T0 + 3.0)
    f.send("c", M('{"id": 7, "result": "cgminer/4.10.0", "error": null}\n', "miner_agent"), dt=0.002)
    f.send("c", M('{"id": 6, "method": "mining.get_transactions", "params": ["%x"]}\n' % jid,
                  "stratum_get_transactions"), dt=0.5)
    f.send("s", '{"id":6,"result":["%s","%s","%s"],"error":null}\n' % (hexs(64), hexs(64), hexs(64)), dt=0.04)
    f.send("s", M('{"id":null,"method":"mining.set_extranonce","params":["08000003",4]}\n',
                  "stratum_set_extranonce"), at=G.T0 + 9.0)
    t, sid = 10.0, 10
    nxt_job = 30.0
    while t < 180.0:
        t += R.uniform(6, 18)
        if t > nxt_job:
            jid += 1
            f.send("s", btc_notify("%x" % jid, R.random() < 0.2), at=G.T0 + nxt_job)
            nxt_job += R.uniform(25, 35)
        sid += 1
        f.send("c", M('{"params": ["slush.miner1", "%x", "%s", "%08x", "%s", "%08x"], "id": %d, '
                      '"method": "mining.submit"}\n'
                      % (jid, hexs(8), 1700000000 + int(t), hexs(8), R.randrange(1 << 16) << 13, sid),
                      "stratum_submit"), at=G.T0 + t)
        f.send("s", '{"id":%d,"result":true,"error":null}\n' % sid, dt=0.035)
    f.close(at=G.T0 + 185.0)

    # bfgminer: the pool moves it elsewhere with client.reconnect; it reconnects there
    c2 = "10.10.0.6"
    f = dc.tcp(c2, "203.0.113.61", 3333, G.T0 + 5.0)
    f.send("c", M('{"id": 0, "method": "mining.subscribe", "params": ["bfgminer/5.5.0"]}\n',
                  "stratum_subscribe", "miner_agent"), dt=0.001)
    f.send("s", M('{"id":0,"result":[["mining.notify","deadbeefcafebabe0100000000000000"],"f8002c90",4],'
                  '"error":null}\n', "stratum_subscribe_reply"), dt=0.02)
    f.send("c", M('{"id": 1, "method": "mining.authorize", "params": ["bfg.rig2", "x"]}\n',
                  "stratum_authorize"), dt=0.001)
    f.send("s", '{"id":1,"result":true,"error":null}\n', dt=0.02)
    f.send("s", M('{"id":null,"method":"client.reconnect","params":["203.0.113.62",3333,0]}\n',
                  "stratum_client_method"), dt=0.5)
    f.close(at=f.t + 0.01)
    f = dc.tcp(c2, "203.0.113.62", 3333, f.t + 0.05)
    f.send("c", M('{"id": 0, "method": "mining.subscribe", "params": ["bfgminer/5.5.0"]}\n',
                  "stratum_subscribe", "miner_agent"), dt=0.001)
    f.send("s", M('{"id":0,"result":[["mining.notify","0badc0de00000000"],"f8002c91",4],"error":null}\n',
                  "stratum_subscribe_reply"), dt=0.02)
    f.send("c", M('{"id": 1, "method": "mining.authorize", "params": ["bfg.rig2", "x"]}\n',
                  "stratum_authorize"), dt=0.001)
    f.send("s", '{"id":1,"result":true,"error":null}\n', dt=0.02)
    f.send("s", M('{"id":null,"method":"mining.set_difficulty","params":[1024]}\n',
                  "stratum_set_difficulty"), dt=0.001)
    f.send("s", M(btc_notify("1b", True, 4), "stratum_notify"), dt=0.001)
    for k in range(6):
        f.send("c", M('{"id": %d, "method": "mining.submit", "params": ["bfg.rig2", "1b", "%s", "%08x", "%s"]}\n'
                      % (k + 2, hexs(8), 1700000100 + k, hexs(8)), "stratum_submit"), dt=R.uniform(5, 20))
        f.send("s", '{"id":%d,"result":true,"error":null}\n' % (k + 2), dt=0.02)
    f.close(at=f.t + 1)
    return dc


def cap_stratum_zcash():
    dc = DetCap("stratum_zcash", "Zcash Equihash stratum as in nDPI's mining trace: nheqminer "
                "subscribe (no subscription list in the reply), extranonce.subscribe, authorize, "
                "set_target, notify, 1.4 kB-solution submits crossing segments and the window")
    c, pool = "10.10.1.7", "203.0.113.70"
    dns_udp(dc, c, RESOLVER, "eu1-zcash.flypool.org", G.T0 + 0.1, tags=("dns_pool_name",))
    f = dc.tcp(c, pool, 3333, G.T0 + 0.2, rtt=0.04)
    f.send("c", M('{"id": 1, "method": "mining.subscribe", "params": ["nheqminer/0.5c", null, '
                  '"eu1-zcash.flypool.org", "3333"]}\n', "stratum_subscribe", "miner_agent"), dt=0.001)
    f.send("s", '{"id":1,"result":[null,"0d6e"],"error":null}\n', dt=0.04)
    f.send("c", M('{"id": 2, "method": "mining.extranonce.subscribe", "params": []}\n',
                  "stratum_extranonce_subscribe"), dt=0.001)
    worker = "t1" + "".join(R.choice(B58) for _ in range(33)) + ".rig1"
    f.send("c", M('{"id": 3, "method": "mining.authorize", "params": ["%s", "x"]}\n' % worker,
                  "stratum_authorize"), dt=0.001)
    f.send("s", '{"id":2,"result":true,"error":null}\n{"id":3,"result":true,"error":null}\n', dt=0.04)
    f.send("s", M('{"id":null,"method":"mining.set_target","params":["0083126e978d4fdf3b645a1cac083126e978d4fdf3b645a1cac083126e978d4f"]}\n',
                  "stratum_set_target"), dt=0.001)

    def notify(jid):
        return ('{"id":null,"method":"mining.notify","params":["%x","04000000","%s","%s","%s","%08x","1c0216c4",true]}\n'
                % (jid, hexs(64), hexs(64), "0" * 64, 1700000000 + jid))
    jid = 0x4f18
    f.send("s", M(notify(jid), "stratum_notify"), dt=0.001)
    t, rid = 0.0, 4
    while t < 150.0:
        t += R.uniform(15, 40)
        if R.random() < 0.4:
            jid += 1
            f.send("s", notify(jid), at=G.T0 + t)
            continue
        sol = "fd4005" + hexs(2688)
        msg = cat('{"id": %d, ' % rid, X('"method": "mining.submit"', "stratum_submit"),
                  ', "params": ["%s", "%x", "%08x", "%s", "%s"]}\n' % (worker, jid, 1700000000 + jid,
                                                                      hexs(56), sol))
        f.send("c", msg, at=G.T0 + t)
        f.send("s", '{"id":%d,"result":true,"error":null}\n' % rid, dt=0.04)
        rid += 1
    f.close(at=G.T0 + 155.0)
    return dc


def cap_eth_proxy():
    dc = DetCap("eth_proxy", "eth-proxy (Claymore and PhoenixMiner style, \"worker\": \"eth1.0\"): "
                "eth_submitLogin, eth_getWork, pushed work, eth_submitHashrate, eth_submitWork")
    c, pool = "10.10.2.8", "203.0.113.80"
    f = dc.tcp(c, pool, 9999, G.T0 + 0.3, rtt=0.05)
    wallet = "0x" + hexs(40)
    f.send("c", M('{"worker": "eth1.0", "jsonrpc": "2.0", "params": ["%s", "x"], "id": 2, '
                  '"method": "eth_submitLogin"}\n' % wallet, "eth_submit_login"), dt=0.001)
    f.send("s", '{"id":2,"jsonrpc":"2.0","result":true}\n', dt=0.05)
    f.send("c", M('{"worker": "", "jsonrpc": "2.0", "params": [], "id": 3, "method": "eth_getWork"}\n',
                  "eth_get_work"), dt=0.001)

    def work(i):
        return '{"id":%d,"jsonrpc":"2.0","result":["0x%s","0x%s","0x00000000%s","0x%x"]}\n' % (
            i, hexs(64), hexs(64), hexs(56), 18600000 + R.randrange(100))
    f.send("s", work(3), dt=0.05)
    hr_id = hexs(64)
    t = 0.0
    k = 0
    while t < 200.0:
        t += R.uniform(10, 20)
        k += 1
        if k % 3 == 0:
            f.send("c", M('{"id": 6, "jsonrpc": "2.0", "method": "eth_submitHashrate", "params": ["0x%064x", '
                          '"0x%s"], "worker": "eth1.0"}\n' % (R.randrange(10 ** 8, 10 ** 9), hr_id),
                          "eth_submit_hashrate"), at=G.T0 + t)
            f.send("s", '{"id":6,"jsonrpc":"2.0","result":true}\n', dt=0.05)
        elif k % 3 == 1:
            f.send("s", work(0), at=G.T0 + t)
        else:
            f.send("c", M('{"id": 4, "jsonrpc": "2.0", "method": "eth_submitWork", "params": ["0x%s", "0x%s", '
                          '"0x%s"], "worker": "eth1.0"}\n' % (hexs(16), hexs(64), hexs(64)),
                          "eth_submit_work"), at=G.T0 + t)
            f.send("s", '{"id":4,"jsonrpc":"2.0","result":true}\n', dt=0.05)
    f.close(at=G.T0 + 205.0)
    # PhoenixMiner: method first, and no pushed work in the window
    c = "10.10.2.9"
    f = dc.tcp(c, "203.0.113.81", 4444, G.T0 + 2.0)
    f.send("c", M('{"id":1,"jsonrpc":"2.0","method":"eth_submitLogin","worker":"rig9","params":["%s.rig9","x"]}\n'
                  % wallet, "eth_submit_login"), dt=0.001)
    f.send("s", '{"id":1,"jsonrpc":"2.0","result":true}\n', dt=0.02)
    f.send("c", M('{"id":2,"jsonrpc":"2.0","method":"eth_getWork","params":[]}\n', "eth_get_work"), dt=0.001)
    f.send("s", work(2), dt=0.02)
    f.send("c", M('{"id":3,"jsonrpc":"2.0","method":"eth_submitHashrate","params":["0x%064x","0x%s"]}\n'
                  % (R.randrange(10 ** 8, 10 ** 9), hexs(64)), "eth_submit_hashrate"), dt=30.0)
    f.send("s", '{"id":3,"jsonrpc":"2.0","result":true}\n', dt=0.02)
    f.close(at=f.t + 5)
    return dc


def cap_eth_nicehash():
    dc = DetCap("eth_nicehash", "NiceHash EthereumStratum/1.0.0: subscribe with "
                "[\"MinerName/1.0.0\",\"EthereumStratum/1.0.0\"], extranonce.subscribe, authorize, "
                "set_difficulty, notify, submits for 2 minutes")
    c, pool = "10.10.3.4", "203.0.113.90"
    f = dc.tcp(c, pool, 3353, G.T0 + 1.0, rtt=0.03)
    f.send("c", M('{"id": 1, "method": "mining.subscribe", "params": ["MinerName/1.0.0", "EthereumStratum/1.0.0"]}\n',
                  "stratum_subscribe", "eth_stratum_nicehash"), dt=0.001)
    f.send("s", M('{"id": 1, "result": [["mining.notify", "ae6812eb4cd7735a302a8a9dd95cf71f", '
                  '"EthereumStratum/1.0.0"], "080c"], "error": null}\n',
                  "stratum_subscribe_reply", "eth_stratum_nicehash"), dt=0.03)
    f.send("c", M('{"id": 2, "method": "mining.extranonce.subscribe", "params": []}\n',
                  "stratum_extranonce_subscribe"), dt=0.001)
    f.send("c", M('{"id": 3, "method": "mining.authorize", "params": ["3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy.worker1", "x"]}\n',
                  "stratum_authorize"), dt=0.001)
    f.send("s", '{"id": 2, "result": true, "error": null}\n{"id": 3, "result": true, "error": null}\n', dt=0.03)
    f.send("s", M('{"id": null, "method": "mining.set_difficulty", "params": [0.5]}\n',
                  "stratum_set_difficulty"), dt=0.001)

    def notify():
        return ('{"id": null, "method": "mining.notify", "params": ["%s", "%s", "%s", true]}\n'
                % (hexs(8), hexs(64), hexs(64)))
    f.send("s", M(notify(), "stratum_notify"), dt=0.001)
    t, rid = 0.0, 4
    while t < 120.0:
        t += R.uniform(4, 15)
        if R.random() < 0.35:
            f.send("s", notify(), at=G.T0 + 1 + t)
        else:
            f.send("c", M('{"id": %d, "method": "mining.submit", "params": ["3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy.worker1", '
                          '"%s", "%s"]}\n' % (rid, hexs(8), hexs(12)), "stratum_submit"), at=G.T0 + 1 + t)
            f.send("s", '{"id": %d, "result": true, "error": null}\n' % rid, dt=0.03)
            rid += 1
    f.close(at=G.T0 + 125)
    return dc


def http_req(method, path, host, headers, body=b""):
    h = "%s %s HTTP/1.1\r\nHost: %s\r\n" % (method, path, host)
    for k, v in headers:
        h += "%s: %s\r\n" % (k, v)
    if body:
        h += "Content-Length: %d\r\n" % len(_b(body))
    return (h + "\r\n").encode() + _b(body)


def http_resp(status, headers, body=b""):
    h = "HTTP/1.1 %s\r\n" % status
    for k, v in headers:
        h += "%s: %s\r\n" % (k, v)
    h += "Content-Length: %d\r\n\r\n" % len(_b(body))
    return h.encode() + _b(body)


def cap_http_getwork():
    dc = DetCap("http_getwork", "HTTP mining: cgminer getwork with X-Mining-Extensions and an "
                "X-Stratum reply; bfgminer getblocktemplate then submitblock on a kept-alive connection")
    c, srv = "10.10.4.2", "192.0.2.80"
    f = dc.tcp(c, srv, 8332, G.T0 + 0.5, rtt=0.01)
    hdrs = [("Authorization", "Basic dXNlcjp4"), ("Accept", "*/*"), ("Accept-Encoding", "deflate, gzip"),
            ("Content-type", "application/json"),
            ("X-Mining-Extensions", "longpoll midstate rollntime submitold"),
            ("X-Mining-Hashrate", "380000000"), ("User-Agent", "cgminer/2.11.4")]
    body = '{"method": "getwork", "params": [], "id":0}'
    req = http_req("POST", "/", "192.0.2.80:8332", hdrs, body)
    hp, bp = req.split(b"\r\n\r\n", 1)
    f.send("c", cat(M(hp + b"\r\n\r\n", "http_mining_extensions", "http_miner_ua"), M(bp, "http_getwork")),
           dt=0.001)
    work = ('{"result":{"midstate":"%s","data":"%s","hash1":"%s","target":"%s"},"error":null,"id":0}'
            % (hexs(64), "00000002" + hexs(248), "0" * 64 + "0000008000000000000000000000000000000000000000000000000000010000",
               "ffffffffffffffffffffffffffffffffffffffffffffffffffffffff00000000"))
    resp = http_resp("200 OK", [("Server", "ckpool"), ("Content-Type", "application/json"),
                                ("X-Long-Polling", "/LP"), ("X-Roll-NTime", "expire=120"),
                                ("X-Stratum", "stratum+tcp://192.0.2.80:3333")], work)
    f.send("s", M(resp, "http_stratum_header"), dt=0.01)
    # the found share goes back through getwork with the data parameter
    body = '{"method": "getwork", "params": ["%s"], "id":1}' % ("00000002" + hexs(248))
    f.send("c", http_req("POST", "/", "192.0.2.80:8332", hdrs, body), dt=7.3)
    f.send("s", http_resp("200 OK", [("Server", "ckpool"), ("Content-Type", "application/json")],
                          '{"result":true,"error":null,"id":1}'), dt=0.01)
    f.close(at=f.t + 1)

    c, srv = "10.10.4.3", "192.0.2.81"
    f = dc.tcp(c, srv, 8332, G.T0 + 3.0, rtt=0.002)
    hdrs = [("User-Agent", "bfgminer/5.5.0"), ("Authorization", "Basic Yml0Y29pbnJwYzpwYXNz"),
            ("Accept", "*/*"), ("Content-Type", "application/json"),
            ("X-Mining-Extensions", "longpoll midstate rollntime submitold"), ("X-Mining-Hashrate", "14000000000000")]
    body = ('{"id": 0, "method": "getblocktemplate", "params": [{"capabilities": ["coinbasetxn", "workid", '
            '"coinbase/append"], "maxversion": 4, "rules": ["segwit"]}]}')
    req = http_req("POST", "/", "192.0.2.81:8332", hdrs, body)
    hp, bp = req.split(b"\r\n\r\n", 1)
    f.send("c", cat(M(hp + b"\r\n\r\n", "http_mining_extensions", "http_miner_ua"),
                    M(bp, "http_getblocktemplate")), dt=0.001)
    tmpl = {"result": {"capabilities": ["proposal"], "version": 536870912, "rules": ["csv", "!segwit", "taproot"],
                       "vbavailable": {}, "vbrequired": 0, "previousblockhash": "00000000000000000001" + hexs(44),
                       "transactions": [{"data": hexs(450), "txid": hexs(64), "hash": hexs(64), "depends": [],
                                         "fee": 2210, "sigops": 4, "weight": 561} for _ in range(3)],
                       "coinbaseaux": {}, "coinbasevalue": 625012345, "longpollid": hexs(64) + "7",
                       "target": "0000000000000000000412440000000000000000000000000000000000000000",
                       "mintime": 1699999000, "mutable": ["time", "transactions", "prevblock"],
                       "noncerange": "00000000ffffffff", "sigoplimit": 80000, "sizelimit": 4000000,
                       "weightlimit": 4000000, "curtime": 1700000003, "bits": "17041244", "height": 817000,
                       "default_witness_commitment": "6a24aa21a9ed" + hexs(64)},
            "error": None, "id": 0}
    f.send("s", http_resp("200 OK", [("Content-Type", "application/json"), ("Date", "Tue, 14 Nov 2023 22:13:23 GMT")],
                          json.dumps(tmpl)), dt=0.005)
    body = '{"id": 1, "method": "submitblock", "params": ["%s"]}' % ("00000020" + hexs(136) + "01" + hexs(400))
    req = http_req("POST", "/", "192.0.2.81:8332", hdrs, body)
    hp, bp = req.split(b"\r\n\r\n", 1)
    f.send("c", cat(hp + b"\r\n\r\n", M(bp, "http_submitblock")), dt=41.0)
    f.send("s", http_resp("200 OK", [("Content-Type", "application/json")], '{"result":null,"error":null,"id":1}'),
           dt=0.01)
    f.close(at=f.t + 2)
    return dc


def sv2_standard_session(dc, c, s, port, t0, duration=120.0):
    """A mining device with a standard channel: header-only mining (HOM)."""
    f = dc.tcp(c, s, port, t0, rtt=0.001)
    f.send("c", M(sv2_setup_connection("192.168.50.2", port, "Bitmain", "S19 Pro", "braiins-os-2023-06-21",
                                       "s19pro-rack3-17"), "sv2_setup"), dt=0.001)
    f.send("s", sv2_frame(0x01, u16(2) + u32(0)), dt=0.002)
    ch = sv2_frame(0x10, u32(1) + str0_255("braiinstest.worker1") + f32(110e12) + u256_target(0))
    f.send("c", M(ch, "sv2_mining"), dt=0.001)
    ok = sv2_frame(0x11, u32(1) + u32(7) + u256_target(4) + bytes([8]) + rbytes(8) + u32(0))
    job = sv2_frame(0x15, u32(7) + u32(1) + u8(0) + u32(0x20000000) + rbytes(32), channel=True)
    prev = sv2_frame(0x20, u32(7) + u32(1) + rbytes(28) + bytes(4) + u32(1700000000) + u32(0x17053894), channel=True)
    f.send("s", M(ok + job + prev, "sv2_mining"), dt=0.002)
    t, seq, jid = 0.0, 0, 1
    while t < duration:
        t += R.uniform(2, 9)
        r = R.random()
        if r < 0.15:
            jid += 1
            f.send("s", sv2_frame(0x15, u32(7) + u32(jid) + u8(1) + u32(1700000000 + int(t)) + u32(0x20000000) +
                                  rbytes(32), channel=True), at=t0 + t)
        elif r < 0.2:
            f.send("s", sv2_frame(0x21, u32(7) + u256_target(5), channel=True), at=t0 + t)
        else:
            seq += 1
            f.send("c", sv2_frame(0x1a, u32(7) + u32(seq) + u32(jid) + u32(R.randrange(1 << 32)) +
                                  u32(1700000000 + int(t)) + u32(0x20000000 | R.randrange(1 << 13) << 13), channel=True),
                   at=t0 + t)
            if seq % 5 == 0:
                f.send("s", sv2_frame(0x1c, u32(7) + u32(seq) + u32(5) + u64(5 * 65536), channel=True), dt=0.001)
    f.close(at=t0 + duration + 1)


def sv2_extended_session(dc, c, s, port, t0, duration=90.0):
    """A translator/proxy with an extended channel (SubmitSharesExtended)."""
    f = dc.tcp(c, s, port, t0, rtt=0.002)
    f.send("c", M(sv2_setup_connection("10.10.5.1", port, "SRI", "translator", "v1.0.0", "tproxy-01", flags=4),
                  "sv2_setup"), dt=0.001)
    f.send("s", sv2_frame(0x01, u16(2) + u32(0)), dt=0.003)
    f.send("c", M(sv2_frame(0x13, u32(1) + str0_255("sri/translator/farm-a") + f32(2.5e15) + u256_target(0) + u16(8)),
                  "sv2_mining"), dt=0.001)
    ok = sv2_frame(0x14, u32(1) + u32(3) + u256_target(3) + u16(8) + bytes([8]) + rbytes(8))
    cb_pre = bytes.fromhex("02000000010000000000000000000000000000000000000000000000000000000000000000ffffffff")
    job = sv2_frame(0x1f, u32(3) + u32(1) + u8(0) + u32(0x20000000) + u8(1) + bytes([2]) + rbytes(64) +
                    u16(len(cb_pre) + 8) + cb_pre + rbytes(8) + u16(60) + rbytes(60), channel=True)
    prev = sv2_frame(0x20, u32(3) + u32(1) + rbytes(28) + bytes(4) + u32(1700000000) + u32(0x17053894), channel=True)
    f.send("s", M(ok + job + prev, "sv2_mining"), dt=0.003)
    t, seq = 0.0, 0
    while t < duration:
        t += R.uniform(3, 12)
        seq += 1
        f.send("c", sv2_frame(0x1b, u32(3) + u32(seq) + u32(1) + u32(R.randrange(1 << 32)) + u32(1700000000 + int(t)) +
                              u32(0x20000000) + bytes([8]) + rbytes(8), channel=True), at=t0 + t)
    f.close(at=t0 + duration + 1)


def cap_sv2_plain():
    dc = DetCap("sv2_plain", "Stratum V2 plaintext on a LAN: a device on a standard channel "
                "(SetupConnection, OpenStandardMiningChannel, NewMiningJob, SetNewPrevHash, "
                "SubmitSharesStandard, SetTarget) and a proxy on an extended channel")
    sv2_standard_session(dc, "192.168.50.17", "192.168.50.2", 34255, G.T0 + 0.5)
    sv2_extended_session(dc, "192.168.50.2", "192.168.50.3", 34265, G.T0 + 10.0)
    return dc


def cap_sv2_noise():
    dc = DetCap("sv2_noise", "Stratum V2 over Noise to a remote pool: 64-byte act 1, 234-byte act 2, "
                "then encrypted frames for 2 minutes")
    f = dc.tcp("10.10.6.2", "203.0.113.100", 34254, G.T0 + 0.5, rtt=0.06)
    f.send("c", noise_bytes(64), dt=0.001)
    f.send("s", M(noise_bytes(234), "sv2_noise"), dt=0.06)

    def enc(n):
        return noise_bytes(22) + rbytes(n + 16)
    f.send("c", enc(79), dt=0.002)  # SetupConnection
    f.send("s", enc(6), dt=0.06)
    f.send("c", enc(62), dt=0.001)  # OpenStandardMiningChannel
    f.send("s", enc(57) + enc(45) + enc(48), dt=0.06)
    t = 0.0
    while t < 120.0:
        t += R.uniform(2, 10)
        if R.random() < 0.2:
            f.send("s", enc(45), at=G.T0 + 1 + t)
        else:
            f.send("c", enc(24), at=G.T0 + 1 + t)
    f.close(at=G.T0 + 125)
    return dc


COINHIVE_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Ten easy weeknight dinners | Kitchen Notes</title>
<link rel="stylesheet" href="/static/css/theme.css?v=3">
<script src="https://coinhive.com/lib/coinhive.min.js"></script><script>var miner = new CoinHive.Anonymous('%s');miner.start();</script>
<meta name="viewport" content="width=device-width, initial-scale=1">
</head>
<body>
<header><h1>Kitchen Notes</h1><nav><a href="/">Home</a> <a href="/recipes/">Recipes</a> <a href="/about/">About</a></nav></header>
<article>
<h2>Ten easy weeknight dinners</h2>
%s
</article>
<footer>&copy; 2018 Kitchen Notes</footer>
</body>
</html>
"""

LOREM = ("Start with a hot pan and a little oil. Onions, garlic and a pinch of salt go in first; "
         "the rest of the vegetables follow once the onions soften. Season at the end, taste, and "
         "adjust. Leftovers keep for three days in the fridge and make a good lunch. ")


def cap_browser_coinhive():
    dc = DetCap("browser_coinhive", "Coinhive browser miner: page with the script from a non-pool "
                "site, script over TLS from coinhive.com, WebSocket /proxy on ws013.coinhive.com "
                "with auth/authed/job/submit/hash_accepted frames for 2.5 minutes")
    c = "192.168.20.15"
    site_key = "p9rW" + b64id(28).replace("+", "k").replace("/", "q")
    dns_udp(dc, c, RESOLVER, "blog.example.com", G.T0 + 0.1)
    f = dc.tcp(c, "192.0.2.120", 80, G.T0 + 0.15, rtt=0.02)
    f.send("c", http_req("GET", "/2018/03/ten-easy-weeknight-dinners.html", "blog.example.com",
                         [("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                                         "Chrome/64.0.3282.186 Safari/537.36"),
                          ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
                          ("Accept-Language", "en-US,en;q=0.9"), ("Connection", "keep-alive")]), dt=0.001)
    paras = "\n".join("<p>%s</p>" % (LOREM * R.randrange(2, 5)) for _ in range(12))
    page = COINHIVE_PAGE % (site_key, paras)
    head, rest = page.split("<script src=", 1)
    scripts, rest = ("<script src=" + rest).split("\n", 1)
    hdr = http_resp("200 OK", [("Server", "Apache/2.4.29 (Ubuntu)"), ("Content-Type", "text/html; charset=UTF-8"),
                               ("Last-Modified", "Mon, 12 Mar 2018 09:14:02 GMT")], page)
    hdr = hdr[:len(hdr) - len(page.encode())]
    f.send("s", cat(hdr + head.encode(), M(scripts, "web_miner_script"), "\n" + rest), dt=0.02)
    f.close(at=f.t + 0.3)
    dns_udp(dc, c, RESOLVER, "coinhive.com", G.T0 + 0.4, tags=("dns_pool_name",))
    tls_session(dc, c, "192.0.2.121", 443, G.T0 + 0.42, "coinhive.com", tags=("tls_sni_pool",), kind="chrome",
                server_bytes=3800)
    dns_udp(dc, c, RESOLVER, "ws013.coinhive.com", G.T0 + 0.9, tags=("dns_pool_name",))
    ws_miner_session(dc, c, "ws013.coinhive.com", "192.0.2.122", 80, G.T0 + 0.95, duration=150.0,
                     upgrade_tags=("ws_pool_upgrade", "http_host_pool"), origin="http://blog.example.com")
    return dc


def cap_ws_miner_other():
    dc = DetCap("ws_miner_other", "Coinhive-protocol WebSocket miner to a host not in the pool list "
                "(ws.example-miner.test:8080): only the frame detectors (and xmr_job on the job frames)")
    c = "192.168.20.16"
    dns_udp(dc, c, RESOLVER, "ws.example-miner.test", G.T0 + 0.1)
    ws_miner_session(dc, c, "ws.example-miner.test:8080", "192.0.2.130", 8080,
                     G.T0 + 0.2, duration=120.0, origin="http://games.example.net", split_submit=True)
    return dc


def cap_ws_deflate():
    dc = DetCap("ws_deflate", "NEGATIVE: the same WebSocket miner with permessage-deflate; every "
                "frame has RSV1 (server frames are stored deflate blocks, so the JSON is legible "
                "in the bytes) and must stay uninspected")
    c, ip, host = "192.168.20.17", "192.0.2.131", "ws2.example-miner.test"
    f = dc.tcp(c, ip, 8080, G.T0 + 0.2, rtt=0.03)
    req, resp = ws_upgrade(host + ":8080", "/proxy", "http://games.example.net", deflate=True)
    f.send("c", req, dt=0.001)
    f.send("s", resp, dt=0.03)
    cz = zlib.compressobj(6, zlib.DEFLATED, -15)
    sz = zlib.compressobj(0, zlib.DEFLATED, -15)  # stored blocks: the JSON stays legible

    def deflate(z, text):
        out = z.compress(_b(text)) + z.flush(zlib.Z_SYNC_FLUSH)
        assert out.endswith(b"\x00\x00\xff\xff")
        return out[:-4]
    auth = jd({"type": "auth", "params": {"site_key": b64id(32), "type": "anonymous", "user": None, "goal": 0}})
    f.send("c", ws_frame(deflate(cz, auth), True, rsv1=True), dt=0.01)
    f.send("s", ws_frame(deflate(sz, jd({"type": "authed", "params": {"token": "", "hashes": 0}})), False, rsv1=True),
           dt=0.03)
    j = {"type": "job", "params": {"job_id": b64id(24), "blob": xmr_blob(), "target": "ffffff00"}}
    f.send("s", ws_frame(deflate(sz, jd(j)), False, rsv1=True), dt=0.001)
    t, hashes = 0.0, 0
    while t < 90.0:
        t += R.uniform(8, 20)
        if R.random() < 0.3:
            j = {"type": "job", "params": {"job_id": b64id(24), "blob": xmr_blob(), "target": "ffffff00"}}
            f.send("s", ws_frame(deflate(sz, jd(j)), False, rsv1=True), at=G.T0 + t)
            continue
        sub = jd({"type": "submit", "params": {"job_id": j["params"]["job_id"], "nonce": hexs(8), "result": hexs(64)}})
        f.send("c", ws_frame(deflate(cz, sub), True, rsv1=True), at=G.T0 + t)
        hashes += 256
        f.send("s", ws_frame(deflate(sz, jd({"type": "hash_accepted", "params": {"hashes": hashes}})), False,
                             rsv1=True), dt=0.03)
    f.close(at=G.T0 + 95)
    return dc


def cap_dns_pool():
    dc = DetCap("dns_pool", "DNS lookups of pool names: UDP and TCP/53 (length prefix in its own "
                "segment once), IPv4 and IPv6 transport, A and AAAA on one socket (one flow, one event)")
    T = G.T0
    dns_udp(dc, "192.168.30.10", RESOLVER, "xmr-eu1.nanopool.org", T + 0.5, tags=("dns_pool_name",))
    dns_udp(dc, "192.168.30.10", RESOLVER, "www.example.org", T + 0.7)
    # glibc: A and AAAA from the same socket, one flow
    f = dns_udp(dc, "192.168.30.11", RESOLVER, "pool.minexmr.com", T + 1.0, tags=("dns_pool_name",))
    dns_udp(dc, "192.168.30.11", RESOLVER, "pool.minexmr.com", T + 1.0001, qtype="AAAA", tags=("dns_pool_name",),
            flow=f)
    dns_udp(dc, "192.168.30.12", RESOLVER, "f2pool.com", T + 2.0, tags=("dns_pool_name",))
    dns_udp(dc, "2001:db8:30::12", RESOLVER6, "gulf.moneroocean.stream", T + 3.0, qtype="AAAA",
            tags=("dns_pool_name",))
    dns_udp(dc, "2001:db8:30::13", RESOLVER6, "us-eth.2miners.com", T + 3.5, tags=("dns_pool_name",))
    dns_tcp(dc, "192.168.30.14", RESOLVER, "xmr.herominers.com", T + 4.0, tags=("dns_pool_name",), split_len=True)
    dns_tcp(dc, "192.168.30.15", RESOLVER, "eu1.ethermine.org", T + 4.5, tags=("dns_pool_name",))
    dns_tcp(dc, "2001:db8:30::16", RESOLVER6, "daggerhashimoto.eu.nicehash.com", T + 5.0, qtype="AAAA",
            tags=("dns_pool_name",))
    dns_udp(dc, "192.168.30.17", RESOLVER, "ws001.crypto-loot.com", T + 6.0, tags=("dns_pool_name",))
    dns_udp(dc, "192.168.30.18", RESOLVER, "pool.hashvault.pro", T + 7.0, tags=("dns_pool_name",))
    return dc


def cap_tls_sni_pool():
    dc = DetCap("tls_sni_pool", "TLS ClientHello with a pool SNI: plain, split over 3 TCP segments "
                "(cut inside the name), split over 2 TLS records (cut inside the name), a 1.8 kB "
                "post-quantum hello over 2 segments, IPv6, and XMRig TLS on 14433")
    T = G.T0
    tls_session(dc, "192.168.40.10", "203.0.113.110", 443, T + 0.5, "xmr.2miners.com", tags=("tls_sni_pool",))
    tls_session(dc, "192.168.40.11", "203.0.113.111", 443, T + 1.0, "de.herominers.com", tags=("tls_sni_pool",),
                cuts="sni")
    tls_session(dc, "192.168.40.12", "203.0.113.112", 443, T + 1.5, "pool.hashvault.pro", tags=("tls_sni_pool",),
                rec_split="sni")
    tls_session(dc, "192.168.40.13", "203.0.113.113", 443, T + 2.0, "www.f2pool.com", tags=("tls_sni_pool",),
                kind="chrome")
    tls_session(dc, "2001:db8:40::14", "2001:db8:4000::113", 443, T + 2.5, "xmr.pool.minergate.com",
                tags=("tls_sni_pool",))
    tls_session(dc, "192.168.40.15", "203.0.113.114", 14433, T + 3.0, "xmr-eu1.nanopool.org", tags=("tls_sni_pool",),
                app=4)
    tls_session(dc, "192.168.40.16", "203.0.113.115", 443, T + 3.5, "www.example.com")
    return dc


def cap_http_host_pool():
    dc = DetCap("http_host_pool", "HTTP requests whose Host is a pool: plain, with a port (stripped), "
                "a lower-case 'host:' header, IPv6; and one non-pool Host next to them")
    T = G.T0
    ua = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
    f = dc.tcp("192.168.41.10", "203.0.113.120", 80, T + 0.5)
    f.send("c", M(http_req("GET", "/", "supportxmr.com", [("User-Agent", ua), ("Accept", "text/html")]),
                  "http_host_pool"), dt=0.001)
    f.send("s", http_resp("301 Moved Permanently", [("Server", "nginx"), ("Location", "https://supportxmr.com/")],
                          "<html><body>Moved</body></html>\r\n"), dt=0.02)
    f.close()
    f = dc.tcp("192.168.41.11", "203.0.113.121", 8080, T + 1.0)
    f.send("c", M(http_req("GET", "/api/v1/load_account/4%s" % hexs(20), "xmr.nanopool.org:8080",
                           [("User-Agent", "curl/7.88.1"), ("Accept", "*/*")]), "http_host_pool"), dt=0.001)
    f.send("s", http_resp("200 OK", [("Content-Type", "application/json")],
                          '{"status":true,"data":{"balance":"0.01123","hashrate":"1.2"}}'), dt=0.05)
    f.close()
    f = dc.tcp("192.168.41.12", "203.0.113.122", 80, T + 1.5)
    f.send("c", M(b"GET /api/stats HTTP/1.1\r\nhost: moneroocean.stream\r\nuser-agent: node-fetch/1.0\r\n"
                  b"accept: */*\r\nconnection: close\r\n\r\n", "http_host_pool"), dt=0.001)
    f.send("s", http_resp("200 OK", [("Content-Type", "application/json")], '{"pool_statistics":{"hashRate":1}}'),
           dt=0.05)
    f.close(who="s")
    f = dc.tcp("2001:db8:41::13", "2001:db8:4000::122", 80, T + 2.0)
    f.send("c", M(http_req("GET", "/", "www.f2pool.com", [("User-Agent", ua)]), "http_host_pool"), dt=0.001)
    f.send("s", http_resp("301 Moved Permanently", [("Location", "https://www.f2pool.com/")], ""), dt=0.05)
    f.close()
    f = dc.tcp("192.168.41.14", "203.0.113.123", 80, T + 2.5)
    f.send("c", http_req("GET", "/", "nanopool.org.example.com", [("User-Agent", ua)]), dt=0.001)
    f.send("s", http_resp("200 OK", [("Content-Type", "text/html")], "<html>parked</html>"), dt=0.05)
    f.close()
    return dc


def cap_pool_ip(detdir):
    path = os.path.abspath(os.path.join(detdir, "pools_test.ips"))
    with open(path, "w") as fh:
        fh.write("# pools_test.ips: pool networks for the pool_ip test capture (documentation ranges)\n"
                 "198.51.100.0/24\n2001:db8:77::/48\n")
    nets = ["198.51.100.0/24", "2001:db8:77::/48"]
    dc = DetCap("pool_ip", "Flows to and from addresses in pools_test.ips (IPv4 /24, IPv6 /48): XMRig "
                "TLS without SNI, UDP, an unanswered SYN, an inbound flow; neighbours just outside stay silent",
                pool_nets=nets, settings={"pools_ips": path})
    T = G.T0
    tls_session(dc, "10.20.0.5", "198.51.100.23", 3333, T + 0.5, None, app=3)
    f = dc.udp("10.20.0.6", "198.51.100.200", 123, T + 1.0, cport=123)
    for k in range(3):  # NTP client/server
        f.send("c", b"\x23" + bytes(39) + rbytes(8), dt=0.01 if k == 0 else 64.0)
        f.send("s", b"\x24\x02\x00\xe7" + bytes(8) + b"\xc6\x33\x64\x01" + rbytes(32), dt=0.03)
    tls_session(dc, "2001:db8:20::7", "2001:db8:77::15", 3333, T + 1.5, None)
    dc.tcp("10.20.0.8", "198.51.100.99", 3333, T + 2.0, answer=False)
    f = dc.tcp("198.51.100.9", "10.20.0.9", 22, T + 2.5)
    f.send("s", b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2\r\n", dt=0.001)
    f.send("c", b"SSH-2.0-libssh2_1.10.0\r\n", dt=0.01)
    f.close(who="c")
    # just outside the lists
    tls_session(dc, "10.20.0.5", "198.51.101.23", 3333, T + 3.0, None)
    tls_session(dc, "10.20.0.5", "198.51.99.255", 443, T + 3.5, "www.example.com")
    tls_session(dc, "2001:db8:20::7", "2001:db8:78::15", 3333, T + 4.0, None)
    tls_session(dc, "2001:db8:20::7", "2001:db8:76:ffff:ffff:ffff:ffff:ffff", 443, T + 4.5, "www.example.org")
    return dc


def cap_stratum_variants():
    dc = DetCap("stratum_variants", "Stratum/XMRig variations that must still fire: odd spacing, "
                "tabs, CRLF between keys, unusual key order, the method name split across TCP "
                "segments, ports 443, 80, 14444 and 45700")
    T = G.T0
    # port 443, plaintext stratum; spaces and tabs around ':' and ','
    f = dc.tcp("10.40.0.2", "203.0.113.140", 443, T + 0.5)
    f.send("c", M('{"id" : 1 ,  "method" :  "mining.subscribe" , "params" : [ "cpuminer-opt/3.23.1" ] }\n',
                  "stratum_subscribe", "miner_agent"), dt=0.001)
    f.send("s", M(json.dumps({"id": 1, "result": [[["mining.set_difficulty", "1"], ["mining.notify", hexs(16)]],
                                                  "a1b2c3d4", 4], "error": None}) + "\n",
                  "stratum_subscribe_reply"), dt=0.03)
    f.send("c", M('{"params":["user.worker","x"],"id":2,"method":"mining.authorize"}\n', "stratum_authorize"), dt=0.001)
    f.send("s", json.dumps({"id": 2, "result": True, "error": None}) + "\n", dt=0.03)
    f.send("s", M('{"id":\tnull,\t"method"\t:\t"mining.set_difficulty",\t"params":\t[4]}\n',
                  "stratum_set_difficulty"), dt=0.001)
    f.send("s", M(btc_notify("3e", True, 3), "stratum_notify"), dt=0.001)
    f.send("c", M('{"params": ["user.worker", "3e", "%s", "%08x", "%s"],\r\n "id": 4,\r\n "method":\r\n '
                  '"mining.submit"}\n' % (hexs(8), 1700000001, hexs(8)), "stratum_submit"), dt=12.0)
    f.send("s", '{"id":4,"result":true,"error":null}\n', dt=0.03)
    f.close(at=f.t + 1)
    # port 80: pretty-printed (indent, CRLF) client, no HTTP in sight
    f = dc.tcp("10.40.0.3", "203.0.113.141", 80, T + 1.0)
    f.send("c", M('{\r\n  "id": 1,\r\n  "method": "mining.subscribe",\r\n  "params": [\r\n    "ccminer/2.3.1"\r\n  ]\r\n}\n',
                  "stratum_subscribe", "miner_agent"), dt=0.001)
    f.send("s", M('{"id":1,"result":[["mining.notify","%s"],"%s",4],"error":null}\n' % (hexs(16), hexs(8)),
                  "stratum_subscribe_reply"), dt=0.03)
    f.send("c", M('{\r\n  "params": [\r\n    "rvn.rig",\r\n    "x"\r\n  ],\r\n  "id": 2,\r\n  "method"\r\n  :\r\n  '
                  '"mining.authorize"\r\n}\n', "stratum_authorize"), dt=0.001)
    f.send("s", '{"id":2,"result":true,"error":null}\n', dt=0.03)
    f.close(at=f.t + 1)
    # port 14444: XMRig login split inside "login" (the method value)
    login_probe = jd({"id": 1, "jsonrpc": "2.0", "method": "lo"})
    xmrig_session(dc, "10.40.0.4", "203.0.113.142", 14444, T + 2.0, duration=130.0,
                  login_cuts=[len(login_probe) - 2])
    # port 45700: mining.subscribe split across segments in the middle of the method name
    f = dc.tcp("10.40.0.5", "203.0.113.143", 45700, T + 3.0)
    m = '{"id": 1, "method": "mining.subscribe", "params": ["cgminer/4.9.2"]}\n'
    f.send("c", M(m, "stratum_subscribe", "miner_agent"), dt=0.001, cuts=[m.index("mining.sub") + 10, m.index("scribe") + 3])
    f.send("s", M('{"id":1,"result":[[["mining.notify","%s"]],"%s",4],"error":null}\n' % (hexs(16), hexs(8)),
                  "stratum_subscribe_reply"), dt=0.03)
    m = '{"id": 2, "method": "mining.authorize", "params": ["w.1", "x"]}\n'
    f.send("c", M(m, "stratum_authorize"), dt=0.001, cuts=[m.index("mining.") + 3])
    f.send("s", '{"id":2,"result":true,"error":null}\n', dt=0.03)
    f.close(at=f.t + 1)
    return dc


def cap_v6_vlan():
    dc = DetCap("v6_vlan", "IPv6 transport and 802.1Q VLAN-tagged frames: stratum over IPv6, XMRig on "
                "VLAN 100, a DNS lookup on VLAN 200 over IPv6, TLS on VLAN 100")
    T = G.T0
    f = dc.tcp("2001:db8:50::20", "2001:db8:3333::1", 3333, T + 0.5)
    f.send("c", M('{"id": 1, "method": "mining.subscribe", "params": ["bfgminer/5.5.0"]}\n',
                  "stratum_subscribe", "miner_agent"), dt=0.001)
    f.send("s", M('{"id":1,"result":[[["mining.set_difficulty","1"],["mining.notify","%s"]],"%s",4],"error":null}\n'
                  % (hexs(16), hexs(8)), "stratum_subscribe_reply"), dt=0.03)
    f.send("c", M('{"id": 2, "method": "mining.authorize", "params": ["v6.rig", "x"]}\n', "stratum_authorize"),
           dt=0.001)
    f.send("s", '{"id":2,"result":true,"error":null}\n', dt=0.03)
    f.send("s", M(btc_notify("aa", True), "stratum_notify"), dt=0.001)
    for k in range(4):
        f.send("c", M('{"id": %d, "method": "mining.submit", "params": ["v6.rig", "aa", "%s", "%08x", "%s"]}\n'
                      % (k + 3, hexs(8), 1700000000 + k, hexs(8)), "stratum_submit"), dt=R.uniform(5, 15))
        f.send("s", '{"id":%d,"result":true,"error":null}\n' % (k + 3), dt=0.03)
    f.close(at=f.t + 1)
    xmrig_session(dc, "10.50.0.21", "203.0.113.150", 3333, T + 1.0, duration=180.0, vlan=100)
    dns_udp(dc, "2001:db8:50::22", RESOLVER6, "xmr.2miners.com", T + 2.0, qtype="AAAA", tags=("dns_pool_name",),
            vlan=200)
    tls_session(dc, "10.50.0.23", "203.0.113.151", 443, T + 3.0, "eu.nicehash.com", tags=("tls_sni_pool",), vlan=100)
    return dc


def cap_late_window():
    dc = DetCap("late_window", "The 2048-byte window: miners behind an HTTP CONNECT proxy whose "
                "Negotiate token pushes mining.subscribe to end exactly at byte 2048 (fires), one byte "
                "later (does not), after 2048 (does not); a sequence hole; a UDP socket past 2048")
    T = G.T0
    proxy = "192.0.2.200"

    def connect_req(token_len):
        tok = base64.b64encode(rbytes(token_len * 3 // 4)).decode()[:token_len]
        return ("CONNECT 203.0.113.160:3333 HTTP/1.1\r\nHost: 203.0.113.160:3333\r\n"
                "Proxy-Authorization: Negotiate %s\r\nProxy-Connection: Keep-Alive\r\n\r\n" % tok).encode()

    def proxied(c, t, method_end):
        """method_end: stream offset where '"method": "mining.subscribe"' ends (None: late)."""
        f = dc.tcp(c, proxy, 3128, t)
        head = '"method": "mining.subscribe"'
        base = len(connect_req(0))
        if method_end is None:
            req = connect_req(2200 - base)
            pre = '{"id": 1, '
        else:
            # fill with the token (a multiple of 4 in base64) and the id's digits
            need = method_end - base - len('{"id": , ') - len(head)
            tok = (need - 1) // 4 * 4
            digits = need - tok
            req = connect_req(tok)
            pre = '{"id": %d, ' % (10 ** (digits - 1))
            assert len(req) + len(pre) + len(head) == method_end
        f.send("c", req, dt=0.001)
        f.send("s", "HTTP/1.1 200 Connection established\r\nProxy-Agent: Squid/5.7\r\n\r\n", dt=0.002)
        f.send("c", cat(pre, X(head, "stratum_subscribe"), ', "params": [', M('"cgminer/4.10.0"', "miner_agent"),
                        ']}\n'), dt=0.01)
        f.send("s", M('{"id":1,"result":[[["mining.set_difficulty","1"],["mining.notify","%s"]],"%s",4],"error":null}\n'
                      % (hexs(16), hexs(8)), "stratum_subscribe_reply"), dt=0.04)
        f.send("c", M('{"id": 2, "method": "mining.authorize", "params": ["late.rig", "x"]}\n', "stratum_authorize"),
               dt=0.001)
        f.send("s", '{"id":2,"result":true,"error":null}\n', dt=0.04)
        f.send("s", M('{"id":null,"method":"mining.set_difficulty","params":[64]}\n', "stratum_set_difficulty"),
               dt=0.001)
        f.send("s", M(btc_notify("5", True), "stratum_notify"), dt=0.001)
        f.send("c", M('{"id": 3, "method": "mining.submit", "params": ["late.rig", "5", "%s", "%08x", "%s"]}\n'
                      % (hexs(8), 1700000000, hexs(8)), "stratum_submit"), dt=9.0)
        f.send("s", '{"id":3,"result":true,"error":null}\n', dt=0.04)
        f.close(at=f.t + 1)
    proxied("10.60.0.2", T + 0.5, WINDOW)
    proxied("10.60.0.3", T + 1.0, WINDOW + 1)
    proxied("10.60.0.4", T + 1.5, None)
    # a hole: the segment with mining.authorize never made it into the capture
    f = dc.tcp("10.60.0.5", "203.0.113.161", 3333, T + 2.0)
    f.send("c", M('{"id": 1, "method": "mining.subscribe", "params": []}\n', "stratum_subscribe"), dt=0.001)
    f.send("s", M('{"id":1,"result":[[["mining.notify","%s"]],"%s",4],"error":null}\n' % (hexs(16), hexs(8)),
                  "stratum_subscribe_reply"), dt=0.03)
    f.lose("c", M('{"id": 2, "method": "mining.authorize", "params": ["hole.rig", "x"]}\n', "stratum_authorize"))
    f.send("c", M('{"id": 3, "method": "mining.extranonce.subscribe", "params": []}\n',
                  "stratum_extranonce_subscribe"), dt=0.001)
    f.send("s", '{"id":2,"result":true,"error":null}\n{"id":3,"result":true,"error":null}\n', dt=0.03)
    f.send("s", M(btc_notify("9", True), "stratum_notify"), dt=0.001)
    f.send("c", M('{"id": 4, "method": "mining.submit", "params": ["hole.rig", "9", "%s", "%08x", "%s"]}\n'
                  % (hexs(8), 1700000000, hexs(8)), "stratum_submit"), dt=5.0)
    f.send("s", '{"id":4,"result":true,"error":null}\n', dt=0.03)
    f.close(at=f.t + 1)
    # a forwarder that keeps one UDP socket to its upstream: a pool name past byte 2048 of the
    # client direction does not fire; the same on a fresh socket does
    fu = dc.udp("10.60.0.6", "192.0.2.53", 53, T + 3.0, cport=5353)
    names = ["www.example.com", "mail.example.org", "cdn.example.net", "ntp.example.com", "api.example.org"]
    k = 0
    while fu.off["c"] < WINDOW + 10:
        n = "host%d.%s" % (k, names[k % len(names)])
        dns_udp(dc, "10.60.0.6", "192.0.2.53", n, fu.t + 0.2, flow=fu)
        k += 1
    dns_udp(dc, "10.60.0.6", "192.0.2.53", "xmr-us-east1.nanopool.org", fu.t + 0.2, flow=fu, tags=("dns_pool_name",))
    dns_udp(dc, "10.60.0.7", "192.0.2.53", "xmr-us-east1.nanopool.org", fu.t + 0.3, tags=("dns_pool_name",))
    return dc


# ---------------------------------------------------------------- negatives

def cap_neg_jsonrpc():
    dc = DetCap("neg_jsonrpc", "NEGATIVE: JSON-RPC 2.0 services over TCP: a calculator service "
                "(subtract, sum, notifications, batch) and a 'login' RPC with only user/password")
    T = G.T0
    f = dc.tcp("10.70.0.2", "192.0.2.10", 4000, T + 0.5)
    calls = [('{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}', '{"jsonrpc":"2.0","result":19,"id":1}'),
             ('{"jsonrpc":"2.0","method":"subtract","params":{"subtrahend":23,"minuend":42},"id":2}',
              '{"jsonrpc":"2.0","result":19,"id":2}'),
             ('{"jsonrpc":"2.0","method":"update","params":[1,2,3,4,5]}', None),
             ('[{"jsonrpc":"2.0","method":"sum","params":[1,2,4],"id":"1"},{"jsonrpc":"2.0","method":"notify_hello",'
              '"params":[7]},{"jsonrpc":"2.0","method":"get_data","id":"9"}]',
              '[{"jsonrpc":"2.0","result":7,"id":"1"},{"jsonrpc":"2.0","result":["hello",5],"id":"9"}]'),
             ('{"jsonrpc":"2.0","method":"foobar","id":"3"}',
              '{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":"3"}')]
    for q, a in calls:
        f.send("c", q + "\n", dt=R.uniform(0.5, 3))
        if a:
            f.send("s", a + "\n", dt=0.002)
    f.close()
    f = dc.tcp("10.70.0.3", "192.0.2.11", 7000, T + 10.0)
    f.send("c", '{"method":"login","params":{"user":"bob","pass":"hunter2"},"id":1}\n', dt=0.001)
    f.send("s", '{"id":1,"result":{"token":"%s","expires":3600},"error":null}\n' % b64id(40), dt=0.01)
    f.send("c", '{"method":"list_jobs","params":{"status":"running"},"id":2}\n', dt=1.0)
    f.send("s", '{"id":2,"result":[{"name":"nightly-backup","state":"running","progress":0.42}],"error":null}\n',
           dt=0.01)
    f.send("c", '{"method":"logout","params":{},"id":3}\n', dt=5.0)
    f.send("s", '{"id":3,"result":true,"error":null}\n', dt=0.01)
    f.close()
    return dc


def lsp(obj):
    body = json.dumps(obj, separators=(",", ":")).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


LSP_TEXT = '''"""poolwatch: polls our mining dashboard and files a weekly report."""
import json
import requests

# Note: mining revenue depends on difficulty; we only read statistics here.
STATS_URL = "https://dashboard.internal.example/api/stats"
EXAMPLE = '{"method": "mining.subscribe", "params": []}'  # what the rigs send, for the docs


def fetch_stats():
    r = requests.get(STATS_URL, timeout=10)
    return r.json()


def submit_report(stats, job):
    """Submit the weekly mining report; job is the scheduler job name."""
    payload = {"job": job, "hashrate": stats["hashrate"], "shares": stats["shares"]}
    return requests.post("https://reports.internal.example/submit", json=payload)
'''


def cap_neg_lsp():
    dc = DetCap("neg_lsp", "NEGATIVE: Language Server Protocol over TCP (Content-Length framing): "
                "initialize, didOpen of a file that talks about mining and submit, completion, "
                "diagnostics")
    f = dc.tcp("10.70.1.2", "10.70.1.3", 2087, G.T0 + 0.5, rtt=0.0005)
    uri = "file:///home/dev/poolwatch/poolwatch.py"
    f.send("c", lsp({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                     "params": {"processId": 4242, "clientInfo": {"name": "Neovim", "version": "0.9.5"},
                                "rootUri": "file:///home/dev/poolwatch",
                                "capabilities": {"textDocument": {"completion": {"completionItem": {"snippetSupport": True}},
                                                                  "publishDiagnostics": {"relatedInformation": True}},
                                                 "workspace": {"workspaceFolders": True}}}}), dt=0.001)
    f.send("s", lsp({"jsonrpc": "2.0", "id": 0, "result": {"capabilities": {"textDocumentSync": 2,
                                                                           "completionProvider": {"triggerCharacters": ["."]},
                                                                           "hoverProvider": True},
                                                          "serverInfo": {"name": "pylsp", "version": "1.9.0"}}}), dt=0.05)
    f.send("c", lsp({"jsonrpc": "2.0", "method": "initialized", "params": {}}), dt=0.001)
    f.send("c", lsp({"jsonrpc": "2.0", "method": "textDocument/didOpen",
                     "params": {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": LSP_TEXT}}}),
           dt=0.01)
    f.send("s", lsp({"jsonrpc": "2.0", "method": "textDocument/publishDiagnostics",
                     "params": {"uri": uri, "diagnostics": [{"range": {"start": {"line": 1, "character": 0},
                                                                       "end": {"line": 1, "character": 11}},
                                                             "message": "'json' imported but unused", "severity": 2,
                                                             "source": "pyflakes"}]}}), dt=0.3)
    f.send("c", lsp({"jsonrpc": "2.0", "id": 1, "method": "textDocument/completion",
                     "params": {"textDocument": {"uri": uri}, "position": {"line": 14, "character": 11}}}), dt=4.0)
    f.send("s", lsp({"jsonrpc": "2.0", "id": 1, "result": {"isIncomplete": False, "items": [
        {"label": "submit_report", "kind": 3, "detail": "submit_report(stats, job)"},
        {"label": "mining_stats", "kind": 6}, {"label": "fetch_stats", "kind": 3}]}}), dt=0.02)
    f.send("c", lsp({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}), dt=20.0)
    f.send("s", lsp({"jsonrpc": "2.0", "id": 2, "result": None}), dt=0.01)
    f.send("c", lsp({"jsonrpc": "2.0", "method": "exit"}), dt=0.01)
    f.close()
    return dc


def cap_neg_eth_node():
    dc = DetCap("neg_eth_node", "NEGATIVE: Ethereum node JSON-RPC over HTTP (port 8545): "
                "eth_blockNumber, eth_chainId, net_version, eth_getBalance, eth_call, eth_getBlockByNumber")
    f = dc.tcp("10.70.2.2", "192.0.2.30", 8545, G.T0 + 0.5, rtt=0.001)
    addr = "0x" + hexs(40)
    calls = [("eth_blockNumber", [], '"0x%x"' % 18600123), ("eth_chainId", [], '"0x1"'), ("net_version", [], '"1"'),
             ("eth_getBalance", [addr, "latest"], '"0x%x"' % 123456789012345678),
             ("eth_call", [{"to": "0x" + hexs(40), "data": "0x70a08231000000000000000000000000" + addr[2:]}, "latest"],
              '"0x%064x"' % 5000000),
             ("eth_getBlockByNumber", ["latest", False], None)]
    for i, (m, p, res) in enumerate(calls):
        body = json.dumps({"jsonrpc": "2.0", "method": m, "params": p, "id": i + 1})
        f.send("c", http_req("POST", "/", "192.0.2.30:8545", [("User-Agent", "web3.py/6.11.3"),
                                                               ("Content-Type", "application/json")], body),
               dt=R.uniform(0.2, 2))
        if res is None:
            blk = {"number": "0x11bcbb", "hash": "0x" + hexs(64), "parentHash": "0x" + hexs(64),
                   "nonce": "0x0000000000000000", "sha3Uncles": "0x" + hexs(64), "logsBloom": "0x" + hexs(512),
                   "transactionsRoot": "0x" + hexs(64), "stateRoot": "0x" + hexs(64), "miner": "0x" + hexs(40),
                   "difficulty": "0x0", "totalDifficulty": "0xc70d815d562d3cfa955", "extraData": "0x6265617665726275696c642e6f7267",
                   "size": "0x2a3f", "gasLimit": "0x1c9c380", "gasUsed": "0xe4e1c0", "timestamp": "0x6553f100",
                   "transactions": ["0x" + hexs(64) for _ in range(12)], "mixHash": "0x" + hexs(64),
                   "baseFeePerGas": "0x6fc23ac00", "withdrawalsRoot": "0x" + hexs(64)}
            res = json.dumps(blk)
        f.send("s", http_resp("200 OK", [("Content-Type", "application/json"), ("Vary", "Origin")],
                              '{"jsonrpc":"2.0","id":%d,"result":%s}\n' % (i + 1, res)), dt=0.002)
    f.close()
    return dc


def sha256d(b):
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def btc_msg(cmd, payload=b""):
    return b"\xf9\xbe\xb4\xd9" + cmd.encode().ljust(12, b"\0") + struct.pack("<I", len(payload)) + \
        sha256d(payload)[:4] + payload


def btc_addr(ip, port):
    return u64(0x409) + b"\0" * 10 + b"\xff\xff" + ipaddress.ip_address(ip).packed + struct.pack(">H", port)


def btc_tx():
    """A legacy P2PKH transaction: one input, two outputs."""
    p2pkh = b"\x19\x76\xa9\x14" + rbytes(20) + b"\x88\xac"
    return u32(1) + b"\x01" + rbytes(36) + b"\x6a\x47\x30\x44" + rbytes(69) + b"\x21\x02" + rbytes(32) + \
        b"\xff\xff\xff\xff" + b"\x02" + u64(R.randrange(10 ** 8)) + p2pkh + u64(R.randrange(10 ** 7)) + p2pkh + u32(0)


def btc_version(me, peer, height, ua):
    return btc_msg("version", struct.pack("<iQq", 70016, 0x409, 1700000000) + btc_addr(peer, 8333) +
                   btc_addr(me, 8333) + rbytes(8) + bytes([len(ua)]) + ua.encode() + struct.pack("<i", height) + b"\x01")


def cap_neg_bitcoin_p2p():
    dc = DetCap("neg_bitcoin_p2p", "NEGATIVE: Bitcoin P2P on 8333 (magic f9beb4d9): version, wtxidrelay, "
                "sendaddrv2, verack, sendcmpct, ping/pong, feefilter, inv, getdata, tx")
    c, s = "10.70.3.2", "192.0.2.40"
    f = dc.tcp(c, s, 8333, G.T0 + 0.5, rtt=0.08)
    f.send("c", btc_version(c, s, 817000, "/Satoshi:25.0.0/"), dt=0.001)
    f.send("s", btc_version(s, c, 817001, "/Satoshi:26.0.0/") + btc_msg("wtxidrelay") + btc_msg("sendaddrv2") +
           btc_msg("verack"), dt=0.08)
    f.send("c", btc_msg("wtxidrelay") + btc_msg("sendaddrv2") + btc_msg("verack"), dt=0.001)
    f.send("c", btc_msg("sendcmpct", b"\x00" + u64(2)) + btc_msg("ping", rbytes(8)) + btc_msg("getheaders", u32(70016) +
           b"\x01" + rbytes(32) + bytes(32)) + btc_msg("feefilter", u64(1000)), dt=0.001)
    f.send("s", btc_msg("sendheaders") + btc_msg("sendcmpct", b"\x00" + u64(2)) + btc_msg("pong", rbytes(8)) +
           btc_msg("feefilter", u64(2000)), dt=0.08)
    t = 1.0
    while t < 90:
        t += R.uniform(1, 6)
        n = R.randrange(1, 8)
        inv = bytes([n]) + b"".join(u32(5) + rbytes(32) for _ in range(n))
        f.send("s", btc_msg("inv", inv), at=G.T0 + t)
        f.send("c", btc_msg("getdata", inv), dt=0.001)
        f.send("s", b"".join(btc_msg("tx", btc_tx()) for _ in range(n)), dt=0.08)
        if R.random() < 0.2:
            f.send("c", btc_msg("ping", rbytes(8)), dt=0.5)
            f.send("s", btc_msg("pong", rbytes(8)), dt=0.08)
    f.close(at=G.T0 + 95)
    return dc


def ps_varint(n):
    if n < 64:
        return bytes([n << 2])
    if n < 16384:
        return struct.pack("<H", n << 2 | 1)
    return struct.pack("<I", n << 2 | 2)


def ps_section(fields):
    """epee portable-storage section: [(name, type, value)]"""
    out = ps_varint(len(fields))
    for name, typ, val in fields:
        out += bytes([len(name)]) + name.encode() + bytes([typ])
        if typ == 5:
            out += u64(val)
        elif typ == 6:
            out += u32(val)
        elif typ == 7:
            out += u16(val)
        elif typ == 8:
            out += u8(val)
        elif typ == 10:
            out += ps_varint(len(val)) + val
        elif typ == 11:
            out += u8(1 if val else 0)
        elif typ == 12:
            out += ps_section(val)
    return out


def levin(command, payload, request=True, ret=True, rc=0):
    body = b"\x01\x11\x01\x01\x01\x01\x02\x01\x01" + payload
    return struct.pack("<QQ?IiII", 0x0101010101012101, len(body), ret and request, command, rc,
                       1 if request else 2, 1) + body


MONERO_NETID = bytes([0x12, 0x30, 0xF1, 0x71, 0x61, 0x04, 0x41, 0x61, 0x17, 0x31, 0x00, 0x82, 0x16, 0xA1, 0xA1, 0x10])


def cap_neg_monero_p2p():
    dc = DetCap("neg_monero_p2p", "NEGATIVE: Monero P2P levin on 18080 (signature 0x0101010101012101): "
                "handshake, timed_sync, new-transaction notifications")
    f = dc.tcp("10.70.4.2", "192.0.2.50", 18080, G.T0 + 0.5, rtt=0.1)

    def hs_payload(height, port):
        return ps_section([("node_data", 12, [("local_time", 5, 1700000000), ("my_port", 6, port),
                                             ("network_id", 10, MONERO_NETID), ("peer_id", 5, R.randrange(1 << 63)),
                                             ("support_flags", 6, 1)]),
                           ("payload_data", 12, [("cumulative_difficulty", 5, R.randrange(1 << 62)),
                                                 ("cumulative_difficulty_top64", 5, 0),
                                                 ("current_height", 5, height), ("pruning_seed", 6, 0),
                                                 ("top_id", 10, rbytes(32)), ("top_version", 8, 16)])])
    f.send("c", levin(1001, hs_payload(3012000, 0)), dt=0.001)
    f.send("s", levin(1001, hs_payload(3012010, 18080), request=False, rc=1), dt=0.1)
    f.send("s", levin(1007, ps_section([("support_flags", 6, 1)])), dt=0.001)
    t = 1.0
    while t < 120:
        t += R.uniform(3, 20)
        if R.random() < 0.3:
            f.send("c", levin(1002, hs_payload(3012010, 0)[:-1] + b"\x08"), at=G.T0 + t)
            f.send("s", levin(1002, hs_payload(3012010, 18080), request=False, rc=1), dt=0.1)
        else:
            txs = [rbytes(R.randrange(1500, 2600)) for _ in range(R.randrange(1, 3))]
            body = ps_varint(1) + b"\x03txs" + bytes([0x8a]) + ps_varint(len(txs)) + \
                b"".join(ps_varint(len(x)) + x for x in txs)
            f.send("s", levin(2002, body, ret=False), at=G.T0 + t)
    f.close(at=G.T0 + 125)
    return dc


def cap_neg_devp2p():
    dc = DetCap("neg_devp2p", "NEGATIVE: Ethereum devp2p: RLPx EIP-8 auth/ack and encrypted frames "
                "on TCP 30303, discovery v4 ping/pong on UDP 30303")
    f = dc.tcp("10.70.5.2", "192.0.2.60", 30303, G.T0 + 0.5, rtt=0.09)
    n = R.randrange(400, 460)
    f.send("c", struct.pack(">H", n) + b"\x04" + rbytes(n - 1), dt=0.001)
    n = R.randrange(380, 420)
    f.send("s", struct.pack(">H", n) + b"\x04" + rbytes(n - 1), dt=0.09)

    def frame(size):
        return rbytes(32) + rbytes((size + 15) // 16 * 16) + rbytes(16)
    f.send("c", frame(R.randrange(100, 180)), dt=0.001)
    f.send("s", frame(R.randrange(100, 180)), dt=0.09)
    t = 1.0
    while t < 60:
        t += R.uniform(1, 8)
        who = R.choice("cs")
        f.send(who, frame(R.randrange(40, 3000)), at=G.T0 + t)
    f.close(at=G.T0 + 65)
    u = dc.udp("10.70.5.2", "192.0.2.61", 30303, G.T0 + 2.0, cport=30303)
    for k in range(3):
        u.send("c", rbytes(32) + rbytes(65) + b"\x01" + b"\xdf\x05\xcb\x84" + rbytes(4) + b"\x82\x76\x5f\x82\x76\x5f" +
               rbytes(12), dt=R.uniform(1, 5))
        u.send("s", rbytes(32) + rbytes(65) + b"\x02" + b"\xf0\xcb\x84" + rbytes(4) + b"\x82\x76\x5f\x82\x76\x5f\xa0" +
               rbytes(32) + b"\x84" + rbytes(4), dt=0.09)
    return dc


def cap_neg_tls():
    dc = DetCap("neg_tls", "NEGATIVE: HTTPS to names that only look like pools (evil-nanopool.org, "
                "nanopool.org.example.com, notcoinhive.com, ...), and TLS without SNI")
    T = G.T0
    for i, name in enumerate(["evil-nanopool.org", "nanopool.org.example.com", "notcoinhive.com",
                              "coinhive.com.example.net", "www.example.com", "minexmr.co", "ethermine.org.invalid"]):
        tls_session(dc, "192.168.60.%d" % (10 + i), "203.0.113.%d" % (170 + i), 443, T + 0.5 + i * 0.7, name,
                    kind="chrome" if i % 2 else "openssl")
    tls_session(dc, "2001:db8:60::20", "2001:db8:4000::170", 443, T + 6.0, "www.evil-nanopool.org")
    tls_session(dc, "192.168.60.21", "203.0.113.180", 3333, T + 7.0, None)
    return dc


def cap_neg_dns():
    dc = DetCap("neg_dns", "NEGATIVE: DNS for names that only look like pools (evil-nanopool.org, "
                "nanopool.org.example.com, notcoinhive.com, ...) over UDP and TCP, v4 and v6, and a "
                "CNAME answer pointing at a pool for a non-pool query")
    T = G.T0
    for i, name in enumerate(["evil-nanopool.org", "nanopool.org.example.com", "notcoinhive.com",
                              "coinhive.com.example.net", "xnanopool.org", "minexmr.co", "www.example.com"]):
        dns_udp(dc, "192.168.61.%d" % (10 + i), RESOLVER, name, T + 0.5 + i * 0.3)
    dns_udp(dc, "2001:db8:61::20", RESOLVER6, "evil-nanopool.org", T + 3.0, qtype="AAAA")
    dns_tcp(dc, "192.168.61.21", RESOLVER, "notcoinhive.com", T + 3.5)
    dns_tcp(dc, "2001:db8:61::22", RESOLVER6, "nanopool.org.example.com", T + 4.0, qtype="AAAA")
    dns_udp(dc, "192.168.61.23", RESOLVER, "stats.example.net", T + 5.0,
            answer=[("stats.example.net", "CNAME", "xmr-eu1.nanopool.org"), ("xmr-eu1.nanopool.org", "A", "203.0.113.190")])
    return dc


def png(w, h):
    """A valid grey PNG image."""
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    rows = b"".join(b"\x00" + bytes((x * 7 + y * 3) & 0xff for x in range(w)) for y in range(h))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


ARTICLE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>What cryptojacking looks like on the wire</title>
<link rel="stylesheet" href="/css/site.css"></head>
<body><article>
<h1>What cryptojacking looks like on the wire</h1>
<p>Crypto mining malware has moved from browsers to servers. In 2017 and 2018 the Coinhive
service put a Monero miner into thousands of web pages; it shut down in March 2019. Today the
usual culprit is XMRig, an open-source CPU miner that attackers drop onto exposed servers.</p>
<p>A miner talks to its pool with the Stratum protocol: newline-delimited JSON-RPC over TCP. The
client opens with a mining.subscribe request and a mining.authorize request carrying the worker
name, and the pool pushes work with mining.notify. Monero pools use a dialect where the miner
sends a login call with its wallet address and receives a job with a blob and a target.</p>
<p>Pools listen on ports such as 3333, 4444 and 14444, but many also accept connections on 443
and 80. Names like nanopool.org or supportxmr.com in DNS logs are a strong hint; so is a
long-lived connection that wakes up every thirty seconds.</p>
%s
<p>Defenders can look for these patterns in the first packets of a connection, block known pool
addresses, and watch CPU usage. None of this is hard, but all of it has to be done.</p>
</article></body></html>
"""


def cap_neg_http_browse():
    dc = DetCap("neg_http_browse", "NEGATIVE: plain HTTP browsing, including an article about crypto "
                "mining, Coinhive and XMRig in prose (no JSON, no script), a CSS file and an image")
    T = G.T0
    c = "192.168.62.10"
    ua = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15"
    dns_udp(dc, c, RESOLVER, "news.example.org", T + 0.2)
    f = dc.tcp(c, "192.0.2.140", 80, T + 0.25, rtt=0.03)
    filler = "\n".join("<p>%s</p>" % ("Security teams keep seeing the same story: a forgotten test server, a weak "
                                      "password, and a week later the cloud bill shows the damage. " * 3)
                       for _ in range(10))
    body = ARTICLE % filler
    f.send("c", http_req("GET", "/2023/11/cryptojacking-on-the-wire", "news.example.org",
                         [("User-Agent", ua), ("Accept", "text/html"), ("Accept-Language", "en-GB")]), dt=0.001)
    f.send("s", http_resp("200 OK", [("Server", "nginx/1.22.1"), ("Content-Type", "text/html; charset=utf-8"),
                                     ("Cache-Control", "max-age=600")], body), dt=0.03)
    f.send("c", http_req("GET", "/css/site.css", "news.example.org", [("User-Agent", ua), ("Accept", "text/css"),
                                                                     ("Referer", "http://news.example.org/2023/11/cryptojacking-on-the-wire")]),
           dt=0.05)
    f.send("s", http_resp("200 OK", [("Content-Type", "text/css")],
                          "body{font-family:Georgia,serif;max-width:42em;margin:auto}\n" * 20), dt=0.03)
    f.close(at=f.t + 2)
    f = dc.tcp(c, "192.0.2.141", 80, T + 0.4, rtt=0.03)
    f.send("c", http_req("GET", "/img/miner-diagram.png", "static.example.org", [("User-Agent", ua), ("Accept", "image/*")]),
           dt=0.001)
    f.send("s", http_resp("200 OK", [("Content-Type", "image/png")], png(320, 200)), dt=0.03)
    f.close(at=f.t + 1)
    f = dc.tcp("192.168.62.11", "192.0.2.142", 80, T + 5.0, rtt=0.03)
    f.send("c", http_req("GET", "/search?q=xmrig+high+cpu", "www.example.com", [("User-Agent", ua)]), dt=0.001)
    f.send("s", http_resp("200 OK", [("Content-Type", "text/html")],
                          "<html><body><ol><li>XMRig uses 100% CPU - how to remove it</li>"
                          "<li>Is crypto mining legal?</li></ol></body></html>"), dt=0.03)
    f.close()
    return dc


def cap_neg_ws_chat():
    dc = DetCap("neg_ws_chat", "NEGATIVE: a WebSocket chat app: masked client frames join/message/"
                "typing/auth(token)/submit(form), server frames message/presence/job(job_id only)")
    c = "192.168.63.10"
    f = dc.tcp(c, "192.0.2.150", 80, G.T0 + 0.5, rtt=0.03)
    req, resp = ws_upgrade("chat.example.com", "/socket", "http://chat.example.com")
    f.send("c", req, dt=0.001)
    f.send("s", resp, dt=0.03)
    f.send("c", ws_frame(jd({"type": "auth", "token": "eyJhbGciOiJIUzI1NiJ9." + b64id(60).replace("+", "-").replace("/", "_")}), True), dt=0.01)
    f.send("s", ws_frame(jd({"type": "welcome", "user": "alice", "rooms": ["general", "random"]}), False), dt=0.03)
    f.send("c", ws_frame(jd({"type": "join", "room": "general", "user": "alice"}), True), dt=0.2)
    f.send("s", ws_frame(jd({"type": "presence", "room": "general", "online": ["alice", "bob", "carol"]}), False), dt=0.03)
    lines = ["hello", "anyone tried the new build?", "yes, works for me", "the export job is stuck again",
             "restarting it", "thanks!"]
    t = 1.0
    for i, text in enumerate(lines):
        t += R.uniform(2, 15)
        if i % 2 == 0:
            f.send("c", ws_frame(jd({"type": "typing", "room": "general"}), True), at=G.T0 + t)
            f.send("c", ws_frame(jd({"type": "message", "room": "general", "text": text}), True), dt=1.5)
            f.send("s", ws_frame(jd({"type": "message", "room": "general", "from": "alice", "text": text,
                                     "ts": 1700000000 + int(t)}), False), dt=0.03)
        else:
            f.send("s", ws_frame(jd({"type": "message", "room": "general", "from": "bob", "text": text,
                                     "ts": 1700000000 + int(t)}), False), at=G.T0 + t)
    f.send("s", ws_frame(jd({"type": "job", "job_id": "export-7731", "status": "running"}), False), dt=3)
    f.send("c", ws_frame(jd({"type": "submit", "form": "poll", "choice": 2}), True), dt=4)
    f.send("s", ws_frame(b"", False, opcode=9), dt=20)
    f.send("c", ws_frame(b"", True, opcode=10), dt=0.001)
    f.close(at=f.t + 5)
    return dc


def cap_neg_http_api():
    dc = DetCap("neg_http_api", "NEGATIVE: an HTTP JSON API with keys job_id, target, nonce and a "
                "64-hex result, but no blob, no method, no type")
    f = dc.tcp("10.70.6.2", "192.0.2.160", 8080, G.T0 + 0.5, rtt=0.004)
    for i in range(4):
        jid = "job-" + hexs(12)
        body = jd({"job_id": jid, "target": "s3://renders/out/%s.mp4" % jid, "priority": 5, "nonce": hexs(8),
                   "input": "s3://renders/in/clip%d.mov" % i})
        f.send("c", http_req("POST", "/api/v1/render", "render.example.com:8080",
                             [("User-Agent", "python-requests/2.31.0"), ("Content-Type", "application/json"),
                              ("Authorization", "Bearer " + b64id(40))], body), dt=R.uniform(1, 10))
        f.send("s", http_resp("202 Accepted", [("Content-Type", "application/json")],
                              jd({"job_id": jid, "status": "queued", "result": hexs(64)})), dt=0.01)
    f.close()
    return dc


def cap_neg_sv2_shapes():
    dc = DetCap("neg_sv2_shapes", "NEGATIVE: near misses of the SV2 Noise handshake shape: 64 then 234 "
                "but the client spoke twice first; 64 then 233; 65 then 234; the responder sending 64 and the "
                "initiator 234")
    T = G.T0
    f = dc.tcp("10.70.7.2", "192.0.2.170", 34254, T + 0.5)
    f.send("c", noise_bytes(64), dt=0.001, ack=False)
    f.send("c", noise_bytes(40), dt=0.001)
    f.send("s", noise_bytes(234), dt=0.05)
    f.close()
    f = dc.tcp("10.70.7.3", "192.0.2.171", 34254, T + 1.0)
    f.send("c", noise_bytes(64), dt=0.001)
    f.send("s", noise_bytes(233), dt=0.05)
    f.send("c", noise_bytes(80), dt=0.001)
    f.close()
    f = dc.tcp("10.70.7.4", "192.0.2.172", 34254, T + 1.5)
    f.send("c", noise_bytes(65), dt=0.001)
    f.send("s", noise_bytes(234), dt=0.05)
    f.send("c", noise_bytes(80), dt=0.001)
    f.close()
    f = dc.tcp("10.70.7.5", "192.0.2.173", 34254, T + 2.0)
    f.send("s", noise_bytes(64), dt=0.001)
    f.send("c", noise_bytes(234), dt=0.05)
    f.close()
    return dc


# order matters: tests/integration picks the first positive with >= 3 events for the live test
def cap_reordered():
    """Segments that arrive out of order (as on a span port) are reassembled before matching."""
    dc = DetCap("reordered", "XMRig login in 3 segments sent 1,3,2; a Stratum subscribe split "
                "inside the method name, second half first; a pool job reordered server-side")
    T = G.T0
    f = dc.tcp("10.95.0.2", "203.0.113.60", 3333, T + 0.5)
    login = ('{"id":1,"jsonrpc":"2.0","method":"login","params":{"login":"%s","pass":"x",'
             '"agent":"XMRig/6.21.0 (Linux x86_64) libuv/1.44.2 gcc/12.2.0","algo":["rx/0"]}}\n'
             % xmr_address())
    f.send("c", M(login, "xmr_login", "miner_agent"), cuts=[60, 150], order=[0, 2, 1])
    job = ('{"jsonrpc":"2.0","method":"job","params":{"blob":"%s","job_id":"%s","target":"b88d0600",'
           '"height":3012345,"seed_hash":"%s"}}\n' % (xmr_blob(), b64id(20), hexs(64)))
    f.send("s", M(job, "xmr_job"), cuts=[100, 200], order=[1, 0, 2])
    f.close()
    f = dc.tcp("10.95.0.3", "203.0.113.61", 4444, T + 5.0)
    sub = '{"id":1,"method":"mining.subscribe","params":["cgminer/4.11.1"]}\n'
    f.send("c", M(sub, "stratum_subscribe", "miner_agent"), cuts=[sub.index("subscribe")], order=[1, 0])
    f.close()
    return dc


def cap_many_miners():
    """A botnet: 800 hosts open a Stratum session each within a few seconds (fills small
    event rings live; offline must still report every one)."""
    dc = DetCap("many_miners", "800 hosts each subscribing to one pool within seconds (botnet burst)")
    T = G.T0
    for i in range(800):
        c = "10.90.%d.%d" % (i // 250, i % 250 + 1)
        f = dc.tcp(c, "203.0.113.50", 3333, T + 1.0 + i * 0.002)
        f.send("c", M('{"id":1,"method":"mining.subscribe","params":["cpuminer/2.5.1"]}\n',
                      "stratum_subscribe", "miner_agent"), dt=0.0005)
        f.close()
    return dc


CAPTURES = [cap_xmrig, cap_stratum_v1, cap_stratum_zcash, cap_eth_proxy, cap_eth_nicehash, cap_http_getwork,
            cap_sv2_plain, cap_sv2_noise, cap_browser_coinhive, cap_ws_miner_other, cap_dns_pool,
            cap_tls_sni_pool, cap_http_host_pool, cap_pool_ip, cap_stratum_variants, cap_v6_vlan,
            cap_late_window, cap_ws_deflate, cap_neg_jsonrpc, cap_neg_lsp, cap_neg_eth_node,
            cap_neg_bitcoin_p2p, cap_neg_monero_p2p, cap_neg_devp2p, cap_neg_tls, cap_neg_dns,
            cap_neg_http_browse, cap_neg_ws_chat, cap_neg_http_api, cap_neg_sv2_shapes,
            cap_reordered, cap_many_miners]


def gen_detect(outdir):
    d = os.path.join(outdir, "detect")
    os.makedirs(d, exist_ok=True)
    R.seed(20480)
    manifest = []
    for fn in CAPTURES:
        dc = fn(d) if fn is cap_pool_ip else fn()
        manifest.append(dc.write(d))
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    return manifest


if __name__ == "__main__":
    import sys
    gen_detect(sys.argv[1] if len(sys.argv) > 1 else "tests/data")

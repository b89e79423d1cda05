#!/usr/bin/python3
"""behave.py: captures for sluice's behavioural scorer (lib/score): ENCRYPTED mining sessions
(XMRig and Stratum v1 over TLS without SNI or with an innocent SNI, Stratum V2 over Noise),
where payload matching sees nothing, and busy benign hosts with long-lived encrypted flows
(SSH, video, chat WebSocket, push/MQTT heartbeats, backup, an office desktop).

Called from gen.py: gen_behave(OUTDIR) writes OUTDIR/behave/NAME.pcap and manifest.json, a list
of {"pcap", "about", "miners": [{"host", "start" (epoch s of the session's SYN), "server"
("ip:port"), "kind"}], "benign": [hosts]}. Expectation (tests/integration): every miner host
is alerted within 120 s of its session's start and no benign host is ever alerted.

The sessions model the real protocols, not any scorer threshold: plaintext lengths come from
building the real JSON / SSH / MQTT / SV2 messages, wrapped in TLS 1.2/1.3 records (one
overhead per session), Noise frames or SSH binary packets; timings are drawn per session
(Poisson shares, exponential/uniform job pushes, human typing and reading). Bulk transfers are
scaled down so the files stay small (see the per-capture "about"). Deterministic: fixed seeds.
Run: /usr/bin/python3 tests/gen/behave.py OUTDIR
"""
import json
import os
import struct
import sys
import random

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import detect as D  # noqa: E402
import gen as G  # noqa: E402

SEED = 0xbe4a
R = random.Random(SEED)
T0 = G.T0
CCS = b"\x14\x03\x03\x00\x01\x01"


def rb(n):
    return R.randbytes(n)


def rec(ctype, body, ver=0x0303):
    return struct.pack(">BHH", ctype, ver, len(body)) + body


def hsm(t, body):
    return bytes([t]) + struct.pack(">I", len(body))[1:] + body


# ---------------------------------------------------------------- TLS 1.2 certificates

def _cert_chain(names):
    """DER certificates (leaf with the SAN list `names`, intermediate), Ed25519 so that they
    are deterministic; None without python3-cryptography (then the chain is opaque bytes)."""
    try:
        import datetime
        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric import ed25519
        from cryptography.hazmat.primitives.serialization import Encoding
        from cryptography.x509.oid import NameOID
    except ImportError:
        return None
    ik = ed25519.Ed25519PrivateKey.from_private_bytes(rb(32))
    lk = ed25519.Ed25519PrivateKey.from_private_bytes(rb(32))
    nb, na = datetime.datetime(2023, 9, 1), datetime.datetime(2024, 9, 1)

    def nm(cn, o):
        return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, o),
                          x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    iname = nm("R%d Issuing CA" % R.randrange(2, 9), "Example Trust Services")
    inter = (x509.CertificateBuilder().subject_name(iname).issuer_name(nm("Example Root X1", "Example Trust"))
             .public_key(ik.public_key()).serial_number(R.randrange(1 << 64)).not_valid_before(nb)
             .not_valid_after(na).add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
             .sign(ik, None))
    leaf = (x509.CertificateBuilder().subject_name(nm(names[0], "Example Hosting")).issuer_name(iname)
            .public_key(lk.public_key()).serial_number(R.randrange(1 << 64)).not_valid_before(nb)
            .not_valid_after(na)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
            .sign(ik, None))
    return [leaf.public_bytes(Encoding.DER), inter.public_bytes(Encoding.DER)]


# ---------------------------------------------------------------- captures

class BCap(D.DetCap):
    """One capture plus its verdicts: miner sessions (judged host = client) and benign hosts."""

    def __init__(self, name, about):
        D.DetCap.__init__(self, name, about)
        self.miners, self.benign, self.table = [], [], []

    def add(self, sess, kind, miner, deadline=120):
        """deadline: seconds after the SYN by which the miner must be alerted (the 2-minute
        target, unless the session itself gives too little to see by then)."""
        f = sess.f
        if miner:
            self.miners.append({"host": f.c, "start": round(sess.t0, 6),
                                "server": "%s:%d" % (f.s, f.sport), "kind": kind,
                                "deadline": deadline})
        elif f.c not in self.benign:
            self.benign.append(f.c)
        sess.kind = kind
        self.table.append(sess)

    def write(self, d):
        mh = {m["host"] for m in self.miners}
        assert not mh & set(self.benign), "%s: a host is both miner and benign" % self.name
        G.write_pcap(os.path.join(d, self.name + ".pcap"), self.cap)
        ent = {"pcap": self.name + ".pcap", "about": self.about, "miners": self.miners,
               "benign": self.benign}
        if getattr(self, "baseline", None):
            ent["baseline"] = self.baseline
        return ent


class Sess:
    """A TCP session carrying messages; subclasses frame plaintext lengths into wire bytes."""

    def __init__(self, bc, c, s, port, t0, rtt):
        self.bc, self.t0 = bc, t0
        self.f = bc.tcp(c, s, port, t0, rtt=rtt)
        self.rtt = rtt
        self.n = {"c": 0, "s": 0}
        self.end = t0

    def wire(self, n):  # plaintext (int length or bytes) -> wire bytes
        return rb(n) if isinstance(n, int) else n

    def msg(self, who, n, at=None, dt=0.0005, ack=True, count=True):
        """One application message (or several, n a list) in one write."""
        data = b"".join(self.wire(x) for x in (n if isinstance(n, list) else [n]))
        self.f.send(who, data, at=at, dt=dt, ack=ack)
        self.n[who] += 1 if count else 0

    def reply(self, n, proc=0.002, ack=True):
        """The server's answer to the message just sent: one RTT plus processing later."""
        self.msg("s", n, dt=self.rtt + proc, ack=ack)

    def bulk(self, who, n, at=None, dt=0.0005, rate=2e6, count=True):
        """A large message as full-size segments, the receiver ACKing every second one."""
        f, other = self.f, "s" if who == "c" else "c"
        data = b"".join(self.wire(x) for x in (n if isinstance(n, list) else [n]))
        f.account(who, data)
        base, t = f.seq[who], f.at(at, dt)
        ackd = 0.0003 if other == "c" else self.rtt  # the capture sits at the client's edge
        last, k = t, 0
        for off in range(0, len(data), f.mss):
            seg = data[off:off + f.mss]
            end = off + len(seg) == len(data)
            f.pkt(who, "PA" if end else "A", seg, t=t, seq=base + off)
            f.seq[who] = base + off + len(seg)
            k += 1
            if k % 2 == 0 or end:
                last = t + ackd * R.uniform(0.9, 1.2)
                f.pkt(other, "A", t=last)
            t += len(seg) / rate * R.uniform(0.7, 1.3)
        f.t = max(f.t, last, t)
        self.n[who] += 1 if count else 0

    def close(self, at, who="c"):
        self.f.close(at=at, who=who)
        self.end = self.f.t


class Tls(Sess):
    """TLS 1.3 (or 1.2) over TCP: ClientHello with or without SNI, the server's flight
    (1.5-4.5 KB over several segments), client Finished, session tickets, then application
    data records of plaintext + `over` bytes (TLS 1.3 AEAD: +17; 1.2 GCM: +24)."""

    def __init__(self, bc, c, s, port, t0, sni=None, kind="openssl", rtt=0.04, v13=True,
                 over=None, tickets=None):
        Sess.__init__(self, bc, c, s, port, t0, rtt)
        self.over = over or (17 if v13 else 24)
        self.sni, self.v13 = sni, v13
        f = self.f
        ch, _ = D.client_hello(sni, kind)  # sni None: no server_name extension at all
        f.send("c", D.tls_record(ch), dt=0.0003, ack=False)
        sh_ext = struct.pack(">HHH", 43, 2, 0x0304) + struct.pack(">HHHH", 51, 36, 0x001d, 32) + rb(32) \
            if v13 else struct.pack(">HHB", 0xff01, 1, 0) + struct.pack(">HH", 23, 0) + struct.pack(">HH", 35, 0)
        sh = hsm(2, struct.pack(">H", 0x0303) + rb(32) + b"\x20" + rb(32) +
                 struct.pack(">HB", 0x1302 if v13 else 0xc02f, 0) + struct.pack(">H", len(sh_ext)) + sh_ext)
        if v13:  # EncryptedExtensions, Certificate, CertificateVerify, Finished: encrypted
            cert = R.randrange(1100, 3700)
            fl = rec(22, sh) + CCS + b"".join(self.wire(x) for x in
                                               (R.choice([6, 10, 21]), cert, R.choice([79, 264, 520]), 52))
        else:
            names = [sni or "%s.example.net" % D.hexs(6)] + ["%s.example.net" % D.hexs(R.randrange(4, 12))
                                                             for _ in range(R.randrange(2, 40))]
            chain = _cert_chain(names) or [rb(R.randrange(900, 2400)), rb(1000)]
            cl = b"".join(struct.pack(">I", len(x))[1:] + x for x in chain)
            ske = b"\x03\x00\x1d\x20" + rb(32) + struct.pack(">HH", 0x0807, 64) + rb(64)
            fl = rec(22, sh) + rec(22, hsm(11, struct.pack(">I", len(cl))[1:] + cl)) + \
                rec(22, hsm(12, ske)) + rec(22, hsm(14, b""))
        f.send("s", fl, dt=rtt + R.uniform(0.0005, 0.004), ack=False)
        if v13:
            f.send("c", CCS + self.wire(52), dt=0.001, ack=False)
            nt = R.choice([0, 1, 2, 2]) if tickets is None else tickets
            if nt:  # NewSessionTicket(s) once the client Finished arrives
                f.send("s", b"".join(self.wire(R.randrange(180, 240)) for _ in range(nt)), dt=rtt)
        else:
            f.send("c", rec(22, hsm(16, b"\x20" + rb(32))) + CCS + rec(22, rb(40)), dt=0.001, ack=False)
            f.send("s", rec(22, hsm(4, struct.pack(">IH", 7200, 192) + rb(192))) + CCS + rec(22, rb(40)),
                   dt=rtt + 0.001)

    def wire(self, n):
        """Plaintext (length or bytes) as application_data records of at most 16 KB each."""
        n = len(n) if isinstance(n, bytes) else n
        out = []
        while True:
            k = min(n, 16384)
            out.append(rec(23, rb(k + self.over)))
            n -= k
            if n <= 0:
                return b"".join(out)

    def close(self, at, who="c"):
        alert = self.wire(2) if self.v13 else rec(21, rb(2 + self.over))  # close_notify
        self.f.send(who, alert, at=at, ack=False)
        Sess.close(self, at=self.f.t + 0.0005, who=who)


def play(events):
    """Run (time, fn) events in time order (a session's own replies are placed by fn)."""
    for t, fn in sorted(events, key=lambda e: e[0]):
        fn(t)


def poisson(start, end, mean, first=None):
    t, out = (start + (first if first is not None else R.expovariate(1 / mean))), []
    while t < end:
        out.append(t)
        t += R.expovariate(1 / mean)
    return out


# ---------------------------------------------------------------- miners

XMR_AGENTS = ["XMRig/6.21.0 (Linux x86_64) libuv/1.44.2 gcc/12.2.0",
              "XMRig/6.20.0 (Windows NT 10.0; Win64; x64) libuv/1.44.2 msvc/2019",
              "XMRig/6.18.1 (Linux x86_64) libuv/1.44.1 gcc/11.2.0",
              "XMRig/6.19.3 (Linux x86_64) libuv/1.44.2 gcc/9.4.0"]
# algorithm lists as builds report them: a RandomX-only build, RandomX + CN, the full list
XMR_ALGOS = [["rx/0", "rx/wow", "rx/arq", "rx/graft", "rx/sfx", "rx/keva"],
             ["rx/0", "rx/wow", "rx/arq", "rx/graft", "rx/sfx", "rx/keva", "cn/r", "cn/half"],
             ["rx/0", "cn/0", "cn/1", "cn/2", "cn/r", "cn/fast", "cn/half", "cn/xao", "cn/rto",
              "rx/wow", "rx/arq"], D.XMRIG_ALGOS]


def xmrig_tls(bc, c, s, port, t0, dur, rtt, share_mean, job_mean, job_dist="exp", first_share=None,
              sni=None, kind="xmrig_tls", algos=0, pool="nodejs", v13=True):
    """XMRig 6 over TLS: login, the reply with the first job, jobs pushed by the pool (new
    block ~ every 120 s plus template refreshes), Poisson shares each answered within one RTT,
    keepalived after 60 s without a client message."""
    ss = Tls(bc, c, s, port, t0, sni=sni, rtt=rtt, v13=v13)
    # a first share a minute in (mean 38 s) leaves two shares by 120 s: too few to see one
    # size repeat, so this session's target is 4 minutes
    bc.add(ss, kind, True, deadline=240 if first_share and first_share > 45 else 120)
    sid = "%s-%s-%s-%s-%s" % (D.hexs(8), D.hexs(4), D.hexs(4), D.hexs(4), D.hexs(12)) \
        if pool != "p2pool" else str(R.randrange(10 ** 8, 10 ** 9))
    wallet = D.xmr_address() + R.choice(["", "", "." + R.choice(["rig01", "w7", "srv-db2"]), "+75000"])
    params = {"login": wallet, "pass": R.choice(["x", "x", "rig01", "worker-%d" % R.randrange(99)]),
              "agent": R.choice(XMR_AGENTS)}
    if R.random() < 0.3:
        params["rigid"] = R.choice(["n%02d" % R.randrange(40), "build-7"])
    params["algo"] = XMR_ALGOS[algos]
    ss.msg("c", (D.jd({"id": 1, "jsonrpc": "2.0", "method": "login", "params": params}) + "\n").encode(),
           dt=0.0008, ack=False)
    height, seed = R.randrange(3000000, 3100000), D.hexs(64)
    tlen = 16 if pool == "p2pool" else 8

    def job():
        j = {"blob": D.xmr_blob(), "job_id": D.b64id(28) if pool != "p2pool" else D.hexs(8),
             "target": D.hexs(tlen - 6) + "0000" if tlen == 8 else "ffff" + D.hexs(12), "algo": "rx/0",
             "height": height, "seed_hash": seed}
        if pool != "p2pool":
            j["id"] = sid
        return j
    j = job()
    state = {"jid": j["job_id"], "rid": 2, "last_c": 0.0}
    ss.reply((D.jd({"id": 1, "jsonrpc": "2.0", "error": None,
                    "result": {"id": sid, "job": j, "extensions": ["algo", "nicehash", "connect", "tls",
                                                                   "keepalive"], "status": "OK"}}) + "\n").encode(),
             proc=R.uniform(0.002, 0.02))
    start = ss.f.t
    state["last_c"] = start
    end = t0 + dur
    ev = []
    t, nb = start, start + R.expovariate(1 / 120)
    while True:
        t += R.expovariate(1 / job_mean) if job_dist == "exp" else R.uniform(0.5 * job_mean, 1.5 * job_mean)
        if t >= end - 1:
            break
        ev.append((t, "job"))
    shares = poisson(start, end - 1, share_mean, first_share)
    ev += [(x, "submit") for x in shares]
    ka, last = [], start  # keepalived: 60 s after the client's last message
    for x in sorted(shares + [end]):
        while x - last > 60:
            last += 60
            ka.append(last)
        last = x
    ev += [(x, "ka") for x in ka]

    def fire(t, what):
        nonlocal height, nb
        if what == "job":
            if t >= nb:  # a new block (Monero: ~ every 2 min)
                height += 1
                nb = t + R.expovariate(1 / 120)
            j = job()
            state["jid"] = j["job_id"]
            ss.msg("s", (D.jd({"jsonrpc": "2.0", "method": "job", "params": j}) + "\n").encode(), at=t)
            return
        rid = state["rid"]
        state["rid"] += 1
        if what == "submit":
            ss.msg("c", (D.jd({"id": rid, "jsonrpc": "2.0", "method": "submit",
                               "params": {"id": sid, "job_id": state["jid"], "nonce": D.hexs(8),
                                          "result": D.hexs(64), "algo": "rx/0"}}) + "\n").encode(), at=t, ack=False)
            ss.reply((D.jd({"id": rid, "jsonrpc": "2.0", "error": None, "result": {"status": "OK"}}) + "\n").encode(),
                     proc=R.uniform(0.0005, 0.01))
        else:
            ss.msg("c", (D.jd({"id": rid, "jsonrpc": "2.0", "method": "keepalived", "params": {"id": sid}}) +
                         "\n").encode(), at=t, ack=False)
            ss.reply((D.jd({"id": rid, "jsonrpc": "2.0", "error": None,
                            "result": {"status": "KEEPALIVED"}}) + "\n").encode(), proc=0.001)
    play([(t, (lambda w: lambda t: fire(t, w))(w)) for t, w in ev])
    ss.close(at=end)
    return ss


BTC_AGENTS = ["bmminer/2.0.0", "cgminer/4.12.1", "bfgminer/5.5.0", "Antminer S19j Pro/Mon Jul 18 2022",
              "sgminer/5.6.1", "NiceHash/1.0.0"]


def stratum_tls(bc, c, s, port, t0, dur, rtt, submit_rng, notify_rng, agent, configure=False):
    """Bitcoin Stratum v1 over TLS: (configure), subscribe, authorize, set_difficulty, notify
    with a varying number of merkle branches (clean_jobs on a new block), submits."""
    ss = Tls(bc, c, s, port, t0, rtt=rtt, v13=R.random() < 0.7)
    bc.add(ss, "stratum_tls", True)
    worker = R.choice(["bc1q%s.%s" % (D.hexs(38), "s19-%02d" % R.randrange(99)),
                       "farmops.%d" % R.randrange(1000), "acct%04d.rack2" % R.randrange(10000)])
    spaced = agent.startswith(("bm", "cg", "bfg", "sg", "Antminer"))  # cgminer-family JSON spacing
    rid = 1
    if configure:
        ss.msg("c", ('{"id": %d, "method": "mining.configure", "params": [["version-rolling"], '
                     '{"version-rolling.mask": "1fffe000", "version-rolling.min-bit-count": 2}]}\n' % rid).encode(),
               dt=0.001, ack=False)
        ss.reply(b'{"id":%d,"result":{"version-rolling":true,"version-rolling.mask":"1fffe000"},"error":null}\n' % rid)
        rid += 1
    ss.msg("c", ('{"id": %d, "method": "mining.subscribe", "params": ["%s"]}\n' % (rid, agent)).encode(),
           dt=0.002, ack=False)
    en1 = D.hexs(8)
    ss.reply(('{"id":%d,"result":[[["mining.set_difficulty","%s"],["mining.notify","%s"]],"%s",4],"error":null}\n'
              % (rid, D.hexs(8), D.hexs(8), en1)).encode())
    ss.msg("c", ('{"params": ["%s", "x"], "id": %d, "method": "mining.authorize"}\n' % (worker, rid + 1)).encode(),
           dt=0.001, ack=False)
    ss.reply(b'{"id":%d,"result":true,"error":null}\n' % (rid + 1),
             proc=R.uniform(0.005, 0.05), ack=False)
    rid += 2
    ss.msg("s", b'{"id":null,"method":"mining.set_difficulty","params":[%d]}\n' % R.choice([8192, 65536, 131072]),
           dt=0.0005, ack=False)
    jid = R.randrange(0x1000, 0xffff)
    ss.msg("s", D.btc_notify("%x" % jid, True, R.randrange(9, 13)).encode(), dt=0.0005)
    start, end = ss.f.t, t0 + dur
    ev, t, nb = [], start, start + R.expovariate(1 / 600)
    while True:
        t += R.uniform(*notify_rng)
        if t >= end - 1:
            break
        ev.append((t, "notify"))
    t = start
    while True:
        t += R.uniform(*submit_rng) * R.choice([1, 1, 1, 0.4, 1.8])
        if t >= end - 1:
            break
        ev.append((t, "submit"))
    st = {"jid": jid, "rid": rid, "nb": nb}

    def fire(t, what):
        if what == "notify":
            st["jid"] += 1
            clean = t >= st["nb"]
            if clean:
                st["nb"] = t + R.expovariate(1 / 600)
            ss.msg("s", D.btc_notify("%x" % st["jid"], clean, 0 if clean and R.random() < 0.2
                                     else R.randrange(8, 14)).encode(), at=t)
        else:
            ver = (', "%08x"' % (R.randrange(1 << 16) << 13)) if configure else ""
            m = ('{"params": ["%s", "%x", "%s", "%08x", "%s"%s], "id": %d, "method": "mining.submit"}\n'
                 % (worker, st["jid"], D.hexs(8), 1700000000 + int(t - T0), D.hexs(8), ver, st["rid"]))
            ss.msg("c", (m if spaced else m.replace(", ", ",").replace(": ", ":")).encode(), at=t, ack=False)
            ss.reply(b'{"id":%d,"result":true,"error":null}\n' % st["rid"], proc=R.uniform(0.001, 0.02))
            st["rid"] += 1
    play([(t, (lambda w: lambda t: fire(t, w))(w)) for t, w in ev])
    ss.close(at=end)
    return ss


class Noise(Sess):
    """SV2 over Noise NX: 64-byte act 1, 234-byte act 2, then each SV2 frame as a 22-byte
    encrypted header plus payload + 16-byte MAC."""

    def wire(self, n):
        return D.noise_bytes(22) + rb(n + 16) if isinstance(n, int) else n


def sv2_noise(bc, c, s, port, t0, dur, rtt, share_mean, job_rng, user):
    ss = Noise(bc, c, s, port, t0, rtt)
    bc.add(ss, "sv2_noise", True)
    ss.msg("c", D.noise_bytes(64), dt=0.0005, ack=False)
    ss.reply(D.noise_bytes(234), proc=R.uniform(0.001, 0.004), ack=False)
    setup = len(D.sv2_setup_connection(s, port, R.choice(["Bitmain", "MicroBT", "Canaan"]),
                                       R.choice(["S19 Pro", "M30S++", "A1246"]),
                                       R.choice(["braiins-os-2023-06-21", "v2.0.3"]), "rack%d-%02d" % (
                                           R.randrange(9), R.randrange(99)))) - 6
    ss.msg("c", setup, dt=0.002, ack=False)
    ss.reply(6)  # SetupConnection.Success
    ss.msg("c", 4 + 1 + len(user) + 4 + 32, dt=0.001, ack=False)  # OpenStandardMiningChannel
    # .Success (request id, channel, target, extranonce prefix, group), NewMiningJob (future), SetNewPrevHash
    ss.reply([4 + 4 + 32 + 1 + 8 + 4, 45, 48], proc=0.004)
    start, end = ss.f.t, t0 + dur
    ev, t = [], start
    while True:
        t += R.uniform(*job_rng)
        if t >= end - 1:
            break
        ev.append((t, "job"))
    ev += [(x, "share") for x in poisson(start, end - 1, share_mean)]
    nb = [start + R.expovariate(1 / 600)]

    def fire(t, what):
        if what == "job":
            if t >= nb[0]:  # new block: a future job then SetNewPrevHash
                nb[0] = t + R.expovariate(1 / 600)
                ss.msg("s", [45, 48], at=t)
            else:  # template update: NewMiningJob with min_ntime
                ss.msg("s", 49, at=t)
            if R.random() < 0.1:
                ss.msg("s", 36, dt=0.0002)  # SetTarget (vardiff)
        else:
            ss.msg("c", 24, at=t, ack=False)  # SubmitSharesStandard
            ss.reply(20, proc=R.uniform(0.0005, 0.003))  # SubmitShares.Success
    play([(t, (lambda w: lambda t: fire(t, w))(w)) for t, w in ev])
    ss.close(at=end)
    return ss


def cap_enc_xmrig_tls():
    bc = BCap("enc_xmrig_tls", "XMRig over TLS without SNI to unlisted addresses on 443/3333/5555/"
              "14433: login, jobs every 20-90 s, Poisson shares (one with its first share ~60 s in), "
              "keepalived; 5 sessions, RTT 5-250 ms, 3-9 min")
    xmrig_tls(bc, "10.20.1.11", "203.0.113.31", 443, T0 + 1.0, 540, 0.045, 12, 45, "exp", algos=0)
    xmrig_tls(bc, "10.20.1.12", "203.0.113.32", 3333, T0 + 17.3, 300, 0.005, 30, 25, "uniform", algos=1,
              pool="p2pool")
    xmrig_tls(bc, "192.168.20.13", "203.0.113.33", 5555, T0 + 42.7, 420, 0.25, 38, 85, "exp",
              first_share=61.0, algos=0)
    xmrig_tls(bc, "10.20.2.14", "192.0.2.34", 14433, T0 + 70.2, 200, 0.12, 6, 60, "uniform", algos=3, v13=False)
    xmrig_tls(bc, "192.168.20.15", "203.0.113.35", 443, T0 + 95.0, 360, 0.08, 20, 90, "exp", algos=2)
    return bc


def cap_enc_stratum_tls():
    bc = BCap("enc_stratum_tls", "Bitcoin Stratum v1 over TLS without SNI: subscribe/authorize/"
              "set_difficulty/notify (0-13 merkle branches, clean_jobs on new blocks), submits every "
              "10-60 s, notify every 30-60 s; 3 sessions")
    stratum_tls(bc, "10.21.0.5", "203.0.113.41", 443, T0 + 0.8, 480, 0.03, (10, 30), (30, 60),
                BTC_AGENTS[0], configure=True)
    stratum_tls(bc, "10.21.0.6", "203.0.113.42", 3334, T0 + 12.0, 300, 0.11, (25, 60), (30, 45), BTC_AGENTS[1])
    stratum_tls(bc, "192.168.21.7", "192.0.2.43", 4443, T0 + 33.3, 600, 0.19, (10, 20), (40, 60),
                BTC_AGENTS[3], configure=True)
    return bc


def cap_enc_sv2_noise():
    bc = BCap("enc_sv2_noise", "Stratum V2 over Noise: 64/234-byte handshake, then encrypted "
              "frames (22 + payload + 16): SubmitSharesStandard every 5-60 s, NewMiningJob and "
              "SetNewPrevHash every 30-120 s; 3 sessions")
    sv2_noise(bc, "10.22.0.9", "203.0.113.51", 34254, T0 + 0.5, 420, 0.06, 8, (30, 90), "braiins.w9")
    sv2_noise(bc, "10.22.0.10", "203.0.113.52", 3336, T0 + 20.0, 300, 0.14, 35, (60, 120), "farm.s19-10")
    sv2_noise(bc, "192.168.22.11", "192.0.2.53", 443, T0 + 41.0, 540, 0.02, 55, (30, 120), "ops.rack4")
    return bc


def cap_enc_miner_tls_sni():
    bc = BCap("enc_miner_tls_sni", "XMRig over TLS WITH an innocent unlisted SNI (api.cdn-metrics.net), "
              "and one on 443 with jobs only every ~100 s but shares every ~10 s")
    xmrig_tls(bc, "10.23.0.21", "203.0.113.61", 443, T0 + 2.0, 360, 0.035, 15, 40, "exp",
              sni="api.cdn-metrics.net", kind="xmrig_tls_sni", algos=1)
    xmrig_tls(bc, "10.23.0.22", "192.0.2.62", 443, T0 + 30.0, 420, 0.07, 10, 100, "uniform", algos=0)
    return bc


# ---------------------------------------------------------------- SSH

KEX_C = ["sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,"
         "ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,"
         "diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256,"
         "ext-info-c,kex-strict-c-v00@openssh.com",
         "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ssh-ed25519,"
         "ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,rsa-sha2-512,rsa-sha2-256",
         "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com",
         "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,"
         "hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,"
         "hmac-sha2-256,hmac-sha2-512,hmac-sha1", "none,zlib@openssh.com"]
SSH_CLIENTS = ["SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5", "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10",
               "SSH-2.0-OpenSSH_for_Windows_8.1", "SSH-2.0-PuTTY_Release_0.80"]
SSH_SERVERS = ["SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6", "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3",
               "SSH-2.0-OpenSSH_7.4"]


def ssh_plain(payload):
    """An unencrypted SSH binary packet (block 8, at least 4 bytes of padding)."""
    pad = 4 + (-(5 + len(payload) + 4)) % 8
    return struct.pack(">IB", 1 + len(payload) + pad, pad) + payload + bytes(pad)


def kex_first(banner):
    """OpenSSH >= 9.0 prefers the hybrid sntrup761x25519 KEX; older ones (and others) curve25519."""
    return "sntrup761x25519-sha512@openssh.com" if "OpenSSH_9" in banner else "curve25519-sha256"


def kexinit(banner, server):
    nl = KEX_C[:]
    first = kex_first(banner)
    algs = [a for a in nl[0].split(",") if a != first]
    if "OpenSSH_7" in banner:
        algs.remove("sntrup761x25519-sha512@openssh.com")
    nl[0] = ",".join([first] + algs).replace("-c", "-s" if server else "-c")
    if server:
        nl[1] = "rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256,ssh-ed25519"
    lists = [nl[0], nl[1], nl[2], nl[2], nl[3], nl[3], nl[4], nl[4], "", ""]
    return b"\x14" + rb(16) + b"".join(struct.pack(">I", len(x)) + x.encode() for x in lists) + b"\x00" + bytes(4)


class Ssh(Sess):
    """SSH: banners, KEXINIT, hybrid KEX, NEWKEYS in clear, then encrypted packets. A message
    is a list of SSH payload lengths; each packet is 4 (length) + 1 + payload + padding to the
    block (8 chacha20-poly1305, 16 AES) + MAC (16 AEAD, 32 hmac-sha2-256-etm)."""

    def __init__(self, bc, c, s, port, t0, rtt, client, server, cipher="chacha"):
        Sess.__init__(self, bc, c, s, port, t0, rtt)
        self.bs, self.mac = {"chacha": (8, 16), "gcm": (16, 16), "etm": (16, 32)}[cipher]
        self.msg("s", (server + "\r\n").encode(), dt=rtt / 2 + 0.003, count=False)
        self.msg("c", (client + "\r\n").encode(), dt=0.001, ack=False, count=False)
        self.msg("c", ssh_plain(kexinit(client, False)), dt=0.0003, ack=False, count=False)
        self.msg("s", ssh_plain(kexinit(server, True)), dt=rtt, ack=False, count=False)
        # the client's first KEX the server also has: hybrid (1190/1071-byte keys) or curve25519
        hyb = kex_first(client).startswith("sntrup") and "OpenSSH_7" not in server
        qc, qs = (1190, 1071) if hyb else (32, 32)
        self.msg("c", ssh_plain(b"\x1e" + struct.pack(">I", qc) + rb(qc)), dt=0.001, ack=False, count=False)
        hk = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + rb(32)
        sig = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x40" + rb(64)
        reply = b"\x1f" + struct.pack(">I", len(hk)) + hk + struct.pack(">I", qs) + rb(qs) + \
            struct.pack(">I", len(sig)) + sig
        self.msg("s", ssh_plain(reply) + ssh_plain(b"\x15"), dt=rtt + 0.002, ack=False, count=False)
        self.msg("c", ssh_plain(b"\x15"), dt=0.001, ack=False, count=False)
        # service request/accept, ext-info, publickey query, PK_OK, signed auth, success,
        # channel open/confirm, pty-req, env, shell, window adjust, success, motd
        for who, ls in [("c", [17]), ("s", [17, 200]), ("c", [380]), ("s", [340]), ("c", [480]),
                        ("s", [1, 40]), ("c", [24, 160, 38]), ("s", [17, 9, 5]), ("c", [30]),
                        ("s", [R.randrange(300, 1400)])]:
            self.msg(who, ls, dt=0.001 if who == "c" else rtt + 0.003, ack=False, count=False)

    def pk(self, n):
        body = 1 + n + 4
        body += (-body) % self.bs
        return 4 + body + self.mac

    def wire(self, n):
        """n: an SSH payload length (larger ones: channel data in 32 KB packets)."""
        if isinstance(n, bytes):
            return n
        out = []
        while n > 0:
            k = min(n, 32768 + 9)
            out.append(rb(self.pk(k)))
            n -= k
        return b"".join(out)


def typing(ss, t, text_len, obfuscate, ktime=0.18):
    """Keystrokes (36/52-byte packets) with their echoes, then Enter; OpenSSH >= 9.5 sends
    them on a 20 ms clock with chaff PINGs (answered by PONGs) around the real ones."""
    keys, x = [], t
    for _ in range(text_len):
        x += R.lognormvariate(0, 0.5) * ktime
        keys.append(x)
    ev = []  # (time, who, real): keys (CHANNEL_DATA, one byte) and their echoes overlap in flight
    if not obfuscate:
        ev = [(k, "c", True) for k in keys] + [(k + ss.rtt + 0.0002, "s", True) for k in keys]
        x += ss.rtt
    else:  # a key, or a PING of the same size, each 20 ms tick; echo or PONG back
        tick, x, ki = t, x + R.uniform(0.5, 1.5), 0
        while tick < x:
            real = ki < len(keys) and keys[ki] <= tick
            ki += 1 if real else 0
            ev += [(tick, "c", real), (tick + ss.rtt + 0.0002, "s", real)]
            tick += 0.02
        x += ss.rtt
    for at, who, real in sorted(ev):
        ss.msg(who, 10, at=at, ack=False, count=real)
    return x


def ssh_interactive(bc, c, s, port, t0, dur, rtt, client, server, cipher, obfuscate, tail=False):
    ss = Ssh(bc, c, s, port, t0, rtt, client, server, cipher)
    bc.add(ss, "ssh_interactive", False)
    t, end = ss.f.t + R.uniform(1, 5), t0 + dur - 3
    while t < end:
        t = typing(ss, t, R.randrange(3, 40), obfuscate)
        out = R.choice([80, 200, 400, 900, 2500, 6000, 30000])
        ss.msg("s", [R.randrange(out // 2, out)], dt=R.uniform(0.005, 0.6))
        if tail and R.random() < 0.25:  # `tail -f` / `journalctl -f`: lines pushed unasked
            x = ss.f.t
            for _ in range(R.randrange(5, 30)):
                x += R.expovariate(1 / 4)
                ss.msg("s", [R.randrange(60, 400)], at=x)
            t = x
        t += R.lognormvariate(2, 1)  # reading, thinking
    ss.msg("c", [10], at=end + 1)  # ^D
    ss.msg("s", [12, 8, 4, 8], dt=rtt + 0.001)  # exit-status, eof, close
    ss.close(at=end + 2.0)
    return ss


def ssh_idle(bc, c, s, port, t0, dur, rtt, alive, client, server, cipher):
    """An idle shell with ServerAliveInterval: keepalive@openssh.com global request (want
    reply) when nothing arrived for `alive` s, answered at once by REQUEST_FAILURE."""
    ss = Ssh(bc, c, s, port, t0, rtt, client, server, cipher)
    bc.add(ss, "ssh_idle", False)
    t = ss.f.t + alive
    while t < t0 + dur - 2:
        ss.msg("c", [1 + 4 + 21 + 1], at=t, ack=False)
        ss.reply([1], proc=0.0003)
        t += alive + R.uniform(0, 0.05)
    ss.close(at=t0 + dur)
    return ss


def cap_benign_ssh():
    bc = BCap("benign_ssh", "BENIGN: interactive SSH (OpenSSH 9.6 keystroke obfuscation with chaff, "
              "an older client without, output bursts, tail -f), and idle SSH sessions with "
              "ServerAliveInterval 15-60 s (one on port 2222)")
    ssh_interactive(bc, "10.30.0.5", "192.0.2.71", 22, T0 + 1.0, 480, 0.03, SSH_CLIENTS[0], SSH_SERVERS[0],
                    "chacha", True, tail=True)
    ssh_interactive(bc, "192.168.30.6", "203.0.113.72", 22, T0 + 5.0, 420, 0.12, SSH_CLIENTS[1], SSH_SERVERS[1],
                    "etm", False)
    ssh_idle(bc, "10.30.0.7", "192.0.2.73", 2222, T0 + 3.0, 540, 0.06, 15, SSH_CLIENTS[1], SSH_SERVERS[1], "gcm")
    ssh_idle(bc, "10.30.0.8", "203.0.113.74", 22, T0 + 8.0, 560, 0.02, 60, SSH_CLIENTS[0], SSH_SERVERS[2], "chacha")
    ssh_idle(bc, "192.168.30.9", "192.0.2.75", 2222, T0 + 11.0, 400, 0.17, 30, SSH_CLIENTS[2], SSH_SERVERS[0],
             "chacha")
    return bc


# ---------------------------------------------------------------- benign TLS apps

def video(bc, c, s, t0, dur, rtt, sni, seg_kb):
    """HTTPS (HTTP/2) video: a startup burst of segments, then one segment request every 2-6 s
    (the segment duration), each answered by a burst at CDN speed."""
    ss = Tls(bc, c, s, 443, t0, sni=sni, kind="chrome", rtt=rtt)
    bc.add(ss, "https_video", False)
    t, end, k = ss.f.t + 0.01, t0 + dur - 2, 0
    while t < end:
        ss.msg("c", R.randrange(90, 260) if k else 520, at=t, ack=False)
        size = int(R.uniform(*seg_kb) * 1024 * (1.8 if k < 4 else 1.0))
        ss.bulk("s", [R.randrange(120, 300), size], dt=rtt + R.uniform(0.005, 0.05), rate=R.uniform(2e6, 8e6))
        k += 1
        t = ss.f.t + 0.05 if k < 4 else t + R.uniform(2, 6)
    ss.close(at=t0 + dur)
    return ss


def ws_chat(bc, c, s, t0, dur, rtt, sni, ping=30.0):
    """Chat WebSocket over TLS: the upgrade, human messages both ways (20-2000 B, 1 s - 3 min
    apart), typing indicators, read receipts, server pings every 30 s answered by pongs."""
    ss = Tls(bc, c, s, 443, t0, sni=sni, kind="chrome", rtt=rtt)
    bc.add(ss, "wss_chat", False)
    ss.msg("c", R.randrange(480, 620), dt=0.001, ack=False)  # GET /socket Upgrade: websocket
    ss.reply(R.randrange(160, 260))
    ss.msg("s", R.randrange(800, 4000), dt=0.01)  # hello / initial state
    end, ev = t0 + dur - 1, []
    t = ss.f.t
    while True:
        t += min(R.lognormvariate(2.5, 1.2), 180) + 1
        if t >= end:
            break
        ev.append((t, R.choice("ccsss")))
    ev += [(x, "p") for x in [ss.f.t + ping * (i + 1) for i in range(int(dur / ping))] if x < end]

    def fire(t, w):
        if w == "p":
            ss.msg("s", 2, at=t, ack=False)
            ss.msg("c", 6, dt=rtt / 2 + 0.0005)  # pong (masked)
        elif w == "c":
            ss.msg("c", R.randrange(60, 90), at=t - R.uniform(1, 5), ack=False)  # typing...
            ss.reply(R.randrange(40, 60))
            ss.msg("c", int(R.lognormvariate(4.5, 0.9)) + 26, at=t, ack=False)
            ss.reply(R.randrange(90, 200))  # ack with the message id
        else:
            ss.msg("s", min(int(R.lognormvariate(5, 1)) + 60, 2000), at=t)
            if R.random() < 0.7:
                ss.msg("c", R.randrange(70, 110), dt=R.uniform(0.5, 20), ack=False)  # read receipt
                ss.reply(R.randrange(30, 60))
    play([(t, (lambda w: lambda t: fire(t, w))(w)) for t, w in ev])
    ss.close(at=t0 + dur)
    return ss


def cap_benign_video():
    bc = BCap("benign_video", "BENIGN: HTTPS video with SNI, one 5-minute session: a segment every 2-6 s "
              "(scaled to a low-bitrate rendition, 40-120 KB per segment, to keep the file small)")
    video(bc, "192.168.31.21", "192.0.2.81", T0 + 0.5, 300, 0.018, "rr3---sn-h5q7kned.googlevideo.com", (40, 120))
    return bc


def cap_benign_chat_ws():
    bc = BCap("benign_chat_ws", "BENIGN: chat WebSockets over TLS with SNI: irregular human messages, "
              "typing indicators and receipts, server pings every 30 s with pongs; 2 users")
    ws_chat(bc, "10.32.0.31", "192.0.2.91", T0 + 0.3, 600, 0.04, "gateway.chat-example.com")
    ws_chat(bc, "192.168.32.32", "203.0.113.92", T0 + 7.0, 480, 0.09, "ws.teamtalk.example.net", ping=25.0)
    return bc


def push_keepalive(bc, c, s, port, t0, dur, rtt, sni, every, kind):
    """Mobile push / messenger: long-lived TLS, a tiny heartbeat request/response every few
    minutes, and an occasional notification pushed by the server."""
    ss = Tls(bc, c, s, port, t0, sni=sni, kind="openssl", rtt=rtt)
    bc.add(ss, kind, False)
    ss.msg("c", R.randrange(150, 400), dt=0.001, ack=False)  # login / register
    ss.reply(R.randrange(60, 300))
    ev = [(x, "hb") for x in [ss.f.t + every * (i + R.uniform(0.95, 1.05)) for i in range(1, 9)]
          if x < t0 + dur - 1]
    ev += [(x, "n") for x in poisson(ss.f.t, t0 + dur - 1, 150)]

    def fire(t, w):
        if w == "hb":
            ss.msg("c", R.choice([2, 5, 7]), at=t, ack=False)
            ss.reply(R.choice([2, 5, 7]))
        else:
            ss.msg("s", R.randrange(200, 1500), at=t, ack=False)
            ss.msg("c", R.randrange(10, 40), dt=rtt / 2 + 0.02)  # receipt / ack
    play([(t, (lambda w: lambda t: fire(t, w))(w)) for t, w in ev])
    ss.close(at=t0 + dur)
    return ss


def mqtt_hdr(t, body):
    n, rl = len(body), b""
    while True:
        d, n = n % 128, n // 128
        rl += bytes([d | (0x80 if n else 0)])
        if not n:
            return bytes([t]) + rl + body


def mqtt_connect(cid, keep):
    return mqtt_hdr(0x10, b"\x00\x04MQTT\x04\xc2" + struct.pack(">H", keep) + struct.pack(">H", len(cid)) +
                    cid.encode() + b"\x00\x06device" + struct.pack(">H", 24) + rb(24))


def mqtt_pub(bc, c, s, port, t0, dur, rtt, sni, period, ping):
    """IoT sensor: MQTT 3.1.1 over TLS, a reading (QoS 1, PUBACK) every 10-30 s, PINGREQ
    every `ping` s."""
    ss = Tls(bc, c, s, port, t0, sni=sni, kind="openssl", rtt=rtt, v13=R.random() < 0.5)
    bc.add(ss, "mqtt_sensor", False)
    ss.msg("c", mqtt_connect("sensor-%s" % D.hexs(6), ping), dt=0.001, ack=False)
    ss.reply(b"\x20\x02\x00\x00")
    topic, mid = b"site/%d/env/%s" % (R.randrange(9), D.hexs(4).encode()), 1
    ss.msg("c", mqtt_hdr(0x82, struct.pack(">H", mid) + struct.pack(">H", len(topic) + 4) + topic + b"/cmd\x01"),
           dt=0.001, ack=False)
    ss.reply(b"\x90\x03" + struct.pack(">H", mid) + b"\x01")
    ev, t = [], ss.f.t
    while True:
        t += R.uniform(*period)
        if t >= t0 + dur - 1:
            break
        ev.append((t, "pub"))
    ev += [(ss.f.t + ping * i, "ping") for i in range(1, int(dur / ping) + 1) if ss.f.t + ping * i < t0 + dur - 1]

    def fire(t, w):
        nonlocal mid
        if w == "ping":
            ss.msg("c", b"\xc0\x00", at=t, ack=False)
            ss.reply(b"\xd0\x00", proc=0.0005)
            return
        mid += 1
        js = D.jd({"ts": int(t), "t": round(R.uniform(18, 27), 2), "rh": round(R.uniform(30, 60), 1),
                   "co2": R.randrange(400, 1400), "bat": R.randrange(60, 100)})
        ss.msg("c", mqtt_hdr(0x32, struct.pack(">H", len(topic)) + topic + struct.pack(">H", mid) + js.encode()),
               at=t, ack=False)
        ss.reply(b"\x40\x02" + struct.pack(">H", mid), proc=0.001)
    play([(t, (lambda w: lambda t: fire(t, w))(w)) for t, w in ev])
    ss.close(at=t0 + dur)
    return ss


def mqtt_sub(bc, c, s, port, t0, dur, rtt, sni, keep):
    """MQTT subscriber: the broker pushes a retained feed every 5-15 s (QoS 0, varying sizes);
    the client only sends PINGREQ every keepalive."""
    ss = Tls(bc, c, s, port, t0, sni=sni, kind="openssl", rtt=rtt)
    bc.add(ss, "mqtt_feed", False)
    ss.msg("c", mqtt_connect("dash-%s" % D.hexs(8), keep), dt=0.001, ack=False)
    ss.reply(b"\x20\x02\x00\x00")
    ss.msg("c", mqtt_hdr(0x82, b"\x00\x01\x00\x0cplant/line/#\x00"), dt=0.001, ack=False)
    ss.reply([b"\x90\x03\x00\x01\x00", R.randrange(400, 3000)])  # SUBACK + retained messages
    t, ev = ss.f.t, []
    while True:
        t += R.uniform(5, 15)
        if t >= t0 + dur - 1:
            break
        ev.append((t, "feed"))
    ev += [(ss.f.t + keep * i, "ping") for i in range(1, int(dur / keep) + 1) if ss.f.t + keep * i < t0 + dur - 1]

    def fire(t, w):
        if w == "ping":
            ss.msg("c", b"\xc0\x00", at=t, ack=False)
            ss.reply(b"\xd0\x00", proc=0.0005)
        else:
            ss.msg("s", [R.randrange(40, 900) for _ in range(R.randrange(1, 4))], at=t)
    play([(t, (lambda w: lambda t: fire(t, w))(w)) for t, w in ev])
    ss.close(at=t0 + dur)
    return ss


def cap_benign_heartbeats():
    bc = BCap("benign_heartbeats", "BENIGN: mobile push and messenger keepalives over TLS with SNI "
              "(4-5 min, tiny request/response, occasional notifications), an MQTT-over-TLS sensor "
              "(QoS 1 reading every 10-30 s, PINGREQ every 60 s; one on 8883, one on 443), and an "
              "MQTT subscriber fed by the broker every 5-15 s")
    push_keepalive(bc, "10.33.0.41", "192.0.2.101", 5228, T0 + 0.2, 600, 0.03, "mtalk.google.com", 270, "push")
    push_keepalive(bc, "10.33.0.42", "203.0.113.102", 443, T0 + 4.0, 560, 0.07, "g.whatsapp.net", 240, "messenger")
    mqtt_pub(bc, "192.168.33.43", "203.0.113.103", 8883, T0 + 1.0, 540, 0.05, "a1b2c3d4e5f6g7-ats.iot.example-cloud.com",
             (10, 30), 60)
    mqtt_pub(bc, "192.168.33.44", "203.0.113.104", 443, T0 + 6.0, 480, 0.09, "iot.fleetsense.example.net",
             (10, 20), 60)
    mqtt_sub(bc, "10.33.0.45", "192.0.2.105", 8883, T0 + 2.0, 500, 0.02, "broker.factory.example.org", 60)
    return bc


def backup_upload(bc, c, s, t0, dur, rtt, sni, total):
    """An object-store backup (restic-like): PUT requests of packs in bursts, a small 200 OK
    for each, pauses while the next pack is read and compressed."""
    ss = Tls(bc, c, s, 443, t0, sni=sni, kind="openssl", rtt=rtt)
    bc.add(ss, "backup_upload", False)
    ss.msg("c", R.randrange(300, 500), dt=0.001, ack=False)  # GET config / HEAD locks
    ss.reply(R.randrange(400, 900), proc=0.02)
    sent, t = 0, ss.f.t + 1
    while sent < total and t < t0 + dur - 5:
        n = min(total - sent, R.randrange(200, 1200) * 1024)
        ss.bulk("c", [R.randrange(500, 700), n], at=t, rate=R.uniform(0.8e6, 2.5e6))
        ss.reply(R.randrange(280, 420), proc=R.uniform(0.02, 0.2))
        sent += n
        t = ss.f.t + R.uniform(2, 25)
    ss.close(at=t0 + dur)
    return ss


def rsync_ssh(bc, c, s, t0, dur, rtt, total):
    ss = Ssh(bc, c, s, 22, t0, rtt, SSH_CLIENTS[0], SSH_SERVERS[1], "gcm")
    bc.add(ss, "rsync_ssh", False)
    ss.msg("c", [120], dt=0.001, ack=False)  # exec "rsync --server ..."
    ss.reply([5, 4])  # success, version
    ss.msg("c", [R.randrange(20000, 60000)], dt=0.01, ack=False)  # file list
    ss.reply([R.randrange(2000, 9000)], proc=0.05)  # block checksums
    t, sent = ss.f.t, 0
    while sent < total and t < t0 + dur - 15:  # changed files' deltas, scanning in between
        n = min(total - sent, int(R.lognormvariate(11, 1.2)) + 2000)
        (ss.bulk if n > 60000 else ss.msg)("c", [n], at=t)
        sent += n
        if R.random() < 0.5:
            ss.msg("s", [R.randrange(20, 200)], dt=rtt)
        t = ss.f.t + R.expovariate(1 / 12)
    ss.msg("c", [40], dt=0.5, ack=False)
    ss.reply([60, 12, 8, 4])
    ss.close(at=ss.f.t + 0.2)
    return ss


def cap_benign_backup():
    bc = BCap("benign_backup", "BENIGN: a backup upload over TLS (~4.5 MB in PUT bursts over 3 min, "
              "scaled down) and an rsync-over-SSH push (~1 MB)")
    backup_upload(bc, "10.34.0.51", "203.0.113.111", T0 + 0.5, 190, 0.035, "s3.eu-central-1.objects.example.com",
                  4600 * 1024)
    rsync_ssh(bc, "10.34.0.52", "192.0.2.112", T0 + 20.0, 150, 0.012, 1100 * 1024)
    return bc


def browse(bc, c, t, sni, ip, rtt):
    """A page or API fetch: a TLS flow with a few HTTP/2 requests, 50-300 KB in all."""
    ss = Tls(bc, c, ip, 443, t, sni=sni, kind="chrome", rtt=rtt)
    bc.add(ss, "https_browse", False)
    left = R.randrange(50, 300) * 1024
    while left > 0:
        n = min(left, int(R.lognormvariate(10.5, 1)) + 2000)
        ss.msg("c", R.randrange(60, 700), dt=R.uniform(0.001, 1.5), ack=False)
        ss.bulk("s", [R.randrange(150, 600), n], dt=rtt + R.uniform(0.01, 0.2), rate=R.uniform(1e6, 6e6))
        left -= n
    ss.close(at=ss.f.t + R.uniform(5, 60))
    return ss


def imap_idle(bc, c, s, t0, dur, rtt, sni):
    """IMAP over TLS (993): login, SELECT, IDLE; the server pushes "* N EXISTS" irregularly,
    the client leaves IDLE, fetches headers, re-enters IDLE; "* OK Still here" every 2 min."""
    ss = Tls(bc, c, s, 993, t0, sni=sni, kind="openssl", rtt=rtt)
    bc.add(ss, "imap_idle", False)
    ss.msg("s", R.randrange(150, 260), dt=rtt)
    for cl, sl in [(60, 320), (40, 480), (20, 14)]:  # LOGIN, SELECT, IDLE
        ss.msg("c", cl, dt=0.002, ack=False)
        ss.reply(sl, proc=R.uniform(0.002, 0.03))
    ev = [(x, "new") for x in poisson(ss.f.t, t0 + dur - 5, 170)]
    ev += [(ss.f.t + 120 * i, "still") for i in range(1, int(dur / 120) + 1) if ss.f.t + 120 * i < t0 + dur - 2]
    nx = [R.randrange(200, 4000)]

    def fire(t, w):
        if w == "still":
            ss.msg("s", len("* OK Still here\r\n"), at=t)
            return
        nx[0] += 1
        ss.msg("s", len("* %d EXISTS\r\n* 1 RECENT\r\n" % nx[0]), at=t)
        ss.msg("c", 6, dt=R.uniform(0.05, 0.4), ack=False)  # DONE
        ss.reply(30)
        ss.msg("c", R.randrange(90, 140), dt=0.001, ack=False)  # UID FETCH ... (headers)
        ss.reply(R.randrange(1500, 9000), proc=0.02)
        ss.msg("c", 12, dt=0.01, ack=False)  # IDLE
        ss.reply(14)
    play([(t, (lambda w: lambda t: fire(t, w))(w)) for t, w in ev])
    ss.close(at=t0 + dur)
    return ss


def collab_ws(bc, c, s, t0, dur, rtt, sni):
    """A collaborative editor's WebSocket: edit bursts from the user, others' changes and
    presence pushed by the server, app pings every 45 s."""
    ss = Tls(bc, c, s, 443, t0, sni=sni, kind="chrome", rtt=rtt)
    bc.add(ss, "wss_collab", False)
    ss.msg("c", R.randrange(600, 900), dt=0.001, ack=False)
    ss.reply(R.randrange(180, 260))
    ss.msg("s", R.randrange(5000, 30000), dt=0.02)  # document snapshot
    ev, t = [], ss.f.t
    while True:
        t += R.lognormvariate(2.3, 1.3) + 0.5
        if t >= t0 + dur - 40:
            break
        ev.append((t, R.choice("ccs")))
    ev += [(ss.f.t + 45 * i, "p") for i in range(1, int(dur / 45)) if ss.f.t + 45 * i < t0 + dur - 2]

    def fire(t, w):
        if w == "p":
            ss.msg("c", 20, at=t, ack=False)
            ss.reply(20)
        elif w == "c":
            x = t
            for _ in range(R.randrange(1, 12)):
                ss.msg("c", R.randrange(80, 1800), at=x, ack=False)
                ss.reply(R.randrange(40, 120))
                x += R.uniform(0.3, 3)
        else:
            ss.msg("s", R.randrange(60, 3000), at=t)
    play([(t, (lambda w: lambda t: fire(t, w))(w)) for t, w in ev])
    ss.close(at=t0 + dur)
    return ss


SITES = ["www.wikipedia.org", "news.example-daily.com", "docs.python.org", "github.com", "api.github.com",
         "fonts.gstatic.com", "www.google.com", "cdn.jsdelivr.net", "login.microsoftonline.com",
         "outlook.office.com", "www.bbc.co.uk", "static.xx.fbcdn.net", "stackoverflow.com",
         "i.ytimg.com", "update.example-av.com", "teams.microsoft.com", "www.amazon.com"]


def cap_benign_busy_office():
    bc = BCap("benign_busy_office", "BENIGN: one desktop for 10 minutes: HTTPS browsing (many short TLS "
              "flows with SNI, 50-300 KB each), DNS, IMAP IDLE over TLS, a collaborative-editor "
              "WebSocket, an SSH session; a second desktop browsing and with IMAP IDLE")
    c, res = "192.168.40.23", "192.168.40.1"
    ips = {n: "192.0.2.%d" % (150 + i) if i % 2 else "203.0.113.%d" % (150 + i) for i, n in enumerate(SITES)}
    D.dns_udp(bc, c, res, "mail.example-corp.com", T0 + 0.2, answer=[("mail.example-corp.com", "A", "203.0.113.120")])
    imap_idle(bc, c, "203.0.113.120", T0 + 0.25, 598, 0.025, "mail.example-corp.com")
    D.dns_udp(bc, c, res, "docs.collab.example.com", T0 + 3.0, answer=[("docs.collab.example.com", "A", "192.0.2.121")])
    collab_ws(bc, c, "192.0.2.121", T0 + 3.05, 560, 0.04, "docs.collab.example.com")
    ssh_interactive(bc, c, "10.40.0.5", 22, T0 + 40.0, 420, 0.002, SSH_CLIENTS[1], SSH_SERVERS[1], "chacha", False)
    t = T0 + 1.0
    while t < T0 + 580:
        name = R.choice(SITES)
        D.dns_udp(bc, c, res, name, t, answer=[(name, "A", ips[name])])
        browse(bc, c, t + 0.03, name, ips[name], R.uniform(0.01, 0.08))
        t += R.expovariate(1 / 26)
    c2 = "10.40.1.24"
    imap_idle(bc, c2, "192.0.2.122", T0 + 5.0, 590, 0.06, "outlook.office365.com")
    t = T0 + 9.0
    while t < T0 + 560:
        name = R.choice(SITES)
        D.dns_udp(bc, c2, res, name, t, answer=[(name, "A", ips[name])])
        browse(bc, c2, t + 0.02, name, ips[name], R.uniform(0.01, 0.08))
        t += R.expovariate(1 / 60)
    for h in (c, c2):
        if h not in bc.benign:
            bc.benign.append(h)
    return bc


def cap_baseline_shift():
    """Two office hosts with the same steady habits for 14 minutes (a few short HTTPS flows a
    minute to a handful of sites); in minute 14 one of them opens flows to 150 new addresses
    (a scan, or a miner hunting for a reachable pool): far above its own baseline, though
    nothing in any one flow is odd. The other carries on as before."""
    bc = BCap("baseline_shift", "BENIGN flows, one host leaves its baseline: 2 hosts with 14 "
              "minutes of steady short HTTPS flows, then one opens flows to 150 new peers")
    bc.baseline = [{"host": "10.77.0.5", "metrics": ["flows_opened", "peers", "pkts_out"]}]
    sites = ["198.51.100.%d" % (10 + i) for i in range(6)]
    for c in ("10.77.0.5", "10.77.0.6"):
        bc.benign.append(c)
        for minute in range(15):
            for k in range(R.randrange(3, 6)):
                t = T0 + minute * 60 + R.uniform(0, 58)
                f = bc.tcp(c, R.choice(sites), 443, t, rtt=0.02)
                f.send("c", D.rbytes(R.randrange(200, 600)), ack=True)
                f.send("s", D.rbytes(R.randrange(800, 1400)), dt=0.02, ack=True)
                f.close(at=t + 0.3)
    t = T0 + 14 * 60 + 5.0
    for i in range(150):
        f = bc.tcp("10.77.0.5", "203.0.113.%d" % (i % 250 + 1) if i < 100 else
                   "192.0.2.%d" % (i - 99), 3333 + (i % 3), t + i * 0.2, rtt=0.03, answer=False)
    return bc


CAPTURES = [cap_enc_xmrig_tls, cap_enc_stratum_tls, cap_enc_sv2_noise, cap_enc_miner_tls_sni,
            cap_benign_ssh, cap_benign_video, cap_benign_chat_ws, cap_benign_heartbeats,
            cap_benign_backup, cap_benign_busy_office, cap_baseline_shift]


def gen_behave(outdir, table=False):
    d = os.path.join(outdir, "behave")
    os.makedirs(d, exist_ok=True)
    R.seed(SEED)
    D.R.seed(SEED + 1)  # detect's helpers (ClientHello, Noise bytes, TCP sequence numbers)
    manifest, rows = [], []
    for fn in CAPTURES:
        bc = fn()
        manifest.append(bc.write(d))
        for ss in bc.table:
            rows.append((bc.name, ss.f.c, "%s:%d" % (ss.f.s, ss.f.sport), ss.kind,
                         ss.end - ss.t0, ss.n["c"], ss.n["s"]))
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    if table:
        for r in rows:
            print("%-20s %-15s %-20s %-16s %6.1f %5d %5d" % r)
    return manifest


if __name__ == "__main__":
    gen_behave(sys.argv[1] if len(sys.argv) > 1 else "tests/data", table="-v" in sys.argv)

#!/usr/bin/python3
"""calib.py: generated BENIGN calibration sessions for the long-lived opaque protocols the
real-traffic corpus (../shared/corpus) lacks, written from the published wire formats:
Bitcoin P2P v1 (message framing, version/verack, ping/pong, inv trickling), BIP324 v2
transport (ElligatorSwift keys, garbage, encrypted packets), Tor (TLS with cell-sized
records, link handshake cells, netflow padding), Monero levin (handshake, timed syncs, tx
notifications) and Gnutella 0.6 (handshake, pings, queries). None of them mines: sluice must
raise no alert, and the known-protocol table must name each (manifest.json: capture, the
protocol name it must give, about).

Called from gen.py: gen_calib(OUTDIR) writes OUTDIR/calib/NAME.pcap and manifest.json;
scripts/calibrate.sh runs them with the corpus (category "generated"), tests/integration
checks them. Deterministic: fixed seeds. Run: /usr/bin/python3 tests/gen/calib.py OUTDIR
"""
import hashlib
import json
import os
import random
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import behave as B  # noqa: E402
import detect as D  # noqa: E402
import gen as G  # noqa: E402

SEED = 0xca1b
R = random.Random(SEED)
T0 = G.T0


def rb(n):
    return R.randbytes(n)


def sha256d(b):
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


# ---------------------------------------------------------------- Bitcoin P2P v1

MAGIC_MAIN = b"\xf9\xbe\xb4\xd9"


def btc_msg(cmd, payload, magic=MAGIC_MAIN):
    """Message header (protocol documentation, "Message structure"): magic, command NUL-padded
    to 12 bytes, payload length LE32, first 4 bytes of sha256d(payload), then the payload."""
    return magic + cmd.encode().ljust(12, b"\0") + struct.pack("<I", len(payload)) + \
        sha256d(payload)[:4] + payload


def btc_addr(ip4, port):
    return struct.pack("<Q", 1033) + b"\0" * 10 + b"\xff\xff" + bytes(ip4) + struct.pack(">H", port)


def btc_version(agent, height):
    """version payload: protocol 70016, services, time, addr_recv, addr_from, nonce, user agent
    (var_str), start height, relay."""
    ua = agent.encode()
    return struct.pack("<iQq", 70016, 1033, 1700000000 + R.randrange(10 ** 6)) + \
        btc_addr([203, 0, 113, R.randrange(1, 250)], 8333) + btc_addr([0, 0, 0, 0], 0) + \
        struct.pack("<Q", R.getrandbits(64)) + bytes([len(ua)]) + ua + struct.pack("<i", height) + b"\x01"


def btc_inv(n):
    return bytes([n]) + b"".join(struct.pack("<I", 1) + rb(32) for _ in range(n))  # MSG_TX


def btc_tx():
    """A transaction: 1-3 inputs (41 + ~107-byte scriptSig), 2 outputs."""
    ni, no = R.choice([1, 1, 2, 3]), 2
    return struct.pack("<i", 2) + bytes([ni]) + b"".join(rb(36) + b"\x6b" + rb(107) + b"\xff\xff\xff\xff"
                                                         for _ in range(ni)) + \
        bytes([no]) + b"".join(struct.pack("<q", R.randrange(10 ** 4, 10 ** 8)) + b"\x16" + rb(22)
                               for _ in range(no)) + b"\0\0\0\0"


def p2p_node_traffic(ss, frame, t0, dur, tx_rate):
    """A full node's steady state with one peer: transaction announcements trickled both ways
    (Poisson, Bitcoin Core's ~2-5 s inv trickle), getdata/tx for some, ping every 120 s with its
    pong, a block announcement (headers + cmpctblock) every ~10 min."""
    ev = []
    for who in ("c", "s"):
        for t in B.poisson(t0, t0 + dur, 1.0 / tx_rate):
            ev.append((t, (lambda w: lambda t: inv(t, w))(who)))
    t = t0 + R.uniform(20, 120)
    while t < t0 + dur:
        ev.append((t, lambda t: ping(t)))
        t += 120 + R.uniform(-1, 1)
    for t in B.poisson(t0, t0 + dur, 600):
        ev.append((t, lambda t: block(t)))

    def inv(t, who):
        other = "s" if who == "c" else "c"
        ss.msg(who, frame("inv", btc_inv(R.choice([1, 1, 2, 3, 5, 8]))), at=t)
        if R.random() < 0.3:  # the peer asks for one it lacks, gets the transaction
            ss.msg(other, frame("getdata", btc_inv(1)), dt=ss.rtt / 2 + 0.001)
            ss.msg(who, frame("tx", btc_tx()), dt=ss.rtt / 2 + 0.001)

    def ping(t):
        nonce = rb(8)
        ss.msg("c", frame("ping", nonce), at=t)
        ss.msg("s", frame("pong", nonce), dt=ss.rtt + 0.0005)

    def block(t):
        ss.msg("s", frame("headers", b"\x01" + rb(80) + b"\0"), at=t)
        ss.msg("s", frame("cmpctblock", rb(R.randrange(9000, 16000))), dt=0.002)
        ss.msg("c", frame("getblocktxn", rb(R.randrange(34, 80))), dt=ss.rtt + 0.01)
        ss.msg("s", frame("blocktxn", rb(R.randrange(400, 3000))), dt=ss.rtt + 0.002)
    B.play(ev)


def cap_bitcoin_v1():
    bc = B.BCap("bitcoin_p2p_v1", "Bitcoin Core v1 P2P on 8333 (and Litecoin on 9333): version/"
                "verack, sendheaders, feefilter, inv trickling, ping every 120 s, a block; 12 min")
    for c, s, port, magic, t0 in [("10.60.0.5", "198.51.100.80", 8333, MAGIC_MAIN, T0 + 1.0),
                                   ("10.60.0.6", "198.51.100.81", 9333, b"\xfb\xc0\xb6\xdb", T0 + 7.0)]:
        ss = B.Sess(bc, c, s, port, t0, R.uniform(0.02, 0.15))

        def frame(cmd, payload, magic=magic):
            return btc_msg(cmd, payload, magic)
        ss.msg("c", frame("version", btc_version("/Satoshi:26.0.0/", 820000)), dt=0.001)
        ss.msg("s", frame("version", btc_version("/Satoshi:25.1.0/", 820000)) + frame("verack", b""),
               dt=ss.rtt + 0.001)
        ss.msg("c", frame("verack", b"") + frame("sendheaders", b"") + frame("sendcmpct", b"\0" + struct.pack("<Q", 2)) +
               frame("feefilter", struct.pack("<Q", 1000)), dt=0.001)
        ss.msg("s", frame("sendheaders", b"") + frame("feefilter", struct.pack("<Q", 1000)), dt=ss.rtt)
        p2p_node_traffic(ss, frame, t0 + 2, 720, 0.35)
        ss.close(at=t0 + 725)
        bc.add(ss, "bitcoin", False)
    bc.protocol = "bitcoin"
    return bc


# ---------------------------------------------------------------- BIP324 v2 transport

def v2_packet(contents_len):
    """An encrypted v2 packet (BIP324 "Transport layer"): 3-byte encrypted length, then the
    ChaCha20-Poly1305 ciphertext of header byte + contents, and the 16-byte tag."""
    return rb(3 + 1 + contents_len + 16)


def v2_msg(cmd, payload_len):
    """Contents of an application message: a 1-byte short id for the BIP324 message types, or
    0 + the 12-byte command, then the payload."""
    short = {"ping": 1, "pong": 1, "inv": 1, "getdata": 1, "tx": 1, "headers": 1,
             "cmpctblock": 1, "getblocktxn": 1, "blocktxn": 1, "feefilter": 1, "sendcmpct": 1}
    return v2_packet((1 if cmd in short else 13) + payload_len)


def cap_bitcoin_v2():
    bc = B.BCap("bitcoin_p2p_bip324", "Bitcoin Core v2 transport (BIP324) on 8333: 64-byte "
                "ElligatorSwift keys with garbage, garbage terminators, version packets, then the "
                "same node traffic encrypted; 12 min")
    ss = B.Sess(bc, "10.61.0.7", "198.51.100.90", 8333, T0 + 3.0, 0.06)
    ss.msg("c", rb(64 + R.randrange(0, 4096)), dt=0.001)          # ellswift key + garbage
    ss.msg("s", rb(64 + R.randrange(0, 4096)), dt=ss.rtt + 0.001)
    ss.msg("c", rb(16) + v2_packet(0), dt=0.001)                   # terminator, version packet
    ss.msg("s", rb(16) + v2_packet(0) + v2_msg("version", 110), dt=ss.rtt)
    ss.msg("c", v2_msg("version", 110) + v2_msg("verack", 0) + v2_msg("sendcmpct", 9), dt=0.001)

    def frame(cmd, payload):  # the v1 helpers' payloads, carried in v2 packets
        return v2_msg(cmd, len(payload))
    p2p_node_traffic(ss, frame, T0 + 5, 720, 0.35)
    ss.close(at=T0 + 728)
    bc.add(ss, "bitcoin_v2", False)
    bc.protocol = "bitcoin_v2"
    return bc


# ---------------------------------------------------------------- Tor

CELL = 514  # link protocol 4+: circuit id 4, command 1, payload 509


def cap_tor():
    bc = B.BCap("tor_client", "Tor clients to guard relays on 9001 and 443: TLS 1.3 (random "
                "www.<base32>.com SNI), VERSIONS/CERTS/AUTH_CHALLENGE/NETINFO, circuit builds, "
                "netflow padding cells every 1.5-9.5 s each way, a few small streams; 10-15 min")
    b32 = "abcdefghijklmnopqrstuvwxyz234567"
    for c, s, port, t0, dur in [("10.62.0.8", "198.51.100.100", 9001, T0 + 2.0, 900),
                                ("10.62.0.9", "198.51.100.101", 443, T0 + 11.0, 600)]:
        sni = "www.%s.com" % "".join(R.choice(b32) for _ in range(R.randrange(8, 21)))
        ss = B.Tls(bc, c, s, port, t0, sni=sni, rtt=R.uniform(0.03, 0.12))
        # link handshake (tor-spec 4): VERSIONS (variable-length cell, 2-byte circuit id),
        # then CERTS, AUTH_CHALLENGE, NETINFO from the relay, NETINFO from the client
        ss.msg("c", 2 + 1 + 2 + 6, dt=0.001)
        ss.msg("s", [2 + 1 + 2 + 6 + 4 + 1 + 2 + R.randrange(1200, 1600) + 4 + 1 + 2 + 38 + CELL],
               dt=ss.rtt + 0.002)
        ss.msg("c", CELL, dt=0.001)
        ev = []

        def cells(who, k):  # k cells in one TLS record
            return lambda t: ss.msg(who, k * CELL, at=t)

        def circuit(t):  # CREATE2 / CREATED2, then EXTEND2 twice (relay cells both ways)
            ss.msg("c", CELL, at=t)
            ss.msg("s", CELL, dt=ss.rtt + 0.003)
            for _ in range(2):
                ss.msg("c", CELL, dt=0.002)
                ss.msg("s", CELL, dt=ss.rtt + R.uniform(0.05, 0.3))

        def stream(t):  # BEGIN, CONNECTED, a request and a short answer in relay cells
            ss.msg("c", CELL, at=t)
            ss.msg("s", CELL, dt=ss.rtt + R.uniform(0.1, 0.5))
            ss.msg("c", CELL, dt=0.01)
            ss.msg("s", R.randrange(1, 5) * CELL, dt=ss.rtt + R.uniform(0.1, 0.6))
        for who in ("c", "s"):  # netflow padding (padding-spec 2): uniform 1.5-9.5 s
            t = t0 + 3
            while t < t0 + dur:
                t += R.uniform(1.5, 9.5)
                ev.append((t, cells(who, 1)))
        for t in B.poisson(t0 + 5, t0 + dur, 120):
            ev.append((t, circuit))
        for t in B.poisson(t0 + 20, t0 + dur, 90):
            ev.append((t, stream))
        B.play(ev)
        ss.close(at=t0 + dur + 1)
        bc.add(ss, "tor", False)
    bc.protocol = "tor"
    return bc


# ---------------------------------------------------------------- Monero levin

def levin(cmd, body_len, request=True, ret=False):
    """Levin bucket (epee levin_base.h): signature, body size, have_to_return, command, return
    code, flags (1 request, 2 response), protocol version 1; then the portable-storage body."""
    return struct.pack("<QQ?IiII", 0x0101010101012101, body_len, ret, cmd, 0,
                       1 if request else 2, 1) + rb(body_len)


def cap_monero():
    bc = B.BCap("monero_p2p", "monerod P2P on 18080: levin handshake (1001), timed syncs (1002) "
                "every 60 s, new transaction notifications (2002), a new block (2001); 12 min")
    ss = B.Sess(bc, "10.63.0.4", "198.51.100.110", 18080, T0 + 4.0, 0.09)
    ss.msg("c", levin(1001, R.randrange(180, 260), ret=True), dt=0.001)
    ss.msg("s", levin(1001, R.randrange(4000, 9000), request=False), dt=ss.rtt + 0.002)
    ev = []
    t = T0 + 64
    while t < T0 + 724:
        ev.append((t, lambda t: (ss.msg("c", levin(1002, R.randrange(150, 220), ret=True), at=t),
                                 ss.msg("s", levin(1002, R.randrange(2000, 6000), request=False),
                                        dt=ss.rtt + 0.002))))
        t += 60 + R.uniform(-0.5, 0.5)
    for who in ("c", "s"):
        for t in B.poisson(T0 + 6, T0 + 724, 25):
            ev.append((t, (lambda w: lambda t: ss.msg(w, levin(2002, R.randrange(1500, 3500)), at=t))(who)))
    for t in B.poisson(T0 + 6, T0 + 724, 120):
        ev.append((t, lambda t: ss.msg("s", levin(2001, R.randrange(3000, 12000)), at=t)))
    B.play(ev)
    ss.close(at=T0 + 726)
    bc.add(ss, "monero", False)
    bc.protocol = "monero"
    return bc


# ---------------------------------------------------------------- Gnutella 0.6

def gnu_desc(ptype, payload_len, ttl=7):
    """Descriptor header (Gnutella 0.6 2.2): GUID 16, payload type, TTL, hops, length LE32."""
    return rb(16) + bytes([ptype, ttl, 0]) + struct.pack("<I", payload_len) + rb(payload_len)


def cap_gnutella():
    bc = B.BCap("gnutella_servent", "Gnutella 0.6 ultrapeer link: CONNECT handshake, pings every "
                "~30 s with pongs, queries and query hits; 10 min")
    ss = B.Sess(bc, "10.64.0.3", "198.51.100.120", 6346, T0 + 5.0, 0.07)
    ss.msg("c", b"GNUTELLA CONNECT/0.6\r\nUser-Agent: gtk-gnutella/1.2.2\r\nX-Ultrapeer: False\r\n\r\n", dt=0.001)
    ss.msg("s", b"GNUTELLA/0.6 200 OK\r\nUser-Agent: LimeWire/5.5.16\r\nX-Ultrapeer: True\r\n\r\n",
           dt=ss.rtt + 0.003)
    ss.msg("c", b"GNUTELLA/0.6 200 OK\r\n\r\n", dt=0.001)
    ev = []
    t = T0 + 10
    while t < T0 + 605:
        ev.append((t, lambda t: (ss.msg("s", gnu_desc(0x00, 0, ttl=1), at=t),
                                 ss.msg("c", gnu_desc(0x01, 14, ttl=1), dt=ss.rtt + 0.001))))
        t += 30 + R.uniform(-2, 2)
    for t in B.poisson(T0 + 10, T0 + 605, 20):
        ev.append((t, lambda t: ss.msg("s", gnu_desc(0x80, R.randrange(20, 120)), at=t)))
    for t in B.poisson(T0 + 10, T0 + 605, 45):
        ev.append((t, lambda t: ss.msg("c", gnu_desc(0x81, R.randrange(100, 400)), at=t)))
    B.play(ev)
    ss.close(at=T0 + 607)
    bc.add(ss, "gnutella", False)
    bc.protocol = "gnutella"
    return bc


CAPTURES = [cap_bitcoin_v1, cap_bitcoin_v2, cap_tor, cap_monero, cap_gnutella]


def gen_calib(outdir):
    d = os.path.join(outdir, "calib")
    os.makedirs(d, exist_ok=True)
    R.seed(SEED)
    B.R.seed(SEED + 1)  # behave's helpers (record bytes, TLS flights)
    D.R.seed(SEED + 2)  # detect's (ClientHello, TCP sequence numbers)
    manifest = []
    for fn in CAPTURES:
        bc = fn()
        ent = bc.write(d)
        ent["protocol"] = bc.protocol
        manifest.append(ent)
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    return manifest


if __name__ == "__main__":
    gen_calib(sys.argv[1] if len(sys.argv) > 1 else "tests/data")

#!/usr/bin/python3
"""make_seeds.py: write the seed corpora of the libFuzzer targets in tests/fuzz/.

usage: make_seeds.py OUT_DIR [DOMAINS_LIST [IPS_LIST]]
    writes OUT_DIR/<target>/<name>.bin; scripts/fuzz.sh runs it with the pool lists the
    targets load, so that the "pool" seeds name the list's first pool name and IPv4 address
    (defaults: pool.example, 198.51.100.7)

Seeds are small, valid examples of what each target parses, so the fuzzers start past the
first checks: a DNS query, a TLS ClientHello (one record and split over two), an HTTP GET
with a WebSocket upgrade and its 101 answer, masked WebSocket frames, Stratum JSON lines, a
Stratum V2 SetupConnection, and Ethernet/raw/SLL/NULL frames of TCP and UDP flows carrying
them. Standard library only.
"""
import ipaddress
import os
import struct
import sys

POOL_NAME = "pool.example"
POOL4 = [198, 51, 100, 7]


def list_entries(path):
    """Non-comment words of a list file."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                w = line.split("#", 1)[0].strip()
                if w:
                    yield w
    except OSError:
        return

# ---- payloads ----


def dns_query(name, qtype=1, txid=0x1234, pointer=False):
    hdr = struct.pack(">HHHHHH", txid, 0x0100, 1, 0, 0, 0)
    q = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    msg = hdr + q + struct.pack(">HH", qtype, 1)
    if pointer:  # a second question whose name is a compression pointer to the first
        msg = hdr[:4] + struct.pack(">H", 2) + hdr[6:] + q + struct.pack(">HH", qtype, 1) + \
            b"\xc0\x0c" + struct.pack(">HH", 28, 1)
    return msg


def client_hello(sni, split=None):
    body = b"\x03\x03" + bytes(range(32))           # version, random
    body += b"\x20" + bytes(range(32, 64))          # session id
    body += struct.pack(">H", 4) + b"\x13\x01\x13\x02"  # cipher suites
    body += b"\x01\x00"                             # compression methods
    name = sni.encode()
    sni_ext = struct.pack(">H", len(name) + 3) + b"\x00" + struct.pack(">H", len(name)) + name
    exts = struct.pack(">HH", 0, len(sni_ext)) + sni_ext
    exts += struct.pack(">HH", 0x002b, 3) + b"\x02\x03\x04"  # supported_versions
    body += struct.pack(">H", len(exts)) + exts
    hs = b"\x01" + struct.pack(">I", len(body))[1:] + body
    if split is None:
        return b"\x16\x03\x01" + struct.pack(">H", len(hs)) + hs
    a, b = hs[:split], hs[split:]
    return (b"\x16\x03\x01" + struct.pack(">H", len(a)) + a +
            b"\x16\x03\x01" + struct.pack(">H", len(b)) + b)


def http_upgrade(host):
    return (f"GET /ws HTTP/1.1\r\nHost: {host}:8080\r\nUser-Agent: Mozilla/5.0\r\n"
            "Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()


HTTP_101 = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")

HTTP_POST = (b"POST / HTTP/1.1\r\nHost: 192.0.2.80\r\nUser-Agent: cgminer/4.10\r\n"
             b"X-Mining-Extensions: longpoll midstate\r\nContent-Type: application/json\r\n"
             b"Content-Length: 44\r\n\r\n"
             b'{"method": "getwork", "params": [], "id": 0}')


def ws_frame(payload, mask=b"\x37\xfa\x21\x3d", opcode=1, fin=True):
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    if n < 126:
        hdr = bytes([b0, (0x80 if mask else 0) | n])
    elif n < 65536:
        hdr = bytes([b0, (0x80 if mask else 0) | 126]) + struct.pack(">H", n)
    else:
        hdr = bytes([b0, (0x80 if mask else 0) | 127]) + struct.pack(">Q", n)
    if not mask:
        return hdr + payload
    return hdr + mask + bytes(c ^ mask[i & 3] for i, c in enumerate(payload))


WS_AUTH = b'{"type":"auth","params":{"site_key":"abcdefghijklmnopqrstuvwxyz012345","type":"anonymous"}}'
WS_JOB = (b'{"type":"job","params":{"job_id":"1234","blob":"' + b"0b" * 38 +
          b'","target":"ffffff00"}}')
STRATUM_SUB = b'{"id": 1, "method": "mining.subscribe", "params": ["cgminer/4.10.0"]}\n'
STRATUM_AUTH = b'{"params": ["worker.1", "x"], "id": 2, "method": "mining.authorize"}\n'
STRATUM_NOTIFY = (b'{"id":null,"method":"mining.notify","params":["bf","4d16b6f85af6e2198f44ae2a6de67f78487ae5611b77c6c0440b921e00000000","01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff20020862062f503253482f04b8864e5008",'
                  b'"072f736c7573682f000000000100f2052a010000001976a914d23fcdf86f7e756a64a7a9688ef9903327048ed988ac00000000",[],"00000002","1c2ac4af","504e86b9",false]}\n')
STRATUM_REPLY = b'{"id":1,"result":[[["mining.set_difficulty","b4b6693b72a50c7116db18d6497cac52"],["mining.notify","ae6812eb4cd7735a302a8a9dd95cf71f"]],"08000002",4],"error":null}\n'
XMR_LOGIN = (b'{"id":1,"jsonrpc":"2.0","method":"login","params":{"login":"4' + b"A" * 94 +
             b'","pass":"x","agent":"XMRig/6.21.0 (Linux x86_64) libuv/1.44.2 gcc/12.2.0","algo":["rx/0","cn/r"]}}\n')


def sv2_frame(ext, msg_type, payload):
    return struct.pack("<HB", ext, msg_type) + struct.pack("<I", len(payload))[:3] + payload


# SetupConnection(protocol 0 = mining, versions 2..2), then OpenStandardMiningChannel
SV2_SETUP = sv2_frame(0, 0x00, bytes([0, 2, 0, 2, 0]) + struct.pack("<I", 0) +
                      b"\x0bpool.sv2.io" + struct.pack("<H", 3336) + b"\x00" * 16)
SV2_OPEN = sv2_frame(0, 0x10, struct.pack("<I", 1) + b"\x05user1" + struct.pack("<f", 1e9) +
                     b"\xff" * 32)

# ---- frames ----


def csum(b):
    if len(b) & 1:
        b += b"\0"
    s = sum(struct.unpack(">%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def ipv4(src, dst, proto, l4):
    h = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0x4000, 64, proto, 0,
                    bytes(src), bytes(dst))
    return h[:10] + struct.pack(">H", csum(h)) + h[12:] + l4


def ipv6(src, dst, proto, l4):
    return struct.pack(">IHBB16s16s", 0x60000000, len(l4), proto, 64, bytes(src),
                       bytes(dst)) + l4


def tcp(sport, dport, seq, ack, flags, payload=b""):
    return struct.pack(">HHIIBBHHH", sport, dport, seq, ack, 0x50, flags, 65535, 0, 0) + payload


def udp(sport, dport, payload):
    return struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload


def eth(l3, v6=False):
    return (b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01" +
            (b"\x86\xdd" if v6 else b"\x08\x00") + l3)


def sll(l3, v6=False):
    return struct.pack(">HHH8sH", 0, 1, 6, b"\x02\x00\x00\x00\x00\x01\0\0",
                       0x86dd if v6 else 0x0800) + l3


def null(l3, v6=False):
    return struct.pack("<I", 30 if v6 else 2) + l3


CLI4, SRV4 = [10, 0, 0, 5], [192, 0, 2, 80]
CLI6 = [0xfd] + [0] * 14 + [5]
SRV6 = [0x20, 0x01, 0x0d, 0xb8, 0, 5] + [0] * 9 + [0x33]
SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01


def tcp_session(cli_payloads, srv_payloads, sport=40000, dport=3333, src=CLI4, dst=SRV4,
                ip=ipv4):
    """Handshake, then alternating client/server data segments; L3 packets."""
    cs, ss = 1000, 5000
    pk = [ip(src, dst, 6, tcp(sport, dport, cs, 0, SYN)),
          ip(dst, src, 6, tcp(dport, sport, ss, cs + 1, SYN | ACK))]
    cs += 1
    ss += 1
    for i in range(max(len(cli_payloads), len(srv_payloads))):
        if i < len(cli_payloads):
            pk.append(ip(src, dst, 6, tcp(sport, dport, cs, ss, ACK | PSH, cli_payloads[i])))
            cs += len(cli_payloads[i])
        if i < len(srv_payloads):
            pk.append(ip(dst, src, 6, tcp(dport, sport, ss, cs, ACK | PSH, srv_payloads[i])))
            ss += len(srv_payloads[i])
    return pk


# ---- target formats ----


def inspect_input(h0, chunks):
    """fuzz_inspect: [h0][direction bits] then [len16][bytes] per chunk."""
    dirs = 0
    body = b""
    for i, (d, data) in enumerate(chunks):
        dirs |= d << i
        body += struct.pack(">H", len(data)) + data
    return bytes([h0, dirs]) + body


def inspect_h0(udp_=False, port=3333, dst=0, no_state=False):
    return ((1 if udp_ else 0) | ({53: 0, 80: 1, 443: 2, 3333: 3}[port] << 1) | (dst << 3) |
            (0x20 if no_state else 0))


def packet_input(sel, frames, ctl=0):
    """fuzz_packet: [sel] then [ctl][len16][bytes] per frame (at most 8)."""
    out = bytes([sel])
    for f in frames[:8]:
        out += bytes([ctl]) + struct.pack(">H", len(f)) + f
    return out


def pcap_file(frames, linktype=1, magic=0xa1b2c3d4, bo="<", t0=1700000000, wire=None):
    """fuzz_capture: a classic pcap (magic a1b2c3d4 = microseconds, a1b23c4d = nanoseconds)."""
    out = struct.pack(bo + "IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)
    for i, f in enumerate(frames):
        w = len(f) if wire is None or i not in wire else wire[i]
        out += struct.pack(bo + "IIII", t0 + i, 1000 * i, len(f), w) + f
    return out


def ng_block(bo, btype, body):
    body += b"\0" * ((4 - len(body) % 4) % 4)
    return struct.pack(bo + "II", btype, len(body) + 12) + body + struct.pack(bo + "I", len(body) + 12)


def ng_idb(bo, linktype, snaplen=65535, tsresol=None, tsoffset=None):
    body = struct.pack(bo + "HHI", linktype, 0, snaplen)
    if tsresol is not None:
        body += struct.pack(bo + "HH", 9, 1) + bytes([tsresol]) + b"\0\0\0"
    if tsoffset is not None:
        body += struct.pack(bo + "HHq", 14, 8, tsoffset)
    return ng_block(bo, 1, body + struct.pack(bo + "HH", 0, 0))


def pcapng_file(frames, bo="<", ifaces=((1, 65535, None),), kinds=None, ups=10 ** 6):
    """fuzz_capture: one pcapng section; frames are (interface, frame); kinds[i] picks an
    Enhanced (6), obsolete (2) or Simple (3) Packet Block for frame i."""
    out = ng_block(bo, 0x0A0D0D0A, struct.pack(bo + "IHHq", 0x1A2B3C4D, 1, 0, -1))
    for lt, snap, res in ifaces:
        out += ng_idb(bo, lt, snap, res)
    for i, (ifid, f) in enumerate(frames):
        k = 6 if kinds is None else kinds[i]
        t = (1700000000 + i) * ups
        if k == 3:
            out += ng_block(bo, 3, struct.pack(bo + "I", len(f)) + f)
        elif k == 2:
            out += ng_block(bo, 2, struct.pack(bo + "HHIIII", ifid, 0, t >> 32, t & 0xffffffff,
                                               len(f), len(f)) + f)
        else:
            out += ng_block(bo, 6, struct.pack(bo + "IIIII", ifid, t >> 32, t & 0xffffffff,
                                               len(f), len(f)) + f)
    return out


LT = {"eth": 0, "raw": 1, "sll": 2, "null": 3, "sll2": 4, "loop": 5, "ipv4": 6, "ipv6": 7}


def dev_seeds():
    """fuzz_dev: byte 0 = parser (bits 0-1: 0 L2, 1 DHCP, 2 MAC/VLAN) and link type (bits 2-3)."""
    mac1, mac2 = bytes([0, 0x1b, 0x21, 0xaa, 0, 1]), bytes([0xe0, 0xa5, 9, 0x12, 0x34, 0x56])

    def tlv(t, v):
        return struct.pack(">H", (t << 9) | len(v)) + v
    lldp = tlv(1, b"\x04" + mac1) + tlv(2, b"\x05eth0") + tlv(3, b"\x00\x78") + tlv(5, b"db-3") + \
        tlv(8, bytes([5, 1, 10, 1, 0, 30, 2, 0, 0, 0, 1, 0])) + b"\x00\x00"
    cdp_tlv = lambda t, v: struct.pack(">HH", t, len(v) + 4) + v
    cdp = bytes([2, 180, 0, 0]) + cdp_tlv(1, b"sw-2") + cdp_tlv(2, struct.pack(">I", 1) + bytes(
        [1, 1, 0xcc]) + struct.pack(">H", 4) + bytes([10, 1, 0, 2])) + cdp_tlv(3, b"Gi0/12")
    llc = b"\xaa\xaa\x03\x00\x00\x0c\x20\x00" + cdp
    arp = struct.pack(">HHBBH", 1, 0x0800, 6, 4, 1) + mac1 + bytes([10, 1, 0, 5]) + bytes(6) + bytes([10, 1, 0, 1])
    opts = bytes([53, 1, 3, 12, 7]) + b"antmine" + bytes([60, 4]) + b"MSFT" + bytes([55, 4, 1, 3, 6, 15]) + \
        bytes([61, 7, 1]) + mac2 + bytes([50, 4, 10, 42, 0, 50, 255])
    dhcp = bytes([1, 1, 6, 0]) + bytes(24) + mac2 + bytes(10) + bytes(192) + b"\x63\x82\x53\x63" + opts
    eth = lambda et, p: b"\x01\x80\xc2\x00\x00\x0e" + mac1 + struct.pack(">H", et) + p
    return {
        "lldp": b"\x00" + eth(0x88cc, lldp),
        "cdp": b"\x00" + b"\x01\x00\x0c\xcc\xcc\xcc" + mac1 + struct.pack(">H", len(llc)) + llc,
        "arp_vlan": b"\x00" + b"\xff" * 6 + mac1 + b"\x81\x00\x00\x07\x08\x06" + arp,
        "arp_sll": b"\x04" + struct.pack(">HHH", 0, 1, 6) + mac1 + b"\x00\x00\x08\x06" + arp,
        "dhcp": b"\x01" + dhcp,
        "dhcp_relayed": b"\x11" + dhcp[:24] + bytes([10, 43, 0, 1]) + dhcp[28:],
        "dhcp6_solicit": b"\x03" + bytes([1, 0x12, 0x34, 0x56, 0, 1, 0, 14, 0, 1, 0, 1, 1, 2, 3, 4]) + mac2 +
        bytes([0, 39, 0, 8, 1, 6]) + b"miner3" + bytes([0, 0, 8, 0, 2, 0, 0]),
        "mac_qinq": b"\x02" + b"\xff" * 6 + mac1 + b"\x88\xa8\x00\x05\x81\x00\x00\x07\x08\x00",
    }


def seeds():
    s = {}
    s["fuzz_dev"] = dev_seeds()
    pool = POOL_NAME
    s["fuzz_dns"] = {
        "query": dns_query("pool." + pool),
        "query_aaaa_ptr": dns_query("XMR.Pool.Test", qtype=28, pointer=True),
    }
    s["fuzz_tls"] = {
        "client_hello": client_hello("xmr." + pool.upper()),
        "client_hello_split": client_hello("www.example.org", split=50),
    }
    s["fuzz_http"] = {
        "get_upgrade": http_upgrade(pool),
        "response_101": HTTP_101,
        "post_getwork": HTTP_POST,
    }
    s["fuzz_ws"] = {
        "masked_auth": ws_frame(WS_AUTH),
        "two_frames": ws_frame(WS_JOB) + ws_frame(b"\x00\x01", opcode=9, mask=b"\1\2\3\4"),
        "unmasked_126": ws_frame(STRATUM_NOTIFY[:200], mask=b""),
    }
    s["fuzz_inspect"] = {
        "stratum": inspect_input(inspect_h0(port=3333), [
            (0, STRATUM_SUB), (1, STRATUM_REPLY), (0, STRATUM_AUTH), (1, STRATUM_NOTIFY)]),
        "xmr_login_pool_ip": inspect_input(inspect_h0(port=3333, dst=1), [(0, XMR_LOGIN)]),
        "websocket": inspect_input(inspect_h0(port=80), [
            (0, http_upgrade(pool)), (1, HTTP_101 + ws_frame(WS_JOB, mask=b"")),
            (0, ws_frame(WS_AUTH))]),
        "tls": inspect_input(inspect_h0(port=443, dst=2), [
            (0, client_hello(pool, split=60)[:70]),
            (0, client_hello(pool, split=60)[70:])]),
        "dns_udp": inspect_input(inspect_h0(udp_=True, port=53), [
            (0, dns_query(pool)), (1, dns_query("a.b.c"))]),
        "dns_tcp": inspect_input(inspect_h0(port=53), [
            (0, struct.pack(">H", len(dns_query(pool))) + dns_query(pool))]),
        "sv2": inspect_input(inspect_h0(port=3333, dst=3), [(0, SV2_SETUP + SV2_OPEN)]),
        "http_getwork": inspect_input(inspect_h0(port=80), [(0, HTTP_POST)]),
        # the known-protocol table (lib/match/known.c): first bytes of each side
        "known_bitcoin": inspect_input(inspect_h0(port=3333), [
            (0, b"\xf9\xbe\xb4\xd9version\0\0\0\0\0\x66\0\0\0" + bytes(106))]),
        "known_openvpn": inspect_input(inspect_h0(port=443), [
            (0, b"\x00\x0e\x38" + bytes(range(1, 9)) + bytes(5)),
            (1, b"\x00\x1a\x40" + bytes(range(9, 17)) + bytes(17))]),
        "known_levin": inspect_input(inspect_h0(port=3333), [
            (0, b"\x01\x21\x01\x01\x01\x01\x01\x01\x0a" + bytes(7) + b"\x01\xe9\x03\0\0" +
             bytes(4) + b"\x01\0\0\0\x01\0\0\0" + bytes(10))]),
        "known_ssh_mqtt": inspect_input(inspect_h0(port=80), [
            (1, b"Welcome\r\nSSH-2.0-OpenSSH_9.6\r\n"), (0, b"\x10\x10\x00\x04MQTT\x04\x02\x00\x3c")]),
        "known_wireguard": inspect_input(inspect_h0(udp_=True, port=443), [(0, b"\x01" + bytes(147))]),
    }
    strat = tcp_session([STRATUM_SUB, STRATUM_AUTH], [STRATUM_REPLY, STRATUM_NOTIFY[:400]])
    ws = tcp_session([http_upgrade(pool), ws_frame(WS_AUTH)],
                     [HTTP_101 + ws_frame(WS_JOB, mask=b"")], dport=80)
    tls6 = tcp_session([client_hello("www." + pool)], [], dport=443, src=CLI6, dst=SRV6,
                       ip=ipv6)
    dns = [ipv4(CLI4, [192, 0, 2, 53], 17, udp(5353, 53, dns_query(pool)))]
    s["fuzz_packet"] = {
        "eth_stratum": packet_input(LT["eth"], [eth(p) for p in strat]),
        "eth_stratum_pool_home": packet_input(LT["eth"] | 0x10 | 0x20,
                                              [eth(p) for p in tcp_session(
                                                  [XMR_LOGIN], [], dst=POOL4)]),
        "raw_websocket": packet_input(LT["raw"], ws),
        "sll_tls6": packet_input(LT["sll"], [sll(p, v6=True) for p in tls6]),
        "null_dns": packet_input(LT["null"], [null(p) for p in dns]),
        "meta_snapped_chained": packet_input(LT["eth"] | 0x08, [eth(p) for p in strat],
                                             ctl=(5 << 3) | 2),
    }
    mixed = [(0, eth(strat[0])), (1, sll(strat[1])), (2, strat[2]), (0, eth(strat[3]))]
    s["fuzz_capture"] = {
        "pcap_eth_stratum": pcap_file([eth(p) for p in strat]),
        "pcap_be_raw_ws": pcap_file(ws[:6], linktype=101, bo=">"),
        "pcap_ns_sll_tls6": pcap_file([sll(p, v6=True) for p in tls6], linktype=113,
                                      magic=0xa1b23c4d),
        "pcap_bad_lengths": pcap_file([eth(p) for p in strat[:4]],
                                      wire={1: 0xffffffff, 2: 0, 3: 10}),
        "pcap_bad_time": pcap_file([eth(p) for p in dns], t0=0xfffffff0),
        "pcapng_eth": pcapng_file([(0, eth(p)) for p in strat]),
        # more spoofed sources than the target's 16 host slots, a second apart: a full host
        # table that reclaims idle flows' slots, then the miner's session
        "pcap_flood_then_miner": pcap_file(
            [eth(ipv4([100, 64, 0, i], SRV4, 6, tcp(1024 + i, 80, i, 0, SYN))) for i in range(20)]
            + [eth(p) for p in strat]),
        "pcapng_mixed_if": pcapng_file(mixed, ifaces=((1, 65535, None), (113, 8192, 9),
                                                      (101, 262144, 0x94))),
        "pcapng_be_blocks": pcapng_file([(0, null(p)) for p in dns + strat[:3]], bo=">",
                                        ifaces=((0, 0, None),), kinds=[6, 3, 2, 6]),
    }
    # fuzz_probe: byte 0 the protocol asked (5: the banner judge), byte 1 final | buffer size
    s["fuzz_probe"] = {
        "stratum_result": b"\x00\xff" + b'{"id":1,"result":[[["mining.notify","ae68"]],"08000002",4],"error":null}\n',
        "xmrig_job": b"\x01\xfe" + b'{"id":1,"result":{"job":{"blob":"0707","job_id":"a","target":"b88d"},"status":"OK"}}\n',
        "eth_work": b"\x02\xff" + b'{"id":1,"result":true}\n{"id":2,"result":["0x1c7b","0x5eed","0x0000ff"]}\n',
        "sv2_success": b"\x03\xff" + bytes([0, 0, 1, 6, 0, 0, 2, 0, 0, 0, 0, 0]),
        "sv2_error": b"\x03\xff" + bytes([0, 0, 2, 9, 0, 0, 0, 0, 0, 0, 4]) + b"prot",
        "noise_234": b"\x04\x01" + bytes(range(234)),
        "http": b"\x00\x81" + b"HTTP/1.1 400 Bad Request\r\nServer: x\r\n\r\n",
        "tls_alert": b"\x01\x00" + bytes([0x15, 3, 1, 0, 2, 2, 0x46]),
        "banner_ssh": b"\x05\x40" + b"SSH-2.0-OpenSSH_9.2p1\r\n",
    }
    return s


def main():
    global POOL_NAME, POOL4
    if not 2 <= len(sys.argv) <= 4:
        sys.exit(__doc__)
    out = sys.argv[1]
    if len(sys.argv) > 2:
        for w in list_entries(sys.argv[2]):
            POOL_NAME = w[2:] if w.startswith("*.") else w.rstrip(".")
            break
    if len(sys.argv) > 3:
        for w in list_entries(sys.argv[3]):
            try:
                net = ipaddress.ip_network(w, strict=False)
            except ValueError:
                continue
            if net.version == 4:
                POOL4 = list(net.network_address.packed)
                break
    n = 0
    for target, files in seeds().items():
        d = os.path.join(out, target)
        os.makedirs(d, exist_ok=True)
        for name, data in files.items():
            assert len(data) <= 4096, (target, name, len(data))
            with open(os.path.join(d, name + ".bin"), "wb") as f:
                f.write(data)
            n += 1
    print(f"make_seeds: {n} seeds in {out} (pool name {POOL_NAME}, "
          f"pool address {'.'.join(map(str, POOL4))})")


if __name__ == "__main__":
    main()

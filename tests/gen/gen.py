#!/usr/bin/python3
"""gen.py: makes every capture the sluice tests and the demo use, and writes the expected
counts beside each one (NAME.expect.json).

Run with Debian's python (it has scapy): /usr/bin/python3 tests/gen/gen.py OUTDIR

Expectations are computed from what the generator meant to send (each packet is tagged with
its flow, direction and expected outcome), never by re-parsing the bytes, so the tests check
sluice against intent. Conventions the expectations follow (documented in README):
- a flow is the 5-tuple in either direction; its initiator sends the first packet;
- with home_nets empty only the initiator is tracked as a host: pkts/bytes "out" are what it
  sent in flows it started, "in" what it received in them; external peers = distinct
  responders;
- bytes are wire bytes (the pcap original length).
"""
import json
import os
import random
import struct
import sys

from scapy.all import (ARP, DNS, DNSQR, DNSRR, Dot1Q, Ether, ICMP, IP, IPv6, IPv6ExtHdrDestOpt,
                       ICMPv6EchoRequest, ICMPv6EchoReply, ICMPv6ND_NS,
                       IPv6ExtHdrFragment, IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, Raw, TCP, UDP,
                       PcapWriter, PcapNgWriter, CookedLinux, wrpcap, raw)
from scapy.data import DLT_EN10MB, DLT_LINUX_SLL, DLT_RAW, DLT_NULL

RNG = random.Random(1234)
T0 = 1700000000.0


def canon(a, ap, b, bp, proto):
    x, y = (a, ap), (b, bp)
    return (min(x, y), max(x, y), proto)


class Capture:
    """Packets with tags; computes the expected summary figures."""

    def __init__(self, name):
        self.name = name
        self.items = []  # (time, bytes, tag)
        self.t = T0

    def add(self, pkt, tag=None, dt=0.001, t=None):
        """tag: None (handled, flow from the packet), or an outcome name."""
        if t is None:
            self.t += dt
            t = self.t
        data = raw(pkt)
        self.items.append([t, data, tag, pkt])
        return t

    def expect(self, linklen=14, **extra):
        flows, hosts, outcomes = {}, {}, {}
        handled = 0
        total_bytes = 0
        for t, data, tag, pkt in sorted(self.items, key=lambda x: x[0]):
            total_bytes += len(data)
            if tag is not None:
                outcomes[tag] = outcomes.get(tag, 0) + 1
                continue
            handled += 1
            ip = pkt.getlayer(IP) or pkt.getlayer(IPv6)
            l4 = pkt.getlayer(TCP) or pkt.getlayer(UDP)
            src, dst = ip.src, ip.dst
            proto = ip.proto if ip.haslayer(IP) and pkt.getlayer(IP) is ip else ip.nh
            if l4 is not None:
                sp, dp = l4.sport, l4.dport
                proto = 6 if isinstance(l4, TCP) else 17
            elif pkt.haslayer(ICMP):
                ic = pkt[ICMP]
                sp = dp = ic.id if ic.type in (0, 8) else 0
            else:
                sp = dp = 0
            k = canon(src, sp, dst, dp, proto)
            f = flows.get(k)
            if f is None:
                init = src
                if isinstance(l4, TCP) and (l4.flags & 0x12) == 0x12:
                    init = dst
                f = flows[k] = {"init": init, "resp": dst if init == src else src}
                h = hosts.setdefault(init, {"pkts_out": 0, "pkts_in": 0, "bytes_out": 0,
                                            "bytes_in": 0, "flows_opened": 0, "peers": set()})
                h["flows_opened"] += 1
                h["peers"].add(f["resp"])
            h = hosts[f["init"]]
            if src == f["init"]:
                h["pkts_out"] += 1
                h["bytes_out"] += len(data) + (linklen - 14)
            else:
                h["pkts_in"] += 1
                h["bytes_in"] += len(data) + (linklen - 14)
        for h in hosts.values():
            h["external_peers"] = len(h.pop("peers"))
        n = len(self.items)
        exp = {"packets": n, "bytes": total_bytes + n * (linklen - 14), "handled": handled,
               "outcomes": outcomes, "flows": len(flows), "hosts": hosts}
        exp.update(extra)
        return exp

    def sorted_items(self):
        return sorted(self.items, key=lambda x: x[0])


def write_pcapng(path, records, linktype=1):
    """Minimal pcapng: section header, one interface (microseconds), enhanced packets."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IIIHHqI", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1, 28))
        f.write(struct.pack("<IIHHII", 1, 20, linktype, 0, 65535, 20))
        for t, data, wire in records:
            us = int(round(t * 1e6))
            pad = (4 - len(data) % 4) % 4
            blen = 32 + len(data) + pad
            f.write(struct.pack("<IIIIIII", 6, blen, 0, us >> 32, us & 0xffffffff, len(data), wire))
            f.write(data + b"\0" * pad + struct.pack("<I", blen))


def write_pcap(path, cap, linktype=DLT_EN10MB, conv=None, ng=False):
    """Write cap's frames; conv(bytes)->bytes converts Ethernet frames to another link type."""
    recs = []
    for t, data, tag, pkt in cap.sorted_items():
        d = conv(data) if conv else data
        recs.append((t, d, len(d)))
    if ng:
        write_pcapng(path, recs, linktype)
    else:
        write_raw_pcap(path, recs, linktype)


def write_raw_pcap(path, records, linktype=1, snaplen=65535):
    """records: (t, caplen-bytes, wirelen). Classic pcap, microsecond."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, snaplen, linktype))
        for t, data, wire in records:
            sec = int(t)
            f.write(struct.pack("<IIII", sec, int(round((t - sec) * 1e6)), len(data), wire))
            f.write(data)


def save_expect(outdir, name, exp):
    with open(os.path.join(outdir, name + ".expect.json"), "w") as f:
        json.dump(exp, f, indent=1, sort_keys=True)


# ---------------------------------------------------------------- conversations

def mac(i):
    return "02:00:00:00:%02x:%02x" % (i >> 8 & 0xff, i & 0xff)


def tcp_session(cap, c, s, cport, sport, req, resp, t=None, v6=False, close=True, mss=1400,
                gap=0.002):
    """Full TCP session: handshake, request, response segments, FIN close."""
    L3 = IPv6 if v6 else IP
    E = Ether(src=mac(1), dst=mac(2))
    Er = Ether(src=mac(2), dst=mac(1))
    cs, ss = RNG.randrange(1 << 31), RNG.randrange(1 << 31)
    if t is not None:
        cap.t = t
    cap.add(E / L3(src=c, dst=s) / TCP(sport=cport, dport=sport, flags="S", seq=cs), dt=gap)
    cap.add(Er / L3(src=s, dst=c) / TCP(sport=sport, dport=cport, flags="SA", seq=ss, ack=cs + 1), dt=gap)
    cs += 1
    ss += 1
    cap.add(E / L3(src=c, dst=s) / TCP(sport=cport, dport=sport, flags="A", seq=cs, ack=ss), dt=gap)
    for chunk_from, data in ([("c", req)] if isinstance(req, bytes) else req) + \
            ([("s", resp)] if isinstance(resp, bytes) else []):
        pass
    exchanges = [("c", req), ("s", resp)] if isinstance(req, bytes) else req
    for who, data in exchanges:
        for i in range(0, len(data), mss):
            seg = data[i:i + mss]
            if who == "c":
                cap.add(E / L3(src=c, dst=s) / TCP(sport=cport, dport=sport, flags="PA", seq=cs, ack=ss) / Raw(seg), dt=gap)
                cs += len(seg)
            else:
                cap.add(Er / L3(src=s, dst=c) / TCP(sport=sport, dport=cport, flags="PA", seq=ss, ack=cs) / Raw(seg), dt=gap)
                ss += len(seg)
        if isinstance(who, str) and who == "c":
            pass
    if close:
        cap.add(E / L3(src=c, dst=s) / TCP(sport=cport, dport=sport, flags="FA", seq=cs, ack=ss), dt=gap)
        cap.add(Er / L3(src=s, dst=c) / TCP(sport=sport, dport=cport, flags="FA", seq=ss, ack=cs + 1), dt=gap)
        cap.add(E / L3(src=c, dst=s) / TCP(sport=cport, dport=sport, flags="A", seq=cs + 1, ack=ss + 1), dt=gap)


def dns_query(cap, c, resolver, name, answer, cport, t=None, v6=False):
    L3 = IPv6 if v6 else IP
    if t is not None:
        cap.t = t
    qid = RNG.randrange(65536)
    cap.add(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / L3(src=c, dst=resolver) / UDP(sport=cport, dport=53) /
            DNS(id=qid, rd=1, qd=DNSQR(qname=name)), dt=0.001)
    cap.add(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / L3(src=resolver, dst=c) / UDP(sport=53, dport=cport) /
            DNS(id=qid, qr=1, ra=1, qd=DNSQR(qname=name), an=DNSRR(rrname=name, rdata=answer)),
            dt=0.01)


def tls_client_hello(sni):
    """A TLS 1.2/1.3 ClientHello record with an SNI extension."""
    name = sni.encode()
    sni_ext = struct.pack(">HBH", len(name) + 3, 0, len(name)) + name  # list len, type, len
    sni_ext = struct.pack(">HH", 0, len(sni_ext)) + sni_ext
    groups = struct.pack(">HHH", 10, 4, 2) + struct.pack(">H", 0x001d)
    versions = struct.pack(">HHB", 43, 3, 2) + struct.pack(">H", 0x0304)
    exts = sni_ext + groups + versions
    suites = struct.pack(">H", 6) + struct.pack(">HHH", 0x1301, 0x1302, 0xc02f)
    body = struct.pack(">H", 0x0303) + bytes(RNG.randrange(256) for _ in range(32)) + b"\x20" + \
        bytes(RNG.randrange(256) for _ in range(32)) + suites + b"\x01\x00" + \
        struct.pack(">H", len(exts)) + exts
    hs = b"\x01" + struct.pack(">I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack(">H", len(hs)) + hs


def tls_server_flight(n):
    """ServerHello-shaped record plus opaque application data."""
    sh = b"\x16\x03\x03" + struct.pack(">H", 90) + b"\x02" + bytes(89)
    app = b"\x17\x03\x03" + struct.pack(">H", n) + bytes(RNG.randrange(256) for _ in range(n))
    return sh + app


def stratum_session(cap, c, pool, cport, pport, t0, duration=180.0, submit_every=20.0,
                    job_every=30.0):
    """Stratum v1 miner: subscribe, authorize, then jobs and shares for `duration` s."""
    E, Er = Ether(src=mac(7), dst=mac(2)), Ether(src=mac(2), dst=mac(7))
    cs, ss = 1000, 9000
    cap.t = t0
    cap.add(E / IP(src=c, dst=pool) / TCP(sport=cport, dport=pport, flags="S", seq=cs - 1), dt=0.001)
    cap.add(Er / IP(src=pool, dst=c) / TCP(sport=pport, dport=cport, flags="SA", seq=ss - 1, ack=cs), dt=0.02)
    cap.add(E / IP(src=c, dst=pool) / TCP(sport=cport, dport=pport, flags="A", seq=cs, ack=ss), dt=0.001)
    msgs = []
    msgs.append(("c", b'{"id": 1, "method": "mining.subscribe", "params": ["cgminer/4.10.0"]}\n', 0.001))
    msgs.append(("s", b'{"id":1,"result":[[["mining.set_difficulty","1"],["mining.notify","ae6812eb4cd7735a302a8a9dd95cf71f"]],"08000002",4],"error":null}\n', 0.03))
    msgs.append(("c", b'{"params": ["worker1.rig", "x"], "id": 2, "method": "mining.authorize"}\n', 0.01))
    msgs.append(("s", b'{"id":2,"result":true,"error":null}\n', 0.03))
    msgs.append(("s", b'{"id":null,"method":"mining.set_difficulty","params":[16]}\n', 0.001))
    t = 0.0
    next_job, next_submit, jid, sid = 0.0, submit_every / 2, 0, 10
    while t < duration:
        if next_job <= next_submit:
            t = next_job
            next_job += job_every * RNG.uniform(0.8, 1.2)
            jid += 1
            msgs.append(("s", ('{"params":["%x","4d16b6f85af6e2198f44ae2a6de67f78487ae5611b77c6c0440b921e00000000",'
                               '"01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff20020862062f503253482f04b8864e5008",'
                               '"072f736c7573682f000000000100f2052a010000001976a914d23fcdf86f7e756a64a7a9688ef9903327048ed988ac00000000",[],'
                               '"00000002","1c2ac4af","504e86b9",false],"id":null,"method":"mining.notify"}\n' % jid).encode(), None, t))
        else:
            t = next_submit
            next_submit += submit_every * RNG.uniform(0.5, 1.5)
            sid += 1
            msgs.append(("c", ('{"params": ["worker1.rig", "%x", "00000001", "504e86ed", "%08x"], "id": %d, "method": "mining.submit"}\n'
                               % (jid, RNG.randrange(1 << 32), sid)).encode(), None, t))
            msgs.append(("s", ('{"id":%d,"result":true,"error":null}\n' % sid).encode(), 0.04))
    base = cap.t
    for m in msgs:
        who, data = m[0], m[1]
        if len(m) == 4:
            cap.t = max(cap.t, base + m[3])
            dt = 0.0005
        else:
            dt = m[2]
        if who == "c":
            cap.add(E / IP(src=c, dst=pool) / TCP(sport=cport, dport=pport, flags="PA", seq=cs, ack=ss) / Raw(data), dt=dt)
            cs += len(data)
            cap.add(Er / IP(src=pool, dst=c) / TCP(sport=pport, dport=cport, flags="A", seq=ss, ack=cs), dt=0.02)
        else:
            cap.add(Er / IP(src=pool, dst=c) / TCP(sport=pport, dport=cport, flags="PA", seq=ss, ack=cs) / Raw(data), dt=dt)
            ss += len(data)
            cap.add(E / IP(src=c, dst=pool) / TCP(sport=cport, dport=pport, flags="A", seq=cs, ack=ss), dt=0.0005)


def web_mix(cap, clients, t0, span=60.0, v6=False):
    """Ordinary traffic: DNS lookups, HTTP fetches and TLS sessions from several hosts."""
    sites = [("www.example.com", "93.184.216.34"), ("debian.org", "151.101.2.132"),
             ("wikipedia.org", "185.15.59.224"), ("github.com", "140.82.121.4"),
             ("news.ycombinator.com", "209.216.230.207")]
    resolver = "10.0.0.53"
    port = 40000
    times = sorted(RNG.uniform(0, span) for _ in range(len(clients) * 4))
    for i, t in enumerate(times):
        c = clients[i % len(clients)]
        name, ip = sites[RNG.randrange(len(sites))]
        port += 1
        dns_query(cap, c, resolver, name, ip, port, t=T0 + t0 + t)
        port += 1
        if i % 2 == 0:
            req = ("GET /index.html HTTP/1.1\r\nHost: %s\r\nUser-Agent: Mozilla/5.0\r\n"
                   "Accept: */*\r\n\r\n" % name).encode()
            body = bytes(RNG.randrange(32, 127) for _ in range(RNG.randrange(500, 6000)))
            resp = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: " + \
                str(len(body)).encode() + b"\r\n\r\n" + body
            tcp_session(cap, c, ip, port, 80, req, resp, t=cap.t + 0.02)
        else:
            tcp_session(cap, c, ip, port, 443, tls_client_hello(name),
                        tls_server_flight(RNG.randrange(800, 4000)), t=cap.t + 0.02)


# ---------------------------------------------------------------- captures

def gen_basic(outdir):
    """Several hosts browsing (DNS, HTTP, TLS) plus one host mining over Stratum."""
    cap = Capture("basic")
    clients = ["10.0.0.%d" % i for i in range(10, 16)]
    web_mix(cap, clients, 0.0, span=150.0)
    stratum_session(cap, "10.0.0.77", "198.51.100.7", 49152, 3333, T0 + 5.0, duration=170.0)
    cap.add(Ether(src=mac(1), dst="ff:ff:ff:ff:ff:ff") / ARP(psrc="10.0.0.10", pdst="10.0.0.1"),
            tag="non_ip", t=T0 + 1.5)
    write_pcap(os.path.join(outdir, "basic.pcap"), cap)
    save_expect(outdir, "basic", cap.expect())
    return cap


def to_sll(frame):
    eth = Ether(frame)
    payload = raw(eth.payload)
    return struct.pack(">HHH6sxxH", 0, 1, 6, bytes.fromhex(eth.src.replace(":", "")), eth.type) + payload


def to_sll2(frame):
    eth = Ether(frame)
    payload = raw(eth.payload)
    return struct.pack(">HHIHBB8s", eth.type, 0, 2, 1, 0, 6,
                       bytes.fromhex(eth.src.replace(":", "")) + b"\0\0") + payload


def to_raw(frame):
    return raw(Ether(frame).payload)


def to_null(frame, be=False):
    eth = Ether(frame)
    af = 2 if eth.type == 0x0800 else 30
    return struct.pack(">I" if be else "<I", af) + raw(eth.payload)


def gen_linktypes(outdir):
    """One small conversation set written as every supported link type (and pcapng)."""
    cap = Capture("linktypes")
    web_mix(cap, ["10.1.0.1", "10.1.0.2"], 0.0, span=5.0)
    tcp_session(cap, "2001:db8::10", "2001:db8:1::80", 50000, 443, tls_client_hello("v6.example"),
                tls_server_flight(1000), v6=True, t=cap.t + 0.1)
    d = os.path.join(outdir, "linktypes")
    os.makedirs(d, exist_ok=True)
    write_pcap(os.path.join(d, "eth.pcap"), cap)
    save_expect(d, "eth", cap.expect(14))
    write_pcap(os.path.join(d, "eth.pcapng"), cap, ng=True)
    save_expect(d, "eth.pcapng", cap.expect(14))
    write_pcap(os.path.join(d, "sll.pcap"), cap, linktype=DLT_LINUX_SLL, conv=to_sll)
    save_expect(d, "sll", cap.expect(16))
    write_pcap(os.path.join(d, "sll2.pcap"), cap, linktype=276, conv=to_sll2)
    save_expect(d, "sll2", cap.expect(20))
    write_pcap(os.path.join(d, "raw.pcap"), cap, linktype=101, conv=to_raw)
    save_expect(d, "raw", cap.expect(0))
    write_pcap(os.path.join(d, "null.pcap"), cap, linktype=DLT_NULL, conv=to_null)
    save_expect(d, "null", cap.expect(4))
    write_pcap(os.path.join(d, "loop.pcap"), cap, linktype=108, conv=lambda f: to_null(f, True))
    save_expect(d, "loop", cap.expect(4))
    # an unsupported link type (IEEE 802.11 radiotap = 127) must be refused clearly
    write_raw_pcap(os.path.join(outdir, "radiotap.pcap"), [(T0, b"\x00" * 40, 40)], linktype=127)


def gen_malformed(outdir):
    """One packet per malformed reason, between valid ones."""
    cap = Capture("malformed")
    E = Ether(src=mac(1), dst=mac(2))
    c, s = "10.2.0.1", "10.2.0.2"
    good = E / IP(src=c, dst=s) / UDP(sport=41000, dport=2000) / Raw(b"hello")
    cap.add(good)

    def rawframe(b, tag):
        cap.add(Raw(b), tag=tag)

    ip_ok = raw(IP(src=c, dst=s) / TCP(sport=1, dport=2))
    eth_hdr = raw(E)[:12]
    rawframe(b"\x01\x02\x03\x04\x05", "truncated_l2")
    rawframe(eth_hdr + b"\x81\x00\x00\x01", "truncated_l2")  # VLAN tag cut
    rawframe(eth_hdr + b"\x81\x00\x00\x01\x81\x00\x00\x02\x81\x00\x00\x03\x08\x00" + ip_ok, "vlan_depth")
    rawframe(eth_hdr + b"\x08\x00" + ip_ok[:12], "truncated_ipv4")
    rawframe(eth_hdr + b"\x08\x00" + b"\x60" + ip_ok[1:], "bad_ip_version")
    rawframe(eth_hdr + b"\x08\x00" + b"\x44" + ip_ok[1:], "bad_ipv4_ihl")
    rawframe(eth_hdr + b"\x08\x00" + b"\x4f" + ip_ok[1:], "bad_ipv4_ihl")
    b = bytearray(ip_ok)
    b[2:4] = struct.pack(">H", 10)
    rawframe(eth_hdr + b"\x08\x00" + bytes(b), "bad_ipv4_length")
    b[2:4] = struct.pack(">H", 1500)
    rawframe(eth_hdr + b"\x08\x00" + bytes(b), "bad_ipv4_length")
    v6 = raw(IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=1, dport=2) / Raw(b"x" * 8))
    rawframe(eth_hdr + b"\x86\xdd" + v6[:30], "truncated_ipv6")
    b6 = bytearray(v6)
    b6[4:6] = struct.pack(">H", 400)
    rawframe(eth_hdr + b"\x86\xdd" + bytes(b6), "bad_ipv6_length")
    # a chain of 10 destination-options headers (more than sluice follows)
    chain = IPv6(src="2001:db8::1", dst="2001:db8::2")
    for _ in range(10):
        chain = chain / IPv6ExtHdrDestOpt()
    chain = chain / UDP(sport=1, dport=2)
    cap.add(E / chain, tag="bad_ipv6_ext")
    b7 = bytearray(raw(IPv6(src="2001:db8::1", dst="2001:db8::2", nh=60) / Raw(b"\x11\x20" + b"\0" * 6)))
    rawframe(eth_hdr + b"\x86\xdd" + bytes(b7), "bad_ipv6_ext")  # ext claims 264 bytes
    t = raw(IP(src=c, dst=s, proto=6) / Raw(b"\0" * 10))
    rawframe(eth_hdr + b"\x08\x00" + t, "truncated_tcp")
    tb = bytearray(raw(IP(src=c, dst=s) / TCP(sport=1, dport=2)))
    tb[20 + 12] = 0x40
    rawframe(eth_hdr + b"\x08\x00" + bytes(tb), "bad_tcp_offset")
    tb[20 + 12] = 0xf0
    rawframe(eth_hdr + b"\x08\x00" + bytes(tb), "bad_tcp_offset")
    u = raw(IP(src=c, dst=s, proto=17) / Raw(b"\0" * 4))
    rawframe(eth_hdr + b"\x08\x00" + u, "truncated_udp")
    ub = bytearray(raw(IP(src=c, dst=s) / UDP(sport=1, dport=2) / Raw(b"abcd")))
    ub[24:26] = struct.pack(">H", 7)
    rawframe(eth_hdr + b"\x08\x00" + bytes(ub), "bad_udp_length")
    ub[24:26] = struct.pack(">H", 200)
    rawframe(eth_hdr + b"\x08\x00" + bytes(ub), "bad_udp_length")
    ic = raw(IP(src=c, dst=s, proto=1) / Raw(b"\x08\x00"))
    rawframe(eth_hdr + b"\x08\x00" + ic, "truncated_icmp")
    # fragments: first fragment handled (a flow), later ones skipped
    big = IP(src=c, dst=s, id=77) / UDP(sport=5000, dport=6000) / Raw(b"F" * 3000)
    from scapy.all import fragment
    frs = fragment(big, fragsize=1000)
    cap.add(E / frs[0])
    for fr in frs[1:]:
        cap.add(E / fr, tag="ip_fragment")
    f6 = IPv6(src="2001:db8::1", dst="2001:db8::2") / IPv6ExtHdrFragment(id=5, m=1, offset=0) / \
        UDP(sport=7, dport=8) / Raw(b"G" * 64)
    cap.add(E / f6)
    f6b = IPv6(src="2001:db8::1", dst="2001:db8::2") / IPv6ExtHdrFragment(id=5, m=0, offset=9, nh=17) / Raw(b"G" * 64)
    cap.add(E / f6b, tag="ip_fragment")
    # valid oddities: VLAN, QinQ, IPv6 extension chain, ICMP echo both ways, GRE
    cap.add(E / Dot1Q(vlan=10) / IP(src=c, dst=s) / UDP(sport=41000, dport=2000) / Raw(b"vlan"))
    cap.add(Ether(src=mac(1), dst=mac(2), type=0x88a8) / Dot1Q(vlan=20) / Dot1Q(vlan=30) /
            IP(src=c, dst=s) / UDP(sport=41000, dport=2000) / Raw(b"qinq"))
    cap.add(E / IPv6(src="2001:db8::1", dst="2001:db8::2") / IPv6ExtHdrHopByHop() /
            IPv6ExtHdrDestOpt() / IPv6ExtHdrRouting() / UDP(sport=9, dport=10) / Raw(b"ext"))
    cap.add(E / IP(src=c, dst=s) / ICMP(type=8, id=99, seq=1) / Raw(b"ping"))
    cap.add(E / IP(src=s, dst=c) / ICMP(type=0, id=99, seq=1) / Raw(b"ping"))
    cap.add(E / IP(src=c, dst=s, proto=47) / Raw(b"\x00\x00\x08\x00" + b"\0" * 20))
    cap.add(good)
    write_pcap(os.path.join(outdir, "malformed.pcap"), cap)
    save_expect(outdir, "malformed", cap.expect())


def gen_jumbo_snap(outdir):
    """Frames larger than one mbuf (chained), and a snaplen-truncated capture."""
    cap = Capture("jumbo")
    big = bytes(RNG.randrange(256) for _ in range(8900))
    tcp_session(cap, "10.3.0.1", "10.3.0.2", 40000, 9000, b"hello jumbo", big, mss=8900)
    write_pcap(os.path.join(outdir, "jumbo.pcap"), cap)
    save_expect(outdir, "jumbo", cap.expect(max_frame=max(len(i[1]) for i in cap.items)))
    # snaplen 96: headers complete, payload cut; wire lengths kept
    snap = Capture("snap")
    tcp_session(snap, "10.4.0.1", "10.4.0.2", 40001, 80, b"GET / HTTP/1.1\r\nHost: s\r\n\r\n",
                b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 3000)
    recs = [(t, d[:96], len(d)) for t, d, tag, p in snap.sorted_items()]
    write_raw_pcap(os.path.join(outdir, "snap.pcap"), recs, snaplen=96)
    save_expect(outdir, "snap", snap.expect(snapped=sum(1 for r in recs if len(r[1]) < r[2])))


def gen_split(outdir, cap):
    """The basic capture split by flow over two files (one per RX queue), time order kept."""
    d = os.path.join(outdir, "split")
    os.makedirs(d, exist_ok=True)
    a, b = Capture("a"), Capture("b")
    for t, data, tag, pkt in cap.sorted_items():
        ip = pkt.getlayer(IP) or pkt.getlayer(IPv6)
        if ip is None:
            key = 0
        else:
            l4 = pkt.getlayer(TCP) or pkt.getlayer(UDP)
            ports = tuple(sorted((l4.sport, l4.dport))) if l4 is not None else (0, 0)
            key = hash((tuple(sorted((ip.src, ip.dst))), ports)) & 1
        (a if key == 0 else b).items.append([t, data, tag, pkt])
    write_pcap(os.path.join(d, "q0.pcap"), a)
    write_pcap(os.path.join(d, "q1.pcap"), b)
    # consecutive halves in time: reading both files in order is the whole stream
    items = cap.sorted_items()
    h1, h2 = Capture("h1"), Capture("h2")
    h1.items = items[:len(items) // 2]
    h2.items = items[len(items) // 2:]
    write_pcap(os.path.join(d, "part1.pcap"), h1)
    write_pcap(os.path.join(d, "part2.pcap"), h2)


def gen_many_flows(outdir, n=5000):
    """n short UDP flows from many hosts: fills small flow tables, many host slots."""
    cap = Capture("many_flows")
    for i in range(n):
        c = "10.%d.%d.%d" % (8 + (i >> 16), (i >> 8) & 0xff, i & 0xff)
        cap.add(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src=c, dst="192.0.2.%d" % (i % 200 + 1)) /
                UDP(sport=1024 + i % 50000, dport=53) / Raw(b"q" * 20), dt=0.0001)
        cap.add(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(dst=c, src="192.0.2.%d" % (i % 200 + 1)) /
                UDP(dport=1024 + i % 50000, sport=53) / Raw(b"r" * 40), dt=0.0001)
    write_pcap(os.path.join(outdir, "many_flows.pcap"), cap)
    save_expect(outdir, "many_flows", cap.expect())


def gen_timeouts(outdir):
    """Flows that idle out and come back: the same 5-tuple after its timeout is a new flow."""
    cap = Capture("timeouts")
    E = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    # UDP 5-tuple used at t=0, t=10 s (same flow), t=200 s (udp_timeout 120 s: new flow)
    for t in (0.0, 10.0, 200.0):
        cap.add(E / IP(src="10.5.0.1", dst="203.0.113.5") / UDP(sport=5000, dport=5001) / Raw(b"a"), t=T0 + t)
        cap.add(E / IP(dst="10.5.0.1", src="203.0.113.5") / UDP(dport=5000, sport=5001) / Raw(b"b"), t=T0 + t + 0.01)
    # TCP: closed session, then the same 5-tuple reopened by a SYN 2 s later (tcp_reused)
    tcp_session(cap, "10.5.0.2", "203.0.113.6", 41000, 80, b"a" * 10, b"b" * 10, t=T0 + 20.0)
    tcp_session(cap, "10.5.0.2", "203.0.113.6", 41000, 80, b"c" * 10, b"d" * 10, t=T0 + 22.0)
    # long-lived TCP keepalive-style flow: 300 s with a packet every 30 s
    tcp_session(cap, "10.5.0.3", "203.0.113.7", 42000, 4444, b"login", b"ok", t=T0 + 30.0, close=False)
    for k in range(10):
        cap.add(E / IP(src="10.5.0.3", dst="203.0.113.7") / TCP(sport=42000, dport=4444, flags="PA") / Raw(b"ka"), t=T0 + 60.0 + 30 * k)
    write_pcap(os.path.join(outdir, "timeouts.pcap"), cap)
    exp = cap.expect()
    exp["flows"] = 5  # udp x2 (timeout splits it), tcp x2 (reused), long-lived x1
    exp["hosts"]["10.5.0.1"]["flows_opened"] = 2
    exp["hosts"]["10.5.0.2"]["flows_opened"] = 2
    exp["tcp_reused"] = 1
    exp["long_lived"] = 1
    save_expect(outdir, "timeouts", exp)


def gen_bad_files(outdir):
    with open(os.path.join(outdir, "corrupt.pcap"), "wb") as f:
        f.write(b"this is not a capture file at all, just text\n" * 4)
    src = os.path.join(outdir, "basic.pcap")
    data = open(src, "rb").read()
    with open(os.path.join(outdir, "truncated.pcap"), "wb") as f:
        f.write(data[:len(data) // 2 + 7])  # cut inside a record
    open(os.path.join(outdir, "empty.pcap"), "wb").close()
    d = os.path.join(outdir, "nocaps")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "README.txt"), "w") as f:
        f.write("no captures here\n")


def gen_clock_jumps(outdir):
    """Timestamps that throw clocks: a record at 0xffffffff s (libpcap reads it as -1 s, once
    about 2^64 us, which hung the scorer), one at 2^31 s (2038), both skipped by the reader and
    counted as bad_timestamps; and a valid one at 2^31 - 10 s, a forward jump of decades the
    scorer must take in O(1), before the capture goes back to its own time."""
    cap = Capture("clock_jumps")
    tcp_session(cap, "10.6.0.1", "203.0.113.9", 43000, 80, b"a" * 100, b"b" * 300, t=T0 + 1.0)
    recs = [(t, d, len(d)) for t, d, tag, pkt in cap.sorted_items()]
    E = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    udp = raw(E / IP(src="10.6.0.2", dst="203.0.113.10") / UDP(sport=5000, dport=5001) / Raw(b"x" * 20))
    out = recs[:3]
    for k in range(300):  # several bursts: the scorer's clock starts on the capture's time
        out.append((T0 + 2.0 + 0.1 * k, udp, len(udp)))
    out.append((float(0xFFFFFFFF), udp, len(udp)))  # bad: -1 s
    out.append((float(1 << 31), udp, len(udp)))     # bad: 2038-01-19T03:14:08
    out.append((float((1 << 31) - 10), udp, len(udp)))  # valid, decades ahead
    out += recs[3:]
    for k in range(100):  # and the way back, heard of after the jump
        out.append((T0 + 40.0 + 0.1 * k, udp, len(udp)))
    write_raw_pcap(os.path.join(outdir, "clock_jumps.pcap"), out)
    save_expect(outdir, "clock_jumps", {"packets": len(out) - 2, "bad_timestamps": 2})


def gen_community_id(outdir):
    """Flows in both directions for the Community ID check against tshark: TCP and UDP over
    IPv4 and IPv6, ICMP echo both ways, a one-way ICMP type, ICMPv6 echo and neighbour
    discovery, equal addresses with different ports, and a protocol without ports (GRE)."""
    a4, b4 = "10.1.2.3", "192.0.2.77"
    a6, b6 = "2001:db8::10", "2001:db8:ffff::1"
    e = Ether(src=mac(1), dst=mac(2))
    pk = [
        e / IP(src=a4, dst=b4) / TCP(sport=40001, dport=3333, flags="S"),
        e / IP(src=b4, dst=a4) / TCP(sport=3333, dport=40001, flags="SA"),
        e / IP(src=a4, dst=b4) / UDP(sport=5353, dport=53) / b"q",
        e / IP(src=b4, dst=a4) / UDP(sport=53, dport=5353) / b"r",
        e / IP(src=b4, dst=a4) / TCP(sport=80, dport=65535, flags="A"),
        e / IP(src=a4, dst=a4) / TCP(sport=2000, dport=1000, flags="S"),
        e / IP(src=a4, dst=b4) / ICMP(type=8, id=7, seq=1),
        e / IP(src=b4, dst=a4) / ICMP(type=0, id=7, seq=1),
        e / IP(src=b4, dst=a4) / ICMP(type=3, code=1) / IP(src=a4, dst=b4) / UDP(sport=1, dport=2),
        e / IP(src=a4, dst=b4) / ICMP(type=13),
        e / IP(src=a4, dst=b4, proto=47) / b"\x00\x00\x08\x00",
        Ether(src=mac(1), dst=mac(2)) / IPv6(src=a6, dst=b6) / TCP(sport=51000, dport=443, flags="S"),
        Ether(src=mac(2), dst=mac(1)) / IPv6(src=b6, dst=a6) / TCP(sport=443, dport=51000, flags="SA"),
        Ether(src=mac(1), dst=mac(2)) / IPv6(src=a6, dst=b6) / UDP(sport=9999, dport=4789) / b"x",
        Ether(src=mac(2), dst=mac(1)) / IPv6(src=b6, dst=a6) / UDP(sport=4789, dport=9999) / b"y",
        Ether(src=mac(1), dst=mac(2)) / IPv6(src=a6, dst=b6) / ICMPv6EchoRequest(id=3, seq=1),
        Ether(src=mac(2), dst=mac(1)) / IPv6(src=b6, dst=a6) / ICMPv6EchoReply(id=3, seq=1),
        Ether(src=mac(1), dst=mac(2)) / IPv6(src=a6, dst="ff02::1:ff00:1") / ICMPv6ND_NS(tgt=b6),
    ]
    for i, p in enumerate(pk):
        p.time = 1700000000 + i * 0.01
    wrpcap(os.path.join(outdir, "community_id.pcap"), pk)


def gen_flood_miner(outdir, n=300000):
    """A Stratum miner hidden in a spoofed SYN flood: n SYNs from n distinct forged sources
    (100.64.0.0/10) to one victim over 70 s (~4.3 k new sources a second, each a flow and a
    host), and a miner (10.9.0.66) that starts its session 30 s in, when a worker host table
    whose flows held their slots until they timed out (tcp_new_timeout 30 s) was full. The
    flood is written with struct from one template frame (scapy per packet would take
    minutes)."""
    cap = Capture("flood_miner")
    stratum_session(cap, "10.9.0.66", "198.51.100.7", 51000, 3333, T0 + 30.0, duration=60.0)
    miner = cap.expect()["hosts"]["10.9.0.66"]
    recs = [(t, d, len(d)) for t, d, tag, pkt in cap.sorted_items()]
    tmpl = bytearray(raw(Ether(src=mac(9), dst=mac(2)) / IP(src="100.64.0.1", dst="192.0.2.10") /
                         TCP(sport=1024, dport=80, flags="S", seq=1)))
    rng = random.Random(99)
    for k in range(n):
        a = (100 << 24 | 64 << 16) + 1 + k
        tmpl[26:30] = struct.pack(">I", a)
        tmpl[34:36] = struct.pack(">H", 1024 + rng.randrange(60000))
        recs.append((T0 + 70.0 * k / n, bytes(tmpl), len(tmpl)))
    recs.sort(key=lambda r: r[0])
    write_raw_pcap(os.path.join(outdir, "flood_miner.pcap"), recs)
    save_expect(outdir, "flood_miner", {"packets": len(recs), "flood": n, "miner": "10.9.0.66",
                                        "miner_host": miner})


def gen_demo(outdir):
    """The demo: an office network browsing, one host mining to a pool over Stratum."""
    cap = Capture("demo")
    web_mix(cap, ["192.168.1.%d" % i for i in (10, 11, 12, 20, 21)], 0.0, span=240.0)
    dns_query(cap, "192.168.1.66", "10.0.0.53", "eu1.pool.example", "198.51.100.7", 33333, t=T0 + 2.0)
    stratum_session(cap, "192.168.1.66", "198.51.100.7", 51000, 3333, T0 + 2.5, duration=230.0)
    write_pcap(os.path.join(outdir, "demo.pcap"), cap)
    save_expect(outdir, "demo", cap.expect())


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else "tests/data"
    os.makedirs(outdir, exist_ok=True)
    which = set(sys.argv[2:])
    if which == {"flood"}:  # just the flood (also part of "tests")
        gen_flood_miner(outdir)
        return
    if not which or "demo" in which:
        gen_demo(outdir)
    if not which or "tests" in which:
        basic = gen_basic(outdir)
        gen_linktypes(outdir)
        gen_malformed(outdir)
        gen_jumbo_snap(outdir)
        gen_split(outdir, basic)
        gen_many_flows(outdir)
        gen_timeouts(outdir)
        gen_bad_files(outdir)
        gen_clock_jumps(outdir)
        gen_community_id(outdir)
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import capfiles
        capfiles.gen_capfiles(outdir)
        gen_flood_miner(outdir)
    if not which or "detect" in which or "tests" in which:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import detect
        detect.gen_detect(outdir)
    if not which or "behave" in which or "tests" in which:
        import behave
        behave.gen_behave(outdir)
    if not which or "calib" in which or "tests" in which:
        import calib
        calib.gen_calib(outdir)
    if not which or "devices" in which or "tests" in which:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import devices
        devices.gen_devices(outdir)
    if not which or "evidence" in which or "tests" in which:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import evidence
        evidence.gen_evidence(outdir)


if __name__ == "__main__":
    main()

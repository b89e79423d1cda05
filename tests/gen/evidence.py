#!/usr/bin/python3
"""evidence.py: the capture the evidence-packet tests use (evidence/miner_tail.pcap).

One Stratum miner (10.77.0.5 -> 203.0.113.77:3333) subscribes and authorizes early, then 150 000
packets of benign UDP from other hosts pass (long enough, replayed live by net_pcap at full
speed, for the alert to reach the workers while the capture still plays), then the miner's
session goes on: 300 back-to-back job pushes and share submits, then a close. The packets are
written with a plain pcap writer (scapy would take minutes for 150 000 packets). Beside it,
miner_tail.json names the mining flow.
"""
import json
import os
import struct

T0 = 1700000000.0
MINER, POOL, MPORT, PPORT = "10.77.0.5", "203.0.113.77", 40001, 3333


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def frame(src, dst, proto, l4):
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0x4000, 64, proto, 0, ip4(src), ip4(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00" + ip + l4


def tcp(src, dst, sp, dp, seq, ack, flags, data=b""):
    return frame(src, dst, 6, struct.pack("!HHIIBBHHH", sp, dp, seq, ack, 5 << 4, flags, 65535, 0, 0) + data)


def udp(src, dst, sp, dp, data):
    return frame(src, dst, 17, struct.pack("!HHHH", sp, dp, 8 + len(data), 0) + data)


class Miner:
    def __init__(self, pkts):
        self.pkts, self.cseq, self.sseq = pkts, 1000, 5000

    def c(self, t, data=b"", flags=0x18):
        self.pkts.append((t, tcp(MINER, POOL, MPORT, PPORT, self.cseq, self.sseq, flags, data)))
        self.cseq += len(data) + (1 if flags & 0x03 else 0)

    def s(self, t, data=b"", flags=0x18):
        self.pkts.append((t, tcp(POOL, MINER, PPORT, MPORT, self.sseq, self.cseq, flags, data)))
        self.sseq += len(data) + (1 if flags & 0x03 else 0)


def gen_evidence(outdir):
    d = os.path.join(outdir, "evidence")
    os.makedirs(d, exist_ok=True)
    pkts = []
    m = Miner(pkts)
    t = T0 + 1.0
    pkts.append((t, tcp(MINER, POOL, MPORT, PPORT, m.cseq, 0, 0x02)))
    m.cseq += 1
    pkts.append((t + 0.01, tcp(POOL, MINER, PPORT, MPORT, m.sseq, m.cseq, 0x12)))
    m.sseq += 1
    m.c(t + 0.02, flags=0x10)
    m.c(t + 0.03, b'{"id":1,"method":"mining.subscribe","params":["xmrig/6.21.0"]}\n')
    m.s(t + 0.05, b'{"id":1,"result":[[["mining.notify","ae6812eb4cd7735a"]],"08000002",4],"error":null}\n')
    m.c(t + 0.06, b'{"id":2,"method":"mining.authorize","params":["wallet.rig1","x"]}\n')
    m.s(t + 0.08, b'{"id":2,"result":true,"error":null}\n')
    t += 1.0
    for i in range(150000):  # benign UDP from 500 other hosts
        h = i % 500
        pkts.append((t + i * 0.00002, udp("10.88.%d.%d" % (h // 250, h % 250 + 1), "198.51.100.9",
                                          20000 + h, 5353, b"x" * 40)))
    t += 150000 * 0.00002 + 0.5
    for i in range(150):  # the session goes on: jobs and shares, back to back
        m.s(t + i * 0.001, b'{"id":null,"method":"mining.notify","params":["job%d","00","01",true]}\n' % i)
        m.c(t + i * 0.001 + 0.0005, b'{"id":%d,"method":"mining.submit","params":["wallet.rig1","job%d","00"]}\n' % (i + 3, i))
    t += 1.0
    m.c(t, flags=0x11)
    m.s(t + 0.01, flags=0x11)
    m.c(t + 0.02, flags=0x10)
    pkts.sort(key=lambda x: x[0])
    with open(os.path.join(d, "miner_tail.pcap"), "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, b in pkts:
            sec = int(ts)
            usec = int(round((ts - sec) * 1e6))
            f.write(struct.pack("<IIII", sec, usec, len(b), len(b)) + b)
    with open(os.path.join(d, "miner_tail.json"), "w") as f:
        json.dump({"host": MINER, "peer": POOL, "sport": MPORT, "dport": PPORT,
                   "flow_packets": sum(1 for _, b in pkts if b[26:30] in (ip4(MINER), ip4(POOL))
                                       and b[23] == 6)}, f)


if __name__ == "__main__":
    import sys
    gen_evidence(sys.argv[1] if len(sys.argv) > 1 else "tests/data")

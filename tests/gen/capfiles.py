#!/usr/bin/python3
"""capfiles.py: capture files that test the reader rather than the traffic (standard library
only, fast; called by gen.py after the link-type captures exist):

- pcapng/mixed.pcapng: the conversation of linktypes/eth.pcap spread over interfaces of
  different link types, snapshot lengths and time units (Ethernet in microseconds, Linux SLL
  in nanoseconds with snaplen 8192, raw IP in 2^-20 s with an if_tsoffset), in two sections
  (little-endian, then big-endian with the interfaces in another order), with Enhanced,
  Simple and obsolete Packet Blocks, blocks to skip (name resolution, statistics, custom) and
  one record naming an interface that does not exist (skipped, counted in bad_records;
  tshark stops there, so pcapng/mixed_ok.pcapng is the same without it).
  libpcap 1.10 refuses such a file at its second interface.
- bad_lengths.pcap / bad_lengths.pcapng: records whose original length is 0xffffffff, 0,
  below the captured length, or past 512 KiB, between sane ones.
- many_files/: 4200 one-packet captures (more than the 4096 once read silently), written in
  shuffled order, so reading them in name order is visible.
Each writes NAME.expect.json beside it.
"""
import json
import os
import random
import struct

T0 = 1700000000


def read_pcap(path):
    """Records of a little-endian microsecond classic pcap: (us, data, wire)."""
    with open(path, "rb") as f:
        b = f.read()
    magic, = struct.unpack_from("<I", b, 0)
    assert magic == 0xa1b2c3d4, path
    off, out = 24, []
    while off + 16 <= len(b):
        sec, usec, cap, wire = struct.unpack_from("<IIII", b, off)
        off += 16
        out.append((sec * 1000000 + usec, b[off:off + cap], wire))
        off += cap
    return out


def eth_to_sll(f):
    return struct.pack(">HHH6sxxH", 0, 1, 6, f[6:12], struct.unpack(">H", f[12:14])[0]) + f[14:]


def eth_to_raw(f):
    assert f[12:14] in (b"\x08\x00", b"\x86\xdd"), "raw IP needs IPv4/IPv6 frames"
    return f[14:]


class Ng:
    """A pcapng writer for one byte order ('<' or '>')."""

    def __init__(self, f, bo):
        self.f, self.bo = f, bo

    def block(self, btype, body):
        body += b"\0" * ((4 - len(body) % 4) % 4)
        n = len(body) + 12
        self.f.write(struct.pack(self.bo + "II", btype, n) + body + struct.pack(self.bo + "I", n))

    def shb(self):
        self.block(0x0A0D0D0A, struct.pack(self.bo + "IHHq", 0x1A2B3C4D, 1, 0, -1))

    def opt(self, code, val):
        return struct.pack(self.bo + "HH", code, len(val)) + val + b"\0" * ((4 - len(val) % 4) % 4)

    def idb(self, linktype, snaplen, tsresol=None, tsoffset=None):
        body = struct.pack(self.bo + "HHI", linktype, 0, snaplen)
        body += self.opt(2, b"test-if")  # if_name
        if tsresol is not None:
            body += self.opt(9, bytes([tsresol]))
        if tsoffset is not None:
            body += self.opt(14, struct.pack(self.bo + "q", tsoffset))
        body += struct.pack(self.bo + "HH", 0, 0)
        self.block(1, body)

    def epb(self, ifid, units, data, wire):
        self.block(6, struct.pack(self.bo + "IIIII", ifid, units >> 32, units & 0xffffffff,
                                  len(data), wire) + data)

    def pb(self, ifid, units, data, wire):
        self.block(2, struct.pack(self.bo + "HHIIII", ifid, 0, units >> 32, units & 0xffffffff,
                                  len(data), wire) + data)

    def spb(self, data):
        self.block(3, struct.pack(self.bo + "I", len(data)) + data)


def units_of(us, ups, offset_s=0):
    """Timestamp units that read back as exactly us (the reader truncates to microseconds)."""
    us -= offset_s * 1000000
    return -(-us * ups // 1000000)


def gen_mixed(outdir, name="mixed.pcapng", bad_ifid=True):
    d = os.path.join(outdir, "pcapng")
    os.makedirs(d, exist_ok=True)
    recs = read_pcap(os.path.join(outdir, "linktypes", "eth.pcap"))
    # (link type, snaplen, units per second, tsresol option, tsoffset, frame conversion)
    kinds = {"eth": (1, 65535, 10 ** 6, None, None, lambda f: f),
             "sll": (113, 8192, 10 ** 9, 9, None, eth_to_sll),
             "raw": (101, 262144, 1 << 20, 0x80 | 20, 1000, eth_to_raw)}
    order = [["eth", "sll", "raw"], ["raw", "eth", "sll"]]  # interface ids per section
    total_bytes, n, bad = 0, 0, 0
    half = len(recs) // 2
    with open(os.path.join(d, name), "wb") as f:
        for sec, bo in enumerate(("<", ">")):
            ng = Ng(f, bo)
            ng.shb()
            for k, kind in enumerate(order[sec]):
                lt, snap, ups, res, off, conv = kinds[kind]
                ng.idb(lt, snap, res, off)
                if k == 0:  # a name resolution block between interfaces: skipped
                    ng.block(4, struct.pack(bo + "HH", 1, 8) + bytes([10, 0, 0, 1]) + b"h.x\0" +
                             struct.pack(bo + "HH", 0, 0))
            part = recs[:half] if sec == 0 else recs[half:]
            for i, (us, data, wire) in enumerate(part):
                kind = ("eth", "sll", "raw")[i % 3]
                ifid = order[sec].index(kind)
                lt, snap, ups, res, off, conv = kinds[kind]
                frame = conv(data)
                assert len(frame) <= snap
                w = wire + len(frame) - len(data)
                if ifid == 0 and i % 4 == 0 and 0 < i < len(part) - 1 and w == len(frame):
                    ng.spb(frame)  # no time of its own: the record before's
                elif kind == "eth" and i % 5 == 0:
                    ng.pb(ifid, units_of(us, ups), frame, w)
                else:
                    ng.epb(ifid, units_of(us, ups, off or 0), frame, w)
                n += 1
                total_bytes += w
                if i == 3 and bad_ifid:  # an interface that does not exist: skipped, counted
                    ng.epb(len(order[sec]) + 4, units_of(us, 10 ** 6), frame, w)
                    bad += 1
                if i == 5:  # interface statistics and a custom block: skipped
                    ng.block(5, struct.pack(bo + "III", 0, 0, 0) + struct.pack(bo + "HH", 0, 0))
                    ng.block(0x00000BAD, struct.pack(bo + "I", 32473) + b"custom")
    with open(os.path.join(d, name + ".expect.json"), "w") as f:
        json.dump({"packets": n, "bytes": total_bytes, "bad_records": bad,
                   "first_us": min(r[0] for r in recs), "last_us": max(r[0] for r in recs)},
                  f, indent=1, sort_keys=True)


def gen_bad_lengths(outdir):
    """UDP frames between two hosts; some records carry absurd original lengths."""
    def frame(k):
        payload = b"L" * (20 + k)
        udp = struct.pack(">HHHH", 5000, 5001, 8 + len(payload), 0) + payload
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), k, 0, 64, 17, 0,
                         bytes([10, 7, 0, 1]), bytes([203, 0, 113, 77])) + udp
        return b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00" + ip

    recs, exp_bytes, bad = [], 0, 0
    odd = {3: 0xFFFFFFFF, 7: 0, 11: 600000, 13: 10, 17: 0x80000000}  # k -> original length
    for k in range(20):
        fr = frame(k)
        wire = odd.get(k, len(fr))
        if k in odd:
            bad += 1
        recs.append((T0 + k * 1000, fr, wire))
        exp_bytes += len(fr)
    with open(os.path.join(outdir, "bad_lengths.pcap"), "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for us, data, wire in recs:
            f.write(struct.pack("<IIII", us // 1000000, us % 1000000, len(data), wire) + data)
    with open(os.path.join(outdir, "bad_lengths.pcapng"), "wb") as f:
        ng = Ng(f, "<")
        ng.shb()
        ng.idb(1, 65535)
        for us, data, wire in recs:
            ng.epb(0, us, data, wire)
    exp = {"packets": len(recs), "bytes": exp_bytes, "bad_lengths": bad}
    for name in ("bad_lengths", "bad_lengths.pcapng"):
        with open(os.path.join(outdir, name + ".expect.json"), "w") as f:
            json.dump(exp, f, indent=1, sort_keys=True)


def gen_many_files(outdir, count=4200):
    """count one-packet captures, each its own UDP flow from its own host."""
    d = os.path.join(outdir, "many_files")
    os.makedirs(d, exist_ok=True)
    for old in os.listdir(d):
        os.unlink(os.path.join(d, old))
    idx = list(range(count))
    random.Random(7).shuffle(idx)  # written out of name order
    for k in idx:
        payload = b"f%05d" % k
        udp = struct.pack(">HHHH", 10000 + k % 50000, 53, 8 + len(payload), 0) + payload
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                         bytes([10, 8, k >> 8, k & 255]), bytes([192, 0, 2, 53])) + udp
        fr = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00" + ip
        # times follow names: a file read out of order would send the clock backwards
        us = (T0 + k) * 1000000
        with open(os.path.join(d, "cap%05d.pcap" % k), "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
            f.write(struct.pack("<IIII", us // 1000000, us % 1000000, len(fr), len(fr)) + fr)
    with open(os.path.join(outdir, "many_files.expect.json"), "w") as f:
        json.dump({"files": count, "packets": count, "hosts": count}, f, indent=1)


def gen_capfiles(outdir):
    gen_mixed(outdir)
    gen_mixed(outdir, "mixed_ok.pcapng", bad_ifid=False)  # what tshark reads to the end too
    gen_bad_lengths(outdir)
    gen_many_files(outdir)


if __name__ == "__main__":
    import sys
    gen_capfiles(sys.argv[1] if len(sys.argv) > 1 else "tests/data")

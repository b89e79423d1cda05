#!/usr/bin/python3
"""devices.py: captures for the device tests (lib/dev): discovery frames (ARP, LLDP, CDP, DHCPv4)
with their truncated and malformed forms, a miner with a mining-hardware MAC that gets its
address by DHCP on a VLAN and then mines, a gateway MAC speaking for many hosts, and hosts
first seen before and after a learning period. Called by gen.py; writes NAME.expect.json with
what the generator meant (MACs, names, VLANs), never by re-parsing the bytes."""
import json
import os
import struct

from scapy.all import (ARP, BOOTP, DHCP, Dot1Q, Dot3, Ether, IP, LLC, SNAP, TCP, UDP, Raw, raw)

import gen

MINER_MAC = "e0:a5:09:12:34:56"     # Bitmain Technologies Inc (ieee-data oui.txt E0-A5-09)
CANAAN_MAC = "b4:a2:eb:31:22:33"    # Canaan Creative, MA-M B4-A2-EB-3 (28-bit)
HEBANG_MAC = "98:80:bb:91:00:01"    # Shenzhen Hebang Electronic: "ebang" in the name, not a miner
ROUTER_MAC = "00:00:5e:00:01:01"
GW_MAC = "02:00:00:00:00:02"
DHCP_SERVER_MAC = "02:00:00:00:00:fe"
LAPTOP_MAC = "3c:22:fb:00:00:01"    # Apple (ieee-data 3C-22-FB)
OLD_MAC = "00:1b:21:00:00:01"       # Intel Corporate
NEW_MAC = "00:1b:21:00:00:02"
VLAN = 42


def mac_bytes(m):
    return bytes(int(x, 16) for x in m.split(":"))


def retag(pkt, src_mac, dst_mac, vlan, other_mac=None):
    """The same IP packet behind another Ethernet header (and a VLAN tag)."""
    ip = pkt[IP]
    inner = ip.copy()
    from_miner = pkt[Ether].src == gen.mac(7)
    src = src_mac if from_miner else (other_mac or dst_mac)
    dst = dst_mac if from_miner else src_mac
    e = Ether(src=src, dst=dst)
    return (e / Dot1Q(vlan=vlan) / inner) if vlan else (e / inner)


def stratum_from(cap, c, pool, cport, t0, src_mac, vlan, duration=200.0, gw=GW_MAC):
    """gen.stratum_session, re-addressed: the miner's frames from src_mac, on vlan."""
    tmp = gen.Capture("tmp")
    gen.stratum_session(tmp, c, pool, cport, 3333, t0, duration=duration)
    for t, data, tag, pkt in tmp.items:
        cap.add(retag(pkt, src_mac, gw, vlan), t=t)


def web_from(cap, c, server, cport, t0, src_mac, vlan=0, gw=GW_MAC):
    tmp = gen.Capture("tmp")
    gen.tcp_session(tmp, c, server, cport, 80, b"GET / HTTP/1.1\r\nHost: example.org\r\n\r\n",
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", t=t0)
    for t, data, tag, pkt in tmp.items:
        e = pkt[Ether]
        src = src_mac if e.src == gen.mac(1) else gw
        dst = gw if e.src == gen.mac(1) else src_mac
        inner = pkt[IP].copy()
        cap.add((Ether(src=src, dst=dst) / Dot1Q(vlan=vlan) / inner) if vlan else
                (Ether(src=src, dst=dst) / inner), t=t)


def dhcp_exchange(cap, t, cmac, vlan, hostname, vclass, addr, server="10.42.0.1", relay=None):
    """DISCOVER, OFFER, REQUEST, ACK. relay: the relay's address (giaddr) and MAC; then the
    frames come from the relay, unicast to the server, and carry no VLAN of the client."""
    chaddr = mac_bytes(cmac) + bytes(10)
    opts_c = [("param_req_list", [1, 3, 6, 15, 28, 42]), ("client_id", b"\x01" + mac_bytes(cmac))]
    if hostname:
        opts_c.append(("hostname", hostname.encode()))
    if vclass:
        opts_c.append(("vendor_class_id", vclass.encode()))

    def frame(src_mac, dst_mac, src_ip, dst_ip, sport, dport, bootp, v):
        e = Ether(src=src_mac, dst=dst_mac)
        l3 = IP(src=src_ip, dst=dst_ip) / UDP(sport=sport, dport=dport) / bootp
        return (e / Dot1Q(vlan=v) / l3) if v else (e / l3)

    giaddr = relay[0] if relay else "0.0.0.0"
    if relay:
        fsrc, fdst, sip, dip, sp, v = relay[1], DHCP_SERVER_MAC, relay[0], server, 67, 0
    else:
        fsrc, fdst, sip, dip, sp, v = cmac, "ff:ff:ff:ff:ff:ff", "0.0.0.0", "255.255.255.255", 68, vlan
    cap.add(frame(fsrc, fdst, sip, dip, sp, 67, BOOTP(op=1, chaddr=chaddr, xid=0x1234, giaddr=giaddr) /
                  DHCP(options=[("message-type", "discover")] + opts_c + ["end"]), v), t=t)
    srv = (DHCP_SERVER_MAC, relay[1] if relay else "ff:ff:ff:ff:ff:ff", server,
           relay[0] if relay else "255.255.255.255", 67, 67 if relay else 68)
    cap.add(frame(*srv, BOOTP(op=2, chaddr=chaddr, xid=0x1234, yiaddr=addr, giaddr=giaddr) /
                  DHCP(options=[("message-type", "offer"), ("server_id", server), "end"]), v), t=t + 0.01)
    cap.add(frame(fsrc, fdst, sip, dip, sp, 67, BOOTP(op=1, chaddr=chaddr, xid=0x1234, giaddr=giaddr) /
                  DHCP(options=[("message-type", "request"), ("requested_addr", addr),
                                ("server_id", server)] + opts_c + ["end"]), v), t=t + 0.02)
    cap.add(frame(*srv, BOOTP(op=2, chaddr=chaddr, xid=0x1234, yiaddr=addr, giaddr=giaddr) /
                  DHCP(options=[("message-type", "ack"), ("server_id", server),
                                ("lease_time", 3600), "end"]), v), t=t + 0.03)


def gen_dev_miner(outdir):
    """A Bitmain miner on VLAN 42: DHCP (Antminer hostname and vendor class), then Stratum
    to a pool; a gateway MAC that 20 hosts sit behind, one of which mines; a relayed DHCP
    client (the relay's frames, the client's chaddr); a laptop that only browses."""
    cap = gen.Capture("dev_miner")
    T = gen.T0
    dhcp_exchange(cap, T + 1.0, MINER_MAC, VLAN, "Antminer-S19-7", "Antminer S19", "10.42.0.50")
    dhcp_exchange(cap, T + 1.5, CANAAN_MAC, 0, "avalon-1246", "", "10.43.0.9",
                  relay=("10.43.0.1", "02:00:00:00:43:01"))
    dhcp_exchange(cap, T + 2.0, LAPTOP_MAC, VLAN, "janes-laptop", "MSFT 5.0", "10.42.0.77")
    web_from(cap, "10.42.0.77", "203.0.113.80", 40001, T + 3.0, LAPTOP_MAC, VLAN)
    for i in range(1, 21):  # 20 hosts behind one router MAC
        web_from(cap, "172.16.5.%d" % i, "203.0.113.80", 41000 + i, T + 3.0 + i * 0.1, ROUTER_MAC)
    stratum_from(cap, "10.42.0.50", "198.51.100.7", 51000, T + 10.0, MINER_MAC, VLAN)
    stratum_from(cap, "172.16.5.99", "198.51.100.7", 52000, T + 12.0, ROUTER_MAC, 0)
    cap.items.sort(key=lambda x: x[0])
    gen.write_pcap(os.path.join(outdir, "dev_miner.pcap"), cap)
    gen.save_expect(outdir, "dev_miner", {
        "miner": {"ip": "10.42.0.50", "mac": MINER_MAC, "vendor": "Bitmain Technologies Inc",
                  "name": "Antminer-S19-7", "vendor_class": "Antminer S19", "vlan": VLAN,
                  "dhcp_fingerprint": "1,3,6,15,28,42"},
        "relayed": {"mac": CANAAN_MAC, "ip": "10.43.0.9", "name": "avalon-1246",
                    "vendor": "Canaan Creative Co.,Ltd."},
        "laptop": {"ip": "10.42.0.77", "mac": LAPTOP_MAC, "name": "janes-laptop"},
        "router": {"mac": ROUTER_MAC, "miner_ip": "172.16.5.99"},
    })


def lldp_frame(src, chassis_mac, port, sysname, mgmt=None, truncate_tlv=False):
    def tlv(t, v):
        return struct.pack(">H", (t << 9) | len(v)) + v
    b = tlv(1, b"\x04" + mac_bytes(chassis_mac)) + tlv(2, b"\x05" + port.encode()) + \
        tlv(3, struct.pack(">H", 120)) + tlv(5, sysname.encode())
    if mgmt:
        a = bytes(int(x) for x in mgmt.split("."))
        b += tlv(8, bytes([5, 1]) + a + b"\x02\x00\x00\x00\x01\x00")
    if truncate_tlv:
        b += struct.pack(">H", (5 << 9) | 200) + b"short"
    else:
        b += b"\x00\x00"
    return Ether(src=src, dst="01:80:c2:00:00:0e", type=0x88cc) / Raw(b)


def cdp_frame(src, devid, port, addr, bad_len=False):
    def tlv(t, v):
        return struct.pack(">HH", t, len(v) + 4) + v
    a = bytes(int(x) for x in addr.split("."))
    addrs = struct.pack(">I", 1) + bytes([1, 1, 0xcc]) + struct.pack(">H", 4) + a
    body = tlv(1, devid.encode()) + tlv(2, addrs) + tlv(3, port.encode())
    if bad_len:
        body += struct.pack(">HH", 5, 2)  # a TLV length below its own header
    pdu = bytes([2, 180, 0, 0]) + body
    return Dot3(src=src, dst="01:00:0c:cc:cc:cc") / LLC(dsap=0xaa, ssap=0xaa, ctrl=3) / \
        SNAP(OUI=0x00000c, code=0x2000) / Raw(pdu)


def gen_dev_l2(outdir):
    """ARP, LLDP, CDP, DHCP frames, each also truncated and malformed."""
    cap = gen.Capture("dev_l2")
    T = gen.T0
    good = [
        Ether(src="00:1b:21:aa:00:01", dst="ff:ff:ff:ff:ff:ff") /
        ARP(op=1, hwsrc="00:1b:21:aa:00:01", psrc="10.1.0.5", pdst="10.1.0.1"),
        Ether(src="00:1b:21:aa:00:02", dst="00:1b:21:aa:00:01") / Dot1Q(vlan=7) /
        ARP(op=2, hwsrc="00:1b:21:aa:00:02", psrc="10.1.0.1", hwdst="00:1b:21:aa:00:01", pdst="10.1.0.5"),
        lldp_frame("00:1b:21:aa:00:03", "00:1b:21:aa:00:04", "eth0", "db-server-3", mgmt="10.1.0.30"),
        cdp_frame("00:1b:21:aa:00:05", "access-sw-2", "GigabitEthernet0/12", "10.1.0.2"),
    ]
    bad = [
        lldp_frame("00:1b:21:aa:00:06", "00:1b:21:aa:00:06", "eth1", "bad-lldp", truncate_tlv=True),
        cdp_frame("00:1b:21:aa:00:07", "bad-cdp", "Gi0/1", "10.1.0.7", bad_len=True),
    ]
    t = T
    for p in good:
        t += 0.5
        cap.add(p, tag="non_ip", t=t)
    for p in bad:
        t += 0.5
        cap.add(p, tag="non_ip", t=t)
    for p in good[:3]:  # cut inside their payload (the frame still says non-IP)
        t += 0.5
        d = raw(p)
        cap.add(Ether(d[:14 + 6 if Dot1Q not in p else 18 + 6]), tag="non_ip", t=t)
    # DHCP: a bad magic cookie, and a message cut in its options
    dh = Ether(src="00:1b:21:aa:00:08", dst="ff:ff:ff:ff:ff:ff") / IP(src="0.0.0.0", dst="255.255.255.255") / \
        UDP(sport=68, dport=67) / BOOTP(op=1, chaddr=mac_bytes("00:1b:21:aa:00:08") + bytes(10)) / \
        DHCP(options=[("message-type", "discover"), ("hostname", b"cut-host"), "end"])
    d = bytearray(raw(dh))
    d[14 + 20 + 8 + 236] ^= 0xff  # cookie
    t += 0.5
    cap.add(Ether(bytes(d)), t=t)
    gen.write_pcap(os.path.join(outdir, "dev_l2.pcap"), cap)
    gen.save_expect(outdir, "dev_l2", {
        "devices": {"00:1b:21:aa:00:01": {"ip": "10.1.0.5"},
                    "00:1b:21:aa:00:02": {"ip": "10.1.0.1", "vlan": 7},
                    "00:1b:21:aa:00:04": {"name": "db-server-3", "neighbor_port": "eth0"},
                    "00:1b:21:aa:00:05": {"name": "access-sw-2", "neighbor_port": "GigabitEthernet0/12"}},
        "malformed_min": 2,
    })


def gen_dev_new(outdir):
    """An old host (first seen at once) and a new one (first seen an hour later), both then
    mining: with device_learn_s = 600 only the new one gets new_device."""
    cap = gen.Capture("dev_new")
    T = gen.T0
    web_from(cap, "10.5.0.10", "203.0.113.80", 40010, T + 1.0, OLD_MAC)
    web_from(cap, "10.5.0.11", "203.0.113.80", 40011, T + 3600.0, NEW_MAC)
    stratum_from(cap, "10.5.0.10", "198.51.100.7", 51010, T + 3610.0, OLD_MAC, 0)
    stratum_from(cap, "10.5.0.11", "198.51.100.7", 51011, T + 3620.0, NEW_MAC, 0)
    web_from(cap, "10.5.0.10", "203.0.113.80", 40012, T + 3900.0, OLD_MAC, 9)  # moved to VLAN 9
    cap.items.sort(key=lambda x: x[0])
    gen.write_pcap(os.path.join(outdir, "dev_new.pcap"), cap)
    gen.save_expect(outdir, "dev_new", {"old": "10.5.0.10", "new": "10.5.0.11",
                                        "new_mac": NEW_MAC, "learn_s": 600})


def gen_dev_raw(outdir):
    """A miner in a raw-IP capture: no MAC anywhere, so its alert says "no MAC seen"."""
    cap = gen.Capture("dev_raw")
    stratum_from(cap, "10.7.0.5", "198.51.100.7", 51007, gen.T0 + 1.0, MINER_MAC, 0)
    gen.write_pcap(os.path.join(outdir, "dev_raw.pcap"), cap, linktype=gen.DLT_RAW, conv=gen.to_raw)


def gen_devices(outdir):
    gen_dev_raw(outdir)
    gen_dev_miner(outdir)
    gen_dev_l2(outdir)
    gen_dev_new(outdir)


if __name__ == "__main__":
    gen_devices(os.sys.argv[1] if len(os.sys.argv) > 1 else "tests/data")

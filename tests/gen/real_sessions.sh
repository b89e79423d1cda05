#!/usr/bin/env bash
# real_sessions.sh: benign calibration sessions made by real programs in network namespaces
# (sl-calib-c, sl-calib-s joined by a veth pair), captured on the client's side with tcpdump:
#   openvpn_real_tcp.pcap  OpenVPN 2.6 over TCP, TLS mode with tls-auth, a tun device each side,
#                          keepalive pings every 10 s and a datagram through the tunnel every 2-9 s
#   openvpn_real_udp.pcap  the same over UDP (labelled, not judged)
# A manifest.json beside them names the protocol the known-protocol table must give.
# usage: tests/gen/real_sessions.sh OUTDIR [SECONDS]   (as root; default 75 s per session)
# Needs root, network namespaces, openvpn, openssl, tcpdump, iproute2 (scripts/deps.sh); exits
# 3 ("skipped") without them, 1 when a tunnel does not come up.
set -euo pipefail
out=$(realpath -m "${1:?usage: real_sessions.sh OUTDIR [SECONDS]}")
secs=${2:-75}
skip() { echo "real_sessions: skipped ($1)" >&2; exit 3; }
[ "$(id -u)" -eq 0 ] || skip "not root"
for t in openvpn openssl tcpdump ip python3; do
    command -v "$t" >/dev/null || skip "$t missing"
done
ip netns add sl-calib-probe-$$ >/dev/null 2>&1 || skip "ip netns unavailable"
ip netns del sl-calib-probe-$$ >/dev/null 2>&1
mkdir -p "$out"
tmp=$(mktemp -d /tmp/sl-calib-real.XXXXXX)
c=sl-calib-c
s=sl-calib-s
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    ip netns del "$c" 2>/dev/null || true
    ip netns del "$s" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
ip netns del "$c" 2>/dev/null || true
ip netns del "$s" 2>/dev/null || true
ip netns add "$c"
ip netns add "$s"
ip link add sl-calib-c0 type veth peer name sl-calib-s0
ip link set sl-calib-c0 netns "$c"
ip link set sl-calib-s0 netns "$s"
ip -n "$c" addr add 10.199.0.1/24 dev sl-calib-c0
ip -n "$s" addr add 10.199.0.2/24 dev sl-calib-s0
for n in "$c" "$s"; do ip -n "$n" link set lo up; done
ip -n "$c" link set sl-calib-c0 up
ip -n "$s" link set sl-calib-s0 up

# a CA, a server and a client certificate (EC P-256), and a tls-auth key
cd "$tmp"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key \
    -out ca.crt -days 2 -subj /CN=calib-ca 2>/dev/null
for who in server client; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $who.key \
        -out $who.csr -subj /CN=calib-$who 2>/dev/null
    ext=$tmp/$who.ext
    if [ $who = server ]; then eku=serverAuth; else eku=clientAuth; fi
    printf 'keyUsage=digitalSignature,keyAgreement\nextendedKeyUsage=%s\n' $eku > "$ext"
    openssl x509 -req -in $who.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out $who.crt \
        -days 2 -extfile "$ext" 2>/dev/null
done
openvpn --genkey secret ta.key 2>/dev/null

session() { # $1 = tcp|udp, $2 = output pcap
    local proto=$1 pcap=$2 sp cp
    if [ "$proto" = tcp ]; then sp=tcp4-server; cp=tcp4-client; else sp=udp4; cp=udp4; fi
    ip netns exec "$c" tcpdump -i sl-calib-c0 -U -w "$pcap" -s 0 "port 1194" 2>/dev/null &
    pids+=($!)
    sleep 1
    ip netns exec "$s" openvpn --tls-server --proto $sp --port 1194 --dev tun --dev-type tun \
        --ifconfig 10.200.0.1 10.200.0.2 --ca ca.crt --cert server.crt --key server.key \
        --dh none --tls-auth ta.key 0 --keepalive 10 60 --verb 0 --writepid "$tmp/s.pid" &
    pids+=($!)
    sleep 1
    ip netns exec "$c" openvpn --tls-client --proto $cp --remote 10.199.0.2 1194 --dev tun \
        --dev-type tun --ifconfig 10.200.0.2 10.200.0.1 --ca ca.crt --cert client.crt \
        --key client.key --tls-auth ta.key 1 --remote-cert-tls server --keepalive 10 60 \
        --verb 1 --log "$tmp/client-$proto.log" &
    pids+=($!)
    sleep 5
    # traffic through the tunnel: a monitoring datagram (syslog-sized) every 2-9 s
    ip netns exec "$c" python3 -c '
import random, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.time() + float(sys.argv[1])
while time.time() < end:
    try:
        s.sendto(bytes(random.randrange(60, 300)), ("10.200.0.1", 514))
    except OSError:
        pass
    time.sleep(random.uniform(2, 9))
' "$secs"
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    pids=()
    # one session, no reconnects: the tunnel came up once
    if [ "$(grep -c 'Initialization Sequence Completed' "$tmp/client-$proto.log")" != 1 ]; then
        echo "real_sessions: the $proto tunnel did not come up once:" >&2
        tail -20 "$tmp/client-$proto.log" >&2
        exit 1
    fi
}
session tcp "$out/openvpn_real_tcp.pcap"
session udp "$out/openvpn_real_udp.pcap"
cat > "$out/manifest.json" <<EOF
[{"pcap": "openvpn_real_tcp.pcap", "protocol": "openvpn", "about": "OpenVPN 2.6 over TCP between network namespaces, $secs s"},
 {"pcap": "openvpn_real_udp.pcap", "protocol": "openvpn_udp", "about": "OpenVPN 2.6 over UDP between network namespaces, $secs s"}]
EOF
echo "real_sessions: wrote $out"

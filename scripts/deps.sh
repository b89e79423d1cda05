#!/usr/bin/env bash
# deps.sh: install the Debian 12 packages sluice needs to build, test, demo and bench.
# (hyperfine: scripts/bench.sh times whole runs against ndpiReader; python3-jsonschema: the
# integration tests validate event lines against config/eve.schema.json; rsyslog: the syslog test
# starts its own rsyslogd in a network namespace; ieee-data: device vendors from the IEEE registry.)
# Idempotent: runs apt-get (update first) only when something is missing.
set -euo pipefail
PKGS=(build-essential meson ninja-build pkg-config libdpdk-dev dpdk-dev libnuma-dev
      libpcap-dev libcmocka-dev python3-scapy tshark libndpi-bin libmicrohttpd-dev jq
      valgrind iproute2 ethtool bsdextrautils clang llvm libclang-rt-14-dev
      prometheus hyperfine python3-jsonschema rsyslog gobgpd openvpn openssl tcpdump libssl-dev ieee-data)
# openvpn, openssl, tcpdump: real OpenVPN sessions for the calibration (tests/gen/real_sessions.sh)
# dpdk: the runtime tools (dpdk-devbind.py for scripts/nic-bind.sh, dpdk-hugepages.py);
# libdpdk-dev and dpdk-dev do not ship them.
PKGS+=(dpdk)
if [ "$(dpkg --print-architecture)" = amd64 ]; then PKGS+=(libhyperscan-dev); else PKGS+=(libvectorscan-dev); fi
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi

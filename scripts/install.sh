#!/usr/bin/env bash
# install.sh: install the built sluice (scripts/build.sh) and its configuration in the
# appliance layout:
#   /usr/local/bin/sluice, sluice-ctl            the binary (replaced), the telemetry wrapper
#   /usr/local/sbin/sluice-hugepages, sluice-nic-bind   scripts/hugepages.sh, nic-bind.sh
#   /etc/sluice/sluice.conf, pools.domains, pools.ips   configuration and pool lists
#   /etc/default/sluice                          command line (only if absent)
#   /etc/systemd/system/sluice.service           the unit (replaced; local changes belong
#                                                in drop-ins: systemctl edit sluice)
#   /etc/logrotate.d/sluice, /var/log/sluice     event log rotation and directory
#   /usr/local/share/doc/sluice, share/sluice    README, Grafana dashboard
#
#   scripts/install.sh [--prefix DIR] [--force]
#
# --prefix DIR installs under DIR (a staging root; needs no root). An existing sluice.conf
# is never replaced without --force (the shipped one goes beside it as sluice.conf.dist);
# pool lists the operator has not edited since the last install are updated, edited ones
# are kept like sluice.conf. --force replaces them, keeping the old file as FILE.bak.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,19s/^# \{0,1\}//p' "$0" >&2; exit "${1:-2}"; }
die() { echo "install: $*" >&2; exit 1; }
say() { echo "install: $*"; }

root="" force=0
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) [ $# -ge 2 ] || usage; root=$2; shift ;;
        --prefix=*) root=${1#--prefix=} ;;
        --force) force=1 ;;
        -h|--help) usage 0 ;;
        *) echo "install: unknown argument $1" >&2; usage ;;
    esac
    shift
done
root=${root%/}
if [ -n "$root" ]; then
    mkdir -p "$root" || die "cannot create $root"
    root=$(cd "$root" && pwd)
    [ "$root" != / ] || root=""
fi
[ -n "$root" ] || [ "$(id -u)" -eq 0 ] || die "installing into / needs root (or use --prefix DIR to stage)"

BIN=build/app/sluice/sluice
[ -x "$BIN" ] || die "$BIN not found: build it first with scripts/build.sh"
for f in config/sluice.conf config/pools.domains config/pools.ips config/mining_hw.txt config/sluice.service \
         config/sluice.default config/logrotate.d/sluice scripts/hugepages.sh scripts/nic-bind.sh; do
    [ -f "$f" ] || die "$f is missing from this tree"
done

# Owners only for a real install: a staging tree keeps the caller's.
own=()
[ -z "$root" ] && own=(-o root -g root)

put() { # mode, source, destination (replaced)
    install -D -m "$1" "${own[@]}" "$2" "$root$3"
    say "$3"
}

# A file the operator may edit: install if absent or unchanged; otherwise keep it and put
# the shipped one beside it as .dist. $3 = 1: also update it if it still equals the .dist
# of the previous install (the operator never edited it).
conffile() { # source, destination, update-if-unedited
    local src=$1 dst=$root$2 upd=$3
    if [ ! -e "$dst" ]; then
        install -D -m 0644 "${own[@]}" "$src" "$dst"
        say "$2"
    elif cmp -s "$src" "$dst"; then
        say "$2 unchanged"
    elif [ "$force" = 1 ]; then
        cp -p "$dst" "$dst.bak"
        install -m 0644 "${own[@]}" "$src" "$dst"
        say "$2 replaced (--force; the old one is $2.bak)"
    elif [ "$upd" = 1 ] && [ -e "$dst.dist" ] && cmp -s "$dst" "$dst.dist"; then
        install -m 0644 "${own[@]}" "$src" "$dst"
        say "$2 updated (not edited since the last install)"
    else
        say "$2 kept (differs from the shipped one; that is $2.dist; --force replaces)"
    fi
    # The shipped version, for comparing and for the next update.
    install -D -m 0644 "${own[@]}" "$src" "$dst.dist"
}

put 0755 "$BIN" /usr/local/bin/sluice
put 0755 scripts/hugepages.sh /usr/local/sbin/sluice-hugepages
put 0755 scripts/nic-bind.sh /usr/local/sbin/sluice-nic-bind
if [ -f scripts/sluice-ctl ]; then put 0755 scripts/sluice-ctl /usr/local/bin/sluice-ctl; fi

conffile config/sluice.conf /etc/sluice/sluice.conf 0
conffile config/pools.domains /etc/sluice/pools.domains 1
conffile config/pools.ips /etc/sluice/pools.ips 1
conffile config/mining_hw.txt /etc/sluice/mining_hw.txt 1

if [ -e "$root/etc/default/sluice" ]; then
    install -D -m 0644 "${own[@]}" config/sluice.default "$root/etc/default/sluice.dist"
    say "/etc/default/sluice kept (the example is /etc/default/sluice.dist)"
else
    put 0644 config/sluice.default /etc/default/sluice
fi
put 0644 config/sluice.service /etc/systemd/system/sluice.service
put 0644 config/logrotate.d/sluice /etc/logrotate.d/sluice
put 0644 README.md /usr/local/share/doc/sluice/README.md
if [ -f config/grafana/sluice.json ]; then
    put 0644 config/grafana/sluice.json /usr/local/share/sluice/grafana/sluice.json
fi

# Log directory: root-owned, readable by adm (logrotate creates events.json 0640 root:adm).
install -d -m 0750 "$root/var/log/sluice"
if [ -z "$root" ] && getent group adm >/dev/null; then chgrp adm /var/log/sluice; fi
say "/var/log/sluice/"

if [ -z "$root" ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    say "systemd reloaded"
fi
cat <<EOF
install: done${root:+ (staged under $root)}. Next:
  edit /etc/default/sluice (ports, lcores) and /etc/sluice/sluice.conf (home_nets, mode)
  sluice-hugepages 1024 --persist        reserve hugepages now and at boot
  sluice-nic-bind bind <pci|ifname>...   hand the capture/inline ports to DPDK
  systemctl enable --now sluice          start; journalctl -u sluice for its log
EOF

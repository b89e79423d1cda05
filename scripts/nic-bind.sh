#!/usr/bin/env bash
# nic-bind.sh: hand a sensor's capture/inline NICs to DPDK (vfio-pci) and back to the
# kernel, with dpdk-devbind.py (Debian package dpdk; scripts/deps.sh installs it).
#
#   scripts/nic-bind.sh status
#   scripts/nic-bind.sh bind <pci|ifname>... [--driver vfio-pci] [--force] [--dry-run]
#   scripts/nic-bind.sh unbind <pci>... [--driver <kernel driver>] [--dry-run]
#
# bind loads the driver's module, brings each kernel interface down and binds it. It refuses
# a device that is not a network PCI function, and an interface that carries the default
# route, an address or a route (the management port) unless --force. unbind returns a device
# to its kernel driver (--driver, or the one lspci names). --dry-run checks everything and
# prints the commands instead of running them. Exit status: 0 done, 1 refused or failed,
# 2 bad usage.
set -euo pipefail

usage() { # $1: exit status (0 for --help)
    sed -n '2,14s/^# \{0,1\}//p' "$0" >&2
    exit "${1:-2}"
}
die() { echo "nic-bind: $*" >&2; exit 1; }
say() { echo "nic-bind: $*"; }

DEVBIND=""
for c in "$(command -v dpdk-devbind.py 2>/dev/null || true)" /usr/bin/dpdk-devbind.py \
         /usr/sbin/dpdk-devbind.py /usr/share/dpdk/usertools/dpdk-devbind.py; do
    if [ -n "$c" ] && [ -x "$c" ]; then DEVBIND=$c; break; fi
done
need_devbind() {
    [ -n "$DEVBIND" ] || die "dpdk-devbind.py not found: install the Debian package dpdk (scripts/deps.sh does)"
}
# lspci (called by dpdk-devbind.py) complains on machines without kernel modules: drop that.
quiet_lspci() { grep -v 'Unable to load libkmod' >&2 || true; }

[ $# -ge 1 ] || usage
cmd=$1; shift
driver="" force=0 dry=0 devs=()
while [ $# -gt 0 ]; do
    case "$1" in
        --driver) [ $# -ge 2 ] || usage; driver=$2; shift ;;
        --driver=*) driver=${1#--driver=} ;;
        --force) force=1 ;;
        --dry-run|-n) dry=1 ;;
        -h|--help) usage 0 ;;
        -*) echo "nic-bind: unknown option $1" >&2; usage ;;
        *) devs+=("$1") ;;
    esac
    shift
done

run() { # run a command, or print it under --dry-run
    if [ "$dry" = 1 ]; then echo "$*"; else "$@"; fi
}

PCI_RE='^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$'
DPDK_DRIVERS=" vfio-pci uio_pci_generic igb_uio "

# Print the full PCI address of a PCI address or interface name; refuse anything else.
resolve() {
    local d=$1 pci
    if [[ "$d" =~ $PCI_RE ]]; then
        pci=$d
        [[ "$pci" == ????:* ]] || pci=0000:$pci
        pci=${pci,,}
        [ -e "/sys/bus/pci/devices/$pci" ] || die "unknown device $d: no PCI function $pci on this machine (see: scripts/nic-bind.sh status)"
    elif [ -e "/sys/class/net/$d" ]; then
        pci=$(pci_of_iface "$d")
        [ -n "$pci" ] || die "$d is not a PCI network device (virtual or non-PCI interface): DPDK cannot bind it"
    else
        die "unknown device $d: neither a PCI address (0000:3b:00.0) nor a network interface on this machine (see: scripts/nic-bind.sh status)"
    fi
    echo "$pci"
}
drv_of() { # current driver of a PCI function, "" if none
    local l=/sys/bus/pci/devices/$1/driver
    if [ -e "$l" ]; then basename "$(readlink -f "$l")"; fi
}
# The PCI function behind an interface ("" for virtual ones). The device link may point
# below the function (virtio: 0000:00:03.0/virtio0), so take the last PCI address on its path.
pci_of_iface() {
    [ -e "/sys/class/net/$1/device" ] || return 0
    readlink -f "/sys/class/net/$1/device" | grep -oE '[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]' | tail -1 || true
}
ifaces_of() { # kernel interfaces of a PCI function
    local n
    for n in /sys/class/net/*; do
        [ "$(pci_of_iface "${n##*/}")" = "$1" ] && echo "${n##*/}"
    done
    return 0
}
# Why an interface must not be taken from the kernel ("" if nothing holds it).
in_use() {
    local ifc=$1 r
    r=$( { ip -4 route show default dev "$ifc"; ip -6 route show default dev "$ifc"; } 2>/dev/null || true)
    if [ -n "$r" ]; then echo "it carries the default route ($(echo "$r" | head -1 | sed "s/ *$//"))"; return; fi
    r=$( { ip -o addr show dev "$ifc" 2>/dev/null || true; } | awk '$3 == "inet" || ($3 == "inet6" && $4 !~ /^fe80:/) {print $4}' | head -3 | tr '\n' ' ')
    if [ -n "$r" ]; then echo "it has addresses in use: ${r% }"; return; fi
    r=$( { ip -4 route show dev "$ifc"; ip -6 route show dev "$ifc"; } 2>/dev/null | grep -v -e '^fe80:' -e '^ff00:' -e '^multicast' | head -1 || true)
    if [ -n "$r" ]; then echo "it has a route in use ($r)"; fi
    return 0
}

status() {
    need_devbind
    { "$DEVBIND" --status-dev net 2>&1 1>&3 | quiet_lspci; } 3>&1
    echo
    echo "Network PCI functions:"
    printf '  %-14s %-16s %-12s %-5s %-6s %s\n' pci driver interface numa iommu "in use"
    local p cls pci drv ifc why any=0
    for p in /sys/bus/pci/devices/*; do
        cls=$(cat "$p/class" 2>/dev/null || echo 0)
        [[ "$cls" == 0x02* ]] || continue
        any=1
        pci=${p##*/}
        drv=$(drv_of "$pci")
        ifc=$(ifaces_of "$pci" | paste -sd " ")
        why=""
        for i in $ifc; do why+=$(in_use "$i"); done
        printf '  %-14s %-16s %-12s %-5s %-6s %s\n' "$pci" "${drv:-none}" "${ifc:--}" \
            "$(cat "$p/numa_node" 2>/dev/null || echo -)" \
            "$( [ -e "$p/iommu_group" ] && basename "$(readlink -f "$p/iommu_group")" || echo -)" "${why:-no}"
    done
    [ "$any" = 1 ] || echo "  none: this machine has no network PCI function (use vdevs: --vdev net_pcap0,...)"
    echo
    local groups
    groups=$(find /sys/kernel/iommu_groups -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    echo "IOMMU groups: $groups$( [ "$groups" = 0 ] && echo " (no IOMMU: vfio-pci needs intel_iommu=on iommu=pt / amd_iommu=on, or noiommu mode)")"
    echo "vfio-pci: $( [ -d /sys/bus/pci/drivers/vfio-pci ] && echo loaded || echo "not loaded (bind loads it)")"
}

do_bind() {
    [ ${#devs[@]} -gt 0 ] || usage
    need_devbind
    [ -n "$driver" ] || driver=vfio-pci
    [[ "$DPDK_DRIVERS" == *" $driver "* ]] || die "--driver $driver is not a DPDK driver (vfio-pci, uio_pci_generic, igb_uio)"
    local d pci cls ifc why cur pcis=() downs=() refused=0
    # Check every device before touching any.
    for d in "${devs[@]}"; do
        pci=$(resolve "$d") || exit 1
        cls=$(cat "/sys/bus/pci/devices/$pci/class")
        [[ "$cls" == 0x02* ]] || die "$pci is not a network controller (class $cls): refusing to bind it"
        cur=$(drv_of "$pci")
        if [ "$cur" = "$driver" ]; then say "$pci is already bound to $driver"; continue; fi
        case "$cur" in
            mlx4_core|mlx5_core)
                say "$pci uses $cur: Mellanox/NVIDIA NICs work with DPDK on their kernel driver (bifurcated); no bind needed"
                [ "$force" = 1 ] || continue ;;
        esac
        for ifc in $(ifaces_of "$pci"); do
            why=$(in_use "$ifc")
            if [ -n "$why" ]; then
                if [ "$force" = 1 ]; then
                    say "warning: $ifc ($pci): $why; binding anyway (--force)"
                else
                    echo "nic-bind: refusing $ifc ($pci): $why. This looks like the management port: binding it would cut the machine off. Use another port, or --force." >&2
                    refused=1
                fi
            fi
            downs+=("$ifc")
        done
        pcis+=("$pci")
    done
    [ "$refused" = 0 ] || exit 1
    [ ${#pcis[@]} -gt 0 ] || return 0
    [ "$dry" = 1 ] || [ "$(id -u)" -eq 0 ] || die "must run as root to bind devices (or use --dry-run)"

    if [ ! -d "/sys/bus/pci/drivers/$driver" ]; then
        run modprobe "$driver" || die "cannot load the $driver module (modprobe $driver failed: is it built for this kernel?)"
    fi
    if [ "$driver" = vfio-pci ] && [ -z "$(ls -A /sys/kernel/iommu_groups 2>/dev/null)" ] &&
       [ "$(cat /sys/module/vfio/parameters/enable_unsafe_noiommu_mode 2>/dev/null || echo N)" != Y ]; then
        say "warning: no IOMMU groups: vfio-pci cannot take the device. Boot with intel_iommu=on iommu=pt (or amd_iommu=on), or use --driver uio_pci_generic"
    fi
    for ifc in "${downs[@]}"; do
        run ip link set dev "$ifc" down || die "cannot bring $ifc down"
    done
    local fl=()
    [ "$force" = 1 ] && fl=(--force)
    run "$DEVBIND" "${fl[@]}" --bind="$driver" "${pcis[@]}" || die "dpdk-devbind.py could not bind ${pcis[*]} to $driver"
    if [ "$dry" = 0 ]; then
        for pci in "${pcis[@]}"; do
            [ "$(drv_of "$pci")" = "$driver" ] || die "$pci is not on $driver after binding (see dmesg)"
            say "$pci bound to $driver (EAL: -a $pci)"
        done
    fi
}

do_unbind() {
    [ ${#devs[@]} -gt 0 ] || usage
    need_devbind
    local d pci cur kdrv
    for d in "${devs[@]}"; do
        [[ "$d" =~ $PCI_RE ]] || die "unbind takes PCI addresses (an interface bound to DPDK has no name): $d"
        pci=$(resolve "$d") || exit 1
        cur=$(drv_of "$pci")
        if [ -n "$cur" ] && [[ "$DPDK_DRIVERS" != *" $cur "* ]]; then
            say "$pci is on the kernel driver $cur already (not bound to DPDK): nothing to do"
            continue
        fi
        kdrv=$driver
        if [ -z "$kdrv" ]; then
            kdrv=$(lspci -k -s "$pci" 2>/dev/null | awk -F': ' '/Kernel modules:/ {split($2, m, ", "); print m[1]}' || true)
        fi
        if [ -n "$kdrv" ] && [ "$cur" = "$kdrv" ]; then say "$pci is already on $kdrv"; continue; fi
        [ "$dry" = 1 ] || [ "$(id -u)" -eq 0 ] || die "must run as root to unbind devices (or use --dry-run)"
        if [ -z "$kdrv" ]; then
            say "no kernel driver known for $pci (give --driver): unbinding only"
            run "$DEVBIND" -u "$pci" || die "dpdk-devbind.py could not unbind $pci"
            continue
        fi
        if [ ! -d "/sys/bus/pci/drivers/$kdrv" ]; then
            run modprobe "$kdrv" || die "cannot load the $kdrv module"
        fi
        run "$DEVBIND" --bind="$kdrv" "$pci" || die "dpdk-devbind.py could not bind $pci to $kdrv"
        [ "$dry" = 1 ] || say "$pci back on $kdrv: interface $(ifaces_of "$pci" | tr '\n' ' ')"
    done
}

case "$cmd" in
    status) status ;;
    bind) do_bind ;;
    unbind) do_unbind ;;
    -h|--help|help) usage 0 ;;
    *) echo "nic-bind: unknown command $cmd" >&2; usage ;;
esac

#!/usr/bin/env bash
# hugepages.sh: reserve hugepages for a sluice sensor (DPDK keeps its mbufs, rings and
# tables in them), mount hugetlbfs, optionally make the reservation survive a reboot.
#
#   scripts/hugepages.sh [N_2M_PAGES] [--1g N] [--persist] [--dry-run]
#   scripts/hugepages.sh --status
#
# N_2M_PAGES (default 1024 = 2 GiB) and --1g N are counts PER NUMA NODE: DPDK allocates
# each port's and worker's memory on its own socket. 0 releases that size. --persist writes
# /etc/sysctl.d/80-sluice-hugepages.conf (2 MiB pages at boot) and prints the kernel command
# line for 1 GiB pages (which can only be reserved reliably at boot). --dry-run prints what
# would be done and changes nothing. Exit status: 0 done, 1 refused or failed, 2 bad usage.
set -euo pipefail

SYSCTL_FILE=/etc/sysctl.d/80-sluice-hugepages.conf
MNT=/dev/hugepages
MNT_1G=/dev/hugepages-1G
WRITE_TIMEOUT=60 # seconds one write to nr_hugepages may take (the kernel compacts memory)

usage() { # $1: exit status (0 for --help)
    sed -n '2,12s/^# \{0,1\}//p' "$0" >&2
    exit "${1:-2}"
}
die() { echo "hugepages: $*" >&2; exit 1; }
say() { echo "hugepages: $*"; }

n2m="" n1g="" persist=0 dry=0 status=0
while [ $# -gt 0 ]; do
    case "$1" in
        --1g) [ $# -ge 2 ] || usage; n1g=$2; shift ;;
        --1g=*) n1g=${1#--1g=} ;;
        --persist) persist=1 ;;
        --dry-run|-n) dry=1 ;;
        --status) status=1 ;;
        -h|--help) usage 0 ;;
        -*) echo "hugepages: unknown option $1" >&2; usage ;;
        *) [ -z "$n2m" ] || usage; n2m=$1 ;;
    esac
    shift
done
for v in "$n2m" "$n1g"; do
    [ -z "$v" ] || [[ "$v" =~ ^[0-9]{1,7}$ ]] || { echo "hugepages: not a page count: $v" >&2; exit 2; }
done
# Neither size given: the default 2 MiB reservation.
[ -n "$n2m" ] || [ -n "$n1g" ] || n2m=1024

# Where the per-node counters live: one directory per NUMA node, or none on a kernel
# without NUMA (then the global counters: /sys/kernel/mm/hugepages, /proc/sys/vm).
nodes=()
for d in /sys/devices/system/node/node[0-9]*; do
    [ -d "$d/hugepages" ] && nodes+=("$d")
done

# The nr_hugepages file for page size $1 (kB) on node directory $2 ("" = global).
counter() {
    local kb=$1 node=$2
    if [ -n "$node" ]; then
        echo "$node/hugepages/hugepages-${kb}kB/nr_hugepages"
    elif [ -e "/sys/kernel/mm/hugepages/hugepages-${kb}kB/nr_hugepages" ]; then
        echo "/sys/kernel/mm/hugepages/hugepages-${kb}kB/nr_hugepages"
    elif [ "$kb" = "$(default_kb)" ] && [ -e /proc/sys/vm/nr_hugepages ]; then
        echo /proc/sys/vm/nr_hugepages
    fi
}
default_kb() { awk '/^Hugepagesize:/ {print $2}' /proc/meminfo 2>/dev/null; }
kernel_supports() { grep -qw hugetlbfs /proc/filesystems 2>/dev/null; }
# hugetlbfs mount points with page size $1 (kB; the default size when pagesize= is absent)
mounts_of() {
    local kb=$1 def
    def=$(default_kb)
    awk -v kb="$kb" -v def="$def" '$3 == "hugetlbfs" {
        ps = def; n = split($4, o, ",")
        for (i = 1; i <= n; i++) if (o[i] ~ /^pagesize=/) {
            v = substr(o[i], 10); u = substr(v, length(v)); v = v + 0
            ps = (u == "G") ? v * 1048576 : (u == "M") ? v * 1024 : (u == "K") ? v : v / 1024
        }
        if (ps == kb) print $2 }' /proc/mounts
}

show_status() {
    if ! kernel_supports; then
        say "this kernel has no hugetlbfs support (not in /proc/filesystems): DPDK needs --no-huge here"
        return 1
    fi
    echo "default hugepage size: $(default_kb) kB"
    printf '%-8s %-10s %10s %10s %10s\n' node size total free surplus
    local kb node dir label any=0
    for kb in 2048 1048576; do
        label=$([ "$kb" = 2048 ] && echo 2M || echo 1G)
        if [ ${#nodes[@]} -gt 0 ]; then
            for node in "${nodes[@]}"; do
                dir=$node/hugepages/hugepages-${kb}kB
                [ -d "$dir" ] || continue
                any=1
                printf '%-8s %-10s %10s %10s %10s\n' "${node##*/}" "$label" "$(cat "$dir/nr_hugepages")" \
                    "$(cat "$dir/free_hugepages")" "$(cat "$dir/surplus_hugepages")"
            done
        else
            dir=/sys/kernel/mm/hugepages/hugepages-${kb}kB
            [ -d "$dir" ] || continue
            any=1
            printf '%-8s %-10s %10s %10s %10s\n' all "$label" "$(cat "$dir/nr_hugepages")" \
                "$(cat "$dir/free_hugepages")" "$(cat "$dir/surplus_hugepages")"
        fi
    done
    [ "$any" = 1 ] || printf '%-8s %-10s %10s %10s %10s\n' all "$(default_kb)kB" \
        "$(awk '/^HugePages_Total:/ {print $2}' /proc/meminfo)" \
        "$(awk '/^HugePages_Free:/ {print $2}' /proc/meminfo)" \
        "$(awk '/^HugePages_Surp:/ {print $2}' /proc/meminfo)"
    echo "hugetlbfs mounts:"
    if grep -q ' hugetlbfs ' /proc/mounts; then
        awk '$3 == "hugetlbfs" {print "  " $2 "  (" $4 ")"}' /proc/mounts
    else
        echo "  none (DPDK needs one per page size it uses: scripts/hugepages.sh mounts $MNT)"
    fi
    [ -f "$SYSCTL_FILE" ] && echo "at boot: $SYSCTL_FILE: $(grep -v '^#' "$SYSCTL_FILE" | tr '\n' ' ')"
    grep -o 'hugepage[^ ]*' /proc/cmdline 2>/dev/null | sed 's/^/kernel command line: /' || true
    return 0
}

if [ "$status" = 1 ]; then
    show_status
    exit $?
fi

kernel_supports || die "this kernel has no hugetlbfs support (not in /proc/filesystems); run sluice with --no-huge -m MB, or boot a kernel with CONFIG_HUGETLBFS"
[ "$dry" = 1 ] || [ "$(id -u)" -eq 0 ] || die "must run as root to reserve hugepages (or use --dry-run, --status)"

run() { # run a command, or print it under --dry-run
    if [ "$dry" = 1 ]; then echo "would run: $*"; else "$@"; fi
}

# Set the count at one counter file and check what the kernel actually reserved.
set_pages() {
    local file=$1 want=$2 label=$3 got
    if [ "$dry" = 1 ]; then
        echo "would write: $want > $file"
        return 0
    fi
    [ -w "$file" ] || die "$file is not writable (read-only /sys in a container?)"
    # A write can stall while the kernel compacts memory: bound it, never hang.
    # shellcheck disable=SC2016 # $1 and $2 are the inner shell's arguments
    if ! timeout "$WRITE_TIMEOUT" sh -c 'echo "$1" > "$2"' sh "$want" "$file" 2>/dev/null; then
        die "the kernel refused $want x $label pages at $file (write failed or took over ${WRITE_TIMEOUT}s)"
    fi
    got=$(cat "$file")
    if [ "$got" -lt "$want" ]; then
        die "the kernel reserved only $got of $want $label pages at $file (not enough free contiguous memory; reserve at boot: --persist)"
    fi
    say "$label pages at ${file%/hugepages/*}: $got"
}

reserve() { # page size kB, count per node, label
    local kb=$1 n=$2 label=$3 f node
    if [ ${#nodes[@]} -gt 0 ] && [ -e "$(counter "$kb" "${nodes[0]}")" ]; then
        for node in "${nodes[@]}"; do
            set_pages "$(counter "$kb" "$node")" "$n" "$label"
        done
    else
        f=$(counter "$kb" "")
        [ -n "$f" ] || die "this kernel offers no $label hugepages (no hugepages-${kb}kB in /sys, and the default size is $(default_kb) kB)"
        set_pages "$f" "$n" "$label"
    fi
}

mount_size() { # mount point, page size kB, -o pagesize value ("" = default size)
    local mnt=$1 kb=$2 ps=$3
    if [ -n "$(mounts_of "$kb")" ]; then
        say "hugetlbfs for ${kb} kB pages already mounted at $(mounts_of "$kb" | head -1)"
        return 0
    fi
    run mkdir -p "$mnt"
    if [ -n "$ps" ]; then
        run mount -t hugetlbfs -o "pagesize=$ps" nodev "$mnt" || die "mount of hugetlbfs (pagesize=$ps) at $mnt failed"
    else
        run mount -t hugetlbfs nodev "$mnt" || die "mount of hugetlbfs at $mnt failed"
    fi
    [ "$dry" = 1 ] || say "mounted hugetlbfs at $mnt"
}

nnodes=${#nodes[@]}
[ "$nnodes" -gt 0 ] || nnodes=1

if [ -n "$n2m" ]; then
    reserve 2048 "$n2m" 2M
    if [ "$n2m" -gt 0 ]; then
        if [ "$(default_kb)" = 2048 ]; then mount_size "$MNT" 2048 ""; else mount_size "$MNT-2M" 2048 2M; fi
    fi
fi
if [ -n "$n1g" ]; then
    if [ ${#nodes[@]} -gt 0 ] && [ ! -e "$(counter 1048576 "${nodes[0]}")" ] && [ -z "$(counter 1048576 "")" ]; then
        die "this CPU or kernel offers no 1 GiB pages (no hugepages-1048576kB); use 2 MiB pages"
    fi
    reserve 1048576 "$n1g" 1G
    if [ "$n1g" -gt 0 ]; then
        if [ "$(default_kb)" = 1048576 ]; then mount_size "$MNT" 1048576 ""; else mount_size "$MNT_1G" 1048576 1G; fi
    fi
fi

if [ "$persist" = 1 ]; then
    if [ -n "$n2m" ] && [ "$(default_kb)" = 2048 ]; then
        # vm.nr_hugepages is the total of the default size; the kernel spreads it over the nodes.
        content="# Written by sluice scripts/hugepages.sh: 2 MiB hugepages reserved at boot
# ($n2m per NUMA node x $nnodes nodes). /dev/hugepages is mounted by systemd (dev-hugepages.mount).
vm.nr_hugepages = $((n2m * nnodes))"
        if [ "$dry" = 1 ]; then
            echo "would write $SYSCTL_FILE:"
            printf '    %s\n' "${content//$'\n'/$'\n    '}"
        else
            printf '%s\n' "$content" > "$SYSCTL_FILE" || die "cannot write $SYSCTL_FILE"
            say "wrote $SYSCTL_FILE (vm.nr_hugepages = $((n2m * nnodes)))"
        fi
    elif [ -n "$n2m" ]; then
        say "the default hugepage size is $(default_kb) kB, not 2 MiB: no sysctl written; add hugepagesz=2M hugepages=$((n2m * nnodes)) to the kernel command line"
    fi
    if [ -n "$n1g" ] && [ "$n1g" -gt 0 ]; then
        echo "1 GiB pages are reserved reliably only at boot. Kernel command line"
        echo "(GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub and reboot):"
        if [ -n "$n2m" ] && [ "$n2m" -gt 0 ]; then
            echo "    hugepagesz=1G hugepages=$((n1g * nnodes))"
            echo "and a mount for them in /etc/fstab (2 MiB pages stay the default size):"
            echo "    nodev $MNT_1G hugetlbfs pagesize=1G 0 0"
        else
            echo "    default_hugepagesz=1G hugepagesz=1G hugepages=$((n1g * nnodes))"
            echo "(1 GiB becomes the default size: systemd mounts them at $MNT)"
        fi
    fi
fi
[ "$dry" = 1 ] || show_status

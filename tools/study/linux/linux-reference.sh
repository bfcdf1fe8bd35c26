#!/usr/bin/env bash
# linux-reference.sh: Debian's Linux kernel in the same emulator as Herald,
# running the same workloads (workloads.c), for ./herald study
# (docs/study.md, "Linux in the same emulator").
#
#   linux-reference.sh --build-dir DIR --mode icount|kvm|wall --smp N
#                      [--only FIG,FIG] [--timeout S] [--no-fetch]
#   linux-reference.sh --parse-log LOG
#   linux-reference.sh --build-programs DIR
#
# It fetches the kernel package once (apt-get download of the image that
# linux-image-amd64 depends on) into DIR/linux-reference/, builds the static
# workload programs with gcc, packs them as /init of an initramfs, boots it
# with tools/qemu.sh's command line (q35, qboot, isa-debug-exit, -m 512M;
# icount: -icount shift=0,sleep=off) and prints the contract's "bench:" lines
# from the serial log, with "linux: ..." lines about what it did.
# --no-fetch uses only a package already cached (no network).
# --parse-log prints and checks the "bench:" lines of a serial log.
# --build-programs builds the three programs and the initramfs into DIR only
# (the host-side test runs them there: workloads --host, docs/study.md).
#
# Exit status:
#   0  Linux ran and printed "bench: done" (every bench line well formed)
#   1  Linux did not finish: boot failure, timeout, malformed lines
#   2  bad arguments
#   3  skipped: no kernel package (offline, apt failed, not cached with
#      --no-fetch) or no static C toolchain; one line "linux: skipped: ..."
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
# shellcheck source=../../qemu.sh
. "$ROOT/tools/qemu.sh"

readonly EXIT_FAILED=1 EXIT_USAGE=2 EXIT_SKIPPED=3
# isa-debug-exit: workloads.c writes 0x10, QEMU exits (0x10 << 1) | 1.
readonly QEMU_EXIT_SUCCESS=33
readonly MEMORY=512M             # as the study boots Herald
readonly META_PACKAGE=linux-image-amd64
readonly FETCH_TIMEOUT=600       # seconds for apt-get download (about 70 MB)

say() { printf 'linux: %s\n' "$*"; }
skip() { say "skipped: $*"; exit "$EXIT_SKIPPED"; }
fail() { say "failed: $*"; exit "$EXIT_FAILED"; }
usage() { sed -n '2,29p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit "$EXIT_USAGE"; }

# ---- the serial log ----

# bench_lines LOG: the contract lines of a serial log (the UART ends lines
# with CR LF; the kernel's and the programs' own lines are left out).
bench_lines() {
    tr -d '\r' <"$1" | grep -E '^bench: ' || true
}

# contract_check: reads bench lines on stdin, prints each malformed one,
# and fails if there is one or if "begin" or "done" is missing. The forms
# are the study's contract (docs/study.md); Linux prints no events.
contract_check() {
    awk '
        /^bench: begin placement=linux mode=(icount|kvm|wall) cpus=[0-9]+$/ { begin++; next }
        /^bench: done$/ { done++; next }
        /^bench: [a-z0-9_]+ median=[0-9]+ min=[0-9]+ unit=[a-z_]+$/ { next }
        /^bench: [a-z0-9_]+ (skipped|failed): ./ { next }
        { print "linux: malformed: " $0; bad++ }
        END {
            if (begin != 1) { print "linux: malformed: " begin + 0 " begin lines (1 expected)"; bad++ }
            if (done != 1) { print "linux: malformed: " done + 0 " done lines (1 expected)"; bad++ }
            exit bad > 0
        }'
}

parse_log() {
    [ -r "$1" ] || { say "no log at $1"; exit "$EXIT_FAILED"; }
    local lines
    lines="$(bench_lines "$1")"
    [ -n "$lines" ] && printf '%s\n' "$lines"
    printf '%s\n' "$lines" | contract_check || exit "$EXIT_FAILED"
}

# ---- the kernel package ----

# The image package the meta package depends on, e.g. linux-image-6.1.0-57-amd64.
image_package() {
    apt-cache depends "$META_PACKAGE" 2>/dev/null \
        | awk '/^ *Depends: linux-image-[0-9]/ { print $2; exit }'
}

# fetch_package CACHE: prints the .deb to use. The one apt names, downloaded
# once; without apt's answer or the network, one already in the cache.
fetch_package() {
    local cache="$1" package deb
    package="$(image_package || true)"
    if [ -z "$package" ] && [ "$NO_FETCH" = false ] && [ "$(id -u)" = 0 ]; then
        # A fresh container often has no package lists at all.
        say "apt does not know $META_PACKAGE here: apt-get update" >&2
        timeout "$FETCH_TIMEOUT" apt-get update -qq >"$cache/apt-update.log" 2>&1 || true
        package="$(image_package || true)"
    fi
    if [ -n "$package" ]; then
        deb="$(find "$cache" -maxdepth 1 -name "${package}_*_amd64.deb" | sort | tail -1)"
        if [ -z "$deb" ] && [ "$NO_FETCH" = false ]; then
            say "downloading $package (once; cached in $cache)" >&2
            if (cd "$cache" && timeout "$FETCH_TIMEOUT" apt-get download -q "$package") >"$cache/apt-download.log" 2>&1; then
                deb="$(find "$cache" -maxdepth 1 -name "${package}_*_amd64.deb" | sort | tail -1)"
            else
                say "apt-get download $package failed: $(grep -m1 -E '^(E|Err):' "$cache/apt-download.log" || tail -1 "$cache/apt-download.log")" >&2
            fi
        fi
    fi
    if [ -z "${deb:-}" ]; then
        # apt does not know the package here, or cannot fetch it: any cached one.
        deb="$(find "$cache" -maxdepth 1 -name 'linux-image-*_amd64.deb' | sort | tail -1)"
        [ -n "$deb" ] && [ -n "$package" ] && say "using the cached $(basename "$deb"), not $package" >&2
    fi
    [ -n "${deb:-}" ] || return 1
    printf '%s\n' "$deb"
}

# extract_kernel DEB CACHE: prints the path of the package's vmlinuz,
# extracted once.
extract_kernel() {
    local deb="$1" cache="$2" version kernel
    version="$(dpkg-deb -f "$deb" Package | sed 's/^linux-image-//')"
    kernel="$cache/vmlinuz-$version"
    if [ ! -s "$kernel" ] || [ "$deb" -nt "$kernel" ]; then
        local unpack="$cache/unpack"
        rm -rf "$unpack"
        mkdir -p "$unpack"
        dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$unpack" "./boot/vmlinuz-$version" \
            || { rm -rf "$unpack"; return 1; }
        mv "$unpack/boot/vmlinuz-$version" "$kernel"
        touch "$kernel" # the package's own date is older than the download's
        rm -rf "$unpack"
    fi
    printf '%s\n' "$kernel"
}

# ---- the programs and the initramfs ----

# build_programs OUT: the static workload programs, rebuilt when a source
# changed. workloads uses glibc (libc.a from libc6-dev); exit0 and
# storm_child use no C library at all.
build_programs() {
    local out="$1" flags=(-O2 -Wall -Wextra -Werror)
    local tiny=(-static -nostdlib -fno-stack-protector -fno-pie -no-pie -Wl,--build-id=none)
    command -v gcc >/dev/null || return 1
    if [ ! -x "$out/workloads" ] || [ "$HERE/workloads.c" -nt "$out/workloads" ]; then
        gcc "${flags[@]}" -static -o "$out/workloads" "$HERE/workloads.c" || return 1
    fi
    local program
    for program in exit0 storm_child; do
        if [ ! -x "$out/$program" ] || [ "$HERE/$program.c" -nt "$out/$program" ]; then
            gcc "${flags[@]}" "${tiny[@]}" -o "$out/$program" "$HERE/$program.c" || return 1
        fi
    done
}

# The cpio "newc" format (the kernel's Documentation/driver-api/early-userspace/
# buffer-format.rst): a 110-byte ASCII header of 13 hexadecimal fields, the
# name and its NUL padded to 4 bytes, the data padded to 4 bytes. Written
# here because Debian's gen_init_cpio is not packaged; owner root, time 0,
# so the same programs always give the same bytes.
newc_pad() { local n=$(( (4 - $1 % 4) % 4 )); [ "$n" -eq 0 ] || head -c "$n" /dev/zero; }
# newc_entry NAME MODE INODE [FILE | RDEV-MAJOR RDEV-MINOR]
newc_entry() {
    local name="$1" mode="$2" inode="$3" file="" size=0 major=0 minor=0
    if [ $# -eq 4 ]; then file="$4"; size=$(stat -c %s "$file"); fi
    if [ $# -eq 5 ]; then major="$4"; minor="$5"; fi
    local namesize=$(( ${#name} + 1 ))
    printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
        "$inode" "$mode" 0 0 1 0 "$size" 0 0 "$major" "$minor" "$namesize" 0
    printf '%s\0' "$name"
    newc_pad $(( 110 + namesize ))
    if [ -n "$file" ]; then cat "$file"; newc_pad "$size"; fi
}

# make_initramfs PROGRAMS OUT: /init (workloads), /exit0, /storm_child,
# the mount points, and /dev/console so that the kernel can give /init its
# standard streams before devtmpfs is mounted.
make_initramfs() {
    local programs="$1" out="$2"
    local dir=$((0040755)) executable=$((0100755)) char_device=$((0020600))
    {
        newc_entry dev "$dir" 1
        newc_entry dev/console "$char_device" 2 5 1
        newc_entry proc "$dir" 3
        newc_entry sys "$dir" 4
        newc_entry init "$executable" 5 "$programs/workloads"
        newc_entry exit0 "$executable" 6 "$programs/exit0"
        newc_entry storm_child "$executable" 7 "$programs/storm_child"
        newc_entry 'TRAILER!!!' 0 0
    } >"$out.tmp"
    mv "$out.tmp" "$out"
}

# ---- the run ----

BUILD="" MODE="" SMP="" ONLY="" TIMEOUT=900 NO_FETCH=false
while [ $# -gt 0 ]; do
    case "$1" in
        --build-dir) BUILD="${2:?--build-dir needs a folder}"; shift 2 ;;
        --mode) MODE="${2:?--mode needs icount, kvm or wall}"; shift 2 ;;
        --smp) SMP="${2:?--smp needs a number}"; shift 2 ;;
        --only) ONLY="${2:?--only needs a list}"; shift 2 ;;
        --timeout) TIMEOUT="${2:?--timeout needs seconds}"; shift 2 ;;
        --no-fetch) NO_FETCH=true; shift ;;
        --parse-log) parse_log "${2:?--parse-log needs a file}"; exit 0 ;;
        --build-programs)
            mkdir -p "${2:?--build-programs needs a folder}"
            build_programs "$2" || { say "cannot build the programs (gcc and libc6-dev's libc.a are needed)"; exit "$EXIT_FAILED"; }
            make_initramfs "$2" "$2/initramfs.cpio"
            exit 0 ;;
        -h|--help) usage ;;
        *) echo "linux-reference.sh: unknown argument '$1'" >&2; usage ;;
    esac
done
[ -n "$BUILD" ] && [ -n "$MODE" ] && [ -n "$SMP" ] || usage
case "$MODE" in icount|kvm|wall) ;; *) echo "linux-reference.sh: --mode wants icount, kvm or wall, not '$MODE'" >&2; exit "$EXIT_USAGE" ;; esac
[[ "$SMP" =~ ^[1-9][0-9]*$ ]] || { echo "linux-reference.sh: --smp wants a positive number, not '$SMP'" >&2; exit "$EXIT_USAGE"; }
[[ "$TIMEOUT" =~ ^[1-9][0-9]*$ ]] || { echo "linux-reference.sh: --timeout wants seconds, not '$TIMEOUT'" >&2; exit "$EXIT_USAGE"; }
[[ -z "$ONLY" || "$ONLY" =~ ^[a-z0-9_]+(,[a-z0-9_]+)*$ ]] || { echo "linux-reference.sh: --only wants names like null_syscall,page_fault" >&2; exit "$EXIT_USAGE"; }

# Not under DIR/study: ./herald study empties that folder on every run, and
# the package is meant to be fetched once.
CACHE="$BUILD/linux-reference"
mkdir -p "$CACHE/programs" "$CACHE/logs"

DEB="$(fetch_package "$CACHE")" || {
    [ "$NO_FETCH" = true ] && skip "no Debian kernel package in $CACHE (--no-fetch)"
    skip "no Debian kernel package: apt could not name or download $META_PACKAGE's image (offline?)"
}
KERNEL="$(extract_kernel "$DEB" "$CACHE")" || fail "cannot extract vmlinuz from $DEB"
say "kernel: $(dpkg-deb -f "$DEB" Package) $(dpkg-deb -f "$DEB" Version) (Debian), $KERNEL"
build_programs "$CACHE/programs" || skip "cannot build the static workload programs (gcc and libc6-dev's libc.a are needed)"
make_initramfs "$CACHE/programs" "$CACHE/initramfs.cpio"

# quiet: only the workloads' lines on the console. panic=-1: a kernel panic
# reboots at once, and -no-reboot turns that into QEMU's exit. nokaslr and
# norandmaps: the same addresses, page tables and hash buckets every run,
# for identical figures under icount (docs/study.md).
APPEND="console=ttyS0 quiet panic=-1 nokaslr norandmaps bench_mode=$MODE"
[ -n "$ONLY" ] && APPEND+=" bench_only=$ONLY"
MODE_ARGS=()
case "$MODE" in
    icount)
        Q_ACCEL=tcg
        # -seed: RDRAND and RDSEED from QEMU's seeded generator, and -rtc:
        # the same date at boot, then the virtual clock. Without them the
        # kernel's random numbers (slab freelist order, hash seeds, stack
        # canaries) differ per boot and so do a few instructions per figure.
        MODE_ARGS=(-icount shift=0,sleep=off -seed 1 -rtc base=2024-01-01T00:00:00,clock=vm)
        # Under QEMU 7.2's -icount, Linux cannot start its other CPUs at boot:
        # /init brings them online instead (workloads.c, bring_cpus_online).
        [ "$SMP" -gt 1 ] && APPEND+=" maxcpus=1"
        ;;
    wall) Q_ACCEL=tcg ;;
    kvm)
        herald_kvm_works || fail "--mode kvm needs a working /dev/kvm (real KVM, not PVM)"
        Q_ACCEL=kvm ;;
esac

LOG="$CACHE/logs/linux-$MODE-smp$SMP.log"
Q_BOOT=qboot Q_KERNEL="$KERNEL" Q_ARCHIVE="$CACHE/initramfs.cpio" Q_SMP="$SMP" Q_MEM="$MEMORY"
Q_SERIAL="file:$LOG" Q_APPEND="$APPEND"
herald_qemu_command
: >"$LOG"
say "booting: ${HERALD_QEMU_CMD[*]} ${MODE_ARGS[*]} -monitor none"
say "serial log: $LOG"
STARTED=$SECONDS
STATUS=0
timeout "$TIMEOUT" "${HERALD_QEMU_CMD[@]}" "${MODE_ARGS[@]}" -monitor none </dev/null >"$CACHE/logs/qemu-$MODE-smp$SMP.out" 2>&1 || STATUS=$?
bench_lines "$LOG"
say "QEMU ended with status $STATUS after $((SECONDS - STARTED)) s"
if ! bench_lines "$LOG" | grep -qx 'bench: done'; then
    [ "$STATUS" = 124 ] && fail "no 'bench: done' within $TIMEOUT s (log: $LOG)"
    fail "no 'bench: done' (QEMU status $STATUS; log: $LOG; last line: $(tr -d '\r' <"$LOG" | grep -v '^$' | tail -1))"
fi
bench_lines "$LOG" | contract_check || fail "malformed bench lines (log: $LOG)"
[ "$STATUS" = "$QEMU_EXIT_SUCCESS" ] || say "note: QEMU's status was $STATUS, not $QEMU_EXIT_SUCCESS (isa-debug-exit), after 'bench: done'"
exit 0

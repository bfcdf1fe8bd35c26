#!/usr/bin/env bash
# The disk in the system (docs/storage.md, "Tests"): ./herald run with a copy
# of the build's FAT image attached (--disk), the shell's disk commands, the
# FAT server's client fs_checks (user/programs/fs_checks.cpp), and the host's
# mtools and fsck.fat on the copy afterwards. Sessions:
#   read     every file of the image read in Herald, its CRC-32 compared with
#            the host's (gzip's trailer); `disk`, `ls`, `cat`; `run /disk/hello`
#            (a program loaded from the disk); a missing one is refused;
#            hostile_driver 2 is Denied raw sectors by virtio-blk (which
#            serves only fat), and fat goes on serving after it; fs_checks 6
#            run 8 times, each leaving 6 files open as it exits: each run
#            still opens its 6 (fat closes what ended clients left), and so
#            does the loader for /disk/hello after them
#   write    `write`, 1,000 files written (fs_checks 2), `rm`, the per-client
#            limit of open files, shutdown; fsck.fat -n finds no error, mtools
#            reads what Herald wrote
#   again    the next boot on the same copy: the note and the 1,000 files read
#            back byte for byte (fs_checks 3), the deleted file still gone
#   full     a nearly full copy (the host adds a big file): writing until the
#            disk is full gives "no space left on the disk", earlier files are
#            intact, the space comes back on delete; fsck.fat -n clean
#   no-fat   a copy whose boot sector lost its signature: one clear line at
#            boot, `ls` says there is no file system, programs still run
#   chain    a copy whose readme.txt's first FAT entry is zeroed (free): `cat`
#            says the file system is corrupt, the server logs it, goes on;
#            `run /disk/` of a missing file and of a text file are refused
#            (the loader's ELF checks), a program on the disk still runs
#   no-disk  no disk at all: one line, `ls` says so, the rest works
# Runs inside a finished build (HERALD_NO_BUILD=1: nothing is rebuilt).
#
#   disk-session.sh --build DIR [--timeout S] [--files N]
# --timeout: per boot (default 600 s: the 1,000 files take about 45 s alone
# under TCG, and five times that on a machine loaded with other builds).
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
herald="$here/../../herald"
build="" timeout=600 files=1000
while [ $# -gt 0 ]; do
    case "$1" in
        --build) build="$2"; shift 2 ;;
        --timeout) timeout="$2"; shift 2 ;;
        --files) files="$2"; shift 2 ;;
        *) echo "disk-session.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
[ -n "$build" ] || { echo "disk-session.sh: --build is needed" >&2; exit 2; }
export HERALD_BUILD_DIR="$build" HERALD_NO_BUILD=1 MTOOLS_SKIP_CHECK=1
logs="$build/test-logs"
mkdir -p "$logs"
accel="${HERALD_TEST_ACCEL:-tcg}"
pristine="$build/disk/herald-disk.img"
contents="$pristine.contents"
[ -r "$pristine" ] && [ -r "$contents" ] || { echo "disk-session.sh: no disk image in $build/disk" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

check_name=disk-session
. "$here/checks.sh"

# session NAME STATUS DISK COMMANDS...: boots with DISK (none: no disk), runs
# the commands (one argument each) and checks the exit status; output in $out.
session() {
    local name="$1" want="$2" disk="$3" status start
    shift 3
    out="$logs/disk-$name.log"
    printf '%s\n' "$@" >"$work/input"
    local disk_args=(--disk "$disk")
    [ "$disk" = none ] && disk_args=(--no-disk)
    start=$SECONDS
    timeout "$timeout" "$herald" run --accel "$accel" "${disk_args[@]}" <"$work/input" >"$out" 2>&1
    status=$?
    echo "disk-session: $name: $((SECONDS - start)) s, status $status"
    [ "$status" = 124 ] && fail "$name: did not end within ${timeout} s"
    [ "$status" = "$want" ] || fail "$name: exit status $status; expected $want (see $out)"
}
fsck_clean() {
    local name="$1" disk="$2"
    fsck.fat -n "$disk" >"$logs/disk-$name.fsck" 2>&1 || fail "$name: fsck.fat -n finds errors (see $logs/disk-$name.fsck)"
}
crc32() { gzip -c "$1" | tail -c8 | od -An -tx4 -N4 | tr -d ' \n'; }
copy() { cp "$pristine" "$work/$1.img" && echo "$work/$1.img"; }

# --- read: every file, by checksum ---
disk="$(copy read)"
leaks=8 # more runs than fat's table of 32 open files holds at 6 each
leave=()
for _ in $(seq "$leaks"); do leave+=("run fs_checks 6"); done
session read 0 "$disk" "disk" "ls" "run hostile_driver 2" "cat readme.txt" "run fs_checks 1" "${leave[@]}" \
    "run /disk/hello" "run /disk/exit_at_once"
expect read "^hostile_driver \(task [0-9]+\) exited with status 0$" "^fat: FAT32 volume, [0-9]+ MiB, [0-9]+ MiB free, 512-byte clusters: serving \"fat\"$" \
    "^disk: FAT32, [0-9]+ MiB \([0-9]+ clusters of 512 bytes\), [0-9]+ MiB free" \
    "^fs_checks \(task [0-9]+\) exited with status 0$" "^hello from ring 3" \
    "^/disk/hello \(task [0-9]+\) exited with status 0$" "^/disk/exit_at_once \(task [0-9]+\) exited with status 0$"
listed=0
while read -r name path; do
    listed=$((listed + 1))
    want="fs_checks: sum /$name $(stat -c %s "$path") $(crc32 "$path")"
    grep -qxF "$want" "$out" || fail "read: no line '$want' (the file as Herald read it differs; see $out)"
    grep -Eq "^ +$(stat -c %s "$path")  $name\$" "$out" || fail "read: ls does not list $name with its size"
done <"$contents"
summed=$(grep -c "^fs_checks: sum " "$out")
[ "$summed" = "$listed" ] || fail "read: $summed files summed in Herald, $listed on the image"
first_line="$(head -1 "$here/../../servers/fat/disk/readme.txt")"
grep -qxF "$first_line" "$out" || fail "read: cat readme.txt did not print its first line"
left=$(grep -c "^fs_checks: left 6 files open$" "$out")
[ "$left" = "$leaks" ] || fail "read: $left of $leaks runs of fs_checks 6 opened their 6 files (see $out)"
fsck_clean read "$disk"

# --- write, then again: what is written and synced survives the reboot ---
disk="$(copy write)"
session write 0 "$disk" "write notes.txt written by Herald, read after a reboot" "run fs_checks $((2 + (files << 8)))" \
    "rm fault_pf" "run fs_checks 5" "ls"
expect write "^fs_checks: wrote $files files under /MANY, synced; 0 failed$" \
    "^fs_checks: opened 6 files, then: this program has too many files open$"
reject write "^ +[0-9]+  fault_pf$" "FAILED"
fsck_clean write "$disk"
[ "$(mtype -i "$disk" ::notes.txt 2>/dev/null)" = "written by Herald, read after a reboot" ] \
    || fail "write: mtype does not read notes.txt back"
mdir -i "$disk" ::fault_pf >/dev/null 2>&1 && fail "write: fault_pf is still on the disk for mtools"
on_disk=$(mdir -/ -b -i "$disk" ::MANY 2>/dev/null | grep -c '\.TXT$')
[ "$on_disk" = "$files" ] || fail "write: mtools finds $on_disk files under MANY, not $files"

session again 0 "$disk" "cat notes.txt" "run fs_checks $((3 + (files << 8)))" "ls"
expect again "^written by Herald, read after a reboot$" "^fs_checks: read back $files files under /MANY: 0 wrong$" \
    "^ +-  MANY/$"
reject again "^ +[0-9]+  fault_pf$" "FAILED"
fsck_clean again "$disk"

# --- full: writing until the disk is full ---
disk="$(copy full)"
free_bytes=$(minfo -i "$disk" :: >/dev/null 2>&1; mdir -i "$disk" :: | awk '/bytes free/ { gsub(/ /, "", $0); sub(/bytesfree.*/, "", $0); print }')
free_bytes="${free_bytes//[^0-9]/}"
[ -n "$free_bytes" ] || fail "full: cannot read the free space of the image"
head -c $(( ${free_bytes:-0} - 256 * 1024 )) /dev/zero >"$work/big.bin"
mcopy -i "$disk" "$work/big.bin" ::BIG.BIN || fail "full: mcopy of the big file failed"
session full 0 "$disk" "disk" "run fs_checks 4" "write after.txt the disk has room again"
expect full "^fs_checks: disk full after [0-9]+ bytes: no space left on the disk$" \
    "^fs_checks: free clusters before [0-9]+, after deleting FILL.BIN [0-9]+$" \
    "^fs_checks \(task [0-9]+\) exited with status 0$"
reject full "FAILED"
grep -qxF "fs_checks: sum /readme.txt $(stat -c %s "$here/../../servers/fat/disk/readme.txt") $(crc32 "$here/../../servers/fat/disk/readme.txt")" "$out" \
    || fail "full: readme.txt changed when the disk filled up"
fsck_clean full "$disk"

# --- no-fat: a boot sector without its signature ---
disk="$(copy no-fat)"
printf '\0\0' | dd of="$disk" bs=1 seek=510 conv=notrunc status=none
session no-fat 1 "$disk" "ls" "run hello"
expect no-fat "^fat: cannot mount the disk \([0-9]+ sectors\): not a FAT file system" \
    "^ls: /: no file system mounted" "^hello \(task [0-9]+\) exited with status 0$"

# --- chain: readme.txt's first cluster marked free in the FAT ---
disk="$(copy chain)"
cluster=$(mshowfat -i "$disk" ::readme.txt | sed -E 's/.*<([0-9]+).*/\1/')
reserved=$(od -An -tu2 -j14 -N2 "$disk" | tr -d ' ')
if [[ "$cluster" =~ ^[0-9]+$ ]] && [[ "$reserved" =~ ^[0-9]+$ ]]; then
    printf '\0\0\0\0' | dd of="$disk" bs=1 seek=$((reserved * 512 + cluster * 4)) conv=notrunc status=none
else
    fail "chain: cannot find readme.txt's cluster ($cluster) or the reserved sectors ($reserved)"
fi
session chain 1 "$disk" "cat readme.txt" "ls" "run hello" "run /disk/nothere" "write junk.bin not a program" \
    "run /disk/junk.bin" "run /disk/hello"
expect chain "^cat: /readme.txt: the file system is corrupt$" "^fat: the file system is corrupt \(request 1 of task [0-9]+\)" \
    "^ +[0-9]+  hello$" "^hello \(task [0-9]+\) exited with status 0$" "^run: cannot start /disk/nothere: not found$" \
    "^loader: /disk/junk.bin is not a program Herald can run: " "^run: cannot start /disk/junk.bin: not a program Herald can run" \
    "^/disk/hello \(task [0-9]+\) exited with status 0$"

# --- no-disk ---
session no-disk 1 none "ls" "run hello"
expect no-disk "^virtio-blk: no disk attached \(no virtio-blk device on the PCI bus\): no files$" \
    "^ls: /: no file system mounted" "^hello \(task [0-9]+\) exited with status 0$"
reject no-disk "^fat: "

[ $failures -eq 0 ] || exit 1
echo "PASS disk-session (7 sessions, $files files, $accel)"

#!/usr/bin/env bash
# Regenerates the firmware-table fixtures of the host tests
# (tests/host/fixtures/<firmware>-smp<N>/): boots the test image with
# test=tool_dump_firmware_tables under qboot and SeaBIOS at several -smp
# values and writes each ACPI table and the MP table as a .bin file, plus
# tables.txt ("NAME PHYSICAL-ADDRESS LENGTH" per line), since root tables
# hold absolute addresses. Run after `./herald build`; commit the result.
set -euo pipefail
command -v xxd >/dev/null || { echo "dump-firmware-tables.sh needs xxd (Debian package xxd)" >&2; exit 1; }
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${HERALD_BUILD_DIR:-$root/build}"
. "$root/tools/qemu.sh"

for firmware in qboot seabios; do
    for smp in 1 4 16 64; do
        out="$root/tests/host/fixtures/$firmware-smp$smp"
        rm -rf "$out"; mkdir -p "$out"
        Q_BOOT=$firmware Q_KERNEL="$build/tests/insystem/herald-test32.elf" Q_ARCHIVE="$build/herald.archive"
        Q_SMP=$smp Q_MEM=256M Q_ACCEL=tcg Q_SERIAL=stdio Q_APPEND="test=tool_dump_firmware_tables"
        herald_qemu_command
        timeout 120 "${HERALD_QEMU_CMD[@]}" -monitor none </dev/null 2>/dev/null | tr -d '\r' |
            awk '$1 == "fwdump:" && NF == 5 { print $2, $3, $4, $5 }' |
            while read -r name address length hex; do
                echo "$name $address $length" >>"$out/tables.txt"
                echo "$hex" | xxd -r -p >"$out/$name.bin"
            done || true
        echo "$out: $(wc -l <"$out/tables.txt") tables"
    done
done

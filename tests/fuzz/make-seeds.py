#!/usr/bin/env python3
"""Writes the seed corpus of the host fuzz targets (tests/fuzz/corpus/<target>/).

A developer tool, run by hand when a target's input format changes (the build
and the tests never run it; the corpus it wrote is checked in):

    python3 tests/fuzz/make-seeds.py [BUILD_DIR]

Seeds are real inputs where the project has them (the firmware tables in
tests/host/fixtures/ at the addresses the firmware put them, init.manifest,
a user program from BUILD_DIR stripped with llvm-objcopy) and structures
laid out as QEMU, GRUB and the firmware lay them out otherwise. The libipc
and memory_service targets read FuzzedDataProvider streams, which have no
natural layout: their seeds are a few inputs kept from a short fuzzing run
(`fuzz_NAME -merge=1`), not written here. Files the fuzzers found that once
failed (crash-*) stay in the corpus as regression inputs; this script leaves
them alone.
"""
import os
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
FIXTURES = os.path.join(ROOT, "tests", "host", "fixtures")
USER_CODE_BASE = 0x0800_0000


def write(target, name, data):
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def fixture(name):
    """The tables of one fixture: {signature: (address, bytes)}."""
    tables = {}
    directory = os.path.join(FIXTURES, name)
    with open(os.path.join(directory, "tables.txt")) as listing:
        for line in listing:
            fields = line.split()
            if len(fields) == 3:
                with open(os.path.join(directory, fields[0] + ".bin"), "rb") as f:
                    tables[fields[0]] = (int(fields[1], 16), f.read())
    return tables


def checksum_fixed(data, at, length=None):
    data = bytearray(data)
    length = len(data) if length is None else length
    data[at] = 0
    data[at] = (-sum(data[:length])) & 0xFF
    return bytes(data)


def acpi_table(signature, body, revision=1):
    length = 36 + len(body)
    header = signature + struct.pack("<IBB", length, revision, 0) + b"BOCHS " + b"BXPC    " + struct.pack("<I", 1) \
        + b"BXPC" + struct.pack("<I", 1)
    return checksum_fixed(header + body, 9)


def region(address, data):
    return struct.pack("<IH", address, len(data)) + data


def rsdp(revision, rsdt, xsdt=0):
    data = b"RSD PTR " + b"\0" + b"BOCHS " + bytes([revision]) + struct.pack("<I", rsdt)
    if revision >= 2:
        data += struct.pack("<IQ", 36, xsdt) + b"\0\0\0\0"
    data = checksum_fixed(data, 8, 20)
    if revision >= 2:
        data = checksum_fixed(data, 32)
    return data


# A DSDT with just \_S5 = Package { 5, 5, 0, 0 }, as SeaBIOS and qboot write it.
# NameOp "_S5_" PackageOp PkgLength(8) NumElements(4) BytePrefix 5, BytePrefix 5, Zero, Zero
S5_AML = bytes([0x08]) + b"_S5_" + bytes([0x12, 0x08, 0x04, 0x0A, 0x05, 0x0A, 0x05, 0x00, 0x00])
DSDT = acpi_table(b"DSDT", S5_AML)


def qemu_memory_map():
    return [(0x0, 0x9FC00, 1), (0x9FC00, 0x400, 2), (0xF0000, 0x10000, 2), (0x100000, 0x1FEE0000, 1),
            (0x1FFE0000, 0x20000, 2), (0xFFFC0000, 0x40000, 2)]


def multiboot1():
    """The info structure at 0, as QEMU's -kernel loader fills it in."""
    info = bytearray(0x200)
    flags = (1 << 0) | (1 << 2) | (1 << 3) | (1 << 6) | (1 << 9)
    memory_map = b"".join(struct.pack("<IQQI", 20, base, length, kind) for base, length, kind in qemu_memory_map())
    struct.pack_into("<IIII", info, 0, flags, 639, 523136, 0)
    struct.pack_into("<III", info, 16, 0x100, 1, 0x80)
    struct.pack_into("<II", info, 44, len(memory_map), 0x180)
    struct.pack_into("<I", info, 64, 0x160)
    struct.pack_into("<IIII", info, 0x80, 0x16A000, 0x6AA000, 0x140, 0)
    cmdline = b"console=ttyS0 ipc-round-trips=10000\0"
    info[0x100:0x100 + len(cmdline)] = cmdline
    info[0x140:0x140 + 15] = b"herald.archive\0"
    info[0x160:0x165] = b"qemu\0"
    write("multiboot1", "qemu-direct-boot", bytes(info[:0x180]) + memory_map)
    # Only mem_lower/mem_upper: the parser makes a map from them.
    basic = bytearray(68)
    struct.pack_into("<III", basic, 0, 1, 639, 130048)
    write("multiboot1", "basic-memory-only", bytes(basic))


def multiboot2_tag(kind, payload):
    data = struct.pack("<II", kind, 8 + len(payload)) + payload
    return data + b"\0" * (-len(data) % 8)


def multiboot2():
    """A boot information block as GRUB 2 passes it (SeaBIOS and OVMF)."""
    memory_map = struct.pack("<II", 24, 0) + b"".join(
        struct.pack("<QQII", base, length, kind, 0) for base, length, kind in qemu_memory_map())
    for name, acpi in (("grub-seabios", multiboot2_tag(14, rsdp(0, 0x0FFE23F8))),
                       ("grub-ovmf", multiboot2_tag(14, rsdp(0, 0x1F77E014)) + multiboot2_tag(15, rsdp(2, 0x1F77E014, 0x1F77E0E8)))):
        tags = (multiboot2_tag(1, b"console=ttyS0\0") + multiboot2_tag(2, b"GRUB 2.06-13+deb12u1\0")
                + multiboot2_tag(3, struct.pack("<II", 0x16A000, 0x6AA000) + b"/boot/herald.archive\0")
                + multiboot2_tag(4, struct.pack("<II", 639, 523136)) + multiboot2_tag(6, memory_map)
                + multiboot2_tag(9, struct.pack("<HHHH", 0, 64, 8, 0)) + acpi + multiboot2_tag(0, b""))
        write("multiboot2", name, struct.pack("<II", 8 + len(tags), 0) + tags)


def rsdps():
    write("rsdp", "acpi1-qboot", rsdp(0, 0xD23F8))
    write("rsdp", "acpi2-ovmf", rsdp(2, 0x1F77E014, 0x1F77E0E8))


def acpi_tables():
    for name in ("qboot-smp4", "seabios-smp1"):
        tables = fixture(name)
        facp_address, facp = tables["FACP"]
        dsdt_address = struct.unpack_from("<I", facp, 40)[0]
        body = b"".join(region(address, data) for sig, (address, data) in sorted(tables.items())
                        if sig not in ("MPFP", "MPCT"))
        write("acpi_tables", name + "-rsdt", struct.pack("<BIQ", 0, tables["RSDT"][0], 0) + body
              + region(dsdt_address, DSDT))
    # ACPI 2.0: an XSDT with 64-bit entries, and an RSDT that must be ignored.
    tables = fixture("qboot-smp1")
    xsdt_address = 0xD2500
    entries = [address for sig, (address, data) in sorted(tables.items()) if sig not in ("RSDT", "MPFP", "MPCT")]
    xsdt = acpi_table(b"XSDT", b"".join(struct.pack("<Q", address) for address in entries))
    body = b"".join(region(address, data) for sig, (address, data) in sorted(tables.items())
                    if sig not in ("MPFP", "MPCT"))
    dsdt_address = struct.unpack_from("<I", tables["FACP"][1], 40)[0]
    write("acpi_tables", "qboot-smp1-xsdt", struct.pack("<BIQ", 2, tables["RSDT"][0], xsdt_address) + body
          + region(xsdt_address, xsdt) + region(dsdt_address, DSDT))


def madts():
    seen = set()
    for name in sorted(os.listdir(FIXTURES)):
        data = fixture(name)["APIC"][1]
        if data not in seen:
            seen.add(data)
            write("madt", name, data)


def pci():
    # QEMU q35's MCFG (qboot passes it on); the PCI walk reads the same bytes.
    write("pci", "qemu-q35-mcfg", fixture("qboot-smp1")["MCFG"][1])


def mp_tables():
    seen = set()
    for name in sorted(os.listdir(FIXTURES)):
        tables = fixture(name)
        pointer, table = tables["MPFP"], tables["MPCT"]
        if table[1] not in seen and len(table[1]) <= 600:
            seen.add(table[1])
            write("mp_table", name, region(*pointer) + region(*table))


def sleep_states():
    write("sleep_state", "facp-seabios", fixture("seabios-smp1")["FACP"][1])
    write("sleep_state", "facp-qboot", fixture("qboot-smp1")["FACP"][1])
    write("sleep_state", "dsdt-s5", DSDT)


def tiny_elf():
    """The smallest program parse_elf() accepts: one R+X segment, `hlt`."""
    code = b"\xf4" * 16
    header = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8 + struct.pack(
        "<HHIQQQIHHHHHH", 2, 62, 1, USER_CODE_BASE + 0x78, 64, 0, 0, 64, 56, 1, 64, 0, 0)
    phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, USER_CODE_BASE, USER_CODE_BASE, 0x78 + len(code), 0x78 + len(code), 0x1000)
    return header + phdr + code


def elves(build):
    write("elf", "tiny", tiny_elf())
    program = os.path.join(build, "user", "exit_at_once.elf")
    if not os.path.exists(program):
        print("make-seeds: no %s: build first for the real program seed" % program, file=sys.stderr)
        return
    with tempfile.TemporaryDirectory() as scratch:
        stripped = os.path.join(scratch, "exit_at_once")
        subprocess.run(["llvm-objcopy", "--strip-all", program, stripped], check=True)
        with open(stripped, "rb") as f:
            write("elf", "exit_at_once-stripped", f.read())


def fnv1a32(data):
    value = 2166136261
    for byte in data:
        value = ((value ^ byte) * 16777619) & 0xFFFFFFFF
    return value


def archive(entries):
    """A boot archive as tools/mkarchive writes it (docs/boot-archive.md)."""
    table_end = 32 + 56 * len(entries)
    table, data, offset = b"", b"", (table_end + 4095) // 4096 * 4096
    for name, kind, contents in entries:
        table += name.encode().ljust(32, b"\0") + struct.pack("<QQII", offset, len(contents), kind, fnv1a32(contents))
        data += contents.ljust((len(contents) + 4095) // 4096 * 4096 if contents else 0, b"\0")
        offset += (len(contents) + 4095) // 4096 * 4096
    size = (table_end + 4095) // 4096 * 4096 + len(data)
    header = b"HERALDAR" + struct.pack("<IIQII", 1, len(entries), size, fnv1a32(table), 0)
    return (header + table).ljust((table_end + 4095) // 4096 * 4096, b"\0") + data


def archives():
    with open(os.path.join(ROOT, "user", "init", "init.manifest"), "rb") as f:
        manifest = f.read()
    write("archive", "program-manifest-empty", archive([("hello", 1, tiny_elf()), ("init.manifest", 2, manifest),
                                                         ("empty", 2, b"")]))
    write("archive", "one-file", archive([("init.manifest", 2, b"shell 0 restart\n")]))


def manifests():
    with open(os.path.join(ROOT, "user", "init", "init.manifest"), "rb") as f:
        write("manifest", "init.manifest", f.read())
    write("manifest", "example", b"# name        argument   on-exit    [wait]\n"
          b"echo_server   0          restart\nsetup         0x10       ignore     wait\nshell         0          restart\n")
    write("manifest", "crlf-and-errors", b"shell 0 restart\r\nbad!name 1 ignore\r\nx 99999999999999999999 halt\r\n"
          b"y 0x 0 ignore\r\nz 1 sometimes\r\n\tcounter\t18446744073709551615\thalt\twait # done\r\n")


def command_lines():
    write("command_line", "acpi-off", b"acpi\0acpi=off")
    write("command_line", "test-image", b"ipc-round-trips\0console=ttyS0 ipc-round-trips=100000 acpi=on selftest")
    write("command_line", "bare-key", b"acpi=on bench=memory")
    write("command_line", "spaces", b"bench\0  bench   bench=memory  ")


def shell_lines():
    for name, line in (("run", b"run hello 0x10"), ("start", b"start\techo_server 7"), ("kill", b"kill 12"),
                       ("help", b"help"), ("unknown", b"frobnicate now"), ("long-name", b"run " + b"a" * 40),
                       ("bad-number", b"kill 18446744073709551616")):
        write("shell_command", name, line)
    # The line editor's input: the first byte picks the echo buffer (>= 0x80: the shell's own size).
    write("shell_line_editor", "typing", b"\x80ps\rrun hello\r\nkill 7\n")
    write("shell_line_editor", "editing", b"\x80helo\x08\x08lp\x7f\x7fp\r\x15mem\x03cpus\x1b[A\x1b[1;5C\x1bOB\r")
    write("shell_line_editor", "small-echo", b"\x03start spin\x15run hello\r")
    write("shell_line_editor", "long-line", b"\x80" + b"x" * 140 + b"\rbench\r")


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
    multiboot1()
    multiboot2()
    rsdps()
    acpi_tables()
    madts()
    pci()
    mp_tables()
    sleep_states()
    elves(build)
    archives()
    manifests()
    command_lines()
    shell_lines()


if __name__ == "__main__":
    main()

# Bash library: how Herald is booted in QEMU. Sourced by ./herald and by the
# in-system test harness (tests/qemu/run-test.sh) so that both use the same
# command line. Documented in docs/boot.md and docs/testing.md.

HERALD_QBOOT=/usr/share/qemu/qboot.rom
HERALD_OVMF=/usr/share/ovmf/OVMF.fd
# Where KVM is looked for; tests point these at fakes (tests/system/herald-cli.sh).
HERALD_KVM_DEVICE="${HERALD_KVM_DEVICE:-/dev/kvm}"
HERALD_SYS_MODULE="${HERALD_SYS_MODULE:-/sys/module}"

# KVM backed by PVM (the kvm_pvm module: KVM without hardware VMX, with the
# guest's ring 0 emulated) cannot run Herald: its instruction emulator has no
# XSAVE or LDMXCSR, and the first one stops the VM with "KVM internal error:
# emulation failure" (docs/testing.md, "KVM on this machine").
herald_kvm_is_pvm() {
    [ -d "$HERALD_SYS_MODULE/kvm_pvm" ] && [ ! -d "$HERALD_SYS_MODULE/kvm_intel" ] && [ ! -d "$HERALD_SYS_MODULE/kvm_amd" ]
}

# Why KVM cannot be used here, in a few words, or nothing (and status 0)
# when it can: /dev/kvm is missing, is PVM, cannot be opened read-write, or
# QEMU fails to create a VM with it (nested setups sometimes fail only there).
# The checks go in that order, so the reason named is the first that holds.
herald_kvm_problem() {
    if [ ! -e "$HERALD_KVM_DEVICE" ]; then
        echo "no /dev/kvm"
    elif herald_kvm_is_pvm; then
        echo "/dev/kvm here is PVM (kvm_pvm), which cannot run Herald"
    elif ! ( exec 3<>"$HERALD_KVM_DEVICE" ) 2>/dev/null; then
        echo "/dev/kvm cannot be opened read-write by this user (the kvm group?)"
    elif ! echo quit | timeout 10 qemu-system-x86_64 -accel kvm -machine none -nodefaults -display none \
            -monitor stdio >/dev/null 2>&1; then
        echo "QEMU cannot create a KVM virtual machine here"
    else
        return 0
    fi
    return 1
}

# True when KVM can actually be used.
herald_kvm_works() {
    herald_kvm_problem >/dev/null
}

# herald_resolve_accel auto|kvm|tcg -> prints kvm or tcg
herald_resolve_accel() {
    local problem
    case "$1" in
        tcg) echo tcg ;;
        kvm)
            if problem="$(herald_kvm_problem)"; then echo kvm
            else echo "herald: KVM was asked for, but $problem" >&2; return 1
            fi ;;
        auto|"") if herald_kvm_works; then echo kvm; else echo tcg; fi ;;
        *) echo "herald: unknown accelerator '$1' (use kvm or tcg)" >&2; return 1 ;;
    esac
}

# Measurement modes (docs/benchmarks.md, "Modes"): what the guest's clock
# counts, and so the unit of every benchmark cost.
#   icount  QEMU counts instructions: single-threaded TCG with
#           -icount shift=0,sleep=off; the TSC ticks once per instruction
#           (of all CPUs together, one CPU at a time), idle time jumps to the
#           next timer; unit=instructions, the same on any host
#   kvm     real hardware virtualization; unit=cycles
#   wall    TCG as fast as the host can; unit=tsc_ticks, emulator latency only
# herald_resolve_mode auto|icount|kvm|wall -> prints the mode (auto: kvm when
# real KVM works, else icount)
herald_resolve_mode() {
    case "$1" in
        icount|wall) echo "$1" ;;
        kvm) herald_resolve_accel kvm >/dev/null && echo kvm ;;
        auto|"") if herald_kvm_works; then echo kvm; else echo icount; fi ;;
        *) echo "herald: unknown mode '$1' (use icount, kvm or wall)" >&2; return 1 ;;
    esac
}

# herald_qemu_command sets the array HERALD_QEMU_CMD from these variables:
#   Q_BOOT    qboot (QEMU direct boot, Multiboot v1) | iso (GRUB, SeaBIOS) | uefi (GRUB, OVMF)
#             | seabios (QEMU direct boot under SeaBIOS: slower, but it has an MP table)
#   Q_KERNEL  the 32-bit ELF image (qboot path)
#   Q_ISO     the GRUB ISO (iso and uefi paths)
#   Q_ARCHIVE the boot archive (qboot path; the ISO carries its own)
#   Q_SMP Q_MEM Q_ACCEL Q_APPEND
#   Q_MODE    (optional) icount | kvm | wall: a measurement mode, which then
#             decides the accelerator instead of Q_ACCEL (herald_resolve_mode)
#   Q_SERIAL  QEMU -serial argument (mon:stdio for people, file:LOG for tests)
herald_qemu_command() {
    HERALD_QEMU_CMD=(qemu-system-x86_64 -machine q35 -smp "$Q_SMP" -m "$Q_MEM"
        -display none -no-reboot -serial "$Q_SERIAL"
        -device isa-debug-exit,iobase=0xf4,iosize=0x04)
    case "${Q_MODE:-}" in
        icount) HERALD_QEMU_CMD+=(-accel tcg,thread=single -cpu max -icount shift=0,sleep=off) ;;
        kvm) HERALD_QEMU_CMD+=(-accel kvm -cpu host) ;;
        wall) HERALD_QEMU_CMD+=(-accel tcg -cpu max) ;;
        "")
            if [ "$Q_ACCEL" = kvm ]; then
                HERALD_QEMU_CMD+=(-accel kvm -cpu host)
            else
                HERALD_QEMU_CMD+=(-accel tcg -cpu max)
            fi ;;
        *) echo "herald: unknown mode '$Q_MODE' (use icount, kvm or wall)" >&2; return 1 ;;
    esac
    case "$Q_BOOT" in
        qboot)
            HERALD_QEMU_CMD+=(-bios "$HERALD_QBOOT" -kernel "$Q_KERNEL" -initrd "$Q_ARCHIVE")
            [ -n "$Q_APPEND" ] && HERALD_QEMU_CMD+=(-append "$Q_APPEND")
            ;;
        seabios)
            HERALD_QEMU_CMD+=(-kernel "$Q_KERNEL" -initrd "$Q_ARCHIVE")
            [ -n "$Q_APPEND" ] && HERALD_QEMU_CMD+=(-append "$Q_APPEND")
            ;;
        iso)
            HERALD_QEMU_CMD+=(-cdrom "$Q_ISO" -boot d)
            ;;
        uefi)
            HERALD_QEMU_CMD+=(-bios "$HERALD_OVMF" -cdrom "$Q_ISO" -boot d)
            ;;
        *) echo "herald: unknown boot path '$Q_BOOT'" >&2; return 1 ;;
    esac
    if [ "$Q_BOOT" != qboot ] && [ "$Q_BOOT" != seabios ] && [ -n "$Q_APPEND" ]; then
        echo "herald: note: a command line cannot be passed through the ISO (boot/grub.cfg fixes it)" >&2
    fi
    return 0
}

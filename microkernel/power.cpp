#include "power.hpp"

#include "acpi/acpi_tables.hpp"
#include "acpi/sleep_state.hpp"
#include "arch/x86_64/cpu.hpp"
#include "arch/x86_64/qemu_exit.hpp"
#include "arch/x86_64/tsc.hpp"
#include "kernel.hpp"
#include "log.hpp"
#include "mm/physical_access.hpp"

namespace herald {

namespace {

// How long to wait for the power to go before trying something else.
constexpr u64 kPowerOffWaitMs = 500;

ErrorOr<SoftOff> find_soft_off()
{
    if (!boot_info().acpi)
        return Error::NotFound;
    KernelPhysicalReader memory;
    AcpiTable fadt = HERALD_TRY(find_table(memory, *boot_info().acpi, "FACP"));
    SoftOff soft_off = HERALD_TRY(parse_fadt_for_soft_off(fadt.bytes));
    auto header = memory.read(PhysicalAddress(soft_off.dsdt), kAcpiTableHeaderSize);
    if (!header)
        return Error::OutOfRange;
    auto length = header->read<u32>(4);
    if (!length || *length > kAcpiMaxTableLength)
        return Error::BadLength;
    auto table = memory.read(PhysicalAddress(soft_off.dsdt), *length);
    if (!table)
        return Error::OutOfRange;
    ByteReader dsdt = HERALD_TRY(validate_acpi_table(*table, "DSDT"));
    HERALD_TRY(find_soft_off_sleep_types(dsdt, soft_off));
    return soft_off;
}

void wait_ms(u64 milliseconds)
{
    u64 ticks = tsc::ticks_per_ms().value() * milliseconds;
    for (u64 start = x86::rdtsc(); x86::rdtsc() - start < ticks;)
        x86::pause();
}

} // namespace

void power_off()
{
    kernel_log_detach(); // the console will not get to the last lines
    klog("herald: powering off");
    auto soft_off = find_soft_off();
    if (!soft_off.is_error()) {
        const SoftOff& s = soft_off.value();
        x86::outw(s.pm1a_control, static_cast<u16>(s.sleep_type_a << kSleepTypeShift | kSleepEnable));
        if (s.pm1b_control)
            x86::outw(s.pm1b_control, static_cast<u16>(s.sleep_type_b << kSleepTypeShift | kSleepEnable));
        wait_ms(kPowerOffWaitMs);
        klog("herald: ACPI S5 did not power off");
    } else {
        klog("herald: no ACPI S5 ({})", error_name(soft_off.error()));
    }
    x86::outb(x86::kQemuDebugExitPort, static_cast<u8>(x86::QemuExitCode::Success)); // QEMU's isa-debug-exit
    klog("herald: cannot power off: halted");
    x86::halt_forever();
}

} // namespace herald

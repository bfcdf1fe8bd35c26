#include "lapic.hpp"

#include "../../lib/assert.hpp"
#include "../../mm/layout.hpp"
#include "cpu.hpp"
#include "paging.hpp"
#include "tsc.hpp"
#include "vectors.hpp"

namespace herald::x86::lapic {

namespace {

// Register offsets in the xAPIC page (SDM Vol. 3A Table 11-1); in x2APIC
// mode register `offset` is MSR 0x800 + offset / 16 (Table 11-6).
enum Register : u32 {
    Id = 0x20,
    EndOfInterrupt = 0xB0,
    SpuriousVector = 0xF0,
    ErrorStatus = 0x280,
    InterruptCommandLow = 0x300,
    InterruptCommandHigh = 0x310,
    LvtTimer = 0x320,
    LvtLint0 = 0x350,
    LvtLint1 = 0x360,
    LvtError = 0x370,
    TimerInitialCount = 0x380,
    TimerCurrentCount = 0x390,
    TimerDivide = 0x3E0,
};

constexpr u32 kX2apicMsrBase = 0x800;
constexpr u64 kApicBaseEnable = 1ull << 11;
constexpr u64 kApicBaseX2apic = 1ull << 10;
constexpr u32 kSoftwareEnable = 1u << 8;
constexpr u32 kLvtMasked = 1u << 16;
constexpr u32 kTimerPeriodic = 1u << 17;
constexpr u32 kTimerDivideBy16 = 0b0011;

// Interrupt command register fields (SDM Vol. 3A §11.6.1).
constexpr u32 kDeliveryInit = 0b101 << 8;
constexpr u32 kDeliveryStartup = 0b110 << 8;
constexpr u32 kLevelAssert = 1u << 14;
constexpr u32 kDeliveryPending = 1u << 12; // xAPIC only
constexpr int kDeliverySpinLimit = 1'000'000;

bool g_x2apic;
void send_command_with_interrupts_off(u32 apic_id, u32 command);
volatile u32* g_xapic;
u64 g_timer_ticks_per_ms;

u32 read(Register reg)
{
    if (g_x2apic)
        return static_cast<u32>(rdmsr(kX2apicMsrBase + reg / 16));
    return g_xapic[reg / 4];
}

void write(Register reg, u32 value)
{
    if (g_x2apic)
        wrmsr(kX2apicMsrBase + reg / 16, value);
    else
        g_xapic[reg / 4] = value;
}

void send_command(u32 apic_id, u32 command)
{
    // The two xAPIC writes must reach the same CPU's APIC in order: no
    // interrupt, preemption or migration between them.
    bool interrupts = read_rflags() & kRflagsInterruptEnable;
    disable_interrupts();
    send_command_with_interrupts_off(apic_id, command);
    if (interrupts)
        enable_interrupts();
}

void send_command_with_interrupts_off(u32 apic_id, u32 command)
{
    if (g_x2apic) {
        // One 64-bit MSR; the destination is the full 32-bit x2APIC id.
        wrmsr(kX2apicMsrBase + InterruptCommandLow / 16, (static_cast<u64>(apic_id) << 32) | command);
        return;
    }
    write(InterruptCommandHigh, apic_id << 24);
    write(InterruptCommandLow, command);
    for (int spin = 0; spin < kDeliverySpinLimit && (read(InterruptCommandLow) & kDeliveryPending); ++spin)
        pause();
}

} // namespace

void init_boot_cpu(PhysicalAddress xapic_base, bool use_x2apic)
{
    g_x2apic = use_x2apic;
    if (!g_x2apic) {
        auto mapped = map_device_memory(xapic_base, layout::kPageSize);
        HERALD_ASSERT(!mapped.is_error());
        g_xapic = reinterpret_cast<volatile u32*>(mapped.value().get());
    }
}

void init_this_cpu()
{
    u64 base = rdmsr(kMsrApicBase) | kApicBaseEnable;
    if (g_x2apic)
        base |= kApicBaseX2apic;
    wrmsr(kMsrApicBase, base);
    write(SpuriousVector, kSoftwareEnable | kVectorSpurious);
    write(LvtLint0, kLvtMasked);
    write(LvtLint1, kLvtMasked);
    write(LvtTimer, kLvtMasked);
    write(LvtError, kVectorLapicError);
    write(ErrorStatus, 0); // clears errors latched before (write before read, §11.5.3)
}

bool x2apic_mode() { return g_x2apic; }

u32 id() { return g_x2apic ? read(Id) : read(Id) >> 24; }

void end_of_interrupt() { write(EndOfInterrupt, 0); }

void send_init(u32 apic_id) { send_command(apic_id, kDeliveryInit | kLevelAssert); }

void send_startup(u32 apic_id, u8 trampoline_page) { send_command(apic_id, kDeliveryStartup | kLevelAssert | trampoline_page); }

void send_ipi(u32 apic_id, u8 vector) { send_command(apic_id, kLevelAssert | vector); }

void calibrate_timer()
{
    constexpr u64 kCalibrationMs = 10;
    auto tsc_per_ms = tsc::ticks_per_ms();
    HERALD_ASSERT(tsc_per_ms.has_value());
    write(TimerDivide, kTimerDivideBy16);
    write(LvtTimer, kLvtMasked);
    write(TimerInitialCount, 0xFFFF'FFFF);
    u64 start = rdtsc();
    while (rdtsc() - start < kCalibrationMs * *tsc_per_ms)
        pause();
    u32 elapsed = 0xFFFF'FFFF - read(TimerCurrentCount);
    write(TimerInitialCount, 0);
    g_timer_ticks_per_ms = max<u64>(elapsed / kCalibrationMs, 1);
}

u64 timer_ticks_per_ms() { return g_timer_ticks_per_ms; }

void start_periodic_timer(u64 period_ms)
{
    write(TimerDivide, kTimerDivideBy16);
    write(LvtTimer, kTimerPeriodic | kVectorTimer);
    u64 count = min<u64>(g_timer_ticks_per_ms * period_ms, 0xFFFF'FFFF);
    write(TimerInitialCount, static_cast<u32>(count));
}

void stop_timer()
{
    write(LvtTimer, kLvtMasked);
    write(TimerInitialCount, 0);
}

} // namespace herald::x86::lapic

#include "tsc.hpp"

#include "cpu.hpp"

#include "../../lib/assert.hpp"

extern "C" herald::u64 boot_tsc; // boot/entry.asm

namespace herald::tsc {

namespace {

// Intel 8254 PIT: a 1.193182 MHz input clock on every PC. Channel 2 is the
// one whose output can be read back, through port 0x61 bit 5.
constexpr u64 kPitFrequencyHz = 1193182;
constexpr u16 kPitChannel2Data = 0x42;
constexpr u16 kPitCommand = 0x43;
constexpr u16 kSpeakerControl = 0x61;
constexpr u8 kSpeakerGate = 0x01;
constexpr u8 kSpeakerEnable = 0x02;
constexpr u8 kChannel2Output = 0x20;
// Channel 2, low byte then high byte, mode 0 (interrupt on terminal count).
constexpr u8 kChannel2OneShot = 0b10'11'000'0;

constexpr u64 kCalibrationMs = 10;
// An emulated CPU that the host deschedules in the middle of the count
// measures too long a time (or gives up): measure again, up to this many
// times in all, before deciding the PIT cannot be used. A machine without a
// PIT answers at once each time, so this costs it nothing.
constexpr int kCalibrationTries = 5;
// A PIT that never fires must not hang boot: give up after this many TSC
// ticks (0.4 s at 10 GHz; a 10 ms count takes far fewer on any real CPU).
constexpr u64 kGiveUpTicks = 4'000'000'000ull;
// Plausible TSC rates. Anything outside means the PIT lied (for example a
// machine without one, where port 0x61 reads as a constant).
constexpr u64 kMinTicksPerMs = 100'000;       // 100 MHz
constexpr u64 kMaxTicksPerMs = 20'000'000;    // 20 GHz

Optional<u64> g_ticks_per_ms;
const char* g_source = "none";

Optional<u64> measure_ticks(u64 milliseconds)
{
    u64 count = kPitFrequencyHz * milliseconds / 1000;
    u8 control = x86::inb(kSpeakerControl);
    u8 gate_low = static_cast<u8>(control & ~kSpeakerEnable & ~kSpeakerGate);
    x86::outb(kSpeakerControl, gate_low);
    x86::outb(kPitCommand, kChannel2OneShot);
    x86::outb(kPitChannel2Data, static_cast<u8>(count & 0xFF));
    x86::outb(kPitChannel2Data, static_cast<u8>(count >> 8));
    // Mode 0 drives the output low when programmed, and with the gate low
    // the count does not run: a high output now means no PIT answers here.
    // (Checked before the count starts, so a slow or descheduled CPU cannot
    // mistake a finished count for a missing PIT.)
    if (x86::inb(kSpeakerControl) & kChannel2Output) {
        x86::outb(kSpeakerControl, control);
        return nullopt;
    }
    u64 start = x86::rdtsc();
    x86::outb(kSpeakerControl, static_cast<u8>(gate_low | kSpeakerGate)); // the count starts
    while (!(x86::inb(kSpeakerControl) & kChannel2Output)) {
        if (x86::rdtsc() - start > kGiveUpTicks) {
            x86::outb(kSpeakerControl, control);
            return nullopt;
        }
    }
    u64 elapsed = x86::rdtsc() - start;
    x86::outb(kSpeakerControl, control);
    return elapsed;
}

// CPUID leaf 0x15 (TSC/crystal ratio and crystal Hz) or leaf 0x16 (base
// MHz), SDM Vol. 2A CPUID: exact where the CPU reports them.
Optional<u64> ticks_per_ms_from_cpuid()
{
    u32 max_leaf = x86::cpuid(0).eax;
    if (max_leaf >= 0x15) {
        auto leaf = x86::cpuid(0x15);
        if (leaf.eax && leaf.ebx && leaf.ecx)
            return static_cast<u64>(leaf.ecx) * leaf.ebx / leaf.eax / 1000;
    }
    if (max_leaf >= 0x16) {
        u32 base_mhz = x86::cpuid(0x16).eax & 0xFFFF;
        if (base_mhz)
            return static_cast<u64>(base_mhz) * 1000;
    }
    return nullopt;
}

bool plausible(u64 ticks_per_ms) { return ticks_per_ms >= kMinTicksPerMs && ticks_per_ms <= kMaxTicksPerMs; }

} // namespace

bool calibrate()
{
    for (int attempt = 0; attempt < kCalibrationTries; ++attempt) {
        if (auto ticks = measure_ticks(kCalibrationMs); ticks && plausible(*ticks / kCalibrationMs)) {
            g_ticks_per_ms = *ticks / kCalibrationMs;
            g_source = "PIT";
            return true;
        }
    }
    if (auto ticks = ticks_per_ms_from_cpuid(); ticks && plausible(*ticks)) {
        g_ticks_per_ms = *ticks;
        g_source = "CPUID";
        return true;
    }
    return false;
}

const char* calibration_source() { return g_source; }



Optional<u64> ticks_per_ms() { return g_ticks_per_ms; }

u64 boot_timestamp() { return boot_tsc; }

Optional<u64> ms_since_boot()
{
    if (!g_ticks_per_ms)
        return nullopt;
    return (x86::rdtsc() - boot_tsc) / *g_ticks_per_ms;
}

void delay_us(u64 microseconds)
{
    HERALD_ASSERT(g_ticks_per_ms.has_value());
    u64 ticks = *g_ticks_per_ms * microseconds / 1000;
    u64 start = x86::rdtsc();
    while (x86::rdtsc() - start < ticks)
        x86::pause();
}

} // namespace herald::tsc

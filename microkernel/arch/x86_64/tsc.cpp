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
// A PIT that never fires must not hang boot: give up after this many TSC
// ticks (several seconds even on a 10 GHz counter).
constexpr u64 kGiveUpTicks = 50'000'000'000ull;

Optional<u64> g_ticks_per_ms;

Optional<u64> measure_ticks(u64 milliseconds)
{
    u64 count = kPitFrequencyHz * milliseconds / 1000;
    u8 control = x86::inb(kSpeakerControl);
    x86::outb(kSpeakerControl, static_cast<u8>((control & ~kSpeakerEnable) & ~kSpeakerGate));
    x86::outb(kPitCommand, kChannel2OneShot);
    x86::outb(kPitChannel2Data, static_cast<u8>(count & 0xFF));
    x86::outb(kPitChannel2Data, static_cast<u8>(count >> 8));
    // Raising the gate starts the count.
    x86::outb(kSpeakerControl, static_cast<u8>((control & ~kSpeakerEnable) | kSpeakerGate));
    u64 start = x86::rdtsc();
    while (!(x86::inb(kSpeakerControl) & kChannel2Output)) {
        if (x86::rdtsc() - start > kGiveUpTicks)
            return nullopt;
    }
    u64 elapsed = x86::rdtsc() - start;
    x86::outb(kSpeakerControl, control);
    return elapsed;
}

} // namespace

bool calibrate()
{
    auto ticks = measure_ticks(kCalibrationMs);
    if (!ticks || *ticks < kCalibrationMs)
        return false;
    g_ticks_per_ms = *ticks / kCalibrationMs;
    return true;
}

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

#include "fpu.hpp"

#include "../../lib/assert.hpp"
#include "cpu.hpp"

namespace herald::x86::fpu {

namespace {

constexpr u64 kCr0MonitorCoprocessor = 1ull << 1;
constexpr u64 kCr0Emulation = 1ull << 2;
constexpr u64 kCr0TaskSwitched = 1ull << 3;
constexpr u64 kCr4Osfxsr = 1ull << 9;
constexpr u64 kCr4Osxmmexcpt = 1ull << 10;
constexpr u64 kCr4Osxsave = 1ull << 18;
// XCR0 components: x87, SSE, AVX (SDM Vol. 1 §13.3). Larger ones (AVX-512,
// AMX) need bigger areas than the 4 KiB Herald reserves, so they stay off.
constexpr u64 kXcr0Wanted = 0b111;
constexpr usize kMaxArea = 4096;
constexpr usize kFxsaveAreaSize = 512;

usize g_size = kFxsaveAreaSize;
alignas(64) u8 g_initial_state[kMaxArea];
bool g_initialized;

void write_xcr0(u64 value)
{
    asm volatile("xsetbv" : : "c"(0), "a"(static_cast<u32>(value)), "d"(static_cast<u32>(value >> 32)));
}

} // namespace

bool g_xsave;
u64 g_xcr0;

void init_this_cpu()
{
    bool has_xsave = (cpuid(1).ecx >> 26) & 1;
    u64 cr0 = (read_cr0() | kCr0MonitorCoprocessor) & ~(kCr0Emulation | kCr0TaskSwitched);
    write_cr0(cr0);
    u64 cr4 = read_cr4() | kCr4Osfxsr | kCr4Osxmmexcpt;
    if (has_xsave)
        cr4 |= kCr4Osxsave;
    write_cr4(cr4);
    if (!g_initialized) {
        g_xsave = has_xsave;
        if (g_xsave) {
            u64 supported = cpuid(0xD, 0).eax | (static_cast<u64>(cpuid(0xD, 0).edx) << 32);
            g_xcr0 = supported & kXcr0Wanted;
        }
    }
    if (g_xsave)
        write_xcr0(g_xcr0);
    if (!g_initialized) {
        if (g_xsave)
            g_size = cpuid(0xD, 0).ebx; // size for the components enabled in XCR0
        HERALD_ASSERT(g_size <= kMaxArea);
        // Capture a clean state once, for every new thread: FNINIT resets
        // x87; MXCSR still has its power-on value, 0x1F80 (all SIMD
        // exceptions masked), since nothing in ring 0 has touched it.
        asm volatile("fninit");
        save(g_initial_state);
        g_initialized = true;
    }
}

usize state_size() { return g_size; }
const char* mechanism() { return g_xsave ? "XSAVE" : "FXSAVE"; }

void init_state(u8* area) { __builtin_memcpy(area, g_initial_state, g_size); }

} // namespace herald::x86::fpu

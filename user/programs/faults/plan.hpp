// The fault injector's portable part (docs/reliability.md, "Fault
// injection"): which fault the injection number `index` of a run with
// `seed` is, where its memory flips may land, the packing of the shell's
// argument, and how an injection is classified from what the injector saw.
// Freestanding and allocation-free, so that the host tests
// (tests/host/faults_plan_test.cpp) build the same code.
//
// Reproducible: plan(seed, index) depends on nothing else, so a run that
// stopped at a hang or a panic goes on, after a reboot, with the same
// injections it would have made (./herald faults passes `first`).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "microkernel/abi/faults.hpp"
#include "microkernel/abi/memory.hpp"
#include "microkernel/abi/syscalls.hpp"

namespace herald::faults {

// The servers init restarts (docs/reliability.md, "The supervisor"). The
// memory server, the registry, init and pci are not targets: nothing
// restarts them, so a fault there ends the system's service for good (the
// docs say why each cannot restart).
enum class Target : uint8_t { Console, Loader, Echo, Kv };
inline constexpr size_t kTargets = 4;
inline constexpr const char* kTargetNames[kTargets] = { "console", "loader", "echo", "kv" };

// The four kinds of fault (abi::FaultKind Kill..MemoryBit), equally often.
inline constexpr abi::FaultKind kKinds[] = { abi::FaultKind::Kill, abi::FaultKind::Exception,
    abi::FaultKind::RegisterBit, abi::FaultKind::MemoryBit };
inline constexpr size_t kKindCount = sizeof(kKinds) / sizeof(kKinds[0]);
inline constexpr const char* kind_name(abi::FaultKind kind)
{
    switch (kind) {
    case abi::FaultKind::Kill: return "kill";
    case abi::FaultKind::Exception: return "exception";
    case abi::FaultKind::RegisterBit: return "register";
    case abi::FaultKind::MemoryBit: return "memory";
    default: return "?";
    }
}
inline constexpr const char* kRegisterNames[abi::kFaultRegisters] = { "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp",
    "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip", "rflags" };

// Where a memory flip may land: the program's image (its data and bss; the
// kernel refuses pages the task cannot write), the start of its heap, the
// top of its stack. The planned window is probed at up to kAddressTries
// random addresses until the kernel finds a writable RAM page of the task
// there, then the next windows in turn (a server with no heap has none to
// hit; every task has its stack's first pages): kAddressTries * kRegions in
// all.
enum class Region : uint8_t { Image, Heap, Stack };
inline constexpr size_t kRegions = 3;
inline constexpr const char* kRegionNames[kRegions] = { "image", "heap", "stack" };
struct Window {
    uint64_t base;
    uint64_t size;
};
inline constexpr Window kWindows[kRegions] = {
    { abi::kUserCodeBase, 512 * 1024 },
    { abi::kUserHeapBase, 256 * 1024 },
    { abi::kUserSpaceEnd - abi::kInitialStackPages * abi::kPageSize, abi::kInitialStackPages * abi::kPageSize },
};
inline constexpr uint32_t kAddressTries = 64;

// The moment: this long after the workload was last seen running (and the
// target has run at least kSettleMs since its last start, so that init's
// backoff never mistakes the run for a crash loop).
// Longer than a workload job's cycle (a pause of 10 ms and the job, about
// 10-20 ms under TCG), so that the moment falls anywhere in it; was 150 ms,
// a third of an injection's time (docs/reliability.md, "Where the time goes").
inline constexpr uint64_t kMaxDelayMs = 60;

struct Injection {
    uint32_t index;
    Target target;
    abi::FaultKind kind;
    uint64_t reg;  // RegisterBit: an abi::FaultRegister
    uint64_t bit;  // RegisterBit, MemoryBit
    Region region; // MemoryBit
    uint64_t address_seed;
    uint64_t delay_ms;
};

// SplitMix64 (Steele, Lea, Flood 2014): one 64-bit state, good enough mixing.
inline uint64_t mix(uint64_t& state)
{
    uint64_t z = (state += 0x9E37'79B9'7F4A'7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58'476D'1CE4'E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D0'49BB'1331'11EBull;
    return z ^ (z >> 31);
}

// RFLAGS's bits a flip may touch (abi::kFaultRflagsBits), in order.
inline uint64_t nth_rflags_bit(uint64_t n)
{
    for (uint64_t bit = 0; bit < 64; ++bit) {
        if ((abi::kFaultRflagsBits >> bit) & 1) {
            if (n == 0)
                return bit;
            --n;
        }
    }
    return 0;
}
inline constexpr uint64_t kRflagsFlipBits = __builtin_popcountll(abi::kFaultRflagsBits);

inline Injection plan(uint32_t seed, uint32_t index)
{
    uint64_t state = (static_cast<uint64_t>(seed) << 32) | index;
    Injection injection {};
    injection.index = index;
    injection.target = static_cast<Target>(mix(state) % kTargets);
    injection.kind = kKinds[mix(state) % kKindCount];
    injection.reg = mix(state) % abi::kFaultRegisters;
    auto reg = static_cast<abi::FaultRegister>(injection.reg);
    uint64_t random = mix(state);
    if (reg == abi::FaultRegister::Rip || reg == abi::FaultRegister::Rsp)
        injection.bit = random % abi::kFaultAddressBits;
    else if (reg == abi::FaultRegister::Rflags)
        injection.bit = nth_rflags_bit(random % kRflagsFlipBits);
    else
        injection.bit = random % 64;
    if (injection.kind == abi::FaultKind::MemoryBit)
        injection.bit = mix(state) % 64;
    injection.region = static_cast<Region>(mix(state) % kRegions);
    injection.address_seed = mix(state);
    injection.delay_ms = mix(state) % (kMaxDelayMs + 1);
    return injection;
}

// The window the memory flip's `attempt`-th try probes.
inline Region region_of_attempt(const Injection& injection, uint32_t attempt)
{
    return static_cast<Region>((static_cast<size_t>(injection.region) + attempt / kAddressTries) % kRegions);
}

// The memory flip's `attempt`-th address (8-byte aligned, inside its window),
// attempt < kAddressTries * kRegions.
inline uint64_t memory_address(const Injection& injection, uint32_t attempt)
{
    uint64_t state = injection.address_seed + attempt;
    const Window& window = kWindows[static_cast<size_t>(region_of_attempt(injection, attempt))];
    return window.base + (mix(state) % window.size & ~7ull);
}

// The shell's argument: `run faults ARG`. Bits 0-31 the seed, 32-47 the
// first injection's number, 48-62 how many injections in all (1 or more:
// an argument of 0 is the injector's own start by init).
inline constexpr uint64_t kMaxCount = (1ull << 15) - 1;
inline constexpr uint64_t kMaxFirst = (1ull << 16) - 1;
struct Campaign {
    uint32_t seed;
    uint32_t first;
    uint32_t count;
};
inline uint64_t pack(const Campaign& campaign)
{
    return campaign.seed | (static_cast<uint64_t>(campaign.first) << 32) | (static_cast<uint64_t>(campaign.count) << 48);
}
inline Campaign unpack(uint64_t argument)
{
    return Campaign { static_cast<uint32_t>(argument), static_cast<uint32_t>((argument >> 32) & kMaxFirst),
        static_cast<uint32_t>((argument >> 48) & kMaxCount) };
}

// What the injector saw between an injection and its deadline.
struct Observation {
    bool target_ended;           // the target's task ended (killed by the fault, or by init's heartbeat)
    bool workload_went_on;       // every workload activity finished a job begun after the injection
    uint32_t workload_errors;    // jobs that failed with an error (after their own retries), wrong answers included
};

// recovered: the workload went on with no error (the server restarted, or
// the fault did no visible harm); workload error: it went on, but some job
// failed with a clear error first; hang: by the deadline some activity had
// not finished a job. (A kernel panic is the host's to see.)
enum class Outcome : uint8_t { Recovered, WorkloadError, Hang };
inline constexpr const char* kOutcomeNames[] = { "recovered", "workload-error", "hang" };

inline Outcome classify(const Observation& seen)
{
    if (!seen.workload_went_on)
        return Outcome::Hang;
    if (seen.workload_errors > 0)
        return Outcome::WorkloadError;
    return Outcome::Recovered;
}

} // namespace herald::faults

// The benchmark probe (tests/bench/bench_probe.hpp): how a benchmark program
// marks the window it measures, so that the runner can read the kernel's
// event counters (abi/events.hpp) at its two ends and print them per
// operation (docs/benchmarks.md, "Events"). Shared by the runner (ring 0)
// and the programs (user/programs/bench_common.hpp).
//
// The runner gives each program that takes part a handle to the probe at
// kProbeHandle. The probe is a KernelService: a Call on the handle, words
// only, answered at once in the caller's thread (no IPC message, no switch):
//
//   kProbeBegin  ()            -> 0, once every participant has begun: the
//                                 window opens at the last one's Begin
//   kProbeEnd    (operations)  -> 0; the window closes at the last End, and
//                                 the operations of all participants add up
//
// The Calls are system calls: the End calls inside the window are taken off
// the syscalls count, so that a figure shows only its operations' events.
#pragma once

#include <stdint.h>

namespace herald::bench {

inline constexpr uint64_t kProbeHandle = 7;
inline constexpr uint32_t kProbeBegin = 0x5052'4201; // "PRB" 1
inline constexpr uint32_t kProbeEnd = 0x5052'4202;

} // namespace herald::bench

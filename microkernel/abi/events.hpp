// The kernel's event counters, as user space reads them with the
// EventCounters system call (docs/syscalls.md, docs/benchmarks.md "Events").
// Shared by the kernel (microkernel/stats/event_counters.hpp counts them) and
// by programs (the benchmarks print them).
//
// Each CPU counts its own events; a counter only grows (wrapping after 2^64).
// The order below is the ABI: EventCounters writes the values in this order,
// and the names are the ones the benchmark lines use (the study's CSV
// columns), so they never change; new counters go at the end.
#pragma once

#include <stdint.h>

namespace herald::abi {

enum class Event : uint32_t {
    Syscalls,        // kernel entries by SYSCALL
    Exceptions,      // kernel entries by a CPU exception the kernel handled (a user fault, a user-copy fault)
    Interrupts,      // kernel entries by a device or timer interrupt (spurious ones included)
    Ipis,            // kernel entries by an inter-processor interrupt
    ContextSwitches, // a CPU switched from one thread to another
    AsSwitches,      // CR3 written to change address spaces (without PCIDs, each also drops every non-global TLB entry)
    TlbFlushPage,    // INVLPG of one page (on the CPU that runs it: the initiator's own, or a shootdown's target)
    TlbFlushFull,    // a flush of the whole TLB for its own sake (a shootdown of more than kShootdownBatch pages; not one that comes with an address-space switch)
    ShootdownIpis,   // IPIs sent to flush other CPUs' TLBs (microkernel/smp/tlb_shootdown.cpp), counted by the sender
    IpcFast,         // messages delivered by an IPC fast path (microkernel/ipc/fastpath.cpp)
    IpcFull,         // messages delivered by the full IPC path (microkernel/ipc/ipc.cpp)
    BytesCopied,     // bytes the kernel copied between address spaces: IPC payloads, user copies
    FaultsKernel,    // user page faults resolved in ring 0 (a memory service built into the kernel)
    FaultsPager,     // user page faults sent to a ring-3 pager (the memory server) by IPC
    FramesZeroed,    // 4 KiB frames zeroed: by the kernel, or by the memory server (MapZeroed)
    Count
};

inline constexpr uint64_t kEventCount = static_cast<uint64_t>(Event::Count);

inline constexpr const char* kEventNames[kEventCount] = {
    "syscalls", "exceptions", "interrupts", "ipis", "context_switches", "as_switches", "tlb_flush_page",
    "tlb_flush_full", "shootdown_ipis", "ipc_fast", "ipc_full", "bytes_copied", "faults_kernel",
    "faults_pager", "frames_zeroed",
};

// EventCounters' first argument: one CPU's index, or every CPU summed.
inline constexpr uint64_t kAllCpus = ~0ull;

} // namespace herald::abi

// bench_page_fault: the cost of a page fault the pager resolves, from the
// faulting instruction to its retry (a heap page mapped on first touch).
// Parameter: pages (low 32 bits) and a mode (bit 32):
//   mode 0  touches `pages` (at most kMaxSamples) fresh heap pages, timing
//           each touch: exits with (median << 32) | minimum cycles per fault
//   mode 1  touches `pages` fresh heap pages in a row: exits with the cycles
//           for all of them (heap growth throughput, frames per second)
// Exits -1 if the heap cannot grow.
#include "bench_common.hpp"
#include "libipc/protocols/memory.hpp"
#include "libipc/syscall_transport.hpp"

namespace {

constexpr uint64_t kMaxSamples = 1024;
uint64_t g_samples[kMaxSamples];

} // namespace

extern "C" int64_t herald_main(uint64_t parameter)
{
    uint64_t pages = parameter & 0xFFFF'FFFF;
    bool throughput = (parameter >> 32) & 1;
    if (!throughput && pages > kMaxSamples)
        pages = kMaxSamples;
    ipc::SyscallTransport transport(nullptr);
    auto grown = ipc::memory::grow(transport, pages);
    if (grown.is_error() || pages == 0)
        return -1;
    auto* heap = reinterpret_cast<volatile uint8_t*>(grown.value().old_end);
    bench::window_begin();
    if (throughput) {
        uint64_t start = bench::cycles();
        for (uint64_t page = 0; page < pages; ++page)
            heap[page * herald::abi::kPageSize] = 1;
        uint64_t elapsed = bench::cycles() - start;
        bench::window_end(pages);
        return static_cast<int64_t>(elapsed);
    }
    for (uint64_t page = 0; page < pages; ++page) {
        uint64_t start = bench::cycles();
        heap[page * herald::abi::kPageSize] = 1;
        g_samples[page] = bench::cycles() - start;
    }
    bench::window_end(pages);
    return bench::median_and_minimum(g_samples, static_cast<int>(pages));
}

// memory_hog: takes every frame the memory service will give. It grows its
// heap in halving steps until even one page is refused, checks that the
// refusal is kOutOfMemory or kOverLimit (an allocation with no frame left,
// or beyond the task's frame limit, returns an error), touches a sample of the pages it got, then sleeps until it is
// killed. Grow promises every frame at once, so nothing is left for anyone
// else whether or not the hog touches them; touching all of them would take
// a minute under TCG on a machine with 6 GiB (1.5 million page faults), so it
// touches the first kTouchAll and then one page in kSampleStride: enough to
// see fresh pages read as zeros across all of memory.
//
// Exits early with 1 if the first Grow fails, 2 if a refusal has the wrong
// error, 3 if a page it touched was not zeros.
#include "memory_common.hpp"
#include "user/runtime/herald.hpp"
#include "user/runtime/syscall.hpp"

namespace {
constexpr uint64_t kTouchAll = 16384; // pages: 64 MiB
constexpr uint64_t kSampleStride = 64;
constexpr uint64_t kStackRoom = 16; // pages
} // namespace

extern "C" int64_t herald_main(uint64_t)
{
    uint64_t start = 0;
    uint64_t end = 0;
    bool at_limit = false;
    for (uint64_t step = 1u << 20; step > 0; step /= 2) {
        for (;;) {
            auto grown = ipc::memory::grow(memory_test::transport(), step);
            if (grown.is_error()) {
                if (grown.error() != ipc::memory::kOutOfMemory && grown.error() != ipc::memory::kOverLimit)
                    return 2;
                if (step == 1) // a larger step may pass the limit while memory is short
                    at_limit = grown.error() == ipc::memory::kOverLimit;
                break;
            }
            if (!start)
                start = grown.value().old_end;
            end = grown.value().new_end;
        }
    }
    if (!start)
        return 1;
    // At its limit, a new stack page would kill it: it gives a few back
    // (another hog takes them).
    if (at_limit) {
        auto shrunk = ipc::memory::shrink(memory_test::transport(), kStackRoom);
        if (shrunk.is_error())
            return 2;
        end = shrunk.value().new_end;
    }
    for (uint64_t index = 0; start + index * herald::abi::kPageSize < end;
         index += index < kTouchAll ? 1 : kSampleStride) {
        auto* word = reinterpret_cast<volatile uint64_t*>(start + index * herald::abi::kPageSize);
        if (*word != 0)
            return 3;
        *word = index;
    }
    herald::user::println("memory_hog: {} pages promised to it: {}", (end - start) / herald::abi::kPageSize,
        at_limit ? "its frame limit" : "every free frame");
    for (;;)
        herald::user::sleep_ms(herald::abi::kMaxSleepMs);
}

// memory_hog: takes every frame the memory service will give. It grows its
// heap in halving steps until even one page is refused, checks that the
// refusal is kOutOfMemory (an allocation with no frame left returns an
// error), touches every page it got (so that no frame is left free), then
// sleeps until it is killed.
//
// Exits early with 1 if the first Grow fails, 2 if a refusal has the wrong
// error, 3 if a page it touched was not zeros.
#include "memory_common.hpp"
#include "user/runtime/syscall.hpp"

extern "C" int64_t herald_main(uint64_t)
{
    uint64_t start = 0;
    uint64_t end = 0;
    for (uint64_t step = 1u << 20; step > 0; step /= 2) {
        for (;;) {
            auto grown = ipc::memory::grow(memory_test::transport(), step);
            if (grown.is_error()) {
                if (grown.error() != ipc::memory::kOutOfMemory)
                    return 2;
                break;
            }
            if (!start)
                start = grown.value().old_end;
            end = grown.value().new_end;
        }
    }
    if (!start)
        return 1;
    for (uint64_t page = start; page < end; page += herald::abi::kPageSize) {
        auto* word = reinterpret_cast<volatile uint64_t*>(page);
        if (*word != 0)
            return 3;
        *word = page;
    }
    herald::user::debug_write("memory_hog: holding every frame");
    for (;;)
        herald::user::sleep_ms(herald::abi::kMaxSleepMs);
}

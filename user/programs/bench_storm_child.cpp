// bench_storm_child: one program of the spawn storm (bench_spawn_storm):
// grows its heap by 1 MiB, touches every page of it, prints 10 lines and
// exits with 0 (1 if the heap cannot grow).
#include "libipc/protocols/memory.hpp"
#include "user/runtime/herald.hpp"

namespace {
constexpr uint64_t kHeapPages = 256; // 1 MiB
constexpr int kLines = 10;
} // namespace

extern "C" int64_t herald_main(uint64_t number)
{
    auto grown = ipc::memory::grow(herald::user::ipc(), kHeapPages);
    if (grown.is_error())
        return 1;
    auto* heap = reinterpret_cast<volatile uint8_t*>(grown.value().old_end);
    for (uint64_t page = 0; page < kHeapPages; ++page)
        heap[page * herald::abi::kPageSize] = static_cast<uint8_t>(page);
    for (int line = 0; line < kLines; ++line)
        herald::user::println("storm {:03} line {} of {}", number, line, kLines);
    return 0;
}

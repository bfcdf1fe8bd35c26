// memory_protocol_checks: the memory protocol's answers, right and wrong.
// Grow, touch, Release (the frames go back, the pages read as zeros again),
// Shrink, and requests that must be refused. Exits with the number of
// checks that failed (0: all right); each failure is logged.
#include "memory_common.hpp"
#include "user/runtime/syscall.hpp"

namespace {

int64_t g_failures;

void check(bool condition, const char* what)
{
    if (!condition) {
        ++g_failures;
        herald::user::debug_write("memory_protocol_checks: FAILED:");
        herald::user::debug_write(what);
    }
}

uint64_t free_frames()
{
    auto stats = ipc::memory::stats(memory_test::transport());
    return stats.is_error() ? 0 : stats.value().free;
}

} // namespace

extern "C" int64_t herald_main(uint64_t)
{
    using namespace ipc::memory;
    auto& t = memory_test::transport();
    constexpr uint64_t kPage = herald::abi::kPageSize;

    auto first = grow(t, 8);
    check(!first.is_error() && first.value().old_end == herald::abi::kUserHeapBase
            && first.value().new_end == herald::abi::kUserHeapBase + 8 * kPage,
        "the first Grow starts at kUserHeapBase");
    auto* heap = reinterpret_cast<volatile uint64_t*>(herald::abi::kUserHeapBase);
    uint64_t before_touch = free_frames();
    for (uint64_t page = 0; page < 8; ++page)
        heap[page * kPage / 8] = page + 1;
    check(free_frames() == before_touch - 8, "touching 8 heap pages takes 8 frames");

    auto released = release(t, herald::abi::kUserHeapBase + 2 * kPage, 3);
    check(!released.is_error() && released.value().frames_freed == 3, "Release frees the 3 frames");
    check(free_frames() == before_touch - 5, "released frames are free again");
    check(heap[2 * kPage / 8] == 0 && heap[4 * kPage / 8] == 0, "a released page reads as zeros");
    check(heap[1 * kPage / 8] == 2 && heap[5 * kPage / 8] == 6, "pages around a release keep their contents");

    // System calls whose buffers lie in heap pages nobody touched yet: the
    // kernel asks the pager for them, as the program's own access would.
    auto* fresh = reinterpret_cast<char*>(herald::abi::kUserHeapBase + 6 * kPage);
    check(herald::user::debug_write(fresh + 100, 8) == 8, "DebugWrite from an untouched heap page");
    auto* info = reinterpret_cast<herald::abi::SelfInfo*>(herald::abi::kUserHeapBase + 7 * kPage);
    check(herald::user::self_info(info) == 0 && info->task_id != 0, "SelfInfo into an untouched heap page");
    check(ipc::sys::set_ipc_buffer(reinterpret_cast<uint8_t*>(herald::abi::kUserHeapBase + 3 * kPage)).is_error() == false,
        "SetIpcBuffer on a released heap page");
    check(ipc::sys::set_ipc_buffer(nullptr).is_error() == false, "SetIpcBuffer back to none");

    auto shrunk = shrink(t, 4);
    check(!shrunk.is_error() && shrunk.value().new_end == herald::abi::kUserHeapBase + 4 * kPage, "Shrink by 4 pages");

    check(release(t, herald::abi::kUserHeapBase + 4 * kPage, 1).is_error(), "Release above the heap end is refused");
    check(release(t, herald::abi::kUserHeapBase + 1, 1).is_error(), "an unaligned Release is refused");
    check(release(t, 0x0800'0000, 1).is_error(), "Release of program memory is refused");
    check(shrink(t, 5).is_error(), "Shrink below the heap start is refused");
    auto huge = grow(t, 1ull << 40);
    check(huge.is_error() && huge.error() == ipc::Error::InvalidRequest, "Grow past the heap limit is InvalidRequest");
    auto too_much = grow(t, (herald::abi::kUserHeapLimit - herald::abi::kUserHeapBase) / kPage - 4);
    // Beyond the free frames is beyond the task's frame limit too, which is
    // checked first (docs/security.md, "Quotas").
    check(too_much.is_error() && too_much.error() == ipc::memory::kOverLimit, "Grow beyond the free frames is kOverLimit");
    return g_failures;
}

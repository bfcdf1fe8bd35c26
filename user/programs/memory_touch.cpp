// memory_touch: grows its heap by (parameter & 0xFFFFFFFF) pages and its
// stack by (parameter >> 32) pages, writes a pattern over every byte of both,
// then checks it all: the pager maps each page on first touch, zeroed.
// The stack grows by recursion, a frame of just under a page per call, each
// writing its whole frame: a probe of every page in turn.
//
// Exits 0 if all is right; 1 Grow failed; 2 a fresh heap page was not
// zeros; 3 the heap lost its contents; 4 the stack lost its contents.
#include "memory_common.hpp"
#include "user/runtime/syscall.hpp"

namespace {

constexpr uint64_t kWordsPerPage = herald::abi::kPageSize / sizeof(uint64_t);

// One page of stack per level; false if any level found its page changed.
[[gnu::noinline]] bool descend(uint64_t levels)
{
    if (levels == 0)
        return true;
    volatile uint64_t page[kWordsPerPage - 16]; // leaves room for the frame itself
    for (uint64_t i = 0; i < sizeof(page) / sizeof(page[0]); ++i)
        page[i] = memory_test::pattern(levels, i);
    bool deeper = descend(levels - 1);
    for (uint64_t i = 0; i < sizeof(page) / sizeof(page[0]); ++i) {
        if (page[i] != memory_test::pattern(levels, i))
            return false;
    }
    return deeper;
}

} // namespace

extern "C" int64_t herald_main(uint64_t parameter)
{
    uint64_t heap_pages = parameter & 0xFFFF'FFFF;
    uint64_t stack_pages = parameter >> 32;
    if (heap_pages) {
        auto grown = ipc::memory::grow(memory_test::transport(), heap_pages);
        if (grown.is_error())
            return 1;
        auto* heap = reinterpret_cast<uint64_t*>(grown.value().old_end);
        uint64_t words = heap_pages * kWordsPerPage;
        for (uint64_t i = 0; i < words; i += kWordsPerPage) {
            if (heap[i] != 0 || heap[i + kWordsPerPage - 1] != 0)
                return 2;
        }
        for (uint64_t i = 0; i < words; ++i)
            heap[i] = memory_test::pattern(7, i);
        for (uint64_t i = 0; i < words; ++i) {
            if (heap[i] != memory_test::pattern(7, i))
                return 3;
        }
    }
    if (stack_pages && !descend(stack_pages))
        return 4;
    return 0;
}

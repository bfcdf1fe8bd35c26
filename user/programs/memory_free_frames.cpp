// memory_free_frames: asks the memory service for its statistics and exits
// with the number of free frames (for the in-system tests, which read exit
// statuses), or with -1 - |error| if the request failed. With parameter 1 it
// exits with the number of tasks the service keeps records for instead, with
// 2 the number of frames promised to heaps (committed).
#include "memory_common.hpp"

extern "C" int64_t herald_main(uint64_t parameter)
{
    auto stats = ipc::memory::stats(memory_test::transport());
    if (stats.is_error())
        return -1 + static_cast<int64_t>(stats.error());
    switch (parameter) {
    case 1: return static_cast<int64_t>(stats.value().tasks);
    case 2: return static_cast<int64_t>(stats.value().committed);
    default: return static_cast<int64_t>(stats.value().free);
    }
}

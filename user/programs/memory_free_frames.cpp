// memory_free_frames: asks the memory service for its statistics and exits
// with the number of free frames (for the in-system tests, which read exit
// statuses), or with -1 - |error| if the request failed. With parameter 1 it
// exits with the number of tasks the service keeps records for instead.
#include "memory_common.hpp"

extern "C" int64_t herald_main(uint64_t parameter)
{
    auto stats = ipc::memory::stats(memory_test::transport());
    if (stats.is_error())
        return -1 + static_cast<int64_t>(stats.error());
    return static_cast<int64_t>(parameter == 1 ? stats.value().tasks : stats.value().free);
}

// memory: the memory server (docs/memory.md). The first task the kernel
// starts. It holds the frame table of every frame above the kernel's own
// memory, sees those frames through its memory view (abi::kMemoryViewBase),
// maps them into other tasks with its MemoryControl handle, and serves two
// kinds of message on its endpoint:
//   - page faults, which the kernel sends in a faulting thread's name
//     (badge abi::kKernelBadge): it answers with a PageFaultVerdict;
//   - the memory protocol (libipc/protocols/memory.hpp) from every task,
//     each badged by the kernel with the caller's task id.
// MemoryService (memory_service.hpp) answers both (ipc::serve hands the
// kernel's messages to its on_kernel_message); this file is its ring-3
// backend and loop. The ring-0 placement is microkernel/services/memory_in_kernel.cpp.
// It runs forever; it exits (status 1, with a log line) only if it cannot
// start.
#include <stddef.h>
#include <stdint.h>

#include "libipc/syscall_transport.hpp"
#include "memory_service.hpp"
#include "microkernel/abi/memory.hpp"
#include "microkernel/abi/task.hpp"
#include "user/runtime/syscall.hpp"

namespace {

using namespace herald;
using user::number_of;
using user::syscall2;
using user::syscall3;
using user::syscall5;

constexpr uint64_t kControl = abi::kMemoryControlHandle;
constexpr size_t kMaxRanges = 256;

class SyscallBackend final : public memory::Backend {
public:
    bool map(uint64_t task, uint64_t address, uint64_t frame, uint64_t flags) override
    {
        return syscall5(number_of(abi::SyscallNumber::MemoryMap), kControl, task, address, frame, flags) == 0;
    }
    bool unstarted_task(uint64_t handle, uint64_t& task) override
    {
        abi::TaskStatus status {};
        if (syscall2(number_of(abi::SyscallNumber::TaskInfo), handle, reinterpret_cast<uint64_t>(&status)) != 0)
            return false;
        task = status.task_id;
        return status.state == abi::TaskState::Building;
    }
    void close(uint64_t handle) override { (void)ipc::sys::handle_close(handle); }
    Unmap unmap(uint64_t task, uint64_t address, uint64_t& frame) override
    {
        int64_t result = syscall3(number_of(abi::SyscallNumber::MemoryUnmap), kControl, task, address);
        if (result == static_cast<int64_t>(abi::SyscallError::BadAddress))
            return Unmap::NotMapped;
        if (result < 0)
            return Unmap::Refused;
        frame = static_cast<uint64_t>(result);
        return Unmap::Unmapped;
    }
    void zero(uint64_t frame) override { __builtin_memset(view() + frame, 0, abi::kPageSize); }
    size_t reclaim(uint64_t* out, size_t max) override
    {
        int64_t count = syscall3(number_of(abi::SyscallNumber::MemoryReclaim), kControl, reinterpret_cast<uint64_t>(out), max);
        return count < 0 ? 0 : static_cast<size_t>(count);
    }
    static uint8_t* view() { return reinterpret_cast<uint8_t*>(abi::kMemoryViewBase); }
};

SyscallBackend g_backend;
memory::MemoryService g_service;
abi::ManagedRange g_ranges[kMaxRanges];

bool start()
{
    int64_t count = syscall3(number_of(abi::SyscallNumber::MemoryRanges), kControl, reinterpret_cast<uint64_t>(g_ranges), kMaxRanges);
    if (count < 0) {
        user::debug_write("memory: cannot read the managed ranges");
        return false;
    }
    auto ready = g_service.init(g_backend, g_ranges, static_cast<size_t>(count), SyscallBackend::view());
    if (ready != memory::MemoryService::InitResult::Ready) {
        user::debug_write("memory: cannot start:");
        user::debug_write(memory::MemoryService::describe(ready));
        return false;
    }
    user::debug_write("memory: serving page faults and the memory protocol");
    return true;
}

} // namespace

extern "C" int64_t herald_main(uint64_t)
{
    if (!start())
        return 1;
    ipc::SyscallTransport transport(nullptr); // words only: no IPC buffer
    ipc::Error error = ipc::serve<ipc::memory::Protocol>(transport, abi::kMemoryEndpointHandle, g_service);
    user::debug_write("memory: receiving failed:");
    user::debug_write(ipc::error_name(error));
    return 1;
}

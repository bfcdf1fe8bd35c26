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
//
// A thread per CPU (up to kMaxServerThreads), each pinned to its CPU and
// receiving on the one endpoint: the kernel hands a fault to the server
// thread that waits on the faulting CPU (Endpoint::receiver_for), so a
// fault is answered where it happened, with no IPI. The kernel starts the
// main thread on CPU 0. The threads share the MemoryService under one lock
// (ServerThread), held only for the books: a fault's frame comes from the
// thread's batch (MemoryService::kBatchFrames taken from the frame table at
// once), and is zeroed and mapped (MemoryMap) with the lock let go
// (docs/memory.md, "A fault in flight"). Their stacks are static: the server's own faults are
// never served (they kill it), and .bss is mapped when the kernel loads it.
#include <stddef.h>
#include <stdint.h>

#include "libipc/syscall_transport.hpp"
#include "memory_service.hpp"
#include "microkernel/abi/memory.hpp"
#include "microkernel/abi/task.hpp"
#include "user/runtime/syscall.hpp"
#include "user/runtime/thread.hpp"

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
    Map map(uint64_t task, uint64_t address, uint64_t frame, uint64_t flags) override
    {
        int64_t result = syscall5(number_of(abi::SyscallNumber::MemoryMap), kControl, task, address, frame, flags);
        if (result == 0)
            return Map::Mapped;
        // BadArgument: a page is mapped there (the frame and flags are ours, and right).
        return result == static_cast<int64_t>(abi::SyscallError::BadArgument) ? Map::Occupied : Map::Refused;
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

// One lock around the service: the frame table, the task records and the
// books are one state. A waiter spins with PAUSE (the holder runs on another
// CPU: each server thread has its own), then yields, in case the holder was
// preempted on this very CPU.
class ServiceLock {
public:
    void lock()
    {
        for (unsigned spins = 0; __atomic_exchange_n(&m_taken, true, __ATOMIC_ACQUIRE); ++spins) {
            while (__atomic_load_n(&m_taken, __ATOMIC_RELAXED)) {
                if (++spins % kSpinsBeforeYield == 0)
                    user::yield();
                else
                    __builtin_ia32_pause();
            }
        }
    }
    void unlock() { __atomic_store_n(&m_taken, false, __ATOMIC_RELEASE); }

private:
    static constexpr unsigned kSpinsBeforeYield = 256;
    bool m_taken { false };
};

// What a server thread serves: g_service, under the one lock. A request
// over pages with a fault in flight (MemoryService::must_wait) lets the
// lock go until the fault is finished: the fault's thread needs the lock
// to finish it.
class ServerThread {
public:
    template<typename Operation, typename Request>
    auto handle(Operation operation, const Request& request, ipc::Badge badge)
    {
        Guard guard(s_lock);
        while (g_service.must_wait(operation, request, badge))
            guard.wait();
        return g_service.handle(operation, request, badge);
    }
    // A page fault holds the lock twice for its books; the zeroing (512
    // REP STOSQ iterations) and the MemoryMap system call run with it let
    // go, so that faults on other CPUs wait only for the books.
    ipc::KernelMessage on_kernel_message(const ipc::Message& in, ipc::Message& reply)
    {
        if (!memory::MemoryService::is_page_fault(in)) {
            Guard guard(s_lock);
            return g_service.on_kernel_message(in, reply);
        }
        memory::MemoryService::PendingFault pending;
        {
            Guard guard(s_lock);
            pending = g_service.begin_fault(m_index, in.words[0], in.words[1], in.words[2]);
        }
        auto mapped = pending.has_frame ? g_service.map_fault(pending) : memory::Backend::Map::Refused;
        reply = ipc::make_message(abi::kPageFaultLabel);
        Guard guard(s_lock);
        reply.words[0] = static_cast<uint64_t>(g_service.finish_fault(pending, mapped));
        return ipc::KernelMessage::Answered;
    }
    void set_index(size_t index) { m_index = index; }

private:
    struct Guard {
        explicit Guard(ServiceLock& lock) : lock(lock) { lock.lock(); }
        ~Guard() { lock.unlock(); }
        // Lets the lock go for a moment, for another thread to finish.
        void wait()
        {
            lock.unlock();
            if (++waits % kWaitsBeforeYield == 0)
                user::yield();
            else
                __builtin_ia32_pause();
            lock.lock();
        }
        static constexpr unsigned kWaitsBeforeYield = 64;
        ServiceLock& lock;
        unsigned waits { 0 };
    };
    static ServiceLock s_lock;
    size_t m_index { 0 }; // its batch and fault slot in the service
};

ServiceLock ServerThread::s_lock;

constexpr size_t kMaxServerThreads = memory::MemoryService::kMaxServerThreads; // CPUs beyond get their faults answered by another CPU's thread
constexpr size_t kServerStackBytes = 16 * 1024;
alignas(16) uint8_t g_stacks[kMaxServerThreads][kServerStackBytes];
user::ThreadControl g_controls[kMaxServerThreads];
ServerThread g_threads[kMaxServerThreads];

// Thread `index` (its CPU's number) serves.
int64_t serve(uint64_t index)
{
    ServerThread& thread = g_threads[index];
    thread.set_index(index);
    ipc::SyscallTransport transport(nullptr); // words only: no IPC buffer
    ipc::Error error = ipc::serve<ipc::memory::Protocol>(transport, abi::kMemoryEndpointHandle, thread);
    user::debug_write("memory: receiving failed:");
    user::debug_write(ipc::error_name(error));
    return 1;
}

// Threads for CPUs 1 and up (the main thread serves CPU 0); how many
// threads serve in all.
size_t start_threads()
{
    abi::SelfInfo info {};
    size_t cpus = user::self_info(&info) == 0 ? static_cast<size_t>(info.cpu_count) : 1;
    size_t threads = 1;
    for (size_t cpu = 1; cpu < cpus && cpu < kMaxServerThreads; ++cpu) {
        if (user::thread_start_on(g_controls[cpu], g_stacks[cpu], kServerStackBytes, serve, cpu, cpu) < 0) {
            user::debug_write("memory: cannot start a server thread; fewer CPUs serve faults");
            break;
        }
        ++threads;
    }
    return threads;
}

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
    return true;
}

} // namespace

extern "C" int64_t herald_main(uint64_t)
{
    if (!start())
        return 1;
    size_t threads = start_threads();
    user::debug_write(threads == 1 ? "memory: serving page faults and the memory protocol (1 thread)"
                                   : "memory: serving page faults and the memory protocol (a thread per CPU)");
    return serve(0);
}

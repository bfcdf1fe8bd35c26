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
// once), and is zeroed with the lock let go; one system call, MemoryMapReply,
// then maps it, answers the fault and receives the next message, and the
// fault in flight ends (the books) once the map's result is known
// (docs/memory.md, "A fault in flight"). Their stacks are static: the server's own faults are
// never served (they kill it), and .bss is mapped when the kernel loads it.
#include <stddef.h>
#include <stdint.h>

#include "libipc/syscalls.hpp"
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
// How a fault's frame is mapped (MemoryService::map_fault's flags).
constexpr uint64_t kFaultMapFlags = abi::MapWritable | abi::MapZeroed;

// What MemoryMap's (and MemoryMapReply's) result means to the service.
memory::Backend::Map map_result(int64_t result)
{
    if (result == 0)
        return memory::Backend::Map::Mapped;
    // BadArgument: a page is mapped there (the frame and flags are ours, and right).
    return result == static_cast<int64_t>(abi::SyscallError::BadArgument) ? memory::Backend::Map::Occupied
                                                                           : memory::Backend::Map::Refused;
}

class SyscallBackend final : public memory::Backend {
public:
    Map map(uint64_t task, uint64_t address, uint64_t frame, uint64_t flags) override
    {
        return map_result(syscall5(number_of(abi::SyscallNumber::MemoryMap), kControl, task, address, frame, flags));
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
// first ends the faults that are mapped and answered (finish_answered_faults:
// the books are then as exact as before MemoryMapReply, Stats's figures
// included); one over pages with a fault still in flight
// (MemoryService::must_wait) lets the lock go until the fault is finished.
class ServerThread {
public:
    template<typename Operation, typename Request>
    auto handle(Operation operation, const Request& request, ipc::Badge badge)
    {
        Guard guard(s_lock);
        finish_answered_faults();
        while (g_service.must_wait(operation, request, badge)) {
            if (!finish_answered_faults())
                guard.wait();
        }
        return g_service.handle(operation, request, badge);
    }
    // A page fault holds the lock twice for its books; the zeroing (512
    // REP STOSQ iterations) and the map run with it let go, so that faults
    // on other CPUs wait only for the books. A fault with a frame is
    // answered by reply_receive (MemoryMapReply), with the frame mapped.
    ipc::KernelMessage on_kernel_message(const ipc::Message& in, ipc::Message& reply)
    {
        if (!memory::MemoryService::is_page_fault(in)) {
            Guard guard(s_lock);
            return g_service.on_kernel_message(in, reply);
        }
        reply = ipc::make_message(abi::kPageFaultLabel);
        {
            Guard guard(s_lock);
            m_fault = g_service.begin_fault(m_index, in.words[0], in.words[1], in.words[2]);
            if (!m_fault.has_frame) {
                reply.words[0] = static_cast<uint64_t>(m_fault.verdict);
                return ipc::KernelMessage::Answered;
            }
            // The word from the last fault said 0 (mapped): reset under the
            // lock, before another thread may look at it.
            __atomic_store_n(&m_outcome, abi::kMapReplyPending, __ATOMIC_RELAXED);
            m_in_flight = true;
        }
        g_backend.zero(m_fault.frame); // map_fault's first half; MemoryMapReply is its second
        m_map_on_reply = true;
        reply.words[0] = static_cast<uint64_t>(abi::PageFaultVerdict::Resolved); // what MemoryMapReply answers
        return ipc::KernelMessage::Answered;
    }
    // The answer and the next message (FaultTransport): after a fault with
    // a frame, one MemoryMapReply. If the frame was mapped, the fault is
    // answered and what came back is the next message; if not (the outcome
    // word says why, or still kMapReplyPending: refused before the map, no
    // call to answer), the fault was not answered: its verdict goes as any
    // answer. The fault in flight ends first, either way.
    ipc::Result<ipc::Message> reply_receive(ipc::Handle endpoint, const ipc::Message& reply)
    {
        if (!m_map_on_reply)
            return ipc::sys::reply_receive(endpoint, reply);
        m_map_on_reply = false;
        ipc::sys::Registers registers { endpoint, kControl,
            { m_fault.page, m_fault.frame, kFaultMapFlags, reinterpret_cast<uint64_t>(&m_outcome), 0, 0, 0, 0 } };
        int64_t status = ipc::sys::message_syscall(abi::SyscallNumber::MemoryMapReply, registers);
        int64_t outcome = __atomic_load_n(&m_outcome, __ATOMIC_ACQUIRE);
        abi::PageFaultVerdict verdict = finish_own(outcome);
        if (outcome == 0) {
            IPC_TRY(ipc::sys::ok_or_error(status)); // answered; the receive failed
            return ipc::sys::detail::message_from(registers, true);
        }
        ipc::Message answer = ipc::make_message(abi::kPageFaultLabel);
        answer.words[0] = static_cast<uint64_t>(verdict);
        return ipc::sys::reply_receive(endpoint, answer);
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
    // Ends this thread's fault in flight, unless another thread did (it
    // does so only once the word says mapped).
    abi::PageFaultVerdict finish_own(int64_t outcome)
    {
        Guard guard(s_lock);
        if (!m_in_flight)
            return abi::PageFaultVerdict::Resolved;
        return finish(outcome);
    }
    // Under the lock.
    abi::PageFaultVerdict finish(int64_t outcome)
    {
        m_in_flight = false;
        return g_service.finish_fault(m_fault, map_result(outcome));
    }
    static bool finish_answered_faults();

    static ServiceLock s_lock;
    size_t m_index { 0 }; // its batch and fault slot in the service
    memory::MemoryService::PendingFault m_fault; // its fault in flight, if m_in_flight
    bool m_in_flight { false };    // under s_lock
    bool m_map_on_reply { false }; // its own: the next reply_receive is a MemoryMapReply
    // MemoryMapReply's outcome word (abi::kMapReplyPending): the kernel
    // stores the map's result here before it answers the fault.
    alignas(8) int64_t m_outcome { abi::kMapReplyPending };
};

ServiceLock ServerThread::s_lock;

// A server thread's transport: the system calls (words only: no IPC
// buffer), but the answer to a fault goes through its ServerThread
// (MemoryMapReply).
class FaultTransport final : public ipc::Transport {
public:
    explicit FaultTransport(ServerThread& thread) : m_thread(thread) { }
    ipc::Result<ipc::Message> receive(ipc::Handle endpoint) override { return ipc::sys::receive(endpoint); }
    ipc::Result<ipc::Message> reply_receive(ipc::Handle endpoint, const ipc::Message& reply) override
    {
        return m_thread.reply_receive(endpoint, reply);
    }
    ipc::Result<void> close(ipc::Handle handle) override { return ipc::sys::handle_close(handle); }
    uint8_t* payload() override { return nullptr; }

private:
    ServerThread& m_thread;
};

constexpr size_t kMaxServerThreads = memory::MemoryService::kMaxServerThreads; // CPUs beyond get their faults answered by another CPU's thread
constexpr size_t kServerStackBytes = 16 * 1024;
alignas(16) uint8_t g_stacks[kMaxServerThreads][kServerStackBytes];
user::ThreadControl g_controls[kMaxServerThreads];
ServerThread g_threads[kMaxServerThreads];

// A fault whose frame is mapped and whose answer has gone is in flight
// until its thread comes back from MemoryMapReply, which waits for that
// thread's next message: maybe long, while a Shrink or Release of a
// sibling of the faulting thread waits for the fault, or the faulting task
// asks for Stats (a heap fault in flight still counts as promised). So a
// thread serving a request ends, under the lock, every fault whose outcome
// word says mapped; whether it ended any.
bool ServerThread::finish_answered_faults()
{
    if (g_service.faults_in_flight() == 0)
        return false;
    bool ended = false;
    for (ServerThread& thread : g_threads) {
        if (thread.m_in_flight && __atomic_load_n(&thread.m_outcome, __ATOMIC_ACQUIRE) == 0) {
            (void)thread.finish(0);
            ended = true;
        }
    }
    return ended;
}

// Thread `index` (its CPU's number) serves.
int64_t serve(uint64_t index)
{
    ServerThread& thread = g_threads[index];
    thread.set_index(index);
    FaultTransport transport(thread);
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

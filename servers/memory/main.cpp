// memory: the memory server (docs/memory.md). The first task the kernel
// starts. It holds the frame table of every frame above the kernel's own
// memory, sees those frames through its memory view (abi::kMemoryViewBase),
// maps them into other tasks with its MemoryControl handle, and serves two
// kinds of message on its endpoint:
//   - page faults, which the kernel sends in a faulting thread's name
//     (badge abi::kKernelBadge): it answers with a PageFaultVerdict;
//   - the memory protocol (libipc/protocols/memory.hpp) from every task,
//     each badged by the kernel with the caller's task id.
// MemoryService (memory_service.hpp) answers both; this file is its ring-3
// backend and loop: a page fault goes from the registers it came in
// straight to the service and to MemoryMapReply (ServerThread::serve_fault,
// no ipc::Message built), everything else through ipc::serve_one. The ring-0
// placement is microkernel/services/memory_in_kernel.cpp.
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
// (docs/memory.md, "A fault in flight"). Their stacks are static: the
// server's own faults are never served (they kill it), and .bss is mapped
// when the kernel loads it.
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
constexpr uint64_t kEndpoint = abi::kMemoryEndpointHandle;
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
    // Messages the kernel sends but a page fault (the fault-injection
    // request): serve()'s loop takes every page fault to serve_fault first
    // (its test on the registers is MemoryService::is_page_fault's).
    ipc::KernelMessage on_kernel_message(const ipc::Message& in, ipc::Message& reply)
    {
        Guard guard(s_lock);
        return g_service.on_kernel_message(in, reply);
    }
    // The loop: page faults from register to register (serve_fault), every
    // other message through ipc::serve_one, as ipc::serve would. Returns
    // only if receiving fails, with the error.
    ipc::Error serve(ipc::Transport& transport);
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
    int64_t serve_fault(ipc::sys::Registers& registers);
    int64_t answer_fault(ipc::sys::Registers& registers, abi::PageFaultVerdict verdict);

    static ServiceLock s_lock;
    size_t m_index { 0 }; // its batch and fault slot in the service
    memory::MemoryService::PendingFault m_fault; // its fault in flight, if m_in_flight
    bool m_in_flight { false };    // under s_lock
    // MemoryMapReply's outcome word (abi::kMapReplyPending, set before each
    // call): the kernel stores the map's result here before it answers the
    // fault.
    alignas(8) int64_t m_outcome { abi::kMapReplyPending };
};

ServiceLock ServerThread::s_lock;

// A server thread's transport for the messages that are not page faults:
// the system calls, words only (no IPC buffer: the memory protocol has no
// payloads).
class WordTransport final : public ipc::Transport {
public:
    ipc::Result<ipc::Message> receive(ipc::Handle endpoint) override { return ipc::sys::receive(endpoint); }
    ipc::Result<ipc::Message> reply_receive(ipc::Handle endpoint, const ipc::Message& reply) override
    {
        return ipc::sys::reply_receive(endpoint, reply);
    }
    ipc::Result<void> close(ipc::Handle handle) override { return ipc::sys::handle_close(handle); }
    uint8_t* payload() override { return nullptr; }
};

constexpr size_t kMaxServerThreads = memory::MemoryService::kMaxServerThreads; // CPUs beyond get their faults answered by another CPU's thread
constexpr size_t kServerStackBytes = 16 * 1024;
alignas(16) uint8_t g_stacks[kMaxServerThreads][kServerStackBytes];
user::ThreadControl g_controls[kMaxServerThreads];
ServerThread g_threads[kMaxServerThreads];

// A fault whose frame is mapped and whose answer has gone is in flight
// until its thread's next fault (serve_fault ends it under the lock it
// takes then): MemoryMapReply waits for that thread's next message, maybe
// long, while a Shrink or Release of a
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

// A page fault as the kernel sends it, seen in the registers of the
// message received: MemoryService::is_page_fault (the kernel's badge, the
// label, no payload, no handle) on RDI and RSI, without building an
// ipc::Message.
constexpr uint64_t kPageFaultInfo = abi::MessageInfo { abi::kPageFaultLabel, 0, false }.encode();

bool is_page_fault(const ipc::sys::Registers& registers)
{
    return registers.rdi == abi::kKernelBadge && registers.rsi == kPageFaultInfo;
}

// What a system call that answered and received left: a message in the
// registers (status 0), or an error. As in ipc::serve, an answer nobody
// waited for (NoReply, PeerGone) is no reason to stop: receive afresh.
int64_t received_after_answer(int64_t status, ipc::sys::Registers& registers)
{
    if (status != static_cast<int64_t>(ipc::Error::NoReply) && status != static_cast<int64_t>(ipc::Error::PeerGone))
        return status;
    registers = { kEndpoint, 0, {} };
    return ipc::sys::message_syscall(abi::SyscallNumber::IpcReceive, registers);
}

// A page fault, from the registers it came in to the registers of the next
// message. The lock is held for the books (begin_fault; finish_fault once
// the map's result is known); the zeroing (512 REP STOSQ iterations) and
// the map run with it let go, so that faults on other CPUs wait only for
// the books. A fault mapped and answered ends under the lock the thread's
// next fault takes anyway (or any thread's next request, by its word:
// finish_answered_faults): it is in flight until the thread's next
// message either way, and one lock a fault the fewer (27 instructions). A
// fault with a frame is answered by MemoryMapReply, which maps the frame,
// answers and receives: the map's first half (MemoryService::map_fault's)
// is the zeroing here. If the frame was not mapped (the outcome word says
// why, or still kMapReplyPending: refused before the map, no call to
// answer), or was mapped with nothing answered (kMapReplyUnanswered), its
// verdict goes by ReplyReceive. The fault in flight ends first, either way.
int64_t ServerThread::serve_fault(ipc::sys::Registers& registers)
{
    {
        Guard guard(s_lock);
        // The last fault, mapped and answered (its word says 0), unless
        // another thread ended it.
        if (m_in_flight)
            (void)finish(__atomic_load_n(&m_outcome, __ATOMIC_RELAXED));
        m_fault = g_service.begin_fault(m_index, registers.words[0], registers.words[1], registers.words[2]);
        if (m_fault.has_frame) {
            // The word from the last fault said 0 (mapped): reset under the
            // lock, before another thread may look at it.
            __atomic_store_n(&m_outcome, abi::kMapReplyPending, __ATOMIC_RELAXED);
            m_in_flight = true;
        }
    }
    if (!m_fault.has_frame)
        return answer_fault(registers, m_fault.verdict);
    g_backend.zero(m_fault.frame);
    registers = { kEndpoint, kControl,
        { m_fault.page, m_fault.frame, kFaultMapFlags, reinterpret_cast<uint64_t>(&m_outcome), 0, 0, 0, 0 } };
    int64_t status = ipc::sys::message_syscall(abi::SyscallNumber::MemoryMapReply, registers);
    if (status == 0)
        return 0; // mapped, answered (the word says 0), the next message in: the fault ends with the next one's books
    // Mapped if the word says 0 (answered; the receive failed), or if the
    // status says so whatever the word says: kMapReplyUnanswered (the word
    // could not be written, nothing answered). That status cannot come here:
    // m_outcome is in .bss, always mapped and writable; the branch is
    // defence, should the word ever move. (A caller whose task was killed
    // meanwhile: the kernel ended its wait as it gave the right back, so the
    // verdict's ReplyReceive finds nobody and just receives; a page mapped
    // into the dying task comes back through MemoryReclaim.)
    int64_t outcome = status == abi::kMapReplyUnanswered ? 0 : __atomic_load_n(&m_outcome, __ATOMIC_ACQUIRE);
    abi::PageFaultVerdict verdict = finish_own(outcome);
    if (outcome == 0 && status != abi::kMapReplyUnanswered)
        return received_after_answer(status, registers);
    return answer_fault(registers, verdict);
}

// Answers a fault with its verdict and receives the next message.
int64_t ServerThread::answer_fault(ipc::sys::Registers& registers, abi::PageFaultVerdict verdict)
{
    registers = { kEndpoint, kPageFaultInfo, { static_cast<uint64_t>(verdict), 0, 0, 0, 0, 0, 0, 0 } };
    return received_after_answer(ipc::sys::message_syscall(abi::SyscallNumber::IpcReplyReceive, registers), registers);
}

// A message received as ipc::serve_one takes it, and the next one back in
// registers.
ipc::Result<ipc::Message> message_of(int64_t status, const ipc::sys::Registers& registers)
{
    IPC_TRY(ipc::sys::ok_or_error(status));
    return ipc::sys::detail::message_from(registers, true);
}

ipc::sys::Registers registers_of(const ipc::Message& message)
{
    ipc::sys::Registers registers { message.badge,
        abi::MessageInfo { message.label, message.payload_length, message.transfer_handle }.encode(), {} };
    for (size_t i = 0; i < ipc::kMessageWords; ++i)
        registers.words[i] = message.words[i];
    return registers;
}

ipc::Error ServerThread::serve(ipc::Transport& transport)
{
    ipc::sys::Registers registers { kEndpoint, 0, {} };
    int64_t status = ipc::sys::message_syscall(abi::SyscallNumber::IpcReceive, registers);
    for (;;) {
        if (status >= 0 && is_page_fault(registers)) {
            status = serve_fault(registers);
            continue;
        }
        ipc::Result<ipc::Message> in = message_of(status, registers);
        if (in.is_error())
            return in.error();
        ipc::Result<ipc::Message> next = ipc::serve_one<ipc::memory::Protocol>(transport, kEndpoint, *this, in.value());
        if (next.is_error())
            return next.error();
        status = 0;
        registers = registers_of(next.value());
    }
}

// Thread `index` (its CPU's number) serves.
int64_t serve(uint64_t index)
{
    ServerThread& thread = g_threads[index];
    thread.set_index(index);
    WordTransport transport;
    ipc::Error error = thread.serve(transport);
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

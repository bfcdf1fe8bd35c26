// Self-test of the IPC payload copy against a MemoryUnmap of the receiver's
// buffer (docs/memory.md, "Views"; docs/security.md, "IPC payloads"): the
// kernel looks the receiver's buffer page up, then copies into its frame
// through the physmap. If a sibling thread of the receiver had the page
// released in between, and the frame went back to the memory server, the
// copy would write into a frame that may be another task's by then.
//
// The window is a few hundred instructions, too short to hit at will; a
// hook of the copy (g_payload_copy_hook, set only here) holds it open: once
// both pages are looked up, it marks the receiver's page, and waits, with
// interrupts off as the copy runs, until another CPU is seen waiting for a
// view (smp/page_views.hpp, page_view_waits()), or the receiver's Release
// has been answered, or kWindowMs have passed. The receiver
// (user/programs/threads.cpp, kCopyIntoReleasedBuffer) Releases the page as
// soon as it sees the mark, and sleeps once the server has answered. The
// memory server and the receiver run on one CPU, the sender (kCopySender),
// and so the copy, on another.
//
// With the copy's views (mm/address_space.hpp) the server's MemoryUnmap
// waits for the copy, and is counted waiting: the case passes only if it
// was (whether the Release looks unanswered proves nothing: a slow server
// looks so too, and in ring 0 the receiver's thread runs the service). In
// ring 0 the Release is answered in the receiver's thread, which runs the
// same MemoryUnmap and wait.
// Without them (the plain translate() there was before) the Release is
// answered while the copy waits, nobody waits for a view, and the test
// fails: the frame was back with the memory server, free for any task,
// before the copy wrote into it. qemu-selftest-ipc-copy-caught (and
// -monolithic, the service in ring 0) check that it does, with
// `page_views=off` (MemoryUnmap then does not wait for views).
//
// The ring-0 memory service settles an unmap (the shootdown, the wait for
// views) with its lock let go (services/memory_in_kernel.cpp), so a page
// fault on a third CPU goes on while the Release waits for the copy: with
// three CPUs or more and the service in ring 0, once the hook sees the
// wait, a kernel thread on a third CPU resolves a fault of the sender's
// task (a page of its stack region) and the hook waits for it, up to
// kWindowMs. With the wait under the service's lock (as it was) the fault
// spins for that lock until the hook gives up, and the case fails.
//
// With one CPU the case skips (listed in tests/qemu/CMakeLists.txt): the
// copy is held open with interrupts off, so the Release must run on another.
#include "microkernel/arch/x86_64/cpu.hpp"
#include "microkernel/arch/x86_64/tsc.hpp"
#include "microkernel/ipc/ipc.hpp"
#include "microkernel/log.hpp"
#include "microkernel/mm/address_space.hpp"
#include "microkernel/object/endpoint.hpp"
#include "microkernel/pager/pager.hpp"
#include "microkernel/sched/scheduler.hpp"
#include "microkernel/smp/page_views.hpp"
#include "microkernel/smp/processor.hpp"
#include "microkernel/task/task.hpp"
#include "programs.hpp"

using namespace herald;
using namespace herald::selftest;

namespace {

// user/programs/threads.cpp
constexpr u64 kCopyIntoReleasedBuffer = 11;
constexpr u64 kCopySender = 12;
constexpr u64 kEndpointHandle = 8;
constexpr u64 kMarkOffset = 4088;
constexpr u64 kMark = 0x4B52'414D'5950'4F43ull; // "COPYMARK"

// How long the hook holds the copy back at most: ample for the receiver to
// see the mark and the server to reach its wait (a few ms) on a loaded host.
constexpr u64 kWindowMs = 1000;
// How long the receiver gets to block in its receive before the send.
constexpr u64 kReceiverStartMs = 10'000;

struct Window {
    const AddressSpace* receiver { nullptr }; // whose copy the hook holds back
    u64 receiver_task { 0 };
    bool ran { false };
    bool copied_by_sender { false };    // the copy ran in the sender's thread, on its CPU
    bool release_answered { false };    // within the window: the frame was the server's again
    bool view_waited { false };         // within the window: a MemoryUnmap waited for a view
    bool fault_armed { false };         // a faulter waits on a third CPU (ring 0)
    bool fault_went_on { false };       // it resolved its fault while the unmap waited
};

Window g_window;

// The fault on a third CPU while the Release waits (ring 0 only).
struct Faulter {
    Thread* thread { nullptr }; // whose task faults: the sender's, held in the copy
    bool go { false };
    bool cancel { false };
    bool done { false };
    bool exited { false };
    abi::PageFaultVerdict verdict { abi::PageFaultVerdict::Invalid };
};

Faulter g_faulter;
// A page of the stack region far below the sender's stack (its threads'
// slots are unused): the pager maps a frame there, or finds one mapped.
constexpr u64 kFaultAddress = abi::kUserStackBottom + 8 * abi::kPageSize;
constexpr u64 kNotPresentWrite = 0b110;

void fault_when_told(u64)
{
    while (!__atomic_load_n(&g_faulter.go, __ATOMIC_ACQUIRE) && !__atomic_load_n(&g_faulter.cancel, __ATOMIC_ACQUIRE))
        x86::pause();
    if (__atomic_load_n(&g_faulter.go, __ATOMIC_ACQUIRE)) {
        g_faulter.verdict = pager_resolve_fault(*g_faulter.thread, kFaultAddress, kNotPresentWrite);
        __atomic_store_n(&g_faulter.done, true, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&g_faulter.exited, true, __ATOMIC_RELEASE);
    scheduler_exit_current();
}

// Has the faulter resolve its fault while the copy is held, and waits for it
// (up to `deadline_ms` since boot): whether it went on.
bool a_fault_goes_on_meanwhile(u64 deadline_ms)
{
    g_faulter.thread = &current_thread();
    __atomic_store_n(&g_faulter.go, true, __ATOMIC_RELEASE);
    while (tsc::ms_since_boot().value_or(0) < deadline_ms) {
        if (__atomic_load_n(&g_faulter.done, __ATOMIC_ACQUIRE))
            return true;
        x86::pause();
    }
    return false;
}

bool receiver_sleeps(ThreadState state) { return state == ThreadState::Sleeping; }

void hold_the_copy_open(const AddressSpace& destination, u8* page)
{
    if (&destination != g_window.receiver || g_window.ran)
        return;
    g_window.ran = true;
    g_window.copied_by_sender = current_thread().task->address_space != &destination;
    u64 waits = page_view_waits();
    *reinterpret_cast<volatile u64*>(page + kMarkOffset) = kMark;
    u64 start = tsc::ms_since_boot().value_or(0);
    while (tsc::ms_since_boot().value_or(0) - start < kWindowMs) {
        if (page_view_waits() != waits) {
            g_window.view_waited = true; // the copy may go on: the waiter is seen
            if (g_window.fault_armed)
                g_window.fault_went_on = a_fault_goes_on_meanwhile(start + 2 * kWindowMs);
            return;
        }
        auto main = main_thread_snapshot(g_window.receiver_task);
        if (main && receiver_sleeps(main->state)) {
            g_window.release_answered = true;
            return;
        }
        x86::pause();
    }
}

// Whether a thread waits in a receive on `endpoint`.
bool receiver_queued(Endpoint& endpoint)
{
    SpinLockGuard guard(endpoint.lock);
    return !endpoint.receivers.is_empty();
}

// The memory server's entry in the task list (its CPU).
Optional<abi::TaskListEntry> memory_server()
{
    abi::TaskListEntry entries[16];
    usize from = 0;
    for (;;) {
        usize next = 0;
        usize count = list_tasks(from, entries, 16, next);
        for (usize i = 0; i < count; ++i) {
            if (StringView::from_bounded(entries[i].name, sizeof(entries[i].name)) == "memory")
                return entries[i];
        }
        if (count == 0 || next >= kMaxTasks)
            return nullopt;
        from = next;
    }
}

SpawnOptions with_endpoint(Endpoint& endpoint, u32 rights, u64 parameter, usize cpu)
{
    SpawnOptions options;
    options.parameter = parameter;
    options.cpu = cpu;
    options.handles[0] = InitialHandle { &endpoint, rights, 0, kEndpointHandle };
    return options;
}

} // namespace

HERALD_SELFTEST(an_ipc_copy_keeps_the_frame_of_a_buffer_page_released_meanwhile)
{
    if (processor_count() < 2)
        return skip("one CPU: the copy is held open with interrupts off, and the Release must run on another");
    // In ring 0 the service answers the Release in the receiver's thread, on
    // its CPU: 0 then.
    auto server = memory_server();
    EXPECT(server.has_value() || pager_in_kernel());
    usize server_cpu = server ? server->cpu : 0;
    usize sender_cpu = (server_cpu + 1) % processor_count();
    Ref<Endpoint> endpoint = Endpoint::create();
    EXPECT(endpoint.ptr() != nullptr);
    if (!endpoint)
        return;
    u64 receiver = spawn("threads",
        with_endpoint(*endpoint, abi::RightReceive, kCopyIntoReleasedBuffer | server_cpu << 8, server_cpu));
    if (!receiver)
        return;
    Ref<AddressSpace> space = address_space_of(receiver);
    EXPECT(static_cast<bool>(space));
    g_window = Window { space.ptr(), receiver };
    g_faulter = Faulter {};
    usize fault_cpu = (sender_cpu + 1) % processor_count();
    if (pager_in_kernel() && processor_count() >= 3 && fault_cpu != server_cpu) {
        auto faulter = create_kernel_thread("faulter", fault_when_told, 0);
        EXPECT(!faulter.is_error());
        if (!faulter.is_error()) {
            scheduler_enqueue_on(*faulter.value(), fault_cpu);
            g_window.fault_armed = true;
        }
    }
    __atomic_store_n(&g_payload_copy_hook, hold_the_copy_open, __ATOMIC_RELEASE);
    EXPECT(eventually([&] { return receiver_queued(*endpoint); }, kReceiverStartMs));
    u64 sender = spawn("threads", with_endpoint(*endpoint, abi::RightSend, kCopySender, sender_cpu));
    endpoint.clear(); // the tasks' handles keep it alive
    auto sent = wait_for_exit(sender, 20'000);
    auto received = wait_for_exit(receiver, 20'000);
    __atomic_store_n(&g_payload_copy_hook, static_cast<PayloadCopyHook>(nullptr), __ATOMIC_RELEASE);
    __atomic_store_n(&g_faulter.cancel, true, __ATOMIC_RELEASE);
    if (g_window.fault_armed)
        EXPECT(eventually([] { return __atomic_load_n(&g_faulter.exited, __ATOMIC_ACQUIRE); }, 5000));
    space.clear();
    EXPECT(sent.has_value() && !sent->killed && sent->status == 0);
    EXPECT(received.has_value() && !received->killed && received->status == 0);
    EXPECT(g_window.ran);
    EXPECT(g_window.copied_by_sender); // else the receiver was not waiting yet: nothing raced
    if (g_window.release_answered)
        klog("selftest: FAIL: the memory server had the receiver's buffer frame back before the IPC copy wrote into it");
    EXPECT(!g_window.release_answered);
    EXPECT(g_window.view_waited); // the Release came within the window, and waited for the copy
    if (g_window.fault_armed) {
        if (!g_window.fault_went_on)
            klog("selftest: FAIL: a page fault on CPU {} waited for the memory service while its unmap waited for a view", fault_cpu);
        EXPECT(g_window.fault_went_on);
        EXPECT(g_faulter.verdict == abi::PageFaultVerdict::Resolved);
    } else {
        klog("selftest: no fault raced the unmap's wait (the service is not in ring 0, or fewer than 3 CPUs)");
    }
}

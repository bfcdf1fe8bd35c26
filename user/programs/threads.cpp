// threads: threads in one task (docs/syscalls.md, "Threads"), for the
// self-tests in tests/insystem/thread_tests.cpp. The parameter's low byte
// picks what it does, bits 8-15 a thread count:
//
//   kChecks        bad arguments get their errors (bad entry, kernel-half or
//                  misaligned stack, bad CPU, join itself, join a thread of
//                  another task or one already joined, a bad out pointer,
//                  a kernel FS base), join returns each thread's value, the
//                  thread table fills at abi::kMaxThreads, each thread keeps
//                  its own thread-local storage (FS) across switches, a
//                  handle sent by a queued thread arrives as it was checked
//                  though a sibling reused its index meanwhile.
//                  Exits 0, or the number of the first check that failed.
//   kIpcAndFaults  N server threads and N client threads, thread i of each
//                  pinned to CPU i % CPUs, on one endpoint of the task's own:
//                  checksummed calls; meanwhile every client touches fresh heap
//                  pages of its own and the same fresh pages as all the
//                  others (page faults through the pager, on N CPUs, some on
//                  one page at once). Exits 0, or what went wrong.
//   kBlockForever  threads wait in every way there is (receive, a call nobody
//                  answers, a notification, a sleep, a join, a spin on
//                  another CPU), then the main thread prints "threads: all
//                  blocked" and waits too: for the test to kill the task.
//   kFaultWhileBlocked  the same waits, then one thread writes to address 0:
//                  the whole task is killed by the page fault.
//   kExitWhileBlocked   the same waits, then one thread calls Exit(5): the
//                  task ends with 5, every thread with it.
//   kMainExitsFirst the main thread ends with ThreadExit while another runs
//                  on; that last thread's value (7) is the task's status.
//   kStaleTlb      a reader thread on CPU (bits 8-15) spins reading a heap page
//                  while a thread on CPU (bits 16-23: the memory server's,
//                  so that the reader's CPU is another) has the server Release it
//                  (MemoryUnmap, then the frame goes back to the free list):
//                  the reader must fault and see the pager's fresh zeroed
//                  page within 2 s, 5 times over; if it goes on reading the old frame
//                  through a stale TLB entry, exits 3 (docs/memory.md, "TLB
//                  shootdown").
//   kReleaseWhileFaulting  N threads, one per CPU, write and read back
//                  their own word in each of 32 heap pages, over and over,
//                  while the main thread Releases those pages again and again:
//                  faults in flight on every CPU race the Release (the memory
//                  server's Release waits for them: docs/memory.md, "A fault
//                  in flight"). A word reads back as written, or 0 when the
//                  page was released in between (a fresh zeroed frame); any
//                  other value is another frame's data: exits 2. Exits 0.
//   kStackOverflow  a thread sleeps (on stack slot 0), another (on slot 1,
//                  just above it) recurses without end: it must fault on
//                  its own guard page, not run on into its sibling's stack,
//                  and the task is killed ("stack overflow in thread N").
//                  Before it recurses, a system call writing into its guard
//                  must be refused (exits 13 or 14 if not).
//                  Exits 1 if the recursion's join ever returns.
//   kThreadLocalVariables  ELF thread-local storage (PT_TLS): the main
//                  thread and N threads on every CPU each find the
//                  initialised variables at their initial values, the
//                  zero-initialised ones zero and the over-aligned one
//                  aligned, write their own values, yield, and read them
//                  back; no two threads share an address. Exits 0, or the
//                  number of the first check that failed.
//   kCopyIntoReleasedBuffer  the receiving side of the IPC copy race
//                  (tests/insystem/ipc_copy_tests.cpp; docs/memory.md,
//                  "Views"): a thread takes a fresh heap page as its IPC
//                  buffer and receives on the endpoint at handle 8; the main
//                  thread, on the same CPU (bits 8-15), waits until the
//                  kernel's test hook marks that page (the payload's copy
//                  into it is held open then), has the memory server Release
//                  it, and then sleeps (the hook sees that the Release was
//                  answered). Exits 0 once the message came and the Release
//                  answered.
//   kCopySender    sends one message of kCopyBytes of payload on the
//                  endpoint at handle 8. Exits 0 if the send succeeded.
#include "libipc/protocols/memory.hpp"
#include "libipc/syscall_transport.hpp"
#include "libipc/syscalls.hpp"
#include "microkernel/abi/task.hpp"
#include "user/runtime/herald.hpp"
#include "user/runtime/syscall.hpp"
#include "user/runtime/thread.hpp"

using namespace herald;
using namespace herald::user;

namespace {

enum Mode : uint64_t {
    kChecks = 1,
    kIpcAndFaults = 2,
    kBlockForever = 3,
    kFaultWhileBlocked = 4,
    kExitWhileBlocked = 5,
    kMainExitsFirst = 6,
    kStaleTlb = 7,
    kReleaseWhileFaulting = 8,
    kStackOverflow = 9,
    kThreadLocalVariables = 10,
    kCopyIntoReleasedBuffer = 11,
    kCopySender = 12,
};

constexpr int64_t kBadAddress = static_cast<int64_t>(SyscallError::BadAddress);
constexpr int64_t kBadArgument = static_cast<int64_t>(SyscallError::BadArgument);
constexpr int64_t kNoMemory = static_cast<int64_t>(SyscallError::NoMemory);
constexpr uint64_t kKernelAddress = 0xFFFF'FFFF'8010'0000ull;
constexpr uint64_t kPage = 4096;

uint64_t cpu_count()
{
    SelfInfo info {};
    self_info(&info);
    return info.cpu_count;
}

uint64_t my_thread_id()
{
    SelfInfo info {};
    self_info(&info);
    return info.thread_id;
}

// ---- kChecks ----

int64_t return_argument(uint64_t argument) { return static_cast<int64_t>(argument); }
// Its line, without a '\n', is printed by thread_exit (the selftest-smp
// runs look for it): not lost with the thread's buffer.
int64_t exit_with_minus_seven(uint64_t)
{
    print("threads: the last line of a thread that exits");
    thread_exit(-7);
}
int64_t sleep_a_while(uint64_t milliseconds)
{
    sleep_ms(milliseconds);
    return 0;
}

// Each thread keeps its own slot through switches (sleeps and yields move
// the CPU to other threads, whose FS base is another).
int64_t keep_local(uint64_t seed)
{
    thread_local_slot(0) = seed;
    thread_local_slot(1) = ~seed;
    for (int i = 0; i < 20; ++i) {
        if (i % 4 == 0)
            sleep_ms(1);
        else
            yield();
        if (thread_local_slot(0) != seed || thread_local_slot(1) != ~seed)
            return 1;
    }
    return 0;
}

// The handle a queued sender sends arrives as it was when the send was
// checked, although a sibling closed its index and reused it meanwhile
// (docs/ipc.md, "Threads"): both threads on CPU 0, so the sender has queued
// itself before the other wakes from its sleep.
ipc::Handle g_transfer_endpoint;
ipc::Handle g_transfer_sent;

int64_t send_with_handle(uint64_t)
{
    ipc::Message message = ipc::make_message(9);
    message.transfer_handle = true;
    message.words[7] = g_transfer_sent;
    return ipc::sys::send(g_transfer_endpoint, message).is_error() ? 1 : 0;
}

int64_t transfer_survives_reuse(uint64_t)
{
    auto endpoint = ipc::sys::endpoint_create();
    auto sent = ipc::sys::notification_create();
    if (endpoint.is_error() || sent.is_error())
        return 1;
    g_transfer_endpoint = endpoint.value();
    g_transfer_sent = sent.value();
    ThreadControl* sender = thread_create(send_with_handle, 0, 0);
    if (!sender)
        return 2;
    sleep_ms(50); // the sender (queued behind us on CPU 0) sends and waits meanwhile
    if (ipc::sys::handle_close(g_transfer_sent).is_error())
        return 3;
    auto reused = ipc::sys::endpoint_create(); // the lowest free index: the one just closed
    if (reused.is_error() || reused.value() != g_transfer_sent)
        return 4;
    auto got = ipc::sys::receive(g_transfer_endpoint);
    if (got.is_error() || !got.value().transfer_handle)
        return 5;
    // A notification, as sent (the endpoint now at the index would refuse a signal).
    if (ipc::sys::signal(got.value().words[7], 1).is_error())
        return 6;
    int64_t value = -1;
    if (thread_join(sender, &value) != 0 || value != 0)
        return 7;
    return 0;
}

int64_t checks()
{
    int check = 0;
    auto expect = [&](bool ok) { ++check; return ok; };
    uint64_t entry = reinterpret_cast<uint64_t>(&herald_thread_start);
    void* stack = malloc(kThreadStackBytes);
    uint64_t top = (reinterpret_cast<uint64_t>(stack) + kThreadStackBytes) & ~uint64_t(15);
    uint64_t data = reinterpret_cast<uint64_t>(stack); // heap: not executable

    if (!expect(sys_thread_create(0, top, 0, kAnyCpu) == kBadAddress)) return check;                 // 1
    if (!expect(sys_thread_create(kKernelAddress, top, 0, kAnyCpu) == kBadAddress)) return check;    // 2
    if (!expect(sys_thread_create(data, top, 0, kAnyCpu) == kBadAddress)) return check;              // 3
    if (!expect(sys_thread_create(entry, 0xFFFF'8000'0000'1000ull, 0, kAnyCpu) == kBadAddress)) return check; // 4
    if (!expect(sys_thread_create(entry, top - 8, 0, kAnyCpu) == kBadAddress)) return check;         // 5
    if (!expect(sys_thread_create(entry, 0, 0, kAnyCpu) == kBadAddress)) return check;               // 6
    if (!expect(sys_thread_create(entry, top, 0, 100'000) == kBadArgument)) return check;            // 7
    int64_t value = 0;
    if (!expect(sys_thread_join(my_thread_id(), &value) == kBadArgument)) return check;              // 8: itself
    if (!expect(sys_thread_join(1, &value) == kBadArgument)) return check;                           // 9: the kernel's boot thread
    if (!expect(sys_thread_join(my_thread_id() - 1, &value) == kBadArgument)) return check;          // 10: another task's
    if (!expect(sys_thread_set_pointer(kKernelAddress) == kBadAddress)) return check;                // 11
    free(stack);

    ThreadControl* t = thread_create(return_argument, 42);
    if (!expect(t && thread_join(t, &value) == 0 && value == 42)) return check;                      // 12
    t = thread_create(exit_with_minus_seven, 0);
    if (!expect(t && thread_join(t, &value) == 0 && value == -7)) return check;                      // 13: negative values pass
    t = thread_create(return_argument, 5);
    if (!expect(t && sys_thread_join(t->id, reinterpret_cast<int64_t*>(kKernelAddress)) == kBadAddress)) return check; // 14
    uint64_t id = t->id;
    if (!expect(thread_join(t, &value) == 0 && value == 5)) return check;                            // 15: still joinable
    if (!expect(sys_thread_join(id, &value) == kBadArgument)) return check;                          // 16: joined already

    // The table: the main thread and kMaxThreads - 1 others; one more is refused.
    ThreadControl* sleepers[abi::kMaxThreads] {};
    uint64_t made = 0;
    while (made < abi::kMaxThreads - 1) {
        sleepers[made] = thread_create(sleep_a_while, 100);
        if (!sleepers[made])
            break;
        ++made;
    }
    if (!expect(made == abi::kMaxThreads - 1)) return check;                                         // 17
    int64_t error = 0;
    if (!expect(!thread_create(sleep_a_while, 1, kAnyCpu, &error) && error == kNoMemory)) return check; // 18
    bool all_joined = true;
    for (uint64_t i = 0; i < made; ++i)
        all_joined = all_joined && thread_join(sleepers[i], &value) == 0 && value == 0;
    if (!expect(all_joined)) return check;                                                           // 19
    t = thread_create(return_argument, 9); // slots come back after joins
    if (!expect(t && thread_join(t, &value) == 0 && value == 9)) return check;                       // 20

    // Thread-local storage: 4 threads on this CPU and the others, and the main thread's own.
    thread_local_slot(0) = 0x5EED;
    ThreadControl* locals[4];
    for (uint64_t i = 0; i < 4; ++i)
        locals[i] = thread_create(keep_local, 0x1000 + i, i % cpu_count());
    bool kept = true;
    for (uint64_t i = 0; i < 4; ++i)
        kept = kept && locals[i] && thread_join(locals[i], &value) == 0 && value == 0;
    if (!expect(kept && thread_local_slot(0) == 0x5EED)) return check;                               // 21

    t = thread_create(transfer_survives_reuse, 0, 0);
    if (!expect(t && thread_join(t, &value) == 0 && value == 0)) return check;                       // 22
    if (!expect(sys_thread_set_stack_guard(kPage + 8) == kBadAddress)) return check;                  // 23
    if (!expect(sys_thread_set_stack_guard(kKernelAddress) == kBadAddress)) return check;             // 24
    return 0;
}

// ---- kIpcAndFaults ----

constexpr uint32_t kLabelAdd = 1;
constexpr uint32_t kLabelQuit = 2;
constexpr uint64_t kCallsPerClient = 2000;
constexpr uint64_t kOwnPages = 64;
constexpr uint64_t kSharedPages = 64;

ipc::Handle g_endpoint;
volatile uint8_t* g_shared; // fresh pages every client touches at once

int64_t serve(uint64_t)
{
    auto message = ipc::sys::receive(g_endpoint);
    for (;;) {
        if (message.is_error())
            return 100;
        ipc::Message reply = ipc::make_message(message.value().label);
        reply.words[0] = message.value().words[0] + 1;
        reply.words[1] = message.value().words[1] ^ 0xFFFF;
        if (message.value().label == kLabelQuit) {
            // Answer, then end: a plain send of the reply would need a
            // receive after; reply_receive would wait for another message.
            auto saved = ipc::sys::reply_save();
            if (saved.is_error() || ipc::sys::reply_to(saved.value(), reply).is_error())
                return 101;
            return 0;
        }
        message = ipc::sys::reply_receive(g_endpoint, reply);
    }
}

int64_t client(uint64_t index)
{
    auto* own = static_cast<volatile uint8_t*>(malloc(kOwnPages * kPage));
    if (!own)
        return 200;
    for (uint64_t call = 0; call < kCallsPerClient; ++call) {
        ipc::Message request = ipc::make_message(kLabelAdd);
        request.words[0] = index * 1'000'000 + call;
        request.words[1] = call * 7;
        auto reply = ipc::sys::call(g_endpoint, request);
        if (reply.is_error())
            return 201;
        if (reply.value().words[0] != request.words[0] + 1 || reply.value().words[1] != (request.words[1] ^ 0xFFFF))
            return 202;
        if (call % (kCallsPerClient / kOwnPages) == 0) {
            uint64_t page = call / (kCallsPerClient / kOwnPages);
            if (page < kOwnPages) {
                if (own[page * kPage + 8] != 0 && page > 0)
                    return 203; // a fresh page that was not zeroed
                own[page * kPage + 8] = static_cast<uint8_t>(index + 1);
            }
            uint64_t shared = (page + index) % kSharedPages;
            g_shared[shared * kPage + index] = static_cast<uint8_t>(index + 1);
        }
    }
    for (uint64_t page = 1; page < kOwnPages; ++page) {
        if (own[page * kPage + 8] != static_cast<uint8_t>(index + 1))
            return 204;
    }
    // Not freed: a client that starts after this one ended (one CPU) would
    // get these pages back from malloc, marked, and take them for unzeroed.
    return 0;
}

int64_t ipc_and_faults(uint64_t threads)
{
    uint64_t cpus = cpu_count();
    auto endpoint = ipc::sys::endpoint_create();
    if (endpoint.is_error())
        return 1;
    g_endpoint = endpoint.value();
    g_shared = static_cast<volatile uint8_t*>(malloc(kSharedPages * kPage));
    if (!g_shared)
        return 2;
    ThreadControl* servers[abi::kMaxThreads / 2] {};
    ThreadControl* clients[abi::kMaxThreads / 2] {};
    for (uint64_t i = 0; i < threads; ++i) {
        servers[i] = thread_create(serve, i, i % cpus);
        clients[i] = thread_create(client, i, i % cpus);
        if (!servers[i] || !clients[i])
            return 3;
    }
    int64_t worst = 0;
    for (uint64_t i = 0; i < threads; ++i) {
        int64_t value = -1;
        if (thread_join(clients[i], &value) != 0)
            return 4;
        if (value != 0)
            worst = value;
    }
    for (uint64_t i = 0; i < threads; ++i) {
        auto quit = ipc::sys::call(g_endpoint, ipc::make_message(kLabelQuit));
        if (quit.is_error())
            return 5;
    }
    for (uint64_t i = 0; i < threads; ++i) {
        int64_t value = -1;
        if (thread_join(servers[i], &value) != 0)
            return 6;
        if (value != 0)
            worst = value;
    }
    // Every client's mark on every shared page it touched.
    for (uint64_t index = 0; index < threads && worst == 0; ++index) {
        for (uint64_t step = 0; step < kOwnPages; ++step) {
            uint64_t shared = (step + index) % kSharedPages;
            if (g_shared[shared * kPage + index] != static_cast<uint8_t>(index + 1))
                worst = 7;
        }
    }
    if (worst == 0)
        println("threads: {} clients x {} calls and {} page faults on {} CPUs: all right", threads, kCallsPerClient,
            threads * kOwnPages + kSharedPages, cpus < threads ? cpus : threads);
    return worst;
}

// ---- waiting in every way, then killed ----

ipc::Handle g_quiet;        // nobody ever sends here
ipc::Handle g_unanswered;   // received on by a thread that never answers
ipc::Handle g_never;        // a notification nobody signals
ThreadControl* g_sleeper;   // joined by another thread
volatile uint64_t g_spins;

int64_t wait_receive(uint64_t) { return ipc::sys::receive(g_quiet).is_error() ? 1 : 0; }
int64_t take_and_keep(uint64_t)
{
    (void)ipc::sys::receive(g_unanswered); // takes the call below, never answers
    sleep_ms(abi::kMaxSleepMs);
    return 0;
}
int64_t wait_call(uint64_t) { return ipc::sys::call(g_unanswered, ipc::make_message(3)).is_error() ? 1 : 0; }
int64_t wait_notification(uint64_t) { return ipc::sys::wait(g_never, abi::WaitMode::Forever).is_error() ? 1 : 0; }
int64_t wait_sleep(uint64_t) { return sleep_ms(abi::kMaxSleepMs); }
int64_t wait_join(uint64_t)
{
    int64_t value;
    return thread_join(g_sleeper, &value);
}
int64_t spin(uint64_t)
{
    for (;;)
        g_spins = g_spins + 1;
}
int64_t write_null(uint64_t)
{
    sleep_ms(20);
    *reinterpret_cast<volatile uint64_t*>(0) = 1; // the task is killed for it
    return 0;
}
int64_t exit_five(uint64_t)
{
    sleep_ms(20);
    exit(5); // the whole task
}

int64_t block_in_every_way(Mode mode)
{
    uint64_t cpus = cpu_count();
    g_quiet = ipc::sys::endpoint_create().value();
    g_unanswered = ipc::sys::endpoint_create().value();
    g_never = ipc::sys::notification_create().value();
    ThreadFunction waits[] = { wait_receive, take_and_keep, wait_call, wait_notification, wait_sleep };
    uint64_t cpu = 0;
    for (ThreadFunction wait : waits) {
        if (!thread_create(wait, 0, cpu++ % cpus))
            return 1;
    }
    g_sleeper = thread_create(wait_sleep, 0);
    if (!g_sleeper || !thread_create(wait_join, 0) || !thread_create(spin, 0, cpus - 1))
        return 2;
    if (mode == kFaultWhileBlocked && !thread_create(write_null, 0))
        return 3;
    if (mode == kExitWhileBlocked && !thread_create(exit_five, 0))
        return 4;
    debug_write("threads: all blocked");
    (void)ipc::sys::receive(g_quiet); // the main thread waits too, until the kill
    return 5;
}

// ---- the main thread ends first ----

int64_t outlive_main(uint64_t)
{
    sleep_ms(30);
    return 7; // the last thread: the task's status
}

// ---- a stale TLB entry ----

constexpr uint64_t kOldValue = 0x5'7A1E;
constexpr uint64_t kStaleTimeoutMs = 2000;
volatile uint64_t* g_page;
bool g_reader_ready;
bool g_give_up;
bool g_reader_saw_change;
uint64_t g_seen;

uint64_t uptime_ms()
{
    SelfInfo info {};
    self_info(&info);
    return info.uptime_ms;
}

int64_t read_until_changed(uint64_t)
{
    if (*g_page != kOldValue)
        return 1;
    __atomic_store_n(&g_reader_ready, true, __ATOMIC_RELEASE); // its TLB holds the page now
    for (;;) {
        uint64_t value = *g_page;
        if (value != kOldValue) {
            g_seen = value;
            __atomic_store_n(&g_reader_saw_change, true, __ATOMIC_RELEASE);
            return 0;
        }
        if (__atomic_load_n(&g_give_up, __ATOMIC_ACQUIRE))
            return 2;
    }
}

int64_t release_page(uint64_t page)
{
    static ipc::SyscallTransport transport(nullptr); // registers only: no IPC buffer needed
    return ipc::memory::release(transport, page, 1).is_error() ? 1 : 0;
}

int64_t stale_tlb_once(uint64_t reader_cpu, uint64_t releaser_cpu)
{
    g_reader_ready = false;
    g_give_up = false;
    g_reader_saw_change = false;
    g_seen = ~0ull;
    uint64_t cpus = cpu_count();
    reader_cpu %= cpus;
    releaser_cpu %= cpus;
    auto* block = static_cast<uint8_t*>(malloc(3 * kPage));
    if (!block)
        return 10;
    uint64_t page = (reinterpret_cast<uint64_t>(block) + kPage - 1) & ~(kPage - 1);
    g_page = reinterpret_cast<volatile uint64_t*>(page);
    *g_page = kOldValue;
    ThreadControl* reader = thread_create(read_until_changed, 0, reader_cpu);
    if (!reader)
        return 11;
    while (!__atomic_load_n(&g_reader_ready, __ATOMIC_ACQUIRE))
        yield();
    ThreadControl* releaser = thread_create(release_page, page, releaser_cpu);
    int64_t released = -1;
    if (!releaser || thread_join(releaser, &released) != 0 || released != 0)
        return 12;
    int64_t value = -1;
    uint64_t deadline = uptime_ms() + kStaleTimeoutMs;
    bool changed = false;
    while (!changed && uptime_ms() < deadline) {
        sleep_ms(10);
        changed = __atomic_load_n(&g_reader_saw_change, __ATOMIC_ACQUIRE); // only the reader's view counts
    }
    if (!changed) {
        __atomic_store_n(&g_give_up, true, __ATOMIC_RELEASE);
        thread_join(reader, &value);
        println("threads: STALE: the reader on CPU {} still reads the released page {} ms after MemoryUnmap", reader_cpu,
            kStaleTimeoutMs);
        return 3;
    }
    if (thread_join(reader, &value) != 0 || value != 0 || g_seen != 0)
        return 4; // it must see the pager's fresh page: zeros
    println("threads: the reader on CPU {} saw the released page change (a fresh zeroed frame)", reader_cpu);
    return 0;
}

// A stale entry shows only while the reader's CPU keeps it: any switch to
// another address space there (the kernel's self-test thread waking for a
// tick, a server stolen onto that CPU) flushes it, and the read is right by
// luck. So the check runs kStaleAttempts times: with the shootdown every
// attempt must see the fresh page; without it (tlb_shootdown=off) one stale
// attempt is enough to show that the check catches it.
constexpr int kStaleAttempts = 5;

int64_t stale_tlb(uint64_t reader_cpu, uint64_t releaser_cpu)
{
    for (int attempt = 0; attempt < kStaleAttempts; ++attempt) {
        if (int64_t result = stale_tlb_once(reader_cpu, releaser_cpu); result != 0)
            return result;
    }
    return 0;
}

constexpr uint64_t kRacedPages = 32;
constexpr uint64_t kWriterRounds = 40;
constexpr uint64_t kReleases = 200;
volatile uint64_t* g_raced; // kRacedPages pages; thread i's word is i in each

int64_t write_and_read_back(uint64_t index)
{
    for (uint64_t round = 0; round < kWriterRounds; ++round) {
        for (uint64_t page = 0; page < kRacedPages; ++page) {
            volatile uint64_t* word = g_raced + page * (kPage / sizeof(uint64_t)) + index;
            uint64_t mark = (index + 1) << 32 | round << 8 | page;
            *word = mark;
            uint64_t seen = *word;
            if (seen != mark && seen != 0)
                return 2; // neither what it wrote nor a fresh page
        }
    }
    return 0;
}

int64_t release_while_faulting(uint64_t threads)
{
    static ipc::SyscallTransport transport(nullptr); // registers only
    uint64_t cpus = cpu_count();
    auto* block = static_cast<uint8_t*>(malloc((kRacedPages + 1) * kPage));
    if (!block)
        return 10;
    uint64_t first = (reinterpret_cast<uint64_t>(block) + kPage - 1) & ~(kPage - 1);
    g_raced = reinterpret_cast<volatile uint64_t*>(first);
    ThreadControl* writers[abi::kMaxThreads / 2] {};
    for (uint64_t i = 0; i < threads; ++i) {
        if (!(writers[i] = thread_create(write_and_read_back, i, i % cpus)))
            return 11;
    }
    for (uint64_t release = 0; release < kReleases; ++release) {
        if (ipc::memory::release(transport, first, kRacedPages).is_error())
            return 12;
    }
    int64_t result = 0;
    for (uint64_t i = 0; i < threads; ++i) {
        int64_t value = -1;
        if (thread_join(writers[i], &value) != 0)
            return 13;
        result = result ? result : value;
    }
    return result;
}

// ---- kThreadLocalVariables ----

constinit thread_local uint64_t t_initialised = 0x1234'5678;   // .tdata
constinit thread_local uint64_t t_zeroed[32] = {};              // .tbss
alignas(64) constinit thread_local uint8_t t_aligned = 7;      // .tdata, 64-byte aligned

// 0 if this thread's variables start as the template says and keep what it
// writes across switches; else a check's number. *address: where its
// t_initialised is.
int64_t use_thread_locals(uint64_t seed, uint64_t* address)
{
    if (t_initialised != 0x1234'5678)
        return 1;
    for (uint64_t word : t_zeroed) {
        if (word != 0)
            return 2;
    }
    if (reinterpret_cast<uintptr_t>(&t_aligned) % 64 != 0 || t_aligned != 7)
        return 3;
    *address = reinterpret_cast<uint64_t>(&t_initialised);
    t_initialised = seed;
    t_zeroed[seed % 32] = seed;
    t_aligned = static_cast<uint8_t>(seed);
    for (int round = 0; round < 20; ++round) {
        yield();
        if (t_initialised != seed || t_zeroed[seed % 32] != seed || t_aligned != static_cast<uint8_t>(seed))
            return 4;
    }
    return 0;
}

uint64_t g_local_addresses[abi::kMaxThreads];

int64_t thread_locals_in_thread(uint64_t index)
{
    return use_thread_locals(0x100 + index, &g_local_addresses[index + 1]);
}

int64_t thread_local_variables(uint64_t threads)
{
    ThreadControl* workers[abi::kMaxThreads] {};
    uint64_t cpus = cpu_count();
    for (uint64_t i = 0; i < threads; ++i) {
        if (!(workers[i] = thread_create(thread_locals_in_thread, i, i % cpus)))
            return 10;
    }
    int64_t main_result = use_thread_locals(0x77, &g_local_addresses[0]);
    if (main_result != 0)
        return 20 + main_result;
    for (uint64_t i = 0; i < threads; ++i) {
        int64_t value = -1;
        if (thread_join(workers[i], &value) != 0)
            return 11;
        if (value != 0)
            return 30 + value;
    }
    for (uint64_t i = 0; i <= threads; ++i) {
        for (uint64_t j = 0; j < i; ++j) {
            if (g_local_addresses[i] == g_local_addresses[j])
                return 12;
        }
    }
    // A thread made after others were joined gets a fresh copy of the template.
    ThreadControl* late = thread_create(thread_locals_in_thread, 0);
    int64_t value = -1;
    if (!late || thread_join(late, &value) != 0 || value != 0)
        return 13;
    return t_initialised == 0x77 ? 0 : 14;
}

// ---- kStackOverflow ----

[[gnu::noinline]] uint64_t recurse(uint64_t depth)
{
    volatile uint64_t frame[64]; // 512 bytes a call: every page of the stack is touched
    frame[0] = depth;
    if (depth == UINT64_MAX) // never: keeps the compiler from calling this an infinite loop
        return frame[0];
    return recurse(depth + 1) + frame[0];
}

// First a system call that would write into this thread's own guard page
// (slot 1's) must be refused, BadAddress: the kernel must not page the guard
// in on the thread's behalf, or the recursion would run on through slot 0.
int64_t recurse_forever(uint64_t)
{
    auto* guard = reinterpret_cast<int64_t*>(kStackSlotsBase + 1 * kStackSlotBytes);
    ThreadControl* t = thread_create(return_argument, 5);
    int64_t value = 0;
    if (!t || sys_thread_join(t->id, guard) != kBadAddress)
        return 3;
    if (thread_join(t, &value) != 0 || value != 5)
        return 4;
    return static_cast<int64_t>(recurse(0));
}

int64_t overflow_a_thread_stack()
{
    ThreadControl* sibling = thread_create(sleep_a_while, abi::kMaxSleepMs);
    ThreadControl* deep = thread_create(recurse_forever, 0);
    if (!sibling || !deep || sibling->stack_slot != 0 || deep->stack_slot != 1)
        return 2; // the test expects these slots (a fresh task)
    int64_t value = 0;
    thread_join(deep, &value);
    return value == 3 || value == 4 ? 10 + value : 1;
}

// ---- kCopyIntoReleasedBuffer, kCopySender ----
//
// The constants are the self-test's (tests/insystem/ipc_copy_tests.cpp).

constexpr ipc::Handle kCopyEndpoint = 8;
constexpr uint32_t kCopyBytes = 4000;       // the payload; the mark lies beyond it
constexpr uint64_t kCopyMarkOffset = 4088;  // where the hook marks the receiver's page
constexpr uint64_t kCopyMark = 0x4B52'414D'5950'4F43ull; // "COPYMARK"
constexpr uint64_t kCopyMarkWaitMs = 20'000;
constexpr uint64_t kCopyAnsweredSleepMs = 3'000; // longer than the hook's window

uint64_t g_copy_buffer;

int64_t receive_into_the_page(uint64_t)
{
    if (ipc::sys::set_ipc_buffer(reinterpret_cast<void*>(g_copy_buffer)).is_error())
        return 1;
    auto message = ipc::sys::receive(kCopyEndpoint);
    return message.is_error() ? 2 : 0;
}

int64_t copy_into_released_buffer(uint64_t cpu)
{
    auto* block = static_cast<uint8_t*>(malloc(3 * kPage));
    if (!block)
        return 10;
    uint64_t page = (reinterpret_cast<uint64_t>(block) + kPage - 1) & ~(kPage - 1);
    auto* mark = reinterpret_cast<volatile uint64_t*>(page + kCopyMarkOffset);
    *mark = 0; // mapped now: SetIpcBuffer wants it so, and the hook finds it
    g_copy_buffer = page;
    ThreadControl* receiver = thread_create(receive_into_the_page, 0, cpu % cpu_count());
    if (!receiver)
        return 11;
    uint64_t deadline = uptime_ms() + kCopyMarkWaitMs;
    while (*mark != kCopyMark) {
        if (uptime_ms() > deadline)
            return 12;
        yield(); // not a sleep: the test takes Sleeping for "the Release was answered"
    }
    if (release_page(page) != 0)
        return 13;
    sleep_ms(kCopyAnsweredSleepMs);
    int64_t received = -1;
    if (thread_join(receiver, &received) != 0 || received != 0)
        return 14;
    return 0;
}

alignas(4096) uint8_t g_send_buffer[4096];

int64_t send_a_long_message()
{
    if (ipc::sys::set_ipc_buffer(g_send_buffer).is_error())
        return 1;
    for (uint32_t i = 0; i < kCopyBytes; ++i)
        g_send_buffer[i] = static_cast<uint8_t>(i * 7 + 1);
    ipc::Message message = ipc::make_message(1);
    message.payload_length = kCopyBytes;
    return ipc::sys::send(kCopyEndpoint, message).is_error() ? 2 : 0;
}

} // namespace

extern "C" int64_t herald_main(uint64_t parameter)
{
    Mode mode = static_cast<Mode>(parameter & 0xFF);
    uint64_t threads = (parameter >> 8) & 0xFF;
    switch (mode) {
    case kChecks: return checks();
    case kIpcAndFaults: return ipc_and_faults(threads == 0 || threads > abi::kMaxThreads / 2 - 1 ? 2 : threads);
    case kBlockForever:
    case kFaultWhileBlocked:
    case kExitWhileBlocked: return block_in_every_way(mode);
    case kStaleTlb: return stale_tlb(threads, (parameter >> 16) & 0xFF);
    case kReleaseWhileFaulting:
        return release_while_faulting(threads == 0 || threads > abi::kMaxThreads / 2 ? 2 : threads);
    case kStackOverflow: return overflow_a_thread_stack();
    case kThreadLocalVariables:
        return thread_local_variables(threads == 0 || threads > abi::kMaxThreads - 2 ? 4 : threads);
    case kCopyIntoReleasedBuffer: return copy_into_released_buffer(threads);
    case kCopySender: return send_a_long_message();
    case kMainExitsFirst:
        if (!thread_create(outlive_main, 0))
            return 1;
        flush();
        thread_exit(99);
    }
    return 100;
}

// The runtime behind herald.hpp: console output and input, the heap, and
// what the C++ compiler expects of a runtime.
#include "herald.hpp"

#include "heap_allocator.hpp"
#include "libipc/protocols/console.hpp"
#include "libipc/protocols/memory.hpp"
#include "libipc/protocols/registry.hpp"
#include "libipc/reconnecting_client.hpp"
#include "microkernel/lib/utility.hpp"
#include "microkernel/abi/memory.hpp"
#include "syscall.hpp"
#include "thread.hpp"

namespace herald::user {

namespace {

// A yielding spin lock: its holder may be in an IPC call (the memory
// server's Grow, the console's Write) or preempted on this very CPU.
class YieldingLock {
public:
    void lock()
    {
        while (__atomic_exchange_n(&m_taken, true, __ATOMIC_ACQUIRE))
            yield();
    }
    void unlock() { __atomic_store_n(&m_taken, false, __ATOMIC_RELEASE); }

private:
    bool m_taken { false };
};

struct LockGuard {
    explicit LockGuard(YieldingLock& lock) : lock(lock) { lock.lock(); }
    ~LockGuard() { lock.unlock(); }
    YieldingLock& lock;
};

// What each thread has of its own (user/runtime/thread.hpp): its
// transport over its IPC buffer (the kernel keeps one per thread) and the
// line it is printing. The main thread's is static; a thread_create'd
// thread's follows its control block, over its stack slot's top page.
struct ThreadIo {
    constexpr explicit ThreadIo(uint8_t* buffer) : transport(buffer) { }
    ipc::SyscallTransport transport;
    bool registered { false };
    size_t line_length { 0 };
    char line[ipc::kMaxPayload] {};
};

alignas(4096) uint8_t g_ipc_buffer[ipc::kMaxPayload];
constinit ThreadIo g_main_io(g_ipc_buffer);
// For a thread with no IPC buffer (thread_start_on's): words only.
constinit ipc::SyscallTransport g_words_only(nullptr);

// nullptr for a thread with none (thread_start_on's).
ThreadIo* current_io()
{
    ThreadControl* control = current_thread_or_null();
    return control ? static_cast<ThreadIo*>(control->io) : &g_main_io;
}

// The calling thread's transport, for clients shared by all threads (the
// console's): every call goes through the IPC buffer of the thread making it.
class CurrentThreadTransport final : public ipc::Transport {
public:
    ipc::Result<void> send(ipc::Handle endpoint, const ipc::Message& message) override { return ipc().send(endpoint, message); }
    ipc::Result<ipc::Message> receive(ipc::Handle endpoint) override { return ipc().receive(endpoint); }
    ipc::Result<ipc::Message> call(ipc::Handle endpoint, const ipc::Message& message) override
    {
        return ipc().call(endpoint, message);
    }
    ipc::Result<ipc::Message> reply_receive(ipc::Handle endpoint, const ipc::Message& reply) override
    {
        return ipc().reply_receive(endpoint, reply);
    }
    ipc::Result<ipc::Handle> save_reply() override { return ipc().save_reply(); }
    ipc::Result<void> reply_to(ipc::Handle saved_reply, const ipc::Message& reply) override
    {
        return ipc().reply_to(saved_reply, reply);
    }
    ipc::Result<void> signal(ipc::Handle notification, uint64_t bits) override { return ipc().signal(notification, bits); }
    ipc::Result<uint64_t> wait(ipc::Handle notification, ipc::WaitMode mode, uint64_t timeout_ms = 0) override
    {
        return ipc().wait(notification, mode, timeout_ms);
    }
    ipc::Result<void> close(ipc::Handle handle) override { return ipc().close(handle); }
    ipc::Result<void> yield() override { return ipc().yield(); }
    ipc::Result<void> sleep_ms(uint64_t milliseconds) override { return ipc().sleep_ms(milliseconds); }
    uint8_t* payload() override { return ipc().payload(); }
};

constinit CurrentThreadTransport g_current_transport;

// How long find_server() waits for a server to register: time, not a count
// of lookups, because a server started with us may be on an emulated CPU
// that a loaded host does not run for a good while.
constexpr uint32_t kLookupPatienceMs = 10'000;
// The console is started before init and everything after it, so it is
// normally there at once; a program in a system without one (some
// self-tests) must not stall long before its lines go to the kernel log.
constexpr uint32_t kConsolePatienceMs = 1000;

// ---- console ----

// A restarted console is looked up again at once, never waited for (a
// line meanwhile goes to the kernel log); a Read or Subscribe cut off by
// the restart is sent once more, a Write is not (the line may have been
// printed: it goes to the kernel log rather than maybe twice).
constexpr uint32_t kConsoleCallTries = 2;
constexpr uint32_t kConsoleReconnectPatienceMs = 0;
// While the console is away, read_input() looks for it again this often;
// while it waits for input, it checks that the console it subscribed to is
// still the one there this often (a new one has no subscription of ours).
constexpr uint64_t kConsoleAwayRetryMs = 100;
constexpr uint64_t kInputCheckMs = 1000;

enum class ConsoleState : uint8_t { Unknown, Found, Absent };
ConsoleState g_console_state;
// The console client is the task's, shared by its threads under
// g_console_lock (a reconnect changes its handle); each Write goes through
// the IPC buffer of the thread that prints.
YieldingLock g_console_lock;
constinit ipc::ReconnectingClient<ipc::console::Protocol> g_console(g_current_transport, abi::HandleRegistry, "console",
    kConsoleCallTries, kConsoleReconnectPatienceMs);
ipc::Handle g_input; // notification the console signals on input
bool g_subscribed;
uint32_t g_subscribed_reconnects; // g_console.reconnects() when we subscribed
uint64_t g_console_lines;

bool console_ready()
{
    if (g_console_state == ConsoleState::Unknown) {
        auto found = ipc::registry::lookup_waiting(ipc(), abi::HandleRegistry, "console", kConsolePatienceMs);
        if (!found.is_error())
            g_console.adopt(found.value());
        g_console_state = found.is_error() ? ConsoleState::Absent : ConsoleState::Found;
    }
    return g_console_state == ConsoleState::Found;
}

void send_line(ThreadIo& io)
{
    if (io.line_length == 0)
        return;
    bool sent = false;
    {
        LockGuard guard(g_console_lock);
        if (console_ready()) {
            sent = !g_console.call<ipc::console::Write>(ipc::Bytes { reinterpret_cast<const uint8_t*>(io.line), static_cast<uint32_t>(io.line_length) }).is_error();
            g_console_lines += sent;
        }
    }
    if (!sent) {
        size_t length = io.line_length;
        if (length > 0 && io.line[length - 1] == '\n')
            --length; // DebugWrite makes its own line
        debug_write(io.line, length);
    }
    io.line_length = 0;
}

// Subscribes our notification with the console there now.
bool subscribe()
{
    if (g_input == abi::HandleNone) {
        auto notification = ipc::sys::notification_create();
        if (notification.is_error())
            return false;
        g_input = notification.value();
    }
    // The console gets a send-only copy: it may signal, never take our bits.
    auto for_console = ipc::sys::handle_mint(g_input, abi::RightSend, 0);
    if (for_console.is_error())
        return false;
    bool subscribed = !g_console.call<ipc::console::Subscribe>(ipc::WithHandle<> { {}, for_console.value() }).is_error();
    (void)ipc::sys::handle_close(for_console.value());
    g_subscribed = subscribed;
    g_subscribed_reconnects = g_console.reconnects();
    return subscribed;
}

// ---- heap ----

class MemoryServiceSource final : public HeapSource {
public:
    bool grow(size_t pages, uintptr_t& old_end) override
    {
        auto grown = ipc::memory::grow(ipc(), pages);
        if (grown.is_error())
            return false;
        old_end = grown.value().old_end;
        return true;
    }
    bool shrink(size_t pages) override { return !ipc::memory::shrink(ipc(), pages).is_error(); }
};

constinit MemoryServiceSource g_source;
constinit HeapAllocator g_heap(&g_source);

} // namespace

ipc::SyscallTransport& ipc()
{
    ThreadIo* io = current_io();
    if (!io)
        return g_words_only;
    if (!io->registered)
        io->registered = !io->transport.register_buffer().is_error();
    return io->transport;
}

size_t thread_io_bytes() { return (sizeof(ThreadIo) + 15) & ~size_t(15); }

void* thread_io_init(void* storage, uint8_t* ipc_buffer) { return new (storage) ThreadIo(ipc_buffer); }

void* main_thread_io() { return &g_main_io; }

ipc::Handle find_server(const char* name)
{
    auto found = ipc::registry::lookup_waiting(ipc(), abi::HandleRegistry, name, kLookupPatienceMs);
    return found.is_error() ? abi::HandleNone : found.value();
}

void print(StringView text)
{
    ThreadIo* io = current_io();
    if (!io) {
        debug_write(text.chars(), text.length()); // no IPC buffer: the kernel log
        return;
    }
    for (usize i = 0; i < text.length(); ++i) {
        io->line[io->line_length++] = text[i];
        if (text[i] == '\n' || io->line_length == sizeof(io->line))
            send_line(*io);
    }
}

void flush()
{
    if (ThreadIo* io = current_io())
        send_line(*io);
}

void echo(StringView text)
{
    flush();
    for (usize done = 0; done < text.length();) {
        usize length = text.length() - done;
        if (length > ipc::kMaxPayload)
            length = ipc::kMaxPayload;
        bool sent = false;
        {
            LockGuard guard(g_console_lock); // as send_line: the client is the task's
            sent = console_ready()
                && !g_console.call<ipc::console::Echo>(ipc::Bytes { reinterpret_cast<const uint8_t*>(text.chars() + done), static_cast<uint32_t>(length) }).is_error();
        }
        if (!sent) { // no console: to the kernel log, as print() does
            print(StringView(text.chars() + done, length));
            flush();
        }
        done += length;
    }
}

// At the end: a last line without '\n' gets one, so that whatever is
// written next starts on a line of its own.
void finish_line()
{
    ThreadIo* io = current_io();
    if (io && io->line_length > 0 && io->line[io->line_length - 1] != '\n')
        print("\n");
    flush();
}

// The console client's calls and state are taken under g_console_lock, as
// send_line's are (another thread's line may reconnect it meanwhile); no
// thread sleeps or waits holding it.
size_t read_input_now(char* buffer, size_t max)
{
    LockGuard guard(g_console_lock);
    if (!console_ready() || max == 0)
        return 0;
    auto got = g_console.call<ipc::console::Read>({ max });
    if (got.is_error())
        return 0;
    __builtin_memcpy(buffer, got.value().data, got.value().length);
    return got.value().length;
}

namespace {

enum class InputStep : uint8_t { Got, Retry, Resubscribed, Wait };

// One look at the console for read_input, under the lock: a Read, and if
// there is nothing, a new subscription if the console is not the one we
// subscribed with. What to do next is the caller's (it sleeps unlocked).
InputStep look_for_input(char* buffer, size_t max, size_t& length)
{
    LockGuard guard(g_console_lock);
    auto got = g_console.call<ipc::console::Read>({ max });
    if (got.is_error())
        return InputStep::Retry; // being restarted: wait for the new one
    if (got.value().length > 0) {
        __builtin_memcpy(buffer, got.value().data, got.value().length);
        length = got.value().length;
        return InputStep::Got;
    }
    if (!g_subscribed || g_subscribed_reconnects != g_console.reconnects())
        return subscribe() ? InputStep::Resubscribed : InputStep::Retry;
    return InputStep::Wait;
}

} // namespace

size_t read_input(char* buffer, size_t max)
{
    {
        LockGuard guard(g_console_lock);
        if (!console_ready() || max == 0)
            return 0;
    }
    for (;;) {
        size_t length = 0;
        switch (look_for_input(buffer, max, length)) {
        case InputStep::Got:
            return length;
        case InputStep::Retry:
            (void)sleep_ms(kConsoleAwayRetryMs);
            break;
        case InputStep::Resubscribed:
            break; // input may have come before the subscription: read again
        case InputStep::Wait:
            (void)ipc::sys::wait(g_input, abi::WaitMode::Timeout, kInputCheckMs);
            break;
        }
    }
}

uint64_t console_lines() { return g_console_lines; }
uint32_t console_reconnects()
{
    LockGuard guard(g_console_lock);
    return g_console.reconnects();
}

} // namespace herald::user

extern "C" {

// Where _start goes with herald_main's result (user/runtime/start.asm): the
// line still in the buffer is printed first.
[[noreturn]] void herald_exit(int64_t status)
{
    herald::user::finish_line();
    herald::user::exit(status);
}

// The heap is shared by the task's threads (user/runtime/thread.hpp): one
// lock, which a thread that finds it taken yields for (its holder may be
// waiting for the memory server's Grow, or run on this very CPU).
namespace {
herald::user::YieldingLock g_heap_lock;
struct HeapGuard : herald::user::LockGuard {
    HeapGuard() : LockGuard(g_heap_lock) { }
};
} // namespace

void* malloc(size_t size)
{
    HeapGuard guard;
    return herald::user::g_heap.malloc(size);
}
void free(void* pointer)
{
    HeapGuard guard;
    herald::user::g_heap.free(pointer);
}
void* realloc(void* pointer, size_t size)
{
    HeapGuard guard;
    return herald::user::g_heap.realloc(pointer, size);
}
void* calloc(size_t count, size_t size)
{
    HeapGuard guard;
    return herald::user::g_heap.calloc(count, size);
}

// A pure virtual function called through a half-built object: a bug.
void __cxa_pure_virtual()
{
    herald::user::flush();
    herald::user::debug_write("pure virtual function called");
    herald::user::exit(-1);
}

} // extern "C"

namespace herald {

// HERALD_ASSERT in the kernel's library code, when a program uses it.
[[noreturn]] void assertion_failed(const char* expression, const char*, int)
{
    user::flush();
    user::debug_write("assertion failed:");
    user::debug_write(expression);
    user::exit(-1);
}

} // namespace herald

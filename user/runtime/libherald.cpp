// The runtime behind herald.hpp: console output and input, the heap, and
// what the C++ compiler expects of a runtime.
#include "herald.hpp"

#include "heap_allocator.hpp"
#include "libipc/protocols/console.hpp"
#include "libipc/protocols/memory.hpp"
#include "libipc/protocols/registry.hpp"
#include "libipc/reconnecting_client.hpp"
#include "microkernel/abi/memory.hpp"
#include "syscall.hpp"

namespace herald::user {

namespace {

alignas(4096) uint8_t g_ipc_buffer[ipc::kMaxPayload];
constinit ipc::SyscallTransport g_transport(g_ipc_buffer);
bool g_buffer_registered;

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
constinit ipc::ReconnectingClient<ipc::console::Protocol> g_console(g_transport, abi::HandleRegistry, "console",
    kConsoleCallTries, kConsoleReconnectPatienceMs);
ipc::Handle g_input; // notification the console signals on input
bool g_subscribed;
uint32_t g_subscribed_reconnects; // g_console.reconnects() when we subscribed
uint64_t g_console_lines;
char g_line[ipc::kMaxPayload];
size_t g_line_length;

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

void send_line()
{
    if (g_line_length == 0)
        return;
    bool sent = false;
    if (console_ready()) {
        sent = !g_console.call<ipc::console::Write>(ipc::Bytes { reinterpret_cast<const uint8_t*>(g_line), static_cast<uint32_t>(g_line_length) }).is_error();
        g_console_lines += sent;
    }
    if (!sent) {
        size_t length = g_line_length;
        if (length > 0 && g_line[length - 1] == '\n')
            --length; // DebugWrite makes its own line
        debug_write(g_line, length);
    }
    g_line_length = 0;
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
    if (!g_buffer_registered)
        g_buffer_registered = !g_transport.register_buffer().is_error();
    return g_transport;
}

ipc::Handle find_server(const char* name)
{
    auto found = ipc::registry::lookup_waiting(ipc(), abi::HandleRegistry, name, kLookupPatienceMs);
    return found.is_error() ? abi::HandleNone : found.value();
}

void print(StringView text)
{
    for (usize i = 0; i < text.length(); ++i) {
        g_line[g_line_length++] = text[i];
        if (text[i] == '\n' || g_line_length == sizeof(g_line))
            send_line();
    }
}

void flush() { send_line(); }

void echo(StringView text)
{
    flush();
    for (usize done = 0; done < text.length();) {
        usize length = text.length() - done;
        if (length > ipc::kMaxPayload)
            length = ipc::kMaxPayload;
        bool sent = console_ready()
            && !g_console.call<ipc::console::Echo>(ipc::Bytes { reinterpret_cast<const uint8_t*>(text.chars() + done), static_cast<uint32_t>(length) }).is_error();
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
    if (g_line_length > 0 && g_line[g_line_length - 1] != '\n')
        print("\n");
    flush();
}

size_t read_input_now(char* buffer, size_t max)
{
    if (!console_ready() || max == 0)
        return 0;
    auto got = g_console.call<ipc::console::Read>({ max });
    if (got.is_error())
        return 0;
    __builtin_memcpy(buffer, got.value().data, got.value().length);
    return got.value().length;
}

size_t read_input(char* buffer, size_t max)
{
    if (!console_ready() || max == 0)
        return 0;
    for (;;) {
        auto got = g_console.call<ipc::console::Read>({ max });
        if (got.is_error()) {
            (void)sleep_ms(kConsoleAwayRetryMs); // being restarted: wait for the new one
            continue;
        }
        if (got.value().length > 0) {
            __builtin_memcpy(buffer, got.value().data, got.value().length);
            return got.value().length;
        }
        if (!g_subscribed || g_subscribed_reconnects != g_console.reconnects()) {
            if (!subscribe())
                (void)sleep_ms(kConsoleAwayRetryMs);
            continue; // input may have come before the subscription: read again
        }
        (void)ipc::sys::wait(g_input, abi::WaitMode::Timeout, kInputCheckMs);
    }
}

uint64_t console_lines() { return g_console_lines; }
uint32_t console_reconnects() { return g_console.reconnects(); }

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
bool g_heap_lock;
struct HeapGuard {
    HeapGuard()
    {
        while (__atomic_exchange_n(&g_heap_lock, true, __ATOMIC_ACQUIRE))
            herald::user::yield();
    }
    ~HeapGuard() { __atomic_store_n(&g_heap_lock, false, __ATOMIC_RELEASE); }
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

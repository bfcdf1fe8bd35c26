// service_garbage: bad requests to the system's services (console, loader,
// memory), the same in every placement (docs/placement.md): a server in
// ring 3 and the same code built into ring 0 must give the same answers to a
// hostile caller, and neither may fall over. Raw message system calls, so
// that every bit of a message is ours to get wrong: reserved bits, lengths,
// handles that are not handles or lack rights, payloads without a buffer or
// with a buffer that is gone, labels nobody knows (the fault-injection one
// among them: only the kernel may send it), requests of the wrong shape.
// Exits with the number of wrong answers; each is written to the kernel log.
#include <stdint.h>

#include "libipc/protocols/console.hpp"
#include "libipc/protocols/loader.hpp"
#include "libipc/protocols/memory.hpp"
#include "libipc/syscalls.hpp"
#include "microkernel/abi/ipc.hpp"
#include "microkernel/abi/memory.hpp"
#include "user/runtime/herald.hpp"
#include "user/runtime/syscall.hpp"

using herald::abi::SyscallError;
using herald::abi::SyscallNumber;

namespace {

alignas(4096) uint8_t g_buffer[4096];
int64_t g_wrong;
const char* g_service = "";

constexpr int64_t code(SyscallError e) { return static_cast<int64_t>(e); }
constexpr int64_t code(ipc::Error e) { return static_cast<int64_t>(e); }
constexpr uint32_t kUnknownLabel = 0x7777;

void wrong(const char* what)
{
    ++g_wrong;
    herald::user::debug_write("service_garbage: WRONG ANSWER from the service named next, to the request after it:");
    herald::user::debug_write(g_service);
    herald::user::debug_write(what);
}

void expect(const char* what, int64_t actual, int64_t expected)
{
    if (actual != expected)
        wrong(what);
}

uint64_t info(uint32_t label, uint32_t payload, bool transfer)
{
    return herald::abi::MessageInfo { label, payload, transfer }.encode();
}

// A raw Call: RAX, and the reply in `registers`.
struct Answer {
    int64_t status;
    ipc::sys::Registers reply;
};

Answer call(uint64_t handle, uint64_t message_info, uint64_t word0 = 0, uint64_t word7 = 0)
{
    Answer answer { 0, { handle, message_info, { word0, 0, 0, 0, 0, 0, 0, word7 } } };
    answer.status = ipc::sys::message_syscall(SyscallNumber::IpcCall, answer.reply);
    return answer;
}

// The call went through, and the service answered with the error reply `expected`.
void expect_error_reply(const char* what, const Answer& answer, ipc::Error expected)
{
    auto decoded = herald::abi::MessageInfo::decode(answer.reply.rsi);
    if (answer.status != 0 || decoded.label != ipc::kErrorLabel || static_cast<int64_t>(answer.reply.words[0]) != code(expected))
        wrong(what);
}

int64_t set_buffer(void* page) { return herald::user::syscall1(ipc::sys::number_of(SyscallNumber::SetIpcBuffer), reinterpret_cast<uint64_t>(page)); }

// What every service must refuse before it sees anything: the kernel's checks.
void bad_messages(const char* service, uint64_t handle)
{
    g_service = service;
    expect("reserved info bits", call(handle, 1ull << 63).status, code(SyscallError::BadArgument));
    expect("payload 4097", call(handle, info(1, 4097, false)).status, code(SyscallError::BadLength));
    expect("a handle that is none", call(handle, info(1, 0, true), 0, 999).status, code(SyscallError::BadHandle));
    auto send_only = ipc::sys::handle_mint(handle, herald::abi::RightSend, 0);
    expect("mint a send-only copy", send_only.is_error(), false);
    if (!send_only.is_error()) {
        expect("a handle through a copy without the grant right",
            call(send_only.value(), info(1, 0, true), 0, send_only.value()).status, code(SyscallError::NoRights));
        (void)ipc::sys::handle_close(send_only.value());
    }
    expect_error_reply("an unknown label", call(handle, info(kUnknownLabel, 0, false)), ipc::Error::UnknownLabel);
    // Only the kernel may ask a service to fault: from a task it is a label
    // the protocol does not have, and the service goes on.
    expect_error_reply("fault injection from a task", call(handle, info(herald::abi::kFaultInjectionLabel, 0, false)),
        ipc::Error::UnknownLabel);
    expect("SetIpcBuffer(none)", set_buffer(nullptr), 0);
    expect("a payload without an IPC buffer", call(handle, info(1, 16, false)).status, code(SyscallError::BadAddress));
    expect("SetIpcBuffer", set_buffer(g_buffer), 0);
}

void console_requests(uint64_t console)
{
    using namespace ipc::console;
    g_service = "console";
    // Subscribe: a handle that names no notification, one without the
    // right to signal, one nobody can wait on any more.
    expect_error_reply("Subscribe with an endpoint handle", call(console, info(Subscribe::label, 0, true), 0, console),
        ipc::Error::BadHandle);
    auto notification = ipc::sys::notification_create();
    expect("notification", notification.is_error(), false);
    if (!notification.is_error()) {
        auto wait_only = ipc::sys::handle_mint(notification.value(), herald::abi::RightReceive, 0);
        auto signal_only = ipc::sys::handle_mint(notification.value(), herald::abi::RightSend, 0);
        expect("mint the copies", wait_only.is_error() || signal_only.is_error(), false);
        if (!wait_only.is_error() && !signal_only.is_error()) {
            expect_error_reply("Subscribe with a wait-only notification",
                call(console, info(Subscribe::label, 0, true), 0, wait_only.value()), ipc::Error::NoRights);
            (void)ipc::sys::handle_close(wait_only.value());
            (void)ipc::sys::handle_close(notification.value());
            expect_error_reply("Subscribe with a notification nobody can wait on",
                call(console, info(Subscribe::label, 0, true), 0, signal_only.value()), ipc::Error::PeerGone);
            (void)ipc::sys::handle_close(signal_only.value());
        }
    }
    expect_error_reply("Subscribe without a handle", call(console, info(Subscribe::label, 0, false)), ipc::Error::BadMessage);
    expect_error_reply("Read with a payload", call(console, info(Read::label, 8, false), 8), ipc::Error::BadMessage);

    const char line[] = "service_garbage: the console still writes whole lines\n";
    __builtin_memcpy(g_buffer, line, sizeof(line) - 1);
    Answer written = call(console, info(Write::label, sizeof(line) - 1, false));
    expect("Write after all that", written.status == 0 && written.reply.words[0] == sizeof(line) - 1, true);
}

void loader_requests(uint64_t loader)
{
    using namespace ipc::loader;
    g_service = "loader";
    Program program {};
    __builtin_memset(program.name.bytes, 'a', sizeof(program.name.bytes)); // no NUL anywhere
    uint64_t words[8] = {};
    __builtin_memcpy(words, &program, sizeof(program));
    ipc::sys::Registers registers { loader, info(Spawn::label, 0, false), {} };
    for (int i = 0; i < 8; ++i)
        registers.words[i] = words[i];
    int64_t status = ipc::sys::message_syscall(SyscallNumber::IpcCall, registers);
    expect("Spawn of a 32-byte name without NUL",
        status == 0 && static_cast<int64_t>(registers.words[0]) == code(ipc::Error::NotFound), true);
    expect_error_reply("Spawn carrying a handle it does not take", call(loader, info(Spawn::label, 0, true), 0, loader),
        ipc::Error::BadMessage);
    expect_error_reply("SpawnWith without a handle", call(loader, info(SpawnWith::label, 0, false)), ipc::Error::BadMessage);
    expect_error_reply("Kill of task 0", call(loader, info(Kill::label, 0, false), 0), ipc::Error::NotFound);
    expect_error_reply("List with a payload", call(loader, info(List::label, 8, false)), ipc::Error::BadMessage);

    Answer list = call(loader, info(List::label, 0, false));
    auto listed = herald::abi::MessageInfo::decode(list.reply.rsi);
    // The caller's own tasks only (docs/system.md): this program started none.
    expect("List", list.status == 0 && listed.label == List::label && listed.payload_length == 0, true);
}

void memory_requests()
{
    using namespace ipc::memory;
    g_service = "memory";
    uint64_t memory = herald::abi::HandleMemory;
    // The memory service has no IPC buffer in ring 3 (a payload sent to it is
    // dropped), and behaves the same in ring 0.
    Answer grow = call(memory, info(Grow::label, 16, false), 0);
    expect("Grow of 0 pages with a payload", grow.status == 0 && herald::abi::MessageInfo::decode(grow.reply.rsi).label == Grow::label, true);
    expect_error_reply("Give without a handle", call(memory, info(Give::label, 0, false)), ipc::Error::BadMessage);
    expect_error_reply("Give with a handle that is no task", call(memory, info(Give::label, 0, true), 0, memory),
        ipc::Error::Denied);
}

// An IPC buffer in a heap page that is then released: the buffer's page is
// gone when the call comes. The kernel must not touch it: in ring 3 the
// payload is dropped on the way (the console writes nothing), in ring 0 the
// call is refused (BadAddress). Either way, no fault.
void buffer_gone(uint64_t console)
{
    g_service = "console (and memory)";
    auto& transport = herald::user::ipc();
    auto grown = ipc::memory::grow(transport, 1);
    expect("Grow a page", grown.is_error(), false);
    if (grown.is_error())
        return;
    auto* page = reinterpret_cast<uint8_t*>(grown.value().old_end);
    page[0] = 1;
    expect("SetIpcBuffer(heap page)", set_buffer(page), 0);
    ipc::sys::Registers release { herald::abi::HandleMemory, info(ipc::memory::Release::label, 0, false),
        { grown.value().old_end, 1, 0, 0, 0, 0, 0, 0 } };
    int64_t released = ipc::sys::message_syscall(SyscallNumber::IpcCall, release);
    expect("Release the buffer's page", released == 0 && release.words[0] == 1, true);
    Answer written = call(console, info(ipc::console::Write::label, 16, false));
    bool dropped = written.status == 0 && written.reply.words[0] == 0;
    bool refused = written.status == code(SyscallError::BadAddress);
    expect("Write from a buffer that is gone", dropped || refused, true);
    expect("SetIpcBuffer back", set_buffer(g_buffer), 0);
}

} // namespace

extern "C" int64_t herald_main(uint64_t)
{
    // Lookups first, through the runtime's own transport and buffer; from
    // then on only raw calls with our buffer (the runtime's goes unused, and
    // nothing is printed: failures go to the kernel log).
    uint64_t console = herald::user::find_server("console");
    uint64_t loader = herald::user::find_server("loader");
    expect("console in the registry", console != herald::abi::HandleNone, true);
    expect("loader in the registry", loader != herald::abi::HandleNone, true);
    if (console == herald::abi::HandleNone || loader == herald::abi::HandleNone)
        return g_wrong;
    expect("SetIpcBuffer", set_buffer(g_buffer), 0);
    bad_messages("console", console);
    bad_messages("loader", loader);
    console_requests(console);
    loader_requests(loader);
    memory_requests();
    buffer_gone(console);
    return g_wrong;
}

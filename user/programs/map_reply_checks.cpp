// map_reply_checks: MemoryMapReply's refusals (docs/syscalls.md,
// "MemoryMapReply"), from a program that holds what the memory server holds:
// a MemoryControl handle (kControl) and an endpoint to receive on
// (kEndpoint), given by the self-test that starts it
// (tests/insystem/memory_tests.cpp, memory_map_reply_refuses_bad_arguments).
// Its start parameter is a managed frame, so that a call with every argument
// right gets past the frame check.
//
// First with no call to answer: NoReply, nothing mapped, the outcome word
// untouched (the kernel stores only the map's result). Then it receives the
// self-test's Call (made by the kernel in a kernel thread's name; a page
// fault's is made in the faulting user thread's name) and tries every bad argument with the reply right pending: each
// is refused and leaves the right in place. The map itself is refused last
// (the caller is a kernel thread: no user memory, PeerGone), and the outcome
// word says so; with a read-only word (aligned user memory: it passes the
// checks) the status alone says so, and the word is untouched. Then it answers the Call with IpcReplyTo (label kDoneLabel,
// word 0 the mismatches): the answer arriving proves that no refusal used
// the right up. A MemoryMapReply after that answer finds no call: NoReply.
// Last, a map that works but cannot write the word (read-only): the call of
// the program's own second thread (kEndpointSend) is left unanswered,
// kMapReplyUnanswered, and the page is mapped (mapped_with_a_read_only_word).
//
// Prints "map_reply_checks: MISMATCH <check>: got G, expected E" per wrong
// result, then "map_reply_checks: N checks, M mismatches", and exits with M.
#include "libipc/syscalls.hpp"
#include "memory_common.hpp"
#include "microkernel/abi/ipc.hpp"
#include "microkernel/abi/memory.hpp"
#include "user/runtime/log_line.hpp"
#include "user/runtime/syscall.hpp"
#include "user/runtime/thread.hpp"

using namespace herald;
using herald::user::LogLine;

namespace {

constexpr uint64_t kEndpoint = 8; // the handles the self-test gives (memory_tests.cpp)
constexpr uint64_t kControl = 9;
constexpr uint64_t kEndpointSend = 10; // a send right to kEndpoint: the program's own call
constexpr uint32_t kDoneLabel = 0x4D52'4344; // "MRCD"
constexpr uint32_t kOwnCallLabel = 0x4D52'4F43; // "MROC"
constexpr uint64_t kPattern = 0x6D61'7070'6564'2121; // what the heap page holds
constexpr uint64_t kPage = abi::kPageSize;
constexpr uint64_t kGoodAddress = abi::kUserHeapBase; // a page any task may have
constexpr uint64_t kKernelHalf = 0xFFFF'8000'0000'0000;

int g_checks = 0;
int g_mismatches = 0;
constexpr int64_t kUntouched = 42;    // an outcome word the kernel must not have written
constexpr int64_t kReadOnlyValue = 7;
int64_t g_outcome = 0;                // where the kernel writes the map's result
const int64_t g_read_only = kReadOnlyValue; // in .rodata: the kernel's store there fails
// The word as memory holds it: a plain read of a const with a constant
// initialiser folds to kReadOnlyValue, and would test nothing.
int64_t read_only_word() { return *static_cast<const volatile int64_t*>(&g_read_only); }

using Line = LogLine<160>;

void expect(const char* check, int64_t got, int64_t expected)
{
    ++g_checks;
    if (got == expected)
        return;
    ++g_mismatches;
    Line().add("map_reply_checks: MISMATCH {}: got {}, expected {}", check, got, expected).write();
}

constexpr int64_t error(abi::SyscallError value) { return static_cast<int64_t>(value); }

struct Arguments {
    uint64_t endpoint { kEndpoint };
    uint64_t control { kControl };
    uint64_t address { kGoodAddress };
    uint64_t frame { 0 };
    uint64_t flags { abi::MapWritable | abi::MapZeroed };
    uint64_t outcome { reinterpret_cast<uint64_t>(&g_outcome) };
};

// One MemoryMapReply: its status (the registers come back as a received
// message when it succeeds; every call here is refused).
int64_t map_reply(const Arguments& a)
{
    ipc::sys::Registers registers { a.endpoint, a.control, { a.address, a.frame, a.flags, a.outcome, 0, 0, 0, 0 } };
    return ipc::sys::message_syscall(abi::SyscallNumber::MemoryMapReply, registers);
}

// Every argument the kernel checks before it looks for a call to answer.
void bad_arguments(uint64_t frame)
{
    Arguments a;
    a.frame = frame;
    Arguments bad = a;
    bad.control = 0;
    expect("no control handle", map_reply(bad), error(abi::SyscallError::BadHandle));
    bad.control = 200;
    expect("an unused handle as control", map_reply(bad), error(abi::SyscallError::BadHandle));
    bad.control = kEndpoint;
    expect("the endpoint as control", map_reply(bad), error(abi::SyscallError::BadHandle));
    bad = a;
    bad.address = kGoodAddress + 8;
    expect("an address not page aligned", map_reply(bad), error(abi::SyscallError::BadAddress));
    bad.address = kKernelHalf;
    expect("an address in the kernel half", map_reply(bad), error(abi::SyscallError::BadAddress));
    bad.address = abi::kUserSpaceEnd;
    expect("an address above user memory", map_reply(bad), error(abi::SyscallError::BadAddress));
    bad.address = abi::kUserCodeBase - kPage;
    expect("an address below user memory", map_reply(bad), error(abi::SyscallError::BadAddress));
    bad = a;
    bad.frame = frame + 8;
    expect("a frame not page aligned", map_reply(bad), error(abi::SyscallError::BadArgument));
    bad.frame = kPage; // low memory: the kernel's, never managed
    expect("a frame that is not managed", map_reply(bad), error(abi::SyscallError::BadArgument));
    bad = a;
    bad.flags = 1ull << 40;
    expect("an unknown flag", map_reply(bad), error(abi::SyscallError::BadArgument));
    bad = a;
    bad.outcome = 0;
    expect("no outcome word", map_reply(bad), error(abi::SyscallError::BadAddress));
    bad.outcome = reinterpret_cast<uint64_t>(&g_outcome) + 4;
    expect("an outcome word not aligned", map_reply(bad), error(abi::SyscallError::BadAddress));
    bad.outcome = kKernelHalf;
    expect("an outcome word in the kernel half", map_reply(bad), error(abi::SyscallError::BadAddress));
}

// The program's second thread: a user caller for the main thread to answer.
// Its value: the answer's label.
int64_t own_call(uint64_t)
{
    ipc::Message message;
    message.label = kOwnCallLabel;
    auto reply = ipc::sys::call(kEndpointSend, message);
    return reply.is_error() ? -1 : static_cast<int64_t>(reply.value().label);
}

// A map that works with an outcome word that cannot be written: the page is
// mapped, nothing answered or received, kMapReplyUnanswered. The frame is
// the program's own heap page, taken out with MemoryUnmap and put back by
// MemoryMapReply for its second thread's Call, so the memory server's books
// (the page mapped there) stay right.
void mapped_with_a_read_only_word()
{
    auto grown = ipc::memory::grow(memory_test::transport(), 1);
    expect("a heap page", grown.is_error() ? -1 : 0, 0);
    if (grown.is_error())
        return;
    uint64_t address = grown.value().old_end;
    auto* page = reinterpret_cast<volatile uint64_t*>(address);
    *page = kPattern; // the memory server maps it
    abi::SelfInfo info {};
    (void)user::self_info(&info);
    int64_t frame = user::syscall3(user::number_of(abi::SyscallNumber::MemoryUnmap), kControl, info.task_id, address);
    expect("the heap page unmapped", frame > 0 ? 0 : frame, 0);
    if (frame <= 0)
        return;
    user::ThreadControl* caller = user::thread_create(own_call, 0);
    expect("a thread to call", caller ? 0 : -1, 0);
    if (!caller)
        return;
    auto call = ipc::sys::receive(kEndpoint);
    expect("the thread's call arrives", call.is_error() ? -1 : static_cast<int64_t>(call.value().label), kOwnCallLabel);
    Arguments a;
    a.address = address;
    a.frame = static_cast<uint64_t>(frame);
    a.flags = abi::MapWritable;
    a.outcome = reinterpret_cast<uint64_t>(&g_read_only);
    expect("mapped, a read-only word: unanswered", map_reply(a), abi::kMapReplyUnanswered);
    expect("mapped, a read-only word: untouched", read_only_word(), kReadOnlyValue);
    expect("the page is back, with what it held", *page == kPattern ? 0 : -1, 0);
    auto saved = ipc::sys::reply_save();
    expect("unanswered: the call still waits", saved.is_error() ? -1 : 0, 0);
    if (!saved.is_error()) {
        ipc::Message done;
        done.label = kDoneLabel;
        (void)ipc::sys::reply_to(saved.value(), done);
    }
    int64_t value = 0;
    (void)user::thread_join(caller, &value);
    expect("the thread's call answered once", value, kDoneLabel);
}

} // namespace

extern "C" int64_t herald_main(uint64_t frame)
{
    Arguments good;
    good.frame = frame;
    g_outcome = kUntouched;
    expect("no call to answer", map_reply(good), error(abi::SyscallError::NoReply));
    expect("no call: the outcome word untouched", g_outcome, kUntouched);
    Arguments read_only = good;
    read_only.outcome = reinterpret_cast<uint64_t>(&g_read_only);
    expect("a read-only outcome word, no call", map_reply(read_only), error(abi::SyscallError::NoReply));
    bad_arguments(frame);

    auto call = ipc::sys::receive(kEndpoint);
    expect("the self-test's call arrives", call.is_error() ? -1 : 0, 0);
    if (call.is_error())
        return g_mismatches;
    bad_arguments(frame); // each refused with the reply right pending, which stays
    bad_arguments(frame);
    expect("a read-only outcome word: the map's error", map_reply(read_only), error(abi::SyscallError::PeerGone));
    expect("a read-only outcome word: untouched", read_only_word(), kReadOnlyValue);
    g_outcome = 0;
    expect("a caller with no user memory", map_reply(good), error(abi::SyscallError::PeerGone));
    expect("the outcome word says why", g_outcome, error(abi::SyscallError::PeerGone));

    auto saved = ipc::sys::reply_save();
    expect("the reply right is still there", saved.is_error() ? -1 : 0, 0);
    if (saved.is_error())
        return g_mismatches;
    int mismatches_so_far = g_mismatches;
    ipc::Message done;
    done.label = kDoneLabel;
    done.words[0] = static_cast<uint64_t>(mismatches_so_far);
    expect("the answer goes", ipc::sys::reply_to(saved.value(), done).is_error() ? -1 : 0, 0);
    expect("answered: no call to answer", map_reply(good), error(abi::SyscallError::NoReply));
    mapped_with_a_read_only_word();

    Line().add("map_reply_checks: {} checks, {} mismatches", g_checks, g_mismatches).write();
    return g_mismatches;
}

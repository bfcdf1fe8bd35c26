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
// Then a map that works but cannot write the word (read-only): the call of
// the program's own second thread (kEndpointSend) is left unanswered,
// kMapReplyUnanswered, and the page is mapped (mapped_with_a_read_only_word).
//
// Last, a user caller whose page a sibling thread mapped first (the map
// answers Occupied: BadArgument, docs/memory.md "A fault in flight"): a
// thread of its own Calls through kEndpointSend (send right) for a page
// no thread touched yet (released: no frame), as a fault would; once the call has arrived a
// third thread writes to that page (its own fault maps it), and the
// MemoryMapReply for the caller then finds it mapped: BadArgument, the
// outcome word says so, nothing is answered and the reply right stays. The
// server's part is then to answer Resolved itself (IpcReplyTo here); the
// caller runs again and finds the page, with the sibling's bytes.
//
// Prints "map_reply_checks: MISMATCH <check>: got G, expected E" per wrong
// result, then "map_reply_checks: N checks, M mismatches", and exits with M.
#include "libipc/protocols/memory.hpp"
#include "libipc/syscalls.hpp"
#include "memory_common.hpp"
#include "microkernel/abi/ipc.hpp"
#include "microkernel/abi/memory.hpp"
#include "user/runtime/herald.hpp"
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

// ---- a user caller whose page a sibling mapped first ----

constexpr uint8_t kSiblingByte = 0x5A;
constexpr int64_t kCallerAnsweredWrong = 1, kCallerFoundNoPage = 2, kCallerCallFailed = 3;
constexpr uint32_t kCallerFailedLabel = 0x4D52'4346; // "MRCF": the caller's Call failed

// A page of heap with no frame behind it (released: reserved, the next
// touch maps a zeroed frame; the block's headers lie outside it), or
// nullptr.
uint8_t* unmapped_page()
{
    void* block = malloc(3 * kPage);
    if (!block)
        return nullptr;
    uint64_t page = (reinterpret_cast<uint64_t>(block) + kPage) & ~(kPage - 1);
    if (ipc::memory::release(user::ipc(), page, 1).is_error())
        return nullptr;
    return reinterpret_cast<uint8_t*>(page);
}

// The faulting thread: asks for `page` as a fault would, then touches it
// once the answer says Resolved.
int64_t caller(uint64_t page)
{
    ipc::Message fault;
    fault.label = abi::kPageFaultLabel;
    fault.words[0] = page;
    auto answer = ipc::sys::call(kEndpointSend, fault);
    if (answer.is_error()) {
        ipc::Message failed; // wakes the main thread's receive, if the endpoint still takes it
        failed.label = kCallerFailedLabel;
        (void)ipc::sys::send(kEndpointSend, failed);
        return kCallerCallFailed;
    }
    if (answer.value().label != abi::kPageFaultLabel
        || answer.value().words[0] != static_cast<uint64_t>(abi::PageFaultVerdict::Resolved))
        return kCallerAnsweredWrong;
    auto* bytes = reinterpret_cast<volatile uint8_t*>(page);
    return bytes[0] == kSiblingByte && bytes[kPage - 1] == kSiblingByte ? 0 : kCallerFoundNoPage;
}

// The sibling: maps `page` by touching it.
int64_t sibling(uint64_t page)
{
    __builtin_memset(reinterpret_cast<void*>(page), kSiblingByte, kPage);
    return 0;
}

// Whether `thread` ended with 0.
bool joined_clean(user::ThreadControl* thread)
{
    int64_t value = -1;
    return user::thread_join(thread, &value) == 0 && value == 0;
}

void occupied_for_a_user_caller(uint64_t frame)
{
    uint8_t* page = unmapped_page();
    expect("a page for the caller", page ? 0 : -1, 0);
    if (!page)
        return;
    auto address = reinterpret_cast<uint64_t>(page);
    user::ThreadControl* faulting = user::thread_create(caller, address);
    expect("the caller starts", faulting ? 0 : -1, 0);
    if (!faulting)
        return;
    auto call = ipc::sys::receive(kEndpoint);
    expect("the caller's call arrives", call.is_error() || call.value().label != abi::kPageFaultLabel ? -1 : 0, 0);
    if (call.is_error())
        return; // the exit ends the caller
    if (call.value().label != abi::kPageFaultLabel) {
        int64_t value = -1;
        user::thread_join(faulting, &value); // its Call failed, and it said so: it has ended
        return;
    }
    expect("the call names the page", static_cast<int64_t>(call.value().words[0] == address), 1);
    user::ThreadControl* first = user::thread_create(sibling, address);
    expect("the sibling maps the page first", first && joined_clean(first) ? 0 : -1, 0);

    Arguments a;
    a.address = address;
    a.frame = frame;
    a.flags |= abi::MapNotReclaimed; // if a regression mapped it: not handed back at the exit, one owner
    g_outcome = 0;
    expect("a page a sibling mapped: Occupied", map_reply(a), error(abi::SyscallError::BadArgument));
    expect("the outcome word says Occupied", g_outcome, error(abi::SyscallError::BadArgument));
    auto saved = ipc::sys::reply_save();
    expect("Occupied: the reply right is still there", saved.is_error() ? -1 : 0, 0);
    if (saved.is_error())
        return; // the caller never gets an answer: the exit ends it
    ipc::Message resolved;
    resolved.label = abi::kPageFaultLabel;
    resolved.words[0] = static_cast<uint64_t>(abi::PageFaultVerdict::Resolved);
    bool answered = !ipc::sys::reply_to(saved.value(), resolved).is_error();
    expect("the server answers Resolved", answered ? 0 : -1, 0);
    if (!answered)
        return; // the caller waits on: the exit ends it
    int64_t value = -1;
    expect("the caller ends", user::thread_join(faulting, &value), 0);
    expect("the caller ran again and found the sibling's page", value, 0);
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

    occupied_for_a_user_caller(frame);

    Line().add("map_reply_checks: {} checks, {} mismatches", g_checks, g_mismatches).write();
    return g_mismatches;
}

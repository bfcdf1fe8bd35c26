// sysfuzz's call generator (docs/reliability.md, "The system-call fuzzer"):
// the random system calls a fuzzing task makes, with arguments that are
// random but aware of what the task holds. Portable and freestanding (no
// system call is made here), so that the host tests can run it
// (tests/host/sysfuzz_generator_test.cpp); user/programs/sysfuzz/main.cpp
// makes the calls.
//
// Contract:
//  - Reproducible: the calls depend only on the seed and on the results fed
//    back with observe() (a handle's index is what the kernel returned).
//  - Handle-aware: it tracks the kind of every index of the task's handle
//    table from the results (created, minted, received, saved, closed), and
//    uses real handles of every kind it holds, free indices, closed ones,
//    and junk values.
//  - It never makes a call that legitimately ends or wedges the task (the
//    list is in docs/reliability.md): no Exit, no Sleep over 1 ms (a tick
//    of 10 ms), no Kill of itself through the loader, no wait that nobody
//    can end: send, call and receive only on endpoints somebody serves (the
//    shared endpoint, the servers) or whose answer is an error at once,
//    NotifyWait Forever only where it fails at once, no TaskWait on a child
//    while it owes answers, a received call answered or saved within
//    kMaxReplyDelay calls, saved replies and unknown handles closed after
//    kMaxHoldCalls, no ThreadExit of the main thread (its threads make
//    it), ThreadCreate only at the thread entry with a stack of its own
//    (or arguments the kernel refuses), and no more live threads than
//    kThreadSlots. What the kernel lets a
//    hostile program do to others is fair game, but for three things that
//    would only end the run, not test the kernel: Grow over 128 pages
//    (there are no memory quotas yet, issue 13 item 2), handles that pin a
//    caller's reply (saved replies, unknown handles) passed to servers, and
//    console writes over 64 bytes (the serial log).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "microkernel/abi/device.hpp"
#include "microkernel/abi/ipc.hpp"
#include "microkernel/abi/memory.hpp"
#include "microkernel/abi/syscalls.hpp"
#include "microkernel/abi/task.hpp"

namespace herald::sysfuzz {

using abi::SyscallNumber;

// splitmix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
// generators", 2014): spreads a small seed over 64 bits.
inline uint64_t splitmix64(uint64_t& state)
{
    uint64_t z = (state += 0x9E37'79B9'7F4A'7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58'476D'1CE4'E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D0'49BB'1331'11EBull;
    return z ^ (z >> 31);
}

// xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift
// generators, scrambled", 2016): small, fast, good enough to pick calls.
class Random {
public:
    explicit Random(uint64_t seed)
    {
        m_state = splitmix64(seed);
        if (m_state == 0)
            m_state = 1; // xorshift's one fixed point
    }
    uint64_t next()
    {
        m_state ^= m_state >> 12;
        m_state ^= m_state << 25;
        m_state ^= m_state >> 27;
        return m_state * 0x2545'F491'4F6C'DD1Dull;
    }
    uint64_t below(uint64_t bound) { return bound ? next() % bound : 0; }
    bool one_in(uint64_t n) { return below(n) == 0; }
    template<typename T, size_t N>
    T pick(const T (&values)[N]) { return values[below(N)]; }

private:
    uint64_t m_state;
};

// The seed of worker `index` from the run's seed: distinct streams.
inline uint64_t worker_seed(uint64_t seed, uint64_t index)
{
    uint64_t state = seed ^ (index * 0xD6E8'FEB8'6659'FD93ull);
    return splitmix64(state);
}

// The registers of one system call, in and out (abi/syscalls.hpp, abi/ipc.hpp):
// RAX number/result, RDI..R9 arguments, RSI the MessageInfo and RDX, R10,
// R8, R9, R12-R15 the message words of an IPC call.
struct Registers {
    uint64_t rax, rdi, rsi, rdx, r10, r8, r9, r12, r13, r14, r15;
};

// What the generator believes a handle index of the task holds.
enum class Kind : uint8_t {
    Free,         // nothing (never used, or closed): calls on it fail at once
    Unknown,      // received in a message: may be anything, even another's saved reply
    Shared,       // the run's shared endpoint (or a copy): every fuzzer and the pump receive on it
    Private,      // an endpoint this task created (or a copy): nobody else receives on it
    Dead,         // a send-only copy of an endpoint whose receive handles are gone: PeerGone at once
    Notification, // created here
    SavedReply,   // IpcReplySave's (or a copy)
    Child,        // a task this task spawned (the program `sleep`, a few ms)
    Registry,     // abi::HandleRegistry (or a copy)
    Memory,       // abi::HandleMemory (or a copy)
    Console,      // the console server, from the registry
    Loader,       // the loader, from the registry
    Reserved,     // the task's own bookkeeping (a copy of its child's handle): never used
    Count
};

// Where the task's memory is, for pointer arguments.
struct Layout {
    uint64_t scratch;         // kScratchPages writable pages, page-aligned: the kernel may write here
    uint64_t code;            // an address in the program's code: readable, not writable
    uint64_t protected_begin; // [begin, end): the task's own data and stack top, never passed
    uint64_t protected_end;
    uint64_t stack_top_begin; // the stack pages in use: never passed either
    uint64_t task_id;         // for the loader's Kill (never itself)
    // Threads (ThreadCreate): the one code address a thread may start at
    // (any other executable address would run from the middle of an
    // instruction and fault, killing the whole task), kThreadSlots
    // parameter blocks `thread_parameter_stride` apart, and as many stacks of
    // `thread_stack_bytes` from `thread_stacks` on, all inside the protected
    // data.
    uint64_t thread_entry;
    uint64_t thread_parameters;
    uint64_t thread_parameter_stride;
    uint64_t thread_stacks;
    uint64_t thread_stack_bytes;
};
inline constexpr uint64_t kScratchPages = 2;
// Threads the fuzzer may have at once besides its main thread (each has a
// stack slot; a slot is free again once its thread was joined).
inline constexpr uint64_t kThreadSlots = 4;
inline constexpr uint64_t kNoThreadSlot = ~0ull;

// Calls made to keep the task going rather than at random (counted apart).
enum class Forced : uint8_t { None, SaveReply, CloseOld };

// A generated call: the registers, the syscall number it is (for the
// statistics), and what observe() needs to know about it.
struct Call {
    Registers registers;
    uint64_t number;    // = registers.rax before the call
    uint64_t handle;    // the handle argument, when there is one
    Kind target;        // its kind then
    Forced forced;
    // ThreadCreate of a real thread: the slot whose stack and parameter
    // block it gets, and what the caller writes there for the thread
    // (main.cpp: the thread's seed); kNoThreadSlot otherwise. ThreadJoin of
    // a thread of ours: its slot.
    uint64_t thread_slot { kNoThreadSlot };
    uint64_t thread_argument { 0 };
};

inline constexpr uint64_t kPageSize = abi::kPageSize;
// How long a saved reply or an unknown handle may be kept (calls): another
// fuzzer's call may wait on it.
inline constexpr uint64_t kMaxHoldCalls = 48;
// The longest a received call may go without an answer (calls).
inline constexpr uint64_t kMaxReplyDelay = 8;
// Heap pages (Grow) before the fuzzer gives them back (Shrink).
inline constexpr uint64_t kMaxHeapPages = 128;
// Console payloads (the serial log) and DebugWrites from valid memory.
inline constexpr uint64_t kMaxConsoleBytes = 64;
inline constexpr uint64_t kMaxLogBytes = 96;
// What EventCounters may write: abi::kEventCount (15) counters, and room.
inline constexpr uint64_t kMaxEventBytes = 16 * 8;
// Free handle slots below which closing is made more likely.
inline constexpr uint64_t kCrowded = 48;
// The labels of the servers' requests are small: mostly pick those.
inline constexpr uint32_t kMaxServerLabel = 8;
// Loader protocol labels (libipc/protocols/loader.hpp) and the memory
// protocol's (libipc/protocols/memory.hpp) that need care.
inline constexpr uint32_t kLoaderKill = 2;
inline constexpr uint32_t kMemoryGrow = 1;
inline constexpr uint32_t kMemoryShrink = 2;
inline constexpr uint32_t kMemoryStats = 4;
// Messages the ticker sends on the shared endpoint: the generator never
// uses this label, so the pump knows a tick.
inline constexpr uint32_t kTickLabel = 0x5449'434B; // "TICK"

class Generator {
public:
    Generator(uint64_t seed, const Layout& layout) : m_random(seed), m_layout(layout)
    {
        for (auto& kind : m_kinds)
            kind = Kind::Free;
    }

    void set(uint64_t handle, Kind kind)
    {
        if (handle < abi::kMaxHandles) {
            m_kinds[handle] = kind;
            m_since[handle] = m_calls;
        }
    }
    // The handles the task started with (the servers', the shared
    // endpoint): never closed by the generator, so that the whole run has
    // them; their copies are.
    void keep(uint64_t handle, Kind kind)
    {
        set(handle, kind);
        if (handle < abi::kMaxHandles)
            m_kept[handle] = true;
    }
    Kind kind(uint64_t handle) const { return handle < abi::kMaxHandles ? m_kinds[handle] : Kind::Free; }
    uint64_t count(Kind kind) const
    {
        uint64_t n = 0;
        for (Kind k : m_kinds)
            n += k == kind;
        return n;
    }
    // The first index holding `kind`, or 0.
    uint64_t find(Kind kind) const
    {
        for (uint64_t handle = 1; handle < abi::kMaxHandles; ++handle) {
            if (m_kinds[handle] == kind)
                return handle;
        }
        return 0;
    }
    uint64_t calls() const { return m_calls; }
    // Whether some caller may be waiting for this task: a call received and
    // not yet answered, a saved reply, or a handle from another task (which
    // may be one).
    bool owes_answers() const { return m_reply_pending || count(Kind::SavedReply) > 0 || count(Kind::Unknown) > 0; }
    Random& random() { return m_random; }

    // The next call to make.
    Call next()
    {
        ++m_calls;
        Call call {};
        if (forced(call))
            return call;
        call.forced = Forced::None;
        generate(call);
        call.number = call.registers.rax;
        return call;
    }

    // Learns from a call's result what the handle table holds now.
    void observe(const Call& call, const Registers& out)
    {
        int64_t result = static_cast<int64_t>(out.rax);
        using N = SyscallNumber;
        switch (static_cast<N>(call.number)) {
        case N::EndpointCreate:
            if (result > 0)
                set(result, Kind::Private);
            break;
        case N::NotificationCreate:
            if (result > 0)
                set(result, Kind::Notification);
            break;
        case N::HandleClose:
            if (result == 0)
                set(call.handle, Kind::Free);
            break;
        case N::HandleMint:
            if (result > 0)
                set(result, call.target == Kind::Free ? Kind::Unknown : call.target);
            break;
        case N::IpcReplySave:
            if (result > 0)
                set(result, Kind::SavedReply);
            // No room for the handle: the reply right stays ours; try again.
            m_reply_pending = result == static_cast<int64_t>(abi::SyscallError::NoMemory);
            m_reply_deadline = m_calls + 1;
            break;
        case N::IpcReplyTo:
            // Used up once the message was found valid, answered or not.
            if (result == 0 || result == static_cast<int64_t>(abi::SyscallError::NoReply))
                set(call.handle, Kind::Free);
            break;
        case N::IpcReceive:
        case N::IpcReplyReceive:
            // A refused reply (bad bits, length, rights) keeps the reply
            // right, and an error cannot say which half failed: an answer
            // may still be owed until the forced IpcReplySave says NoReply.
            if (result == 0) {
                // Maybe a call: answer it within a few calls (or save it).
                m_reply_pending = true;
                m_reply_deadline = m_calls + 1 + m_random.below(kMaxReplyDelay);
                learn_transfer(out);
            }
            break;
        case N::IpcCall:
            if (result == 0) {
                learn_transfer(out);
                learn_heap(call, out);
            }
            break;
        case N::ThreadCreate:
            if (result > 0 && call.thread_slot < kThreadSlots)
                m_threads[call.thread_slot] = { true, static_cast<uint64_t>(result) };
            break;
        case N::ThreadJoin:
            // Joined, or no such thread (any more): the slot is free.
            if (call.thread_slot < kThreadSlots
                && (result == 0 || result == static_cast<int64_t>(abi::SyscallError::BadArgument)))
                m_threads[call.thread_slot] = {};
            break;
        default:
            break;
        }
    }

    // The live threads' ids (for the end of the run: they are joined), 0
    // for a free slot.
    uint64_t thread_id(uint64_t slot) const
    {
        return slot < kThreadSlots && m_threads[slot].live ? m_threads[slot].id : 0;
    }
    uint64_t thread_stack_top(uint64_t slot) const
    {
        return m_layout.thread_stacks + (slot + 1) * m_layout.thread_stack_bytes;
    }
    uint64_t thread_parameter(uint64_t slot) const
    {
        return m_layout.thread_parameters + slot * m_layout.thread_parameter_stride;
    }

private:
    using N = SyscallNumber;

    void learn_transfer(const Registers& out)
    {
        if ((out.rsi & abi::MessageInfo::kTransferBit) && out.r15 < abi::kMaxHandles && out.r15 != 0)
            set(out.r15, Kind::Unknown);
    }

    // The memory service's answers to Grow and Shrink say where the heap ends.
    void learn_heap(const Call& call, const Registers& out)
    {
        if (call.target != Kind::Memory)
            return;
        uint32_t label = static_cast<uint32_t>(call.registers.rsi);
        uint64_t end = label == kMemoryGrow ? out.r10 : label == kMemoryShrink ? out.rdx : 0;
        if (end >= abi::kUserHeapBase)
            m_heap_pages = (end - abi::kUserHeapBase) / kPageSize;
    }

    // Answers owed and handles held too long come first.
    bool forced(Call& call)
    {
        Registers& r = call.registers;
        if (m_reply_pending && m_calls >= m_reply_deadline) {
            r.rax = static_cast<uint64_t>(N::IpcReplySave);
            call.number = r.rax;
            call.forced = Forced::SaveReply;
            return true;
        }
        for (uint64_t handle = 1; handle < abi::kMaxHandles; ++handle) {
            Kind kind = m_kinds[handle];
            if ((kind == Kind::SavedReply || kind == Kind::Unknown) && m_calls - m_since[handle] > kMaxHoldCalls) {
                r.rax = static_cast<uint64_t>(N::HandleClose);
                r.rdi = handle;
                call.number = r.rax;
                call.handle = handle;
                call.target = kind;
                call.forced = Forced::CloseOld;
                m_since[handle] = m_calls; // tried: a failure is not retried at once
                return true;
            }
        }
        return false;
    }

    // ---- argument classes ----

    uint64_t junk()
    {
        static constexpr uint64_t kJunk[] = { 0, 1, 2, 3, 7, 8, 0xFF, 0x100, 0xFFF, 0x1000, 0xFFFF'FFFF, 0x1'0000'0000,
            0x7FFF'FFFF'FFFF'FFFF, 0x8000'0000'0000'0000, ~0ull, ~0ull - 1, 0xFFFF'8000'0000'0000 };
        return m_random.one_in(3) ? m_random.next() : m_random.pick(kJunk);
    }

    static constexpr uint32_t bit(Kind kind) { return 1u << static_cast<uint32_t>(kind); }

    // A handle index the task holds, of a kind `allowed` accepts: more
    // often than not one of the `preferred` kinds (those the call is for),
    // else any kind, a free index or junk (which fail at once).
    template<typename Allowed>
    uint64_t handle(Allowed allowed, uint32_t preferred = 0)
    {
        if (preferred && m_random.below(100) < 60) {
            uint64_t start = m_random.below(abi::kMaxHandles);
            for (uint64_t i = 0; i < abi::kMaxHandles; ++i) {
                uint64_t candidate = (start + i) % abi::kMaxHandles;
                Kind kind = m_kinds[candidate];
                if ((preferred & bit(kind)) && kind != Kind::Free && kind != Kind::Reserved && allowed(kind))
                    return candidate;
            }
        }
        uint64_t roll = m_random.below(100);
        if (roll < 72) {
            uint64_t start = m_random.below(abi::kMaxHandles);
            for (uint64_t i = 0; i < abi::kMaxHandles; ++i) {
                uint64_t candidate = (start + i) % abi::kMaxHandles;
                Kind kind = m_kinds[candidate];
                if (kind != Kind::Free && kind != Kind::Reserved && allowed(kind))
                    return candidate;
            }
        }
        if (roll < 88) {
            // A free index: never used, or closed.
            uint64_t start = m_random.below(abi::kMaxHandles);
            for (uint64_t i = 0; i < abi::kMaxHandles; ++i) {
                uint64_t candidate = (start + i) % abi::kMaxHandles;
                if (m_kinds[candidate] == Kind::Free)
                    return candidate;
            }
        }
        static constexpr uint64_t kBad[] = { 0, abi::kMaxHandles, abi::kMaxHandles + 1, 0x1'0000'0001,
            0x8000'0000'0000'0001, ~0ull, 1000 };
        return m_random.pick(kBad);
    }
    uint64_t any_handle(uint32_t preferred = 0)
    {
        return handle([](Kind) { return true; }, preferred);
    }

    // Not a handle where a wait could last for ever (endpoints only this
    // task receives on, things received from others).
    static bool sendable(Kind kind) { return kind != Kind::Private && kind != Kind::Unknown; }
    static bool receivable(Kind kind) { return kind != Kind::Private && kind != Kind::Unknown; }
    static bool server(Kind kind)
    {
        return kind == Kind::Registry || kind == Kind::Memory || kind == Kind::Console || kind == Kind::Loader;
    }

    bool is_protected(uint64_t address, uint64_t length) const
    {
        uint64_t end = address + (length ? length : 1);
        if (end < address)
            return false; // wraps: refused before anything is touched
        const uint64_t scratch_end = m_layout.scratch + kScratchPages * kPageSize;
        if (address >= m_layout.scratch && end <= scratch_end)
            return false; // the scratch pages are in the data, and the kernel's to write
        auto overlaps = [&](uint64_t begin, uint64_t stop) { return address < stop && end > begin; };
        return overlaps(m_layout.protected_begin, m_layout.protected_end)
            || overlaps(m_layout.stack_top_begin, abi::kUserSpaceEnd - 8);
    }

    // A pointer: boundaries, the kernel half, holes, unmapped pages, the
    // task's own readable and writable memory. `length` is the span the
    // kernel may touch there; the task's own data is never named.
    uint64_t address(uint64_t length = 64)
    {
        const uint64_t scratch = m_layout.scratch;
        const uint64_t scratch_end = scratch + kScratchPages * kPageSize;
        static constexpr uint64_t kFixed[] = {
            0, 1, 8, 0xFFF, 0x1000, 0x10'0000,                      // null, low memory, the kernel image's physical home
            abi::kUserCodeBase - 1, abi::kUserCodeBase - 8, abi::kUserCodeBase - 0x1000, // just below user space
            abi::kUserHeapBase, abi::kUserHeapBase + 0x1000,         // the heap: reserved or not
            abi::kUserHeapLimit - 8, abi::kMemoryViewBase,           // the heap's end, the memory server's view
            abi::kStackGuardPage, abi::kStackGuardPage + 0xFF8,      // the stack's guard page
            abi::kUserStackBottom,                                   // the stack's unmapped bottom
            abi::kUserSpaceEnd - 4, abi::kUserSpaceEnd, abi::kUserSpaceEnd + 0x1000, // the physmap
            0x3F'0000'0000,                                          // user space, nothing there
            0x7FFF'FFFF'F000, 0x7FFF'FFFF'FFFF,                      // the top of the lower half
            0x8000'0000'0000, 0x8000'0000'0000'0000,                 // the canonical hole
            0xFFFF'8000'0000'0000, 0xFFFF'FFFF'8000'0000,            // the kernel half
            ~0ull - 7, ~0ull,                                        // wrapping
        };
        uint64_t roll = m_random.below(100);
        uint64_t candidate;
        if (roll < 35) {
            candidate = scratch + m_random.below(kScratchPages * kPageSize);
        } else if (roll < 45) {
            candidate = scratch_end - length; // the last bytes of the scratch pages
        } else if (roll < 52) {
            candidate = m_layout.code + m_random.below(256); // read-only
        } else if (roll < 80) {
            candidate = m_random.pick(kFixed);
        } else if (roll < 90) {
            candidate = abi::kUserCodeBase + m_random.below(abi::kUserSpaceEnd - abi::kUserCodeBase);
        } else {
            candidate = m_random.next();
        }
        // The task's own data and the stack it runs on are not the kernel's
        // to write; the scratch pages are (and so are the rest).
        if (is_protected(candidate, length))
            candidate = 0x3F'0000'0000 + (candidate & 0xFFF);
        return candidate;
    }

    uint64_t length()
    {
        static constexpr uint64_t kLengths[] = { 0, 1, 7, 8, 16, 48, 63, 64, 4095, 4096, 4097, 8192, 0x7FFF'FFFF,
            0x1'0000'0000, 0x8000'0000'0000'0000, ~0ull };
        return m_random.one_in(4) ? m_random.below(5000) : m_random.pick(kLengths);
    }

    // MessageInfo: mostly well formed (label, payload length, maybe a
    // handle), sometimes with reserved bits.
    uint64_t message_info(uint32_t label, uint64_t max_payload, bool may_transfer)
    {
        if (m_random.one_in(8))
            return m_random.next() | (1ull << 63);
        uint64_t payload = m_random.below(3) == 0 ? m_random.below(max_payload + 1) : 0;
        if (max_payload >= abi::kMaxPayload && m_random.one_in(16))
            payload = abi::kMaxPayload + 1 + m_random.below(100); // too long
        abi::MessageInfo info { label, static_cast<uint32_t>(payload), may_transfer && m_random.one_in(5) };
        return info.encode();
    }

    uint32_t label_for(Kind target)
    {
        uint32_t label;
        if (server(target) && !m_random.one_in(6))
            label = static_cast<uint32_t>(m_random.below(kMaxServerLabel));
        else
            label = static_cast<uint32_t>(m_random.one_in(2) ? m_random.below(16) : m_random.next());
        return label == kTickLabel ? 0 : label;
    }

    // Fills a message for `target` into RSI and the words; `call` says
    // whether a reply comes back to this task (which decides what the
    // memory service may be asked).
    void message(Registers& r, Kind target, bool call)
    {
        uint32_t label = label_for(target);
        uint64_t words[8];
        for (auto& word : words)
            word = m_random.one_in(2) ? m_random.below(64) : junk();
        if (target == Kind::Memory && label == kMemoryGrow) {
            if (!call || m_heap_pages >= kMaxHeapPages) {
                // Give the heap back rather than grow it without an answer.
                label = call ? kMemoryShrink : kMemoryStats;
                words[0] = m_heap_pages;
            } else {
                words[0] = m_random.below(8);
            }
        }
        if (target == Kind::Loader && label == kLoaderKill && words[0] == m_layout.task_id)
            words[0] = m_layout.task_id + 1 + m_random.below(4); // never itself
        uint64_t max_payload = target == Kind::Console ? kMaxConsoleBytes : abi::kMaxPayload;
        r.rsi = message_info(label, max_payload, true);
        if (r.rsi & abi::MessageInfo::kTransferBit) {
            // A handle to pass: servers never get one that pins a caller.
            words[7] = server(target) ? handle([](Kind kind) { return kind != Kind::SavedReply && kind != Kind::Unknown; })
                                      : any_handle();
        }
        r.rdx = words[0];
        r.r10 = words[1];
        r.r8 = words[2];
        r.r9 = words[3];
        r.r12 = words[4];
        r.r13 = words[5];
        r.r14 = words[6];
        r.r15 = words[7];
    }

    void junk_arguments(Registers& r)
    {
        r.rdi = junk();
        r.rsi = junk();
        r.rdx = junk();
        r.r10 = junk();
        r.r8 = junk();
        r.r9 = junk();
    }

    // ---- the calls ----

    // Weights per system call, out of their sum (Exit has none: it would
    // end the task).
    struct Weight {
        SyscallNumber number;
        uint32_t weight;
    };
    static constexpr Weight kWeights[] = {
        { N::DebugWrite, 2 }, { N::Yield, 2 }, { N::Sleep, 1 }, { N::SelfInfo, 4 }, { N::Null, 3 },
        { N::EndpointCreate, 4 }, { N::NotificationCreate, 4 }, { N::HandleClose, 7 }, { N::HandleMint, 6 },
        { N::SetIpcBuffer, 3 }, { N::IpcSend, 5 }, { N::IpcReceive, 2 }, { N::IpcCall, 9 },
        { N::IpcReplyReceive, 3 }, { N::NotifySignal, 5 }, { N::NotifyWait, 5 }, { N::IpcReplySave, 3 },
        { N::IpcReplyTo, 4 }, { N::MemoryMap, 1 }, { N::MemoryUnmap, 1 }, { N::MemoryReclaim, 1 },
        { N::MemoryRanges, 1 }, { N::MemoryMapReply, 1 }, { N::TaskCreate, 1 }, { N::TaskGiveHandle, 2 }, { N::TaskStart, 2 },
        { N::TaskKill, 2 }, { N::TaskWait, 2 }, { N::TaskInfo, 3 }, { N::TaskList, 1 }, { N::SystemShutdown, 1 },
        { N::LogRead, 1 }, { N::EventCounters, 2 }, { N::ServerTask, 1 },
        { N::ThreadCreate, 3 }, { N::ThreadJoin, 3 }, { N::ThreadSetPointer, 2 }, // not ThreadExit: the threads make it
        { N::FaultInject, 1 },
        { N::IoPortRestrict, 1 }, { N::IoPortEnable, 1 }, { N::InterruptRestrict, 1 }, { N::InterruptBind, 1 },
        { N::InterruptAck, 1 }, { N::DeviceMemoryRestrict, 1 }, { N::DeviceMemoryMap, 1 }, { N::DeviceInfo, 1 },
        { N::InterruptAllocateMsi, 1 }, // refused: a fuzzer holds no interrupt root
        { N::ThreadSetStackGuard, 1 },
        { N::Count, 4 }, // a number that is no system call
    };
    static constexpr uint32_t total_weight()
    {
        uint32_t sum = 0;
        for (const Weight& w : kWeights)
            sum += w.weight;
        return sum;
    }

    SyscallNumber pick_number()
    {
        uint64_t roll = m_random.below(total_weight());
        for (const Weight& w : kWeights) {
            if (roll < w.weight)
                return w.number;
            roll -= w.weight;
        }
        return N::Null;
    }

    uint64_t invalid_number()
    {
        static constexpr uint64_t kInvalid[] = { 6, 15, 29, 31, 36, 39, static_cast<uint64_t>(N::Count),
            static_cast<uint64_t>(N::Count) + 1, 1000,
            0x1'0000'0000 | static_cast<uint64_t>(N::Exit), 0x1'0000'0000 | static_cast<uint64_t>(N::TaskKill),
            0x8000'0000'0000'0003, ~0ull, ~0ull - 1 };
        uint64_t number = m_random.one_in(4) ? m_random.next() : m_random.pick(kInvalid);
        // A random 64-bit value is no system call either, but for these.
        return number < static_cast<uint64_t>(N::Count) ? static_cast<uint64_t>(N::Count) + number : number;
    }

    void use_handle(Call& call, uint64_t handle)
    {
        call.handle = handle;
        call.target = kind(handle);
        call.registers.rdi = handle;
    }

    uint64_t free_thread_slot()
    {
        uint64_t start = m_random.below(kThreadSlots);
        for (uint64_t i = 0; i < kThreadSlots; ++i) {
            uint64_t slot = (start + i) % kThreadSlots;
            if (!m_threads[slot].live)
                return slot;
        }
        return kNoThreadSlot;
    }

    // A real thread (the entry, a free stack slot, its parameter block),
    // or arguments the kernel must refuse: an entry that is no code, or
    // the real entry with a stack top that is misaligned or outside user
    // space. Never the real entry with any other stack (it would run on
    // memory the kernel or another thread writes) or another code address.
    void thread_create(Call& call)
    {
        Registers& r = call.registers;
        static constexpr uint64_t kCpus[] = { 0, 1, 2, 3, abi::kAnyCpu, abi::kAnyCpu, 4, 64, 255, abi::kAnyCpu - 1 };
        r.r10 = m_random.pick(kCpus);
        uint64_t slot = free_thread_slot();
        uint64_t roll = m_random.below(10);
        if (slot != kNoThreadSlot && roll < 6) {
            r.rdi = m_layout.thread_entry;
            r.rsi = thread_stack_top(slot);
            r.rdx = thread_parameter(slot);
            call.thread_slot = slot;
            call.thread_argument = m_random.next();
        } else if (roll < 8) {
            const uint64_t kNotCode[] = { 0, 1, abi::kUserCodeBase - 1, m_layout.scratch, m_layout.protected_begin,
                abi::kUserHeapBase, abi::kStackGuardPage, abi::kUserSpaceEnd - 16, abi::kUserSpaceEnd,
                0x8000'0000'0000, 0xFFFF'8000'0000'0000, ~0ull };
            r.rdi = m_random.pick(kNotCode);
            r.rsi = m_random.one_in(2) ? thread_stack_top(m_random.below(kThreadSlots)) : junk();
        } else {
            static constexpr uint64_t kRefusedStacks[] = { 0, 8, abi::kUserCodeBase, abi::kUserCodeBase - 16,
                abi::kUserSpaceEnd + 16, 0xFFFF'8000'0000'0000, ~0ull - 15, ~0ull };
            r.rdi = m_layout.thread_entry;
            r.rsi = m_random.one_in(3) ? thread_stack_top(m_random.below(kThreadSlots)) + 8 // misaligned
                                       : m_random.pick(kRefusedStacks);
        }
    }

    // Mostly a live thread of ours (it ends on its own within a few calls,
    // so the wait is short), else ids that are none: 0, small ones, junk.
    void thread_join(Call& call)
    {
        Registers& r = call.registers;
        r.rsi = address(8);
        uint64_t start = m_random.below(kThreadSlots);
        if (m_random.below(10) < 7) {
            for (uint64_t i = 0; i < kThreadSlots; ++i) {
                uint64_t slot = (start + i) % kThreadSlots;
                if (m_threads[slot].live) {
                    r.rdi = m_threads[slot].id;
                    call.thread_slot = slot;
                    return;
                }
            }
        }
        r.rdi = m_random.one_in(2) ? m_random.below(40) : junk();
        for (uint64_t slot = 0; slot < kThreadSlots; ++slot) {
            if (m_threads[slot].live && m_threads[slot].id == r.rdi)
                call.thread_slot = slot; // a live one after all
        }
    }

    void generate(Call& call)
    {
        Registers& r = call.registers;
        junk_arguments(r);
        // A full table is worth trying, but not all the time: with most
        // slots taken, close some.
        SyscallNumber number = count(Kind::Free) < kCrowded && m_random.one_in(3) ? N::HandleClose : pick_number();
        r.rax = static_cast<uint64_t>(number);
        switch (number) {
        case N::DebugWrite: {
            r.rdi = address(kMaxLogBytes);
            bool inside = r.rdi >= m_layout.scratch && r.rdi < m_layout.scratch + kScratchPages * kPageSize;
            r.rsi = inside ? m_random.below(kMaxLogBytes) : length();
            break;
        }
        case N::Sleep: {
            static constexpr uint64_t kSleeps[] = { 0, 0, 0, 1, abi::kMaxSleepMs + 1, ~0ull, 0x8000'0000'0000'0000 };
            r.rdi = m_random.pick(kSleeps);
            break;
        }
        case N::SelfInfo: r.rdi = address(sizeof(abi::SelfInfo)); break;
        case N::HandleClose: {
            uint64_t h = handle([](Kind) { return true; });
            if (h < abi::kMaxHandles && m_kept[h])
                h = 0; // a kept one: close nothing instead
            use_handle(call, h);
            break;
        }
        case N::HandleMint: {
            use_handle(call, any_handle(bit(Kind::Shared) | bit(Kind::SavedReply) | bit(Kind::Child) | bit(Kind::Registry)
                    | bit(Kind::Loader)));
            r.rsi = m_random.one_in(4) ? junk() : m_random.below(abi::RightsAll + 1);
            r.rdx = m_random.one_in(2) ? 0 : m_random.one_in(2) ? m_random.below(100) : junk();
            break;
        }
        case N::SetIpcBuffer: {
            uint64_t roll = m_random.below(10);
            r.rdi = roll < 4 ? m_layout.scratch + kPageSize * m_random.below(kScratchPages)
                : roll < 5   ? 0
                             : address(kPageSize);
            break;
        }
        case N::IpcSend:
        case N::IpcCall:
            use_handle(call, handle(sendable, bit(Kind::Shared) | bit(Kind::Dead) | bit(Kind::Registry)
                    | bit(Kind::Memory) | bit(Kind::Console) | bit(Kind::Loader)));
            message(r, call.target, number == N::IpcCall);
            break;
        case N::IpcReceive:
            use_handle(call, handle(receivable, bit(Kind::Shared)));
            break;
        case N::IpcReplyReceive:
            use_handle(call, handle(receivable, bit(Kind::Shared)));
            message(r, Kind::Shared, false); // the reply, to whoever called
            break;
        case N::NotifySignal:
            use_handle(call, any_handle(bit(Kind::Notification)));
            r.rsi = m_random.one_in(3) ? junk() : 1ull << m_random.below(64);
            break;
        case N::NotifyWait: {
            uint64_t roll = m_random.below(20);
            if (roll < 7) {
                use_handle(call, any_handle(bit(Kind::Notification)));
                r.rsi = static_cast<uint64_t>(abi::WaitMode::Poll);
            } else if (roll < 13) {
                use_handle(call, any_handle(bit(Kind::Notification)));
                r.rsi = static_cast<uint64_t>(abi::WaitMode::Timeout);
                static constexpr uint64_t kTimeouts[] = { 0, 1, 2, abi::kMaxSleepMs + 1, ~0ull };
                r.rdx = m_random.pick(kTimeouts);
            } else if (roll < 16) {
                // For ever only where it fails at once.
                use_handle(call, handle([](Kind kind) { return kind != Kind::Notification && kind != Kind::Unknown; }));
                r.rsi = static_cast<uint64_t>(abi::WaitMode::Forever);
            } else {
                use_handle(call, any_handle());
                r.rsi = static_cast<uint64_t>(abi::WaitMode::Timeout) + 1 + (m_random.one_in(2) ? 0 : junk());
                if (r.rsi <= static_cast<uint64_t>(abi::WaitMode::Timeout))
                    r.rsi = static_cast<uint64_t>(abi::WaitMode::Timeout) + 1;
            }
            break;
        }
        case N::IpcReplyTo:
            use_handle(call, any_handle(bit(Kind::SavedReply) | bit(Kind::Unknown)));
            message(r, Kind::Shared, false);
            break;
        case N::MemoryMap:
            use_handle(call, any_handle());
            r.rdx = address();
            r.r8 = junk();
            break;
        case N::MemoryUnmap:
            use_handle(call, any_handle());
            r.rdx = address();
            break;
        case N::MemoryMapReply: // refused: a fuzzer holds no MemoryControl (argument 2)
            use_handle(call, any_handle());
            r.rsi = any_handle();
            r.rdx = address();
            r.r10 = junk();
            r.r8 = junk();
            r.r9 = address();
            break;
        case N::MemoryReclaim:
        case N::MemoryRanges:
        case N::TaskList:
        case N::LogRead: {
            use_handle(call, any_handle());
            uint64_t count = length();
            r.rsi = address(count > kPageSize ? kPageSize : count * 8);
            r.rdx = count;
            break;
        }
        case N::TaskCreate:
            use_handle(call, any_handle());
            r.rdx = length();
            r.rsi = address(r.rdx);
            break;
        case N::TaskGiveHandle:
            use_handle(call, any_handle(bit(Kind::Child)));
            r.rsi = any_handle();
            r.rdx = m_random.one_in(2) ? m_random.below(300) : junk();
            break;
        case N::TaskStart:
            use_handle(call, any_handle(bit(Kind::Child)));
            r.rsi = address();
            r.rdx = address();
            break;
        case N::TaskKill:
        case N::SystemShutdown:
            use_handle(call, any_handle(bit(Kind::Child)));
            break;
        case N::TaskWait:
            // Waiting for a child while owing an answer could close a
            // circle: our child waits for another fuzzer's answer, while
            // that fuzzer waits for its child, which waits for ours.
            if (owes_answers())
                use_handle(call, handle([](Kind kind) { return kind != Kind::Child && kind != Kind::Unknown; }));
            else
                use_handle(call, any_handle(bit(Kind::Child)));
            r.rsi = address(sizeof(abi::TaskStatus));
            break;
        case N::TaskInfo:
            use_handle(call, any_handle(bit(Kind::Child)));
            r.rsi = address(sizeof(abi::TaskStatus));
            break;
        case N::EventCounters: {
            static constexpr uint64_t kCpus[] = { 0, 1, 2, 3, 4, 63, 255, 256, ~0ull, ~0ull - 1 };
            r.rdi = m_random.pick(kCpus);
            r.rdx = length();
            r.rsi = address(kMaxEventBytes);
            break;
        }
        case N::ServerTask:
            // A fuzzer holds no SystemControl: refused whatever it asks.
            use_handle(call, any_handle());
            r.rsi = m_random.one_in(4) ? junk() : m_random.below(3);
            r.rdx = m_random.one_in(4) ? junk() : m_random.below(3);
            break;
        case N::ThreadCreate: thread_create(call); break;
        case N::ThreadJoin: thread_join(call); break;
        case N::ThreadSetPointer:
            // The fuzzer's code never reads its thread pointer (no
            // thread-local storage): any address, the kernel refuses those
            // outside user space.
            r.rdi = m_random.one_in(3) ? junk() : address(8);
            break;
        case N::ThreadSetStackGuard: {
            // Only pages the fuzzer never touches (a fault on the guard
            // kills the task as a stack overflow), or junk the kernel
            // refuses; 0 takes the guard away.
            static constexpr uint64_t kGuards[] = { 0, abi::kStackGuardPage, abi::kUserCodeBase - abi::kPageSize };
            r.rdi = m_random.one_in(2) ? junk() : m_random.pick(kGuards);
            break;
        }
        case N::FaultInject: // refused without faults=on and FaultControl, which a fuzzer never holds
            use_handle(call, any_handle());
            r.rsi = m_random.below(6);
            r.rdx = m_random.one_in(2) ? m_layout.task_id : junk();
            break;
        case N::IoPortRestrict:
        case N::InterruptRestrict:
            use_handle(call, any_handle());
            r.rsi = m_random.one_in(3) ? junk() : m_random.below(0x1'0000);
            r.rdx = m_random.one_in(3) ? junk() : r.rsi + m_random.below(16);
            break;
        case N::IoPortEnable:
        case N::InterruptAck:
            use_handle(call, any_handle());
            break;
        case N::InterruptBind:
            use_handle(call, any_handle());
            r.rsi = any_handle(bit(Kind::Notification));
            r.rdx = m_random.one_in(3) ? junk() : 1ull << m_random.below(64);
            break;
        case N::DeviceMemoryRestrict:
            use_handle(call, any_handle());
            r.rdx = m_random.one_in(2) ? kPageSize * m_random.below(4) : junk();
            break;
        case N::DeviceMemoryMap:
            use_handle(call, any_handle());
            r.rsi = address(kPageSize);
            break;
        case N::DeviceInfo:
            use_handle(call, any_handle());
            r.rsi = address(sizeof(abi::DeviceInfo));
            break;
        case N::InterruptAllocateMsi:
            use_handle(call, any_handle());
            r.rsi = address(sizeof(abi::MsiMessage));
            break;
        case N::Count:
            r.rax = invalid_number();
            break;
        default: // Yield, Null, EndpointCreate, NotificationCreate, IpcReplySave: junk arguments
            break;
        }
    }

    Random m_random;
    Layout m_layout;
    Kind m_kinds[abi::kMaxHandles];
    uint64_t m_since[abi::kMaxHandles] {};
    bool m_kept[abi::kMaxHandles] {};
    uint64_t m_calls { 0 };
    bool m_reply_pending { false };
    uint64_t m_reply_deadline { 0 };
    uint64_t m_heap_pages { 0 };
    struct ThreadSlot {
        bool live;
        uint64_t id;
    };
    ThreadSlot m_threads[kThreadSlots] {};
};

} // namespace herald::sysfuzz

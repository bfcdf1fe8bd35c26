// The system-call fuzzer's generator (user/programs/sysfuzz/generator.hpp),
// driven by a small fake kernel that hands out handle indices as Herald's
// does: the calls are reproducible, cover every system call and argument
// class, and never make a call that would end or wedge the fuzzer.
#include <catch2/catch.hpp>

#include <set>
#include <vector>

#include "user/programs/sysfuzz/generator.hpp"

using namespace herald;
using herald::sysfuzz::Call;
using herald::sysfuzz::Generator;
using herald::sysfuzz::Kind;
using herald::sysfuzz::Registers;
using N = herald::abi::SyscallNumber;

namespace {

constexpr uint64_t kScratch = 0x0810'0000;
constexpr uint64_t kDataBegin = 0x0810'0000 - 0x3000;
constexpr uint64_t kDataEnd = kDataBegin + (1ull << 20);
constexpr uint64_t kTaskId = 9;
constexpr uint64_t kLoader = 4;
constexpr uint64_t kConsole = 5;
constexpr uint64_t kThreadEntry = 0x0800'2000; // in the code
constexpr uint64_t kThreadParameters = kDataBegin + 0x100;
constexpr uint64_t kThreadParameterStride = 0x80;
constexpr uint64_t kThreadStacks = kDataBegin + 0x1'0000;
constexpr uint64_t kThreadStackBytes = 0x4000;

sysfuzz::Layout layout()
{
    return sysfuzz::Layout { kScratch, 0x0800'1000, kDataBegin, kDataEnd, abi::kUserSpaceEnd - (64ull << 10), kTaskId,
        kThreadEntry, kThreadParameters, kThreadParameterStride, kThreadStacks, kThreadStackBytes };
}

// What the kernel checks of a ThreadCreate (syscall/thread_control.cpp):
// the entry is the program's code (here: below the data), the stack top
// aligned and in user space.
bool entry_is_code(uint64_t entry) { return entry >= abi::kUserCodeBase && entry < kDataBegin; }
bool stack_accepted(uint64_t top) { return top % 16 == 0 && top > abi::kUserCodeBase && top <= abi::kUserSpaceEnd; }
bool cpu_accepted(uint64_t cpu) { return cpu == abi::kAnyCpu || cpu < 4; }

int64_t error(abi::SyscallError e) { return static_cast<int64_t>(e); }

// Hands out the lowest free index, like the kernel's handle table; answers
// receives with a message that sometimes carries a handle.
class FakeKernel {
public:
    explicit FakeKernel(Generator& generator) : m_generator(generator)
    {
        for (uint64_t h : { uint64_t(abi::HandleRegistry), uint64_t(abi::HandleMemory), uint64_t(3), kLoader, kConsole })
            m_used[h] = true;
        generator.keep(abi::HandleRegistry, Kind::Registry);
        generator.keep(abi::HandleMemory, Kind::Memory);
        generator.keep(3, Kind::Shared);
        generator.keep(kLoader, Kind::Loader);
        generator.keep(kConsole, Kind::Console);
    }

    Registers run(const Call& call)
    {
        Registers out = call.registers;
        out.rax = static_cast<uint64_t>(answer(call, out));
        return out;
    }

private:
    uint64_t grant()
    {
        for (uint64_t h = 1; h < abi::kMaxHandles; ++h) {
            if (!m_used[h]) {
                m_used[h] = true;
                return h;
            }
        }
        return 0;
    }
    bool held(uint64_t h) const { return h < abi::kMaxHandles && m_used[h]; }

    int64_t answer(const Call& call, Registers& out)
    {
        const Registers& r = call.registers;
        switch (static_cast<N>(call.number)) {
        case N::EndpointCreate:
        case N::NotificationCreate: {
            uint64_t h = grant();
            return h ? static_cast<int64_t>(h) : error(abi::SyscallError::NoMemory);
        }
        case N::HandleMint: {
            if (!held(r.rdi))
                return error(abi::SyscallError::BadHandle);
            uint64_t h = grant();
            return h ? static_cast<int64_t>(h) : error(abi::SyscallError::NoMemory);
        }
        case N::HandleClose:
            if (!held(r.rdi))
                return error(abi::SyscallError::BadHandle);
            m_used[r.rdi] = false;
            return 0;
        case N::IpcReplySave: {
            if (m_calls_waiting == 0)
                return error(abi::SyscallError::NoReply);
            --m_calls_waiting;
            uint64_t h = grant();
            return static_cast<int64_t>(h);
        }
        case N::IpcReplyTo:
            if (m_generator.kind(r.rdi) != Kind::SavedReply || !held(r.rdi))
                return error(abi::SyscallError::BadHandle);
            m_used[r.rdi] = false;
            return 0;
        case N::IpcReceive:
        case N::IpcReplyReceive:
            if (m_generator.kind(r.rdi) != Kind::Shared)
                return error(abi::SyscallError::BadHandle);
            m_calls_waiting = 1;
            out.rsi = 0;
            if (m_received++ % 3 == 0) {
                if (uint64_t h = grant()) {
                    out.rsi = abi::MessageInfo::kTransferBit;
                    out.r15 = h;
                }
            }
            return 0;
        case N::ThreadCreate:
            if (!entry_is_code(r.rdi) || !stack_accepted(r.rsi))
                return error(abi::SyscallError::BadAddress);
            if (!cpu_accepted(r.r10))
                return error(abi::SyscallError::BadArgument);
            live_threads.insert(m_next_thread);
            return static_cast<int64_t>(m_next_thread++);
        case N::ThreadJoin:
            if (!live_threads.count(r.rdi))
                return error(abi::SyscallError::BadArgument);
            live_threads.erase(r.rdi);
            return 0;
        case N::IpcCall:
            if (!held(r.rdi))
                return error(abi::SyscallError::BadHandle);
            out.rsi = 0;
            if (m_generator.kind(r.rdi) == Kind::Memory && static_cast<uint32_t>(r.rsi) == sysfuzz::kMemoryGrow) {
                m_heap_pages += r.rdx;
                out.rdx = abi::kUserHeapBase;
                out.r10 = abi::kUserHeapBase + m_heap_pages * abi::kPageSize;
            } else if (m_generator.kind(r.rdi) == Kind::Memory && static_cast<uint32_t>(r.rsi) == sysfuzz::kMemoryShrink) {
                m_heap_pages = r.rdx > m_heap_pages ? 0 : m_heap_pages - r.rdx;
                out.rdx = abi::kUserHeapBase + m_heap_pages * abi::kPageSize;
            }
            return 0;
        default:
            return call.number < static_cast<uint64_t>(N::Count) ? 0 : error(abi::SyscallError::BadNumber);
        }
    }

    Generator& m_generator;
    bool m_used[abi::kMaxHandles] {};
    uint64_t m_calls_waiting { 0 };
    uint64_t m_received { 0 };
    uint64_t m_next_thread { 2 }; // 1: the main thread

public:
    uint64_t m_heap_pages { 0 };
    std::set<uint64_t> live_threads;
};

bool blocks_on_endpoint(uint64_t number)
{
    return number == static_cast<uint64_t>(N::IpcSend) || number == static_cast<uint64_t>(N::IpcCall)
        || number == static_cast<uint64_t>(N::IpcReceive) || number == static_cast<uint64_t>(N::IpcReplyReceive);
}

bool in_data(uint64_t address, uint64_t length)
{
    uint64_t end = address + length;
    if (end < address)
        return false;
    bool in_scratch = address >= kScratch && end <= kScratch + sysfuzz::kScratchPages * abi::kPageSize;
    return !in_scratch && address < kDataEnd && end > kDataBegin;
}

std::vector<Registers> calls_of(uint64_t seed, size_t count)
{
    Generator generator(seed, layout());
    FakeKernel kernel(generator);
    std::vector<Registers> made;
    for (size_t i = 0; i < count; ++i) {
        Call call = generator.next();
        made.push_back(call.registers);
        generator.observe(call, kernel.run(call));
    }
    return made;
}

bool same(const Registers& a, const Registers& b)
{
    return a.rax == b.rax && a.rdi == b.rdi && a.rsi == b.rsi && a.rdx == b.rdx && a.r10 == b.r10 && a.r8 == b.r8
        && a.r9 == b.r9 && a.r12 == b.r12 && a.r13 == b.r13 && a.r14 == b.r14 && a.r15 == b.r15;
}

} // namespace

TEST_CASE("sysfuzz: the same seed makes the same calls, another seed others")
{
    auto first = calls_of(42, 5000);
    auto again = calls_of(42, 5000);
    auto other = calls_of(43, 5000);
    size_t equal = 0, differ = 0;
    for (size_t i = 0; i < first.size(); ++i) {
        equal += same(first[i], again[i]);
        differ += !same(first[i], other[i]);
    }
    CHECK(equal == first.size());
    CHECK(differ > first.size() / 2);
    CHECK(sysfuzz::worker_seed(1, 0) != sysfuzz::worker_seed(1, 1));
}

TEST_CASE("sysfuzz: every system call but Exit, invalid numbers, every handle kind and the argument classes come up")
{
    Generator generator(7, layout());
    FakeKernel kernel(generator);
    std::set<uint64_t> numbers;
    std::set<Kind> targets;
    uint64_t invalid = 0, kernel_half = 0, null = 0, scratch = 0, non_canonical = 0, forced_saves = 0, forced_closes = 0;
    for (int i = 0; i < 200'000; ++i) {
        Call call = generator.next();
        numbers.insert(call.number);
        if (call.number >= static_cast<uint64_t>(N::Count))
            ++invalid;
        if (call.handle)
            targets.insert(call.target);
        uint64_t pointer = call.registers.rdi;
        kernel_half += pointer >= 0xFFFF'8000'0000'0000;
        null += pointer == 0 && call.number == static_cast<uint64_t>(N::SelfInfo);
        scratch += pointer >= kScratch && pointer < kScratch + 2 * abi::kPageSize;
        non_canonical += pointer == 0x8000'0000'0000;
        forced_saves += call.forced == sysfuzz::Forced::SaveReply;
        forced_closes += call.forced == sysfuzz::Forced::CloseOld;
        generator.observe(call, kernel.run(call));
    }
    for (uint64_t n = 0; n < static_cast<uint64_t>(N::Count); ++n) {
        bool exists = n <= 5 || (n >= 16 && n <= 28) || (n >= 32 && n <= 36) || (n >= 40 && n <= 65);
        bool ends_the_fuzzer = n == static_cast<uint64_t>(N::Exit) || n == static_cast<uint64_t>(N::ThreadExit);
        INFO("system call " << n);
        CHECK(numbers.count(n) == (exists && !ends_the_fuzzer ? 1u : 0u));
    }
    CHECK(invalid > 1000);
    for (Kind kind : { Kind::Free, Kind::Unknown, Kind::Shared, Kind::Private, Kind::Notification, Kind::SavedReply,
             Kind::Registry, Kind::Memory, Kind::Console, Kind::Loader }) {
        INFO("kind " << static_cast<int>(kind));
        CHECK(targets.count(kind) == 1);
    }
    CHECK(kernel_half > 100);
    CHECK(null > 10);
    CHECK(scratch > 1000);
    CHECK(non_canonical > 10);
    CHECK(forced_saves > 10);
    CHECK(forced_closes > 10);
}

TEST_CASE("sysfuzz: no call that would end or wedge the fuzzer, and the kernel never writes its data")
{
    for (uint64_t seed : { 1u, 2u, 3u }) {
        Generator generator(seed, layout());
        FakeKernel kernel(generator);
        uint64_t since_receive = ~0ull;
        for (int i = 0; i < 100'000; ++i) {
            Call call = generator.next();
            const Registers& r = call.registers;
            INFO("seed " << seed << " call " << i << " number " << call.number);
            REQUIRE(call.number != static_cast<uint64_t>(N::Exit));
            REQUIRE(call.number != static_cast<uint64_t>(N::ThreadExit)); // the main thread's would end the fuzzing
            if (call.number == static_cast<uint64_t>(N::ThreadCreate) && entry_is_code(r.rdi)) {
                // Only the entry, and with a stack the kernel refuses or one
                // no live thread uses, with that slot's parameter block.
                REQUIRE(r.rdi == kThreadEntry);
                if (stack_accepted(r.rsi)) {
                    REQUIRE(call.thread_slot < sysfuzz::kThreadSlots);
                    REQUIRE(r.rsi == kThreadStacks + (call.thread_slot + 1) * kThreadStackBytes);
                    REQUIRE(r.rdx == kThreadParameters + call.thread_slot * kThreadParameterStride);
                    REQUIRE(generator.thread_id(call.thread_slot) == 0);
                }
            }
            if (call.number == static_cast<uint64_t>(N::HandleClose))
                REQUIRE((r.rdi != abi::HandleRegistry && r.rdi != abi::HandleMemory && r.rdi != 3 && r.rdi != kLoader
                    && r.rdi != kConsole));
            if (blocks_on_endpoint(call.number)) {
                REQUIRE(call.target != Kind::Private);
                REQUIRE(call.target != Kind::Unknown);
            }
            if (call.number == static_cast<uint64_t>(N::NotifyWait)) {
                if (r.rsi == static_cast<uint64_t>(abi::WaitMode::Forever))
                    REQUIRE((call.target != Kind::Notification && call.target != Kind::Unknown));
                if (r.rsi == static_cast<uint64_t>(abi::WaitMode::Timeout))
                    REQUIRE((r.rdx <= 2 || r.rdx > abi::kMaxSleepMs));
            }
            if (call.number == static_cast<uint64_t>(N::TaskWait) && generator.owes_answers())
                REQUIRE((call.target != Kind::Child && call.target != Kind::Unknown));
            if (call.number == static_cast<uint64_t>(N::Sleep))
                REQUIRE((r.rdi <= 1 || r.rdi > abi::kMaxSleepMs));
            bool to_server = call.target == Kind::Registry || call.target == Kind::Memory
                || call.target == Kind::Console || call.target == Kind::Loader;
            if ((call.number == static_cast<uint64_t>(N::IpcCall) || call.number == static_cast<uint64_t>(N::IpcSend))
                && !(r.rsi >> 63)) {
                uint32_t label = static_cast<uint32_t>(r.rsi);
                if (call.target == Kind::Loader && label == sysfuzz::kLoaderKill)
                    REQUIRE(r.rdx != kTaskId);
                if (call.target == Kind::Memory && label == sysfuzz::kMemoryGrow) {
                    REQUIRE(call.number == static_cast<uint64_t>(N::IpcCall));
                    REQUIRE(r.rdx < 8);
                    REQUIRE(kernel.m_heap_pages < sysfuzz::kMaxHeapPages);
                }
                if (to_server && (r.rsi & abi::MessageInfo::kTransferBit)) {
                    Kind passed = generator.kind(r.r15);
                    REQUIRE((passed != Kind::SavedReply && passed != Kind::Unknown));
                }
                if (call.target == Kind::Console)
                    REQUIRE(abi::MessageInfo::decode(r.rsi).payload_length <= sysfuzz::kMaxConsoleBytes);
            }
            // Where the kernel would write.
            switch (static_cast<N>(call.number)) {
            case N::SelfInfo: REQUIRE_FALSE(in_data(r.rdi, sizeof(abi::SelfInfo))); break;
            case N::SetIpcBuffer: REQUIRE_FALSE(in_data(r.rdi, abi::kPageSize)); break;
            case N::TaskWait:
            case N::TaskInfo: REQUIRE_FALSE(in_data(r.rsi, sizeof(abi::TaskStatus))); break;
            case N::EventCounters: REQUIRE_FALSE(in_data(r.rsi, 8 * 16)); break;
            case N::ThreadJoin: REQUIRE_FALSE(in_data(r.rsi, 8)); break;
            case N::DeviceInfo: REQUIRE_FALSE(in_data(r.rsi, sizeof(abi::DeviceInfo))); break;
            case N::InterruptAllocateMsi: REQUIRE_FALSE(in_data(r.rsi, sizeof(abi::MsiMessage))); break;
            default: break;
            }
            // A received call is answered (or saved) within a few calls.
            if (call.number == static_cast<uint64_t>(N::IpcReplySave))
                since_receive = ~0ull;
            else if (since_receive != ~0ull)
                REQUIRE(++since_receive <= sysfuzz::kMaxReplyDelay + 1);
            Registers out = kernel.run(call);
            if ((call.number == static_cast<uint64_t>(N::IpcReceive) || call.number == static_cast<uint64_t>(N::IpcReplyReceive))
                && out.rax == 0)
                since_receive = 0;
            generator.observe(call, out);
            // The generator knows every live thread (to join them at the end).
            REQUIRE(kernel.live_threads.size() <= sysfuzz::kThreadSlots);
            for (uint64_t id : kernel.live_threads) {
                bool known = false;
                for (uint64_t slot = 0; slot < sysfuzz::kThreadSlots; ++slot)
                    known = known || generator.thread_id(slot) == id;
                REQUIRE(known);
            }
            // Whatever happened since, an answer owed is still owed until IpcReplySave.
            if (since_receive != ~0ull)
                REQUIRE(generator.owes_answers());
        }
    }
}

TEST_CASE("sysfuzz: threads start at the entry, each on a stack of its own, and are joined")
{
    Generator generator(11, layout());
    FakeKernel kernel(generator);
    uint64_t created = 0, joined = 0, refused_entries = 0, refused_stacks = 0, bad_cpus = 0, slots_used = 0;
    for (int i = 0; i < 100'000; ++i) {
        Call call = generator.next();
        Registers out = kernel.run(call);
        int64_t result = static_cast<int64_t>(out.rax);
        if (call.number == static_cast<uint64_t>(N::ThreadCreate)) {
            created += result > 0;
            refused_entries += !entry_is_code(call.registers.rdi);
            refused_stacks += entry_is_code(call.registers.rdi) && !stack_accepted(call.registers.rsi);
            bad_cpus += result == static_cast<int64_t>(abi::SyscallError::BadArgument);
        }
        if (call.number == static_cast<uint64_t>(N::ThreadJoin))
            joined += result == 0;
        generator.observe(call, out);
        for (uint64_t slot = 0; slot < sysfuzz::kThreadSlots; ++slot)
            slots_used |= (generator.thread_id(slot) != 0) << slot;
    }
    CHECK(created > 100);
    CHECK(joined > 100);
    CHECK(joined + sysfuzz::kThreadSlots >= created); // none piles up
    CHECK(refused_entries > 50);
    CHECK(refused_stacks > 50);
    CHECK(bad_cpus > 20);
    CHECK(slots_used == (1u << sysfuzz::kThreadSlots) - 1);
}

#include "microkernel/debug/stack_walker.hpp"

#include <catch2/catch.hpp>
#include <map>

using namespace herald;

namespace {

// A sparse fake stack at made-up addresses: reads succeed only for words that
// were stored, so the walker's unreadable-memory handling can be tested.
class FakeStack final : public FrameMemory {
public:
    Optional<u64> read_u64(u64 address) const override
    {
        auto found = m_words.find(address);
        if (found == m_words.end())
            return nullopt;
        return found->second;
    }

    // A frame at `frame_pointer` whose caller's frame is `next`.
    void frame(u64 frame_pointer, u64 next, u64 return_address)
    {
        m_words[frame_pointer] = next;
        m_words[frame_pointer + 8] = return_address;
    }

private:
    std::map<u64, u64> m_words;
};

constexpr u64 code = 0xffffffff80001000ull;

// Four frames, innermost at 0x7000, ending in a saved rbp of 0.
FakeStack proper_chain()
{
    FakeStack stack;
    stack.frame(0x7000, 0x7040, code + 1);
    stack.frame(0x7040, 0x70a0, code + 2);
    stack.frame(0x70a0, 0x7100, code + 3);
    stack.frame(0x7100, 0, code + 4);
    return stack;
}

} // namespace

TEST_CASE("stack walker follows a proper frame-pointer chain")
{
    FakeStack stack = proper_chain();
    u64 addresses[16] = {};
    REQUIRE(walk_stack(0x7000, stack, addresses, 16) == 4);
    CHECK(addresses[0] == code + 1);
    CHECK(addresses[1] == code + 2);
    CHECK(addresses[2] == code + 3);
    CHECK(addresses[3] == code + 4);
}

TEST_CASE("stack walker stops at max_frames")
{
    FakeStack stack = proper_chain();
    u64 addresses[2] = {};
    CHECK(walk_stack(0x7000, stack, addresses, 2) == 2);
    CHECK(addresses[1] == code + 2);
    CHECK(walk_stack(0x7000, stack, nullptr, 0) == 0);
}

TEST_CASE("stack walker stops at a loop")
{
    FakeStack stack;
    stack.frame(0x7000, 0x7040, code + 1);
    stack.frame(0x7040, 0x7000, code + 2); // points back down
    u64 addresses[16] = {};
    CHECK(walk_stack(0x7000, stack, addresses, 16) == 2);

    FakeStack self_loop;
    self_loop.frame(0x7000, 0x7000, code + 1);
    CHECK(walk_stack(0x7000, self_loop, addresses, 16) == 1);
}

TEST_CASE("stack walker rejects null and misaligned frame pointers")
{
    FakeStack stack = proper_chain();
    u64 addresses[16] = {};
    CHECK(walk_stack(0, stack, addresses, 16) == 0);
    CHECK(walk_stack(0x7004, stack, addresses, 16) == 0);

    stack.frame(0x7100, 0x7203, code + 4); // misaligned saved rbp
    stack.frame(0x7200, 0, code + 5);
    CHECK(walk_stack(0x7000, stack, addresses, 16) == 4);
}

TEST_CASE("stack walker stops at unreadable memory and zero return addresses")
{
    FakeStack stack = proper_chain();
    stack.frame(0x7100, 0x9000, code + 4); // 0x9000 is not mapped
    u64 addresses[16] = {};
    CHECK(walk_stack(0x7000, stack, addresses, 16) == 4);
    CHECK(walk_stack(0x9000, stack, addresses, 16) == 0);

    stack.frame(0x7040, 0x70a0, 0);
    CHECK(walk_stack(0x7000, stack, addresses, 16) == 1);
}

TEST_CASE("stack walker does not wrap at the top of the address space")
{
    FakeStack stack;
    stack.frame(0xfffffffffffffff8ull, 0, code);
    u64 addresses[4] = {};
    CHECK(walk_stack(0xfffffffffffffff8ull, stack, addresses, 4) == 0);
}

TEST_CASE("StackRangeMemory reads only aligned words inside its range")
{
    alignas(16) u64 words[4] = { 1, 2, 3, 4 };
    auto base = reinterpret_cast<u64>(words);
    StackRangeMemory memory(base, base + sizeof(words));
    CHECK(memory.read_u64(base).value_or(0) == 1);
    CHECK(memory.read_u64(base + 24).value_or(0) == 4);
    CHECK(!memory.read_u64(base + 32));
    CHECK(!memory.read_u64(base - 8));
    CHECK(!memory.read_u64(base + 4));
    CHECK(!StackRangeMemory(0, 4).read_u64(0));
}

TEST_CASE("stack walker walks a real chain in memory")
{
    // Frames as a real prologue lays them out, on an array used as a stack.
    alignas(16) u64 stack[12] = {};
    auto at = [&](int index) { return reinterpret_cast<u64>(&stack[index]); };
    stack[0] = at(4);
    stack[1] = code + 1;
    stack[4] = at(8);
    stack[5] = code + 2;
    stack[8] = 0;
    stack[9] = code + 3;
    StackRangeMemory memory(at(0), at(0) + sizeof(stack));
    u64 addresses[8] = {};
    REQUIRE(walk_stack(at(0), memory, addresses, 8) == 3);
    CHECK(addresses[2] == code + 3);
}

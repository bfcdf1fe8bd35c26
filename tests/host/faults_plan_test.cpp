// The fault injector's plan and classification (user/programs/faults/plan.hpp,
// docs/reliability.md "Fault injection"): one seed gives one sequence of
// injections and another seed another; every target, kind, register and
// region comes up; every register flip is one the kernel accepts (RIP and
// RSP below bit 47, RFLAGS only in kFaultRflagsBits); memory addresses stay
// in their windows; the shell's argument round-trips; classify() follows
// its three rules.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "user/programs/faults/plan.hpp"

using namespace herald;
using namespace herald::faults;

namespace {

bool same(const Injection& a, const Injection& b)
{
    return a.index == b.index && a.target == b.target && a.kind == b.kind && a.reg == b.reg && a.bit == b.bit
        && a.region == b.region && a.address_seed == b.address_seed && a.delay_ms == b.delay_ms;
}

} // namespace

TEST_CASE("faults plan: one seed, one sequence; another seed, another", "[faults]")
{
    int differences = 0;
    for (uint32_t i = 0; i < 1000; ++i) {
        CHECK(same(plan(7, i), plan(7, i)));
        differences += !same(plan(7, i), plan(8, i));
    }
    CHECK(differences > 990);
}

TEST_CASE("faults plan: every target, kind, register and region comes up, fairly", "[faults]")
{
    size_t targets[kTargets] {}, kinds[8] {}, regions[kRegions] {};
    std::set<uint64_t> registers;
    constexpr uint32_t kCount = 40'000;
    for (uint32_t i = 0; i < kCount; ++i) {
        Injection injection = plan(1, i);
        ++targets[static_cast<size_t>(injection.target)];
        ++kinds[static_cast<size_t>(injection.kind)];
        ++regions[static_cast<size_t>(injection.region)];
        if (injection.kind == abi::FaultKind::RegisterBit)
            registers.insert(injection.reg);
        CHECK(injection.delay_ms <= kMaxDelayMs);
    }
    for (size_t t = 0; t < kTargets; ++t)
        CHECK(targets[t] > kCount / kTargets * 9 / 10);
    for (abi::FaultKind kind : kKinds)
        CHECK(kinds[static_cast<size_t>(kind)] > kCount / kKindCount * 9 / 10);
    CHECK(kinds[static_cast<size_t>(abi::FaultKind::Check)] == 0);
    for (size_t r = 0; r < kRegions; ++r)
        CHECK(regions[r] > kCount / kRegions * 9 / 10);
    CHECK(registers.size() == abi::kFaultRegisters);
}

TEST_CASE("faults plan: every register flip is one the kernel accepts", "[faults]")
{
    std::set<uint64_t> rflags_bits, rip_bits;
    for (uint32_t i = 0; i < 100'000; ++i) {
        Injection injection = plan(3, i);
        if (injection.kind != abi::FaultKind::RegisterBit)
            continue;
        auto reg = static_cast<abi::FaultRegister>(injection.reg);
        REQUIRE(injection.bit < 64);
        if (reg == abi::FaultRegister::Rip || reg == abi::FaultRegister::Rsp) {
            REQUIRE(injection.bit < abi::kFaultAddressBits);
            if (reg == abi::FaultRegister::Rip)
                rip_bits.insert(injection.bit);
        }
        if (reg == abi::FaultRegister::Rflags) {
            REQUIRE(((abi::kFaultRflagsBits >> injection.bit) & 1) == 1);
            rflags_bits.insert(injection.bit);
        }
    }
    CHECK(rflags_bits == std::set<uint64_t> { 0, 2, 4, 6, 7, 10, 11 }); // never IF (9), TF (8) or IOPL (12-13)
    CHECK(rip_bits.size() == abi::kFaultAddressBits);
}

TEST_CASE("faults plan: memory addresses stay in their windows, then move to the next", "[faults]")
{
    for (uint32_t i = 0; i < 2000; ++i) {
        Injection injection = plan(5, i);
        for (uint32_t attempt = 0; attempt < kAddressTries * kRegions; ++attempt) {
            uint64_t address = memory_address(injection, attempt);
            Region region = region_of_attempt(injection, attempt);
            const Window& window = kWindows[static_cast<size_t>(region)];
            REQUIRE(address % 8 == 0);
            REQUIRE(address >= window.base);
            REQUIRE(address < window.base + window.size);
            REQUIRE(address >= abi::kUserCodeBase);
            REQUIRE(address < abi::kUserSpaceEnd);
        }
        CHECK(region_of_attempt(injection, 0) == injection.region);
        CHECK(region_of_attempt(injection, kAddressTries) != injection.region);
    }
    // The stack window is the stack's first pages, which every task has.
    CHECK(kWindows[static_cast<size_t>(Region::Stack)].base + kWindows[static_cast<size_t>(Region::Stack)].size
        == abi::kUserSpaceEnd);
}

TEST_CASE("faults plan: the shell's argument round-trips and is never 0", "[faults]")
{
    Campaign campaign { 0xDEADBEEF, 12345, 10000 };
    uint64_t argument = pack(campaign);
    CHECK(argument != 0);
    CHECK((argument >> 63) == 0); // bit 63 is a worker's
    Campaign back = unpack(argument);
    CHECK(back.seed == campaign.seed);
    CHECK(back.first == campaign.first);
    CHECK(back.count == campaign.count);
    Campaign largest { 0xFFFFFFFF, static_cast<uint32_t>(kMaxFirst), static_cast<uint32_t>(kMaxCount) };
    CHECK((pack(largest) >> 63) == 0);
    CHECK(unpack(pack(largest)).count == kMaxCount);
    CHECK(pack(Campaign { 0, 0, 1 }) != 0);
}

TEST_CASE("faults classify: hang, then workload error, then recovered", "[faults]")
{
    auto seen = [](bool ended, bool went_on, uint32_t errors) { return Observation { ended, went_on, errors }; };
    CHECK(classify(seen(true, true, 0)) == Outcome::Recovered);
    CHECK(classify(seen(false, true, 0)) == Outcome::Recovered);
    CHECK(classify(seen(true, true, 2)) == Outcome::WorkloadError);
    CHECK(classify(seen(true, false, 0)) == Outcome::Hang);
    CHECK(classify(seen(false, false, 5)) == Outcome::Hang);
    CHECK(std::string(kOutcomeNames[static_cast<size_t>(Outcome::WorkloadError)]) == "workload-error");
}

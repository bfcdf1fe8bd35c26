// Fuzzes the ACPI MADT parser (microkernel/acpi/madt.cpp).
//
// Input: a whole MADT, header included. Parsed as given, then again with
// Length set to the input's size and the checksum made right, so that the
// fuzzer explores the interrupt controller structures behind them.
#include "microkernel/acpi/madt.hpp"
#include "topology_checks.hpp"

#include <memory>

using namespace herald;

namespace {

constexpr size_t kLengthAt = 4;
constexpr size_t kChecksumAt = 9;

void parse(const u8* bytes, size_t size)
{
    auto topology = std::make_unique<PlatformTopology>();
    auto result = parse_madt(ByteReader(bytes, size), *topology);
    fuzz::check_topology(*topology);
    if (result.is_error())
        return;
    FUZZ_CHECK(topology->source == PlatformTopology::Source::Acpi);
    FUZZ_CHECK(std::memcmp(bytes, kMadtSignature, 4) == 0);
    u32 length = fuzz::load<u32>(bytes, size, kLengthAt);
    FUZZ_CHECK(length <= size && fuzz::byte_sum(bytes, length) == 0);
    for (usize i = 0; i < topology->io_apic_count; ++i)
        FUZZ_CHECK(topology->io_apics[i].gsi_base_known); // the MADT always says
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    parse(data, size);
    if (size <= kChecksumAt)
        return 0;
    std::unique_ptr<u8[]> fixed(new u8[size]);
    std::memcpy(fixed.get(), data, size);
    fuzz::store<u32>(fixed.get(), size, kLengthAt, static_cast<u32>(size));
    fuzz::fix_checksum(fixed.get(), size, kChecksumAt, size);
    parse(fixed.get(), size);
    return 0;
}

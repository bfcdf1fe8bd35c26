// Fuzzes finding ACPI tables through the RSDT/XSDT (microkernel/acpi/acpi_tables.cpp)
// and what the kernel does with the tables it finds: the MADT parser
// (kmain's CPU discovery) and the FADT/DSDT walk to the S5 sleep state
// (microkernel/syscall/power.cpp).
//
// Input: revision u8, RSDT address u32, XSDT address u64 (the RSDP's
// fields), then physical memory in the "regions" format (fuzz.hpp), so that
// a seed holds real tables at their real addresses. Parsed as given, then
// again with the checksum of every region that starts like an ACPI table
// made right, so that the fuzzer reaches the lookups behind the checksums.
#include "fuzz.hpp"
#include "microkernel/acpi/acpi_tables.hpp"
#include "microkernel/acpi/madt.hpp"
#include "microkernel/acpi/sleep_state.hpp"

#include <memory>

using namespace herald;

namespace {

constexpr size_t kRootHeader = 13;
constexpr size_t kChecksumAt = 9;
constexpr size_t kLengthAt = 4;

void check_table(const fuzz::Memory& memory, const AcpiTable& table, const char* signature)
{
    const u8* bytes = table.bytes.data();
    FUZZ_CHECK(memory.holds(bytes, table.bytes.size()));
    auto again = memory.read(table.address, table.bytes.size());
    FUZZ_CHECK(again && again->data() == bytes);
    FUZZ_CHECK(table.bytes.size() >= kAcpiTableHeaderSize && table.bytes.size() <= kAcpiMaxTableLength);
    FUZZ_CHECK(std::memcmp(bytes, signature, kAcpiSignatureLength) == 0);
    FUZZ_CHECK(fuzz::load<u32>(bytes, table.bytes.size(), kLengthAt) == table.bytes.size());
    FUZZ_CHECK(table.bytes.checksum() == 0);
}

// What power.cpp's find_soft_off() does after finding the FADT.
void follow_fadt(const fuzz::Memory& memory, ByteReader fadt)
{
    auto soft_off = parse_fadt_for_soft_off(fadt);
    if (soft_off.is_error())
        return;
    FUZZ_CHECK(soft_off.value().pm1a_control != 0);
    auto header = memory.read(PhysicalAddress(soft_off.value().dsdt), kAcpiTableHeaderSize);
    if (!header)
        return;
    u32 length = header->read<u32>(kLengthAt).value();
    if (length > kAcpiMaxTableLength)
        return;
    auto table = memory.read(PhysicalAddress(soft_off.value().dsdt), length);
    if (!table)
        return;
    auto dsdt = validate_acpi_table(*table, "DSDT");
    if (!dsdt.is_error())
        (void)find_soft_off_sleep_types(dsdt.value(), soft_off.value());
}

void look_up(const fuzz::Memory& memory, const AcpiRoot& root)
{
    for (const char* signature : { "APIC", "FACP", "HPET", "MCFG" }) {
        auto table = find_table(memory, root, signature);
        if (table.is_error())
            continue;
        check_table(memory, table.value(), signature);
        if (std::memcmp(signature, "APIC", 4) == 0) {
            auto topology = std::make_unique<PlatformTopology>();
            (void)parse_madt(table.value().bytes, *topology);
        } else if (std::memcmp(signature, "FACP", 4) == 0) {
            follow_fadt(memory, table.value().bytes);
        }
    }
}

bool looks_like_table(const std::vector<u8>& bytes)
{
    static const char* const kSignatures[] = { "RSDT", "XSDT", "APIC", "FACP", "HPET", "MCFG", "DSDT" };
    if (bytes.size() < kAcpiTableHeaderSize)
        return false;
    for (const char* signature : kSignatures) {
        if (std::memcmp(bytes.data(), signature, 4) == 0)
            return true;
    }
    return false;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size < kRootHeader)
        return 0;
    AcpiRoot root;
    root.revision = data[0];
    std::memcpy(&root.rsdt_address, data + 1, 4);
    std::memcpy(&root.xsdt_address, data + 5, 8);

    fuzz::Memory memory;
    fuzz::add_regions(memory, data + kRootHeader, size - kRootHeader);
    look_up(memory, root);

    bool changed = false;
    for (size_t i = 0; i < memory.region_count(); ++i) {
        std::vector<u8>& bytes = memory.region(i);
        if (!looks_like_table(bytes))
            continue;
        u32 length = fuzz::load<u32>(bytes.data(), bytes.size(), kLengthAt);
        u8 before = bytes[kChecksumAt];
        fuzz::fix_checksum(bytes.data(), bytes.size(), kChecksumAt, length < bytes.size() ? length : bytes.size());
        changed = changed || bytes[kChecksumAt] != before;
    }
    if (changed)
        look_up(memory, root);
    return 0;
}

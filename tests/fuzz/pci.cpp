// Fuzzes the PCI parsers: the kernel's ACPI MCFG parser
// (microkernel/acpi/mcfg.cpp) and the PCI server's walk of the
// configuration space with its BAR decoding (servers/pci/pci_config.cpp).
//
// Input: an MCFG, parsed as given and again with Length and checksum made
// right; then the same bytes as the contents of a configuration space (bus
// 0-1, every function's 256 bytes taken in turn from the input, all ones
// where it runs out: an empty slot), which the walk reads, probes and
// writes back.
#include "microkernel/acpi/mcfg.hpp"
#include "servers/pci/pci_config.hpp"
#include "fuzz.hpp"

#include <map>
#include <memory>

using namespace herald;

namespace {

constexpr size_t kLengthAt = 4;
constexpr size_t kChecksumAt = 9;
constexpr size_t kFunctionBytes = 256;

void parse(const u8* bytes, size_t size)
{
    McfgAreas areas;
    auto result = parse_mcfg(ByteReader(bytes, size), areas);
    FUZZ_CHECK(areas.count <= McfgAreas::kMax);
    if (result.is_error())
        return;
    FUZZ_CHECK(std::memcmp(bytes, kMcfgSignature, 4) == 0);
    for (usize i = 0; i < areas.count; ++i) {
        const EcamArea& area = areas.areas[i];
        FUZZ_CHECK(area.start_bus <= area.end_bus);
        FUZZ_CHECK(area.base % (1ull << 20) == 0);
        FUZZ_CHECK(area.base < (1ull << 52) && area.length() <= (1ull << 52) - area.base);
    }
}

// Registers from the fuzzer's bytes; writes are kept (a BAR probe reads
// back what was written, masked by the bytes as hardware masks it).
class FuzzConfig final : public pci::ConfigSpace {
public:
    FuzzConfig(const u8* data, size_t size) : m_data(data), m_size(size) { }

    uint32_t read32(pci::Address a, uint16_t offset) override
    {
        FUZZ_CHECK(offset % 4 == 0 && offset < kFunctionBytes);
        auto written = m_written.find(key(a, offset));
        if (written != m_written.end())
            return written->second & original(a, offset);
        return original(a, offset);
    }
    void write32(pci::Address a, uint16_t offset, uint32_t value) override
    {
        FUZZ_CHECK(offset % 4 == 0 && offset < kFunctionBytes);
        m_written[key(a, offset)] = value;
    }

private:
    static size_t key(pci::Address a, uint16_t offset)
    {
        return ((static_cast<size_t>(a.bus) * 32 + a.device) * 8 + a.function) * kFunctionBytes + offset;
    }
    uint32_t original(pci::Address a, uint16_t offset) const
    {
        size_t at = key(a, offset);
        if (at + 4 > m_size)
            return 0xFFFF'FFFF;
        uint32_t value;
        std::memcpy(&value, m_data + at, 4);
        return value;
    }

    const u8* m_data;
    size_t m_size;
    std::map<size_t, uint32_t> m_written;
};

void walk(const u8* bytes, size_t size)
{
    FuzzConfig config(bytes, size);
    constexpr size_t kMax = 64;
    auto found = std::make_unique<pci::Function[]>(kMax);
    size_t count = pci::enumerate(config, 0, 1, found.get(), kMax);
    FUZZ_CHECK(count <= 2 * 32 * 8);
    for (size_t i = 0; i < count && i < kMax; ++i) {
        const pci::Function& f = found[i];
        FUZZ_CHECK(f.vendor != 0xFFFF && f.address.device < 32 && f.address.function < 8 && f.address.bus <= 1);
        for (const pci::Bar& bar : f.bars) {
            FUZZ_CHECK(bar.kind != pci::BarKind::None || bar.size == 0);
            FUZZ_CHECK((bar.size & (bar.size - 1)) == 0); // a power of two, or 0
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    parse(data, size);
    walk(data, size);
    if (size <= kChecksumAt)
        return 0;
    std::unique_ptr<u8[]> fixed(new u8[size]);
    std::memcpy(fixed.get(), data, size);
    fuzz::store<u32>(fixed.get(), size, kLengthAt, static_cast<u32>(size));
    fuzz::fix_checksum(fixed.get(), size, kChecksumAt, size);
    parse(fixed.get(), size);
    return 0;
}

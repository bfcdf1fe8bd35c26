#include "sleep_state.hpp"

namespace herald {

namespace {

// FADT fields (ACPI 6.5 Table 5.9).
constexpr usize kFadtDsdt = 40;
constexpr usize kFadtPm1aControl = 64;
constexpr usize kFadtPm1bControl = 68;
constexpr usize kFadtExtendedDsdt = 140;

// AML encodings (ACPI 6.5 §20.2).
constexpr u8 kNameOp = 0x08;
constexpr u8 kPackageOp = 0x12;
constexpr u8 kBytePrefix = 0x0A;
constexpr u8 kZeroOp = 0x00;
constexpr u8 kOneOp = 0x01;

// A package element that is a small integer.
Optional<u8> small_integer(ByteReader aml, usize& at)
{
    auto op = aml.read<u8>(at);
    if (!op)
        return nullopt;
    if (*op == kZeroOp || *op == kOneOp) {
        at += 1;
        return *op;
    }
    if (*op == kBytePrefix) {
        auto value = aml.read<u8>(at + 1);
        at += 2;
        return value;
    }
    return nullopt;
}

} // namespace

ErrorOr<SoftOff> parse_fadt_for_soft_off(ByteReader fadt)
{
    auto pm1a = fadt.read<u32>(kFadtPm1aControl);
    auto pm1b = fadt.read<u32>(kFadtPm1bControl);
    auto dsdt = fadt.read<u32>(kFadtDsdt);
    if (!pm1a || !pm1b || !dsdt)
        return Error::Truncated;
    if (*pm1a == 0 || *pm1a > 0xFFFF || *pm1b > 0xFFFF)
        return Error::Unsupported;
    SoftOff soft_off;
    soft_off.pm1a_control = static_cast<u16>(*pm1a);
    soft_off.pm1b_control = static_cast<u16>(*pm1b);
    soft_off.dsdt = *dsdt;
    if (auto extended = fadt.read<u64>(kFadtExtendedDsdt); extended && *extended)
        soft_off.dsdt = *extended;
    return soft_off;
}

ErrorOr<void> find_soft_off_sleep_types(ByteReader dsdt, SoftOff& soft_off)
{
    for (usize at = 0; at + 5 <= dsdt.size(); ++at) {
        auto name = dsdt.slice(at, 5);
        const u8* b = name->data();
        if (b[0] != kNameOp || b[1] != '_' || b[2] != 'S' || b[3] != '5' || b[4] != '_')
            continue;
        usize cursor = at + 5;
        auto package = dsdt.read<u8>(cursor);
        auto length_lead = dsdt.read<u8>(cursor + 1);
        if (!package || *package != kPackageOp || !length_lead)
            continue;
        cursor += 2 + (*length_lead >> 6) + 1; // PkgLength's extra bytes, then NumElements
        auto a = small_integer(dsdt, cursor);
        auto b_type = small_integer(dsdt, cursor);
        if (!a || !b_type)
            return Error::Unsupported;
        soft_off.sleep_type_a = *a;
        soft_off.sleep_type_b = *b_type;
        return {};
    }
    return Error::NotFound;
}

} // namespace herald

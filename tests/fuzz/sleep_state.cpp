// Fuzzes the S5 sleep-state parsers (microkernel/acpi/sleep_state.cpp): the
// FADT fields and the DSDT's \_S5 package, which is AML.
//
// Input: one table, given to both parsers (the FADT parser reads fixed
// offsets, the AML scan reads everything).
#include "fuzz.hpp"
#include "microkernel/acpi/sleep_state.hpp"

using namespace herald;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    ByteReader bytes(data, size);
    auto fadt = parse_fadt_for_soft_off(bytes);
    if (!fadt.is_error()) {
        FUZZ_CHECK(fadt.value().pm1a_control != 0);
        FUZZ_CHECK(fadt.value().pm1a_control == fuzz::load<u32>(data, size, 64));
    }
    SoftOff soft_off {};
    auto found = find_soft_off_sleep_types(bytes, soft_off);
    if (!found.is_error()) {
        const u8 name[] = { 0x08, '_', 'S', '5', '_' };
        FUZZ_CHECK(size >= sizeof name && memmem(data, size, name, sizeof name) != nullptr);
    } else {
        FUZZ_CHECK(soft_off.sleep_type_a == 0 && soft_off.sleep_type_b == 0); // untouched
    }
    return 0;
}

// Powering off through ACPI: the S5 ("soft off") sleep state (ACPI 6.5
// §7.4.2 and §4.8.3.2). The FADT names the PM1 control registers; the DSDT's
// \_S5 object gives the SLP_TYP values to write there together with SLP_EN.
// Only the one AML shape firmware uses for \_S5 is understood:
//   NameOp "_S5_" PackageOp PkgLength NumElements (BytePrefix n | Zero | One) ...
// Portable: the kernel reads the tables, the host tests feed it bytes.
#pragma once

#include "../lib/bytes.hpp"
#include "../lib/error.hpp"

namespace herald {

struct SoftOff {
    u16 pm1a_control { 0 }; // I/O port
    u16 pm1b_control { 0 }; // 0: none
    u8 sleep_type_a { 0 };
    u8 sleep_type_b { 0 };
    u64 dsdt { 0 };         // where the DSDT is (from the FADT)
};

// SLP_EN, and where SLP_TYP sits, in PM1 control (ACPI 6.5 Table 4.13).
inline constexpr u16 kSleepEnable = 1u << 13;
inline constexpr u16 kSleepTypeShift = 10;

// The PM1 control ports and the DSDT address from a validated FADT ("FACP").
// Unsupported: no PM1a control port (a hardware-reduced platform).
ErrorOr<SoftOff> parse_fadt_for_soft_off(ByteReader fadt);

// Fills in the SLP_TYP values from the DSDT's AML. NotFound: no \_S5.
ErrorOr<void> find_soft_off_sleep_types(ByteReader dsdt, SoftOff& soft_off);

} // namespace herald

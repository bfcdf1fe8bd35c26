#include "madt.hpp"

#include "acpi_tables.hpp"

namespace herald {

namespace {

// ACPI 6.5 §5.2.12 (Table 5.19): after the standard header come the local
// APIC address and the flags, then the interrupt controller structures.
constexpr usize kLocalApicAddressOffset = 36;
constexpr usize kFlagsOffset = 40;
constexpr usize kEntriesOffset = 44;
constexpr u32 kFlagPcatCompat = 1 << 0; // Table 5.20

// Every structure starts with Type u8, Length u8 (Table 5.21).
constexpr usize kEntryHeaderSize = 2;

enum class EntryType : u8 {
    LocalApic = 0x0,               // §5.2.12.2
    IoApic = 0x1,                  // §5.2.12.3
    InterruptSourceOverride = 0x2, // §5.2.12.5
    LocalApicNmi = 0x4,            // §5.2.12.7
    LocalApicAddressOverride = 0x5, // §5.2.12.8
    LocalX2Apic = 0x9,             // §5.2.12.12
    LocalX2ApicNmi = 0xA,          // §5.2.12.13
};

// §5.2.12.2 (Table 5.22): UID u8 at 2, APIC id u8 at 3, flags u32 at 4.
constexpr usize kLocalApicSize = 8;
// §5.2.12.2 (Table 5.23), shared by the x2APIC structure.
constexpr u32 kLocalApicEnabled = 1 << 0;
constexpr u32 kLocalApicOnlineCapable = 1 << 1;

// §5.2.12.3 (Table 5.24): id u8 at 2, address u32 at 4, GSI base u32 at 8.
constexpr usize kIoApicSize = 12;

// §5.2.12.5 (Table 5.25): bus u8 at 2, source u8 at 3, GSI u32 at 4, flags u16 at 8.
constexpr usize kOverrideSize = 10;
constexpr u8 kIsaBus = 0; // "0 Constant, meaning ISA"

// §5.2.12.7 (Table 5.30): UID u8 at 2, flags u16 at 3, LINT# u8 at 5.
constexpr usize kLocalApicNmiSize = 6;
constexpr u8 kAllProcessorsUid = 0xFF;

// §5.2.12.8 (Table 5.31): reserved u16 at 2, address u64 at 4.
constexpr usize kAddressOverrideSize = 12;

// §5.2.12.12 (Table 5.37): reserved u16 at 2, x2APIC id u32 at 4, flags u32
// at 8, UID u32 at 12.
constexpr usize kLocalX2ApicSize = 16;

// §5.2.12.13 (Table 5.38): flags u16 at 2, UID u32 at 4, LINT# u8 at 8.
constexpr usize kLocalX2ApicNmiSize = 12;
constexpr u32 kAllProcessorsX2Uid = 0xFFFFFFFF;

// A CPU with neither flag "is unusable, and OSPM shall not attempt to use
// it" (Table 5.23); firmware lists such placeholders with repeated ids, so
// they are not recorded at all.
ErrorOr<void> add_processor(PlatformTopology& out, u32 apic_id, u32 uid, u32 flags)
{
    Cpu cpu;
    cpu.apic_id = apic_id;
    cpu.acpi_processor_uid = uid;
    cpu.enabled = (flags & kLocalApicEnabled) != 0;
    cpu.online_capable = !cpu.enabled && (flags & kLocalApicOnlineCapable) != 0;
    if (!cpu.enabled && !cpu.online_capable)
        return {};
    return add_cpu(out, cpu);
}

ErrorOr<void> parse_local_apic(ByteReader entry, PlatformTopology& out)
{
    return add_processor(out, entry.read<u8>(3).value(), entry.read<u8>(2).value(), entry.read<u32>(4).value());
}

ErrorOr<void> parse_local_x2apic(ByteReader entry, PlatformTopology& out)
{
    return add_processor(out, entry.read<u32>(4).value(), entry.read<u32>(12).value(), entry.read<u32>(8).value());
}

ErrorOr<void> parse_io_apic(ByteReader entry, PlatformTopology& out)
{
    IoApic io_apic;
    io_apic.id = entry.read<u8>(2).value();
    io_apic.address = entry.read<u32>(4).value();
    io_apic.gsi_base = entry.read<u32>(8).value();
    io_apic.gsi_base_known = true;
    return add_io_apic(out, io_apic);
}

ErrorOr<void> parse_override(ByteReader entry, PlatformTopology& out)
{
    // Only ISA is defined; another bus value is firmware nonsense to skip.
    if (entry.read<u8>(2).value() != kIsaBus)
        return {};
    InterruptOverride entry_out;
    entry_out.bus_irq = entry.read<u8>(3).value();
    entry_out.gsi = entry.read<u32>(4).value();
    entry_out.flags = entry.read<u16>(8).value();
    return add_override(out, entry_out);
}

void parse_local_apic_nmi(ByteReader entry, PlatformTopology& out)
{
    LocalNmi nmi;
    u8 uid = entry.read<u8>(2).value();
    nmi.target = uid == kAllProcessorsUid ? NmiTarget::AllProcessors : NmiTarget::AcpiProcessorUid;
    nmi.processor = uid;
    nmi.flags = entry.read<u16>(3).value();
    nmi.lint = entry.read<u8>(5).value();
    add_local_nmi(out, nmi);
}

void parse_local_x2apic_nmi(ByteReader entry, PlatformTopology& out)
{
    LocalNmi nmi;
    u32 uid = entry.read<u32>(4).value();
    nmi.target = uid == kAllProcessorsX2Uid ? NmiTarget::AllProcessors : NmiTarget::AcpiProcessorUid;
    nmi.processor = uid;
    nmi.flags = entry.read<u16>(2).value();
    nmi.lint = entry.read<u8>(8).value();
    add_local_nmi(out, nmi);
}

// The smallest Length a known structure may have; 2 for unknown types,
// which are skipped. A longer structure is a later revision's extension.
usize minimum_size(u8 type)
{
    switch (static_cast<EntryType>(type)) {
    case EntryType::LocalApic: return kLocalApicSize;
    case EntryType::IoApic: return kIoApicSize;
    case EntryType::InterruptSourceOverride: return kOverrideSize;
    case EntryType::LocalApicNmi: return kLocalApicNmiSize;
    case EntryType::LocalApicAddressOverride: return kAddressOverrideSize;
    case EntryType::LocalX2Apic: return kLocalX2ApicSize;
    case EntryType::LocalX2ApicNmi: return kLocalX2ApicNmiSize;
    }
    return kEntryHeaderSize;
}

// `entry` is at least minimum_size(type) long, so the reads above cannot fail.
ErrorOr<void> parse_entry(u8 type, ByteReader entry, PlatformTopology& out)
{
    switch (static_cast<EntryType>(type)) {
    case EntryType::LocalApic: return parse_local_apic(entry, out);
    case EntryType::IoApic: return parse_io_apic(entry, out);
    case EntryType::InterruptSourceOverride: return parse_override(entry, out);
    case EntryType::LocalApicNmi: parse_local_apic_nmi(entry, out); return {};
    case EntryType::LocalApicAddressOverride:
        // §5.2.12.8: when present, the 64-bit address replaces the 32-bit one.
        out.local_apic_address = entry.read<u64>(4).value();
        return {};
    case EntryType::LocalX2Apic: return parse_local_x2apic(entry, out);
    case EntryType::LocalX2ApicNmi: parse_local_x2apic_nmi(entry, out); return {};
    }
    return {}; // GIC, RINTC and others: not x86 or not needed
}

ErrorOr<void> parse_entries(ByteReader entries, PlatformTopology& out)
{
    // Each step advances by at least kEntryHeaderSize, so the loop ends.
    usize offset = 0;
    while (offset < entries.size()) {
        auto type = entries.read<u8>(offset);
        auto length = entries.read<u8>(offset + 1);
        if (!type || !length)
            return Error::Truncated;
        if (*length < minimum_size(*type))
            return Error::BadLength;
        auto entry = entries.slice(offset, *length);
        if (!entry)
            return Error::Truncated;
        HERALD_TRY(parse_entry(*type, *entry, out));
        offset += *length;
    }
    return {};
}

} // namespace

ErrorOr<void> parse_madt(ByteReader madt, PlatformTopology& out)
{
    out.clear();
    auto table = HERALD_TRY(validate_acpi_table(madt, kMadtSignature));
    auto local_apic_address = table.read<u32>(kLocalApicAddressOffset);
    auto flags = table.read<u32>(kFlagsOffset);
    if (!local_apic_address || !flags)
        return Error::BadLength; // Length covers the header but not these fields
    out.source = PlatformTopology::Source::Acpi;
    out.local_apic_address = *local_apic_address;
    out.pcat_compat = (*flags & kFlagPcatCompat) != 0;
    auto entries = table.slice(kEntriesOffset, table.size() - kEntriesOffset).value();
    return parse_entries(entries, out);
}

} // namespace herald

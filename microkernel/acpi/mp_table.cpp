#include "mp_table.hpp"

namespace herald {

namespace {

// MP floating pointer structure, MP Specification 1.4 §4.1 (Figure 4-2).
constexpr char kFloatingPointerSignature[] = "_MP_";
constexpr usize kSignatureLength = 4;
constexpr usize kPointerAddressOffset = 4;
constexpr usize kPointerLengthOffset = 8; // in 16-byte paragraphs
constexpr usize kPointerRevisionOffset = 9;
constexpr usize kFeature1Offset = 11;
constexpr usize kFeature2Offset = 12;
constexpr usize kFloatingPointerSize = 16;
constexpr usize kParagraph = 16;
constexpr u8 kFeature2ImcrPresent = 1 << 7;

// Where the BIOS keeps things, §4 and the BIOS data area.
constexpr u64 kEbdaSegmentPointer = 0x40E; // real-mode segment of the EBDA
constexpr u64 kBaseMemoryKibPointer = 0x413; // base memory size in KiB
constexpr u64 kDefaultBaseMemoryTop = 0xA0000; // 640 KiB
constexpr u64 kSearchLength = 1 * KiB;
constexpr u64 kBiosRomStart = 0xF0000;
constexpr u64 kBiosRomEnd = 0x100000; // one past 0xFFFFF

// MP configuration table header, §4.2 (Table 4-2).
constexpr char kConfigSignature[] = "PCMP";
constexpr usize kBaseLengthOffset = 4;
constexpr usize kEntryCountOffset = 34;
constexpr usize kLocalApicAddressOffset = 36;
constexpr usize kConfigHeaderSize = 44;

// Base table entries, §4.3 (Table 4-3): the type byte fixes the size.
enum class EntryType : u8 {
    Processor = 0,           // §4.3.1, 20 bytes
    Bus = 1,                 // §4.3.2, 8 bytes
    IoApic = 2,              // §4.3.3, 8 bytes
    IoInterrupt = 3,         // §4.3.4, 8 bytes
    LocalInterrupt = 4,      // §4.3.5, 8 bytes
};
constexpr usize kProcessorEntrySize = 20;
constexpr usize kOtherEntrySize = 8;

// §4.3.1 (Table 4-5): CPU flags.
constexpr u8 kProcessorEnabled = 1 << 0;
constexpr u8 kProcessorBootstrap = 1 << 1;
// §4.3.3 (Table 4-7): I/O APIC flags.
constexpr u8 kIoApicEnabled = 1 << 0;
// §4.3.2 (Table 4-8): bus type strings are six bytes, blank-padded.
constexpr usize kBusTypeOffset = 2;
constexpr char kIsaBusType[] = "ISA   ";
constexpr usize kBusTypeLength = 6;
constexpr usize kMaxBusIds = 256; // the bus id is a byte
// §4.3.4 (Table 4-10): interrupt types; only vectored INT is routed.
constexpr u8 kInterruptTypeInt = 0;
constexpr u8 kInterruptTypeNmi = 1;
// §4.3.4, §4.3.5: destination 0xFF means every I/O APIC / local APIC.
constexpr u8 kAllDestinations = 0xFF;

ErrorOr<MpFloatingPointer> parse_pointer_fields(ByteReader checked, PhysicalAddress address)
{
    MpFloatingPointer pointer;
    pointer.address = address;
    pointer.config_table_address = checked.read<u32>(kPointerAddressOffset).value();
    pointer.spec_revision = checked.read<u8>(kPointerRevisionOffset).value();
    pointer.default_configuration = checked.read<u8>(kFeature1Offset).value();
    pointer.imcr_present = (checked.read<u8>(kFeature2Offset).value() & kFeature2ImcrPresent) != 0;
    return pointer;
}

Optional<MpFloatingPointer> pointer_at(const PhysicalReader& memory, u64 address)
{
    auto header = memory.read(PhysicalAddress(address), kFloatingPointerSize);
    if (!header || !header->starts_with(kFloatingPointerSignature, kSignatureLength))
        return nullopt;
    usize length = header->read<u8>(kPointerLengthOffset).value() * kParagraph;
    auto bytes = memory.read(PhysicalAddress(address), max(length, kFloatingPointerSize));
    if (!bytes)
        return nullopt;
    auto pointer = parse_mp_floating_pointer(*bytes, PhysicalAddress(address));
    if (pointer.is_error())
        return nullopt;
    return pointer.value();
}

Optional<MpFloatingPointer> scan(const PhysicalReader& memory, u64 start, u64 end)
{
    for (u64 address = align_down(start, kParagraph); address < end; address += kParagraph) {
        if (auto pointer = pointer_at(memory, address))
            return pointer;
    }
    return nullopt;
}

Optional<u16> read_bios_word(const PhysicalReader& memory, u64 address)
{
    auto bytes = memory.read(PhysicalAddress(address), sizeof(u16));
    if (!bytes)
        return nullopt;
    return bytes->read<u16>(0);
}

// The last KiB of base memory, as the BIOS data area reports its size.
u64 base_memory_last_kib(const PhysicalReader& memory)
{
    u64 top = kDefaultBaseMemoryTop;
    if (auto kib = read_bios_word(memory, kBaseMemoryKibPointer); kib && *kib >= 1)
        top = static_cast<u64>(*kib) * KiB;
    return top - kSearchLength;
}

// Bus ids that name ISA buses, from the bus entries.
struct BusTypes {
    bool is_isa[kMaxBusIds] {};
};

// The entries of a base table and how many to take: Entry Count, or 0 for
// all that Base Table Length holds.
struct EntryWalk {
    ByteReader entries;
    usize count;
};

usize entry_size(u8 type)
{
    return type == static_cast<u8>(EntryType::Processor) ? kProcessorEntrySize : kOtherEntrySize;
}

bool is_known_type(u8 type) { return type <= static_cast<u8>(EntryType::LocalInterrupt); }

// Calls `visit(type, entry)` for each entry, checking sizes and types.
template<typename Visit>
ErrorOr<void> walk_entries(const EntryWalk& walk, Visit visit)
{
    usize offset = 0;
    // Each step advances by a whole entry, so a count of 0 ends too.
    for (usize index = 0; walk.count == 0 ? offset < walk.entries.size() : index < walk.count; ++index) {
        auto type_byte = walk.entries.read<u8>(offset);
        if (!type_byte)
            return Error::BadLength; // Entry Count promised more entries than there are
        u8 type = *type_byte;
        if (!is_known_type(type))
            return Error::Unsupported;
        auto entry = walk.entries.slice(offset, entry_size(type));
        if (!entry)
            return Error::Truncated;
        HERALD_TRY(visit(type, *entry));
        offset += entry->size();
    }
    return {};
}

ErrorOr<void> parse_processor(ByteReader entry, PlatformTopology& out)
{
    u8 flags = entry.read<u8>(3).value();
    // "If zero, this processor is unusable" (§4.3.1): not recorded, as for the MADT.
    if ((flags & kProcessorEnabled) == 0)
        return {};
    Cpu cpu;
    cpu.apic_id = entry.read<u8>(1).value();
    cpu.enabled = true;
    cpu.bootstrap = (flags & kProcessorBootstrap) != 0;
    return add_cpu(out, cpu);
}

// §4.3.3: I/O APICs are numbered by id, not by GSI; the first gets GSI 0 on
// the usual PC layout, later ones need their pin counts read from hardware.
ErrorOr<void> parse_io_apic(ByteReader entry, PlatformTopology& out)
{
    if ((entry.read<u8>(3).value() & kIoApicEnabled) == 0)
        return {};
    IoApic io_apic;
    io_apic.id = entry.read<u8>(1).value();
    io_apic.address = entry.read<u32>(4).value();
    io_apic.gsi_base_known = out.io_apic_count == 0;
    return add_io_apic(out, io_apic);
}

void parse_bus(ByteReader entry, BusTypes& buses)
{
    auto type = entry.slice(kBusTypeOffset, kBusTypeLength).value();
    buses.is_isa[entry.read<u8>(1).value()] = type.starts_with(kIsaBusType, kBusTypeLength);
}

const IoApic* find_io_apic(const PlatformTopology& out, u8 id)
{
    for (usize i = 0; i < out.io_apic_count; ++i) {
        if (out.io_apics[i].id == id)
            return &out.io_apics[i];
    }
    return nullptr;
}

// §4.3.4 (Table 4-9): type at 1, flags u16 at 2, source bus at 4, source
// IRQ at 5, destination I/O APIC at 6, pin at 7.
ErrorOr<void> parse_io_interrupt(ByteReader entry, const BusTypes& buses, PlatformTopology& out)
{
    u8 source_bus = entry.read<u8>(4).value();
    if (entry.read<u8>(1).value() != kInterruptTypeInt || !buses.is_isa[source_bus])
        return {};
    u8 destination = entry.read<u8>(6).value();
    const IoApic* io_apic = destination == kAllDestinations ? nullptr : find_io_apic(out, destination);
    if (!io_apic || !io_apic->gsi_base_known)
        return {};
    InterruptOverride entry_out;
    entry_out.bus_irq = entry.read<u8>(5).value();
    entry_out.gsi = io_apic->gsi_base + entry.read<u8>(7).value();
    entry_out.flags = entry.read<u16>(2).value();
    // Identity-mapped and bus-conforming is what no override means.
    if (entry_out.gsi == entry_out.bus_irq && entry_out.flags == 0)
        return {};
    return add_override(out, entry_out);
}

// §4.3.5 (Table 4-11): as above, destination local APIC at 6, LINTIN at 7.
void parse_local_interrupt(ByteReader entry, PlatformTopology& out)
{
    if (entry.read<u8>(1).value() != kInterruptTypeNmi)
        return; // ExtINT on LINT0 is the 8259's path, which Herald masks
    LocalNmi nmi;
    u8 destination = entry.read<u8>(6).value();
    nmi.target = destination == kAllDestinations ? NmiTarget::AllProcessors : NmiTarget::ApicId;
    nmi.processor = destination;
    nmi.flags = entry.read<u16>(2).value();
    nmi.lint = entry.read<u8>(7).value();
    add_local_nmi(out, nmi);
}

// Interrupt entries refer to buses and I/O APICs that need not come
// earlier, so the entries are walked twice.

// First pass: processors, buses and I/O APICs.
ErrorOr<void> collect_devices(const EntryWalk& walk, BusTypes& buses, PlatformTopology& out)
{
    return walk_entries(walk, [&](u8 type, ByteReader entry) -> ErrorOr<void> {
        switch (static_cast<EntryType>(type)) {
        case EntryType::Processor: return parse_processor(entry, out);
        case EntryType::Bus: parse_bus(entry, buses); return {};
        case EntryType::IoApic: return parse_io_apic(entry, out);
        case EntryType::IoInterrupt:
        case EntryType::LocalInterrupt: return {};
        }
        return {};
    });
}

// Second pass: interrupt wiring, now that buses and I/O APICs are known.
ErrorOr<void> collect_interrupts(const EntryWalk& walk, const BusTypes& buses, PlatformTopology& out)
{
    return walk_entries(walk, [&](u8 type, ByteReader entry) -> ErrorOr<void> {
        if (type == static_cast<u8>(EntryType::IoInterrupt))
            return parse_io_interrupt(entry, buses, out);
        if (type == static_cast<u8>(EntryType::LocalInterrupt))
            parse_local_interrupt(entry, out);
        return {};
    });
}

// Checks the header and returns the base section, cut to Base Table Length.
ErrorOr<ByteReader> validate_config_table(ByteReader table)
{
    auto length = table.read<u16>(kBaseLengthOffset);
    if (!length)
        return Error::Truncated;
    if (!table.starts_with(kConfigSignature, kSignatureLength))
        return Error::BadMagic;
    if (*length < kConfigHeaderSize)
        return Error::BadLength;
    auto base = table.slice(0, *length);
    if (!base)
        return Error::Truncated;
    if (base->checksum() != 0)
        return Error::BadChecksum;
    return *base;
}

// Entry Count bounds the walk. qboot leaves it 0, and Linux walks by Base
// Table Length alone, so 0 means "all the table holds". A count that could
// not fit even in 8-byte entries is corruption.
ErrorOr<EntryWalk> entry_walk(ByteReader base)
{
    auto entries = base.slice(kConfigHeaderSize, base.size() - kConfigHeaderSize).value();
    usize count = base.read<u16>(kEntryCountOffset).value();
    if (count > entries.size() / kOtherEntrySize)
        return Error::BadLength;
    return EntryWalk { entries, count };
}

} // namespace

ErrorOr<MpFloatingPointer> parse_mp_floating_pointer(ByteReader bytes, PhysicalAddress address)
{
    auto header = bytes.slice(0, kFloatingPointerSize);
    if (!header)
        return Error::Truncated;
    if (!header->starts_with(kFloatingPointerSignature, kSignatureLength))
        return Error::BadMagic;
    usize length = header->read<u8>(kPointerLengthOffset).value() * kParagraph;
    if (length < kFloatingPointerSize)
        return Error::BadLength;
    auto checked = bytes.slice(0, length);
    if (!checked)
        return Error::Truncated;
    if (checked->checksum() != 0)
        return Error::BadChecksum;
    return parse_pointer_fields(*checked, address);
}

Optional<MpFloatingPointer> find_mp_floating_pointer(const PhysicalReader& memory)
{
    if (auto segment = read_bios_word(memory, kEbdaSegmentPointer); segment && *segment != 0) {
        u64 ebda = static_cast<u64>(*segment) << 4;
        if (auto pointer = scan(memory, ebda, ebda + kSearchLength))
            return pointer;
    }
    u64 last_kib = base_memory_last_kib(memory);
    if (auto pointer = scan(memory, last_kib, last_kib + kSearchLength))
        return pointer;
    return scan(memory, kBiosRomStart, kBiosRomEnd);
}

ErrorOr<ByteReader> read_mp_config_table(const PhysicalReader& memory, const MpFloatingPointer& pointer)
{
    // §5: a nonzero feature byte 1 selects a default configuration instead of a table.
    if (pointer.default_configuration != 0)
        return Error::Unsupported;
    if (pointer.config_table_address == 0)
        return Error::NotFound;
    PhysicalAddress address(pointer.config_table_address);
    auto header = memory.read(address, kConfigHeaderSize);
    if (!header)
        return Error::OutOfRange;
    auto length = max<usize>(header->read<u16>(kBaseLengthOffset).value(), kConfigHeaderSize);
    auto table = memory.read(address, length);
    if (!table)
        return Error::OutOfRange;
    return validate_config_table(*table);
}

ErrorOr<void> parse_mp_config_table(ByteReader table, PlatformTopology& out)
{
    out.clear();
    auto base = HERALD_TRY(validate_config_table(table));
    auto walk = HERALD_TRY(entry_walk(base));
    out.source = PlatformTopology::Source::MpTable;
    out.local_apic_address = base.read<u32>(kLocalApicAddressOffset).value();
    // §3.6.2: MP systems are PC/AT-compatible, with 8259As behind the APICs.
    out.pcat_compat = true;
    BusTypes buses;
    HERALD_TRY(collect_devices(walk, buses, out));
    return collect_interrupts(walk, buses, out);
}

} // namespace herald

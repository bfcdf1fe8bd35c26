#include "multiboot2.hpp"

#include "rsdp.hpp"

namespace herald {

namespace {

// Multiboot2 spec §3.6.1: the fixed part is total_size u32, reserved u32.
constexpr usize kFixedPartSize = 8;
// §3.6.1: the block itself and each tag start on an 8-byte boundary.
constexpr u64 kInfoAlignment = 8;
constexpr u64 kTagAlignment = 8;
// §3.6.1: every tag starts with type u32, size u32 (size includes them).
constexpr usize kTagHeaderSize = 8;

// Tag types, §3.6.2 onward.
enum class TagType : u32 {
    End = 0,             // §3.6.1: terminates the list, size 8
    CommandLine = 1,     // §3.6.3
    BootLoaderName = 2,  // §3.6.4
    Module = 3,          // §3.6.5
    BasicMemoryInfo = 4, // §3.6.6: superseded by the memory map
    MemoryMap = 6,       // §3.6.8
    AcpiOldRsdp = 14,    // §3.6.15: copy of the ACPI 1.0 RSDP
    AcpiNewRsdp = 15,    // §3.6.16: copy of the ACPI 2.0+ RSDP
};

// §3.6.5: mod_start u32, mod_end u32, then the NUL-terminated string.
constexpr usize kModuleStringOffset = 8;

// §3.6.8: entry_size u32, entry_version u32, then the entries, each
// base_addr u64, length u64, type u32, reserved u32. entry_size may grow in
// later versions, so step by it rather than by the size Herald knows.
constexpr usize kMemoryMapEntriesOffset = 8;
constexpr usize kMemoryMapEntryMinSize = 24;
constexpr u64 kMemoryMapEntryAlignment = 8; // "guaranteed to be a multiple of 8"
constexpr usize kEntryBaseOffset = 0;
constexpr usize kEntryLengthOffset = 8;
constexpr usize kEntryTypeOffset = 16;

// Where the parse is between tags: the RSDP tags may come in any order.
struct ParseState {
    bool saw_memory_map { false };
    bool acpi_from_new_rsdp_tag { false };
};

StringView bounded_string(ByteReader bytes)
{
    return StringView::from_bounded(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

ErrorOr<void> parse_module(ByteReader payload, BootInfo& out)
{
    auto start = payload.read<u32>(0);
    auto end = payload.read<u32>(4);
    if (!start || !end)
        return Error::Truncated;
    if (*end < *start)
        return Error::BadLength;
    if (out.module_count == BootInfo::kMaxModules)
        return Error::TooMany;

    BootModule& module = out.modules[out.module_count++];
    module.start = PhysicalAddress(*start);
    module.end = PhysicalAddress(*end);
    auto name = payload.slice(kModuleStringOffset, payload.size() - kModuleStringOffset).value();
    copy_truncated(module.name, sizeof(module.name), bounded_string(name));
    return {};
}

ErrorOr<void> parse_memory_map(ByteReader payload, BootInfo& out)
{
    auto entry_size = payload.read<u32>(0);
    if (!entry_size || payload.size() < kMemoryMapEntriesOffset)
        return Error::Truncated;
    if (*entry_size < kMemoryMapEntryMinSize)
        return Error::BadLength;
    if (!is_aligned(*entry_size, kMemoryMapEntryAlignment))
        return Error::BadAlignment;

    usize entries_size = payload.size() - kMemoryMapEntriesOffset;
    if (entries_size % *entry_size != 0)
        return Error::Truncated; // a partial last entry: the tag was cut short

    // A second memory map tag replaces the first rather than adding to it.
    out.memory_count = 0;
    out.memory_truncated = false;
    for (usize offset = kMemoryMapEntriesOffset; offset < payload.size(); offset += *entry_size) {
        auto entry = payload.slice(offset, *entry_size).value();
        append_memory_region(out,
            entry.read<u64>(kEntryBaseOffset).value(),
            entry.read<u64>(kEntryLengthOffset).value(),
            entry.read<u32>(kEntryTypeOffset).value());
    }
    return {};
}

// A corrupt RSDP copy is dropped rather than failing the boot: the kernel
// can still run without ACPI, and the other RSDP tag may be fine.
void parse_rsdp_tag(TagType type, ByteReader payload, BootInfo& out, ParseState& state)
{
    auto root = validate_rsdp(payload);
    if (!root)
        return;
    bool is_new = type == TagType::AcpiNewRsdp;
    // The ACPI 2.0+ copy carries the XSDT, so it wins whichever comes first.
    if (is_new || !state.acpi_from_new_rsdp_tag) {
        out.acpi = *root;
        state.acpi_from_new_rsdp_tag = is_new;
    }
}

ErrorOr<void> parse_tag(TagType type, ByteReader payload, BootInfo& out, ParseState& state)
{
    switch (type) {
    case TagType::CommandLine:
        copy_truncated(out.command_line, sizeof(out.command_line), bounded_string(payload));
        return {};
    case TagType::BootLoaderName:
        copy_truncated(out.loader_name, sizeof(out.loader_name), bounded_string(payload));
        return {};
    case TagType::Module:
        return parse_module(payload, out);
    case TagType::MemoryMap:
        state.saw_memory_map = true;
        return parse_memory_map(payload, out);
    case TagType::AcpiOldRsdp:
    case TagType::AcpiNewRsdp:
        parse_rsdp_tag(type, payload, out, state);
        return {};
    case TagType::End:
    case TagType::BasicMemoryInfo:
        return {};
    }
    return {}; // tags Herald does not use (framebuffer, ELF sections, ...)
}

ErrorOr<void> check_fixed_part(ByteReader info)
{
    if (!is_aligned(reinterpret_cast<uptr>(info.data()), kInfoAlignment))
        return Error::BadAlignment;
    auto total_size = info.read<u32>(0);
    if (!total_size)
        return Error::Truncated;
    if (*total_size < kFixedPartSize)
        return Error::BadLength;
    if (*total_size > info.size())
        return Error::Truncated; // the caller's cap cut the block short
    if (*total_size != info.size())
        return Error::BadLength;
    return {};
}

} // namespace

MemoryType memory_type_from_multiboot(u32 raw_type)
{
    switch (raw_type) {
    case 1: return MemoryType::Usable;
    case 2: return MemoryType::Reserved;
    case 3: return MemoryType::AcpiReclaimable;
    case 4: return MemoryType::AcpiNvs;
    case 5: return MemoryType::BadMemory;
    }
    return MemoryType::Reserved; // unknown types must never be handed out
}

void append_memory_region(BootInfo& out, u64 base, u64 length, u32 raw_type)
{
    if (length == 0)
        return;
    if (out.memory_count == BootInfo::kMaxMemoryRegions) {
        out.memory_truncated = true;
        return;
    }
    // Clamp so that base + length cannot wrap: later code adds them freely.
    u64 room_below_top = u64 { 0 } - base; // 2^64 - base, for any base != 0
    if (base != 0 && length > room_below_top)
        length = room_below_top;
    out.memory[out.memory_count++] = { PhysicalAddress(base), length, memory_type_from_multiboot(raw_type) };
}

void reset_boot_info(BootInfo& out)
{
    out.command_line[0] = '\0';
    out.loader_name[0] = '\0';
    out.memory_count = 0;
    out.memory_truncated = false;
    out.module_count = 0;
    out.acpi.clear();
}

ErrorOr<void> parse_multiboot2(ByteReader info, BootInfo& out)
{
    reset_boot_info(out);
    out.protocol = BootProtocol::Multiboot2;
    HERALD_TRY(check_fixed_part(info));

    ParseState state;
    usize offset = kFixedPartSize;
    while (true) {
        auto header = info.slice(offset, kTagHeaderSize);
        if (!header)
            return Error::Truncated; // ran out of block before the end tag
        auto type = static_cast<TagType>(header->read<u32>(0).value());
        u32 size = header->read<u32>(4).value();
        if (size < kTagHeaderSize)
            return Error::BadLength;
        auto payload = info.slice(offset + kTagHeaderSize, size - kTagHeaderSize);
        if (!payload)
            return Error::Truncated;
        if (type == TagType::End)
            break;
        HERALD_TRY(parse_tag(type, *payload, out, state));
        u64 next = 0;
        if (!align_up(offset + size, kTagAlignment, next))
            return Error::Truncated;
        offset = next;
    }

    if (!state.saw_memory_map)
        return Error::NotFound; // the kernel cannot manage memory without it
    return {};
}

} // namespace herald

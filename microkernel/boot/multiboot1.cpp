#include "multiboot1.hpp"

#include "multiboot2.hpp"

namespace herald {

namespace {

// Multiboot 0.6.96 §3.3: which fields of the info structure are valid.
constexpr u32 kFlagMemory = 1u << 0;        // mem_lower, mem_upper
constexpr u32 kFlagCommandLine = 1u << 2;   // cmdline
constexpr u32 kFlagModules = 1u << 3;       // mods_count, mods_addr
constexpr u32 kFlagMemoryMap = 1u << 6;     // mmap_length, mmap_addr
constexpr u32 kFlagBootLoaderName = 1u << 9; // boot_loader_name

// Multiboot 0.6.96 §3.3: field offsets in the info structure.
constexpr usize kFlagsOffset = 0;
constexpr usize kMemLowerOffset = 4;
constexpr usize kMemUpperOffset = 8;
constexpr usize kCommandLineOffset = 16;
constexpr usize kModsCountOffset = 20;
constexpr usize kModsAddrOffset = 24;
constexpr usize kMmapLengthOffset = 44;
constexpr usize kMmapAddrOffset = 48;
constexpr usize kBootLoaderNameOffset = 64;
// Everything up to and including boot_loader_name; later fields are unused.
constexpr usize kInfoSize = 68;

// Multiboot 0.6.96 §3.3: mem_upper counts from 1 MiB, both in KiB.
constexpr u64 kUpperMemoryBase = 1 * MiB;

// §3.3: each module is mod_start, mod_end, string, reserved (u32 each).
constexpr usize kModuleEntrySize = 16;
constexpr usize kModuleStartOffset = 0;
constexpr usize kModuleEndOffset = 4;
constexpr usize kModuleStringOffset = 8;

// §3.3: memory map entries are size u32, base_addr u64, length u64, type
// u32, where `size` excludes the size field itself.
constexpr usize kMmapSizeFieldSize = 4;
constexpr usize kMmapEntryMinSize = 20;
constexpr usize kMmapEntryBaseOffset = 4;
constexpr usize kMmapEntryLengthOffset = 12;
constexpr usize kMmapEntryTypeOffset = 20;

constexpr u32 kUsableType = 1;

bool has_flag(u32 flags, u32 flag) { return (flags & flag) != 0; }

// Copies the NUL-terminated string at `address` into `destination`,
// truncated to fit. The string may end (or just stop) at the edge of readable
// memory, so when one bounded read fails it falls back to single bytes.
// A null pointer is an empty string; a wholly unreadable one is an error.
ErrorOr<void> copy_physical_string(const PhysicalReader& memory, u32 address, char* destination, usize capacity)
{
    destination[0] = '\0';
    if (address == 0)
        return {};
    usize limit = capacity - 1;
    if (auto bytes = memory.read(PhysicalAddress(address), limit)) {
        copy_truncated(destination, capacity,
            StringView::from_bounded(reinterpret_cast<const char*>(bytes->data()), limit));
        return {};
    }
    usize length = 0;
    for (; length < limit; ++length) {
        auto byte = memory.read(PhysicalAddress(address).offset(length), 1);
        if (!byte) {
            if (length == 0)
                return Error::OutOfRange;
            break; // the string runs into unreadable memory: keep what was there
        }
        char c = static_cast<char>(byte->read<u8>(0).value());
        if (c == '\0')
            break;
        destination[length] = c;
    }
    destination[length] = '\0';
    return {};
}

ErrorOr<void> parse_modules(const PhysicalReader& memory, ByteReader info, BootInfo& out)
{
    u32 count = info.read<u32>(kModsCountOffset).value();
    u32 address = info.read<u32>(kModsAddrOffset).value();
    if (count > BootInfo::kMaxModules)
        return Error::TooMany;
    if (count == 0)
        return {};
    auto table = memory.read(PhysicalAddress(address), count * kModuleEntrySize);
    if (!table)
        return Error::OutOfRange;

    for (usize i = 0; i < count; ++i) {
        auto entry = table->slice(i * kModuleEntrySize, kModuleEntrySize).value();
        u32 start = entry.read<u32>(kModuleStartOffset).value();
        u32 end = entry.read<u32>(kModuleEndOffset).value();
        if (end < start)
            return Error::BadLength;
        BootModule& module = out.modules[out.module_count++];
        module.start = PhysicalAddress(start);
        module.end = PhysicalAddress(end);
        HERALD_TRY(copy_physical_string(memory, entry.read<u32>(kModuleStringOffset).value(),
            module.name, sizeof(module.name)));
    }
    return {};
}

ErrorOr<void> parse_memory_map(const PhysicalReader& memory, ByteReader info, BootInfo& out)
{
    u32 length = info.read<u32>(kMmapLengthOffset).value();
    u32 address = info.read<u32>(kMmapAddrOffset).value();
    auto map = memory.read(PhysicalAddress(address), length);
    if (!map)
        return Error::OutOfRange;

    usize offset = 0;
    while (offset < map->size()) {
        auto size = map->read<u32>(offset);
        if (!size)
            return Error::Truncated;
        if (*size < kMmapEntryMinSize)
            return Error::BadLength;
        auto entry = map->slice(offset, kMmapSizeFieldSize + *size);
        if (!entry)
            return Error::Truncated;
        append_memory_region(out,
            entry->read<u64>(kMmapEntryBaseOffset).value(),
            entry->read<u64>(kMmapEntryLengthOffset).value(),
            entry->read<u32>(kMmapEntryTypeOffset).value());
        offset += kMmapSizeFieldSize + *size;
    }
    return {};
}

// Without a memory map, mem_lower and mem_upper still describe the two
// usable ranges every PC has: conventional memory and memory above 1 MiB.
void synthesize_memory_map(ByteReader info, BootInfo& out)
{
    u64 lower = info.read<u32>(kMemLowerOffset).value();
    u64 upper = info.read<u32>(kMemUpperOffset).value();
    append_memory_region(out, 0, lower * KiB, kUsableType);
    append_memory_region(out, kUpperMemoryBase, upper * KiB, kUsableType);
}

} // namespace

ErrorOr<void> parse_multiboot1(const PhysicalReader& memory, PhysicalAddress info_address, BootInfo& out)
{
    reset_boot_info(out);
    out.protocol = BootProtocol::Multiboot1;

    auto info = memory.read(info_address, kInfoSize);
    if (!info)
        return Error::OutOfRange;
    u32 flags = info->read<u32>(kFlagsOffset).value();

    if (has_flag(flags, kFlagCommandLine)) {
        HERALD_TRY(copy_physical_string(memory, info->read<u32>(kCommandLineOffset).value(),
            out.command_line, sizeof(out.command_line)));
    }
    if (has_flag(flags, kFlagBootLoaderName)) {
        HERALD_TRY(copy_physical_string(memory, info->read<u32>(kBootLoaderNameOffset).value(),
            out.loader_name, sizeof(out.loader_name)));
    }
    if (has_flag(flags, kFlagModules))
        HERALD_TRY(parse_modules(memory, *info, out));
    if (has_flag(flags, kFlagMemoryMap))
        HERALD_TRY(parse_memory_map(memory, *info, out));

    // An empty map is no better than none: fall back to the basic fields.
    if (out.memory_count == 0 && has_flag(flags, kFlagMemory))
        synthesize_memory_map(*info, out);
    if (out.memory_count == 0)
        return Error::NotFound;
    return {};
}

} // namespace herald

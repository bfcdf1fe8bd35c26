#include "elf.hpp"

namespace herald {

namespace {

// gABI "ELF Header": e_ident, then the fixed fields (offsets for ELFCLASS64).
constexpr usize kElfHeaderSize = 64;
constexpr u8 kMagic[4] = { 0x7f, 'E', 'L', 'F' };
constexpr usize kIdentClass = 4;   // EI_CLASS
constexpr usize kIdentData = 5;    // EI_DATA
constexpr usize kIdentVersion = 6; // EI_VERSION
constexpr usize kTypeOffset = 16;       // e_type u16
constexpr usize kMachineOffset = 18;    // e_machine u16
constexpr usize kVersionOffset = 20;    // e_version u32
constexpr usize kEntryOffset = 24;      // e_entry u64
constexpr usize kPhoffOffset = 32;      // e_phoff u64
constexpr usize kEhsizeOffset = 52;     // e_ehsize u16
constexpr usize kPhentsizeOffset = 54;  // e_phentsize u16
constexpr usize kPhnumOffset = 56;      // e_phnum u16

constexpr u8 kClass32 = 1;    // ELFCLASS32
constexpr u8 kClass64 = 2;    // ELFCLASS64
constexpr u8 kDataLsb = 1;    // ELFDATA2LSB
constexpr u8 kDataMsb = 2;    // ELFDATA2MSB
constexpr u32 kVersionCurrent = 1; // EV_CURRENT
constexpr u16 kTypeExec = 2;       // ET_EXEC
constexpr u16 kMachineX86_64 = 62; // EM_X86_64
constexpr u16 kPhnumExtended = 0xffff; // PN_XNUM: real count in section 0

// gABI "Program Header", Elf64_Phdr.
constexpr usize kProgramHeaderSize = 56;
constexpr usize kPhTypeOffset = 0;    // p_type u32
constexpr usize kPhFlagsOffset = 4;   // p_flags u32
constexpr usize kPhOffsetOffset = 8;  // p_offset u64
constexpr usize kPhVaddrOffset = 16;  // p_vaddr u64
constexpr usize kPhFileszOffset = 32; // p_filesz u64
constexpr usize kPhMemszOffset = 40;  // p_memsz u64
constexpr usize kPhAlignOffset = 48;  // p_align u64

enum ProgramType : u32 {
    PtNull = 0,
    PtLoad = 1,
    PtDynamic = 2,
    PtInterp = 3,
    PtNote = 4,
    PtShlib = 5,
    PtPhdr = 6,
    PtTls = 7,
};

constexpr u32 kFlagExecute = 1; // PF_X
constexpr u32 kFlagWrite = 2;   // PF_W
constexpr u32 kFlagRead = 4;    // PF_R

struct ProgramHeader {
    u32 type;
    u32 flags;
    u64 offset;
    u64 vaddr;
    u64 filesz;
    u64 memsz;
    u64 align;
};

ErrorOr<void> check_identification(ByteReader file)
{
    for (usize i = 0; i < sizeof(kMagic); ++i) {
        auto byte = file.read<u8>(i);
        if (!byte)
            return Error::Truncated;
        if (*byte != kMagic[i])
            return Error::BadMagic;
    }
    if (file.size() < kElfHeaderSize)
        return Error::Truncated;

    u8 elf_class = file.read<u8>(kIdentClass).value();
    if (elf_class == kClass32)
        return Error::Unsupported;
    if (elf_class != kClass64)
        return Error::BadMagic; // ELFCLASSNONE or undefined

    u8 data = file.read<u8>(kIdentData).value();
    if (data == kDataMsb)
        return Error::Unsupported;
    if (data != kDataLsb)
        return Error::BadMagic; // ELFDATANONE or undefined

    if (file.read<u8>(kIdentVersion).value() != kVersionCurrent
        || file.read<u32>(kVersionOffset).value() != kVersionCurrent)
        return Error::BadMagic;
    // EI_OSABI and EI_ABIVERSION are not checked: linkers write 0 (System V)
    // or 3 (GNU) for the same static executable.
    return {};
}

ProgramHeader read_program_header(ByteReader entry)
{
    return ProgramHeader {
        entry.read<u32>(kPhTypeOffset).value(),
        entry.read<u32>(kPhFlagsOffset).value(),
        entry.read<u64>(kPhOffsetOffset).value(),
        entry.read<u64>(kPhVaddrOffset).value(),
        entry.read<u64>(kPhFileszOffset).value(),
        entry.read<u64>(kPhMemszOffset).value(),
        entry.read<u64>(kPhAlignOffset).value(),
    };
}

// Everything about one PT_LOAD segment that does not depend on the others.
ErrorOr<void> check_load_segment(const ProgramHeader& header, usize file_size, u64 user_base, u64 user_end)
{
    if (header.filesz > header.memsz)
        return Error::BadLength;
    // A segment with no file bytes (all .bss) reads nothing, wherever its
    // p_offset points: strip tools may leave it past the end of the file.
    if (header.filesz > 0 && (header.offset > file_size || header.filesz > file_size - header.offset))
        return Error::Truncated;
    // gABI: 0 and 1 mean no alignment; otherwise a positive, integral power
    // of 2 with p_vaddr congruent to p_offset modulo it.
    if (header.align > 1) {
        if ((header.align & (header.align - 1)) != 0)
            return Error::BadAlignment;
        if ((header.vaddr & (header.align - 1)) != (header.offset & (header.align - 1)))
            return Error::BadAlignment;
    }
    if (header.memsz == 0)
        return {}; // maps nothing; dropped by the caller
    if (header.vaddr < user_base || header.vaddr >= user_end)
        return Error::OutOfRange;
    if (header.memsz > user_end - header.vaddr)
        return Error::OutOfRange; // also catches vaddr + memsz wrapping
    return {};
}

// Segments are mapped with page granularity, so each must start on a page
// after the last page of the previous one (gABI: PT_LOAD entries are sorted
// by p_vaddr). Both ends fit in [user_base, user_end), so only rounding the
// end up can wrap.
ErrorOr<void> check_after_previous(const ElfSegment& previous, const ElfSegment& segment)
{
    u64 previous_end = 0;
    if (!align_up(previous.virtual_address + previous.memory_size, kElfPageSize, previous_end))
        return Error::OutOfRange;
    if (align_down(segment.virtual_address, kElfPageSize) < previous_end)
        return Error::AlreadyMapped;
    return {};
}

// A PT_TLS segment on its own; where its template lies is checked once all
// PT_LOAD segments are known (tls_template_is_loaded).
ErrorOr<void> check_tls_segment(const ProgramHeader& header, usize file_size, u64 user_base, u64 user_end)
{
    HERALD_TRY(check_load_segment(header, file_size, user_base, user_end));
    if (header.align > kElfPageSize)
        return Error::Unsupported; // the runtime aligns a block to a page at most
    return {};
}

bool tls_template_is_loaded(const ElfImage& image)
{
    const ElfTls& tls = image.tls;
    if (tls.file_size == 0)
        return true;
    for (usize i = 0; i < image.segment_count; ++i) {
        const ElfSegment& segment = image.segments[i];
        if (tls.virtual_address >= segment.virtual_address
            && tls.virtual_address - segment.virtual_address <= segment.file_size
            && tls.file_size <= segment.file_size - (tls.virtual_address - segment.virtual_address))
            return true;
    }
    return false;
}

bool entry_is_in_code(const ElfImage& image)
{
    for (usize i = 0; i < image.segment_count; ++i) {
        const ElfSegment& segment = image.segments[i];
        if (segment.executable && image.entry >= segment.virtual_address
            && image.entry - segment.virtual_address < segment.file_size)
            return true;
    }
    return false;
}

} // namespace

ErrorOr<ElfImage> parse_elf(ByteReader file, u64 user_base, u64 user_end)
{
    HERALD_TRY(check_identification(file));

    if (file.read<u16>(kTypeOffset).value() != kTypeExec)
        return Error::Unsupported; // relocatable, shared (PIE), core, ...
    if (file.read<u16>(kMachineOffset).value() != kMachineX86_64)
        return Error::Unsupported;
    if (file.read<u16>(kEhsizeOffset).value() != kElfHeaderSize)
        return Error::BadLength;
    if (file.read<u16>(kPhentsizeOffset).value() != kProgramHeaderSize)
        return Error::BadLength;

    u16 count = file.read<u16>(kPhnumOffset).value();
    if (count == kPhnumExtended)
        return Error::Unsupported;
    u64 table_offset = file.read<u64>(kPhoffOffset).value();
    if (count > 0 && table_offset < kElfHeaderSize)
        return Error::OutOfRange;
    auto table = file.slice(table_offset, usize { count } * kProgramHeaderSize);
    if (!table)
        return Error::Truncated;

    ElfImage image {};
    bool seen_tls = false; // a first PT_TLS of size 0 still counts as the one
    image.entry = file.read<u64>(kEntryOffset).value();
    for (usize i = 0; i < count; ++i) {
        ProgramHeader header = read_program_header(table->slice(i * kProgramHeaderSize, kProgramHeaderSize).value());
        switch (header.type) {
        case PtLoad:
            break;
        case PtTls:
            if (seen_tls)
                return Error::Unsupported; // one TLS template per program (gABI)
            seen_tls = true;
            HERALD_TRY(check_tls_segment(header, file.size(), user_base, user_end));
            image.tls = ElfTls { header.vaddr, header.memsz, header.filesz, header.align > 1 ? header.align : 1 };
            continue;
        case PtDynamic:
        case PtInterp:
        case PtShlib:
            return Error::Unsupported;
        default:
            continue; // PT_NULL, PT_NOTE, PT_PHDR, PT_GNU_STACK, PT_GNU_RELRO, ...
        }

        HERALD_TRY(check_load_segment(header, file.size(), user_base, user_end));
        if (header.memsz == 0)
            continue;
        if (image.segment_count == ElfImage::kMaxSegments)
            return Error::TooMany;
        ElfSegment segment {
            header.vaddr,
            header.memsz,
            header.offset,
            header.filesz,
            (header.flags & kFlagRead) != 0,
            (header.flags & kFlagWrite) != 0,
            (header.flags & kFlagExecute) != 0,
        };
        if (image.segment_count > 0)
            HERALD_TRY(check_after_previous(image.segments[image.segment_count - 1], segment));
        image.segments[image.segment_count++] = segment;
    }

    if (image.segment_count == 0)
        return Error::NotFound;
    if (!entry_is_in_code(image) || !tls_template_is_loaded(image))
        return Error::OutOfRange;
    return image;
}

} // namespace herald

// Fuzzes the ELF64 executable parser (microkernel/boot/elf.cpp) with the
// window the kernel and the loader use: [kUserCodeBase, kUserHeapBase).
//
// Input: an ELF file. Whatever parse_elf() accepts must be safe to load:
// every segment's file bytes inside the file, inside the window, in order
// and one page apart, and the entry point in an executable segment's bytes
// (elf.hpp lists the rules).
#include "fuzz.hpp"
#include "microkernel/abi/memory.hpp"
#include "microkernel/abi/syscalls.hpp"
#include "microkernel/boot/elf.hpp"

using namespace herald;

namespace {

void check_image(const ElfImage& image, size_t file_size, u64 base, u64 end)
{
    FUZZ_CHECK(image.segment_count >= 1 && image.segment_count <= ElfImage::kMaxSegments);
    bool entry_in_code = false;
    for (usize i = 0; i < image.segment_count; ++i) {
        const ElfSegment& segment = image.segments[i];
        FUZZ_CHECK(segment.memory_size > 0);
        FUZZ_CHECK(segment.file_size <= segment.memory_size);
        if (segment.file_size > 0)
            FUZZ_CHECK(segment.file_offset <= file_size && segment.file_size <= file_size - segment.file_offset);
        FUZZ_CHECK(segment.virtual_address >= base && segment.virtual_address < end);
        FUZZ_CHECK(segment.memory_size <= end - segment.virtual_address);
        if (i > 0) {
            const ElfSegment& previous = image.segments[i - 1];
            u64 previous_last_page = (previous.virtual_address + previous.memory_size - 1) / kElfPageSize;
            FUZZ_CHECK(segment.virtual_address / kElfPageSize > previous_last_page);
        }
        if (segment.executable && image.entry >= segment.virtual_address
            && image.entry - segment.virtual_address < segment.file_size)
            entry_in_code = true;
    }
    FUZZ_CHECK(entry_in_code);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    constexpr u64 base = abi::kUserCodeBase;
    constexpr u64 end = abi::kUserHeapBase;
    auto image = parse_elf(ByteReader(data, size), base, end);
    if (!image.is_error())
        check_image(image.value(), size, base, end);
    return 0;
}

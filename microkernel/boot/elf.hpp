// ELF64 executable parser (System V gABI, "Program Loading"; System V x86-64
// psABI §5), for the user programs the kernel loads. The file is untrusted:
// every field is checked, and parse_elf() only describes what to map; it
// copies nothing and touches no memory outside `file`.
//
// Herald loads static, non-PIE x86-64 executables only: no interpreter, no
// dynamic section. What it accepts:
//   - ELFCLASS64, little-endian, EV_CURRENT, ET_EXEC, EM_X86_64
//   - e_ehsize 64, e_phentsize 56, the program header table inside the file
//   - 1 to kMaxSegments PT_LOAD segments, each with p_filesz <= p_memsz,
//     its file bytes (if any) inside the file, [p_vaddr, p_vaddr + p_memsz) inside
//     [user_base, user_end), p_align 0, 1 or a power of two with
//     p_vaddr == p_offset (mod p_align), in ascending order of p_vaddr
//     and not sharing a 4 KiB page with the previous segment
//   - an entry point inside the file-backed bytes of an executable segment
//   - at most one PT_TLS segment (thread-local storage: the template of
//     each thread's block, which the program's runtime copies and zeroes
//     itself, user/runtime/thread.hpp): p_filesz <= p_memsz, [p_vaddr,
//     p_vaddr + p_memsz) inside [user_base, user_end), p_align 0, 1 or a
//     power of two up to a page, and its file bytes (.tdata) inside the
//     file-backed bytes of one PT_LOAD segment, so that loading the
//     program loads the template
// Other program headers (PT_NULL, PT_NOTE, PT_PHDR, PT_GNU_STACK, ...) are
// skipped; PT_DYNAMIC, PT_INTERP, PT_SHLIB and a second PT_TLS are
// Unsupported.
// PT_LOAD segments with p_memsz 0 are checked and then dropped.
//
// Errors:
//   Truncated     the file ends inside the ELF header, the program header
//                 table or a segment's file bytes
//   BadMagic      not an ELF file: wrong magic, or an identification byte
//                 (class, data, version) with no valid meaning
//   Unsupported   a valid ELF file Herald does not run: 32-bit, big-endian,
//                 not ET_EXEC, not x86-64, PN_XNUM program headers, or one
//                 of the program header types above
//   BadLength     e_ehsize or e_phentsize is wrong, or p_filesz > p_memsz
//   BadAlignment  p_align not a power of two, or p_vaddr and p_offset not
//                 congruent modulo it
//   OutOfRange    the program header table overlaps the ELF header, a
//                 segment lies (partly) outside [user_base, user_end) or
//                 wraps past 2^64, the entry point is not in code, or the
//                 TLS template is not in a segment's file bytes
//   AlreadyMapped a segment overlaps (or lies below) the previous one at
//                 page granularity
//   TooMany       more than kMaxSegments non-empty PT_LOAD segments
//   NotFound      no non-empty PT_LOAD segment at all
#pragma once

#include "../lib/bytes.hpp"
#include "../lib/error.hpp"
#include "../lib/types.hpp"

namespace herald {

// One PT_LOAD segment: map [virtual_address, virtual_address + memory_size),
// fill its first file_size bytes from file[file_offset, file_offset +
// file_size) and zero the rest. virtual_address need not be page-aligned.
struct ElfSegment {
    u64 virtual_address;
    u64 memory_size;
    u64 file_offset;
    u64 file_size;
    bool readable;
    bool writable;
    bool executable;
};

// The PT_TLS segment: each thread's block is memory_size bytes, aligned to
// `align`, the first file_size of them a copy of [virtual_address,
// virtual_address + file_size) (.tdata), the rest zeros (.tbss).
struct ElfTls {
    u64 virtual_address;
    u64 memory_size; // 0: the program has no thread-local storage
    u64 file_size;
    u64 align;
};

struct ElfImage {
    static constexpr usize kMaxSegments = 8;

    u64 entry;
    ElfTls tls;
    ElfSegment segments[kMaxSegments]; // ascending, at most one per page
    usize segment_count;
};

// The page size at which segments must not overlap (x86-64 psABI: 4 KiB).
inline constexpr u64 kElfPageSize = 4096;

// Validates `file` as an executable to run in [user_base, user_end).
ErrorOr<ElfImage> parse_elf(ByteReader file, u64 user_base, u64 user_end);

} // namespace herald

// Multiboot2 boot information parser (Multiboot2 spec 1.0, §3.6), for
// booting through GRUB on real firmware.
#pragma once

#include "../lib/bytes.hpp"
#include "../lib/error.hpp"
#include "boot_info.hpp"

namespace herald {

// Parses the boot information block. `info` must cover the whole block as
// total_size (its first u32) describes it; the caller caps that size before
// reading, so a mismatch is reported rather than trusted. Resets `out`
// first; after an error `out` holds partial results and must not be used.
ErrorOr<void> parse_multiboot2(ByteReader info, BootInfo& out);

// Shared with the Multiboot v1 parser: both protocols number memory types
// as E820 does (Multiboot2 §3.6.8, Multiboot 0.6.96 §3.3).
MemoryType memory_type_from_multiboot(u32 raw_type);

// Appends a memory-map entry, or sets memory_truncated when the table is
// full. Empty entries are dropped; a length reaching past 2^64 is clamped.
void append_memory_region(BootInfo& out, u64 base, u64 length, u32 raw_type);

// Empties everything a parser fills in.
void reset_boot_info(BootInfo& out);

} // namespace herald

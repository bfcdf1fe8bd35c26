// The kernel's final page tables (docs/memory-map.md).
//
//   0 .. 4 KiB            not mapped: catches null-pointer dereferences
//   4 KiB .. 1 MiB        low memory (BIOS data, later the AP trampoline), RW, NX
//   kernel image          4 KiB pages: text RX, rodata R+NX, data/bss RW+NX, .ksyms R+NX
//   image end .. 128 MiB  RW+NX (2 MiB pages from the first 2 MiB boundary on)
//   0x4000000000 + p      every byte p of RAM and the low 1 MiB, RW+NX
//
// Everything is supervisor-only and global. NX, WP, SMEP and SMAP are turned
// on when the CPU has them.
#pragma once

#include "../../lib/error.hpp"
#include "../../mm/memory_inventory.hpp"
#include "../../mm/page_table_builder.hpp"
#include "cpu_features.hpp"

namespace herald::x86 {

struct PagingSummary {
    PhysicalAddress root;
    usize tables { 0 };
    bool nx { false };
    bool smep { false };
    bool smap { false };
};

// Builds the tables from frames taken out of `inventory`, switches CR3 to
// them and sets the protection bits. The boot tables are abandoned.
ErrorOr<PagingSummary> enable_kernel_paging(MemoryInventory& inventory, const CpuFeatures& features);

// Adds [base, base + length) to the physmap read-only and non-executable,
// page by page, leaving pages that are already mapped as they are. For
// firmware tables (ACPI) that firmware keeps in "reserved" memory, which the
// physmap does not cover from the start.
ErrorOr<void> map_into_physmap_read_only(PhysicalAddress base, u64 length);

// Maps device registers (MMIO) into the physmap, uncached, read-write,
// non-executable, and returns where they are.
ErrorOr<VirtualAddress> map_device_memory(PhysicalAddress base, u64 length);

// One read-write, non-executable kernel page (kernel stacks).
ErrorOr<void> map_kernel_page(VirtualAddress where, PhysicalAddress frame);
// Creates the kernel's tables down to the page directory for `address`.
ErrorOr<void> prepare_kernel_tables(VirtualAddress address);

// The kernel's tables, for code that needs to look a mapping up (tests).
const PageTableBuilder& kernel_page_tables();

// On an application processor: the same protection bits and tables as the
// boot CPU got from enable_kernel_paging().
void enable_kernel_paging_on_this_cpu();

// True once enable_kernel_paging() has switched CR3.
bool kernel_paging_enabled();

} // namespace herald::x86

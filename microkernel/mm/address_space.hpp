// AddressSpace: a user task's page tables.
//
// Layout (docs/memory-map.md): the kernel region (0-128 MiB) and the physmap
// are the kernel's own entries, shared by every address space and
// supervisor-only; user memory lies in [kUserCodeBase, kUserSpaceEnd). Since
// the kernel region and user code share the first page directory (the seed
// puts user code at page-directory entry 64), each address space has its own
// PML4, first PDPT and first page directory, whose kernel entries are copies
// of the kernel's.
//
// User pages are 4 KiB, each backed by its own frame from user_frames; the
// memory server takes this over later (issue "Memory server").
#pragma once

#include "../lib/address.hpp"
#include "../lib/error.hpp"
#include "page_table_builder.hpp"

namespace herald {

// The 20 MiB stack region at the top of user space, of which the top
// kInitialStackPages are committed at creation (seed: "A user thread is
// created with a 20mb stack but only the 4 pages are allocated").
inline constexpr u64 kUserStackRegionSize = 20 * MiB;
inline constexpr u64 kInitialStackPages = 4;

class AddressSpace {
public:
    static ErrorOr<AddressSpace*> create();
    void destroy(); // frees every user frame and table; the object too

    PhysicalAddress root() const { return m_builder.root(); }

    // Maps `pages` zeroed frames at `base` (4 KiB-aligned, inside user space).
    ErrorOr<void> map_anonymous(VirtualAddress base, usize pages, PageFlags flags);
    // Copies into already-mapped user memory through the physmap (the target
    // pages may be read-only for the user).
    ErrorOr<void> write(VirtualAddress destination, const u8* source, usize length);
    Optional<Translation> translate(VirtualAddress address) const { return m_builder.translate(address); }
    usize user_pages() const { return m_user_pages; }

private:
    AddressSpace(TableMemory& memory, PageTableBuilder::Options options) : m_builder(memory, options) { }
    ErrorOr<void> share_kernel_entries();

    PageTableBuilder m_builder;
    usize m_user_pages { 0 };
};

// Frames for user memory. Freed frames are reused first.
Optional<PhysicalAddress> allocate_user_frame();
void free_user_frame(PhysicalAddress frame);
usize user_frames_in_use();

} // namespace herald

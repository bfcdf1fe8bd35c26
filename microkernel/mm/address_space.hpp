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
// User pages are 4 KiB. Each leaf records in its AVL bits (9-11, which the
// MMU ignores) who owns the frame behind it, so that destroy() knows where
// each one goes back to (FrameOwner).
#pragma once

#include "../lib/address.hpp"
#include "../lib/error.hpp"
#include "memory_inventory.hpp"
#include "../abi/memory.hpp"
#include "page_table_builder.hpp"

namespace herald {

using abi::kInitialStackPages;
using abi::kUserStackRegionSize;

// The AVL bits of a user leaf.
enum class FrameOwner : u8 {
    Kernel = 0, // from the kernel's user-frame pool (programs the kernel loads itself)
    Pager = 1,  // mapped by the pager: back to it through the reclaim queue
    Nobody = 2, // the memory server's view of the managed frames: not freed through this mapping
    Device = 3, // device memory (object/device_memory.hpp): not RAM, not in the physmap, never freed
};

// Whether the kernel may reach the page behind `translation` through the
// physmap (IPC payloads, the IPC buffer): RAM, not a device's registers.
inline bool is_ram_page(const Translation& translation)
{
    return translation.flags.software != static_cast<u8>(FrameOwner::Device);
}

class AddressSpace {
public:
    static ErrorOr<AddressSpace*> create();
    void destroy(); // frees every user frame and table; the object too

    PhysicalAddress root() const { return m_builder.root(); }

    // Maps `pages` zeroed frames at `base` (4 KiB-aligned, inside user space).
    ErrorOr<void> map_anonymous(VirtualAddress base, usize pages, PageFlags flags);
    // Maps one managed `frame` at `address` for the pager. AlreadyMapped if
    // a page is there; OutOfRange outside user memory or inside the view.
    // `reclaimed` false (abi::MapNotReclaimed, DMA memory): the frame does
    // not go back through the reclaim queue when the space is torn down.
    ErrorOr<void> map_pager_frame(VirtualAddress address, PhysicalAddress frame, PageFlags flags, bool reclaimed = true);
    // Unmaps the pager's page at `address` and returns its frame. NotFound
    // if no page the pager mapped is there. The caller makes sure no CPU
    // still runs the task with the old translation cached (docs/memory.md).
    ErrorOr<PhysicalAddress> unmap_pager_frame(VirtualAddress address);
    // The memory server's view: every managed frame, writable, at
    // abi::kMemoryViewBase + its physical address.
    ErrorOr<void> map_memory_view(const PhysicalRangeSet& ranges);
    // Physical `range` read-only for the user at `base` (the loader's view
    // of the boot archive): owned by nobody, never freed through this.
    ErrorOr<void> map_read_only_view(VirtualAddress base, PhysicalRange range);
    // Physical `range` (device memory: not RAM) at `base` for the user,
    // writable, uncached (PCD), owned by nobody. AlreadyMapped if any page
    // of it is taken.
    ErrorOr<void> map_device(VirtualAddress base, PhysicalRange range);
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

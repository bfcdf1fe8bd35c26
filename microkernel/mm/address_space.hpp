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
//
// Locking (docs/memory.md, "An address space's lock"): every change of the
// tables (the map and unmap calls, the teardown) takes the space's own
// spin lock, not the task table's, so that the pager maps into different
// tasks on different CPUs at once. translate() takes none: the tables are
// freed only by the teardown, once no thread of the task runs, and one
// 64-bit entry is written at a time; but the page it found may be unmapped
// right after, so a write into another task's memory goes through
// with_own_ram_byte, which holds the lock over the look-up and the write,
// and the kernel's copies through the physmap (IPC payloads, a ring-0
// service's view of its caller's buffer) go through a PageView (below),
// which a MemoryUnmap waits for before the frame goes back. The object is reference-counted
// (Ref<AddressSpace>, object/ref.hpp): the task holds the first reference,
// and the pager takes one for a MemoryMap (task.hpp, address_space_of), so
// that the object stays valid when the task dies meanwhile; its calls then
// answer PeerGone, since the teardown marked it under the lock.
#pragma once

#include "../lib/address.hpp"
#include "../lib/error.hpp"
#include "../lib/page_view_record.hpp"
#include "memory_inventory.hpp"
#include "../abi/memory.hpp"
#include "page_table_builder.hpp"
#include "../sync/spinlock.hpp"

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

template<typename>
class Ref; // object/ref.hpp

class AddressSpace {
public:
    // The caller holds the one reference there is (the task, once it has one).
    static ErrorOr<AddressSpace*> create();
    // Tears the space down (every user frame and table goes back; a frame
    // of the pager's through the reclaim queue) and drops the creator's
    // reference: the object goes with the last one. From then on the map
    // and unmap calls answer PeerGone. A task that ran passes
    // wait_for_page_views_of_space (smp/page_views.hpp): the frames wait
    // for views of them taken before the end.
    using ViewWait = void (*)(const void* space);
    void destroy(ViewWait wait_for_views = nullptr);

    // Set once by create(), never changed (the teardown frees the table, not
    // the value): no lock.
    PhysicalAddress root() const NO_THREAD_SAFETY_ANALYSIS { return m_builder.root(); }

    // Maps `pages` zeroed frames at `base` (4 KiB-aligned, inside user space).
    ErrorOr<void> map_anonymous(VirtualAddress base, usize pages, PageFlags flags);
    // Maps one managed `frame` at `address` for the pager. AlreadyMapped if
    // a page is there; OutOfRange outside user memory or inside the view.
    // `reclaimed` false (abi::MapNotReclaimed, DMA memory): the frame does
    // not go back through the reclaim queue when the space is torn down.
    ErrorOr<void> map_pager_frame(VirtualAddress address, PhysicalAddress frame, PageFlags flags, bool reclaimed = true);
    // PeerGone from any of the calls below that change the tables: the space
    // was torn down (its task ended) while the caller held a reference.
    //
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
    // pages may be read-only for the user). Without the lock, as translate():
    // for the builder of a task that does not run yet (the copy may be long).
    ErrorOr<void> write(VirtualAddress destination, const u8* source, usize length);
    // Runs `action` on the physmap address of the byte at `address` (in
    // user memory) if it lies in the task's own RAM: a page the kernel or
    // the pager gave it, not a device's registers nor a page another task's
    // memory shows through (the memory server's view), and, with
    // `writable_only`, one the task may write. Under the lock, so that the
    // page cannot be unmapped, and its frame handed to another task,
    // between the look-up and the action (fault injection writes there).
    // BadAddress if the byte is not such; PeerGone once torn down.
    using RamByteAction = void (*)(u8* byte, void* context);
    ErrorOr<void> with_own_ram_byte(VirtualAddress address, bool writable_only, RamByteAction action, void* context);
    // Without the lock (above): for the task's own threads' checks. Its
    // answer may be stale by the time it is used: a MemoryUnmap from another
    // thread or the pager can take the page away, and the frame be another
    // task's. What reaches the frame afterwards takes a PageView instead.
    Optional<Translation> translate(VirtualAddress address) const NO_THREAD_SAFETY_ANALYSIS
    {
        return m_builder.translate(address);
    }

    // ---- views: the kernel reaching a page of user RAM through the physmap ----
    //
    // Why views and not the lock (docs/memory.md, "Views"): the look-up and
    // the copy could both run under the space's lock for an IPC payload (one
    // page a side), but a copy between two spaces would then hold two spaces'
    // locks at once, and a ring-0 service reads and writes its caller's
    // buffer for its whole answer, under its own lock and other spaces'. So
    // the look-up alone runs under the lock, and records the frame in this
    // CPU's view slot there: an unmap that comes after the look-up finds the
    // record (its lock is taken after ours), and waits for it to go
    // (smp/page_views.hpp) before the frame goes back to the memory server;
    // one that came before left nothing to find. The slots are per CPU, not
    // a count per space: an unmap waits only for views of its own frame that
    // were taken before it, never for a stream of new ones. A view is held
    // only with interrupts off and nothing that waits (a system call's copy,
    // or a ring-0 service's answer), so it cannot move to another CPU. A
    // copy's view is short; a ring-0 service's lasts its answer (the
    // console's: a UART write of up to 4 KiB), taken under the service's
    // lock so that only one is held at a time (docs/memory.md, "Views").

    // The physmap address of the byte at `address` if it lies in user RAM
    // of this space (mapped user, and writable if `writable`; not a
    // device's registers), recorded in `record` (this CPU's view slot,
    // smp/page_views.hpp) until end_view(record). nullptr if not, or once
    // the space is torn down. Use a PageView.
    u8* begin_view(VirtualAddress address, bool writable, PageViewRecord& record);
    static void end_view(PageViewRecord& record);

private:
    AddressSpace(TableMemory& memory, PageTableBuilder::Options options) : m_builder(memory, options) { }
    ErrorOr<void> share_kernel_entries() REQUIRES(m_lock);
    void free_tables(); // once marked torn down: nobody else reaches the tables

    // Only through Ref<AddressSpace> (object/ref.hpp), as for kernel objects.
    template<typename>
    friend class Ref;
    void retain() { __atomic_add_fetch(&m_references, 1, __ATOMIC_RELAXED); }
    void release();

    SpinLock m_lock;
    PageTableBuilder m_builder GUARDED_BY(m_lock);
    bool m_torn_down GUARDED_BY(m_lock) { false };
    u32 m_references { 1 };
};

// One page of user RAM the kernel reads or writes through the physmap
// (AddressSpace::begin_view): the page's frame stays the task's until the
// view goes, even if the page is unmapped meanwhile.
class PageView {
public:
    PageView() = default; // none: data() is null
    PageView(AddressSpace& space, VirtualAddress address, bool writable, PageViewRecord& slot)
        : m_data(space.begin_view(address, writable, slot))
        , m_slot(&slot)
    {
    }
    ~PageView()
    {
        if (m_data)
            AddressSpace::end_view(*m_slot);
    }
    PageView(const PageView&) = delete;
    PageView& operator=(const PageView&) = delete;

    u8* data() const { return m_data; }
    explicit operator bool() const { return m_data != nullptr; }

private:
    u8* m_data { nullptr };
    PageViewRecord* m_slot { nullptr };
};

// Frames for user memory. Freed frames are reused first.
Optional<PhysicalAddress> allocate_user_frame();
void free_user_frame(PhysicalAddress frame);
usize user_frames_in_use();

} // namespace herald

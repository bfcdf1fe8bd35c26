#include "address_space.hpp"

#include "../abi/syscalls.hpp"
#include "../arch/x86_64/paging.hpp"
#include "../kernel.hpp"
#include "../stats/event_counters.hpp"
#include "../sync/spinlock.hpp"
#include "kernel_memory.hpp"
#include "kernel_pool.hpp"
#include "layout.hpp"
#include "reclaim_queue.hpp"

namespace herald {

namespace {

using namespace PageTableEntryBits;

class UserTableMemory final : public TableMemory {
public:
    Optional<PhysicalAddress> allocate_table() override { return allocate_user_frame(); }
    u64* table_at(PhysicalAddress table) override
    {
        return reinterpret_cast<u64*>(layout::physmap_address(table.get()));
    }
};

UserTableMemory g_table_memory;
KernelPool<AddressSpace> g_pool;

// Index of the first page-directory entry that belongs to user space: the
// seed's "Page Directory entry #64" (0x08000000 / 2 MiB).
constexpr usize kFirstUserDirectoryEntry = abi::kUserCodeBase / kPageSize2MiB;
// PDPT entries from here on are the physmap (0x4000000000 / 1 GiB = 256).
constexpr usize kFirstPhysmapDirectoryPointer = layout::kPhysmapBase / kPageSize1GiB;

u64* table(u64 entry) { return reinterpret_cast<u64*>(layout::physmap_address(entry & AddressMask)); }

FrameOwner owner_of(u64 leaf) { return static_cast<FrameOwner>((leaf >> kSoftwareBitsShift) & kSoftwareBitsMask); }

// A 4 KiB user leaf's frame goes back to whoever owns it.
void release_leaf(u64 leaf)
{
    PhysicalAddress frame(leaf & AddressMask);
    switch (owner_of(leaf)) {
    case FrameOwner::Kernel: free_user_frame(frame); break;
    case FrameOwner::Pager: reclaim_frame(frame); break;
    case FrameOwner::Nobody:
    case FrameOwner::Device: break;
    }
}

// Gives back the frames of every user leaf below `entries` (a table at
// `level`, 1 = page table) and frees the tables themselves. Large leaves
// are only ever the memory view (owned by nobody) or device memory.
void free_user_tables(u64* entries, int level, usize first, usize last)
{
    for (usize i = first; i < last; ++i) {
        u64 entry = entries[i];
        if (!(entry & Present))
            continue;
        if (level > 1 && !(entry & PageSize)) {
            free_user_tables(table(entry), level - 1, 0, kPageTableEntries);
            free_user_frame(PhysicalAddress(entry & AddressMask));
        } else if (level == 1) {
            release_leaf(entry);
        }
        entries[i] = 0;
    }
}

bool in_memory_view(u64 address) { return address >= abi::kMemoryViewBase && address - abi::kMemoryViewBase < abi::kMemoryViewSize; }

SpinLock g_frames_lock;
u64 g_free_frames GUARDED_BY(g_frames_lock);       // physical address of the first free frame, 0 = none
usize g_frames_in_use GUARDED_BY(g_frames_lock);

} // namespace

Optional<PhysicalAddress> allocate_user_frame()
{
    PhysicalAddress frame;
    bool recycled = false;
    {
        SpinLockGuard guard(g_frames_lock);
        if (g_free_frames) {
            frame = PhysicalAddress(g_free_frames);
            g_free_frames = *reinterpret_cast<u64*>(layout::physmap_address(g_free_frames));
            recycled = true;
        } else {
            auto fresh = allocate_kernel_frame(); // zeroed already
            if (!fresh)
                return nullopt;
            frame = *fresh;
        }
        ++g_frames_in_use;
    }
    if (recycled) {
        __builtin_memset(reinterpret_cast<void*>(layout::physmap_address(frame.get())), 0, layout::kPageSize);
        count_frames_zeroed(1);
    }
    return frame;
}

void free_user_frame(PhysicalAddress frame)
{
    SpinLockGuard guard(g_frames_lock);
    *reinterpret_cast<u64*>(layout::physmap_address(frame.get())) = g_free_frames;
    g_free_frames = frame.get();
    --g_frames_in_use;
}

usize user_frames_in_use()
{
    SpinLockGuard guard(g_frames_lock);
    return g_frames_in_use;
}

ErrorOr<AddressSpace*> AddressSpace::create()
{
    void* storage = g_pool.allocate_storage();
    if (!storage)
        return Error::OutOfMemory;
    PageTableBuilder::Options options { .nx_supported = cpu_features().nx, .allow_1g_pages = false };
    auto* space = new (storage) AddressSpace(g_table_memory, options);
    {
        SpinLockGuard guard(space->m_lock); // nobody else sees it yet: for the analysis
        if (auto result = space->m_builder.create_root(); result.is_error()) {
            guard.unlock();
            space->~AddressSpace();
            g_pool.free_storage(storage);
            return result.error();
        }
        if (auto result = space->share_kernel_entries(); result.is_error()) {
            guard.unlock();
            space->destroy();
            return result.error();
        }
    }
    return space;
}

// PML4[0] -> own PDPT: entry 0 -> own PD (kernel entries 0..63 copied),
// entries 256.. (the physmap) copied.
ErrorOr<void> AddressSpace::share_kernel_entries()
{
    u64* kernel_pml4 = reinterpret_cast<u64*>(kernel_pointer(x86::kernel_page_tables().root()));
    u64* kernel_pdpt = reinterpret_cast<u64*>(kernel_pointer(PhysicalAddress(kernel_pml4[0] & AddressMask)));
    u64* kernel_pd = reinterpret_cast<u64*>(kernel_pointer(PhysicalAddress(kernel_pdpt[0] & AddressMask)));

    auto pdpt = allocate_user_frame();
    if (!pdpt)
        return Error::OutOfMemory;
    auto pd = allocate_user_frame();
    if (!pd) {
        free_user_frame(*pdpt);
        return Error::OutOfMemory;
    }
    u64* own_pml4 = table(root().get());
    u64* own_pdpt = table(pdpt->get());
    u64* own_pd = table(pd->get());
    for (usize i = 0; i < kFirstUserDirectoryEntry; ++i)
        own_pd[i] = kernel_pd[i];
    for (usize i = kFirstPhysmapDirectoryPointer; i < kPageTableEntries; ++i)
        own_pdpt[i] = kernel_pdpt[i];
    own_pdpt[0] = pd->get() | Present | Writable | User;
    own_pml4[0] = pdpt->get() | Present | Writable | User;
    return {};
}

void AddressSpace::free_tables() NO_THREAD_SAFETY_ANALYSIS // marked torn down (destroy)
{
    u64* pml4 = table(root().get());
    if (pml4[0] & Present) {
        u64* pdpt = table(pml4[0]);
        if (pdpt[0] & Present) {
            u64* pd = table(pdpt[0]);
            free_user_tables(pd, 2, kFirstUserDirectoryEntry, kPageTableEntries);
            free_user_frame(PhysicalAddress(pdpt[0] & AddressMask));
        }
        free_user_tables(pdpt, 3, 1, kFirstPhysmapDirectoryPointer);
        free_user_frame(PhysicalAddress(pml4[0] & AddressMask));
    }
    free_user_frame(root());
}

// The mark goes on under the lock: a MemoryMap that holds a reference either
// finished before (its frame is reclaimed here with the others) or finds
// the space torn down. The tables are freed after, with the lock let go:
// from the mark on, every call that changes them refuses, and no thread of
// the task runs, so nothing else reaches them. Letting it go keeps short
// the time another CPU's map or unmap spins for it with interrupts off (a
// big task has thousands of leaves; the caller, release_thread inside
// schedule() or TaskObject::destroy under handles_lock, has interrupts off
// anyway), and keeps the reclaim queue's lock (a pager frame's way back)
// out from under the space's lock.
//
// A view taken before the mark (a partner's IPC copy into the space) may
// still be reaching one of its frames: `wait_for_views`, if given, waits
// for it between the two (views refuse from the mark on). It is the
// caller's (smp/page_views.hpp): this layer does not see the other CPUs.
void AddressSpace::destroy(ViewWait wait_for_views)
{
    {
        SpinLockGuard guard(m_lock);
        HERALD_ASSERT(!m_torn_down);
        m_torn_down = true;
    }
    if (wait_for_views)
        wait_for_views(this);
    free_tables();
    release();
}

void AddressSpace::release()
{
    if (__atomic_sub_fetch(&m_references, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    this->~AddressSpace();
    g_pool.free_storage(this);
}

ErrorOr<void> AddressSpace::map_anonymous(VirtualAddress base, usize pages, PageFlags flags)
{
    if (!base.is_aligned_to(layout::kPageSize) || base.get() < abi::kUserCodeBase || pages == 0
        || pages > (abi::kUserSpaceEnd - base.get()) / layout::kPageSize)
        return Error::OutOfRange;
    flags.user = true;
    SpinLockGuard guard(m_lock);
    if (m_torn_down)
        return Error::PeerGone;
    for (usize i = 0; i < pages; ++i) {
        auto frame = allocate_user_frame();
        if (!frame)
            return Error::OutOfMemory;
        auto result = m_builder.map(base.offset(i * layout::kPageSize), *frame, layout::kPageSize, flags);
        if (result.is_error()) {
            free_user_frame(*frame);
            return result.error();
        }
    }
    return {};
}

ErrorOr<void> AddressSpace::map_pager_frame(VirtualAddress address, PhysicalAddress frame, PageFlags flags, bool reclaimed)
{
    if (!address.is_aligned_to(layout::kPageSize) || address.get() < abi::kUserCodeBase
        || address.get() >= abi::kUserSpaceEnd || in_memory_view(address.get()))
        return Error::OutOfRange;
    flags.user = true;
    flags.global = false;
    flags.cache_disable = false;
    // A frame not reclaimed (DMA memory) is the pager's still, but its leaf
    // says Nobody: the teardown leaves it alone, and MemoryUnmap refuses it.
    flags.software = static_cast<u8>(reclaimed ? FrameOwner::Pager : FrameOwner::Nobody);
    SpinLockGuard guard(m_lock);
    if (m_torn_down)
        return Error::PeerGone;
    return m_builder.map_small_page(address, frame, flags);
}

ErrorOr<PhysicalAddress> AddressSpace::unmap_pager_frame(VirtualAddress address)
{
    SpinLockGuard guard(m_lock);
    if (m_torn_down)
        return Error::PeerGone;
    auto page = m_builder.translate(address);
    if (!address.is_aligned_to(layout::kPageSize) || !page || page->page_size != layout::kPageSize
        || page->flags.software != static_cast<u8>(FrameOwner::Pager))
        return Error::NotFound;
    u64 leaf = HERALD_TRY(m_builder.unmap_page(address));
    return PhysicalAddress(leaf & AddressMask);
}

ErrorOr<void> AddressSpace::map_memory_view(const PhysicalRangeSet& ranges)
{
    PageFlags flags { .writable = true, .user = true, .software = static_cast<u8>(FrameOwner::Nobody) };
    SpinLockGuard guard(m_lock);
    if (m_torn_down)
        return Error::PeerGone;
    for (const PhysicalRange& range : ranges) {
        if (range.end().get() > abi::kMemoryViewSize)
            return Error::OutOfRange;
        HERALD_TRY(m_builder.map(VirtualAddress(abi::kMemoryViewBase + range.base.get()), range.base, range.length, flags));
    }
    return {};
}

ErrorOr<void> AddressSpace::map_read_only_view(VirtualAddress base, PhysicalRange range)
{
    PageFlags flags { .writable = false, .user = true, .software = static_cast<u8>(FrameOwner::Nobody) };
    SpinLockGuard guard(m_lock);
    if (m_torn_down)
        return Error::PeerGone;
    return m_builder.map(base, range.base, range.length, flags);
}

ErrorOr<void> AddressSpace::map_device(VirtualAddress base, PhysicalRange range)
{
    PageFlags flags { .writable = true, .user = true, .executable = false, .cache_disable = true,
        .software = static_cast<u8>(FrameOwner::Device) };
    SpinLockGuard guard(m_lock);
    if (m_torn_down)
        return Error::PeerGone;
    return m_builder.map(base, range.base, range.length, flags);
}

ErrorOr<void> AddressSpace::with_own_ram_byte(VirtualAddress address, bool writable_only, RamByteAction action, void* context)
{
    if (address.get() < abi::kUserCodeBase || address.get() >= abi::kUserSpaceEnd)
        return Error::BadAddress;
    SpinLockGuard guard(m_lock);
    if (m_torn_down)
        return Error::PeerGone;
    auto translation = m_builder.translate(address);
    if (!translation || !translation->flags.user || !is_ram_page(*translation))
        return Error::BadAddress;
    if (writable_only && !translation->flags.writable)
        return Error::BadAddress;
    auto owner = static_cast<FrameOwner>(translation->flags.software);
    if (owner != FrameOwner::Kernel && owner != FrameOwner::Pager)
        return Error::BadAddress;
    action(reinterpret_cast<u8*>(layout::physmap_address(translation->physical.get())), context);
    return {};
}

// The record is written under the lock, with the look-up: an unmap of the
// page takes the lock after, and so sees it (docs/memory.md, "Views").
u8* AddressSpace::begin_view(VirtualAddress address, bool writable, PageViewRecord& record)
{
    SpinLockGuard guard(m_lock);
    if (m_torn_down)
        return nullptr;
    auto translation = m_builder.translate(address);
    if (!translation || !translation->flags.user || !is_ram_page(*translation) || (writable && !translation->flags.writable))
        return nullptr;
    HERALD_ASSERT(record.space == nullptr);
    u64 physical = translation->physical.get();
    __atomic_store_n(&record.space, static_cast<const void*>(this), __ATOMIC_RELAXED); // published by the lock's release
    __atomic_store_n(&record.frame, align_down(physical, layout::kPageSize), __ATOMIC_RELAXED);
    return reinterpret_cast<u8*>(layout::physmap_address(physical));
}

// Release: the copy through the view happens before a waiter sees it gone.
void AddressSpace::end_view(PageViewRecord& record)
{
    __atomic_store_n(&record.frame, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&record.space, static_cast<const void*>(nullptr), __ATOMIC_RELEASE);
}

ErrorOr<void> AddressSpace::write(VirtualAddress destination, const u8* source, usize length)
{
    while (length > 0) {
        auto translation = translate(destination);
        if (!translation || !translation->flags.user || !is_ram_page(*translation))
            return Error::OutOfRange;
        u64 offset = destination.get() & (layout::kPageSize - 1);
        usize chunk = min<u64>(length, layout::kPageSize - offset);
        u8* target = reinterpret_cast<u8*>(layout::physmap_address(translation->physical.get()));
        __builtin_memcpy(target, source, chunk);
        count<Event::BytesCopied>(chunk);
        destination = destination.offset(chunk);
        source += chunk;
        length -= chunk;
    }
    return {};
}

} // namespace herald

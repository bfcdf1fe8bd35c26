#include "paging.hpp"

#include "../../mm/kernel_memory.hpp"
#include "../../mm/layout.hpp"
#include "cpu.hpp"

#include "../../sync/spinlock.hpp"

extern "C" const char __kernel_start[];
extern "C" const char __rodata_start[];
extern "C" const char __data_start[];
extern "C" const char __boot_stack_guard[];
extern "C" const char __ksyms_start[];
extern "C" const char __kernel_end[];

namespace herald::x86 {

namespace {

// Page tables are kernel memory (mm/kernel_memory.hpp), reached the way
// kernel_pointer() says: usually through the identity map of the kernel
// region, which both the boot tables and the final tables provide.
class KernelTableMemory final : public TableMemory {
public:
    Optional<PhysicalAddress> allocate_table() override { return allocate_kernel_frame(); }
    u64* table_at(PhysicalAddress table) override { return reinterpret_cast<u64*>(kernel_pointer(table)); }
};

u64 address_of(const char* symbol) { return reinterpret_cast<u64>(symbol); }

alignas(PageTableBuilder) unsigned char g_builder_storage[sizeof(PageTableBuilder)];
alignas(KernelTableMemory) unsigned char g_table_memory_storage[sizeof(KernelTableMemory)];
PageTableBuilder* g_builder;
bool g_enabled;
PhysicalRangeSet g_physmap_ranges;
CpuFeatures g_features;

ErrorOr<void> map_identity(PageTableBuilder& builder, u64 start, u64 end, PageFlags flags)
{
    if (end <= start)
        return {};
    return builder.map(VirtualAddress(start), PhysicalAddress(start), end - start, flags);
}

ErrorOr<void> map_kernel_region(PageTableBuilder& builder)
{
    constexpr PageFlags kText { .writable = false, .user = false, .executable = true, .global = true };
    constexpr PageFlags kReadOnly { .writable = false, .user = false, .executable = false, .global = true };
    constexpr PageFlags kReadWrite { .writable = true, .user = false, .executable = false, .global = true };

    HERALD_TRY(map_identity(builder, layout::kPageSize, address_of(__kernel_start), kReadWrite));
    HERALD_TRY(map_identity(builder, address_of(__kernel_start), address_of(__rodata_start), kText));
    HERALD_TRY(map_identity(builder, address_of(__rodata_start), address_of(__data_start), kReadOnly));
    HERALD_TRY(map_identity(builder, address_of(__data_start), address_of(__boot_stack_guard), kReadWrite));
    // The page at __boot_stack_guard stays unmapped.
    HERALD_TRY(map_identity(builder, address_of(__boot_stack_guard) + layout::kPageSize, address_of(__ksyms_start), kReadWrite));
    HERALD_TRY(map_identity(builder, address_of(__ksyms_start), address_of(__kernel_end), kReadOnly));
    return map_identity(builder, address_of(__kernel_end), layout::kKernelRegionEnd, kReadWrite);
}

ErrorOr<void> map_physmap(PageTableBuilder& builder, const MemoryInventory& inventory)
{
    constexpr PageFlags kPhysmap { .writable = true, .user = false, .executable = false, .global = true };
    constexpr PageFlags kImageAlias { .writable = false, .user = false, .executable = false, .global = true };
    g_physmap_ranges.clear();
    for (const PhysicalRange& range : inventory.ram())
        HERALD_TRY(g_physmap_ranges.add(range));
    HERALD_TRY(g_physmap_ranges.add(PhysicalRange { PhysicalAddress(0), layout::kLowMemoryEnd }));
    // The physmap ends where the kernel-stack region begins: RAM above
    // 128 GiB is not mapped (and not used; docs/memory-map.md).
    constexpr u64 kPhysmapLimit = layout::kKernelStacksBase - layout::kPhysmapBase;
    HERALD_TRY(g_physmap_ranges.remove(PhysicalRange { PhysicalAddress(kPhysmapLimit), kPhysicalAddressLimit - kPhysmapLimit }));
    // The image's own alias is read-only: a writable second view of kernel
    // text would undo W^X of the identity mapping.
    PhysicalRange image { PhysicalAddress(address_of(__kernel_start)), address_of(__kernel_end) - address_of(__kernel_start) };
    static PhysicalRangeSet writable; // 4 KiB: not on the boot stack
    writable = g_physmap_ranges;
    HERALD_TRY(writable.remove(image));
    for (const PhysicalRange& range : writable)
        HERALD_TRY(builder.map(VirtualAddress(layout::physmap_address(range.base.get())), range.base, range.length, kPhysmap));
    return builder.map(VirtualAddress(layout::physmap_address(image.base.get())), image.base, image.length, kImageAlias);
}

void enable_protection(const CpuFeatures& features)
{
    if (features.nx)
        wrmsr(kMsrEfer, rdmsr(kMsrEfer) | kEferNxe); // before any NX entry is live
    u64 cr4 = read_cr4() | kCr4Pge;
    if (features.smep)
        cr4 |= kCr4Smep;
    if (features.smap)
        cr4 |= kCr4Smap;
    write_cr4(cr4);
    write_cr0(read_cr0() | kCr0WriteProtect);
}

} // namespace

ErrorOr<PagingSummary> enable_kernel_paging(MemoryInventory& inventory, const CpuFeatures& features)
{
    auto* memory = new (g_table_memory_storage) KernelTableMemory();
    PageTableBuilder::Options options { .nx_supported = features.nx, .allow_1g_pages = features.page_1g };
    auto* builder = new (g_builder_storage) PageTableBuilder(*memory, options);

    HERALD_TRY(builder->create_root());
    HERALD_TRY(map_kernel_region(*builder));
    HERALD_TRY(map_physmap(*builder, inventory));
    // Devices and firmware tables below 4 GiB are mapped into the physmap
    // later (map_device_memory, map_into_physmap_read_only), and address
    // spaces copy the physmap's top-level entries when they are made: the
    // page directories those later mappings go into must exist from now on.
    for (u64 gib = 0; gib < layout::kBootIdentityMapEnd / GiB; ++gib)
        HERALD_TRY(builder->prepare_tables(VirtualAddress(layout::physmap_address(gib * GiB)), 2));

    g_features = features;
    enable_protection(features);
    write_cr3(builder->root().get());
    g_builder = builder;
    g_enabled = true;
    return PagingSummary { builder->root(), builder->tables_allocated(), features.nx, features.smep, features.smap };
}

namespace {

// Maps every page of [base, base + length) at its physmap address that is
// not mapped yet.
ErrorOr<void> map_into_physmap(PhysicalAddress base, u64 length, PageFlags flags)
{
    HERALD_ASSERT(g_builder);
    u64 first = align_down(base.get(), layout::kPageSize);
    u64 end = base.get() + length;
    if (end < base.get() || !align_up(end, layout::kPageSize, end))
        return Error::OutOfRange;
    for (u64 page = first; page < end; page += layout::kPageSize) {
        VirtualAddress where(layout::physmap_address(page));
        if (g_builder->translate(where))
            continue;
        HERALD_TRY(g_builder->map(where, PhysicalAddress(page), layout::kPageSize, flags));
        // A new entry replaces a not-present one, which the TLB never caches,
        // but paging-structure caches may hold the level above: flush anyway.
        asm volatile("invlpg (%0)" : : "r"(where.get()) : "memory");
    }
    return {};
}

SpinLock g_map_lock;

} // namespace

ErrorOr<void> map_into_physmap_read_only(PhysicalAddress base, u64 length)
{
    // Uncached: "reserved" memory may turn out to be device registers, which
    // must never be cached (and firmware tables are read once).
    constexpr PageFlags kFirmware {
        .writable = false, .user = false, .executable = false, .global = true, .cache_disable = true
    };
    SpinLockGuard guard(g_map_lock);
    return map_into_physmap(base, length, kFirmware);
}

ErrorOr<void> map_kernel_page(VirtualAddress where, PhysicalAddress frame)
{
    constexpr PageFlags kKernelData { .writable = true, .user = false, .executable = false, .global = true };
    SpinLockGuard guard(g_map_lock);
    HERALD_ASSERT(g_builder);
    return g_builder->map(where, frame, layout::kPageSize, kKernelData);
}

ErrorOr<void> prepare_kernel_tables(VirtualAddress address)
{
    SpinLockGuard guard(g_map_lock);
    HERALD_ASSERT(g_builder);
    return g_builder->prepare_tables(address, 2);
}

ErrorOr<VirtualAddress> map_device_memory(PhysicalAddress base, u64 length)
{
    constexpr PageFlags kDevice {
        .writable = true, .user = false, .executable = false, .global = true, .cache_disable = true
    };
    SpinLockGuard guard(g_map_lock);
    HERALD_TRY(map_into_physmap(base, length, kDevice));
    return VirtualAddress(layout::physmap_address(base.get()));
}

void enable_kernel_paging_on_this_cpu()
{
    HERALD_ASSERT(g_builder);
    enable_protection(g_features);
    write_cr3(g_builder->root().get());
}

const PageTableBuilder& kernel_page_tables()
{
    HERALD_ASSERT(g_builder);
    return *g_builder;
}

bool kernel_paging_enabled() { return g_enabled; }

} // namespace herald::x86

#include "boot_archive.hpp"

#include "../kernel.hpp"
#include "../log.hpp"
#include "../mm/layout.hpp"

namespace herald {

namespace {

Optional<Archive> g_archive;
PhysicalRange g_pages;

const BootModule* archive_module()
{
    const BootInfo& info = boot_info();
    for (usize i = 0; i < info.module_count; ++i) {
        if (info.modules[i].name_view().ends_with(".archive"))
            return &info.modules[i];
    }
    return info.module_count ? &info.modules[0] : nullptr;
}

} // namespace

void boot_archive_init()
{
    const BootModule* module = archive_module();
    if (!module) {
        klog("herald: no boot archive (no boot module): no programs to start");
        return;
    }
    u64 length = module->end - module->start;
    ByteReader bytes(reinterpret_cast<const u8*>(layout::physmap_address(module->start.get())), length);
    auto archive = Archive::parse(bytes);
    if (archive.is_error()) {
        klog("herald: boot archive \"{}\" is unusable: {}", module->name_view().basename(), error_name(archive.error()));
        return;
    }
    g_archive = archive.value();
    u64 first = align_down(module->start.get(), layout::kPageSize);
    u64 end = 0;
    (void)align_up(module->end.get(), layout::kPageSize, end);
    g_pages = PhysicalRange { PhysicalAddress(first), end - first };
    klog("herald: archive \"{}\": {} entries", module->name_view().basename(), g_archive->count());
}

const Archive* boot_archive() { return g_archive ? &*g_archive : nullptr; }

ErrorOr<ByteReader> find_boot_program(StringView name)
{
    if (!g_archive)
        return Error::NotFound;
    ArchiveEntry entry = HERALD_TRY(g_archive->find(name));
    if (entry.kind != ArchiveKind::Program)
        return Error::Unsupported;
    return entry.bytes;
}

Optional<PhysicalRange> boot_archive_pages()
{
    if (!g_archive)
        return nullopt;
    return g_pages;
}

} // namespace herald

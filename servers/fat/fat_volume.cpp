// The mounted volume (fat_volume.hpp): paths, open files, reading and
// writing through cluster chains, creating and deleting entries, sync.
#include "fat_volume.hpp"

namespace herald::fat {

namespace {

// FSInfo (section 5): signatures and the two counts.
constexpr size_t kFsInfoLeadAt = 0;
constexpr size_t kFsInfoStructAt = 484;
constexpr size_t kFsInfoFreeCountAt = 488;
constexpr size_t kFsInfoNextFreeAt = 492;
constexpr size_t kFsInfoTrailAt = 508;
constexpr uint8_t kDotName[11] = { '.', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ' };
constexpr uint8_t kDotDotName[11] = { '.', '.', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ' };
constexpr uint32_t kFileIdSlotMask = 0xFF;
constexpr uint32_t kFileIdGenerationShift = 8;

struct Component {
    const char* text;
    size_t length;
};

// The next '/'-separated component of path[0..length) from `position`; false at the end.
bool next_component(const char* path, size_t length, size_t& position, Component& component)
{
    while (position < length && path[position] == '/')
        ++position;
    if (position >= length)
        return false;
    size_t start = position;
    while (position < length && path[position] != '/')
        ++position;
    component = { path + start, position - start };
    return true;
}

uint32_t min(uint32_t a, uint32_t b) { return a < b ? a : b; }

} // namespace

Result<void> Volume::mount(BlockDevice& device)
{
    m_device = nullptr;
    for (OpenFile& file : m_files)
        file.in_use = false;
    uint32_t sector_size = device.sector_size();
    if (sector_size < 512 || sector_size > kMaxSectorSize || (sector_size & (sector_size - 1)) != 0)
        return Error::Unsupported;
    m_cache.attach(device);
    const uint8_t* boot = FAT_TRY(m_cache.get(0));
    m_layout = FAT_TRY(parse_layout(boot, sector_size, device.sector_count()));
    FAT_TRY(m_fat.attach(m_cache, m_layout));
    if (m_layout.type == FatType::Fat32)
        (void)FAT_TRY(m_fat.next(m_layout.root_cluster)); // a free or out-of-range root cluster: corrupt
    m_device = &device;
    return {};
}

VolumeInfo Volume::info() const
{
    return { m_layout.type, m_layout.bytes_per_cluster, m_layout.cluster_count, m_fat.free_clusters() };
}

Result<bool> Volume::find(DirectoryRef directory, const char* name, size_t length, const uint8_t* short_name, Entry& entry)
{
    DirectoryCursor cursor(m_cache, m_fat, m_layout, directory);
    while (FAT_TRY(read_entry(cursor, entry))) {
        if (names_equal(entry.name, name, length) || names_equal(entry.short_display, name, length))
            return true;
        if (short_name && __builtin_memcmp(entry.short_name, short_name, 11) == 0)
            return true;
    }
    return false;
}

Result<Volume::Found> Volume::resolve(const char* path, size_t length)
{
    if (!m_device)
        return Error::NotMounted;
    if ((!path && length) || length > kMaxPathLength)
        return Error::BadName;
    Found found {};
    found.is_root = true;
    found.parent = root();
    size_t position = 0;
    Component component {};
    while (next_component(path, length, position, component)) {
        if (!found.is_root && !found.entry.is_directory())
            return Error::NotADirectory;
        DirectoryRef here = found.is_root ? root() : directory_of(found.entry, m_layout);
        if (!FAT_TRY(find(here, component.text, component.length, nullptr, found.entry)))
            return Error::NotFound;
        found.parent = here;
        found.is_root = false;
    }
    return found;
}

Result<Volume::OpenFile*> Volume::file_of(FileId id)
{
    if (!m_device)
        return Error::NotMounted;
    uint32_t slot = id & kFileIdSlotMask;
    if (slot >= kMaxOpenFiles || !m_files[slot].in_use || m_files[slot].generation != id >> kFileIdGenerationShift)
        return Error::BadFileHandle;
    return &m_files[slot];
}

Result<FileId> Volume::open(const char* path, size_t length)
{
    Found found = FAT_TRY(resolve(path, length));
    const Entry& entry = found.entry;
    if (found.is_root || entry.is_directory())
        return Error::IsADirectory;
    bool has_chain = entry.first_cluster != 0;
    if ((has_chain && !m_layout.is_valid_cluster(entry.first_cluster)) || (entry.size > 0 && !has_chain)
        || clusters_for(entry.size) > m_layout.cluster_count)
        return Error::CorruptDirectory;
    if (has_chain)
        FAT_TRY(check_chain(entry.first_cluster, entry.size));
    for (uint32_t i = 0; i < kMaxOpenFiles; ++i) {
        OpenFile& file = m_files[i];
        if (file.in_use && file.entry_sector == entry.position.sector && file.entry_offset == entry.position.offset) {
            if (file.references == 0xFFFF)
                return Error::TooManyOpenFiles;
            ++file.references;
            return i | static_cast<uint32_t>(file.generation) << kFileIdGenerationShift;
        }
    }
    for (uint32_t i = 0; i < kMaxOpenFiles; ++i) {
        OpenFile& file = m_files[i];
        if (file.in_use)
            continue;
        uint8_t generation = static_cast<uint8_t>(file.generation + 1);
        file = { entry.position.sector, entry.position.offset, entry.first_cluster, entry.size, 0, 0, 1,
            generation ? generation : uint8_t(1), true };
        return i | static_cast<uint32_t>(file.generation) << kFileIdGenerationShift;
    }
    return Error::TooManyOpenFiles;
}

Result<void> Volume::check_chain(uint32_t first, uint32_t size)
{
    uint32_t need = clusters_for(size);
    uint32_t cluster = first;
    for (uint32_t length = 1; length <= m_layout.cluster_count; ++length) {
        uint32_t following = FAT_TRY(m_fat.next(cluster));
        if (following == kEndOfChain)
            return length < need ? Error::CorruptChain : Result<void> {};
        cluster = following;
    }
    return Error::ChainLoop;
}

Result<void> Volume::close(FileId id)
{
    OpenFile* file = FAT_TRY(file_of(id));
    if (--file->references == 0)
        file->in_use = false;
    return {};
}

Result<uint32_t> Volume::cluster_at(OpenFile& file, uint32_t index)
{
    if (file.first_cluster == 0)
        return Error::CorruptChain;
    uint32_t cluster = file.first_cluster;
    uint32_t at = 0;
    if (file.cursor_cluster != 0 && file.cursor_index <= index) {
        cluster = file.cursor_cluster;
        at = file.cursor_index;
    }
    while (at < index) {
        uint32_t following = FAT_TRY(m_fat.next(cluster));
        if (following == kEndOfChain)
            return Error::CorruptChain; // the chain ends before the file does
        cluster = following;
        ++at;
    }
    file.cursor_index = index;
    file.cursor_cluster = cluster;
    return cluster;
}

Result<void> Volume::grow_chain(OpenFile& file, uint32_t bytes)
{
    uint32_t need = clusters_for(bytes);
    uint32_t have = 0;
    uint32_t last = 0;
    if (file.first_cluster != 0) {
        uint32_t cluster = file.cursor_cluster ? file.cursor_cluster : file.first_cluster;
        uint32_t at = file.cursor_cluster ? file.cursor_index : 0;
        for (;;) {
            if (at + 1 >= need)
                return {}; // long enough already
            uint32_t following = FAT_TRY(m_fat.next(cluster));
            if (following == kEndOfChain)
                break;
            cluster = following;
            if (++at >= m_layout.cluster_count)
                return Error::ChainLoop;
        }
        have = at + 1;
        last = cluster;
        file.cursor_index = at;
        file.cursor_cluster = cluster;
    }
    if (need <= have)
        return {};
    if (need - have > m_fat.free_clusters())
        return Error::NoSpace; // refused whole: nothing allocated, nothing written
    for (uint32_t index = have; index < need; ++index) {
        uint32_t cluster = FAT_TRY(m_fat.allocate(last));
        if (file.first_cluster == 0)
            file.first_cluster = cluster;
        last = cluster;
        file.cursor_index = index;
        file.cursor_cluster = cluster;
    }
    return {};
}

Result<void> Volume::transfer(OpenFile& file, uint32_t offset, uint8_t* out, const uint8_t* in, uint32_t length)
{
    uint32_t sector_size = m_layout.bytes_per_sector;
    for (uint32_t done = 0; done < length;) {
        uint32_t position = offset + done;
        uint32_t cluster = FAT_TRY(cluster_at(file, position / m_layout.bytes_per_cluster));
        uint32_t within = position % m_layout.bytes_per_cluster;
        uint64_t sector = m_layout.cluster_sector(cluster) + within / sector_size;
        uint32_t in_sector = within % sector_size;
        uint32_t chunk = min(sector_size - in_sector, length - done);
        if (out) {
            const uint8_t* bytes = FAT_TRY(m_cache.get(sector));
            __builtin_memcpy(out + done, bytes + in_sector, chunk);
        } else {
            uint8_t* bytes = chunk == sector_size ? FAT_TRY(m_cache.overwrite(sector)) : FAT_TRY(m_cache.modify(sector));
            if (in)
                __builtin_memcpy(bytes + in_sector, in + done, chunk);
            else
                __builtin_memset(bytes + in_sector, 0, chunk);
        }
        done += chunk;
    }
    return {};
}

Result<void> Volume::update_entry(OpenFile& file)
{
    uint8_t* slot = FAT_TRY(m_cache.modify(file.entry_sector)) + file.entry_offset;
    store32(slot + kEntrySizeAt, file.size);
    store16(slot + kEntryClusterLowAt, static_cast<uint16_t>(file.first_cluster));
    store16(slot + kEntryClusterHighAt,
        m_layout.type == FatType::Fat32 ? static_cast<uint16_t>(file.first_cluster >> 16) : uint16_t(0));
    store16(slot + kEntryWriteDateAt, m_date);
    store16(slot + kEntryWriteTimeAt, m_time);
    store16(slot + kEntryAccessDateAt, m_date);
    slot[kEntryAttributesAt] |= kAttributeArchive;
    return {};
}

Result<uint32_t> Volume::read(FileId id, uint32_t offset, uint8_t* buffer, uint32_t length)
{
    OpenFile* file = FAT_TRY(file_of(id));
    if (offset >= file->size || length == 0)
        return 0u;
    if (!buffer)
        return Error::BadArgument;
    uint32_t count = min(length, file->size - offset);
    FAT_TRY(transfer(*file, offset, buffer, nullptr, count));
    return count;
}

Result<uint32_t> Volume::write(FileId id, uint32_t offset, const uint8_t* data, uint32_t length)
{
    OpenFile* file = FAT_TRY(file_of(id));
    if (length == 0)
        return 0u;
    if (!data)
        return Error::BadArgument;
    uint64_t end = static_cast<uint64_t>(offset) + length;
    if (end > kMaxFileSize)
        return Error::FileTooLarge;
    uint32_t old_size = file->size;
    if (end > old_size) {
        if (auto grown = grow_chain(*file, static_cast<uint32_t>(end)); grown.is_error()) {
            (void)update_entry(*file); // a first cluster taken before the failure stays recorded
            return grown.error();
        }
    }
    if (offset > old_size)
        FAT_TRY(transfer(*file, old_size, nullptr, nullptr, offset - old_size));
    FAT_TRY(transfer(*file, offset, nullptr, data, length));
    if (end > old_size)
        file->size = static_cast<uint32_t>(end);
    FAT_TRY(update_entry(*file));
    return length;
}

Result<void> Volume::truncate(FileId id, uint32_t size)
{
    OpenFile* file = FAT_TRY(file_of(id));
    if (size > file->size) {
        if (auto grown = grow_chain(*file, size); grown.is_error()) {
            (void)update_entry(*file);
            return grown.error();
        }
        FAT_TRY(transfer(*file, file->size, nullptr, nullptr, size - file->size));
    } else if (size < file->size && file->first_cluster != 0) {
        uint32_t keep = clusters_for(size);
        if (keep == 0) {
            uint32_t first = file->first_cluster;
            file->first_cluster = 0;
            file->size = 0;
            FAT_TRY(update_entry(*file)); // the entry lets go of the chain before it is freed
            FAT_TRY(m_fat.free_chain(first));
        } else {
            uint32_t last = FAT_TRY(cluster_at(*file, keep - 1));
            uint32_t rest = FAT_TRY(m_fat.next(last));
            if (rest != kEndOfChain) {
                FAT_TRY(m_fat.end_chain_at(last));
                FAT_TRY(m_fat.free_chain(rest));
            }
        }
        file->cursor_index = 0;
        file->cursor_cluster = 0;
    }
    file->size = size;
    return update_entry(*file);
}

Result<Stat> Volume::stat(FileId id)
{
    OpenFile* file = FAT_TRY(file_of(id));
    const uint8_t* slot = FAT_TRY(m_cache.get(file->entry_sector)) + file->entry_offset;
    return Stat { file->size, file->first_cluster, load16(slot + kEntryWriteDateAt), load16(slot + kEntryWriteTimeAt),
        slot[kEntryAttributesAt], 0 };
}

Result<Stat> Volume::stat(const char* path, size_t length)
{
    Found found = FAT_TRY(resolve(path, length));
    if (found.is_root)
        return Stat { 0, root().first_cluster, 0, 0, kAttributeDirectory, 1 };
    const Entry& entry = found.entry;
    return Stat { entry.size, entry.first_cluster, entry.write_date, entry.write_time, entry.attributes,
        static_cast<uint8_t>(entry.is_directory() ? 1 : 0) };
}

Result<void> Volume::zero_cluster(uint32_t cluster)
{
    for (uint32_t i = 0; i < m_layout.sectors_per_cluster; ++i) {
        uint8_t* bytes = FAT_TRY(m_cache.overwrite(m_layout.cluster_sector(cluster) + i));
        __builtin_memset(bytes, 0, m_layout.bytes_per_sector);
    }
    return {};
}

Result<SlotPosition> Volume::free_slot(DirectoryRef directory)
{
    DirectoryCursor cursor(m_cache, m_fat, m_layout, directory);
    SlotPosition position {};
    uint32_t slots = 0;
    while (FAT_TRY(cursor.next(position))) {
        ++slots;
        const uint8_t* bytes = FAT_TRY(m_cache.get(position.sector));
        uint8_t first = bytes[position.offset];
        if (first == kSlotEnd || first == kSlotFree)
            return position;
    }
    if (directory.first_cluster == 0 || slots >= kMaxDirectorySlots)
        return Error::DirectoryFull; // FAT16's root cannot grow
    uint32_t cluster = FAT_TRY(m_fat.allocate(cursor.last_cluster()));
    FAT_TRY(zero_cluster(cluster));
    return SlotPosition { m_layout.cluster_sector(cluster), 0, slots };
}

Result<void> Volume::write_short_entry(const SlotPosition& at, const uint8_t* name, uint8_t case_flags,
    uint8_t attributes, uint32_t first_cluster)
{
    uint8_t* slot = FAT_TRY(m_cache.modify(at.sector)) + at.offset;
    __builtin_memset(slot, 0, kDirectoryEntrySize);
    __builtin_memcpy(slot + kEntryNameAt, name, 11);
    slot[kEntryAttributesAt] = attributes;
    slot[kEntryCaseAt] = case_flags;
    store16(slot + kEntryCreateTimeAt, m_time);
    store16(slot + kEntryCreateDateAt, m_date);
    store16(slot + kEntryAccessDateAt, m_date);
    store16(slot + kEntryWriteTimeAt, m_time);
    store16(slot + kEntryWriteDateAt, m_date);
    store16(slot + kEntryClusterLowAt, static_cast<uint16_t>(first_cluster));
    if (m_layout.type == FatType::Fat32)
        store16(slot + kEntryClusterHighAt, static_cast<uint16_t>(first_cluster >> 16));
    return {};
}

Result<void> Volume::create(const char* path, size_t length, bool directory)
{
    if (!m_device)
        return Error::NotMounted;
    if (!path || length == 0 || length > kMaxPathLength)
        return Error::BadName;
    while (length > 0 && path[length - 1] == '/')
        --length;
    size_t leaf = length;
    while (leaf > 0 && path[leaf - 1] != '/')
        --leaf;
    ShortName name = FAT_TRY(make_short_name(path + leaf, length - leaf));
    Found parent = FAT_TRY(resolve(path, leaf));
    if (!parent.is_root && !parent.entry.is_directory())
        return Error::NotADirectory;
    DirectoryRef here = parent.is_root ? root() : directory_of(parent.entry, m_layout);
    Entry existing;
    if (FAT_TRY(find(here, path + leaf, length - leaf, name.bytes, existing)))
        return Error::AlreadyExists;

    uint32_t cluster = 0;
    if (directory) {
        cluster = FAT_TRY(m_fat.allocate(0));
        uint32_t parent_cluster = here.first_cluster == root().first_cluster ? 0 : here.first_cluster;
        uint64_t sector = m_layout.cluster_sector(cluster);
        auto made = zero_cluster(cluster);
        if (!made.is_error())
            made = write_short_entry({ sector, 0, 0 }, kDotName, 0, kAttributeDirectory, cluster);
        if (!made.is_error())
            made = write_short_entry({ sector, kDirectoryEntrySize, 1 }, kDotDotName, 0, kAttributeDirectory, parent_cluster);
        if (made.is_error()) {
            (void)m_fat.free_chain(cluster);
            return made.error();
        }
    }
    auto slot = free_slot(here);
    if (slot.is_error()) {
        if (cluster)
            (void)m_fat.free_chain(cluster);
        return slot.error();
    }
    return write_short_entry(slot.value(), name.bytes, name.case_flags,
        directory ? kAttributeDirectory : kAttributeArchive, cluster);
}

Result<void> Volume::mark_free(DirectoryRef directory, uint32_t first_slot, uint32_t last_slot)
{
    DirectoryCursor cursor(m_cache, m_fat, m_layout, directory);
    FAT_TRY(cursor.seek(first_slot));
    SlotPosition position {};
    while (FAT_TRY(cursor.next(position)) && position.index <= last_slot) {
        uint8_t* bytes = FAT_TRY(m_cache.modify(position.sector));
        bytes[position.offset] = kSlotFree;
    }
    return {};
}

Result<bool> Volume::is_empty_directory(DirectoryRef directory)
{
    DirectoryCursor cursor(m_cache, m_fat, m_layout, directory);
    Entry entry;
    while (FAT_TRY(read_entry(cursor, entry))) {
        if (!entry.is_dot())
            return false;
    }
    return true;
}

Result<void> Volume::remove(const char* path, size_t length)
{
    Found found = FAT_TRY(resolve(path, length));
    const Entry& entry = found.entry;
    if (found.is_root || entry.is_dot())
        return Error::BadName;
    for (const OpenFile& file : m_files) {
        if (file.in_use && file.entry_sector == entry.position.sector && file.entry_offset == entry.position.offset)
            return Error::Busy;
    }
    bool has_chain = entry.first_cluster != 0;
    if (has_chain && !m_layout.is_valid_cluster(entry.first_cluster))
        return Error::CorruptDirectory;
    if (entry.is_directory()) {
        DirectoryRef directory = directory_of(entry, m_layout);
        if (!has_chain || directory.first_cluster == root().first_cluster)
            return Error::CorruptDirectory; // a directory entry that points at the root
        if (!FAT_TRY(is_empty_directory(directory)))
            return Error::DirectoryNotEmpty;
    }
    // The entry goes first: on a corrupt chain, freeing may stop half-way,
    // which leaks clusters (fsck finds them) but never leaves an entry
    // pointing at freed ones.
    FAT_TRY(mark_free(found.parent, entry.first_slot, entry.position.index));
    if (has_chain)
        FAT_TRY(m_fat.free_chain(entry.first_cluster));
    return {};
}

Result<bool> Volume::list(const char* path, size_t length, uint32_t& cookie, Entry& entry)
{
    Found found = FAT_TRY(resolve(path, length));
    if (!found.is_root && !found.entry.is_directory())
        return Error::NotADirectory;
    DirectoryRef directory = found.is_root ? root() : directory_of(found.entry, m_layout);
    DirectoryCursor cursor(m_cache, m_fat, m_layout, directory);
    FAT_TRY(cursor.seek(cookie));
    while (FAT_TRY(read_entry(cursor, entry))) {
        if (entry.is_dot())
            continue;
        cookie = entry.position.index + 1;
        return true;
    }
    return false;
}

Result<void> Volume::sync()
{
    if (!m_device)
        return Error::NotMounted;
    if (m_layout.type == FatType::Fat32 && m_layout.fs_info_sector != 0) {
        const uint8_t* info = FAT_TRY(m_cache.get(m_layout.fs_info_sector));
        bool valid = load32(info + kFsInfoLeadAt) == kFsInfoLeadSignature
            && load32(info + kFsInfoStructAt) == kFsInfoStructSignature
            && load32(info + kFsInfoTrailAt) == kFsInfoTrailSignature;
        if (valid) {
            uint8_t* bytes = FAT_TRY(m_cache.modify(m_layout.fs_info_sector));
            store32(bytes + kFsInfoFreeCountAt, m_fat.free_clusters());
            store32(bytes + kFsInfoNextFreeAt, m_fat.next_free_hint());
        }
    }
    FAT_TRY(m_cache.flush());
    return m_device->flush();
}

} // namespace herald::fat

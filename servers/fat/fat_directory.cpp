// FAT directories (fat_directory.hpp).
#include "fat_directory.hpp"

namespace herald::fat {

namespace {

// Long-name slots (section 7): the order byte, the checksum, and where the
// 13 UCS-2 characters of a piece lie.
constexpr uint8_t kLastLongPiece = 0x40;
constexpr uint8_t kLongOrderMask = 0x1F;
constexpr size_t kMaxLongPieces = 20; // 20 * 13 = 260 >= 255 characters
constexpr size_t kCharsPerPiece = 13;
constexpr size_t kLongChecksumAt = 13;
constexpr size_t kLongCharAt[kCharsPerPiece] = { 1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30 };
// A short name's first byte 0x05 stands for 0xE5 (which means "free").
constexpr uint8_t kEscapedE5 = 0x05;

constexpr char to_upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }
constexpr char to_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
constexpr bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
constexpr bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }

// The characters a short name may hold besides letters and digits (section 6.1),
// without the space, which this library does not create.
constexpr bool is_short_name_char(char c)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        return true;
    constexpr char kAllowed[] = "$%'-_@~`!(){}^#&";
    for (size_t i = 0; kAllowed[i] != '\0'; ++i) {
        if (c == kAllowed[i])
            return true;
    }
    return false;
}

// One part (base or extension) of a short name, upper-cased into `out`;
// false if it has a character a short name cannot. `lower` says whether
// all its letters were lower case (and there was one).
bool fill_part(const char* part, size_t length, uint8_t* out, bool& lower)
{
    bool any_lower = false, any_upper = false;
    for (size_t i = 0; i < length; ++i) {
        if (!is_short_name_char(part[i]))
            return false;
        any_lower |= is_lower(part[i]);
        any_upper |= is_upper(part[i]);
        out[i] = static_cast<uint8_t>(to_upper(part[i]));
    }
    lower = any_lower && !any_upper;
    return true;
}

char printable(uint32_t c) { return c >= 0x20 && c < 0x7F ? static_cast<char>(c) : '?'; }

// "NAME.EXT" from the 11 bytes, in lower case where byte 12 says so.
void short_display_name(const uint8_t* slot, char* out)
{
    size_t length = 0;
    size_t base_end = 8, extension_end = 11;
    while (base_end > 0 && slot[base_end - 1] == ' ')
        --base_end;
    while (extension_end > 8 && slot[extension_end - 1] == ' ')
        --extension_end;
    uint8_t flags = slot[kEntryCaseAt];
    for (size_t i = 0; i < base_end; ++i) {
        uint8_t byte = i == 0 && slot[0] == kEscapedE5 ? 0xE5 : slot[i];
        char c = printable(byte);
        out[length++] = flags & kCaseLowerBase ? to_lower(c) : c;
    }
    if (extension_end > 8) {
        out[length++] = '.';
        for (size_t i = 8; i < extension_end; ++i) {
            char c = printable(slot[i]);
            out[length++] = flags & kCaseLowerExtension ? to_lower(c) : c;
        }
    }
    out[length] = '\0';
}

struct LongName {
    uint16_t chars[kMaxLongPieces * kCharsPerPiece];
    uint8_t expected; // the order of the piece that must come next, plus one; 1 when complete
    uint8_t checksum;
    uint32_t first_slot;
    bool valid;

    void reset() { valid = false; }

    void add(const uint8_t* slot, uint32_t index)
    {
        uint8_t order = slot[0] & kLongOrderMask;
        if (slot[0] & kLastLongPiece) { // the first piece on disk is the name's last
            valid = order >= 1 && order <= kMaxLongPieces;
            if (!valid)
                return;
            for (uint16_t& c : chars)
                c = 0;
            checksum = slot[kLongChecksumAt];
            first_slot = index;
        } else if (!valid || order == 0 || order != expected - 1 || slot[kLongChecksumAt] != checksum) {
            valid = false;
            return;
        }
        expected = order;
        for (size_t i = 0; i < kCharsPerPiece; ++i)
            chars[(order - 1) * kCharsPerPiece + i] = load16(slot + kLongCharAt[i]);
    }

    // Copies the name to `out` if it is complete and belongs to `short_slot`.
    bool take(const uint8_t* short_slot, char* out) const
    {
        if (!valid || expected != 1 || checksum != short_name_checksum(short_slot))
            return false;
        size_t length = 0;
        while (length < kMaxNameLength && chars[length] != 0x0000 && chars[length] != 0xFFFF) {
            out[length] = printable(chars[length]);
            ++length;
        }
        out[length] = '\0';
        return length > 0;
    }
};

} // namespace

Result<ShortName> make_short_name(const char* name, size_t length)
{
    if (!name || length == 0 || length > 12)
        return Error::BadName;
    size_t dot = length;
    for (size_t i = 0; i < length; ++i) {
        if (name[i] == '.') {
            if (dot != length)
                return Error::BadName; // two dots
            dot = i;
        }
    }
    size_t base_length = dot;
    size_t extension_length = dot == length ? 0 : length - dot - 1;
    if (base_length == 0 || base_length > 8 || extension_length > 3 || (dot != length && extension_length == 0))
        return Error::BadName;
    ShortName short_name {};
    for (uint8_t& byte : short_name.bytes)
        byte = ' ';
    bool lower_base = false, lower_extension = false;
    if (!fill_part(name, base_length, short_name.bytes, lower_base)
        || !fill_part(name + dot + 1, extension_length, short_name.bytes + 8, lower_extension))
        return Error::BadName;
    short_name.case_flags = static_cast<uint8_t>((lower_base ? kCaseLowerBase : 0) | (lower_extension ? kCaseLowerExtension : 0));
    return short_name;
}

uint8_t short_name_checksum(const uint8_t* short_name)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < 11; ++i)
        sum = static_cast<uint8_t>(((sum & 1) << 7) + (sum >> 1) + short_name[i]);
    return sum;
}

bool names_equal(const char* name, const char* text, size_t length)
{
    for (size_t i = 0; i < length; ++i) {
        if (name[i] == '\0' || to_upper(name[i]) != to_upper(text[i]))
            return false;
    }
    return name[length] == '\0';
}

DirectoryCursor::DirectoryCursor(SectorCache& cache, FatTable& fat, const Layout& layout, DirectoryRef directory)
    : m_cache(cache)
    , m_fat(fat)
    , m_layout(layout)
    , m_directory(directory)
{
    if (m_directory.first_cluster == 0 && m_layout.type == FatType::Fat32)
        m_directory.first_cluster = m_layout.root_cluster;
    m_cluster = m_directory.first_cluster;
}

Result<bool> DirectoryCursor::next(SlotPosition& position)
{
    if (m_at_end)
        return false;
    if (m_index >= kMaxDirectorySlots && m_directory.first_cluster != 0) {
        // As long as a directory may be: its chain must end here, or it loops.
        if (!m_layout.is_valid_cluster(m_cluster) || FAT_TRY(m_fat.next(m_cluster)) != kEndOfChain)
            return Error::ChainLoop;
        m_at_end = true;
        return false;
    }
    uint32_t byte = m_index * kDirectoryEntrySize;
    if (m_directory.first_cluster == 0) { // FAT16's fixed root
        if (m_index >= m_layout.root_entry_count)
            return false;
        position = { m_layout.root_directory_sector + byte / m_layout.bytes_per_sector, byte % m_layout.bytes_per_sector, m_index };
        ++m_index;
        return true;
    }
    if (!m_layout.is_valid_cluster(m_cluster))
        return Error::CorruptChain;
    uint32_t slots_per_cluster = m_layout.bytes_per_cluster / kDirectoryEntrySize;
    if (m_index / slots_per_cluster > m_clusters_walked) {
        uint32_t following = FAT_TRY(m_fat.next(m_cluster));
        if (following == kEndOfChain) {
            m_at_end = true;
            return false;
        }
        if (++m_clusters_walked >= m_layout.cluster_count)
            return Error::ChainLoop;
        m_cluster = following;
    }
    uint32_t in_cluster = (m_index % slots_per_cluster) * kDirectoryEntrySize;
    position = { m_layout.cluster_sector(m_cluster) + in_cluster / m_layout.bytes_per_sector,
        in_cluster % m_layout.bytes_per_sector, m_index };
    ++m_index;
    return true;
}

Result<void> DirectoryCursor::seek(uint32_t index)
{
    if (index < m_index) {
        m_cluster = m_directory.first_cluster;
        m_clusters_walked = 0;
        m_at_end = false;
    }
    m_index = index;
    if (m_directory.first_cluster == 0)
        return {};
    uint32_t slots_per_cluster = m_layout.bytes_per_cluster / kDirectoryEntrySize;
    while (!m_at_end && index / slots_per_cluster > m_clusters_walked) {
        if (!m_layout.is_valid_cluster(m_cluster))
            return Error::CorruptChain;
        uint32_t following = FAT_TRY(m_fat.next(m_cluster));
        if (following == kEndOfChain) {
            m_at_end = true;
            break;
        }
        if (++m_clusters_walked >= m_layout.cluster_count)
            return Error::ChainLoop;
        m_cluster = following;
    }
    return {};
}

Result<bool> read_entry(DirectoryCursor& cursor, Entry& entry)
{
    SectorCache& cache = cursor.cache();
    LongName long_name;
    long_name.reset();
    SlotPosition position {};
    while (FAT_TRY(cursor.next(position))) {
        uint8_t slot[kDirectoryEntrySize];
        const uint8_t* sector = FAT_TRY(cache.get(position.sector));
        for (size_t i = 0; i < kDirectoryEntrySize; ++i)
            slot[i] = sector[position.offset + i];
        if (slot[0] == kSlotEnd)
            return false;
        uint8_t attributes = slot[kEntryAttributesAt];
        if (slot[0] == kSlotFree) {
            long_name.reset();
            continue;
        }
        if ((attributes & 0x3F) == kAttributeLongName) {
            long_name.add(slot, position.index);
            continue;
        }
        if (attributes & kAttributeVolumeId) {
            long_name.reset();
            continue;
        }
        bool has_long_name = long_name.take(slot, entry.name);
        short_display_name(slot, entry.short_display);
        if (!has_long_name)
            short_display_name(slot, entry.name);
        for (size_t i = 0; i < 11; ++i)
            entry.short_name[i] = slot[i];
        entry.attributes = attributes;
        entry.first_cluster = load16(slot + kEntryClusterLowAt);
        if (cursor.layout().type == FatType::Fat32)
            entry.first_cluster |= static_cast<uint32_t>(load16(slot + kEntryClusterHighAt)) << 16;
        entry.size = load32(slot + kEntrySizeAt);
        entry.write_date = load16(slot + kEntryWriteDateAt);
        entry.write_time = load16(slot + kEntryWriteTimeAt);
        entry.position = position;
        entry.first_slot = has_long_name ? long_name.first_slot : position.index;
        return true;
    }
    return false;
}

DirectoryRef directory_of(const Entry& entry, const Layout& layout)
{
    if (entry.first_cluster == 0 && layout.type == FatType::Fat32)
        return { layout.root_cluster };
    return { entry.first_cluster };
}

} // namespace herald::fat

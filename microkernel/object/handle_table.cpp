#include "handle_table.hpp"

namespace herald {

ErrorOr<u64> HandleTable::insert(KernelObject& object, u32 rights, u64 badge, u64 first_index)
{
    for (u64 index = max<u64>(first_index, 1); index < kCapacity; ++index) {
        if (!m_entries[index].object) {
            HERALD_TRY(insert_at(index, object, rights, badge));
            return index;
        }
    }
    return Error::QuotaExceeded; // every handle a task may hold
}

u16* HandleTable::quota_counter(ObjectType type)
{
    switch (type) {
    case ObjectType::Endpoint:
    case ObjectType::Notification: return &m_ipc_objects;
    case ObjectType::SavedReply: return &m_saved_replies;
    default: return nullptr;
    }
}

usize HandleTable::quota_limit(ObjectType type)
{
    return type == ObjectType::SavedReply ? kMaxSavedReplies : kMaxIpcObjects;
}

ErrorOr<void> HandleTable::insert_at(u64 index, KernelObject& object, u32 rights, u64 badge)
{
    if (index == 0 || index >= kCapacity)
        return Error::OutOfRange;
    if (m_entries[index].object)
        return Error::SlotTaken;
    u16* counter = quota_counter(object.type());
    if (counter && *counter >= quota_limit(object.type()))
        return Error::QuotaExceeded;
    if (counter)
        ++*counter;
    object.handle_opened(rights);
    // The entry holds a reference until close() adopts it back.
    m_entries[index] = HandleEntry { Ref<KernelObject>(object).leak(), rights, badge };
    return {};
}

Optional<HandleEntry> HandleTable::get(u64 index) const
{
    if (index == 0 || index >= kCapacity || !m_entries[index].object)
        return nullopt;
    return m_entries[index];
}

ErrorOr<HandleEntry> HandleTable::lookup(u64 index, ObjectType type, u32 rights) const
{
    auto entry = get(index);
    if (!entry)
        return Error::BadHandle;
    if (entry->object->type() != type)
        return Error::WrongType;
    if ((entry->rights & rights) != rights)
        return Error::NoRights;
    return *entry;
}

ErrorOr<void> HandleTable::close(u64 index)
{
    auto entry = get(index);
    if (!entry)
        return Error::BadHandle;
    m_entries[index] = HandleEntry {};
    if (u16* counter = quota_counter(entry->object->type()))
        --*counter;
    entry->object->handle_closed(entry->rights);
    Ref<KernelObject>::adopt(*entry->object).clear(); // the entry's reference, from insert_at()
    return {};
}

void HandleTable::close_all()
{
    for (u64 index = 1; index < kCapacity; ++index) {
        if (m_entries[index].object)
            (void)close(index);
    }
}

usize HandleTable::count() const
{
    usize count = 0;
    for (const HandleEntry& entry : m_entries)
        count += entry.object ? 1 : 0;
    return count;
}

} // namespace herald

#include "microkernel/object/handle_table.hpp"

#include <catch2/catch.hpp>

using namespace herald;

namespace {

class TestObject final : public KernelObject {
public:
    explicit TestObject(ObjectType type = ObjectType::Endpoint) : KernelObject(type) { }
    void destroy() override { destroyed = true; }
    void handle_opened(u32 rights) override { opened_rights += rights; }
    void handle_closed(u32 rights) override { closed_rights += rights; }
    bool destroyed { false };
    u32 opened_rights { 0 };
    u32 closed_rights { 0 };
};

constexpr u32 kSend = 1, kReceive = 2, kGrant = 4;

} // namespace

TEST_CASE("handles: insert, look up with rights, close", "[ipc]")
{
    TestObject object;
    HandleTable table;
    auto handle = table.insert(object, kSend | kReceive, 7);
    REQUIRE(!handle.is_error());
    CHECK(handle.value() == 1);
    CHECK(object.references() == 2);
    auto entry = table.lookup(handle.value(), ObjectType::Endpoint, kSend);
    REQUIRE(!entry.is_error());
    CHECK(entry.value().badge == 7);
    CHECK(table.lookup(handle.value(), ObjectType::Endpoint, kGrant).error() == Error::NoRights);
    CHECK(table.lookup(handle.value(), ObjectType::Notification, kSend).error() == Error::WrongType);
    CHECK(table.lookup(0, ObjectType::Endpoint, 0).error() == Error::BadHandle);
    CHECK(table.lookup(99, ObjectType::Endpoint, 0).error() == Error::BadHandle);
    CHECK(table.lookup(~0ull, ObjectType::Endpoint, 0).error() == Error::BadHandle);
    REQUIRE(!table.close(handle.value()).is_error());
    CHECK(table.close(handle.value()).error() == Error::BadHandle);
    CHECK(object.references() == 1);
    CHECK(object.opened_rights == (kSend | kReceive));
    CHECK(object.closed_rights == (kSend | kReceive));
    CHECK_FALSE(object.destroyed);
    Ref<TestObject>::adopt(object).clear(); // the reference the object was made with
    CHECK(object.destroyed);
}

TEST_CASE("handles: find, the fast paths' lookup, agrees with lookup and takes no reference", "[ipc]")
{
    TestObject object;
    HandleTable table;
    auto handle = table.insert(object, kSend | kReceive, 7);
    REQUIRE(!handle.is_error());
    const HandleEntry* entry = table.find(handle.value(), ObjectType::Endpoint, kSend | kReceive);
    REQUIRE(entry != nullptr);
    CHECK(entry->object == &object);
    CHECK(entry->badge == 7);
    CHECK(entry->rights == (kSend | kReceive));
    CHECK(object.references() == 2); // the table's, no more
    CHECK(table.find(handle.value(), ObjectType::Endpoint, kGrant) == nullptr);
    CHECK(table.find(handle.value(), ObjectType::Endpoint, kSend | kGrant) == nullptr);
    CHECK(table.find(handle.value(), ObjectType::Notification, kSend) == nullptr);
    CHECK(table.find(0, ObjectType::Endpoint, 0) == nullptr);
    CHECK(table.find(2, ObjectType::Endpoint, 0) == nullptr); // never filled
    CHECK(table.find(HandleTable::kCapacity, ObjectType::Endpoint, 0) == nullptr);
    CHECK(table.find(~0ull, ObjectType::Endpoint, 0) == nullptr);
    REQUIRE(!table.close(handle.value()).is_error());
    CHECK(table.find(handle.value(), ObjectType::Endpoint, 0) == nullptr); // closed
}

TEST_CASE("handles: the table fills up and says so", "[ipc]")
{
    TestObject object(ObjectType::Task); // a kind without a quota of its own
    HandleTable table;
    for (usize i = 1; i < HandleTable::kCapacity; ++i)
        REQUIRE(!table.insert(object, kSend, 0).is_error());
    CHECK(table.insert(object, kSend, 0).error() == Error::QuotaExceeded);
    CHECK(table.count() == HandleTable::kCapacity - 1);
    table.close_all();
    CHECK(table.count() == 0);
    CHECK(object.references() == 1);
}

TEST_CASE("handles: fixed indices", "[ipc]")
{
    TestObject object;
    HandleTable table;
    REQUIRE(!table.insert_at(1, object, kSend, 0).is_error());
    CHECK(table.insert_at(1, object, kSend, 0).error() == Error::SlotTaken);
    CHECK(table.insert_at(0, object, kSend, 0).error() == Error::OutOfRange);
    CHECK(table.insert_at(HandleTable::kCapacity, object, kSend, 0).error() == Error::OutOfRange);
    auto next = table.insert(object, kSend, 0, 2);
    REQUIRE(!next.is_error());
    CHECK(next.value() == 2);
    table.close_all();
}

TEST_CASE("handles: endpoints and notifications, and saved replies, have quotas of their own", "[ipc]")
{
    TestObject endpoint(ObjectType::Endpoint), notification(ObjectType::Notification), reply(ObjectType::SavedReply),
        task(ObjectType::Task);
    HandleTable table;
    u64 first = 0;
    for (usize i = 0; i < HandleTable::kMaxIpcObjects; ++i) {
        auto handle = table.insert(i % 2 ? endpoint : notification, kSend, 0);
        REQUIRE(!handle.is_error());
        first = first ? first : handle.value();
    }
    CHECK(table.insert(endpoint, kSend, 0).error() == Error::QuotaExceeded);
    CHECK(table.insert(notification, kSend, 0).error() == Error::QuotaExceeded);
    CHECK(table.insert_at(HandleTable::kCapacity - 1, endpoint, kSend, 0).error() == Error::QuotaExceeded);
    CHECK(endpoint.opened_rights + notification.opened_rights == HandleTable::kMaxIpcObjects * kSend); // refused: not opened
    for (usize i = 0; i < HandleTable::kMaxSavedReplies; ++i)
        REQUIRE(!table.insert(reply, kSend, 0).is_error());
    CHECK(table.insert(reply, kSend, 0).error() == Error::QuotaExceeded);
    REQUIRE(!table.insert(task, kSend, 0).is_error()); // other kinds still fit
    // Closing one makes room for one.
    REQUIRE(!table.close(first).is_error());
    REQUIRE(!table.insert(endpoint, kSend, 0).is_error());
    CHECK(table.insert(notification, kSend, 0).error() == Error::QuotaExceeded);
    table.close_all();
    CHECK(table.count() == 0);
    REQUIRE(!table.insert(notification, kSend, 0).is_error()); // the counters went back to zero
    table.close_all();
    CHECK(endpoint.references() == 1);
    CHECK(notification.references() == 1);
    CHECK(reply.references() == 1);
}

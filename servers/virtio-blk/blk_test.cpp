// Host tests of the virtio-blk driver's core (ctest: host-virtio-blk): the
// block protocol's requests become virtio-blk request chains (header,
// data, status) that a device played by the test executes against a disk
// in memory, several in flight and completed out of order; bad requests
// are refused before the device sees them.
#include "blk_driver.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace virtio_blk;
namespace block = ipc::block;

namespace {

constexpr uint64_t kPhysical = 0x4000'0000;
constexpr uint16_t kSize = 64;

struct Rig {
    size_t queue_bytes = (virtio::SplitQueue::bytes_for(kSize) + kPage - 1) / kPage * kPage;
    size_t bytes = queue_bytes + Driver::kSlotBytes; // whole pages, as aligned_alloc wants
    uint8_t* memory = static_cast<uint8_t*>(std::aligned_alloc(4096, bytes));
    virtio::SplitQueue queue;
    Driver driver;
    std::vector<uint8_t> disk = std::vector<uint8_t>(100 * 512);
    uint16_t seen = 0, used = 0;
    int notifications = 0;

    explicit Rig(uint64_t features = kFeatureFlush)
    {
        for (size_t i = 0; i < disk.size(); ++i)
            disk[i] = static_cast<uint8_t>(i * 7 + i / 512);
        REQUIRE(queue.init(memory, kPhysical, kSize));
        driver.init(&queue, memory + queue_bytes, kPhysical + queue_bytes, 100, features,
            [](void* context) { ++static_cast<Rig*>(context)->notifications; }, this);
    }
    ~Rig() { std::free(memory); }

    uint8_t* at(uint64_t physical) { return memory + (physical - kPhysical); }

    // The device takes one request and executes it; its head.
    bool take(uint16_t& head, uint8_t status = kStatusOk)
    {
        auto* avail = reinterpret_cast<uint16_t*>(at(queue.available_physical()));
        if (avail[1] == seen)
            return false;
        head = avail[2 + seen++ % kSize];
        auto* table = reinterpret_cast<virtio::Descriptor*>(at(queue.descriptors_physical()));
        std::vector<virtio::Descriptor> chain;
        for (uint16_t i = head;; i = table[i].next) {
            chain.push_back(table[i]);
            if (!(table[i].flags & virtio::kDescNext))
                break;
        }
        REQUIRE(chain.size() >= 2);
        REQUIRE(chain.front().length == sizeof(RequestHeader));
        REQUIRE(!(chain.front().flags & virtio::kDescWrite));
        REQUIRE(chain.back().length == 1);
        REQUIRE((chain.back().flags & virtio::kDescWrite));
        RequestHeader header;
        std::memcpy(&header, at(chain.front().address), sizeof(header));
        if (chain.size() == 3) {
            const virtio::Descriptor& data = chain[1];
            REQUIRE(header.sector * 512 + data.length <= disk.size());
            if (header.type == kTypeIn) {
                REQUIRE((data.flags & virtio::kDescWrite));
                std::memcpy(at(data.address), disk.data() + header.sector * 512, data.length);
            } else {
                REQUIRE(header.type == kTypeOut);
                REQUIRE(!(data.flags & virtio::kDescWrite));
                std::memcpy(disk.data() + header.sector * 512, at(data.address), data.length);
            }
        } else {
            REQUIRE(header.type == kTypeFlush);
        }
        *at(chain.back().address) = status;
        return true;
    }

    void complete(uint16_t head)
    {
        auto* ring = reinterpret_cast<uint16_t*>(at(queue.used_physical()));
        auto* elements = reinterpret_cast<virtio::UsedElement*>(ring + 2);
        elements[used++ % kSize] = virtio::UsedElement { head, 0 };
        ring[1] = used;
    }
};

} // namespace

TEST_CASE("virtio-blk: reads and writes go through the queue and come back with their tokens", "[virtio-blk]")
{
    Rig rig;
    CHECK(rig.driver.info().sectors == 100);
    CHECK(rig.driver.info().flags == block::kFlagCanFlush);
    std::vector<uint8_t> expected(rig.disk.begin() + 5 * 512, rig.disk.begin() + 8 * 512);
    REQUIRE_FALSE(rig.driver.start_read({ 5, 3 }, 501).is_error());
    std::vector<uint8_t> text(1024, 0x5A);
    REQUIRE_FALSE(rig.driver.start_write(20, text.data(), text.size(), 502).is_error());
    REQUIRE_FALSE(rig.driver.start_flush(503).is_error());
    CHECK(rig.notifications == 3);
    CHECK(rig.driver.in_flight() == 3);
    uint16_t heads[3];
    for (uint16_t& head : heads)
        REQUIRE(rig.take(head));
    Driver::Finished done {};
    CHECK(rig.driver.next_finished(done) == Driver::Poll::Nothing);
    rig.complete(heads[2]); // the flush first, then the read, then the write
    rig.complete(heads[0]);
    rig.complete(heads[1]);
    REQUIRE(rig.driver.next_finished(done) == Driver::Poll::Finished);
    CHECK(done.token == 503);
    CHECK(done.label == block::Flush::label);
    CHECK(done.ok);
    REQUIRE(rig.driver.next_finished(done) == Driver::Poll::Finished);
    CHECK(done.token == 501);
    CHECK(done.label == block::Read::label);
    REQUIRE(done.length == 3 * 512);
    CHECK(std::vector<uint8_t>(done.data, done.data + done.length) == expected);
    REQUIRE(rig.driver.next_finished(done) == Driver::Poll::Finished);
    CHECK(done.token == 502);
    CHECK(done.data == nullptr);
    CHECK(std::vector<uint8_t>(rig.disk.begin() + 20 * 512, rig.disk.begin() + 22 * 512) == text);
    CHECK(rig.driver.next_finished(done) == Driver::Poll::Nothing);
    CHECK(rig.driver.in_flight() == 0);
}

TEST_CASE("virtio-blk: bad requests never reach the device", "[virtio-blk]")
{
    Rig rig;
    uint8_t bytes[4097] = {};
    CHECK(rig.driver.start_read({ 0, 0 }, 1).error() == ipc::Error::InvalidRequest);
    CHECK(rig.driver.start_read({ 0, 9 }, 1).error() == ipc::Error::InvalidRequest);  // more than 4096 bytes
    CHECK(rig.driver.start_read({ 99, 2 }, 1).error() == ipc::Error::InvalidRequest); // past the end
    CHECK(rig.driver.start_read({ ~0ull, 1 }, 1).error() == ipc::Error::InvalidRequest);
    CHECK(rig.driver.start_write(0, bytes, 0, 1).error() == ipc::Error::InvalidRequest);
    CHECK(rig.driver.start_write(0, bytes, 100, 1).error() == ipc::Error::InvalidRequest); // not whole sectors
    CHECK(rig.driver.start_write(0, bytes, 4608, 1).error() == ipc::Error::InvalidRequest);
    CHECK(rig.driver.start_write(100, bytes, 512, 1).error() == ipc::Error::InvalidRequest);
    CHECK(rig.notifications == 0);
    CHECK(rig.driver.in_flight() == 0);
    Rig read_only(kFeatureReadOnly);
    CHECK(read_only.driver.start_write(0, bytes, 512, 1).error() == block::kReadOnly);
    CHECK(read_only.driver.info().flags == block::kFlagReadOnly);
}

TEST_CASE("virtio-blk: every slot in flight is kBusy; a device error is kIoError", "[virtio-blk]")
{
    Rig rig;
    for (uint64_t i = 0; i < Driver::kSlots; ++i)
        REQUIRE_FALSE(rig.driver.start_read({ i, 1 }, 100 + i).is_error());
    CHECK(rig.driver.start_read({ 0, 1 }, 999).error() == block::kBusy);
    uint16_t head = 0;
    REQUIRE(rig.take(head, kStatusIoError));
    rig.complete(head);
    Driver::Finished done {};
    REQUIRE(rig.driver.next_finished(done) == Driver::Poll::Finished);
    CHECK(done.token == 100);
    CHECK_FALSE(done.ok);
    CHECK(done.error == block::kIoError);
    REQUIRE_FALSE(rig.driver.start_read({ 0, 1 }, 999).is_error()); // its slot is free again
    uint64_t token = 0;
    size_t taken = 0;
    while (rig.driver.take_any(token))
        ++taken;
    CHECK(taken == Driver::kSlots);
}

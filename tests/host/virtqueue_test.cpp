// Host tests of libvirtio (libvirtio/include/libvirtio): the split
// virtqueue against a device played by the test (it reads the available
// ring and the descriptor chains as a device would, and completes requests
// in the order it chooses), and the PCI capability walk over a fake
// configuration space shaped like QEMU's virtio-blk-pci.
#include "libvirtio/virtio_pci.hpp"
#include "libvirtio/virtqueue.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

using virtio::Buffer;
using virtio::Completion;
using virtio::SplitQueue;
using Status = virtio::SplitQueue::Status;

namespace {

constexpr uint64_t kPhysical = 0x7A00'0000;

// Page-aligned memory for a queue, and a device that speaks to it only
// through the rings: what a real one sees.
struct Rig {
    uint16_t size;
    void* memory;
    SplitQueue queue;
    uint16_t device_seen { 0 }; // the device's own copy of the available idx it has read
    uint16_t device_used { 0 }; // the used idx the device has published

    explicit Rig(uint16_t queue_size) : size(queue_size)
    {
        size_t bytes = (SplitQueue::bytes_for(queue_size) + 4095) / 4096 * 4096; // aligned_alloc wants whole pages
        memory = std::aligned_alloc(4096, bytes);
        std::memset(memory, 0xCC, bytes);
        REQUIRE(queue.init(memory, kPhysical, queue_size));
    }
    ~Rig() { std::free(memory); }

    // Physical addresses the queue told the device, as offsets in `memory`.
    template<typename T>
    T* at(uint64_t physical) { return reinterpret_cast<T*>(static_cast<uint8_t*>(memory) + (physical - kPhysical)); }

    // The device takes the next available chain: its head, and its buffers.
    bool take(uint16_t& head, std::vector<virtio::Descriptor>& chain)
    {
        auto* avail = at<uint16_t>(queue.available_physical());
        if (avail[1] == device_seen)
            return false;
        head = avail[2 + (device_seen % size)];
        ++device_seen;
        chain.clear();
        auto* table = at<virtio::Descriptor>(queue.descriptors_physical());
        uint16_t index = head;
        for (int guard = 0; guard <= size; ++guard) {
            REQUIRE(index < size);
            chain.push_back(table[index]);
            if (!(table[index].flags & virtio::kDescNext))
                return true;
            index = table[index].next;
        }
        FAIL("a descriptor chain loops");
        return false;
    }

    // The device returns a chain through the used ring.
    void complete(uint32_t id, uint32_t length)
    {
        auto* used = at<uint16_t>(queue.used_physical());
        auto* elements = reinterpret_cast<virtio::UsedElement*>(used + 2);
        elements[device_used % size] = virtio::UsedElement { id, length };
        ++device_used;
        used[1] = device_used;
    }
};

// A read request: header (device reads), data (device writes), status (device writes).
std::vector<Buffer> request(uint64_t base)
{
    return { { base, 16, false }, { base + 0x1000, 512, true }, { base + 0x2000, 1, true } };
}

} // namespace

TEST_CASE("virtqueue: init lays out the three parts aligned and refuses bad sizes", "[virtio]")
{
    Rig rig(8);
    CHECK(rig.queue.descriptors_physical() == kPhysical);
    CHECK(rig.queue.available_physical() == kPhysical + 8 * 16);
    CHECK(rig.queue.used_physical() == kPhysical + 4096); // its own page
    CHECK(rig.queue.free_descriptors() == 8);
    CHECK(SplitQueue::bytes_for(256) == 8192 + 6 + 8 * 256);
    SplitQueue bad;
    alignas(4096) static uint8_t memory[4 * 4096];
    CHECK_FALSE(bad.init(memory, kPhysical, 0));
    CHECK_FALSE(bad.init(memory, kPhysical, 6));   // not a power of two
    CHECK_FALSE(bad.init(memory, kPhysical, 512)); // more than it tracks
    CHECK_FALSE(bad.init(memory, kPhysical + 8, 8));
    CHECK_FALSE(bad.init(memory + 4, kPhysical, 8));
    Completion done {};
    uint16_t head = 0;
    Buffer one { 0, 1, false };
    CHECK(bad.poll(done) == Status::BadArgument); // never initialized
    CHECK(bad.submit(&one, 1, head) == Status::BadArgument);
}

TEST_CASE("virtqueue: a request's chain reaches the device in order, with the right flags", "[virtio]")
{
    Rig rig(8);
    auto buffers = request(0x1'0000'0000);
    uint16_t head = 99;
    REQUIRE(rig.queue.submit(buffers.data(), 3, head) == Status::Ok);
    CHECK(rig.queue.free_descriptors() == 5);
    CHECK(rig.queue.in_flight() == 1);
    uint16_t seen = 0;
    std::vector<virtio::Descriptor> chain;
    REQUIRE(rig.take(seen, chain));
    CHECK(seen == head);
    REQUIRE(chain.size() == 3);
    CHECK(chain[0].address == 0x1'0000'0000);
    CHECK(chain[0].length == 16);
    CHECK(chain[0].flags == virtio::kDescNext);
    CHECK(chain[1].flags == (virtio::kDescNext | virtio::kDescWrite));
    CHECK(chain[1].length == 512);
    CHECK(chain[2].flags == virtio::kDescWrite); // the last: no NEXT
    Completion done {};
    CHECK(rig.queue.poll(done) == Status::Empty);
    rig.complete(seen, 513);
    REQUIRE(rig.queue.poll(done) == Status::Ok);
    CHECK(done.head == head);
    CHECK(done.length == 513);
    CHECK(rig.queue.free_descriptors() == 8);
    CHECK(rig.queue.in_flight() == 0);
    CHECK(rig.queue.poll(done) == Status::Empty);
}

TEST_CASE("virtqueue: descriptors run out (Full, nothing changed) and come back", "[virtio]")
{
    Rig rig(8);
    auto buffers = request(0x2000'0000);
    uint16_t heads[2];
    REQUIRE(rig.queue.submit(buffers.data(), 3, heads[0]) == Status::Ok);
    REQUIRE(rig.queue.submit(buffers.data(), 3, heads[1]) == Status::Ok);
    uint16_t third = 0;
    CHECK(rig.queue.submit(buffers.data(), 3, third) == Status::Full); // 2 left
    CHECK(rig.queue.free_descriptors() == 2);
    Buffer two[2] = { { 1, 1, false }, { 2, 2, true } };
    REQUIRE(rig.queue.submit(two, 2, third) == Status::Ok); // exactly what is left
    CHECK(rig.queue.free_descriptors() == 0);
    Buffer wrong_order[2] = { { 1, 1, true }, { 2, 2, false } };
    uint16_t ignored = 0;
    CHECK(rig.queue.submit(wrong_order, 2, ignored) == Status::BadArgument);
    CHECK(rig.queue.submit(two, 0, ignored) == Status::BadArgument);
    // The device completes the middle one first.
    uint16_t seen[3];
    std::vector<virtio::Descriptor> chain;
    for (uint16_t& head : seen)
        REQUIRE(rig.take(head, chain));
    rig.complete(seen[1], 0);
    Completion done {};
    REQUIRE(rig.queue.poll(done) == Status::Ok);
    CHECK(done.head == heads[1]);
    CHECK(rig.queue.free_descriptors() == 3);
    REQUIRE(rig.queue.submit(buffers.data(), 3, heads[1]) == Status::Ok); // its descriptors reused
    CHECK(rig.queue.free_descriptors() == 0);
}

TEST_CASE("virtqueue: many requests in flight, completed out of order, over the 16-bit wrap of idx", "[virtio]")
{
    Rig rig(16);
    std::map<uint16_t, uint64_t> in_flight; // head -> the request's tag (its header address)
    uint64_t submitted = 0, completed = 0;
    uint64_t seed = 12345;
    auto random = [&seed](uint64_t bound) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        return (seed >> 33) % bound;
    };
    std::vector<std::pair<uint16_t, uint64_t>> taken; // the device's backlog: head, tag
    // 70,000 requests: both idx fields wrap past 65535 at least once.
    while (completed < 70'000) {
        // Submit while there is room (1 to 3 buffers each).
        for (;;) {
            uint16_t count = static_cast<uint16_t>(1 + random(3));
            std::vector<Buffer> buffers;
            for (uint16_t i = 0; i < count; ++i)
                buffers.push_back({ (submitted << 16) | i, 64, i == count - 1 });
            uint16_t head = 0;
            Status status = rig.queue.submit(buffers.data(), count, head);
            if (status == Status::Full)
                break;
            REQUIRE(status == Status::Ok);
            REQUIRE(in_flight.count(head) == 0);
            in_flight[head] = submitted++;
        }
        // The device takes what is available, then completes a random part of its backlog in a random order.
        uint16_t head = 0;
        std::vector<virtio::Descriptor> chain;
        while (rig.take(head, chain)) {
            REQUIRE(in_flight.count(head) == 1);
            CHECK(chain[0].address >> 16 == in_flight[head]); // the chain is the request's own
            taken.push_back({ head, in_flight[head] });
        }
        uint64_t finishing = 1 + random(taken.size());
        for (uint64_t i = 0; i < finishing; ++i) {
            size_t pick = random(taken.size());
            rig.complete(taken[pick].first, static_cast<uint32_t>(taken[pick].second));
            taken.erase(taken.begin() + static_cast<long>(pick));
        }
        Completion done {};
        Status status;
        while ((status = rig.queue.poll(done)) == Status::Ok) {
            REQUIRE(in_flight.count(done.head) == 1);
            CHECK(done.length == static_cast<uint32_t>(in_flight[done.head]));
            in_flight.erase(done.head);
            ++completed;
        }
        REQUIRE(status == Status::Empty);
        REQUIRE(rig.queue.in_flight() == in_flight.size());
    }
    CHECK(rig.device_used == static_cast<uint16_t>(completed)); // wrapped
    CHECK(completed > 65'536);
}

TEST_CASE("virtqueue: a used ring the device corrupts is Corrupt, never followed", "[virtio]")
{
    Rig rig(8);
    auto buffers = request(0x3000'0000);
    uint16_t head = 0;
    REQUIRE(rig.queue.submit(buffers.data(), 3, head) == Status::Ok);
    Completion done {};
    SECTION("an id past the queue") {
        rig.complete(200, 0);
        CHECK(rig.queue.poll(done) == Status::Corrupt);
    }
    SECTION("an id that heads no chain in flight") {
        rig.complete(static_cast<uint32_t>(head + 1), 0);
        CHECK(rig.queue.poll(done) == Status::Corrupt);
    }
    SECTION("more completions than requests") {
        rig.device_used = 5;
        rig.complete(head, 0);
        CHECK(rig.queue.poll(done) == Status::Corrupt);
    }
    SECTION("the same chain twice") {
        rig.complete(head, 0);
        REQUIRE(rig.queue.poll(done) == Status::Ok);
        rig.complete(head, 0);
        CHECK(rig.queue.poll(done) == Status::Corrupt);
    }
    CHECK(rig.queue.free_descriptors() <= 8);
}

TEST_CASE("virtqueue: needs_notify follows the used ring's NO_NOTIFY flag", "[virtio]")
{
    Rig rig(8);
    CHECK(rig.queue.needs_notify());
    rig.at<uint16_t>(rig.queue.used_physical())[0] = virtio::kUsedNoNotify;
    CHECK_FALSE(rig.queue.needs_notify());
}

// ---- the PCI capabilities ----

namespace {

// A configuration space of 256 bytes, as dwords.
struct FakeConfig {
    uint32_t dwords[64] {};
    void put8(uint16_t offset, uint8_t value)
    {
        auto* bytes = reinterpret_cast<uint8_t*>(dwords);
        bytes[offset] = value;
    }
    void put32(uint16_t offset, uint32_t value) { dwords[offset / 4] = value; }
    // A virtio_pci_cap at `at`: next, type, bar, offset, length (+ multiplier).
    void cap(uint16_t at, uint8_t next, uint8_t type, uint8_t bar, uint32_t offset, uint32_t length, uint8_t cap_length = 16)
    {
        put32(at, uint32_t(virtio::kPciCapabilityVendor) | uint32_t(next) << 8 | uint32_t(cap_length) << 16 | uint32_t(type) << 24);
        put32(at + 4, bar);
        put32(at + 8, offset);
        put32(at + 12, length);
    }
    static uint32_t read(void* context, uint16_t offset)
    {
        REQUIRE(offset % 4 == 0);
        REQUIRE(offset < 256);
        return static_cast<FakeConfig*>(context)->dwords[offset / 4];
    }
};

// QEMU's virtio-blk-pci (transitional): MSI-X (id 0x11) first, then the
// five virtio structures in BAR 4.
FakeConfig qemu_blk()
{
    FakeConfig c;
    c.put32(0x00, 0x1001'1AF4);
    c.put32(0x04, 0x0010'0000); // status: capability list
    c.put32(0x34, 0x98);
    c.put32(0x98, 0x0000'8411); // MSI-X, next 0x84
    c.cap(0x84, 0x74, 5, 0, 0, 0, 20);       // PCI config access
    c.cap(0x74, 0x60, 4, 4, 0x3000, 0x1000); // device
    c.cap(0x50, 0x40, 3, 4, 0x1000, 0x1000); // ISR
    c.cap(0x40, 0x00, 1, 4, 0x0000, 0x1000); // common
    c.cap(0x60, 0x50, 2, 4, 0x3000, 0x1000, 20); // notify
    c.put32(0x60 + 16, 4); // notify_off_multiplier
    return c;
}

} // namespace

TEST_CASE("virtio pci: the capability walk finds QEMU's structures", "[virtio]")
{
    FakeConfig c = qemu_blk();
    virtio::Regions r {};
    REQUIRE(virtio::find_regions(FakeConfig::read, &c, r));
    CHECK(r.common.bar == 4);
    CHECK(r.common.offset == 0);
    CHECK(r.isr.offset == 0x1000);
    CHECK(r.notify.offset == 0x3000);
    CHECK(r.notify_multiplier == 4);
    CHECK(r.device.present);
    CHECK(r.device.offset == 0x3000);
    CHECK(r.isr.present);
}

TEST_CASE("virtio pci: broken capability lists end the walk with a clear no", "[virtio]")
{
    virtio::Regions r {};
    SECTION("no capability list") {
        FakeConfig c = qemu_blk();
        c.put32(0x04, 0);
        CHECK_FALSE(virtio::find_regions(FakeConfig::read, &c, r));
    }
    SECTION("a loop") {
        FakeConfig c = qemu_blk();
        c.cap(0x40, 0x98, 1, 4, 0, 0x1000); // back to the start
        CHECK(virtio::find_regions(FakeConfig::read, &c, r)); // found all before looping; the walk ends at 48
    }
    SECTION("a loop before the common structure") {
        FakeConfig c = qemu_blk();
        c.cap(0x50, 0x98, 3, 4, 0x1000, 0x1000);
        CHECK_FALSE(virtio::find_regions(FakeConfig::read, &c, r));
    }
    SECTION("a capability in the last bytes, a BAR past 5, a short notify") {
        FakeConfig c = qemu_blk();
        c.put32(0x34, 0xF8);
        // A structure 8 bytes from the end is skipped; the walk goes on to
        // the common structure only, and the notify and ISR ones are missing.
        c.put32(0xF8, uint32_t(virtio::kPciCapabilityVendor) | 0x40u << 8 | 16u << 16 | 2u << 24);
        CHECK_FALSE(virtio::find_regions(FakeConfig::read, &c, r));
        FakeConfig d = qemu_blk();
        d.cap(0x40, 0x00, 1, 7, 0, 0x1000); // common in BAR 7
        CHECK_FALSE(virtio::find_regions(FakeConfig::read, &d, r));
        FakeConfig e = qemu_blk();
        e.cap(0x60, 0x50, 2, 4, 0x3000, 0x1000, 16); // notify without its multiplier
        CHECK_FALSE(virtio::find_regions(FakeConfig::read, &e, r));
    }
}

TEST_CASE("virtio pci: reset_device writes 0 to device_status and sees it read back", "[virtio]")
{
    // A device left running by its last driver (ACKNOWLEDGE | DRIVER |
    // FEATURES_OK | DRIVER_OK) and its neighbours in the common structure.
    alignas(8) uint8_t common[virtio::common::kSize];
    for (size_t i = 0; i < sizeof(common); ++i)
        common[i] = 0xA5;
    common[virtio::common::kDeviceStatus] = virtio::kStatusAcknowledge | virtio::kStatusDriver
        | virtio::kStatusFeaturesOk | virtio::kStatusDriverOk;
    CHECK(virtio::reset_device(common, 1));
    CHECK(common[virtio::common::kDeviceStatus] == 0);
    CHECK(common[virtio::common::kDeviceStatus - 1] == 0xA5); // only device_status is written
    CHECK(common[virtio::common::kConfigGeneration] == 0xA5);
}

TEST_CASE("virtio pci: reset_device_paced pauses only while device_status is not 0, and gives up", "[virtio]")
{
    alignas(8) uint8_t common[virtio::common::kSize] = {};
    common[virtio::common::kDeviceStatus] = virtio::kStatusAcknowledge | virtio::kStatusDriverOk;
    int pauses = 0;
    CHECK(virtio::reset_device_paced(common, 100, [&] { ++pauses; }));
    CHECK(common[virtio::common::kDeviceStatus] == 0);
    CHECK(pauses == 0); // read back 0 at once: no pause
    common[virtio::common::kDeviceStatus] = virtio::kStatusDriverOk;
    CHECK_FALSE(virtio::reset_device_paced(common, 0, [&] { ++pauses; })); // no read allowed: not seen reset
    CHECK(pauses == 0);
}

// fat: the FAT file-system server (docs/storage.md, "The FAT server"). It
// mounts the disk the virtio-blk driver serves (BlockClient, a client of
// the block protocol) and serves the file protocol
// (libipc/protocols/file.hpp) from it with FileService, published as "fat"
// with RightMint: the registry gives each client a copy badged with its task
// id, by which FileService tells clients apart and bounds each one's open
// files (file_service.hpp). With the task list init gives it (tasks=list,
// at kTaskListHandle) it closes the files of clients that ended when a table
// is full; without it (a copy started by hand) they stay open.
//
// init starts it at boot, after virtio-blk, which serves only the fat init
// started (docs/security.md, "The disk"): a refusal (Denied: init has not
// named us yet, or a fat that held the disk is still ending) is asked
// again with backoff (connect_until_served); still refused after
// kRefusedPatienceMs, it exits with kExitRefused, so that init's supervision
// starts it again (a copy nobody supervises just ends). Without a disk it still serves,
// and every request is kNoVolume: one line at boot says why (virtio-blk's
// "no disk attached" when the PCI bus has no virtio-blk function; this
// server's when the driver does not serve or the mount fails), the rest of
// the system boots as before, and `ls` says there is no volume.
//
// Its IPC buffer is also its client buffer: a request's path or bytes are
// copied out of it before the volume, which may call the driver, sees them.
#include <stdint.h>

#include "block_client.hpp"
#include "fat_volume.hpp"
#include "file_service.hpp"
#include "libipc/protocols/registry.hpp"
#include "libvirtio/virtio_pci.hpp"
#include "microkernel/abi/task.hpp"
#include "microkernel/lib/utility.hpp" // placement new
#include "servers/pci/pci_protocol.hpp"
#include "user/runtime/herald.hpp"
#include "user/runtime/syscall.hpp"

namespace {

using namespace herald;
namespace file = ipc::file;

// The PCI ids virtio-blk drives (servers/virtio-blk/main.cpp; VIRTIO 1.1 §4.1.2).
constexpr uint16_t kVirtioBlkTransitional = 0x1001;
constexpr uint16_t kVirtioBlkModern = virtio::kModernDeviceBase + 2;
// How long the server waits for the driver to publish itself: it starts
// just before, but sets its device up first (a few ms; more under a loaded TCG).
constexpr uint32_t kDriverPatienceMs = 10'000;
constexpr uint64_t kBytesPerMiB = 1024 * 1024;
// A driver that refuses us (Denied: it serves only the fat init started,
// and one at a time) is asked again, the wait doubling from the first to
// the last step, for this long in all: init names its new fat just after
// starting it (so the first Info may come before), and a fat that held the
// disk may still be ending.
constexpr uint64_t kRefusedFirstWaitMs = 20;
constexpr uint64_t kRefusedLastWaitMs = 1'000;
constexpr uint64_t kRefusedPatienceMs = 30'000;
constexpr const char* kDriverName = "virtio-blk";
// The exit status of a fat the driver still refuses after kRefusedPatienceMs.
constexpr int64_t kExitRefused = 2;

// Where init puts the task list it gives (tasks=list: SpawnWith's handle).
constexpr ipc::Handle kTaskListHandle = abi::HandleFirstFree;

// Which clients still run: the kernel's task list. A list that cannot be
// read says every client runs (nothing is closed behind its back).
class KernelTasks final : public fat::FileService::Clients {
public:
    bool running(ipc::Badge badge) override
    {
        if (!m_listed) {
            m_count = user::syscall3(user::number_of(abi::SyscallNumber::TaskList), kTaskListHandle,
                reinterpret_cast<uint64_t>(m_tasks), kMaxTasks);
            m_listed = true;
        }
        if (m_count < 0)
            return true;
        for (int64_t i = 0; i < m_count; ++i) {
            if (m_tasks[i].task_id == badge)
                return m_tasks[i].state == abi::TaskState::Running;
        }
        return false;
    }
    // The next question reads the list again (once per request at most).
    void forget_list() { m_listed = false; }

private:
    static constexpr uint64_t kMaxTasks = 1024;
    abi::TaskListEntry m_tasks[kMaxTasks];
    int64_t m_count = -1;
    bool m_listed = false;
};

KernelTasks g_tasks;
fat::Volume g_volume;
fat::FileService g_service(g_volume, &g_tasks);
alignas(fat::BlockClient) unsigned char g_device_storage[sizeof(fat::BlockClient)];
uint8_t g_request_bytes[ipc::kMaxPayload];

// A copy of a request's bytes outside the IPC buffer.
ipc::Bytes copied(const ipc::Bytes& bytes)
{
    uint32_t length = bytes.length <= sizeof g_request_bytes ? bytes.length : 0;
    if (length)
        __builtin_memcpy(g_request_bytes, bytes.data, length);
    return ipc::Bytes { g_request_bytes, length };
}
template<typename Fixed>
ipc::WithBytes<Fixed> copied(const ipc::WithBytes<Fixed>& request)
{
    return { request.fixed, copied(request.bytes) };
}
template<typename Request>
const Request& copied(const Request& request)
{
    return request;
}

// FileService behind ipc::serve: the copy, and a log line for a corrupt image.
struct Server {
    template<typename Operation, typename Request>
    auto handle(Operation operation, const Request& request, ipc::Badge badge)
    {
        g_tasks.forget_list();
        auto result = g_service.handle(operation, copied(request), badge);
        if (result.is_error() && result.error() == file::kCorrupt)
            user::println("fat: the file system is corrupt (request {} of task {}): run fsck.fat on the image",
                Operation::label, badge);
        return result;
    }
};
Server g_server;

// Whether the PCI bus has a virtio-blk function at all (List is open to anyone).
bool disk_attached()
{
    ipc::Handle server = user::find_server("pci");
    if (server == abi::HandleNone)
        return false;
    ipc::Client<pci::Protocol> pci(user::ipc(), server);
    bool found = false;
    for (uint64_t index = 0; !found; ++index) {
        auto function = pci.call<pci::List>({ index });
        if (function.is_error())
            break;
        const auto& f = function.value();
        found = f.vendor == virtio::kVirtioVendor && (f.device_id == kVirtioBlkTransitional || f.device_id == kVirtioBlkModern);
    }
    (void)ipc::sys::handle_close(server);
    return found;
}

// Info until the driver serves us: Denied is tried again, with backoff,
// for kRefusedPatienceMs (one line says so); any other error at once.
ipc::Result<void> connect_until_served(fat::BlockClient& device)
{
    uint64_t waited_ms = 0;
    for (uint64_t wait_ms = kRefusedFirstWaitMs;; wait_ms = wait_ms * 2 < kRefusedLastWaitMs ? wait_ms * 2 : kRefusedLastWaitMs) {
        auto connected = device.connect();
        if (!connected.is_error() || connected.error() != ipc::Error::Denied || waited_ms >= kRefusedPatienceMs)
            return connected;
        if (waited_ms == kRefusedFirstWaitMs) // not at the first refusal: init may just not have named us yet
            user::println("fat: the disk's driver does not serve us (yet): asking again for up to {} s",
                kRefusedPatienceMs / 1000);
        (void)user::sleep_ms(wait_ms);
        waited_ms += wait_ms;
    }
}

enum class Mount : uint8_t {
    Mounted,
    NoVolume, // no disk, or none we can mount: serve kNoVolume
    Refused,  // the driver still refuses us: end, for init to start us again
};

// Mounts the disk; anything but Mounted comes with the one line that says why.
Mount mount_disk()
{
    if (!disk_attached())
        return Mount::NoVolume; // virtio-blk said so, in the one line a boot without a disk gets
    auto driver = ipc::registry::lookup_waiting(user::ipc(), abi::HandleRegistry, kDriverName, kDriverPatienceMs);
    if (driver.is_error()) {
        user::println("fat: the disk's driver (virtio-blk) is not serving: no files");
        return Mount::NoVolume;
    }
    auto* device = new (g_device_storage) fat::BlockClient(user::ipc(), abi::HandleRegistry, kDriverName, driver.value());
    if (auto connected = connect_until_served(*device); connected.is_error()) {
        if (connected.error() == ipc::Error::Denied) {
            user::println("fat: the disk's driver still refuses us after {} s (it serves only the fat init "
                          "started): exiting with status {}",
                kRefusedPatienceMs / 1000, kExitRefused);
            return Mount::Refused;
        }
        user::println("fat: the disk's driver does not answer Info: {}: no files", ipc::error_name(connected.error()));
        return Mount::NoVolume;
    }
    if (auto mounted = g_volume.mount(*device); mounted.is_error()) {
        user::println("fat: cannot mount the disk ({} sectors): {}: no files", device->sector_count(),
            fat::error_text(mounted.error()));
        return Mount::NoVolume;
    }
    fat::VolumeInfo info = g_volume.info();
    uint64_t cluster = info.bytes_per_cluster;
    user::println("fat: FAT{} volume, {} MiB, {} MiB free, {}-byte clusters{}: serving \"fat\"",
        info.type == fat::FatType::Fat32 ? 32 : 16, info.cluster_count * cluster / kBytesPerMiB,
        info.free_clusters * cluster / kBytesPerMiB, cluster, device->read_only() ? ", read-only" : "");
    return Mount::Mounted;
}

} // namespace

extern "C" int64_t herald_main(uint64_t)
{
    if (mount_disk() == Mount::Refused)
        return kExitRefused;
    auto endpoint = ipc::sys::endpoint_create();
    if (endpoint.is_error())
        return 3;
    auto for_clients = ipc::sys::handle_mint(endpoint.value(), abi::RightSend | abi::RightMint, 0);
    if (for_clients.is_error()
        || ipc::registry::publish(user::ipc(), abi::HandleRegistry, "fat", for_clients.value()).is_error()) {
        user::println("fat: cannot publish \"fat\"");
        return 3;
    }
    (void)ipc::sys::handle_close(for_clients.value());
    ipc::Error error = ipc::serve<file::Protocol>(user::ipc(), endpoint.value(), g_server);
    user::println("fat: stopped: {}", ipc::error_name(error));
    return 1;
}

// virtio-blk: the driver of a virtio block device (docs/drivers.md, "The
// virtio-blk driver"). It asks the PCI server for the first virtio-blk
// function (1af4:1001 transitional or 1af4:1042 modern) its manifest line
// grants, reads its virtio capabilities through ReadConfig, maps the BARs
// that hold them, negotiates features, gets DMA memory for one request
// queue and its request slots, gets an interrupt, and serves the block
// protocol (libipc/protocols/block.hpp) as "virtio-blk", to the task running
// `fat` alone, the one init started (client_policy.hpp; docs/security.md,
// "The disk"): every other
// caller is Denied. Its start argument kServeTestClients (the self-test and
// benchmark images, which start it themselves) also admits blk_checks and
// bench_disk. It learns who runs what from the task list init gives it
// (tasks=list, at kTaskListHandle).
//
// The interrupt: an MSI-X vector (the PCI server takes it from the kernel
// and writes the function's MSI-X table; the driver names the table entry
// as the queue's vector), or, when the function has no MSI-X or the
// argument's kArgumentNoMsix bit says not to use it, the line the
// function's INTx pin reaches, as the PCI server routes it (on q35 a GSI
// from 16, level-triggered). The log says which ("virtio-blk:
// interrupts: ...").
//
// Requests are answered on completion: a request saves its reply
// (IpcReplySave) and goes to the device; a second thread waits for the
// interrupt and Calls the server's own endpoint with the internal Poll
// request, so that every queue operation and reply happens on the main
// thread, with no lock. Until the first interrupt arrives the thread also
// looks every 5 ms (a vector or line that never fires still leaves a slow,
// working driver); with MSI-X or a level-triggered line, from the first
// interrupt on it only waits. Exits 2 when there is no device for it, 3
// when the device cannot be set up (each with a log line).
#include <stdint.h>

#include "blk_driver.hpp"
#include "client_policy.hpp"
#include "libipc/protocols/block.hpp"
#include "libipc/protocols/registry.hpp"
#include "libvirtio/virtio_pci.hpp"
#include "microkernel/abi/device.hpp"
#include "microkernel/abi/memory.hpp"
#include "servers/pci/pci_protocol.hpp"
#include "user/runtime/herald.hpp"
#include "user/runtime/syscall.hpp"
#include "user/runtime/thread.hpp"

namespace {

using namespace herald;
using user::number_of;

constexpr uint16_t kVirtioBlkTransitional = 0x1001;
constexpr uint16_t kVirtioBlkModern = virtio::kModernDeviceBase + 2; // device id 2 (§5.2)
constexpr uint64_t kRegistersAt = 0x20'0000'0000;                    // BAR b at + b x kBarSpacing
constexpr uint64_t kBarSpacing = 0x100'0000;
constexpr uint16_t kQueueSize = 64;
constexpr uint64_t kPollMs = 5;
constexpr uint64_t kInterruptBit = 1;
constexpr uint64_t kMsixEntry = 0; // the MSI-X table entry the request queue uses
// The interrupt thread's handle to our endpoint: not a task id (those count
// up from 1), so no client's badge can be it.
constexpr ipc::Badge kPollBadge = 1ull << 62;
// Where init puts the task list it gives (tasks=list: SpawnWith's handle).
constexpr ipc::Handle kTaskListHandle = abi::HandleFirstFree;
// The start argument's bit that admits the in-system test and benchmark
// clients too (tests/insystem/virtio_blk_tests.cpp, tests/bench).
constexpr uint64_t kServeTestClients = 1;
// The start argument's bit for a driver init restarts (init.manifest): with
// no disk it stays, asleep and unpublished, instead of ending (which would
// have init start it again and again, every boot without a disk).
constexpr uint64_t kStayWithoutDisk = 2;
constexpr uint64_t kAsleepMs = 1'000'000;
// fat only as the task init started for it (client_policy.hpp); the test
// clients by name (the self-tests start them, not init).
using Program = virtio_blk::ClientPolicy::Program;
constexpr Program kClients[] = { { "fat", true } };
constexpr Program kClientsWithTests[] = { { "fat", true }, { "blk_checks", false }, { "bench_disk", false } };
// The start argument's bit for INTx and polling, as before MSI-X (the
// self-test's third driver).
constexpr uint64_t kArgumentNoMsix = 4;

// The internal request: the interrupt thread's "look at the queue".
struct Poll {
    static constexpr uint32_t label = 100;
    struct Request {
        uint64_t interrupted; // the line fired (acknowledge it)
    };
    using Reply = ipc::Empty;
};
using ServerProtocol = ipc::Protocol<ipc::block::Info, ipc::block::Read, ipc::block::Write, ipc::block::Flush, Poll>;

int64_t call(abi::SyscallNumber number, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0)
{
    return user::syscall3(number_of(number), a1, a2, a3);
}

virtio::Transport g_device;
virtio::SplitQueue g_queue;
virtio_blk::Driver g_driver;
enum class InterruptMode { Polling, Line, Msix };
InterruptMode g_mode = InterruptMode::Polling;
bool g_msix_on;            // the PCI server turned MSI-X on: the function raises no INTx
ipc::Handle g_interrupt;   // HandleNone: polling only
ipc::Handle g_notification;
ipc::Handle g_poll_handle;
bool g_broken;             // the device broke the queue's rules: every request is kIoError
bool g_interrupted_once;   // said once in the log: the line works
uint64_t g_line;           // InterruptMode::Line: the line bound
// A line from abi::kFirstGsiLine on is a GSI, which the kernel routes
// level-triggered (docs/drivers.md, "Interrupts"): the device holds it
// until its ISR is read, so a completion while the line is masked is seen
// at the acknowledge. An ISA IRQ may be edge-routed: a masked edge is lost.
bool level_triggered() { return g_mode == InterruptMode::Line && g_line >= abi::kFirstGsiLine; }

void notify_device(void*) { g_device.notify(0); }

// The kernel's task list, for the client policy.
class KernelTasks final : public virtio_blk::ClientPolicy::Tasks {
public:
    bool running(uint64_t id, char (&name)[virtio_blk::ClientPolicy::kNameSize + 1]) override
    {
        int64_t count = call(abi::SyscallNumber::TaskList, kTaskListHandle, reinterpret_cast<uint64_t>(m_tasks), kMaxTasks);
        if (count < 0 && !m_said) {
            user::println("virtio-blk: cannot list the tasks (no tasks=list grant?): every client is Denied");
            m_said = true;
        }
        for (int64_t i = 0; i < count; ++i) {
            const abi::TaskListEntry& t = m_tasks[i];
            if (t.task_id != id || t.state != abi::TaskState::Running)
                continue;
            static_assert(sizeof(t.name) == virtio_blk::ClientPolicy::kNameSize);
            for (size_t j = 0; j < sizeof(t.name); ++j)
                name[j] = t.name[j];
            name[sizeof(t.name)] = '\0';
            return true;
        }
        return false;
    }

    // Asked inside a request's handler, whose bytes (a Write's sectors) are
    // still in our IPC buffer, which the registry's call and reply use: the
    // buffer is kept aside meanwhile (only for a client not admitted yet).
    uint64_t started_by_init(const char* program) override
    {
        auto name = ipc::registry::make_name(program);
        if (name.is_error())
            return 0;
        uint8_t* buffer = user::ipc().payload();
        __builtin_memcpy(m_request, buffer, sizeof m_request);
        auto reserved = ipc::Client<ipc::registry::Protocol>(user::ipc(), abi::HandleRegistry)
                            .call<ipc::registry::ReservedFor>(name.value());
        __builtin_memcpy(buffer, m_request, sizeof m_request);
        return reserved.is_error() ? 0 : reserved.value().task_id;
    }

private:
    static constexpr uint64_t kMaxTasks = 1024;
    abi::TaskListEntry m_tasks[kMaxTasks];
    uint8_t m_request[ipc::kMaxPayload];
    bool m_said = false;
};

KernelTasks g_tasks;
virtio_blk::ClientPolicy g_policy(kClients, 1);

// Whether `badge` may use the disk; its requests are Denied if not.
// A copy of fat that init did not start is told of in the log, once a
// task (not init's new fat asking before init named it: ReservedFor 0).
bool admitted(ipc::Badge badge)
{
    using Verdict = virtio_blk::ClientPolicy::Verdict;
    static ipc::Badge last_told;
    Verdict verdict = g_policy.check(badge, g_tasks);
    if (verdict == Verdict::NotInitsTask && badge != last_told && g_policy.last_inits_task() != 0) {
        user::println("virtio-blk: task {} runs fat, but init started task {} for the disk: refused", badge,
            g_policy.last_inits_task());
        last_told = badge;
    }
    return verdict == Verdict::Admitted;
}

struct ConfigReader {
    ipc::Client<pci::Protocol>* pci;
    uint64_t index;
};

uint32_t read_config(void* context, uint16_t offset)
{
    auto* reader = static_cast<ConfigReader*>(context);
    auto value = reader->pci->call<pci::ReadConfig>({ reader->index, offset });
    return value.is_error() ? 0 : static_cast<uint32_t>(value.value().value);
}

// Answers a saved reply; a caller that went away is nobody's loss.
void answer(ipc::Handle saved, const ipc::Result<ipc::Message>& message, uint32_t label)
{
    ipc::Message reply = message.is_error() ? ipc::make_error_reply(message.error(), label) : message.value();
    (void)user::ipc().reply_to(saved, reply);
}

void answer_error(ipc::Handle saved, ipc::Error error, uint32_t label) { answer(saved, ipc::Result<ipc::Message>(error), label); }

struct Server {
    ipc::Result<ipc::block::Info::Reply> handle(ipc::block::Info, const ipc::Empty&, ipc::Badge badge)
    {
        if (!admitted(badge))
            return ipc::Error::Denied;
        return g_driver.info();
    }

    ipc::Result<ipc::Bytes> handle(ipc::block::Read, const ipc::block::Read::Request& request, ipc::Badge badge)
    {
        if (!admitted(badge))
            return ipc::Error::Denied;
        if (g_broken)
            return ipc::block::kIoError;
        auto saved = user::ipc().save_reply();
        if (saved.is_error())
            return saved.error();
        auto started = g_driver.start_read(request, saved.value());
        if (started.is_error())
            answer_error(saved.value(), started.error(), ipc::block::Read::label);
        return ipc::Error::Deferred;
    }

    ipc::Result<ipc::Empty> handle(ipc::block::Write, const ipc::block::Write::Request& request, ipc::Badge badge)
    {
        if (!admitted(badge))
            return ipc::Error::Denied;
        if (g_broken)
            return ipc::block::kIoError;
        // The bytes are in our IPC buffer: start_write copies them into the
        // slot before anything else uses the buffer.
        auto saved = user::ipc().save_reply();
        if (saved.is_error())
            return saved.error();
        auto started = g_driver.start_write(request.fixed.sector, request.bytes.data, request.bytes.length, saved.value());
        if (started.is_error())
            answer_error(saved.value(), started.error(), ipc::block::Write::label);
        return ipc::Error::Deferred;
    }

    ipc::Result<ipc::Empty> handle(ipc::block::Flush, const ipc::Empty&, ipc::Badge badge)
    {
        if (!admitted(badge))
            return ipc::Error::Denied;
        if (g_broken)
            return ipc::block::kIoError;
        if (!(g_driver.info().flags & ipc::block::kFlagCanFlush))
            return ipc::Empty {}; // §5.2.6.2: a write is on the medium once it completed
        auto saved = user::ipc().save_reply();
        if (saved.is_error())
            return saved.error();
        auto started = g_driver.start_flush(saved.value());
        if (started.is_error())
            answer_error(saved.value(), started.error(), ipc::block::Flush::label);
        return ipc::Error::Deferred;
    }

    ipc::Result<ipc::Empty> handle(Poll, const Poll::Request& request, ipc::Badge badge)
    {
        if (badge != kPollBadge)
            return ipc::Error::Denied;
        if (g_mode != InterruptMode::Msix)
            (void)g_device.read_isr(); // clears it: the device lowers its line
        if (request.interrupted && g_interrupt != abi::HandleNone) {
            if (!g_interrupted_once && g_mode == InterruptMode::Msix)
                user::println("virtio-blk: the first interrupt arrived (MSI-X): no more polling");
            else if (!g_interrupted_once)
                user::println("virtio-blk: the first interrupt arrived (INTx line {}){}", g_line,
                    level_triggered() ? ": no more polling" : "");
            g_interrupted_once = true;
            // Before the queue is read: a completion after this point is a
            // new interrupt (MSI-X: remembered by the kernel until now).
            (void)call(abi::SyscallNumber::InterruptAck, g_interrupt);
        }
        virtio_blk::Driver::Finished done {};
        for (;;) {
            auto polled = g_driver.next_finished(done);
            if (polled == virtio_blk::Driver::Poll::Nothing)
                break;
            if (polled == virtio_blk::Driver::Poll::Corrupt) {
                give_up();
                break;
            }
            finish(done);
        }
        return ipc::Empty {};
    }

private:
    static void finish(const virtio_blk::Driver::Finished& done)
    {
        ipc::Handle saved = done.token;
        if (!done.ok) {
            answer_error(saved, done.error, done.label);
            return;
        }
        if (done.data) {
            answer(saved, ipc::encode(done.label, ipc::Bytes { done.data, static_cast<uint32_t>(done.length) },
                user::ipc().payload()), done.label);
            return;
        }
        answer(saved, ipc::encode(done.label, ipc::Empty {}, user::ipc().payload()), done.label);
    }

    static void give_up()
    {
        user::println("virtio-blk: the device broke the queue's rules: every request fails from now on");
        g_broken = true;
        g_device.reset();
        uint64_t token = 0;
        while (g_driver.take_any(token))
            answer_error(token, ipc::block::kIoError, 0);
    }
};

Server g_server;

// The interrupt thread: wait for the interrupt (or kPollMs), then have the
// main thread look at the queue. Once one interrupt has arrived the vector
// or line is known to work, and with MSI-X (the kernel remembers a message
// that comes before the acknowledge) or a level-triggered line (the device
// holds it until its ISR is read) none is lost: no more polling. An ISA
// line keeps the timeout (it may be edge-routed: masked edges are lost).
// Register-only calls: this thread has no IPC buffer.
int64_t interrupt_loop(uint64_t)
{
    bool heard = false;
    for (;;) {
        bool interrupted = false;
        if (g_interrupt != abi::HandleNone) {
            bool only_wait = heard && (g_mode == InterruptMode::Msix || level_triggered());
            auto bits = only_wait ? ipc::sys::wait(g_notification, abi::WaitMode::Forever)
                                  : ipc::sys::wait(g_notification, abi::WaitMode::Timeout, kPollMs);
            interrupted = !bits.is_error() && (bits.value() & kInterruptBit);
            heard |= interrupted;
        } else {
            (void)ipc::sys::sleep_ms(kPollMs);
        }
        ipc::Message poll = ipc::make_message(Poll::label);
        poll.words[0] = interrupted;
        if (ipc::sys::call(g_poll_handle, poll).is_error())
            return 1;
    }
}

constexpr int64_t kNoDevice = -1;
constexpr int64_t kNoneGranted = -2;

// The first granted virtio-blk function, claimed; its index, kNoDevice
// (the bus has none: no disk attached), or kNoneGranted.
int64_t claim_device(ipc::Client<pci::Protocol>& pci)
{
    int64_t none = kNoDevice;
    for (uint64_t index = 0;; ++index) {
        auto function = pci.call<pci::List>({ index });
        if (function.is_error())
            return none;
        const auto& f = function.value();
        if (f.vendor != virtio::kVirtioVendor || (f.device_id != kVirtioBlkTransitional && f.device_id != kVirtioBlkModern))
            continue;
        if (!pci.call<pci::Claim>({ index }).is_error())
            return static_cast<int64_t>(index);
        none = kNoneGranted;
    }
}

// Each BAR a region lives in, mapped once; the region's address, or 0.
volatile uint8_t* map_region(ipc::Client<pci::Protocol>& pci, uint64_t index, const virtio::Region& region, bool (&mapped)[6])
{
    uint64_t at = kRegistersAt + region.bar * kBarSpacing;
    if (!mapped[region.bar]) {
        auto bar = pci.call<pci::RequestBar>({ index, region.bar });
        if (bar.is_error() || call(abi::SyscallNumber::DeviceMemoryMap, bar.value().handle, at) != 0)
            return nullptr;
        mapped[region.bar] = true;
    }
    return reinterpret_cast<volatile uint8_t*>(at + region.offset);
}

// An MSI-X vector for the request queue, from the PCI server, bound to our
// notification: the table entry to name as the queue's vector, or
// kNoVector (then the function's INTx line, bind_line).
uint16_t bind_msix(ipc::Client<pci::Protocol>& pci, uint64_t index)
{
    auto vector = pci.call<pci::RequestFunctionMsix>({ index, kMsixEntry });
    if (vector.is_error()) {
        user::println("virtio-blk: no MSI-X vector: {}", ipc::error_name(vector.error()));
        return virtio::kNoVector;
    }
    if (call(abi::SyscallNumber::InterruptBind, vector.value().handle, g_notification, kInterruptBit) != 0) {
        user::println("virtio-blk: the MSI-X vector cannot be bound");
        (void)ipc::sys::handle_close(vector.value().handle);
        return virtio::kNoVector;
    }
    g_interrupt = vector.value().handle;
    g_mode = InterruptMode::Msix;
    return static_cast<uint16_t>(kMsixEntry);
}

// Everything up to DRIVER_OK; false (with a log line) if the device cannot be used.
bool set_up(ipc::Client<pci::Protocol>& pci, uint64_t index, bool use_msix)
{
    ConfigReader reader { &pci, index };
    virtio::Regions regions {};
    if (!virtio::find_regions(read_config, &reader, regions) || !regions.device.present) {
        user::println("virtio-blk: the device has no virtio 1.x capabilities");
        return false;
    }
    bool mapped[6] = {};
    volatile uint8_t* common = map_region(pci, index, regions.common, mapped);
    volatile uint8_t* notify = map_region(pci, index, regions.notify, mapped);
    volatile uint8_t* isr = map_region(pci, index, regions.isr, mapped);
    volatile uint8_t* device = map_region(pci, index, regions.device, mapped);
    if (!common || !notify || !isr || !device) {
        user::println("virtio-blk: cannot map the device's registers");
        return false;
    }
    g_device.attach(common, notify, regions.notify_multiplier, isr, device);
    uint64_t features = 0;
    if (g_device.negotiate(virtio_blk::kFeatureFlush | virtio_blk::kFeatureReadOnly, features) != virtio::Transport::Status::Ok) {
        user::println("virtio-blk: feature negotiation failed (no VIRTIO_F_VERSION_1?)");
        return false;
    }
    uint16_t size = g_device.queue_max_size(0);
    if (size == 0) {
        user::println("virtio-blk: the device has no request queue");
        return false;
    }
    size = size < kQueueSize ? size : kQueueSize;
    uint64_t queue_pages = (virtio::SplitQueue::bytes_for(size) + virtio_blk::kPage - 1) / virtio_blk::kPage;
    uint64_t pages = queue_pages + virtio_blk::Driver::kSlotBytes / virtio_blk::kPage;
    auto dma = pci.call<pci::RequestDma>({ pages });
    if (dma.is_error()) {
        user::println("virtio-blk: no DMA memory ({} pages): {}", pages, ipc::error_name(dma.error()));
        return false;
    }
    auto* memory = reinterpret_cast<uint8_t*>(dma.value().address);
    uint16_t vector = use_msix ? bind_msix(pci, index) : virtio::kNoVector;
    if (!g_queue.init(memory, dma.value().physical, size)
        || g_device.setup_queue(0, g_queue, vector) != virtio::Transport::Status::Ok) {
        user::println("virtio-blk: the device refused the request queue");
        return false;
    }
    if (vector != virtio::kNoVector && g_device.queue_vector(0) != vector) {
        // MSI-X is on (the device raises no INTx now) but the queue has no
        // vector: nothing interrupts, the thread polls.
        user::println("virtio-blk: the device refused MSI-X entry {} for its queue", vector);
        (void)ipc::sys::handle_close(g_interrupt);
        g_interrupt = abi::HandleNone;
        g_mode = InterruptMode::Polling;
    }
    g_msix_on = vector != virtio::kNoVector;
    // §5.2.4: capacity, in 512-byte sectors, is the configuration's first field.
    auto* words = reinterpret_cast<volatile uint32_t*>(device);
    uint64_t sectors = words[0] | static_cast<uint64_t>(words[1]) << 32;
    g_driver.init(&g_queue, memory + queue_pages * virtio_blk::kPage, dma.value().physical + queue_pages * virtio_blk::kPage,
        sectors, features, notify_device, nullptr);
    g_device.driver_ok();
    user::println("virtio-blk: {} sectors ({} KiB){}{}, queue of {}", sectors, sectors / 2,
        features & virtio_blk::kFeatureReadOnly ? ", read-only" : "", features & virtio_blk::kFeatureFlush ? ", flush" : "", size);
    return true;
}

// Without MSI-X: the line the function's INTx reaches, bound to our
// notification; none if the PCI server cannot route it or it cannot be
// bound (Busy: another driver's function shares it), and then the thread
// only polls.
void bind_line(ipc::Client<pci::Protocol>& pci, uint64_t index)
{
    auto line = pci.call<pci::RequestFunctionIrq>({ index });
    if (line.is_error()) {
        user::println("virtio-blk: no INTx line: {}",
            line.error() == pci::kNoRoute ? "the PCI server cannot route it" : ipc::error_name(line.error()));
        return;
    }
    abi::DeviceInfo info {};
    (void)call(abi::SyscallNumber::DeviceInfo, line.value().handle, reinterpret_cast<uint64_t>(&info));
    int64_t bound = call(abi::SyscallNumber::InterruptBind, line.value().handle, g_notification, kInterruptBit);
    if (bound != 0) {
        user::println("virtio-blk: INTx line {} cannot be bound: {}", info.first, ipc::error_name(ipc::error_from_status(bound)));
        (void)ipc::sys::handle_close(line.value().handle);
        return;
    }
    g_interrupt = line.value().handle;
    g_line = info.first;
    g_mode = InterruptMode::Line;
}

void log_mode()
{
    switch (g_mode) {
    case InterruptMode::Msix: {
        abi::DeviceInfo info {};
        (void)call(abi::SyscallNumber::DeviceInfo, g_interrupt, reinterpret_cast<uint64_t>(&info));
        user::println("virtio-blk: interrupts: MSI-X entry {}, vector {:#x} (polling every {} ms until the first arrives)",
            kMsixEntry, info.first, kPollMs);
        return;
    }
    case InterruptMode::Line:
        user::println("virtio-blk: interrupts: INTx line {}, {} (polling every {} ms {})", g_line,
            level_triggered() ? "level-triggered" : "an ISA IRQ", kPollMs, level_triggered() ? "until the first arrives" : "as well");
        return;
    case InterruptMode::Polling: user::println("virtio-blk: interrupts: none: polling every {} ms", kPollMs); return;
    }
}

} // namespace

extern "C" int64_t herald_main(uint64_t argument)
{
    if (argument & kServeTestClients)
        g_policy = virtio_blk::ClientPolicy(kClientsWithTests, sizeof(kClientsWithTests) / sizeof(kClientsWithTests[0]));
    ipc::Handle pci_handle = user::find_server("pci");
    if (pci_handle == abi::HandleNone) {
        user::println("virtio-blk: no pci server");
        return 2;
    }
    ipc::Client<pci::Protocol> pci(user::ipc(), pci_handle);
    int64_t index = claim_device(pci);
    if (index == kNoDevice) {
        // init starts us at every boot: this is the line that says a boot has no disk
        // (the file server, servers/fat, stays silent then).
        user::println("virtio-blk: no disk attached (no virtio-blk device on the PCI bus): no files");
        while (argument & kStayWithoutDisk)
            (void)ipc::sys::sleep_ms(kAsleepMs);
        return 2;
    }
    if (index < 0) {
        user::println("virtio-blk: no virtio-blk device granted to it");
        return 2;
    }
    auto notification = ipc::sys::notification_create();
    if (notification.is_error())
        return 3;
    g_notification = notification.value();
    g_interrupt = abi::HandleNone;
    if (!set_up(pci, static_cast<uint64_t>(index), !(argument & kArgumentNoMsix)))
        return 3;
    if (g_mode == InterruptMode::Polling && !g_msix_on)
        bind_line(pci, static_cast<uint64_t>(index));
    log_mode();

    auto endpoint = ipc::sys::endpoint_create();
    if (endpoint.is_error())
        return 3;
    auto poll = ipc::sys::handle_mint(endpoint.value(), abi::RightSend, kPollBadge);
    // With RightMint: the registry hands each client a copy badged with its
    // task id, which the client policy looks up.
    auto for_clients = ipc::sys::handle_mint(endpoint.value(), abi::RightSend | abi::RightMint, 0);
    if (poll.is_error() || for_clients.is_error()
        || ipc::registry::publish(user::ipc(), abi::HandleRegistry, "virtio-blk", for_clients.value()).is_error()) {
        user::println("virtio-blk: cannot publish \"virtio-blk\"");
        return 3;
    }
    (void)ipc::sys::handle_close(for_clients.value());
    g_poll_handle = poll.value();
    if (!user::thread_create(interrupt_loop, 0)) {
        user::println("virtio-blk: no interrupt thread");
        return 3;
    }
    user::println("virtio-blk: serving");
    ipc::Error error = ipc::serve<ServerProtocol>(user::ipc(), endpoint.value(), g_server);
    user::println("virtio-blk: stopped: {}", ipc::error_name(error));
    return 1;
}

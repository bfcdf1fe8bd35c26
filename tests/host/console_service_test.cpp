// ConsoleService (servers/console/console_service.hpp) on the host, driven
// through libipc's dispatch exactly as both placements drive it (the ring-3
// server's serve loop and the kernel's in-kernel call), with a fake backend
// standing in for the UART and the subscribers' notifications.
#include "servers/console/console_service.hpp"
#include "microkernel/abi/memory.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <deque>
#include <set>
#include <string>
#include <vector>

using namespace herald;
using namespace herald::console;
namespace proto = ipc::console;
using ipc::Error;

namespace {

class FakeBackend final : public Backend {
public:
    std::vector<std::string> writes;    // one entry per write(): what came out in one piece
    std::deque<uint8_t> uart;           // bytes the UART holds
    std::set<ipc::Handle> notifications; // handles keep() accepts
    std::set<Subscriber> gone;          // subscribers whose waiter has ended
    std::vector<std::pair<Subscriber, uint64_t>> signals;
    std::vector<Subscriber> dropped;

    void write(const uint8_t* bytes, size_t length) override
    {
        writes.emplace_back(reinterpret_cast<const char*>(bytes), length);
    }
    bool receive(uint8_t& byte) override
    {
        if (uart.empty())
            return false;
        byte = uart.front();
        uart.pop_front();
        return true;
    }
    ipc::Result<Subscriber> keep(ipc::Handle handle) override
    {
        if (!notifications.count(handle))
            return Error::BadHandle;
        return Subscriber { handle + 1000 }; // the backend's own name for it
    }
    bool signal(Subscriber subscriber, uint64_t bits) override
    {
        if (gone.count(subscriber))
            return false;
        signals.emplace_back(subscriber, bits);
        return true;
    }
    void drop(Subscriber subscriber) override { dropped.push_back(subscriber); }
};

struct Fixture {
    FakeBackend backend;
    ConsoleService service;
    uint8_t payload[ipc::kMaxPayload] {};

    Fixture() { service.init(backend); }

    // One request through dispatch; the reply (its payload in `payload`)
    // and whatever handle nobody claimed.
    template<typename Op>
    ipc::Message call(const typename Op::Request& request, ipc::Handle* unclaimed = nullptr)
    {
        ipc::Message in = ipc::encode(Op::label, request, payload).value();
        ipc::Message out;
        ipc::Handle left = ipc::dispatch<proto::Protocol>(in, payload, service, out);
        if (unclaimed)
            *unclaimed = left;
        return out;
    }

    template<typename Op>
    ipc::Result<typename Op::Reply> reply_of(const typename Op::Request& request)
    {
        ipc::Message out = call<Op>(request);
        return ipc::decode_reply<Op>(out, payload);
    }

    std::string read(uint64_t max)
    {
        auto got = reply_of<proto::Read>({ max });
        REQUIRE(!got.is_error());
        return std::string(reinterpret_cast<const char*>(got.value().data), got.value().length);
    }
};

ipc::Bytes bytes_of(const std::string& text)
{
    return ipc::Bytes { reinterpret_cast<const uint8_t*>(text.data()), static_cast<uint32_t>(text.size()) };
}

} // namespace

TEST_CASE("console service: a Write goes out whole, in one piece", "[console_service]")
{
    Fixture f;
    auto written = f.reply_of<proto::Write>(bytes_of("hello\nworld\n"));
    REQUIRE(!written.is_error());
    CHECK(written.value().written == 12);
    REQUIRE(f.backend.writes.size() == 1);
    CHECK(f.backend.writes[0] == "hello\nworld\n"); // the backend turns '\n' into CR LF

    std::string longest(ipc::kMaxPayload, 'x');
    longest[100] = '\0'; // bytes, not a C string
    written = f.reply_of<proto::Write>(bytes_of(longest));
    REQUIRE(!written.is_error());
    CHECK(written.value().written == ipc::kMaxPayload);
    REQUIRE(f.backend.writes.size() == 2);
    CHECK(f.backend.writes[1] == longest);

    written = f.reply_of<proto::Write>(ipc::Bytes {});
    REQUIRE(!written.is_error());
    CHECK(written.value().written == 0);
}

TEST_CASE("console service: Read gives buffered input in order and never waits", "[console_service]")
{
    Fixture f;
    CHECK(f.read(16).empty()); // nothing typed: an empty answer at once
    for (char c : std::string("ls\r"))
        f.backend.uart.push_back(static_cast<uint8_t>(c));
    f.service.input_arrived();
    CHECK(f.backend.uart.empty());
    CHECK(f.service.buffered() == 3);
    CHECK(f.read(0).empty());
    CHECK(f.read(2) == "ls");
    CHECK(f.read(100) == "\r");
    CHECK(f.read(100).empty());
}

TEST_CASE("console service: a full input ring leaves the rest in the UART, and Read takes it", "[console_service]")
{
    Fixture f;
    constexpr size_t kExtra = 3000; // more than the ring, more than one Read
    constexpr size_t kTotal = proto::kInputBuffer + kExtra;
    for (size_t i = 0; i < kTotal; ++i)
        f.backend.uart.push_back(static_cast<uint8_t>(i % 251));
    f.service.input_arrived();
    CHECK(f.service.buffered() == proto::kInputBuffer);
    CHECK(f.backend.uart.size() == kExtra); // nothing dropped: it waits in the UART
    std::string got;
    for (int reads = 0; reads < 10 && got.size() < kTotal; ++reads)
        got += f.read(500);
    REQUIRE(got.size() == kTotal);
    for (size_t i = 0; i < got.size(); ++i)
        REQUIRE(static_cast<uint8_t>(got[i]) == i % 251);
    CHECK(f.backend.uart.empty());
    CHECK(f.read(100).empty());
}

TEST_CASE("console service: subscribers are signalled on input, and dead ones dropped", "[console_service]")
{
    Fixture f;
    f.backend.notifications = { 5, 6 };
    ipc::Handle unclaimed = 0;
    f.call<proto::Subscribe>(ipc::WithHandle<> { {}, 5 }, &unclaimed);
    CHECK(unclaimed == 0); // the service took it
    f.call<proto::Subscribe>(ipc::WithHandle<> { {}, 6 });
    CHECK(f.service.subscribers() == 2);

    f.service.input_arrived(); // no byte: nobody is told
    CHECK(f.backend.signals.empty());

    f.backend.uart.push_back('a');
    f.service.input_arrived();
    REQUIRE(f.backend.signals.size() == 2);
    for (auto& [subscriber, bits] : f.backend.signals)
        CHECK(bits == proto::kInputBit);

    f.backend.gone.insert(1005);
    f.backend.signals.clear();
    f.backend.uart.push_back('b');
    f.service.input_arrived();
    REQUIRE(f.backend.signals.size() == 1);
    CHECK(f.backend.signals[0].first == 1006);
    CHECK(f.backend.dropped == std::vector<Subscriber> { 1005 });
    CHECK(f.service.subscribers() == 1);
}

TEST_CASE("console service: Subscribe refuses what names no notification, and a full table", "[console_service]")
{
    Fixture f;
    ipc::Handle unclaimed = 0;
    ipc::Message out = f.call<proto::Subscribe>(ipc::WithHandle<> { {}, 9 }, &unclaimed);
    CHECK(ipc::decode_reply<proto::Subscribe>(out, f.payload).error() == Error::BadHandle);
    CHECK(unclaimed == 9); // not the service's: the caller of dispatch closes it (ring 3) or leaves it (ring 0)
    CHECK(f.service.subscribers() == 0);

    for (ipc::Handle h = 10; h < 10 + proto::kMaxSubscribers + 1; ++h)
        f.backend.notifications.insert(h);
    for (ipc::Handle h = 10; h < 10 + proto::kMaxSubscribers; ++h)
        REQUIRE(!f.reply_of<proto::Subscribe>(ipc::WithHandle<> { {}, h }).is_error());
    ipc::Handle last = 10 + proto::kMaxSubscribers;
    auto full = f.reply_of<proto::Subscribe>(ipc::WithHandle<> { {}, last });
    REQUIRE(full.is_error());
    CHECK(full.error() == proto::kTooManySubscribers);

    f.backend.gone.insert(1010); // one subscriber's task ended: its place is free again
    CHECK(!f.reply_of<proto::Subscribe>(ipc::WithHandle<> { {}, last }).is_error());
    CHECK(f.service.subscribers() == proto::kMaxSubscribers);
}

TEST_CASE("console service: malformed requests get error replies", "[console_service]")
{
    Fixture f;
    ipc::Message out;

    ipc::Message read_with_payload = ipc::make_message(proto::Read::label);
    read_with_payload.payload_length = 10;
    ipc::dispatch<proto::Protocol>(read_with_payload, f.payload, f.service, out);
    CHECK(ipc::decode_reply<proto::Read>(out, f.payload).error() == Error::BadMessage);

    ipc::Message subscribe_without_handle = ipc::make_message(proto::Subscribe::label);
    ipc::dispatch<proto::Protocol>(subscribe_without_handle, f.payload, f.service, out);
    CHECK(ipc::decode_reply<proto::Subscribe>(out, f.payload).error() == Error::BadMessage);

    ipc::Message too_long = ipc::make_message(proto::Write::label);
    too_long.payload_length = ipc::kMaxPayload + 1;
    ipc::dispatch<proto::Protocol>(too_long, f.payload, f.service, out);
    CHECK(ipc::decode_reply<proto::Write>(out, f.payload).error() == Error::BadMessage);
    CHECK(f.backend.writes.empty());

    // The fault-injection label from a task (no kernel badge) is just a label
    // the protocol does not have.
    ipc::Message fault = ipc::make_message(abi::kFaultInjectionLabel);
    fault.badge = 42;
    ipc::dispatch<proto::Protocol>(fault, f.payload, f.service, out);
    CHECK(ipc::is_error_reply(out));
    CHECK(static_cast<int64_t>(out.words[0]) == static_cast<int64_t>(Error::UnknownLabel));
}

TEST_CASE("console service: kernel messages other than fault injection get no answer", "[console_service]")
{
    Fixture f;
    ipc::Message reply;
    ipc::Message other = ipc::make_message(abi::kPageFaultLabel);
    other.badge = abi::kKernelBadge;
    CHECK(f.service.on_kernel_message(other, reply) == ipc::KernelMessage::NoAnswer);
    ipc::Message forged = ipc::make_message(abi::kFaultInjectionLabel);
    forged.badge = 7; // no kernel badge: not honoured (it would fault)
    CHECK(f.service.on_kernel_message(forged, reply) == ipc::KernelMessage::NoAnswer);
}

// The line being typed (Echo, open_line.hpp): another task's output that
// arrives meanwhile goes on a line of its own and the typed line is drawn
// again below it. The flake this fixes: rtc's first line inside the shell's
// echo of "run sleep 500".
TEST_CASE("console service: output during a typed line goes on its own line, and the line is drawn again", "[console_service]")
{
    Fixture f;
    auto echo = [&](const std::string& text) { REQUIRE(!f.reply_of<proto::Echo>(bytes_of(text)).is_error()); };
    auto write = [&](const std::string& text) { REQUIRE(!f.reply_of<proto::Write>(bytes_of(text)).is_error()); };
    auto all = [&] {
        std::string out;
        for (auto& piece : f.backend.writes)
            out += piece;
        return out;
    };

    echo("herald> ");
    echo("r");
    write("rtc: serving\n");
    CHECK(f.backend.writes.back() == "\nrtc: serving\nherald> r"); // one piece: nothing between
    echo("u");
    echo("n");
    write("kv: ready\n");
    echo(" x");
    echo("\b \b"); // an erased character is not drawn again
    write("pci: 3 functions\n");
    echo("\r\n");
    write("after the line\n"); // no line open: as it comes
    CHECK(all() == "herald> r\nrtc: serving\nherald> run\nkv: ready\nherald> run x\b \b\npci: 3 functions\nherald> run \r\nafter the line\n");
}

TEST_CASE("console service: output that does not end its line leaves the typed line to be drawn later", "[console_service]")
{
    Fixture f;
    auto echo = [&](const std::string& text) { REQUIRE(!f.reply_of<proto::Echo>(bytes_of(text)).is_error()); };
    auto write = [&](const std::string& text) { REQUIRE(!f.reply_of<proto::Write>(bytes_of(text)).is_error()); };
    echo("herald> ls");
    write("half ");
    CHECK(f.backend.writes.back() == "\nhalf ");
    write("a line\n");
    CHECK(f.backend.writes.back() == "a line\nherald> ls");
    write("part");
    echo("x"); // the typing goes on below the other output, not after it
    CHECK(f.backend.writes.back() == "\nherald> lsx");

    uint8_t log[] = "herald: a kernel line\n";
    f.service.write_output(log, sizeof(log) - 1); // the ring-3 console's kernel log
    CHECK(f.backend.writes.back() == "\nherald: a kernel line\nherald> lsx");
    f.service.write_output(log, 0);
    CHECK(f.backend.writes.back() == "\nherald: a kernel line\nherald> lsx"); // nothing written
}

TEST_CASE("open line: the model keeps what the terminal shows", "[console_service]")
{
    OpenLine line;
    auto follow = [&](const std::string& text) { line.follow(reinterpret_cast<const uint8_t*>(text.data()), text.size()); };
    auto shown = [&] { return std::string(reinterpret_cast<const char*>(line.shown()), line.length()); };
    CHECK(!line.is_open());
    follow("herald> ");
    CHECK(line.is_open());
    follow("ab\a"); // the bell shows nothing
    follow("\b \b\b \bz");
    CHECK(shown() == "herald> z");
    follow("\b\b\b\b\b\b\b\b\b\b\b\b"); // more backspaces than shown characters
    CHECK(shown().empty());
    CHECK(line.is_open());
    follow("^C\r\n");
    CHECK(!line.is_open());
    CHECK(shown().empty());
    follow(std::string(OpenLine::kMaxLength + 50, 'x'));
    CHECK(line.length() == OpenLine::kMaxLength);
}

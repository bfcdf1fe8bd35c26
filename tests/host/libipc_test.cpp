// libipc (libipc/include/libipc): results, messages, typed protocols, client
// stubs, server dispatch and the serve loop, over the fake transports of
// libipc/testing/fake_transports.hpp that stand in for the kernel: one runs
// the server synchronously inside call(), one replays a script of incoming
// messages, and one connects a client thread to a server thread through a
// blocking in-process endpoint.
#include "libipc/protocol.hpp"
#include "libipc/protocols/echo.hpp"
#include "libipc/protocols/registry.hpp"
#include "libipc/testing/fake_transports.hpp"

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using ipc::Bytes;
using ipc::Error;
using ipc::Message;
using ipc::Result;
using ipc::Shape;
namespace echo = ipc::echo;

namespace {

// The fake transports (FakeTransport, ScriptedTransport, ThreadedEndpoint)
// come from libipc/testing/fake_transports.hpp.
using namespace ipc::testing;

Bytes bytes_of(const std::string& text) { return Bytes { reinterpret_cast<const uint8_t*>(text.data()), static_cast<uint32_t>(text.size()) }; }
std::string string_of(const Bytes& bytes) { return std::string(reinterpret_cast<const char*>(bytes.data), bytes.length); }

// ---- a second protocol: the other shapes, and handlers that fail ----

struct Store {
    static constexpr uint32_t label = 10;
    struct Key {
        uint64_t key;
    };
    using Request = ipc::WithBytes<Key>;
    struct Reply {
        uint32_t length;
        uint32_t checksum;
    };
};

struct Table {
    static constexpr uint32_t label = 11;
    struct Request {
        static constexpr bool ipc_payload = true;
        uint64_t values[512]; // the whole 4096-byte payload
    };
    struct Reply {
        uint64_t total;
    };
};

struct Nothing {
    static constexpr uint32_t label = 12;
    using Request = ipc::Empty;
    using Reply = ipc::Empty;
};

using Storage = ipc::Protocol<Store, Table, Nothing>;

constexpr Error kFull = ipc::protocol_error(3);

struct StorageHandler {
    Result<Store::Reply> handle(Store, const Store::Request& request, ipc::Badge badge)
    {
        last_badge = badge;
        if (request.fixed.key == 0)
            return Error::NotFound;
        if (request.fixed.key == 666)
            return kFull;
        uint32_t checksum = 0;
        for (uint32_t i = 0; i < request.bytes.length; ++i)
            checksum = checksum * 31 + request.bytes.data[i];
        return Store::Reply { request.bytes.length, checksum };
    }
    Result<Table::Reply> handle(Table, const Table::Request& request, ipc::Badge)
    {
        uint64_t total = 0;
        for (uint64_t value : request.values)
            total += value;
        return Table::Reply { total };
    }
    Result<ipc::Empty> handle(Nothing, const ipc::Empty&, ipc::Badge)
    {
        ++nothings;
        return ipc::Empty {};
    }
    ipc::Badge last_badge = 0;
    int nothings = 0;
};

// An operation the echo server does not know.
struct Shout {
    static constexpr uint32_t label = 99;
    struct Request {
        uint64_t volume;
    };
    using Reply = ipc::Empty;
};
using EchoPlus = ipc::Protocol<echo::Ping, echo::Sum, echo::Reverse, Shout>;

// ---- compile-time checks: what can travel, and what is a protocol ----

struct Padded {
    uint32_t a;
    uint64_t b; // 4 bytes of padding before it
};
struct Floating {
    double value;
};
struct NotTrivial {
    NotTrivial(const NotTrivial&) { }
    uint64_t value;
};
struct EightWords {
    uint64_t words[8];
};
struct NineWords {
    uint64_t words[9];
};
struct NineWordsInPayload {
    static constexpr bool ipc_payload = true;
    uint64_t words[9];
};
struct TooBigForPayload {
    static constexpr bool ipc_payload = true;
    uint8_t bytes[ipc::kMaxPayload + 1];
};

static_assert(ipc::shape_of<ipc::Empty>() == Shape::Words);
static_assert(ipc::shape_of<EightWords>() == Shape::Words);
static_assert(ipc::shape_of<NineWords>() == Shape::Invalid);
static_assert(ipc::shape_of<NineWordsInPayload>() == Shape::Payload);
static_assert(ipc::shape_of<Table::Request>() == Shape::Payload);
static_assert(ipc::shape_of<TooBigForPayload>() == Shape::Invalid);
static_assert(ipc::shape_of<Bytes>() == Shape::Bytes);
static_assert(ipc::shape_of<Store::Request>() == Shape::WordsAndBytes);
static_assert(ipc::shape_of<ipc::WithBytes<NineWords>>() == Shape::Invalid);
static_assert(ipc::shape_of<Padded>() == Shape::Invalid);
static_assert(ipc::shape_of<Floating>() == Shape::Invalid);
static_assert(ipc::shape_of<NotTrivial>() == Shape::Invalid);
static_assert(ipc::Encodable<echo::Ping::Request> && ipc::Encodable<echo::Sum::Reply>);
static_assert(!ipc::Encodable<NineWords> && !ipc::Encodable<Padded>);
static_assert(sizeof(echo::Sum::Request) <= ipc::kMessageWordBytes);

struct NoReply {
    static constexpr uint32_t label = 1;
    struct Request {
        uint64_t value;
    };
};
struct UsesErrorLabel {
    static constexpr uint32_t label = ipc::kErrorLabel;
    using Request = ipc::Empty;
    using Reply = ipc::Empty;
};
struct SendsTooMuch {
    static constexpr uint32_t label = 5;
    using Request = NineWords;
    using Reply = ipc::Empty;
};
struct AlsoLabelOne {
    static constexpr uint32_t label = 1;
    using Request = ipc::Empty;
    using Reply = ipc::Empty;
};
struct WideLabel {
    static constexpr uint64_t label = 1; // must be uint32_t, like the ABI's
    using Request = ipc::Empty;
    using Reply = ipc::Empty;
};

static_assert(ipc::Operation<echo::Ping> && ipc::Operation<echo::Reverse> && ipc::Operation<Store>);
static_assert(!ipc::Operation<NoReply>);
static_assert(!ipc::Operation<UsesErrorLabel>);
static_assert(!ipc::Operation<SendsTooMuch>);
static_assert(!ipc::Operation<WideLabel>);
static_assert(echo::Protocol::is_valid && Storage::is_valid && EchoPlus::is_valid);
static_assert(!ipc::Protocol<echo::Ping, AlsoLabelOne>::is_valid);
static_assert(!ipc::Protocol<echo::Ping, SendsTooMuch>::is_valid);
static_assert(echo::Protocol::operation_count == 4);
static_assert(echo::Protocol::contains<echo::Sum> && !echo::Protocol::contains<Shout>);

// Result and Message are usable in constant expressions (the ABI's
// MessageInfo too).
static_assert(Result<int>(5).value() == 5);
static_assert(Result<int>(Error::BadHandle).error() == Error::BadHandle);
static_assert(!Result<void>().is_error());
static_assert(ipc::encode_info(ipc::make_message(3)).value() == 3);
static_assert(herald::abi::MessageInfo::kReservedBits == 0xFFFE'E000'0000'0000ull);

Result<int> doubled(Result<int> input)
{
    int value = IPC_TRY(input);
    return value * 2;
}

Result<void> checked(Result<void> input)
{
    IPC_TRY(input);
    return {};
}

} // namespace

TEST_CASE("libipc results hold a value or an error, and IPC_TRY propagates", "[libipc]")
{
    CHECK(doubled(21).value() == 42);
    CHECK(doubled(Error::PeerGone).error() == Error::PeerGone);
    CHECK_FALSE(checked({}).is_error());
    CHECK(checked(Error::NoRights).error() == Error::NoRights);

    Result<Message> message = ipc::make_message(9);
    CHECK(message.has_value());
    CHECK(message.value().label == 9);
    message = Error::TimedOut;
    CHECK(message.is_error());

    // Kernel statuses become the same Error, and every Error has a name.
    CHECK(ipc::error_from_status(-7) == Error::PeerGone);
    CHECK(std::string(ipc::error_name(Error::UnknownLabel)) == "unknown label");
    CHECK(std::string(ipc::error_name(ipc::protocol_error(2))) == "protocol error");
    CHECK(static_cast<int64_t>(ipc::protocol_error(0)) == ipc::kFirstProtocolError);
    CHECK(static_cast<int64_t>(kFull) == ipc::kFirstProtocolError - 3);
}

TEST_CASE("libipc MessageInfo round trips and refuses reserved bits", "[libipc]")
{
    using herald::abi::MessageInfo;
    for (uint32_t label : { 0u, 1u, 0x1234'5678u, 0xFFFF'FFFEu, ipc::kErrorLabel }) {
        for (uint32_t length : { 0u, 1u, 64u, 4095u, 4096u }) {
            for (bool transfer : { false, true }) {
                Message message = ipc::make_message(label);
                message.payload_length = length;
                message.transfer_handle = transfer;
                auto raw = ipc::encode_info(message);
                REQUIRE_FALSE(raw.is_error());
                CHECK((raw.value() & MessageInfo::kReservedBits) == 0);
                auto abi = MessageInfo::decode(raw.value());
                CHECK(abi.label == label);
                CHECK(abi.payload_length == length);
                CHECK(abi.transfer_handle == transfer);
                CHECK(abi.encode() == raw.value());

                Message decoded;
                REQUIRE_FALSE(ipc::decode_info(raw.value(), decoded).is_error());
                CHECK(decoded.label == label);
                CHECK(decoded.payload_length == length);
                CHECK(decoded.transfer_handle == transfer);
            }
        }
    }

    // Every bit of RSI: a reserved one makes the message bad.
    for (unsigned bit = 0; bit < 64; ++bit) {
        uint64_t raw = 1ull << bit;
        bool reserved = (raw & MessageInfo::kReservedBits) != 0;
        bool expected_reserved = (bit >= 45 && bit <= 47) || bit >= 49;
        CHECK(reserved == expected_reserved);
        Message decoded;
        auto result = ipc::decode_info(raw, decoded);
        CHECK(result.is_error() == reserved);
        if (reserved)
            CHECK(result.error() == Error::BadMessage);
    }

    // The length field holds 13 bits, but only 0..4096 are allowed: too long
    // is refused rather than masked into a wrong, shorter length.
    Message too_long = ipc::make_message(1);
    too_long.payload_length = ipc::kMaxPayload + 1;
    CHECK(ipc::encode_info(too_long).error() == Error::BadLength);
    too_long.payload_length = 0x2000; // would mask to 0
    CHECK(ipc::encode_info(too_long).error() == Error::BadLength);
    Message decoded;
    CHECK(ipc::decode_info(MessageInfo { 1, 4097, false }.encode(), decoded).error() == Error::BadMessage);
    CHECK(ipc::decode_info(MessageInfo { 1, 0x1FFF, false }.encode(), decoded).error() == Error::BadMessage);
}

TEST_CASE("libipc encodes and decodes every echo operation", "[libipc]")
{
    std::array<uint8_t, ipc::kMaxPayload> payload {};

    SECTION("Ping: one word")
    {
        auto message = ipc::encode(echo::Ping::label, echo::Ping::Request { 0xDEAD'BEEF'0000'0001 }, payload.data());
        REQUIRE_FALSE(message.is_error());
        CHECK(message.value().label == echo::Ping::label);
        CHECK(message.value().words[0] == 0xDEAD'BEEF'0000'0001);
        for (size_t i = 1; i < ipc::kMessageWords; ++i)
            CHECK(message.value().words[i] == 0); // nothing else leaks out
        CHECK(message.value().payload_length == 0);
        CHECK_FALSE(message.value().transfer_handle);
        auto request = ipc::decode<echo::Ping::Request>(message.value(), payload.data());
        REQUIRE_FALSE(request.is_error());
        CHECK(request.value().value == 0xDEAD'BEEF'0000'0001);

        auto reply = ipc::encode(echo::Ping::label, echo::Ping::Reply { 5 }, payload.data());
        CHECK(ipc::decode_reply<echo::Ping>(reply.value(), payload.data()).value().value == 5);
    }

    SECTION("Sum: two words in, one out")
    {
        auto message = ipc::encode(echo::Sum::label, echo::Sum::Request { 3, 4 }, payload.data());
        CHECK(message.value().words[0] == 3);
        CHECK(message.value().words[1] == 4);
        auto request = ipc::decode<echo::Sum::Request>(message.value(), payload.data());
        CHECK(request.value().a == 3);
        CHECK(request.value().b == 4);
        auto reply = ipc::encode(echo::Sum::label, echo::Sum::Reply { 7 }, payload.data());
        CHECK(ipc::decode_reply<echo::Sum>(reply.value(), payload.data()).value().sum == 7);
    }

    SECTION("Reverse: bytes in the payload")
    {
        std::string text = "hello, ring 3";
        auto message = ipc::encode(echo::Reverse::label, bytes_of(text), payload.data());
        REQUIRE_FALSE(message.is_error());
        CHECK(message.value().payload_length == text.size());
        CHECK(std::string(reinterpret_cast<const char*>(payload.data()), text.size()) == text);
        auto request = ipc::decode<Bytes>(message.value(), payload.data());
        REQUIRE_FALSE(request.is_error());
        CHECK(request.value().data == payload.data()); // a view of the buffer, not a copy
        CHECK(string_of(request.value()) == text);

        auto empty = ipc::encode(echo::Reverse::label, Bytes {}, payload.data());
        CHECK(empty.value().payload_length == 0);
        CHECK(ipc::decode<Bytes>(empty.value(), payload.data()).value().length == 0);

        std::vector<uint8_t> big(ipc::kMaxPayload + 1, 'x');
        CHECK(ipc::encode(echo::Reverse::label, Bytes { big.data(), static_cast<uint32_t>(big.size()) }, payload.data()).error()
            == Error::BadLength);
        CHECK(ipc::encode(echo::Reverse::label, Bytes { nullptr, 3 }, payload.data()).error() == Error::BadArgument);
        // No payload buffer: words still work, bytes cannot.
        CHECK(ipc::encode(echo::Reverse::label, bytes_of(text), nullptr).error() == Error::Unsupported);
        CHECK_FALSE(ipc::encode(echo::Ping::label, echo::Ping::Request { 1 }, nullptr).is_error());
    }

    SECTION("bytes already in the buffer are moved, not corrupted")
    {
        std::memcpy(payload.data(), "abcdef", 6);
        auto message = ipc::encode(echo::Reverse::label, Bytes { payload.data() + 2, 4 }, payload.data());
        CHECK(message.value().payload_length == 4);
        CHECK(std::string(reinterpret_cast<const char*>(payload.data()), 4) == "cdef");
    }

    SECTION("bytes that are the buffer itself stay as they are")
    {
        std::memcpy(payload.data(), "abcdef", 6);
        auto message = ipc::encode(echo::Echo::label, Bytes { payload.data(), 6 }, payload.data());
        CHECK(message.value().payload_length == 6);
        CHECK(std::string(reinterpret_cast<const char*>(payload.data()), 6) == "abcdef");
    }
}

TEST_CASE("libipc client and server speak echo through a fake transport", "[libipc]")
{
    echo::Service service {};
    FakeTransport transport(dispatching<echo::Protocol>(service), 0xB0B);
    ipc::Client<echo::Protocol> client(transport, 5);

    auto ping = client.call<echo::Ping>({ 0x1234 });
    REQUIRE_FALSE(ping.is_error());
    CHECK(ping.value().value == 0x1234);
    CHECK(transport.last_endpoint == 5);
    CHECK(transport.last_request.badge == 0xB0B);

    auto sum = client.call<echo::Sum>({ 40, 2 });
    REQUIRE_FALSE(sum.is_error());
    CHECK(sum.value().sum == 42);

    for (size_t length : { size_t(0), size_t(1), size_t(2), size_t(1000), ipc::kMaxPayload }) {
        INFO("length " << length);
        std::string text(length, '\0');
        for (size_t i = 0; i < length; ++i)
            text[i] = static_cast<char>('a' + i % 26);
        auto reversed = client.call<echo::Reverse>(bytes_of(text));
        REQUIRE_FALSE(reversed.is_error());
        CHECK(reversed.value().data == (length ? transport.client_buffer.data() : nullptr));
        CHECK(string_of(reversed.value()) == std::string(text.rbegin(), text.rend()));
    }
    for (size_t length : { size_t(0), size_t(3), ipc::kMaxPayload }) {
        INFO("echo length " << length);
        std::string text(length, '\0');
        for (size_t i = 0; i < length; ++i)
            text[i] = static_cast<char>('A' + i % 26);
        auto echoed = client.call<echo::Echo>(bytes_of(text));
        REQUIRE_FALSE(echoed.is_error());
        CHECK(string_of(echoed.value()) == text);
    }
    CHECK(service.requests() == 10);
    CHECK(transport.calls == 10);

    // Too long for the payload: refused before anything is sent.
    std::string too_long(ipc::kMaxPayload + 1, 'x');
    CHECK(client.call<echo::Reverse>(bytes_of(too_long)).error() == Error::BadLength);
    CHECK(transport.calls == 10);
}

TEST_CASE("libipc errors travel back as themselves", "[libipc]")
{
    SECTION("a handler's error")
    {
        echo::Service service {};
        FakeTransport transport(dispatching<echo::Protocol>(service));
        ipc::Client<echo::Protocol> client(transport, 1);
        auto overflow = client.call<echo::Sum>({ ~0ull, 1 });
        REQUIRE(overflow.is_error());
        CHECK(overflow.error() == Error::InvalidRequest);
        // The error reply on the wire: the label, the code, the request's label.
        Message wire = ipc::make_error_reply(Error::InvalidRequest, echo::Sum::label);
        CHECK(wire.label == ipc::kErrorLabel);
        CHECK(static_cast<int64_t>(wire.words[0]) == static_cast<int64_t>(Error::InvalidRequest));
        CHECK(wire.words[1] == echo::Sum::label);
        // And the server keeps working after it.
        CHECK(client.call<echo::Sum>({ 1, 1 }).value().sum == 2);
    }

    SECTION("protocol-specific errors and the other shapes")
    {
        StorageHandler handler;
        FakeTransport transport(dispatching<Storage>(handler), 77);
        ipc::Client<Storage> client(transport, 1);

        std::string data = "some bytes";
        auto stored = client.call<Store>({ { 42 }, bytes_of(data) });
        REQUIRE_FALSE(stored.is_error());
        CHECK(stored.value().length == data.size());
        uint32_t checksum = 0;
        for (char c : data)
            checksum = checksum * 31 + static_cast<uint8_t>(c);
        CHECK(stored.value().checksum == checksum);
        CHECK(handler.last_badge == 77);
        CHECK(transport.last_request.words[0] == 42);
        CHECK(transport.last_request.payload_length == data.size());

        CHECK(client.call<Store>({ { 0 }, bytes_of(data) }).error() == Error::NotFound);
        CHECK(client.call<Store>({ { 666 }, bytes_of(data) }).error() == kFull);

        Table::Request table {};
        uint64_t expected = 0;
        for (uint64_t i = 0; i < 512; ++i) {
            table.values[i] = i * i;
            expected += i * i;
        }
        auto total = client.call<Table>(table);
        REQUIRE_FALSE(total.is_error());
        CHECK(total.value().total == expected);
        CHECK(transport.last_request.payload_length == sizeof(Table::Request));

        CHECK_FALSE(client.call<Nothing>({}).is_error());
        CHECK(handler.nothings == 1);
    }

    SECTION("an unknown label")
    {
        echo::Service service {};
        FakeTransport transport(dispatching<echo::Protocol>(service));
        ipc::Client<EchoPlus> client(transport, 1);
        auto shout = client.call<Shout>({ 11 });
        REQUIRE(shout.is_error());
        CHECK(shout.error() == Error::UnknownLabel);
        CHECK(service.requests() == 0);
        CHECK(client.call<echo::Ping>({ 3 }).value().value == 3);
    }

    SECTION("a request that does not decode")
    {
        // A Ping with payload bytes attached: not the shape Ping promises.
        echo::Service service {};
        Message request = ipc::make_message(echo::Ping::label);
        request.payload_length = 5;
        Message reply;
        std::array<uint8_t, ipc::kMaxPayload> payload {};
        ipc::dispatch<echo::Protocol>(request, payload.data(), service, reply);
        CHECK(ipc::decode_reply<echo::Ping>(reply, payload.data()).error() == Error::BadMessage);
        CHECK(service.requests() == 0);

        // A handle where the protocol transfers none.
        request.payload_length = 0;
        request.transfer_handle = true;
        ipc::dispatch<echo::Protocol>(request, payload.data(), service, reply);
        CHECK(ipc::decode_reply<echo::Ping>(reply, payload.data()).error() == Error::BadMessage);

        // A Table whose payload is one byte short.
        StorageHandler handler;
        Message table = ipc::make_message(Table::label);
        table.payload_length = sizeof(Table::Request) - 1;
        ipc::dispatch<Storage>(table, payload.data(), handler, reply);
        CHECK(ipc::decode_reply<Table>(reply, payload.data()).error() == Error::BadMessage);
    }

    SECTION("a transport that fails")
    {
        FakeTransport transport(nullptr);
        ipc::Client<echo::Protocol> client(transport, 1);
        CHECK(client.call<echo::Ping>({ 1 }).error() == Error::PeerGone);
    }

    SECTION("a transport without the operation")
    {
        struct Minimal final : ipc::Transport { } minimal;
        ipc::Client<echo::Protocol> client(minimal, 1);
        CHECK(client.call<echo::Ping>({ 1 }).error() == Error::Unsupported);
        CHECK(minimal.wait(1, ipc::WaitMode::Poll).error() == Error::Unsupported);
    }
}

TEST_CASE("libipc clients refuse malformed replies", "[libipc]")
{
    auto call_ping = [](FakeTransport::Server server, bool raw = false) {
        FakeTransport transport(std::move(server));
        transport.deliver_raw_replies = raw;
        ipc::Client<echo::Protocol> client(transport, 1);
        return client.call<echo::Ping>({ 1 });
    };

    Message good = ipc::make_message(echo::Ping::label);
    good.words[0] = 1;
    CHECK(call_ping(answering(good)).value().value == 1);

    SECTION("the wrong label")
    {
        Message reply = good;
        reply.label = echo::Sum::label;
        CHECK(call_ping(answering(reply)).error() == Error::BadMessage);
    }
    // Found by tests/fuzz (libipc): an error reply saying Deferred reached the
    // client as Deferred. It is ipc::serve's word for "the handler answers
    // later" and never sent; a server that passed a callee's error on as its
    // own would then never answer its own caller (serve sends nothing).
    SECTION("an error reply carrying Deferred")
    {
        Message reply = ipc::make_error_reply(Error::Deferred, echo::Ping::label);
        CHECK(call_ping(answering(reply)).error() == Error::BadMessage);
        CHECK(ipc::decode_error_reply(reply, echo::Ping::label) == Error::BadMessage);
    }
    SECTION("payload bytes a words reply does not have")
    {
        Message reply = good;
        reply.payload_length = 8;
        CHECK(call_ping(answering(reply, std::vector<uint8_t>(8, 1))).error() == Error::BadMessage);
    }
    SECTION("a handle a typed reply cannot carry")
    {
        Message reply = good;
        reply.transfer_handle = true;
        CHECK(call_ping(answering(reply), true).error() == Error::BadMessage);
    }
    SECTION("error replies that are not well formed")
    {
        Message reply = ipc::make_error_reply(Error::NotFound, echo::Ping::label);
        CHECK(call_ping(answering(reply)).error() == Error::NotFound);
        reply.words[0] = 0; // not an error code
        CHECK(call_ping(answering(reply)).error() == Error::BadMessage);
        reply.words[0] = 17;
        CHECK(call_ping(answering(reply)).error() == Error::BadMessage);
        reply = ipc::make_error_reply(Error::NotFound, echo::Sum::label); // answers another request
        CHECK(call_ping(answering(reply)).error() == Error::BadMessage);
        reply = ipc::make_error_reply(Error::NotFound, echo::Ping::label);
        reply.payload_length = 4;
        CHECK(call_ping(answering(reply)).error() == Error::BadMessage);
    }
    SECTION("a payload longer than any payload")
    {
        // The kernel never delivers this, but the client must not trust that.
        Message reply = ipc::make_message(echo::Reverse::label);
        reply.payload_length = ipc::kMaxPayload + 1;
        FakeTransport transport(answering(reply), 0);
        transport.deliver_raw_replies = true;
        ipc::Client<echo::Protocol> client(transport, 1);
        CHECK(client.call<echo::Reverse>(Bytes {}).error() == Error::BadMessage);
        transport.deliver_raw_replies = false; // through the kernel's checks instead
        CHECK(client.call<echo::Reverse>(Bytes {}).error() == Error::BadLength);
    }
    SECTION("a payload struct of the wrong length")
    {
        Message reply = ipc::make_message(Table::label);
        reply.payload_length = sizeof(Table::Request) + 0; // Table's reply is words, not payload
        std::array<uint8_t, ipc::kMaxPayload> payload {};
        CHECK(ipc::decode_reply<Table>(reply, payload.data()).error() == Error::BadMessage);
        CHECK(ipc::decode<Table::Request>(ipc::make_message(Table::label), payload.data()).error() == Error::BadMessage);
        Message exact = ipc::make_message(Table::label);
        exact.payload_length = sizeof(Table::Request);
        CHECK_FALSE(ipc::decode<Table::Request>(exact, payload.data()).is_error());
        CHECK(ipc::decode<Table::Request>(exact, nullptr).error() == Error::BadMessage);
    }
}

TEST_CASE("libipc serve loop answers N messages, then stops when receiving fails", "[libipc]")
{
    constexpr int kMessages = 50;
    echo::Service service {};
    ScriptedTransport transport;
    for (int i = 0; i < kMessages; ++i) {
        ScriptedTransport::Incoming incoming;
        if (i % 3 == 2) {
            incoming.message = ipc::make_message(echo::Reverse::label);
            std::string text = "message " + std::to_string(i);
            incoming.message.payload_length = static_cast<uint32_t>(text.size());
            incoming.payload.assign(text.begin(), text.end());
        } else {
            incoming.message = ipc::make_message(i % 3 == 0 ? echo::Ping::label : echo::Sum::label);
            incoming.message.words[0] = static_cast<uint64_t>(i);
            incoming.message.words[1] = 1000;
        }
        incoming.message.badge = static_cast<uint64_t>(i);
        transport.script.push_back(incoming);
    }
    // One unknown label in the middle, and one reply nobody waits for (the
    // caller died): the loop goes on receiving after both.
    ScriptedTransport::Incoming unknown;
    unknown.message = ipc::make_message(1234);
    transport.script.insert(transport.script.begin() + 10, unknown);
    ScriptedTransport::Incoming caller_gone;
    caller_gone.error = Error::NoReply;
    transport.script.insert(transport.script.begin() + 20, caller_gone);

    Error stopped = ipc::serve<echo::Protocol>(transport, ScriptedTransport::kEndpoint, service);
    CHECK(stopped == Error::BadHandle);
    CHECK(service.requests() == kMessages);
    REQUIRE(transport.replies.size() == kMessages + 1);
    CHECK(transport.receives == 2); // the first, and the one after NoReply

    int checked = 0;
    for (size_t r = 0, i = 0; r < transport.replies.size(); ++r) {
        const Message& reply = transport.replies[r];
        if (r == 10) {
            CHECK(ipc::decode_error_reply(reply, 1234) == Error::UnknownLabel);
            continue;
        }
        INFO("message " << i);
        if (i % 3 == 0) {
            CHECK(reply.label == echo::Ping::label);
            CHECK(reply.words[0] == i);
        } else if (i % 3 == 1) {
            CHECK(reply.label == echo::Sum::label);
            CHECK(reply.words[0] == i + 1000);
        } else {
            std::string text = "message " + std::to_string(i);
            CHECK(reply.label == echo::Reverse::label);
            CHECK(std::string(transport.reply_payloads[r].begin(), transport.reply_payloads[r].end())
                == std::string(text.rbegin(), text.rend()));
        }
        ++i;
        ++checked;
    }
    CHECK(checked == kMessages);
}

namespace {

// An echo service that also takes messages from the kernel (kKernelBadge):
// label 1 gets an answer, any other none; and counts the replies gone.
struct KernelAwareEcho {
    echo::Service service {};
    int kernel_messages = 0;
    int replies_sent = 0;

    ipc::KernelMessage on_kernel_message(const Message& in, Message& reply)
    {
        ++kernel_messages;
        if (in.label != 1)
            return ipc::KernelMessage::NoAnswer;
        reply = ipc::make_message(1);
        reply.words[0] = in.words[0] + 1;
        return ipc::KernelMessage::Answered;
    }
    void after_reply() { ++replies_sent; }

    template<typename Operation, typename Request>
    auto handle(Operation operation, const Request& request, ipc::Badge badge)
    {
        return service.handle(operation, request, badge);
    }
};

} // namespace

TEST_CASE("libipc serve hands the kernel's messages to on_kernel_message and calls after_reply", "[libipc]")
{
    ScriptedTransport transport;
    auto push = [&](uint32_t label, uint64_t badge, uint64_t word) {
        ScriptedTransport::Incoming incoming;
        incoming.message = ipc::make_message(label);
        incoming.message.badge = badge;
        incoming.message.words[0] = word;
        transport.script.push_back(incoming);
    };
    push(echo::Ping::label, 5, 42);                          // a client: answered by the protocol
    push(1, herald::abi::kKernelBadge, 7);                   // the kernel, answered
    push(2, herald::abi::kNotificationBadge, 3);             // the kernel, no answer: receive again
    push(echo::Ping::label, 6, 43);                          // a client again
    KernelAwareEcho handler;
    CHECK(ipc::serve<echo::Protocol>(transport, ScriptedTransport::kEndpoint, handler) == Error::BadHandle);
    CHECK(handler.kernel_messages == 2);
    REQUIRE(transport.replies.size() == 3);
    CHECK(transport.replies[0].words[0] == 42);
    CHECK(transport.replies[1].label == 1);
    CHECK(transport.replies[1].words[0] == 8);
    CHECK(transport.replies[2].words[0] == 43);
    CHECK(transport.receives == 2); // the first, and the one after the unanswered kernel message
    CHECK(handler.replies_sent == 3);
}

namespace {

// An echo service that defers every other Ping: it saves the reply and
// answers it when the next Ping comes, after that one.
struct DeferringEcho {
    explicit DeferringEcho(ipc::Transport& transport) : transport(transport) { }

    ipc::Transport& transport;
    ipc::Handle saved = herald::abi::HandleNone;
    uint64_t saved_value = 0;
    int late_answers_sent = 0;

    ipc::Result<echo::Ping::Reply> handle(echo::Ping, const echo::Ping::Request& request, ipc::Badge)
    {
        if (saved == herald::abi::HandleNone) {
            auto handle = transport.save_reply();
            if (handle.is_error())
                return handle.error();
            saved = handle.value();
            saved_value = request.value;
            return ipc::Error::Deferred;
        }
        ipc::Message late = ipc::make_message(echo::Ping::label);
        late.words[0] = saved_value;
        late_answers_sent += !transport.reply_to(saved, late).is_error();
        saved = herald::abi::HandleNone;
        return echo::Ping::Reply { request.value };
    }
    template<typename Operation, typename Request>
    ipc::Result<typename Operation::Reply> handle(Operation, const Request&, ipc::Badge)
    {
        return ipc::Error::InvalidRequest;
    }
};

// ScriptedTransport with saved replies: each saved reply is a handle, and
// its late answer is recorded.
class SavingTransport final : public ipc::Transport {
public:
    explicit SavingTransport(ScriptedTransport& inner) : m_inner(inner) { }
    Result<Message> receive(ipc::Handle endpoint) override { return m_inner.receive(endpoint); }
    Result<Message> reply_receive(ipc::Handle endpoint, const Message& reply) override
    {
        return m_inner.reply_receive(endpoint, reply);
    }
    Result<ipc::Handle> save_reply() override { return static_cast<ipc::Handle>(100 + saves++); }
    Result<void> reply_to(ipc::Handle saved, const Message& reply) override
    {
        late.emplace_back(saved, reply);
        return {};
    }
    uint8_t* payload() override { return m_inner.payload(); }

    int saves = 0;
    std::vector<std::pair<ipc::Handle, Message>> late;

private:
    ScriptedTransport& m_inner;
};

} // namespace

TEST_CASE("libipc serve sends nothing for a deferred request and receives the next", "[libipc]")
{
    ScriptedTransport script;
    for (uint64_t value : { 10, 11, 12 }) {
        ScriptedTransport::Incoming incoming;
        incoming.message = ipc::make_message(echo::Ping::label);
        incoming.message.badge = 5;
        incoming.message.words[0] = value;
        script.script.push_back(incoming);
    }
    SavingTransport transport(script);
    DeferringEcho handler(transport);
    CHECK(ipc::serve<echo::Protocol>(transport, ScriptedTransport::kEndpoint, handler) == Error::BadHandle);
    // 10 deferred (no reply, a plain receive after it), 11 answered at once
    // after 10's late answer, 12 deferred again and never answered.
    CHECK(script.receives == 3); // the first, and one after each deferred request
    REQUIRE(script.replies.size() == 1);
    CHECK(script.replies[0].words[0] == 11);
    REQUIRE(transport.late.size() == 1);
    CHECK(transport.late[0].first == 100);
    CHECK(transport.late[0].second.words[0] == 10);
    CHECK(transport.saves == 2);
    CHECK(handler.late_answers_sent == 1);
    CHECK(std::string(ipc::error_name(Error::Deferred)) == "deferred");
}

TEST_CASE("libipc serve drops the kernel's messages when the handler takes none", "[libipc]")
{
    ScriptedTransport transport;
    ScriptedTransport::Incoming kernel;
    kernel.message = ipc::make_message(echo::Ping::label); // a protocol label, but from the kernel
    kernel.message.badge = herald::abi::kKernelBadge;
    transport.script.push_back(kernel);
    echo::Service service {};
    CHECK(ipc::serve<echo::Protocol>(transport, ScriptedTransport::kEndpoint, service) == Error::BadHandle);
    CHECK(transport.replies.empty());
    CHECK(service.requests() == 0);
}

TEST_CASE("libipc client and serve loop on two threads", "[libipc]")
{
    constexpr uint64_t kCalls = 200;
    ThreadedEndpoint endpoint;
    ThreadedEndpoint::Side server_side(endpoint, 0);
    ThreadedEndpoint::Side client_side(endpoint, 0xC1);
    echo::Service service {};

    Error stopped = Error::BadMessage;
    std::thread server([&] { stopped = ipc::serve<echo::Protocol>(server_side, 1, service); });

    ipc::Client<echo::Protocol> client(client_side, 1);
    uint64_t mismatches = 0;
    for (uint64_t i = 0; i < kCalls; ++i) {
        switch (i % 3) {
        case 0: {
            auto reply = client.call<echo::Ping>({ i * 7 });
            mismatches += reply.is_error() || reply.value().value != i * 7;
            break;
        }
        case 1: {
            auto reply = client.call<echo::Sum>({ i, i * i });
            mismatches += reply.is_error() || reply.value().sum != i + i * i;
            break;
        }
        default: {
            std::string text(i * 13 % ipc::kMaxPayload, 'a');
            for (size_t k = 0; k < text.size(); ++k)
                text[k] = static_cast<char>('a' + (i + k) % 26);
            auto reply = client.call<echo::Reverse>(bytes_of(text));
            mismatches += reply.is_error() || string_of(reply.value()) != std::string(text.rbegin(), text.rend());
        }
        }
    }
    endpoint.close();
    server.join();
    CHECK(mismatches == 0);
    CHECK(service.requests() == kCalls);
    CHECK(stopped == Error::PeerGone);
}

// ---- handle transfer ----

namespace {

// A protocol that moves handles both ways, in every shape.
struct Deposit { // a handle and a tag in, the number held out
    static constexpr uint32_t label = 20;
    struct Tag {
        uint64_t tag;
    };
    using Request = ipc::WithHandle<Tag>;
    struct Reply {
        uint64_t held;
    };
};

struct Withdraw { // a tag in, a copy of its handle out
    static constexpr uint32_t label = 21;
    struct Request {
        uint64_t tag;
    };
    using Reply = ipc::WithHandle<Deposit::Tag>;
};

struct Wrap { // words, bytes and a handle in; bytes and the same handle out
    static constexpr uint32_t label = 22;
    struct Key {
        uint64_t words[7]; // all the words the handle leaves
    };
    using Request = ipc::WithHandle<ipc::WithBytes<Key>>;
    using Reply = ipc::WithHandle<Bytes>;
};

using Vault = ipc::Protocol<Deposit, Withdraw, Wrap, echo::Ping>;

struct VaultHandler {
    Result<Deposit::Reply> handle(Deposit, const Deposit::Request& request, ipc::Badge)
    {
        if (request.value.tag == 0)
            return Error::InvalidRequest; // dispatch closes the handle
        held[request.value.tag] = request.handle;
        return Deposit::Reply { held.size() };
    }
    Result<Withdraw::Reply> handle(Withdraw, const Withdraw::Request& request, ipc::Badge)
    {
        auto found = held.find(request.tag);
        if (found == held.end())
            return Error::NotFound;
        return Withdraw::Reply { { request.tag }, found->second };
    }
    Result<Wrap::Reply> handle(Wrap, const Wrap::Request& request, ipc::Badge)
    {
        uint64_t sum = 0;
        for (uint64_t word : request.value.fixed.words)
            sum += word;
        last_sum = sum;
        last_wrapped = request.handle;
        return Wrap::Reply { request.value.bytes, request.handle }; // the bytes and the handle back
    }
    Result<echo::Ping::Reply> handle(echo::Ping, const echo::Ping::Request& request, ipc::Badge)
    {
        return echo::Ping::Reply { request.value };
    }
    std::map<uint64_t, ipc::Handle> held;
    uint64_t last_sum = 0;
    ipc::Handle last_wrapped = 0;
};

// Shapes with handles: T must leave word 7 free, and one handle at most.
struct SevenWords {
    uint64_t words[7];
};
static_assert(ipc::shape_of<ipc::WithHandle<>>() == Shape::Words);
static_assert(ipc::shape_of<ipc::WithHandle<SevenWords>>() == Shape::Words);
static_assert(ipc::shape_of<ipc::WithHandle<EightWords>>() == Shape::Invalid);
static_assert(ipc::shape_of<ipc::WithHandle<Bytes>>() == Shape::Bytes);
static_assert(ipc::shape_of<ipc::WithHandle<Table::Request>>() == Shape::Payload);
static_assert(ipc::shape_of<Wrap::Request>() == Shape::WordsAndBytes);
static_assert(ipc::shape_of<ipc::WithHandle<ipc::WithBytes<EightWords>>>() == Shape::Invalid);
static_assert(ipc::shape_of<ipc::WithHandle<ipc::WithHandle<>>>() == Shape::Invalid);
static_assert(ipc::shape_of<ipc::WithHandle<Padded>>() == Shape::Invalid);
static_assert(ipc::carries_handle<Deposit::Request> && ipc::carries_handle<ipc::WithHandle<Bytes>>);
static_assert(!ipc::carries_handle<Deposit::Reply> && !ipc::carries_handle<Bytes> && !ipc::carries_handle<Store::Request>);
static_assert(Vault::is_valid && ipc::registry::Protocol::is_valid);

struct SendsHandleTooMuch {
    static constexpr uint32_t label = 1;
    using Request = ipc::WithHandle<EightWords>;
    using Reply = ipc::Empty;
};
static_assert(!ipc::Operation<SendsHandleTooMuch>);

// The registry's names.
static_assert(ipc::registry::is_valid_name(ipc::registry::make_name("echo").value()));
static_assert(ipc::registry::make_name("").error() == Error::InvalidRequest);
static_assert(ipc::registry::make_name(nullptr).error() == Error::InvalidRequest);
static_assert(ipc::registry::make_name("0123456789012345678901234567890").has_value());   // 31 bytes
static_assert(ipc::registry::make_name("01234567890123456789012345678901").is_error());   // 32: no room for the NUL

} // namespace

TEST_CASE("libipc encodes a handle in word 7 with the transfer flag, and decodes it", "[libipc]")
{
    std::array<uint8_t, ipc::kMaxPayload> payload {};

    auto message = ipc::encode(Deposit::label, Deposit::Request { { 5 }, 42 }, payload.data());
    REQUIRE_FALSE(message.is_error());
    CHECK(message.value().transfer_handle);
    CHECK(message.value().words[0] == 5);
    CHECK(message.value().words[7] == 42);
    for (size_t i = 1; i < 7; ++i)
        CHECK(message.value().words[i] == 0);
    CHECK(message.value().payload_length == 0);
    // Through RSI, as the kernel carries it.
    Message wire;
    REQUIRE_FALSE(ipc::decode_info(ipc::encode_info(message.value()).value(), wire).is_error());
    CHECK(wire.transfer_handle);

    auto decoded = ipc::decode<Deposit::Request>(message.value(), payload.data());
    REQUIRE_FALSE(decoded.is_error());
    CHECK(decoded.value().value.tag == 5);
    CHECK(decoded.value().handle == 42);

    SECTION("a handle alone, and one beside seven words and bytes")
    {
        auto alone = ipc::encode(Withdraw::label, ipc::WithHandle<> { {}, 9 }, payload.data());
        CHECK(alone.value().words[7] == 9);
        CHECK(alone.value().transfer_handle);
        CHECK(ipc::decode<ipc::WithHandle<>>(alone.value(), payload.data()).value().handle == 9);

        std::string text = "bytes beside a handle";
        Wrap::Request wrap { { { { 1, 2, 3, 4, 5, 6, 7 } }, bytes_of(text) }, 77 };
        auto full = ipc::encode(Wrap::label, wrap, payload.data());
        REQUIRE_FALSE(full.is_error());
        for (size_t i = 0; i < 7; ++i)
            CHECK(full.value().words[i] == i + 1);
        CHECK(full.value().words[7] == 77);
        CHECK(full.value().payload_length == text.size());
        auto back = ipc::decode<Wrap::Request>(full.value(), payload.data());
        REQUIRE_FALSE(back.is_error());
        CHECK(back.value().value.fixed.words[6] == 7);
        CHECK(string_of(back.value().value.bytes) == text);
        CHECK(back.value().handle == 77);
    }

    SECTION("no handle where one is expected, one where none is")
    {
        Message without = message.value();
        without.transfer_handle = false; // e.g. the receiver's table was full
        CHECK(ipc::decode<Deposit::Request>(without, payload.data()).error() == Error::BadMessage);
        Message zero = message.value();
        zero.words[7] = 0; // the kernel never installs a handle at index 0
        CHECK(ipc::decode<Deposit::Request>(zero, payload.data()).error() == Error::BadMessage);
        CHECK(ipc::decode<Deposit::Tag>(message.value(), payload.data()).error() == Error::BadMessage);
        CHECK(ipc::received_handle(message.value()) == 42);
        CHECK(ipc::received_handle(without) == 0);
    }

    SECTION("HandleNone is not a handle to send")
    {
        CHECK(ipc::encode(Deposit::label, Deposit::Request { { 5 }, 0 }, payload.data()).error() == Error::BadHandle);
    }
}

TEST_CASE("libipc transfers handles both ways, renumbered like the kernel does", "[libipc]")
{
    VaultHandler vault;
    FakeTransport transport(nullptr);
    serve_with_handles<Vault>(transport, vault);
    ipc::Client<Vault> client(transport, 1);
    ipc::Handle mine = transport.client_handles.add(0xAB);      // index 10
    ipc::Handle other = transport.client_handles.add(0xCD);     // index 11

    auto deposited = client.call<Deposit>({ { 1 }, mine });
    REQUIRE_FALSE(deposited.is_error());
    CHECK(deposited.value().held == 1);
    // The server got its own index for the same object; ours stays ours.
    ipc::Handle theirs = vault.held.at(1);
    CHECK(theirs != mine);
    CHECK(transport.server_handles.object(theirs) == 0xAB);
    CHECK(transport.client_handles.object(mine) == 0xAB);
    CHECK(transport.last_request.words[7] == theirs);

    auto withdrawn = client.call<Withdraw>({ 1 });
    REQUIRE_FALSE(withdrawn.is_error());
    CHECK(withdrawn.value().value.tag == 1);
    ipc::Handle copy = withdrawn.value().handle;
    CHECK(copy != theirs);
    CHECK(copy != mine);
    CHECK(transport.client_handles.object(copy) == 0xAB); // a second handle of ours, same object
    CHECK(transport.server_handles.object(theirs) == 0xAB); // and the server keeps its own

    std::string text = "round trip";
    auto wrapped = client.call<Wrap>({ { { { 1, 1, 1, 1, 1, 1, 1 } }, bytes_of(text) }, other });
    REQUIRE_FALSE(wrapped.is_error());
    CHECK(vault.last_sum == 7);
    CHECK(transport.server_handles.object(vault.last_wrapped) == 0xCD);
    CHECK(string_of(wrapped.value().value) == text);
    CHECK(transport.client_handles.object(wrapped.value().handle) == 0xCD);

    CHECK(transport.server_handles.closed.empty());
    CHECK(transport.client_handles.closed.empty());

    SECTION("errors before sending: no grant right, a handle we do not have")
    {
        transport.endpoint_has_grant = false;
        CHECK(client.call<Deposit>({ { 2 }, mine }).error() == Error::NoRights);
        transport.endpoint_has_grant = true;
        CHECK(client.call<Deposit>({ { 2 }, 999 }).error() == Error::BadHandle);
        CHECK(vault.held.size() == 1);
    }
    SECTION("the server's table is full: the request arrives without its handle")
    {
        transport.server_handles.full = true;
        CHECK(client.call<Deposit>({ { 2 }, mine }).error() == Error::BadMessage);
        CHECK(vault.held.size() == 1);
    }
    SECTION("the client's table is full: the reply arrives without its handle")
    {
        transport.client_handles.full = true;
        CHECK(client.call<Withdraw>({ 1 }).error() == Error::BadMessage);
    }
    SECTION("a kernel that strips handles from replies")
    {
        transport.replies_transfer_handles = false;
        CHECK(client.call<Withdraw>({ 1 }).error() == Error::BadMessage);
        CHECK(client.call<Deposit>({ { 2 }, mine }).value().held == 2); // requests still carry them
    }
}

TEST_CASE("libipc closes handles nobody takes", "[libipc]")
{
    VaultHandler vault;
    FakeTransport transport(nullptr);
    serve_with_handles<Vault>(transport, vault);
    ipc::Handle mine = transport.client_handles.add(0xAB);

    SECTION("the handler refuses the request: dispatch closes the server's copy")
    {
        ipc::Client<Vault> client(transport, 1);
        CHECK(client.call<Deposit>({ { 0 }, mine }).error() == Error::InvalidRequest);
        REQUIRE(transport.server_handles.closed.size() == 1);
        CHECK(transport.server_handles.entries.empty());
        CHECK(transport.client_handles.object(mine) == 0xAB); // the sender's own is untouched
    }
    SECTION("a handle with an operation that takes none, or an unknown label")
    {
        Message ping = ipc::make_message(echo::Ping::label);
        ping.transfer_handle = true;
        ping.words[7] = mine;
        auto reply = transport.call(1, ping);
        CHECK(ipc::decode_reply<echo::Ping>(reply.value(), transport.payload()).error() == Error::BadMessage);
        Message unknown = ping;
        unknown.label = 1234;
        reply = transport.call(1, unknown);
        CHECK(ipc::decode_error_reply(reply.value(), 1234) == Error::UnknownLabel);
        CHECK(transport.server_handles.closed.size() == 2);
        CHECK(transport.server_handles.entries.empty());
    }
    SECTION("the low-level dispatch returns the handle instead")
    {
        Message deposit = ipc::encode(Deposit::label, Deposit::Request { { 0 }, 55 }, nullptr).value();
        Message reply;
        CHECK(ipc::dispatch<Vault>(deposit, nullptr, vault, reply) == 55);
        deposit.words[0] = 3;
        CHECK(ipc::dispatch<Vault>(deposit, nullptr, vault, reply) == 0); // taken
        CHECK(vault.held.at(3) == 55);
    }
    SECTION("a reply with a handle the client did not ask for: the client closes it")
    {
        ipc::Handle served = transport.server_handles.add(0xEE);
        Message reply = ipc::make_message(echo::Ping::label);
        reply.words[0] = 1;
        reply.transfer_handle = true;
        reply.words[7] = served;
        transport.set_server(answering(reply));
        ipc::Client<Vault> client(transport, 1);
        CHECK(client.call<echo::Ping>({ 1 }).error() == Error::BadMessage);
        REQUIRE(transport.client_handles.closed.size() == 1);
        CHECK(transport.client_handles.entries.size() == 1); // only `mine` is left
        // An error reply with a handle is not well formed either.
        Message error = ipc::make_error_reply(Error::Denied, echo::Ping::label);
        error.transfer_handle = true;
        error.words[7] = served;
        transport.set_server(answering(error));
        CHECK(client.call<echo::Ping>({ 1 }).error() == Error::BadMessage);
        CHECK(transport.client_handles.closed.size() == 2);
        CHECK(transport.client_handles.entries.size() == 1);
    }
}

TEST_CASE("libipc serve answers with an error when the kernel refuses a reply's handle", "[libipc]")
{
    // A transport whose reply_receive refuses replies with a handle (as the
    // kernel does when the endpoint handle lacks RightGrant) and keeps the
    // reply right, so the server can still answer.
    struct Refusing final : ipc::Transport {
        Result<Message> receive(ipc::Handle) override { return next(); }
        Result<Message> reply_receive(ipc::Handle, const Message& reply) override
        {
            if (reply.transfer_handle) {
                ++refused;
                return Error::NoRights;
            }
            replies.push_back(reply);
            return next();
        }
        Result<Message> next()
        {
            if (script.empty())
                return Error::BadHandle;
            Message message = script.front();
            script.pop_front();
            return message;
        }
        std::deque<Message> script;
        std::vector<Message> replies;
        int refused = 0;
    } transport;

    VaultHandler vault;
    vault.held[1] = 300;
    Message withdraw = ipc::encode(Withdraw::label, Withdraw::Request { 1 }, nullptr).value();
    Message ping = ipc::encode(echo::Ping::label, echo::Ping::Request { 9 }, nullptr).value();
    transport.script = { withdraw, ping };

    CHECK(ipc::serve<Vault>(transport, 1, vault) == Error::BadHandle); // the end of the script
    CHECK(transport.refused == 1);
    REQUIRE(transport.replies.size() == 2);
    CHECK(ipc::decode_error_reply(transport.replies[0], Withdraw::label) == Error::NoRights);
    CHECK(transport.replies[1].words[0] == 9); // and the loop went on
}

namespace {

// serve_one is a hand copy of serve's loop body (protocol.hpp says why):
// the same script, run through serve and through a loop over serve_one,
// must send the same things in the same order. This transport logs every
// operation (what each sent, and each receive), refuses the first reply
// that carries a handle (NoRights, the reply right kept, as the kernel does
// without RightGrant), and saves replies as handles 100 and up.
class LoggingTransport final : public ipc::Transport {
public:
    struct Incoming {
        Message message;
        std::optional<Error> error; // returned instead of the message
    };

    Result<Message> receive(ipc::Handle endpoint) override
    {
        log.push_back("receive " + std::to_string(endpoint));
        return next();
    }
    Result<Message> reply_receive(ipc::Handle endpoint, const Message& reply) override
    {
        if (reply.transfer_handle && refusals_left > 0) {
            --refusals_left;
            log.push_back("refused " + describe(reply));
            return Error::NoRights;
        }
        log.push_back("reply_receive " + std::to_string(endpoint) + " " + describe(reply));
        return next();
    }
    Result<ipc::Handle> save_reply() override
    {
        ipc::Handle handle = static_cast<ipc::Handle>(100 + saves++);
        log.push_back("save_reply " + std::to_string(handle));
        return handle;
    }
    Result<void> reply_to(ipc::Handle saved, const Message& reply) override
    {
        log.push_back("reply_to " + std::to_string(saved) + " " + describe(reply));
        return {};
    }
    Result<void> close(ipc::Handle handle) override
    {
        log.push_back("close " + std::to_string(handle));
        return {};
    }
    uint8_t* payload() override { return buffer.data(); }

    static std::string describe(const Message& message)
    {
        std::string text = "label " + std::to_string(message.label) + " length "
            + std::to_string(message.payload_length) + " handle " + std::to_string(message.transfer_handle);
        for (uint64_t word : message.words)
            text += " " + std::to_string(word);
        return text;
    }

    std::deque<Incoming> script;
    std::vector<std::string> log;
    int refusals_left = 1;
    int saves = 0;
    std::array<uint8_t, ipc::kMaxPayload> buffer {};

private:
    Result<Message> next()
    {
        if (script.empty())
            return Error::BadHandle; // the end of the script: the loop must stop
        Incoming incoming = script.front();
        script.pop_front();
        if (incoming.error)
            return *incoming.error;
        return incoming.message;
    }
};

// The vault, with all a handler may have: it defers every other Ping
// (answered late when the next comes), answers the kernel's label 1 and
// drops its other messages, and logs after_reply.
struct EveryBranchVault {
    explicit EveryBranchVault(LoggingTransport& transport) : transport(transport) { vault.held[1] = 300; }

    LoggingTransport& transport;
    VaultHandler vault;
    ipc::Handle saved = herald::abi::HandleNone;
    uint64_t saved_value = 0;

    Result<echo::Ping::Reply> handle(echo::Ping, const echo::Ping::Request& request, ipc::Badge)
    {
        if (saved == herald::abi::HandleNone) {
            saved = transport.save_reply().value();
            saved_value = request.value;
            return Error::Deferred;
        }
        Message late = ipc::make_message(echo::Ping::label);
        late.words[0] = saved_value;
        (void)transport.reply_to(saved, late);
        saved = herald::abi::HandleNone;
        return echo::Ping::Reply { request.value };
    }
    template<typename Operation, typename Request>
    auto handle(Operation operation, const Request& request, ipc::Badge badge)
    {
        return vault.handle(operation, request, badge);
    }
    ipc::KernelMessage on_kernel_message(const Message& in, Message& reply)
    {
        transport.log.push_back("kernel " + std::to_string(in.label));
        if (in.label != 1)
            return ipc::KernelMessage::NoAnswer;
        reply = ipc::make_message(1);
        reply.words[0] = in.words[0] + 1;
        return ipc::KernelMessage::Answered;
    }
    void after_reply() { transport.log.push_back("after_reply"); }
};

// A request from a client (badge 5), one from the kernel, an error.
LoggingTransport::Incoming from_client(Message message)
{
    message.badge = 5;
    return { message, std::nullopt };
}

LoggingTransport::Incoming from_kernel(uint32_t label, uint64_t word)
{
    Message message = ipc::make_message(label);
    message.badge = herald::abi::kKernelBadge;
    message.words[0] = word;
    return { message, std::nullopt };
}

// Every branch of the turn, in an order where each error lands where the
// loop can meet it: a deferred request (a plain receive after it), its
// late answer, the kernel's messages answered and dropped, a reply with a
// handle refused then answered with the error, one with a handle sent, a
// request whose handle nobody takes (closed), a reply nobody waits for
// (NoReply: receive afresh), PeerGone likewise, an unknown label, and the
// end of the script (BadHandle).
std::deque<LoggingTransport::Incoming> every_branch_script()
{
    auto ping = [](uint64_t value) { return ipc::encode(echo::Ping::label, echo::Ping::Request { value }, nullptr).value(); };
    Message withdraw = ipc::encode(Withdraw::label, Withdraw::Request { 1 }, nullptr).value();
    Message refused_deposit = ipc::encode(Deposit::label, Deposit::Request { { 0 }, 55 }, nullptr).value();
    Message unknown = ipc::make_message(1234);
    return {
        from_client(ping(10)),           // deferred
        from_client(ping(11)),           // 10's late answer, then 11's
        from_kernel(1, 7),               // answered
        from_kernel(2, 3),               // dropped: receive
        from_client(withdraw),           // its handle refused: the error instead
        from_client(withdraw),           // its handle sent
        from_client(refused_deposit),    // InvalidRequest: handle 55 closed
        { {}, Error::NoReply },          // the reply found nobody: receive
        from_client(ping(12)),           // deferred
        from_client(unknown),            // UnknownLabel
        { {}, Error::PeerGone },         // likewise
        from_client(ping(13)),           // 12's late answer, then 13's
    };
}

template<typename P, typename Handler>
Error serve_by_turns(ipc::Transport& transport, ipc::Handle endpoint, Handler& handler)
{
    Result<Message> incoming = transport.receive(endpoint);
    while (!incoming.is_error())
        incoming = ipc::serve_one<P>(transport, endpoint, handler, incoming.value());
    return incoming.error();
}

} // namespace

TEST_CASE("libipc serve_one, turn by turn, sends what serve sends", "[libipc]")
{
    constexpr ipc::Handle kEndpoint = 7;
    LoggingTransport whole;
    whole.script = every_branch_script();
    EveryBranchVault whole_handler(whole);
    CHECK(ipc::serve<Vault>(whole, kEndpoint, whole_handler) == Error::BadHandle);

    LoggingTransport turns;
    turns.script = every_branch_script();
    EveryBranchVault turns_handler(turns);
    CHECK(serve_by_turns<Vault>(turns, kEndpoint, turns_handler) == Error::BadHandle);

    CHECK(turns.log == whole.log);
    // The script met every branch: a deferred request and its late answer,
    // the kernel's messages, the refused handle, the closed one, a receive
    // after NoReply and after PeerGone.
    auto count = [&](const std::string& prefix) {
        return std::count_if(whole.log.begin(), whole.log.end(),
            [&](const std::string& line) { return line.rfind(prefix, 0) == 0; });
    };
    CHECK(count("save_reply") == 2);
    CHECK(count("reply_to 100") == 1);
    CHECK(count("reply_to 101") == 1);
    CHECK(count("kernel") == 2);
    CHECK(count("refused") == 1);
    CHECK(count("close 55") == 1);
    CHECK(count("receive") == 6); // the first, two deferred, a dropped kernel message, NoReply, PeerGone
    CHECK(count("after_reply") == 7); // one a turn that replied (the refused reply and its retry: one turn)
    CHECK(whole_handler.saved == herald::abi::HandleNone);
}

namespace {

// The tasks the registry asks about: ids that run, and the program each runs.
class FakeTasks final : public ipc::registry::Tasks {
public:
    std::map<uint64_t, std::string> running; // task id -> program
    std::vector<ipc::Handle> closed;

    bool is_running(uint64_t id) override { return running.count(id) != 0; }
    bool runs_program(uint64_t id, const char* program) override
    {
        auto found = running.find(id);
        return found != running.end() && found->second == program;
    }
    bool program_of(uint64_t id, ipc::registry::Name& program) override
    {
        auto found = running.find(id);
        if (found == running.end())
            return false;
        program = ipc::registry::make_name(found->second.c_str()).value();
        return true;
    }
    void close(ipc::Handle handle) override { closed.push_back(handle); }
};

ipc::Result<ipc::Empty> register_as(ipc::registry::Service& service, ipc::Badge owner, const char* name, ipc::Handle handle)
{
    return service.handle(ipc::registry::Register {}, { ipc::registry::make_name(name).value(), handle }, owner);
}

} // namespace

TEST_CASE("libipc registry: owners, system names, the per-task limit", "[libipc]")
{
    namespace registry = ipc::registry;
    registry::Service service {};
    FakeTasks tasks;
    service.set_tasks(tasks);
    tasks.running = { { 10, "init" }, { 11, "kv" }, { 12, "hostile" }, { 13, "echo" } };
    auto lookup = [&](const char* name) { return service.handle(registry::Lookup {}, registry::make_name(name).value(), 12); };

    SECTION("a name belongs to its owner until the owner ends")
    {
        REQUIRE_FALSE(register_as(service, 13, "echo", 50).is_error());
        CHECK(register_as(service, 12, "echo", 51).error() == registry::kAlreadyRegistered);
        tasks.running.erase(13);
        CHECK(lookup("echo").error() == Error::NotFound); // gone with its owner, its handle closed
        CHECK(tasks.closed == std::vector<ipc::Handle> { 50 });
        REQUIRE_FALSE(register_as(service, 12, "echo", 52).is_error());
        CHECK(lookup("echo").value().handle == 52);
    }
    SECTION("system names: the kernel's servers, and the ones init reserves")
    {
        for (const char* name : { "memory", "registry", "console", "loader" })
            CHECK(register_as(service, 12, name, 50).error() == registry::kReserved);
        CHECK(service.handle(registry::Reserve {}, { registry::make_name("kv").value(), 0 }, 12).error() == Error::Denied);
        REQUIRE_FALSE(register_as(service, 12, "kv", 51).is_error()); // not reserved yet: first come
        REQUIRE_FALSE(service.handle(registry::Reserve {}, { registry::make_name("kv").value(), 0 }, 10).is_error());
        CHECK(lookup("kv").error() == Error::NotFound); // the squatter lost it
        CHECK(tasks.closed == std::vector<ipc::Handle> { 51 });
        CHECK(register_as(service, 12, "kv", 52).error() == registry::kReserved);
        REQUIRE_FALSE(register_as(service, 11, "kv", 53).is_error()); // a task of the program kv
        CHECK(lookup("kv").value().handle == 53);
        REQUIRE_FALSE(register_as(service, 0, "console", 54).is_error()); // the registry's own (built-in services)
    }
    SECTION("a name init reserved for the task it started: no other copy of the program takes it")
    {
        tasks.running[14] = "kv"; // a second kv, started by somebody else
        REQUIRE_FALSE(service.handle(registry::Reserve {}, { registry::make_name("kv").value(), 0 }, 10).is_error());
        REQUIRE_FALSE(register_as(service, 14, "kv", 50).is_error()); // came first, before init said which
        REQUIRE_FALSE(service.handle(registry::Reserve {}, { registry::make_name("kv").value(), 11 }, 10).is_error());
        CHECK(lookup("kv").error() == Error::NotFound); // the other copy lost it
        CHECK(register_as(service, 14, "kv", 51).error() == registry::kReserved);
        REQUIRE_FALSE(register_as(service, 11, "kv", 52).is_error());
        // init's kv ends and is restarted as task 15: the name is the new one's, the old entry goes.
        tasks.running.erase(11);
        tasks.running[15] = "kv";
        REQUIRE_FALSE(service.handle(registry::Reserve {}, { registry::make_name("kv").value(), 15 }, 10).is_error());
        CHECK(register_as(service, 14, "kv", 53).error() == registry::kReserved);
        REQUIRE_FALSE(register_as(service, 15, "kv", 54).is_error());
        CHECK(lookup("kv").value().handle == 54);
    }
    SECTION("ReservedFor names the task init started for a system name, 0 during a restart")
    {
        auto reserved_for = [&](const char* name) {
            return service.handle(registry::ReservedFor {}, registry::make_name(name).value(), 12);
        };
        CHECK(reserved_for("kv").error() == Error::NotFound); // not reserved
        CHECK(reserved_for("memory").error() == Error::NotFound); // the kernel's servers: no task named
        REQUIRE_FALSE(service.handle(registry::Reserve {}, { registry::make_name("kv").value(), 0 }, 10).is_error());
        CHECK(reserved_for("kv").value().task_id == 0); // any task of kv, until init says which
        REQUIRE_FALSE(service.handle(registry::Reserve {}, { registry::make_name("kv").value(), 11 }, 10).is_error());
        CHECK(reserved_for("kv").value().task_id == 11);
        CHECK(service.handle(registry::ReservedFor {}, registry::Name {}, 12).error() == Error::InvalidRequest);
    }
    SECTION("a copy of init may not reserve: only the task of init that reserved first")
    {
        tasks.running[20] = "init"; // a copy, started after the real one reserved
        REQUIRE_FALSE(service.handle(registry::Reserve {}, { registry::make_name("fat").value(), 0 }, 10).is_error());
        REQUIRE_FALSE(service.handle(registry::Reserve {}, { registry::make_name("fat").value(), 11 }, 10).is_error());
        CHECK(service.handle(registry::Reserve {}, { registry::make_name("fat").value(), 20 }, 20).error() == Error::Denied);
        CHECK(service.handle(registry::Reserve {}, { registry::make_name("fat").value(), 0 }, 20).error() == Error::Denied);
        CHECK(service.handle(registry::Reserve {}, { registry::make_name("copy").value(), 0 }, 20).error() == Error::Denied);
        CHECK(service.handle(registry::ReservedFor {}, registry::make_name("fat").value(), 12).value().task_id == 11);
        CHECK(service.handle(registry::ReservedFor {}, registry::make_name("copy").value(), 12).error() == Error::NotFound);
        REQUIRE_FALSE(service.handle(registry::Reserve {}, { registry::make_name("fat").value(), 0 }, 10).is_error());
        CHECK(service.handle(registry::ReservedFor {}, registry::make_name("fat").value(), 12).value().task_id == 0);
    }
    SECTION("a task holds at most kMaxNamesPerTask names; others still publish")
    {
        for (size_t i = 0; i < registry::kMaxNamesPerTask; ++i)
            REQUIRE_FALSE(register_as(service, 12, ("name " + std::to_string(i)).c_str(), 60).is_error());
        CHECK(register_as(service, 12, "one more", 60).error() == registry::kTooManyNames);
        REQUIRE_FALSE(register_as(service, 13, "echo", 61).is_error());
    }
    SECTION("the running tasks of one program hold at most kMaxNamesPerProgram names together")
    {
        size_t held = 0;
        uint64_t copy = 100;
        for (; copy < 100 + registry::kMaxEntries / registry::kMaxNamesPerTask; ++copy) {
            tasks.running[copy] = "hostile";
            for (size_t i = 0; i < registry::kMaxNamesPerTask; ++i) {
                auto registered = register_as(service, copy, ("copy " + std::to_string(copy) + " " + std::to_string(i)).c_str(), 80);
                if (registered.is_error()) {
                    CHECK(registered.error() == registry::kTooManyNames);
                    break;
                }
                ++held;
            }
        }
        CHECK(held == registry::kMaxNamesPerProgram);
        REQUIRE_FALSE(register_as(service, 13, "echo", 81).is_error()); // another program is not held back
        // A copy ends: its names no longer count, and another copy may take as many.
        tasks.running.erase(100);
        for (size_t i = 0; i < registry::kMaxNamesPerTask; ++i)
            REQUIRE_FALSE(register_as(service, copy - 1, ("again " + std::to_string(i)).c_str(), 82).is_error());
        CHECK(register_as(service, 12, "one more", 83).error() == registry::kTooManyNames); // "hostile" again
    }
    SECTION("a full table makes room by forgetting ended owners")
    {
        for (size_t i = 0; i < registry::kMaxEntries; ++i) {
            uint64_t owner = 100 + i / registry::kMaxNamesPerTask;
            tasks.running[owner] = "filler " + std::to_string(owner); // each a program of its own
            REQUIRE_FALSE(register_as(service, owner, ("fill " + std::to_string(i)).c_str(), 70).is_error());
        }
        CHECK(register_as(service, 13, "echo", 71).error() == registry::kFull);
        tasks.running.erase(100);
        REQUIRE_FALSE(register_as(service, 13, "echo", 71).is_error());
        CHECK(service.count() == registry::kMaxEntries - registry::kMaxNamesPerTask + 1);
    }
}

TEST_CASE("libipc registry: publish, look up, and every refusal", "[libipc]")
{
    namespace registry = ipc::registry;
    registry::Service service {};
    FakeTransport transport(nullptr);
    serve_with_handles<registry::Protocol>(transport, service);
    constexpr ipc::Handle kRegistry = herald::abi::HandleRegistry;
    ipc::Handle echo_endpoint = transport.client_handles.add(0xEC);

    REQUIRE_FALSE(registry::publish(transport, kRegistry, "echo", echo_endpoint).is_error());
    CHECK(transport.last_endpoint == kRegistry);
    CHECK(service.count() == 1);
    CHECK(transport.server_handles.entries.size() == 1); // the registry's copy

    auto found = registry::lookup(transport, kRegistry, "echo");
    REQUIRE_FALSE(found.is_error());
    CHECK(found.value() != echo_endpoint);
    CHECK(transport.client_handles.object(found.value()) == 0xEC);
    auto again = registry::lookup(transport, kRegistry, "echo");
    CHECK(again.value() != found.value()); // a fresh copy every time
    CHECK(transport.server_handles.entries.size() == 1);  // the registry keeps its own

    SECTION("names compare exactly")
    {
        for (const char* other : { "ech", "echo2", "Echo", "echo " })
            CHECK(registry::lookup(transport, kRegistry, other).error() == Error::NotFound);
    }
    SECTION("a name taken already: refused, and the registry drops the copy")
    {
        ipc::Handle impostor = transport.client_handles.add(0xBAD);
        CHECK(registry::publish(transport, kRegistry, "echo", impostor).error() == registry::kAlreadyRegistered);
        CHECK(transport.server_handles.entries.size() == 1);
        CHECK(transport.server_handles.closed.size() == 1);
        CHECK(transport.client_handles.object(registry::lookup(transport, kRegistry, "echo").value()) == 0xEC);
    }
    SECTION("bad names: refused by the helpers before sending, and by the registry")
    {
        int calls = transport.calls;
        CHECK(registry::publish(transport, kRegistry, "", echo_endpoint).error() == Error::InvalidRequest);
        CHECK(registry::lookup(transport, kRegistry, std::string(32, 'x').c_str()).error() == Error::InvalidRequest);
        CHECK(transport.calls == calls);

        ipc::Client<registry::Protocol> client(transport, kRegistry);
        registry::Name empty {};
        registry::Name unterminated;
        std::memset(unterminated.bytes, 'x', sizeof(unterminated.bytes));
        registry::Name trailing = registry::make_name("echo").value();
        trailing.bytes[10] = 'z'; // "echo\0\0...z": would not compare exactly
        for (const registry::Name& name : { empty, unterminated, trailing }) {
            CHECK(client.call<registry::Register>({ name, echo_endpoint }).error() == Error::InvalidRequest);
            CHECK(client.call<registry::Lookup>(name).error() == Error::InvalidRequest);
        }
        CHECK(service.count() == 1);
        CHECK(transport.server_handles.entries.size() == 1); // every refused copy closed
        CHECK(transport.server_handles.closed.size() == 3);
    }
    SECTION("the table fills up at kMaxEntries")
    {
        for (size_t i = 1; i < registry::kMaxEntries; ++i) {
            std::string name = "server " + std::to_string(i);
            REQUIRE_FALSE(registry::publish(transport, kRegistry, name.c_str(), echo_endpoint).is_error());
        }
        CHECK(service.count() == registry::kMaxEntries);
        CHECK(registry::publish(transport, kRegistry, "one more", echo_endpoint).error() == registry::kFull);
        CHECK(transport.server_handles.entries.size() == registry::kMaxEntries);
        CHECK(transport.client_handles.object(registry::lookup(transport, kRegistry, "server 63").value()) == 0xEC);
    }
    SECTION("lookup_waiting: a server that registers after a few yields")
    {
        ipc::Handle late = transport.client_handles.add(0x1A7E);
        int calls = transport.calls;
        int yields_before_publishing = 3;
        transport.on_yield = [&] {
            if (--yields_before_publishing == 0)
                REQUIRE_FALSE(registry::publish(transport, kRegistry, "late", late).is_error());
        };
        auto waited = registry::lookup_waiting(transport, kRegistry, "late", 10'000);
        REQUIRE_FALSE(waited.is_error());
        CHECK(transport.client_handles.object(waited.value()) == 0x1A7E);
        CHECK(transport.yields == 3);
        CHECK(transport.sleeps == 0);
        CHECK(transport.calls - calls == 1 + 4); // the publish, and four lookups
    }
    SECTION("lookup_waiting: a server that registers only after some sleeps")
    {
        ipc::Handle late = transport.client_handles.add(0x51EE);
        int sleeps_before_publishing = 7;
        transport.on_sleep = [&] {
            if (--sleeps_before_publishing == 0)
                REQUIRE_FALSE(registry::publish(transport, kRegistry, "sleepy", late).is_error());
        };
        auto waited = registry::lookup_waiting(transport, kRegistry, "sleepy", 10'000);
        REQUIRE_FALSE(waited.is_error());
        CHECK(transport.client_handles.object(waited.value()) == 0x51EE);
        CHECK(transport.yields == static_cast<int>(registry::kYieldingRetries)); // the yields come first
        CHECK(transport.sleeps == 7);
        CHECK(transport.slept_ms == 7 * static_cast<int>(registry::kSleepStepMs)); // a tick at a time
    }
    SECTION("lookup_waiting: a server that never registers, waited for patience_ms of sleep")
    {
        static_assert(registry::kYieldingRetries > 0);
        int calls = transport.calls;
        CHECK(registry::lookup_waiting(transport, kRegistry, "never", 250).error() == Error::NotFound);
        CHECK(transport.yields == static_cast<int>(registry::kYieldingRetries));
        static_assert(250 % registry::kSleepStepMs == 0);
        constexpr int kSleeps = 250 / registry::kSleepStepMs;
        CHECK(transport.sleeps == kSleeps);
        CHECK(transport.slept_ms == 250);
        CHECK(transport.calls - calls == 1 + static_cast<int>(registry::kYieldingRetries) + kSleeps);
    }
    SECTION("lookup_waiting: patience 0 asks once, without yielding or sleeping")
    {
        int calls = transport.calls;
        CHECK(registry::lookup_waiting(transport, kRegistry, "never", 0).error() == Error::NotFound);
        CHECK(transport.calls - calls == 1);
        CHECK(transport.yields == 0);
        CHECK(transport.sleeps == 0);
        CHECK_FALSE(registry::lookup_waiting(transport, kRegistry, "echo", 0).is_error());
    }
    SECTION("lookup_waiting: a transport that can neither yield nor sleep still gives up")
    {
        transport.can_yield = false;
        transport.can_sleep = false;
        int calls = transport.calls;
        CHECK(registry::lookup_waiting(transport, kRegistry, "never", 100).error() == Error::NotFound);
        CHECK(transport.calls - calls == 1 + static_cast<int>(registry::kYieldingRetries + 100 / registry::kSleepStepMs));
        CHECK(transport.yields == 0);
        CHECK(transport.sleeps == 0);
    }
    SECTION("lookup_waiting: a transport that cannot sleep yields instead")
    {
        transport.can_sleep = false;
        CHECK(registry::lookup_waiting(transport, kRegistry, "never", 100).error() == Error::NotFound);
        CHECK(transport.yields == static_cast<int>(registry::kYieldingRetries + 100 / registry::kSleepStepMs));
        CHECK(transport.sleeps == 0);
    }
    SECTION("lookup_waiting does not retry other errors")
    {
        int calls = transport.calls;
        transport.replies_transfer_handles = false; // the kernel before the change
        CHECK(registry::lookup_waiting(transport, kRegistry, "echo", 10'000).error() == Error::BadMessage);
        CHECK(transport.calls - calls == 1);
        CHECK(transport.yields == 0);
        CHECK(transport.sleeps == 0);
        FakeTransport gone(nullptr);
        CHECK(registry::lookup_waiting(gone, kRegistry, "echo", 10'000).error() == Error::PeerGone);
        CHECK(gone.calls == 1);
        CHECK(gone.yields == 0);
        CHECK(gone.sleeps == 0);
        CHECK(registry::lookup_waiting(transport, kRegistry, std::string(32, 'x').c_str(), 10'000).error()
            == Error::InvalidRequest);
        CHECK(transport.calls - calls == 1); // refused before sending, not retried
    }
}

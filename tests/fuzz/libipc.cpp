// Fuzzes libipc's message decoding (libipc/include/libipc): the MessageInfo
// word the kernel hands over (decode_info), a server's dispatch of a
// received message into the typed request of every protocol in
// libipc/include/libipc/protocols/, and a client stub's decoding of the
// reply a (hostile) server sends back.
//
// Input: a sequence of messages, each as the kernel delivers it (an RSI
// word through decode_info, eight words, a badge, payload bytes in an
// exact-size IPC buffer), each followed by what the handler answers. For
// every message:
//   - dispatch with a probing handler: a request reaches the handler only if
//     it has exactly its operation's shape, with exactly the message's words,
//     payload and handle; the reply the handler returns reaches the client
//     unchanged (it decodes back to the same value) or as a well-formed
//     error reply; a handle no one took is handed back for closing;
//   - dispatch into the real portable servers (echo::Service,
//     registry::Service), which keep their own invariants;
//   - a client call whose reply is the message: a reply decodes only if it
//     has the operation's label and shape, and a handle a bad reply brought
//     is closed.
#include "fuzz.hpp"
#include "libipc/protocol.hpp"
#include "libipc/protocols/console.hpp"
#include "libipc/protocols/echo.hpp"
#include "libipc/protocols/loader.hpp"
#include "libipc/protocols/memory.hpp"
#include "libipc/protocols/registry.hpp"

#include <fuzzer/FuzzedDataProvider.h>
#include <memory>
#include <vector>

using ipc::Error;
using ipc::Message;
using ipc::Result;

namespace {

constexpr size_t kPayload = ipc::kMaxPayload;

// An IPC buffer of exactly kMaxPayload bytes: a read past it is caught.
struct Buffer {
    std::unique_ptr<uint8_t[]> bytes { new uint8_t[kPayload]() };
    uint8_t* get() { return bytes.get(); }
};

// memcpy, but for an empty vector too (whose data() may be null).
void copy_bytes(void* destination, const std::vector<uint8_t>& bytes)
{
    if (!bytes.empty())
        std::memcpy(destination, bytes.data(), bytes.size());
}

// ---- generic checks over the request and reply shapes ----

template<typename T>
inline constexpr bool is_bytes = __is_same(T, ipc::Bytes);
template<typename T>
inline constexpr bool is_with_bytes = false;
template<typename F>
inline constexpr bool is_with_bytes<ipc::WithBytes<F>> = true;

// Whether two decoded values are the same value (Bytes by content).
template<typename T>
bool same(const T& a, const T& b)
{
    if constexpr (ipc::carries_handle<T>)
        return a.handle == b.handle && same(a.value, b.value);
    else if constexpr (is_bytes<T>)
        return a.length == b.length && (a.length == 0 || std::memcmp(a.data, b.data, a.length) == 0);
    else if constexpr (is_with_bytes<T>)
        return same(a.fixed, b.fixed) && same(a.bytes, b.bytes);
    else if constexpr (__is_empty(T))
        return true;
    else
        return std::memcmp(&a, &b, sizeof(T)) == 0;
}

// A decoded request holds exactly what the message carried.
template<typename T>
void check_request(const T& request, const Message& message, const uint8_t* payload)
{
    if constexpr (ipc::carries_handle<T>) {
        FUZZ_CHECK(message.transfer_handle && request.handle == message.words[7] && request.handle != 0);
        check_request(request.value, message, payload);
    } else if constexpr (is_bytes<T>) {
        FUZZ_CHECK(request.length == message.payload_length && request.length <= kPayload);
        FUZZ_CHECK(request.length == 0 ? request.data == nullptr : request.data == payload);
    } else if constexpr (is_with_bytes<T>) {
        check_request(request.fixed, message, payload);
        check_request(request.bytes, message, payload);
    } else if constexpr (__is_empty(T)) {
        FUZZ_CHECK(message.payload_length == 0);
    } else if constexpr (ipc::shape_of<T>() == ipc::Shape::Payload) {
        FUZZ_CHECK(message.payload_length == sizeof(T) && std::memcmp(&request, payload, sizeof(T)) == 0);
    } else {
        FUZZ_CHECK(message.payload_length == 0 && std::memcmp(&request, message.words, sizeof(T)) == 0);
    }
}

// A reply value from the fuzzer's bytes. Bytes come from `scratch` or from
// the IPC buffer itself (a server may answer with bytes still there), and
// may be one byte too long for the payload; `kept` keeps a copy of them.
template<typename T>
T make_value(FuzzedDataProvider& in, uint8_t* scratch, uint8_t* payload, std::vector<uint8_t>& kept)
{
    T value {};
    if constexpr (ipc::carries_handle<T>) {
        value.value = make_value<decltype(T::value)>(in, scratch, payload, kept);
        value.handle = in.ConsumeBool() ? 0 : in.ConsumeIntegralInRange<uint64_t>(1, 300);
    } else if constexpr (is_bytes<T>) {
        bool from_payload = in.ConsumeBool();
        uint32_t offset = from_payload ? in.ConsumeIntegralInRange<uint32_t>(0, kPayload) : 0;
        uint32_t limit = from_payload ? kPayload - offset : kPayload + 1;
        value.length = in.ConsumeIntegralInRange<uint32_t>(0, limit);
        value.data = from_payload ? payload + offset : scratch;
        if (!from_payload) {
            std::vector<uint8_t> bytes = in.ConsumeBytes<uint8_t>(value.length);
            copy_bytes(scratch, bytes);
        }
        kept.assign(value.data, value.data + value.length); // what the handler answered
    } else if constexpr (is_with_bytes<T>) {
        value.fixed = make_value<decltype(T::fixed)>(in, scratch, payload, kept);
        value.bytes = make_value<ipc::Bytes>(in, scratch, payload, kept);
    } else if constexpr (!__is_empty(T)) {
        std::vector<uint8_t> bytes = in.ConsumeBytes<uint8_t>(sizeof(T));
        copy_bytes(&value, bytes);
    }
    return value;
}

// `value` with its bytes pointing at `kept`, the copy taken when it was made.
template<typename T>
T as_kept(T value, const std::vector<uint8_t>& kept)
{
    if constexpr (ipc::carries_handle<T>)
        value.value = as_kept(value.value, kept);
    else if constexpr (is_bytes<T>)
        value.data = kept.data();
    else if constexpr (is_with_bytes<T>)
        value.bytes.data = kept.data();
    return value;
}

// Every Error there is, as error replies carry them.
constexpr Error kWireErrors[] = { Error::BadNumber, Error::BadAddress, Error::BadLength, Error::BadArgument,
    Error::BadHandle, Error::NoRights, Error::PeerGone, Error::TimedOut, Error::NoMemory, Error::NoReply,
    Error::BadMessage, Error::UnknownLabel, Error::Unsupported, Error::InvalidRequest, Error::NotFound, Error::Denied,
    Error::Deferred, Error::ServerRestarted, ipc::protocol_error(0), ipc::protocol_error(1), static_cast<Error>(-5000) };

constexpr Error kHandlerErrors[] = { Error::InvalidRequest, Error::NotFound, Error::Denied, Error::Deferred,
    Error::NoMemory, ipc::protocol_error(0), ipc::protocol_error(1) };

// ---- a server: dispatch into a handler that checks what it gets ----

struct Probe {
    Probe(FuzzedDataProvider& fuzzer, const Message& received, uint8_t* buffer, uint8_t* bytes)
        : in(fuzzer), message(received), payload(buffer), scratch(bytes)
    {
    }

    FuzzedDataProvider& in;
    const Message& message;
    uint8_t* payload;
    uint8_t* scratch;
    bool called = false;
    bool succeeded = false;
    Error error = Error::BadMessage;
    std::vector<uint8_t> kept;
    // Checks the reply message against the value the handler returned.
    bool (*matches)(const Probe&, const Message&, const uint8_t*) = nullptr;
    const void* reply = nullptr;
    std::shared_ptr<void> reply_storage;

    template<typename Op>
    Result<typename Op::Reply> handle(Op, const typename Op::Request& request, ipc::Badge badge)
    {
        using Reply = typename Op::Reply;
        FUZZ_CHECK(!called); // one operation per message
        FUZZ_CHECK(message.label == Op::label);
        FUZZ_CHECK(badge == message.badge);
        check_request(request, message, payload);
        called = true;
        if (in.ConsumeBool()) {
            error = in.PickValueInArray(kHandlerErrors);
            return error;
        }
        succeeded = true;
        auto value = std::make_shared<Reply>(make_value<Reply>(in, scratch, payload, kept));
        reply_storage = value;
        reply = value.get();
        matches = [](const Probe& probe, const Message& out, const uint8_t* out_payload) {
            auto decoded = ipc::decode<Reply>(out, out_payload);
            return !decoded.is_error() && same(decoded.value(), as_kept(*static_cast<const Reply*>(probe.reply), probe.kept));
        };
        return *value;
    }
};

template<typename... Ops>
bool has_label(ipc::Protocol<Ops...>, uint32_t label)
{
    return ((label == Ops::label) || ...);
}

template<typename P>
void serve_one(FuzzedDataProvider& in, const Message& message, Buffer& payload, uint8_t* scratch)
{
    Probe probe { in, message, payload.get(), scratch };
    Message out;
    ipc::Handle unclaimed = ipc::dispatch<P>(message, payload.get(), probe, out);

    // A request's handle is the handler's only when it took the request.
    FUZZ_CHECK(unclaimed == (probe.succeeded ? ipc::Handle { 0 } : ipc::received_handle(message)));
    FUZZ_CHECK(out.payload_length <= kPayload);
    if (message.label == ipc::kPingLabel) { // the heartbeat: answered by dispatch itself, whatever else came
        FUZZ_CHECK(!probe.called && unclaimed == ipc::received_handle(message));
        FUZZ_CHECK(out.label == ipc::kPingLabel && out.payload_length == 0 && !out.transfer_handle);
        return;
    }
    if (ipc::is_error_reply(out)) {
        FUZZ_CHECK(out.words[1] == message.label && out.payload_length == 0 && !out.transfer_handle);
        auto code = static_cast<Error>(static_cast<int64_t>(out.words[0]));
        if (!has_label(P {}, message.label))
            FUZZ_CHECK(!probe.called && code == Error::UnknownLabel);
        else if (!probe.called)
            FUZZ_CHECK(code == Error::BadMessage); // the request did not decode
        else if (!probe.succeeded)
            FUZZ_CHECK(code == probe.error);
        else // the reply could not be encoded: a bad handle or too many bytes
            FUZZ_CHECK(code == Error::BadHandle || code == Error::BadLength);
        return;
    }
    FUZZ_CHECK(probe.succeeded && out.label == message.label);
    FUZZ_CHECK(probe.matches(probe, out, payload.get()));
}

// ---- the real portable servers ----

void serve_real(const Message& message, Buffer& payload, ipc::echo::Service& echo, ipc::registry::Service& registry,
    bool to_registry)
{
    Message out;
    if (to_registry) {
        (void)ipc::dispatch<ipc::registry::Protocol>(message, payload.get(), registry, out);
        FUZZ_CHECK(registry.count() <= ipc::registry::kMaxEntries);
    } else {
        (void)ipc::dispatch<ipc::echo::Protocol>(message, payload.get(), echo, out);
        if (!ipc::is_error_reply(out) && message.label == ipc::echo::Reverse::label)
            FUZZ_CHECK(out.payload_length == message.payload_length);
    }
    FUZZ_CHECK(out.payload_length <= kPayload);
    FUZZ_CHECK(ipc::is_error_reply(out) || out.label == message.label);
}

// ---- a client: the message is the reply to its call ----

class ReplayTransport final : public ipc::Transport {
public:
    Message reply;
    std::vector<uint8_t> reply_payload;
    std::vector<ipc::Handle> closed;
    Buffer buffer;

    Result<Message> call(ipc::Handle, const Message& request) override
    {
        FUZZ_CHECK(request.payload_length <= kPayload);
        std::memcpy(buffer.get(), reply_payload.data(), reply_payload.size());
        return reply;
    }
    Result<void> close(ipc::Handle handle) override
    {
        closed.push_back(handle);
        return {};
    }
    uint8_t* payload() override { return buffer.get(); }
};

template<typename P, typename Op>
void call_one(const Message& reply, const uint8_t* payload)
{
    ReplayTransport transport;
    transport.reply = reply;
    transport.reply_payload.assign(payload, payload + kPayload);
    ipc::Client<P> client(transport, 1);
    typename Op::Request request {};
    if constexpr (ipc::carries_handle<typename Op::Request>)
        request.handle = 5; // one of the caller's: a request with no handle is refused before it goes
    auto result = client.template call<Op>(request);
    if (!result.is_error()) {
        FUZZ_CHECK(reply.label == Op::label);
        FUZZ_CHECK(transport.closed.empty());
        return;
    }
    // Deferred is a handler's word to ipc::serve, "never sent" (result.hpp):
    // a client that got it from a server would pass on a reply that serve
    // then never sends.
    FUZZ_CHECK(result.error() != Error::Deferred);
    // A handle that came with a reply that did not decode is dropped, once.
    if (ipc::received_handle(reply) != 0)
        FUZZ_CHECK(transport.closed.size() == 1 && transport.closed[0] == ipc::received_handle(reply));
    else
        FUZZ_CHECK(transport.closed.empty());
    if (reply.label != Op::label && !ipc::is_error_reply(reply))
        FUZZ_CHECK(result.error() == Error::BadMessage);
}

template<typename... Ops>
void call_any(ipc::Protocol<Ops...>, size_t index, const Message& reply, const uint8_t* payload)
{
    size_t i = 0;
    ((i++ == index ? call_one<ipc::Protocol<Ops...>, Ops>(reply, payload) : void()), ...);
}

// ---- messages ----

// RSI as the kernel delivers it; mostly well-formed, with a small label so
// that it names an operation, sometimes any 64 bits.
uint64_t next_info(FuzzedDataProvider& in)
{
    if (in.ConsumeIntegralInRange<int>(0, 7) == 0)
        return in.ConsumeIntegral<uint64_t>();
    herald::abi::MessageInfo info {};
    info.label = in.ConsumeBool() ? in.ConsumeIntegralInRange<uint32_t>(0, 6)
        : in.ConsumeBool()        ? ipc::kErrorLabel
                                  : ipc::kPingLabel;
    switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: info.payload_length = in.ConsumeIntegralInRange<uint32_t>(0, 80); break;
    case 1: info.payload_length = in.ConsumeIntegralInRange<uint32_t>(0, kPayload); break;
    default: info.payload_length = 0; break; // most messages carry words only
    }
    info.transfer_handle = in.ConsumeBool();
    return info.encode();
}

// The next message, or false when the input is used up or the info word
// does not decode (which must then be a word the ABI does not allow).
bool next_message(FuzzedDataProvider& in, Message& message, Buffer& payload)
{
    if (in.remaining_bytes() == 0)
        return false;
    uint64_t raw = next_info(in);
    message = Message {};
    auto decoded = ipc::decode_info(raw, message);
    bool reserved = (raw & herald::abi::MessageInfo::kReservedBits) != 0;
    bool too_long = ((raw >> herald::abi::MessageInfo::kPayloadShift) & herald::abi::MessageInfo::kPayloadMask) > kPayload;
    FUZZ_CHECK(decoded.is_error() == (reserved || too_long));
    if (decoded.is_error())
        return true; // the transport would have refused it; go on with the next
    FUZZ_CHECK(ipc::encode_info(message).value() == raw); // the same word back
    for (uint64_t& word : message.words) {
        switch (in.ConsumeIntegralInRange<int>(0, 3)) {
        case 0: word = in.ConsumeIntegralInRange<uint64_t>(0, 8); break;              // labels, small sizes, handles
        case 1: word = static_cast<uint64_t>(in.PickValueInArray(kWireErrors)); break; // an Error
        default: word = in.ConsumeIntegral<uint64_t>(); break;
        }
    }
    message.badge = in.ConsumeBool() ? in.ConsumeIntegralInRange<uint64_t>(0, 8) : in.ConsumeIntegral<uint64_t>();
    std::memset(payload.get(), 0, kPayload);
    std::vector<uint8_t> bytes = in.ConsumeBytes<uint8_t>(message.payload_length);
    copy_bytes(payload.get(), bytes);
    return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    FuzzedDataProvider in(data, size);
    Buffer payload;
    std::unique_ptr<uint8_t[]> scratch(new uint8_t[kPayload + 1]());
    auto echo = std::make_unique<ipc::echo::Service>();
    auto registry = std::make_unique<ipc::registry::Service>();
    Message message;
    for (int count = 0; count < 64 && next_message(in, message, payload); ++count) {
        if (message.label == 0 && message.payload_length == 0 && !message.transfer_handle && in.remaining_bytes() == 0)
            break;
        Buffer original;
        std::memcpy(original.get(), payload.get(), kPayload);
        switch (in.ConsumeIntegralInRange<int>(0, 7)) {
        case 0: serve_one<ipc::console::Protocol>(in, message, payload, scratch.get()); break;
        case 1: serve_one<ipc::echo::Protocol>(in, message, payload, scratch.get()); break;
        case 2: serve_one<ipc::loader::Protocol>(in, message, payload, scratch.get()); break;
        case 3: serve_one<ipc::memory::Protocol>(in, message, payload, scratch.get()); break;
        case 4: serve_one<ipc::registry::Protocol>(in, message, payload, scratch.get()); break;
        case 5: serve_real(message, payload, *echo, *registry, in.ConsumeBool()); break;
        default: {
            size_t op = in.ConsumeIntegralInRange<size_t>(0, 4);
            switch (in.ConsumeIntegralInRange<int>(0, 4)) {
            case 0: call_any(ipc::console::Protocol {}, op % 3, message, original.get()); break;
            case 1: call_any(ipc::echo::Protocol {}, op % 3, message, original.get()); break;
            case 2: call_any(ipc::loader::Protocol {}, op, message, original.get()); break;
            case 3: call_any(ipc::memory::Protocol {}, op, message, original.get()); break;
            default: call_any(ipc::registry::Protocol {}, op % 2, message, original.get()); break;
            }
        }
        }
    }
    return 0;
}

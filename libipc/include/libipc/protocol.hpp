// Protocols declared once, giving typed client stubs and server dispatch.
//
// An operation is a type with a label and a request and reply type:
//
//     struct Ping {
//         static constexpr uint32_t label = 1;
//         struct Request { uint64_t value; };
//         struct Reply { uint64_t value; };
//     };
//     using Echo = ipc::Protocol<Ping, Sum, Reverse>;
//
// A client calls `ipc::Client<Echo>(transport, endpoint).call<Ping>({ 42 })`
// and gets a Result<Ping::Reply>; a server passes each message it receives to
// `ipc::dispatch<Echo>(...)` (or runs `ipc::serve<Echo>(...)`), which calls
// `handler.handle(Ping{}, request, badge)` and sends what it returns.
//
// How a request or reply travels depends on its type (its "shape"):
//   Words          a trivially copyable struct of at most 8 words, copied
//                  into the message words; no payload
//   Payload        the same, declaring `static constexpr bool ipc_payload =
//                  true`: up to kMaxPayload bytes, copied into the IPC buffer
//   Bytes          ipc::Bytes: variable-length bytes in the IPC buffer
//   WordsAndBytes  ipc::WithBytes<F>: a Words struct F plus Bytes
// Structs must have no padding (__has_unique_object_representations), so no
// uninitialised stack bytes ever reach another task; add explicit reserved
// fields instead. Prefer fixed-width integers to bool and enums: a decoded
// value comes from another task and is only as valid as that task made it.
//
// Errors are typed on the wire too: a handler returning an Error, a request
// that does not decode, or a label the protocol lacks all produce an error
// reply (label kErrorLabel, word 0 the Error, word 1 the request's label),
// which the client stub turns back into that Error.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "libipc/message.hpp"
#include "libipc/result.hpp"
#include "libipc/transport.hpp"

namespace ipc {

// Bytes in the payload. Sending: any memory of the sender's (copied into
// the IPC buffer). Received: points into the receiver's IPC buffer, valid
// until its next IPC operation.
struct Bytes {
    const uint8_t* data = nullptr;
    uint32_t length = 0;
};

// A fixed part in the words plus bytes in the payload.
template<typename Fixed>
struct WithBytes {
    Fixed fixed;
    Bytes bytes;
};

// For an operation with nothing to say in one direction.
struct Empty { };

enum class Shape { Words, Payload, Bytes, WordsAndBytes, Invalid };

namespace detail {

template<typename T>
inline constexpr bool is_bytes = false;
template<>
inline constexpr bool is_bytes<Bytes> = true;

template<typename T>
inline constexpr bool is_with_bytes = false;
template<typename Fixed>
inline constexpr bool is_with_bytes<WithBytes<Fixed>> = true;

template<typename T>
constexpr bool declares_payload()
{
    if constexpr (requires { T::ipc_payload; })
        return static_cast<bool>(T::ipc_payload);
    else
        return false;
}

// Copyable with memcpy, and every byte is part of the value (no padding).
// Empty structs have no value bytes at all and are never copied.
template<typename T>
inline constexpr bool is_plain = __is_trivially_copyable(T) && (__is_empty(T) || __has_unique_object_representations(T));

} // namespace detail

template<typename T>
constexpr Shape shape_of()
{
    if constexpr (detail::is_bytes<T>)
        return Shape::Bytes;
    else if constexpr (detail::is_with_bytes<T>)
        return shape_of<decltype(T::fixed)>() == Shape::Words ? Shape::WordsAndBytes : Shape::Invalid;
    else if constexpr (!detail::is_plain<T>)
        return Shape::Invalid;
    else if constexpr (detail::declares_payload<T>())
        return sizeof(T) <= kMaxPayload ? Shape::Payload : Shape::Invalid;
    else
        return sizeof(T) <= kMessageWordBytes ? Shape::Words : Shape::Invalid;
}

template<typename T>
concept Encodable = shape_of<T>() != Shape::Invalid;

namespace detail {

// The same test as Encodable, one reason at a time, so that a type that
// cannot travel fails to compile with a message saying why.
template<typename T>
constexpr void check_encodable()
{
    if constexpr (is_with_bytes<T>) {
        static_assert(shape_of<decltype(T::fixed)>() == Shape::Words,
            "ipc::WithBytes<F>: F must fit in the 8 message words (the payload holds the bytes)");
    } else if constexpr (!is_bytes<T>) {
        static_assert(__is_trivially_copyable(T), "an IPC request or reply must be trivially copyable");
        static_assert(__is_empty(T) || __has_unique_object_representations(T),
            "an IPC request or reply must have no padding (nor floating-point fields): add explicit "
            "reserved fields, so that no uninitialised bytes go to another task");
        if constexpr (declares_payload<T>())
            static_assert(sizeof(T) <= kMaxPayload, "an ipc_payload struct must fit in the 4096-byte payload");
        else
            static_assert(sizeof(T) <= kMessageWordBytes,
                "this struct does not fit in the 8 message words: declare "
                "`static constexpr bool ipc_payload = true;` in it to carry it in the payload");
    }
}

inline Result<void> put_bytes(const Bytes& bytes, Message& message, uint8_t* payload)
{
    if (bytes.length > kMaxPayload)
        return Error::BadLength;
    if (bytes.length > 0) {
        if (!bytes.data)
            return Error::BadArgument;
        if (!payload)
            return Error::Unsupported;
        // memmove: a server may answer with bytes still in its IPC buffer.
        __builtin_memmove(payload, bytes.data, bytes.length);
    }
    message.payload_length = bytes.length;
    return {};
}

inline Result<Bytes> get_bytes(const Message& message, const uint8_t* payload)
{
    if (message.payload_length > kMaxPayload)
        return Error::BadMessage;
    if (message.payload_length > 0 && !payload)
        return Error::BadMessage;
    return Bytes { message.payload_length ? payload : nullptr, message.payload_length };
}

template<typename T>
void put_words(const T& value, Message& message)
{
    if constexpr (!__is_empty(T))
        __builtin_memcpy(message.words, &value, sizeof(T));
}

template<typename T>
T get_words(const Message& message)
{
    T value {};
    if constexpr (!__is_empty(T))
        __builtin_memcpy(&value, message.words, sizeof(T));
    return value;
}

} // namespace detail

// A message with `label` carrying `value`; payload bytes go to `payload`
// (the sending transport's IPC buffer). Unused words are zero.
template<typename T>
Result<Message> encode(uint32_t label, const T& value, uint8_t* payload)
{
    detail::check_encodable<T>();
    constexpr Shape shape = shape_of<T>();
    Message message = make_message(label);
    if constexpr (shape == Shape::Words) {
        detail::put_words(value, message);
    } else if constexpr (shape == Shape::Payload) {
        if (!payload)
            return Error::Unsupported;
        __builtin_memcpy(payload, &value, sizeof(T));
        message.payload_length = sizeof(T);
    } else if constexpr (shape == Shape::Bytes) {
        IPC_TRY(detail::put_bytes(value, message, payload));
    } else if constexpr (shape == Shape::WordsAndBytes) {
        detail::put_words(value.fixed, message);
        IPC_TRY(detail::put_bytes(value.bytes, message, payload));
    } else {
        return Error::BadMessage; // not reached: check_encodable() has failed the build
    }
    return message;
}

// The value a message carries, if it has exactly the shape T promises;
// BadMessage if not. Does not look at the label (decode_reply and dispatch
// do). Typed protocols transfer no handles, so a message with one is bad.
template<typename T>
Result<T> decode(const Message& message, const uint8_t* payload)
{
    detail::check_encodable<T>();
    constexpr Shape shape = shape_of<T>();
    if (message.transfer_handle)
        return Error::BadMessage;
    if constexpr (shape == Shape::Words) {
        if (message.payload_length != 0)
            return Error::BadMessage;
        return detail::get_words<T>(message);
    } else if constexpr (shape == Shape::Payload) {
        if (message.payload_length != sizeof(T) || !payload)
            return Error::BadMessage;
        T value {};
        __builtin_memcpy(&value, payload, sizeof(T));
        return value;
    } else if constexpr (shape == Shape::Bytes) {
        return detail::get_bytes(message, payload);
    } else if constexpr (shape == Shape::WordsAndBytes) {
        T value {};
        value.fixed = detail::get_words<decltype(T::fixed)>(message);
        value.bytes = IPC_TRY(detail::get_bytes(message, payload));
        return value;
    } else {
        return Error::BadMessage; // not reached: check_encodable() has failed the build
    }
}

// The Error an error reply carries, checking that it answers a request
// labelled `request_label`; BadMessage if the reply is not a well-formed
// error reply.
constexpr Error decode_error_reply(const Message& reply, uint32_t request_label)
{
    if (reply.label != kErrorLabel || reply.payload_length != 0 || reply.transfer_handle)
        return Error::BadMessage;
    if (reply.words[1] != request_label)
        return Error::BadMessage;
    int64_t code = static_cast<int64_t>(reply.words[0]);
    if (code >= 0)
        return Error::BadMessage; // every Error is negative
    return static_cast<Error>(code);
}

// An operation: a label no other operation of its protocol has, and a
// request and reply type that can travel.
template<typename Op>
concept Operation = requires {
    Op::label;
    typename Op::Request;
    typename Op::Reply;
} && __is_same(decltype(Op::label), const uint32_t) && Op::label != kErrorLabel
    && Encodable<typename Op::Request> && Encodable<typename Op::Reply>;

namespace detail {

template<typename... Ops>
constexpr bool labels_are_distinct()
{
    if constexpr (sizeof...(Ops) == 0) {
        return true;
    } else {
        const uint32_t labels[] = { Ops::label... };
        for (size_t i = 0; i < sizeof...(Ops); ++i) {
            for (size_t j = i + 1; j < sizeof...(Ops); ++j) {
                if (labels[i] == labels[j])
                    return false;
            }
        }
        return true;
    }
}

} // namespace detail

template<typename... Ops>
struct Protocol {
    static constexpr size_t operation_count = sizeof...(Ops);

    template<typename Op>
    static constexpr bool contains = (__is_same(Op, Ops) || ...);

    // Checked where the protocol is used (Client, dispatch), not here, so
    // that tests can ask about a protocol that is not valid.
    static constexpr bool is_valid = (Operation<Ops> && ...) && detail::labels_are_distinct<Ops...>();
};

// The reply to a call of Op: its Reply, the Error of an error reply, or
// BadMessage for a reply with the wrong label or shape.
template<typename Op>
Result<typename Op::Reply> decode_reply(const Message& reply, const uint8_t* payload)
{
    if (reply.label == kErrorLabel)
        return decode_error_reply(reply, Op::label);
    if (reply.label != Op::label)
        return Error::BadMessage;
    return decode<typename Op::Reply>(reply, payload);
}

// Typed calls to a server speaking protocol P through `endpoint`.
template<typename P>
class Client {
    static_assert(P::is_valid, "ipc::Client<P>: P has an operation that is not an ipc::Operation, or two with one label");

public:
    constexpr Client(Transport& transport, Handle endpoint) : m_transport(&transport), m_endpoint(endpoint) { }

    template<typename Op>
    Result<typename Op::Reply> call(const typename Op::Request& request)
    {
        static_assert(P::template contains<Op>, "ipc::Client<P>::call<Op>: Op is not an operation of P");
        Message message = IPC_TRY(encode(Op::label, request, m_transport->payload()));
        Message reply = IPC_TRY(m_transport->call(m_endpoint, message));
        return decode_reply<Op>(reply, m_transport->payload());
    }

    Transport& transport() const { return *m_transport; }
    Handle endpoint() const { return m_endpoint; }

private:
    Transport* m_transport;
    Handle m_endpoint;
};

namespace detail {

template<typename T, typename U>
concept SameAs = __is_same(T, U);

template<typename Op, typename Handler>
void handle_operation(const Message& in, uint8_t* payload, Handler& handler, Message& out)
{
    using Request = typename Op::Request;
    using Reply = typename Op::Reply;
    static_assert(requires(Handler& h, const Request& request, Badge badge) { h.handle(Op {}, request, badge); },
        "ipc::dispatch: the handler has no handle(Op, const Op::Request&, ipc::Badge) for an operation of its protocol");
    if constexpr (requires(Handler& h, const Request& request, Badge badge) { h.handle(Op {}, request, badge); }) {
        static_assert(requires(Handler& h, const Request& request, Badge badge) {
            { h.handle(Op {}, request, badge) } -> SameAs<Result<Reply>>;
        }, "ipc::dispatch: handle(Op, ...) must return ipc::Result<Op::Reply>");
    }

    auto request = decode<Request>(in, payload);
    if (request.is_error()) {
        out = make_error_reply(request.error(), Op::label);
        return;
    }
    Result<Reply> reply = handler.handle(Op {}, request.value(), in.badge);
    if (reply.is_error()) {
        out = make_error_reply(reply.error(), Op::label);
        return;
    }
    auto encoded = encode(Op::label, reply.value(), payload);
    out = encoded.is_error() ? make_error_reply(encoded.error(), Op::label) : encoded.value();
}

template<typename P>
struct Dispatcher;

template<typename... Ops>
struct Dispatcher<Protocol<Ops...>> {
    template<typename Handler>
    static void dispatch(const Message& in, uint8_t* payload, Handler& handler, Message& out)
    {
        // The first operation whose label matches handles the message.
        bool known = ((in.label == Ops::label ? (handle_operation<Ops>(in, payload, handler, out), true) : false) || ...);
        if (!known)
            out = make_error_reply(Error::UnknownLabel, in.label);
    }
};

} // namespace detail

// Answers one request: decodes `in` (payload bytes in `payload`, the
// receiving transport's IPC buffer) by its label, calls the handler, and
// leaves in `out` the reply to send, with its payload already in `payload`.
// Never fails: whatever goes wrong becomes an error reply.
template<typename P, typename Handler>
void dispatch(const Message& in, uint8_t* payload, Handler& handler, Message& out)
{
    static_assert(P::is_valid, "ipc::dispatch<P>: P has an operation that is not an ipc::Operation, or two with one label");
    detail::Dispatcher<P>::dispatch(in, payload, handler, out);
}

template<typename P, typename Handler>
void dispatch(Transport& transport, const Message& in, Handler& handler, Message& out)
{
    dispatch<P>(in, transport.payload(), handler, out);
}

// A server's loop: receive, then forever dispatch and reply-and-receive.
// Returns only when receiving fails (the endpoint handle is bad, or the
// transport gives up), with that error. A reply nobody waits for any more
// (the caller died, or the message was a send rather than a call) is not a
// reason to stop: the loop receives afresh.
template<typename P, typename Handler>
Error serve(Transport& transport, Handle endpoint, Handler& handler)
{
    Result<Message> incoming = transport.receive(endpoint);
    for (;;) {
        if (incoming.is_error())
            return incoming.error();
        Message reply;
        dispatch<P>(transport, incoming.value(), handler, reply);
        incoming = transport.reply_receive(endpoint, reply);
        if (incoming.is_error() && (incoming.error() == Error::NoReply || incoming.error() == Error::PeerGone))
            incoming = transport.receive(endpoint);
    }
}

} // namespace ipc

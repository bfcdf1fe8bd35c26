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
// Any of them may also carry one handle: ipc::WithHandle<T> is T (which must
// leave word 7 free) plus a handle, sent with MessageInfo.transfer_handle and
// its index in word 7; the receiver gets its own index for the copy there.
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

// `value` (any shape that leaves word 7 free: at most 7 words of its own)
// plus one handle, which the kernel copies into the receiver's handle table.
// Sending: `handle` is one of the sender's handles (never HandleNone), and
// the endpoint handle sent through needs RightGrant. Received: `handle` is
// the receiver's index for its new copy, which it now owns (keep it or
// close it). `WithHandle<>` is a handle alone.
template<typename T = Empty>
struct WithHandle {
    T value;
    Handle handle;
};

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
inline constexpr bool is_with_handle = false;
template<typename T>
inline constexpr bool is_with_handle<WithHandle<T>> = true;

// The handle travels in the last word; what it is sent with must end before.
inline constexpr size_t kHandleWord = kMessageWords - 1;
inline constexpr size_t kWordBytesBesideHandle = kHandleWord * sizeof(uint64_t);

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
constexpr Shape shape_of();

namespace detail {

// How many bytes of the message words a value of shape-checked type T fills.
template<typename T>
constexpr size_t word_bytes_of()
{
    if constexpr (is_with_bytes<T>)
        return word_bytes_of<decltype(T::fixed)>();
    else if constexpr (is_bytes<T> || declares_payload<T>() || __is_empty(T))
        return 0;
    else
        return sizeof(T);
}

} // namespace detail

// The shape of T; a WithHandle<T> has T's shape (whether a message carries a
// handle is carries_handle<T>), or is Invalid if T needs word 7 or is itself
// a WithHandle (one handle per message).
template<typename T>
constexpr Shape shape_of()
{
    if constexpr (detail::is_with_handle<T>) {
        using Inner = decltype(T::value);
        if constexpr (detail::is_with_handle<Inner> || shape_of<Inner>() == Shape::Invalid)
            return Shape::Invalid;
        else
            return detail::word_bytes_of<Inner>() <= detail::kWordBytesBesideHandle ? shape_of<Inner>() : Shape::Invalid;
    } else if constexpr (detail::is_bytes<T>)
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

// Whether a request or reply of type T carries a handle (word 7 and
// MessageInfo.transfer_handle): exactly the WithHandle<...> types.
template<typename T>
inline constexpr bool carries_handle = detail::is_with_handle<T>;

namespace detail {

// The same test as Encodable, one reason at a time, so that a type that
// cannot travel fails to compile with a message saying why.
template<typename T>
constexpr void check_encodable()
{
    if constexpr (is_with_handle<T>) {
        using Inner = decltype(T::value);
        static_assert(!is_with_handle<Inner>, "ipc::WithHandle<WithHandle<T>>: a message carries at most one handle");
        if constexpr (!is_with_handle<Inner>) {
            check_encodable<Inner>();
            static_assert(word_bytes_of<Inner>() <= kWordBytesBesideHandle,
                "ipc::WithHandle<T>: T must leave word 7 free for the handle (at most 7 words, 56 bytes)");
        }
    } else if constexpr (is_with_bytes<T>) {
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
        // memmove: a server may answer with bytes still in its IPC buffer
        // (and nothing to move when they are where they go already).
        if (bytes.data != payload)
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

namespace detail {

template<typename T>
Result<Message> encode_body(uint32_t label, const T& value, uint8_t* payload)
{
    constexpr Shape shape = shape_of<T>();
    Message message = make_message(label);
    if constexpr (shape == Shape::Words) {
        put_words(value, message);
    } else if constexpr (shape == Shape::Payload) {
        if (!payload)
            return Error::Unsupported;
        __builtin_memcpy(payload, &value, sizeof(T));
        message.payload_length = sizeof(T);
    } else if constexpr (shape == Shape::Bytes) {
        IPC_TRY(put_bytes(value, message, payload));
    } else if constexpr (shape == Shape::WordsAndBytes) {
        put_words(value.fixed, message);
        IPC_TRY(put_bytes(value.bytes, message, payload));
    } else {
        return Error::BadMessage; // not reached: check_encodable() has failed the build
    }
    return message;
}

// Everything but the handle: whether one is there is decode()'s business.
template<typename T>
Result<T> decode_body(const Message& message, const uint8_t* payload)
{
    constexpr Shape shape = shape_of<T>();
    if constexpr (shape == Shape::Words) {
        if (message.payload_length != 0)
            return Error::BadMessage;
        return get_words<T>(message);
    } else if constexpr (shape == Shape::Payload) {
        if (message.payload_length != sizeof(T) || !payload)
            return Error::BadMessage;
        T value {};
        __builtin_memcpy(&value, payload, sizeof(T));
        return value;
    } else if constexpr (shape == Shape::Bytes) {
        return get_bytes(message, payload);
    } else if constexpr (shape == Shape::WordsAndBytes) {
        T value {};
        value.fixed = get_words<decltype(T::fixed)>(message);
        value.bytes = IPC_TRY(get_bytes(message, payload));
        return value;
    } else {
        return Error::BadMessage; // not reached: check_encodable() has failed the build
    }
}

} // namespace detail

// A message with `label` carrying `value`; payload bytes go to `payload`
// (the sending transport's IPC buffer). Unused words are zero. A
// WithHandle's handle goes to word 7 with transfer_handle set (BadHandle
// for HandleNone, which the kernel would refuse anyway).
template<typename T>
Result<Message> encode(uint32_t label, const T& value, uint8_t* payload)
{
    detail::check_encodable<T>();
    if constexpr (carries_handle<T>) {
        if (value.handle == herald::abi::HandleNone)
            return Error::BadHandle;
        Message message = IPC_TRY(detail::encode_body(label, value.value, payload));
        message.words[detail::kHandleWord] = value.handle;
        message.transfer_handle = true;
        return message;
    } else {
        return detail::encode_body(label, value, payload);
    }
}

// The value a message carries, if it has exactly the shape T promises;
// BadMessage if not. A handle is part of the shape: a WithHandle needs one
// (transfer_handle set, a non-zero index in word 7), any other type needs
// none. Does not look at the label (decode_reply and dispatch do), nor close
// a handle that came where none belongs (Client::call and dispatch do).
template<typename T>
Result<T> decode(const Message& message, const uint8_t* payload)
{
    detail::check_encodable<T>();
    if constexpr (carries_handle<T>) {
        Handle handle = message.words[detail::kHandleWord];
        if (!message.transfer_handle || handle == herald::abi::HandleNone)
            return Error::BadMessage;
        T value {};
        value.value = IPC_TRY(detail::decode_body<decltype(T::value)>(message, payload));
        value.handle = handle;
        return value;
    } else {
        if (message.transfer_handle)
            return Error::BadMessage;
        return detail::decode_body<T>(message, payload);
    }
}

// The handle a received message brought into this task, if any: what to
// close when nobody takes it.
constexpr Handle received_handle(const Message& message)
{
    return message.transfer_handle ? message.words[detail::kHandleWord] : herald::abi::HandleNone;
}

// The Error an error reply carries, checking that it answers a request
// labelled `request_label`; BadMessage if the reply is not a well-formed
// error reply. Deferred is never sent (serve keeps it to itself), so a reply
// that carries it is not well formed either: passed on by a server as its
// own handler's error, it would make serve leave that server's caller waiting.
constexpr Error decode_error_reply(const Message& reply, uint32_t request_label)
{
    if (reply.label != kErrorLabel || reply.payload_length != 0 || reply.transfer_handle)
        return Error::BadMessage;
    if (reply.words[1] != request_label)
        return Error::BadMessage;
    int64_t code = static_cast<int64_t>(reply.words[0]);
    if (code >= 0 || code == static_cast<int64_t>(Error::Deferred))
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
} && __is_same(decltype(Op::label), const uint32_t) && Op::label != kErrorLabel && Op::label != kPingLabel
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
        auto decoded = decode_reply<Op>(reply, m_transport->payload());
        // A handle the reply brought but that is not part of a good reply
        // (it should not be there, or the rest is wrong) is ours now: drop it.
        if (decoded.is_error() && received_handle(reply) != herald::abi::HandleNone)
            (void)m_transport->close(received_handle(reply));
        return decoded;
    }

    Transport& transport() const { return *m_transport; }
    Handle endpoint() const { return m_endpoint; }

private:
    Transport* m_transport;
    Handle m_endpoint;
};

// The heartbeat (kPingLabel): whether the server behind `endpoint` answers
// a Ping, which ipc::dispatch answers for every protocol. BadMessage for
// any other answer.
inline Result<void> ping(Transport& transport, Handle endpoint)
{
    Message reply = IPC_TRY(transport.call(endpoint, make_message(kPingLabel)));
    if (received_handle(reply) != herald::abi::HandleNone)
        (void)transport.close(received_handle(reply));
    if (reply.label == kErrorLabel)
        return decode_error_reply(reply, kPingLabel);
    if (reply.label != kPingLabel || reply.payload_length != 0 || reply.transfer_handle)
        return Error::BadMessage;
    return {};
}

namespace detail {

template<typename T, typename U>
concept SameAs = __is_same(T, U);

// Returns the handle `in` brought that nobody took (HandleNone if none):
// the handler owns a request's handle only when it succeeds.
template<typename Op, typename Handler>
Handle handle_operation(const Message& in, uint8_t* payload, Handler& handler, Message& out)
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
        return received_handle(in);
    }
    Result<Reply> reply = handler.handle(Op {}, request.value(), in.badge);
    if (reply.is_error()) {
        out = make_error_reply(reply.error(), Op::label);
        return received_handle(in);
    }
    auto encoded = encode(Op::label, reply.value(), payload);
    out = encoded.is_error() ? make_error_reply(encoded.error(), Op::label) : encoded.value();
    return herald::abi::HandleNone;
}

template<typename P>
struct Dispatcher;

template<typename... Ops>
struct Dispatcher<Protocol<Ops...>> {
    template<typename Handler>
    static Handle dispatch(const Message& in, uint8_t* payload, Handler& handler, Message& out)
    {
        if (in.label == kPingLabel) { // the heartbeat (message.hpp), for every protocol
            out = make_message(kPingLabel);
            return received_handle(in);
        }
        // The first operation whose label matches handles the message.
        Handle unclaimed = herald::abi::HandleNone;
        bool known = ((in.label == Ops::label ? (unclaimed = handle_operation<Ops>(in, payload, handler, out), true) : false)
            || ...);
        if (!known) {
            out = make_error_reply(Error::UnknownLabel, in.label);
            unclaimed = received_handle(in);
        }
        return unclaimed;
    }
};

} // namespace detail

// Answers one request: decodes `in` (payload bytes in `payload`, the
// receiving transport's IPC buffer) by its label, calls the handler, and
// leaves in `out` the reply to send, with its payload already in `payload`.
// Never fails: whatever goes wrong becomes an error reply.
//
// A handle that came with `in` belongs to the handler if its request
// carries one and the handler succeeds. Otherwise (the request does not
// decode, has an unknown label or a type without a handle, or the handler
// returns an Error) nobody has it: this overload returns it for the caller
// to close (HandleNone if there is none); the Transport overload closes it.
template<typename P, typename Handler>
Handle dispatch(const Message& in, uint8_t* payload, Handler& handler, Message& out)
{
    static_assert(P::is_valid, "ipc::dispatch<P>: P has an operation that is not an ipc::Operation, or two with one label");
    return detail::Dispatcher<P>::dispatch(in, payload, handler, out);
}

template<typename P, typename Handler>
void dispatch(Transport& transport, const Message& in, Handler& handler, Message& out)
{
    Handle unclaimed = dispatch<P>(in, transport.payload(), handler, out);
    if (unclaimed != herald::abi::HandleNone)
        (void)transport.close(unclaimed);
}

// What a handler's on_kernel_message() (see serve) did with the message.
enum class KernelMessage { Answered, NoAnswer };

// A server's loop: receive, then forever dispatch and reply-and-receive.
// Returns only when receiving fails (the endpoint handle is bad, or the
// transport gives up), with that error. A reply nobody waits for any more
// (the caller died, or the message was a send rather than a call) is not a
// reason to stop: the loop receives afresh.
//
// A reply carrying a handle is one the kernel may refuse (the handle is not
// the server's, or `endpoint` lacks RightGrant) while keeping the reply
// right: then the caller gets that error as an error reply instead, and
// the loop goes on. (Had the reply gone and the receive half failed, the
// error reply finds no caller, and the receive fails again: the loop stops
// as it would have.)
//
// Two things a handler may also have:
//   KernelMessage on_kernel_message(const Message& in, Message& reply)
//       for messages the kernel itself sends (badge with abi::kKernelBadge:
//       a page fault for the pager, a bound notification's bits), which are
//       not part of the protocol; Answered sends `reply`. Without it such
//       messages are dropped.
//   void after_reply()
//       once each reply has gone (and the next message is in): to close a
//       handle the reply carried a copy of, say.
//
// A handler that cannot answer yet saves the reply (transport.save_reply(),
// keeping the handle it gives) and returns Error::Deferred: the loop then
// sends nothing and just receives the next message; the handler answers
// later with transport.reply_to(handle, reply). (A handle that came with a
// deferred request is closed, as for any error.)
//
// serve_one is one turn of the loop: it answers `in` (a message received)
// and returns the next message, or the error receiving it. A server with a
// path of its own for some messages (the memory server's page faults:
// servers/memory/main.cpp) runs its own loop and hands it the rest. (serve
// keeps its own copy of the turn: written as a loop over serve_one, clang
// inlines it into each server's main, and the echo server's round trip
// costs 41 instructions more under icount, 959 -> 1,000.)
template<typename P, typename Handler>
Result<Message> serve_one(Transport& transport, Handle endpoint, Handler& handler, const Message& in)
{
    uint32_t request_label = in.label;
    Message reply;
    if (in.badge & herald::abi::kKernelBadge) {
        bool answered = false;
        if constexpr (requires(Handler& h, const Message& message, Message& out) { h.on_kernel_message(message, out); })
            answered = handler.on_kernel_message(in, reply) == KernelMessage::Answered;
        if (!answered)
            return transport.receive(endpoint); // nobody to answer
    } else {
        dispatch<P>(transport, in, handler, reply);
        if (is_error_reply(reply) && static_cast<int64_t>(reply.words[0]) == static_cast<int64_t>(Error::Deferred))
            return transport.receive(endpoint); // the handler answers later
    }
    Result<Message> incoming = transport.reply_receive(endpoint, reply);
    if constexpr (requires(Handler& h) { h.after_reply(); })
        handler.after_reply();
    if (incoming.is_error() && reply.transfer_handle && incoming.error() != Error::NoReply
        && incoming.error() != Error::PeerGone)
        incoming = transport.reply_receive(endpoint, make_error_reply(incoming.error(), request_label));
    if (incoming.is_error() && (incoming.error() == Error::NoReply || incoming.error() == Error::PeerGone))
        incoming = transport.receive(endpoint);
    return incoming;
}

template<typename P, typename Handler>
Error serve(Transport& transport, Handle endpoint, Handler& handler)
{
    Result<Message> incoming = transport.receive(endpoint);
    for (;;) {
        if (incoming.is_error())
            return incoming.error();
        uint32_t request_label = incoming.value().label;
        Message reply;
        if (incoming.value().badge & herald::abi::kKernelBadge) {
            bool answered = false;
            if constexpr (requires(Handler& h, const Message& in, Message& out) { h.on_kernel_message(in, out); })
                answered = handler.on_kernel_message(incoming.value(), reply) == KernelMessage::Answered;
            if (!answered) {
                incoming = transport.receive(endpoint); // nobody to answer
                continue;
            }
        } else {
            dispatch<P>(transport, incoming.value(), handler, reply);
            if (is_error_reply(reply) && static_cast<int64_t>(reply.words[0]) == static_cast<int64_t>(Error::Deferred)) {
                incoming = transport.receive(endpoint); // the handler answers later
                continue;
            }
        }
        incoming = transport.reply_receive(endpoint, reply);
        if constexpr (requires(Handler& h) { h.after_reply(); })
            handler.after_reply();
        if (incoming.is_error() && reply.transfer_handle && incoming.error() != Error::NoReply
            && incoming.error() != Error::PeerGone)
            incoming = transport.reply_receive(endpoint, make_error_reply(incoming.error(), request_label));
        if (incoming.is_error() && (incoming.error() == Error::NoReply || incoming.error() == Error::PeerGone))
            incoming = transport.receive(endpoint);
    }
}

} // namespace ipc

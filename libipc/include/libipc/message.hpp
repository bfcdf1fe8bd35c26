// One IPC message as libipc sees it: the label, the eight words that travel
// in registers, how many payload bytes are in the IPC buffer, whether word 7
// carries a handle, and (on receive) the badge of the handle it came through.
//
// The payload bytes themselves are not in Message: they live in the
// transport's IPC buffer (Transport::payload()), where the kernel copies
// them, so a message is small enough to pass around by value.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "libipc/result.hpp"
#include "microkernel/abi/ipc.hpp"

namespace ipc {

using Handle = uint64_t;
using Badge = uint64_t;
using WaitMode = herald::abi::WaitMode;

inline constexpr size_t kMessageWords = herald::abi::kMessageWords;
inline constexpr size_t kMaxPayload = herald::abi::kMaxPayload;
inline constexpr size_t kMessageWordBytes = kMessageWords * sizeof(uint64_t);

// The label of an error reply: word 0 is the Error (as int64_t), word 1 the
// label of the request that failed. No protocol may use it for an operation.
inline constexpr uint32_t kErrorLabel = 0xFFFF'FFFFu;
// The heartbeat: every server that answers through ipc::dispatch (so
// ipc::serve) answers a message with this label, no words, no payload, with
// the same label at once, whatever its protocol (ipc::ping() asks). Its
// supervisor asks once a second: a server whose loop no longer answers is
// restarted (docs/reliability.md). No protocol may use it either.
inline constexpr uint32_t kPingLabel = 0xFFFF'FFFEu;

struct Message {
    uint32_t label = 0;
    uint64_t words[kMessageWords] = {};
    uint32_t payload_length = 0;
    bool transfer_handle = false;
    uint64_t badge = 0; // set on receive; ignored on send (the kernel fills it in)
};

constexpr Message make_message(uint32_t label)
{
    Message message;
    message.label = label;
    return message;
}

// The reply a server sends when a request fails: the client's stub turns it
// back into `error` (protocol.hpp).
constexpr Message make_error_reply(Error error, uint32_t request_label)
{
    Message message = make_message(kErrorLabel);
    message.words[0] = static_cast<uint64_t>(static_cast<int64_t>(error));
    message.words[1] = request_label;
    return message;
}

constexpr bool is_error_reply(const Message& message) { return message.label == kErrorLabel; }

// RSI for the kernel. Refuses a payload longer than kMaxPayload here rather
// than let MessageInfo::encode() mask it into a shorter, wrong length.
constexpr Result<uint64_t> encode_info(const Message& message)
{
    if (message.payload_length > kMaxPayload)
        return Error::BadLength;
    return herald::abi::MessageInfo { message.label, message.payload_length, message.transfer_handle }.encode();
}

// RSI from the kernel into `message` (label, payload length, transfer flag).
// Reserved bits or an impossible length mean the two sides disagree about
// the ABI: BadMessage rather than a guess.
constexpr Result<void> decode_info(uint64_t raw, Message& message)
{
    if (raw & herald::abi::MessageInfo::kReservedBits)
        return Error::BadMessage;
    auto info = herald::abi::MessageInfo::decode(raw);
    if (info.payload_length > kMaxPayload)
        return Error::BadMessage;
    message.label = info.label;
    message.payload_length = info.payload_length;
    message.transfer_handle = info.transfer_handle;
    return {};
}

} // namespace ipc

// ipc_deferring_server: answers two Ping calls on its endpoint (start
// parameter) in the order they did not come in: it sets the first call's
// reply aside (IpcReplySave), takes the second call, answers the first
// through the saved reply (IpcReplyTo), then the second, and exits. Each
// answer is the value plus one.
//
// Exits 0 if the first caller got its answer, 1 if it was gone by then
// (NoReply: its task was killed while its reply was saved), or 10 + |error|
// for anything else that went wrong.
//
// The start parameter is the endpoint handle, plus kDropFirst << 16: then it
// saves the first call's reply, closes the handle without answering (the
// caller must get PeerGone) and exits 2.
#include <stdint.h>

#include "libipc/protocols/echo.hpp"
#include "libipc/syscall_transport.hpp"

namespace {

constexpr uint64_t kDropFirst = 1;
constexpr int64_t kDropped = 2;

int64_t failure(ipc::Error error) { return 10 - static_cast<int64_t>(error); }

ipc::Message answer_to(const ipc::Message& ping)
{
    ipc::Message reply = ipc::make_message(ipc::echo::Ping::label);
    reply.words[0] = ping.words[0] + 1;
    return reply;
}

} // namespace

extern "C" int64_t herald_main(uint64_t parameter)
{
    uint64_t endpoint = parameter & 0xFFFF;
    ipc::SyscallTransport transport(nullptr); // words only
    auto first = transport.receive(endpoint);
    if (first.is_error())
        return failure(first.error());
    auto saved_first = transport.save_reply();
    if (saved_first.is_error())
        return failure(saved_first.error());
    if (parameter >> 16 == kDropFirst) {
        auto closed = transport.close(saved_first.value());
        return closed.is_error() ? failure(closed.error()) : kDropped;
    }
    // With the right set aside, a second one cannot be saved: there is none.
    auto nothing = transport.save_reply();
    if (nothing.is_error() != true || nothing.error() != ipc::Error::NoReply)
        return failure(ipc::Error::BadMessage);

    auto second = transport.receive(endpoint);
    if (second.is_error())
        return failure(second.error());
    auto saved_second = transport.save_reply();
    if (saved_second.is_error())
        return failure(saved_second.error());

    auto answered_first = transport.reply_to(saved_first.value(), answer_to(first.value()));
    auto answered_second = transport.reply_to(saved_second.value(), answer_to(second.value()));
    if (answered_second.is_error())
        return failure(answered_second.error());
    // Used up: a saved reply answers once.
    auto again = transport.reply_to(saved_first.value(), answer_to(first.value()));
    if (!again.is_error() || again.error() != ipc::Error::BadHandle)
        return failure(ipc::Error::BadMessage);
    if (answered_first.is_error())
        return answered_first.error() == ipc::Error::NoReply ? 1 : failure(answered_first.error());
    return 0;
}

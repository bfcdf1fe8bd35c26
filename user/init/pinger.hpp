// Between init and its pinger (user/init/pinger.cpp): the heartbeat's
// messages. init asks; the pinger makes the call that may never come back.
//
// init cannot Ping a server itself: an IPC call has no timeout, and a
// server whose loop is stuck would hold init, the one task that can restart
// it, forever. So a helper task makes the blocking call, and init waits for
// its answer on a notification, with a timeout: a server that does not
// answer within kHeartbeatPatienceMs is killed and started again, and the
// kill is what frees the pinger (its call ends with PeerGone).
//
//   kSetup  init -> pinger (IpcSend), a notification (send right) in word 7:
//           where the pinger signals its answers; once, first
//   kProbe  init -> pinger (IpcSend), a handle to the server in word 7: the
//           pinger calls ipc::ping on it, closes it, and signals kAnswered
//           or kFailed (the call failed: the server ended, or the handle
//           was bad)
//
// init sends a probe only when the last one has been answered, so a send
// never waits for a busy pinger. The pinger waits for probes for as long
// as it runs (init never ends; a self-test that ends its init ends the
// pinger too); init kills and restarts a pinger that stops answering.
#pragma once

#include <stdint.h>

namespace herald::init {

inline constexpr uint32_t kPingerSetup = 1;
inline constexpr uint32_t kPingerProbe = 2;
inline constexpr uint64_t kPingAnswered = 1;
inline constexpr uint64_t kPingFailed = 2;

// MINIX's reincarnation server checks every server once a second.
inline constexpr uint64_t kHeartbeatEveryMs = 1000;
// An answer later than this is a missed heartbeat: the server is killed and
// restarted. Generous: an emulated CPU on a loaded host may not run for a
// while, and killing a healthy console loses its pending input.
inline constexpr uint64_t kHeartbeatPatienceMs = 5000;

} // namespace herald::init

// isolation_client: a client of one server (its start parameter:
// 0 memory, 1 loader, 2 console) that calls it in a loop until a call
// fails, for the fault-isolation mode of the benchmark image
// (tests/bench/isolation.cpp, docs/placement.md). Each call is a cheap one
// the server answers at once: Stats (memory), List (loader), Read of no
// bytes (console). When the server dies (in ring 3) the next call, or the
// one waiting, gets PeerGone.
//
// After each answer it sleeps (kServedPauseMs): the benchmark image waits
// for such a sleep, so it knows the server has served this client before it
// makes the server fault (a wait for CPU time instead raced with a slow
// first call on a loaded host). It tells that sleep from find_server()'s
// 10 ms ones by its length, and a starved CPU that misses one sees the next.
//
// Exit status: calls * kCallsUnit + (the error, negated): so PeerGone after
// 57 calls is 57 * 1000 + 7. It prints nothing (the console may be the one
// that goes).
#include <stdint.h>

#include "libipc/protocols/console.hpp"
#include "libipc/protocols/loader.hpp"
#include "libipc/protocols/memory.hpp"
#include "user/runtime/herald.hpp"
#include "user/runtime/syscall.hpp"

namespace {

constexpr int64_t kCallsUnit = 1000;
constexpr int64_t kMaxCalls = 1'000'000'000; // the status stays far from overflowing
constexpr int64_t kNoServer = 999;           // the server was not in the registry
constexpr uint64_t kServedPauseMs = 500;     // isolation.cpp waits for a sleep this long

ipc::Result<void> one_call(uint64_t server, ipc::Handle handle)
{
    ipc::Transport& transport = herald::user::ipc();
    switch (server) {
    case 0: IPC_TRY(ipc::memory::stats(transport)); return {};
    case 1: IPC_TRY(ipc::Client<ipc::loader::Protocol>(transport, handle).call<ipc::loader::List>(ipc::Empty {})); return {};
    default: IPC_TRY(ipc::Client<ipc::console::Protocol>(transport, handle).call<ipc::console::Read>({ 0 })); return {};
    }
}

} // namespace

extern "C" int64_t herald_main(uint64_t server)
{
    ipc::Handle handle = herald::abi::HandleMemory;
    if (server == 1 || server == 2) {
        handle = herald::user::find_server(server == 1 ? "loader" : "console");
        if (handle == herald::abi::HandleNone)
            return kNoServer;
    }
    for (int64_t calls = 0;; ++calls) {
        auto result = one_call(server, handle);
        if (result.is_error())
            return (calls < kMaxCalls ? calls : kMaxCalls) * kCallsUnit - static_cast<int64_t>(result.error());
        herald::user::sleep_ms(kServedPauseMs);
    }
}

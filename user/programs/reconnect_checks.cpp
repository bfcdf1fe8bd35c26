// reconnect_checks: a client that lives through a restart of the server it
// uses (the supervisor's self-tests, tests/insystem/supervisor_tests.cpp).
// Mode (start parameter) 1: the console, through the runtime's println;
// 2: the loader, through an ipc::ReconnectingClient. It signals bit 1 on
// the notification at abi::HandleFirstFree once the server has served it
// (the test then kills the server), and keeps using the server until it
// serves it again after a reconnect, for at most kPatienceMs.
//
// Exit status: 0 it worked across the restart; 1 it never did in time;
// 2 the server did not serve it before the restart; 3 a bad mode.
#include <stdint.h>

#include "libipc/protocols/loader.hpp"
#include "libipc/reconnecting_client.hpp"
#include "user/runtime/herald.hpp"
#include "user/runtime/syscall.hpp"

namespace {

using namespace herald;

constexpr ipc::Handle kReady = abi::HandleFirstFree;
constexpr uint64_t kReadyBit = 1;
constexpr uint64_t kStepMs = 100;
constexpr uint64_t kPatienceMs = 30'000; // of uptime: a lookup may wait too

uint64_t now_ms()
{
    abi::SelfInfo info {};
    (void)user::self_info(&info);
    return info.uptime_ms;
}

int64_t console_mode()
{
    user::println("reconnect_checks: before the console ends");
    if (user::console_lines() != 1)
        return 2;
    (void)ipc::sys::signal(kReady, kReadyBit);
    for (uint64_t start = now_ms(), step = 0; now_ms() - start < kPatienceMs; ++step) {
        (void)user::sleep_ms(kStepMs);
        uint64_t before = user::console_lines();
        user::println("reconnect_checks: line {}", step);
        if (user::console_lines() > before && user::console_reconnects() >= 1) {
            user::println("reconnect_checks: the restarted console prints this");
            return 0;
        }
    }
    return 1;
}

bool hello_runs(ipc::ReconnectingClient<ipc::loader::Protocol>& loader)
{
    auto started = ipc::loader::spawn_through(loader, "hello", 0);
    if (started.is_error())
        return false;
    auto status = ipc::loader::wait(started.value().task);
    (void)ipc::sys::handle_close(started.value().task);
    return !status.is_error() && status.value().state == abi::TaskState::Exited && status.value().exit_status == 0;
}

int64_t loader_mode()
{
    ipc::ReconnectingClient<ipc::loader::Protocol> loader(user::ipc(), abi::HandleRegistry, "loader");
    loader.ping_before_unsafe_calls(true);
    auto manifest = ipc::loader::make_name("init.manifest").value();
    if (!hello_runs(loader) || loader.call<ipc::loader::ReadFile>(manifest).is_error())
        return 2;
    (void)ipc::sys::signal(kReady, kReadyBit);
    for (uint64_t start = now_ms(); now_ms() - start < kPatienceMs;) {
        (void)user::sleep_ms(kStepMs);
        if (!hello_runs(loader) || loader.reconnects() == 0)
            continue; // the old loader still, or none yet
        if (loader.call<ipc::loader::ReadFile>(manifest).is_error())
            return 1;
        user::println("reconnect_checks: the restarted loader started hello");
        return 0;
    }
    return 1;
}

} // namespace

extern "C" int64_t herald_main(uint64_t mode)
{
    if (mode == 1)
        return console_mode();
    if (mode == 2)
        return loader_mode();
    return 3;
}

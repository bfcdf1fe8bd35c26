// spawn_together: threads of one task, each on a CPU of its own, spawning
// programs through the loader at once and printing while they do (the
// loader's pool of threads and the runtime's per-thread IPC transport and
// line: docs/system.md, "The loader"). The self-test
// threads_spawn_through_the_loader_at_once runs it; tests/qemu checks
// that every child's line came out whole.
//
//   parameter bits 0-7: threads (default kDefaultThreads), bits 8-15:
//   spawns per thread (default kDefaultSpawns). Thread i spawns its copies
//   of this program as children, each with its own number K (1, 2, ...),
//   and waits for each: the child prints "spawn_together: child K line
//   <48 letters> end" and exits with K, which the thread checks. Each
//   thread prints a line per spawn too (through its own IPC buffer).
//   Exits 0, or how many spawns failed or ended with another status.
//   With kChild set: a child (above).
#include "libipc/protocols/loader.hpp"
#include "user/runtime/herald.hpp"
#include "user/runtime/syscall.hpp"
#include "user/runtime/thread.hpp"

namespace {

using namespace herald;

constexpr uint64_t kChild = uint64_t(1) << 63;
constexpr uint64_t kDefaultThreads = 4;
constexpr uint64_t kDefaultSpawns = 8;
constexpr uint64_t kMaxThreads = 16;
constexpr uint64_t kMaxNumber = 255; // an exit status a child can carry back whole

ipc::Handle g_loader;
uint64_t g_spawns_per_thread;
uint64_t g_cpus;

// Spawns its children one after another; how many went wrong.
int64_t spawner(uint64_t index)
{
    int64_t failures = 0;
    for (uint64_t j = 0; j < g_spawns_per_thread; ++j) {
        uint64_t number = index * g_spawns_per_thread + j + 1;
        auto started = ipc::loader::spawn(user::ipc(), g_loader, "spawn_together", kChild | number);
        if (started.is_error()) {
            user::println("spawn_together: thread {} could not spawn child {}: {}", index, number,
                ipc::error_name(started.error()));
            ++failures;
            continue;
        }
        user::println("spawn_together: thread {} on CPU {} spawned child {}", index, index % g_cpus, number);
        auto status = ipc::loader::wait(started.value().task);
        (void)ipc::sys::handle_close(started.value().task);
        bool right = !status.is_error() && status.value().state == abi::TaskState::Exited
            && status.value().exit_status == static_cast<int64_t>(number);
        if (!right) {
            user::println("spawn_together: FAILED: child {} did not exit with {}", number, number);
            ++failures;
        }
    }
    return failures;
}

int64_t child(uint64_t number)
{
    user::println("spawn_together: child {} line abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuv end", number);
    return static_cast<int64_t>(number);
}

} // namespace

extern "C" int64_t herald_main(uint64_t parameter)
{
    if (parameter & kChild)
        return child(parameter & kMaxNumber);
    uint64_t threads = parameter & 0xFF ? parameter & 0xFF : kDefaultThreads;
    g_spawns_per_thread = (parameter >> 8) & 0xFF ? (parameter >> 8) & 0xFF : kDefaultSpawns;
    if (threads > kMaxThreads || threads * g_spawns_per_thread > kMaxNumber)
        return -1;
    g_loader = user::find_server("loader");
    if (g_loader == abi::HandleNone)
        return -1;
    user::SelfInfo self {};
    g_cpus = user::self_info(&self) == 0 && self.cpu_count ? self.cpu_count : 1;
    user::ThreadControl* spawners[kMaxThreads] {};
    int64_t failures = 0;
    for (uint64_t i = 0; i < threads; ++i) {
        spawners[i] = user::thread_create(spawner, i, i % g_cpus);
        failures += spawners[i] ? 0 : static_cast<int64_t>(g_spawns_per_thread);
    }
    for (uint64_t i = 0; i < threads; ++i) {
        int64_t value = 0;
        if (spawners[i] && user::thread_join(spawners[i], &value) == 0)
            failures += value;
    }
    user::println("spawn_together: {} spawns by {} threads, {} failed", threads * g_spawns_per_thread, threads, failures);
    return failures;
}

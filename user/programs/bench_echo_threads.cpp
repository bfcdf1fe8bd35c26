// bench_echo_threads: one echo server (libipc/protocols/echo.hpp) with a
// thread per CPU, all receiving on one endpoint: the server side of the
// ipc_server_threads_<N> figure (docs/benchmarks.md), where N clients on N
// CPUs call it. The main thread (started on CPU 0) serves there; thread i
// is pinned to CPU i, so the kernel hands each client's call to the server
// thread on the client's own CPU (Endpoint::receiver_for). Start parameter:
//   bits 0-7   the endpoint handle
//   bits 8-15  N, the server threads (1 to kMaxThreads)
// Serves words only (Ping, Sum): no IPC buffer, so threads other than the
// main one may serve too (user/runtime/thread.hpp). Runs until killed;
// exits 1 if a thread cannot start, or serving fails.
#include <stdint.h>

#include "libipc/protocols/echo.hpp"
#include "libipc/syscall_transport.hpp"
#include "user/runtime/syscall.hpp"
#include "user/runtime/thread.hpp"

namespace {

constexpr uint64_t kMaxThreads = 8;

uint64_t g_endpoint;
ipc::echo::Service g_services[kMaxThreads]; // one each: a service keeps a count and scratch

int64_t serve(uint64_t index)
{
    ipc::SyscallTransport transport(nullptr); // words only
    ipc::Error error = ipc::serve<ipc::echo::Protocol>(transport, g_endpoint, g_services[index]);
    herald::user::debug_write("bench_echo_threads: stopped serving:");
    herald::user::debug_write(ipc::error_name(error));
    return 1;
}

} // namespace

extern "C" int64_t herald_main(uint64_t parameter)
{
    g_endpoint = parameter & 0xFF;
    uint64_t threads = (parameter >> 8) & 0xFF;
    if (threads < 1 || threads > kMaxThreads)
        return 1;
    for (uint64_t cpu = 1; cpu < threads; ++cpu) {
        if (!herald::user::thread_create(serve, cpu, cpu)) {
            herald::user::debug_write("bench_echo_threads: cannot start a server thread");
            return 1;
        }
    }
    return serve(0);
}

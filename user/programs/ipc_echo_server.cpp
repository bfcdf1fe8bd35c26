// ipc_echo_server: serves the echo protocol (libipc/protocols/echo.hpp) on
// the endpoint whose handle it gets as its start parameter, forever. Proves,
// with ipc_echo_client, that libipc's typed calls, dispatch and serve loop
// work over the real system calls: words, payloads and error replies.
//
// Exits only if serving fails (e.g. the handle is bad, or the kernel has no
// IPC): status 1, after logging why.
#include <stdint.h>

#include "libipc/protocols/echo.hpp"
#include "libipc/syscall_transport.hpp"
#include "user/runtime/syscall.hpp"

namespace {
// The thread's IPC buffer: one page of .bss, registered with SetIpcBuffer.
alignas(4096) uint8_t g_ipc_buffer[ipc::kMaxPayload];
// 4 KiB of scratch: in .bss rather than on the stack.
ipc::echo::Service g_service;
}

extern "C" int64_t herald_main(uint64_t endpoint)
{
    ipc::SyscallTransport transport(g_ipc_buffer);
    if (auto registered = transport.register_buffer(); registered.is_error()) {
        herald::user::debug_write("ipc_echo_server: cannot register the IPC buffer");
        return 1;
    }
    ipc::Error error = ipc::serve<ipc::echo::Protocol>(transport, endpoint, g_service);
    herald::user::debug_write("ipc_echo_server: stopped serving:");
    herald::user::debug_write(ipc::error_name(error));
    return 1;
}

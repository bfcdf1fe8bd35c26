// How a task ended, in words, for init's and the shell's reports:
//
//   exited with status 0
//   exited with status -7 (peer gone)               a status that is an ipc::Error
//   was killed                                      TaskKill, Ctrl-C (abi::kKilledStatus)
//   was killed by #PF page fault (status -1014)     a fault in ring 3 (abi::fault_status)
//
// The kernel's kill line says where (herald: task N "name" killed: ... at
// RIP=... (function+0x..)). Portable (host-tested in init_shell_test.cpp).
#pragma once

#include "libipc/result.hpp"
#include "microkernel/abi/task.hpp"
#include "microkernel/arch/x86_64/exception_names.hpp"
#include "microkernel/lib/format.hpp"

namespace herald::user {

// The name of an ipc::Error that `status` equals, or null: a program's exit
// status is its own business, but Herald's programs often exit with the
// error that stopped them.
inline const char* error_name_of_status(int64_t status)
{
    if (status >= 0)
        return nullptr;
    const char* name = ipc::error_name(static_cast<ipc::Error>(status));
    bool known = StringView(name) != "unknown error" && StringView(name) != "protocol error";
    return known ? name : nullptr;
}

inline void describe_end(FormatSink& sink, const abi::TaskStatus& status)
{
    if (status.state != abi::TaskState::Killed) {
        format(sink, "exited with status {}", status.exit_status);
        if (const char* name = error_name_of_status(status.exit_status))
            format(sink, " ({})", name);
        return;
    }
    if (status.exit_status == abi::kKilledStatus) {
        format(sink, "was killed");
        return;
    }
    int64_t vector = abi::fault_vector(status.exit_status);
    if (vector >= 0)
        format(sink, "was killed by {} {} (status {})", x86::exception_mnemonic(static_cast<uint64_t>(vector)),
            x86::exception_name(static_cast<uint64_t>(vector)), status.exit_status);
    else
        format(sink, "was killed (status {})", status.exit_status);
}

} // namespace herald::user

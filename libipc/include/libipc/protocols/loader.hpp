// Loader: starting programs from the boot archive (docs/system.md, "The loader"). Find it
// in the registry as "loader".
//
//   Spawn     name, argument -> task id, and a handle to the task
//             (RightReceive: wait for it, read its status; RightSend: kill it)
//   SpawnWith name, argument, a handle for the program -> as Spawn; the
//             handle lands at index abi::HandleFirstFree (3) in the new
//             task's table
//             NotFound: no such program; kBadProgram: the archive entry is
//             corrupt or not a program Herald can run (the log says why);
//             kTooManyTasks: the caller already has kMaxTasksPerClient
//             live tasks it started, its tree has kMaxTasksPerTree, or the
//             loader's table of tasks is full (docs/security.md, "Quotas")
//             Denied: `init`, which only the kernel starts (a copy would
//             reserve names in the registry: docs/security.md)
//   Kill      task id -> {}: a task this loader started for the caller (or
//             the caller itself). NotFound: no such task of this loader's;
//             Denied: somebody else started it. The tasks it started
//             through the loader are ended too, and theirs (a task that
//             ends by itself takes them along at the loader's next request).
//   List      {} -> the caller's tasks that still exist (payload:
//             abi::TaskListEntry each): the ones it asked this loader for
//
// The loader tells callers apart by the badge of their loader handle: the
// registry hands each client a copy badged with its task id (docs/ipc.md).
//   ReadFile  name -> its bytes (payload; files up to kMaxPayload bytes)
//
// Waiting for a task is not a request: the loader never blocks for one
// client. wait() below waits in the kernel on the handle Spawn returned.
#pragma once

#include <stdint.h>

#include "libipc/protocol.hpp"
#include "libipc/syscalls.hpp"
#include "microkernel/abi/task.hpp"

namespace ipc::loader {

inline constexpr size_t kNameSize = 32;

struct Name {
    char bytes[kNameSize];
};

struct Program {
    Name name;
    uint64_t argument;
};

struct Started {
    uint64_t task_id;
};

struct Spawn {
    static constexpr uint32_t label = 1;
    using Request = Program;
    using Reply = WithHandle<Started>;
};

struct SpawnWith {
    static constexpr uint32_t label = 5;
    using Request = WithHandle<Program>;
    using Reply = WithHandle<Started>;
};

struct Kill {
    static constexpr uint32_t label = 2;
    struct Request {
        uint64_t task_id;
    };
    using Reply = Empty;
};

struct List {
    static constexpr uint32_t label = 3;
    static constexpr bool idempotent = true; // a read: sent again after a restart
    using Request = Empty;
    using Reply = Bytes;
};

struct ReadFile {
    static constexpr uint32_t label = 4;
    static constexpr bool idempotent = true; // a read: sent again after a restart
    using Request = Name;
    using Reply = Bytes;
};

using Protocol = ipc::Protocol<Spawn, SpawnWith, Kill, List, ReadFile>;

inline constexpr Error kBadProgram = protocol_error(0);
inline constexpr Error kTooManyTasks = protocol_error(1);

// The most live tasks one client (one badge) may have started through the
// loader at a time (docs/security.md, "Quotas"). The same for everyone:
// init's manifest and the shell's jobs stay far below it, and the heaviest
// legitimate spawner, the spawn_storm benchmark, keeps 32 in flight.
inline constexpr size_t kMaxTasksPerClient = 32;

// The most live tasks in one tree (docs/security.md, "Quotas"): a tree's
// root is a task the loader started for a client it did not start (the
// shell for init, a program for a self-test); every task started by a task
// of the tree is in it, the root too. A third of the loader's table
// (LoaderService::kMaxTracked, 192): a fork bomb's copies together take at
// most this many, and two more trees still fit beside it.
inline constexpr size_t kMaxTasksPerTree = 64;
static_assert(kMaxTasksPerTree > kMaxTasksPerClient);

// What the shell and others print for the loader's own errors.
constexpr const char* error_text(Error error)
{
    if (error == kBadProgram)
        return "not a program Herald can run (the log says why)";
    if (error == kTooManyTasks)
        return "too many tasks: the loader's limit of live tasks per client or per tree (or its table) is reached";
    return error_name(error);
}

static_assert(Protocol::is_valid);

constexpr Result<Name> make_name(const char* text)
{
    if (!text || text[0] == '\0')
        return Error::InvalidRequest;
    Name name {};
    for (size_t i = 0; text[i] != '\0'; ++i) {
        if (i == kNameSize - 1)
            return Error::InvalidRequest;
        name.bytes[i] = text[i];
    }
    return name;
}

struct Task {
    uint64_t task_id;
    Handle task; // RightReceive: wait() on it; RightSend: TaskKill
};

// Starts `program` with `argument` (and, unless HandleNone, a copy of
// `give` at abi::HandleFirstFree in its table).
inline Result<Task> spawn(Transport& transport, Handle loader, const char* program, uint64_t argument,
    Handle give = herald::abi::HandleNone)
{
    Program request { IPC_TRY(make_name(program)), argument };
    Client<Protocol> client(transport, loader);
    auto reply = give == herald::abi::HandleNone ? client.call<Spawn>(request)
                                                 : client.call<SpawnWith>(WithHandle<Program> { request, give });
    if (reply.is_error())
        return reply.error();
    return Task { reply.value().value.task_id, reply.value().handle };
}

// spawn() through any client of the loader protocol (a Client, or an
// ipc::ReconnectingClient that finds a restarted loader again).
template<typename LoaderClient>
Result<Task> spawn_through(LoaderClient& client, const char* program, uint64_t argument,
    Handle give = herald::abi::HandleNone)
{
    Program request { IPC_TRY(make_name(program)), argument };
    auto reply = give == herald::abi::HandleNone
        ? client.template call<Spawn>(request)
        : client.template call<SpawnWith>(WithHandle<Program> { request, give });
    if (reply.is_error())
        return reply.error();
    return Task { reply.value().value.task_id, reply.value().handle };
}

// The task's state now (TaskInfo): building, running, exited or killed.
inline Result<herald::abi::TaskStatus> info(Handle task)
{
    herald::abi::TaskStatus status {};
    int64_t result = sys::simple_syscall(herald::abi::SyscallNumber::TaskInfo, task, reinterpret_cast<uint64_t>(&status));
    if (result < 0)
        return static_cast<Error>(result);
    return status;
}

// True, with its status, if the task has ended (exited or was killed).
inline bool has_ended(Handle task, herald::abi::TaskStatus& status)
{
    auto now = info(task);
    if (now.is_error())
        return false;
    status = now.value();
    return status.state == herald::abi::TaskState::Exited || status.state == herald::abi::TaskState::Killed;
}

// Waits for the task to end (in the kernel: TaskWait) and gives its status.
inline Result<herald::abi::TaskStatus> wait(Handle task)
{
    herald::abi::TaskStatus status {};
    int64_t result = sys::simple_syscall(herald::abi::SyscallNumber::TaskWait, task, reinterpret_cast<uint64_t>(&status));
    if (result < 0)
        return static_cast<Error>(result);
    return status;
}

} // namespace ipc::loader

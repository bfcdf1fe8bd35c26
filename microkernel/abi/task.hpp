// The task ABI (docs/system.md, "Tasks as capabilities"): tasks as capabilities. The loader server
// builds programs with these calls, through the ProcessControl handle that
// only it holds; whoever holds a task's handle may then wait for it.
#pragma once

#include <stdint.h>

namespace herald::abi {

enum class TaskState : uint64_t {
    Building = 0, // created, not started: handles may be given, pages mapped
    Running = 1,  // started, not ended
    Exited = 2,   // ended by Exit (or its program returned)
    Killed = 3,   // ended by a fault, or killed
};

struct TaskStatus {
    uint64_t task_id;
    TaskState state;
    int64_t exit_status; // once Exited or Killed
};

// The exit status of a Killed task says why (user/runtime/task_status.hpp
// turns it into words): killed on request (TaskKill, the loader's Kill,
// Ctrl-C in the shell), or for CPU exception `vector` in ring 3
// (kFaultStatusBase - vector: -1014 is a page fault).
inline constexpr int64_t kKilledStatus = -1;
inline constexpr int64_t kFaultStatusBase = -1000;
inline constexpr uint64_t kExceptionVectors = 32; // SDM Vol. 3A Table 6-1
constexpr int64_t fault_status(uint64_t vector) { return kFaultStatusBase - static_cast<int64_t>(vector); }
// The vector a Killed status names, or -1 when it names none.
constexpr int64_t fault_vector(int64_t status)
{
    int64_t vector = kFaultStatusBase - status;
    return vector >= 0 && vector < static_cast<int64_t>(kExceptionVectors) ? vector : -1;
}

// Threads in a task (ThreadCreate, docs/syscalls.md "Threads"): at most
// kMaxThreads at once, counting the main thread and every thread that ended
// but was not joined yet. kAnyCpu: ThreadCreate places the thread itself.
inline constexpr uint64_t kMaxThreads = 32;
inline constexpr uint64_t kAnyCpu = ~0ull;

// One line of TaskList (for ps).
struct TaskListEntry {
    uint64_t task_id;
    TaskState state;
    uint64_t cpu;     // where its thread runs or last ran
    uint64_t threads;
    char name[32];
};

// Rights on a task handle: RightSend to give handles, start and kill;
// RightReceive to read its status and wait for its end.

// The ProcessControl handle in the loader's table, and the SystemControl
// handle in init's (and the shell's). On SystemControl, RightSend powers
// off (SystemShutdown) and RightReceive lists every task (TaskList).
inline constexpr uint64_t kProcessControlHandle = 3;
inline constexpr uint64_t kSystemControlHandle = 3;
// The registry's and the loader's: SystemControl with RightReceive only, to
// list tasks (the registry: who owns a name, and whether it still runs; the
// loader: its List).
inline constexpr uint64_t kTaskListHandle = 7;
// The console's: the right to read the kernel log (LogRead).
inline constexpr uint64_t kKernelLogHandle = 5;
// The console's bound notification: bit 1 input, bit 2 kernel log lines.
inline constexpr uint64_t kConsoleInputBit = 1;
inline constexpr uint64_t kConsoleLogBit = 2;

// ServerTask (SystemControl with RightSend: init, the supervisor): the
// servers the kernel itself starts in ring 3 from the boot archive, because
// they need what only the kernel can give (COM1's ports and interrupt, the
// kernel log; the archive and ProcessControl). Current: a handle (RightSend
// to kill, RightReceive to wait and read the status) to the server's task,
// running or ended; Restart: the same, once the kernel has started a new
// task of the server if the last one ended (a fresh endpoint, published by
// the new task under the same name). BadArgument for a server built into
// the kernel or never started (docs/reliability.md, "The supervisor").
enum class BootServer : uint64_t { Console = 0, Loader = 1 };
inline constexpr uint64_t kBootServers = 2;
enum class ServerTaskMode : uint64_t { Current = 0, Restart = 1 };

// The registry's start parameter: the index of its endpoint handle in the
// low byte; and for each server the kernel serves itself (built into ring
// 0, docs/placement.md), bit kRegistryBuiltinShift + i, with a handle to
// that service at kRegistryBuiltinHandle + i: the registry publishes it
// under kRegistryBuiltinNames[i] before it serves anyone.
inline constexpr uint64_t kRegistryEndpointMask = 0xFF;
inline constexpr uint64_t kRegistryBuiltinShift = 8;
inline constexpr uint64_t kRegistryBuiltinHandle = 5;
inline constexpr const char* kRegistryBuiltinNames[] = { "console", "loader" };
inline constexpr uint64_t kRegistryBuiltinConsole = 0;
inline constexpr uint64_t kRegistryBuiltinLoader = 1;
inline constexpr uint64_t kRegistryBuiltins = sizeof(kRegistryBuiltinNames) / sizeof(kRegistryBuiltinNames[0]);

} // namespace herald::abi

// registry: the name registry server (libipc/protocols/registry.hpp). Its
// endpoint, with the receive right, arrives as the handle its start
// parameter's low byte names (4 when the kernel starts it at bootstrap);
// every other task reaches it as abi::HandleRegistry.
// Keeps up to 64 names, each with the handle published under it and its
// owner, and serves Register, Lookup and Reserve forever (owners, system
// names and limits: libipc/protocols/registry.hpp, docs/security.md). Servers built into the kernel cannot publish
// themselves: the kernel hands the registry their handles at start, and the
// parameter's higher bits say which (abi::kRegistryBuiltinShift): those are
// published first, as if they had registered.
//
// A Lookup answers with a copy of the published handle badged with the
// caller's task id (the badge of its HandleRegistry, which the kernel sets)
// when the publisher gave the registry RightMint: so a server can tell its
// clients apart (docs/ipc.md, "Identity through the registry"). Without
// RightMint, every client gets the same handle, as published.
//
// Exits only if serving fails (the handle is bad, or the kernel has no IPC):
// status 1, after logging why.
#include <stdint.h>

#include "libipc/protocols/registry.hpp"
#include "libipc/syscall_transport.hpp"
#include "microkernel/abi/syscalls.hpp"
#include "microkernel/abi/task.hpp"
#include "user/runtime/syscall.hpp"

namespace {
alignas(4096) uint8_t g_ipc_buffer[ipc::kMaxPayload];
ipc::registry::Service g_registry;

// The kernel's task table holds at most this many (microkernel/task/task.hpp kMaxTasks).
constexpr size_t kMaxTasks = 1024;

// What the registry knows of tasks, from TaskList (its SystemControl handle
// with RightReceive, abi::kTaskListHandle; a registry started without one,
// as the IPC self-test's, knows nothing: every owner runs, no task runs a
// system program). Listed once per request (Server calls new_request()),
// however many owners it asks about: a full table's forget_ended() asks
// about all 64.
class KernelTasks final : public ipc::registry::Tasks {
public:
    bool is_running(uint64_t id) override
    {
        if (!list())
            return true;
        const herald::abi::TaskListEntry* task = find(id);
        return task && (task->state == herald::abi::TaskState::Running || task->state == herald::abi::TaskState::Building);
    }

    bool runs_program(uint64_t id, const char* program) override
    {
        if (!list())
            return false;
        const herald::abi::TaskListEntry* task = find(id);
        if (!task || task->state != herald::abi::TaskState::Running)
            return false;
        for (size_t i = 0; i < sizeof(task->name); ++i) {
            if (task->name[i] != program[i])
                return false;
            if (program[i] == '\0')
                return true;
        }
        return false;
    }

    bool program_of(uint64_t id, ipc::registry::Name& program) override
    {
        if (!list())
            return false;
        const herald::abi::TaskListEntry* task = find(id);
        if (!task)
            return false;
        static_assert(sizeof(task->name) == sizeof(program.bytes));
        program = {};
        for (size_t i = 0; i + 1 < sizeof(task->name) && task->name[i] != '\0'; ++i)
            program.bytes[i] = task->name[i];
        return program.bytes[0] != '\0';
    }

    void close(ipc::Handle handle) override { (void)ipc::sys::handle_close(handle); }

    // Tasks may have come and gone since the last request.
    void new_request() { m_listed = false; }

private:
    bool list()
    {
        if (m_listed)
            return m_list_worked;
        m_listed = true;
        using herald::user::number_of;
        int64_t count = herald::user::syscall3(number_of(herald::abi::SyscallNumber::TaskList), herald::abi::kTaskListHandle,
            reinterpret_cast<uint64_t>(m_tasks), kMaxTasks);
        m_count = count < 0 ? 0 : static_cast<size_t>(count);
        m_list_worked = count >= 0;
        return m_list_worked;
    }

    const herald::abi::TaskListEntry* find(uint64_t id) const
    {
        for (size_t i = 0; i < m_count; ++i) {
            if (m_tasks[i].task_id == id)
                return &m_tasks[i];
        }
        return nullptr;
    }

    herald::abi::TaskListEntry m_tasks[kMaxTasks] {};
    size_t m_count = 0;
    bool m_listed = false;
    bool m_list_worked = false;
};

KernelTasks g_tasks;

void publish_builtins(uint64_t parameter)
{
    using namespace herald::abi;
    for (uint64_t i = 0; i < kRegistryBuiltins; ++i) {
        if (!(parameter >> kRegistryBuiltinShift & (1ull << i)))
            continue;
        ipc::registry::Register::Request entry { ipc::registry::make_name(kRegistryBuiltinNames[i]).value(),
            kRegistryBuiltinHandle + i };
        if (g_registry.handle(ipc::registry::Register {}, entry, 0).is_error())
            herald::user::debug_write("registry: cannot publish a service built into the kernel");
    }
}

// A copy of `published` badged `client`, or HandleNone when the publisher
// did not allow it (no RightMint, or a badge of its own): then the client
// gets the handle as published. Tried with the grant right first, which a
// client needs to pass handles to the server (Subscribe, SpawnWith).
ipc::Handle badged_copy(ipc::Handle published, ipc::Badge client)
{
    using namespace herald::abi;
    if (client == 0)
        return HandleNone;
    const uint32_t tries[] = { RightSend | RightGrant, RightSend };
    for (uint32_t rights : tries) {
        auto copy = ipc::sys::handle_mint(published, rights, client);
        if (!copy.is_error())
            return copy.value();
    }
    return HandleNone;
}

// When no badged copy can be made (badge 0: a caller nobody named; or this
// task's handle table is full): a copy without RightMint, badge 0 (or the
// publisher's own). Never the published handle itself: with RightMint its
// holder could badge copies as any task. HandleNone if none can be made.
ipc::Handle plain_copy(ipc::Handle published)
{
    using namespace herald::abi;
    const uint32_t tries[] = { RightSend | RightGrant, RightSend };
    for (uint32_t rights : tries) {
        auto copy = ipc::sys::handle_mint(published, rights, 0);
        if (!copy.is_error())
            return copy.value();
    }
    return HandleNone;
}

// ipc::serve's handler: the Service, plus the badged copies of Lookup.
class Server {
public:
    template<typename Operation, typename Request>
    auto handle(Operation operation, const Request& request, ipc::Badge badge)
    {
        g_tasks.new_request();
        return g_registry.handle(operation, request, badge);
    }

    ipc::Result<ipc::WithHandle<>> handle(ipc::registry::Lookup lookup, const ipc::registry::Name& name, ipc::Badge badge)
    {
        g_tasks.new_request();
        auto found = IPC_TRY(g_registry.handle(lookup, name, badge));
        ipc::Handle copy = badged_copy(found.handle, badge);
        if (copy == herald::abi::HandleNone)
            copy = plain_copy(found.handle);
        if (copy == herald::abi::HandleNone)
            return ipc::Error::QuotaExceeded; // no copy fits in our table: try again later
        m_close_after_reply = copy; // the reply carries a copy of it
        return ipc::WithHandle<> { {}, copy };
    }

    void after_reply()
    {
        if (m_close_after_reply != herald::abi::HandleNone)
            (void)ipc::sys::handle_close(m_close_after_reply);
        m_close_after_reply = herald::abi::HandleNone;
    }

private:
    ipc::Handle m_close_after_reply = herald::abi::HandleNone;
};

Server g_server;

} // namespace

extern "C" int64_t herald_main(uint64_t parameter)
{
    uint64_t endpoint = parameter & herald::abi::kRegistryEndpointMask;
    g_registry.set_tasks(g_tasks);
    publish_builtins(parameter);
    ipc::SyscallTransport transport(g_ipc_buffer);
    if (transport.register_buffer().is_error()) {
        herald::user::debug_write("registry: cannot register the IPC buffer");
        return 1;
    }
    ipc::Error error = ipc::serve<ipc::registry::Protocol>(transport, endpoint, g_server);
    herald::user::debug_write("registry: stopped serving:");
    herald::user::debug_write(ipc::error_name(error));
    return 1;
}

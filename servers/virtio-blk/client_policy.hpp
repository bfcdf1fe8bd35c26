// virtio_blk::ClientPolicy: whom the virtio-blk driver serves
// (docs/security.md, "The disk"). Raw sectors bypass every check the FAT
// server makes for its clients, so the driver serves only the programs
// that need it: `fat`, and in the self-test and benchmark images the test
// and benchmark clients (main.cpp, kServeTestClients).
//
// The driver publishes its endpoint with RightMint, so the registry gives
// each client a copy badged with the client's task id (docs/ipc.md,
// "Identity through the registry"); the badge's task is then looked up in
// the kernel's task list (TaskList, the tasks=list grant of init's
// manifest), as the PCI server matches its callers with manifest lines.
// A client is admitted when its task runs one of the allowed programs and
// no other task of that program holds the disk: the first to ask holds it
// until it ends (two FAT servers, each with its own cache of the FAT,
// would undo each other's writes).
//
// A program marked `started_by_init` (fat) is admitted only in the task
// init started for it: the one the registry's reservation of the program's
// name names (init reserves each manifest name for the task it started,
// ReservedFor). A copy that another program started through the loader
// (the shell's `run fat`, a hostile program) is refused, also while init's
// fat is being restarted, when no fat holds the disk: before, such a copy
// took the disk and init's new fat was refused.
//
// Task ids are never reused and count up (microkernel/task/task.cpp), so
// an admitted badge stays admitted without asking the kernel again, and a
// task that runs another program stays refused: the last kRefusedMemory
// such tasks are remembered, so that a hostile client cannot make the
// driver read the whole task list (about 56 KB) for each of its requests.
// A copy of `fat` older than the task init named is remembered too (init
// names only tasks it starts later); a newer one is asked about again (it
// may be init's new fat, asking before init has named it). Other refusals
// (no such task, no list) ask the kernel each time.
//
// Portable: the task list and the registry are an interface, faked by the
// host tests (client_policy_test.cpp).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace virtio_blk {

class ClientPolicy {
public:
    static constexpr size_t kMaxPrograms = 4;
    static constexpr size_t kNameSize = 32; // abi::TaskListEntry::name, not always NUL-terminated
    static constexpr size_t kRefusedMemory = 16; // refused tasks remembered (the oldest forgotten first)

    // What the driver knows of tasks: the kernel's TaskList.
    class Tasks {
    public:
        // Whether task `id` runs, and its program's name into `name`
        // (NUL-terminated); false also when the list cannot be read.
        virtual bool running(uint64_t id, char (&name)[kNameSize + 1]) = 0;
        // The task init started for `program` (the registry's ReservedFor
        // of its name); 0 when init has named none (yet), or the registry
        // cannot say.
        virtual uint64_t started_by_init(const char* program) = 0;

    protected:
        ~Tasks() = default;
    };

    enum class Verdict : uint8_t {
        Admitted,
        NotAllowed,      // badge 0, a task that does not run, or another program
        NotInitsTask,    // runs a started_by_init program, but init did not start it for it
        Held,            // another task of the same program holds the disk
    };

    struct Program {
        const char* name;     // a static string
        bool started_by_init; // only the task init started for it
    };

    // The task init started for the program of the last NotInitsTask; 0
    // while init named none (the log tells only of copies refused beside it).
    uint64_t last_inits_task() const { return m_last_inits; }

    // Admits tasks of `programs` (at most kMaxPrograms are kept).
    // constexpr: a server's globals have no constructors to run.
    constexpr ClientPolicy(const Program* programs, size_t count)
    {
        for (size_t i = 0; i < count && m_count < kMaxPrograms; ++i)
            m_programs[m_count++] = programs[i];
    }

    Verdict check(uint64_t badge, Tasks& tasks);

    // The task that holds the disk for program `index`, 0: none yet.
    uint64_t holder(size_t index) const { return index < m_count ? m_holders[index] : 0; }

private:
    bool refused_before(uint64_t badge) const;
    void remember_refused(uint64_t badge);

    Program m_programs[kMaxPrograms] {};
    uint64_t m_holders[kMaxPrograms] {};
    size_t m_count { 0 };
    uint64_t m_last_inits { 0 };
    uint64_t m_refused[kRefusedMemory] {}; // tasks running another program; 0: a free slot
    size_t m_next_refused { 0 };
};

} // namespace virtio_blk

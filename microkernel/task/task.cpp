#include "task.hpp"

#include "../abi/task.hpp"
#include "../arch/x86_64/fpu.hpp"
#include "../arch/x86_64/gdt.hpp"
#include "../arch/x86_64/interrupt_frame.hpp"
#include "../arch/x86_64/paging.hpp"
#include "../boot/boot_info.hpp"
#include "../object/handle_table.hpp"
#include "../ipc/ipc.hpp"
#include "../mm/address_space.hpp"
#include "../mm/kernel_pool.hpp"
#include "../mm/kernel_stacks.hpp"
#include "../pager/pager.hpp"
#include "../mm/reclaim_queue.hpp"
#include "../object/task_object.hpp"
#include "../log.hpp"
#include "../sched/scheduler.hpp"
#include "../sync/spinlock.hpp"
#include "../arch/x86_64/syscall_abi.hpp"
#include "../ipc/message.hpp"
#include "../lib/syscall_error.hpp"
#include "../smp/page_views.hpp"
#include "../smp/processor.hpp"

extern "C" void thread_start(); // arch/x86_64/context_switch.asm

namespace herald {

namespace {

// Seed, "Creating a new task": RFLAGS 0x200202 = ID (bit 21, CPUID allowed),
// IF (bit 9, interrupts on) and bit 1, which is always set.
constexpr u64 kInitialRflags = 0x200202;

KernelPool<Thread> g_threads;
KernelPool<Task> g_tasks;
KernelPool<u8, 4096, 64> g_fpu_areas; // XSAVE needs 64-byte alignment
KernelPool<HandleTable> g_handle_tables;

SpinLock g_table_lock;
Task* g_table[kMaxTasks] GUARDED_BY(g_table_lock);
u64 g_next_task_id = 1;
usize g_threads_ending; // Dead, their CPU not yet switched away (release_thread)
u64 g_next_thread_id = 1;
Task g_kernel_task;

// A task lives in slot id % kMaxTasks when that one was free at its
// creation (nearly always: ids grow by one), so that a look-up by id reads
// one slot instead of scanning the table under its lock (the pager's
// MemoryMap looks a task up for every page fault); the others anywhere.
usize preferred_slot(u64 id) { return id % kMaxTasks; }

Task* find_in_table(u64 id) REQUIRES(g_table_lock)
{
    if (Task* task = g_table[preferred_slot(id)]; task && task->id == id)
        return task;
    for (Task* task : g_table) {
        if (task && task->id == id)
            return task;
    }
    return nullptr;
}

// What switch_context pops: the callee-saved registers, RFLAGS, then its
// return address.
struct SwitchFrame {
    u64 r15, r14, r13, r12, rbx, rbp;
    u64 rflags;
    u64 return_address;
};
// Interrupts off until thread_start's IRET loads the thread's own RFLAGS;
// bit 1 is always set.
constexpr u64 kSwitchRflags = 0x2;

// Where a kernel thread's entry function "returns" to: the thread ends.
[[noreturn]] void kernel_thread_returned() { scheduler_exit_current(); }

// Reserved at the very top of a kernel thread's stack: the return address
// of its entry function (kernel_thread_returned) and padding, so that the
// entry function starts with RSP = 8 mod 16, as after a CALL (System V ABI).
constexpr u64 kKernelEntryReserve = 16;

// Builds the new thread's kernel stack so that switch_context "returns" to
// thread_start, which then IRETs through the seed's initial frame.
void build_initial_stack(Thread& thread, u64 rip, u16 cs, u64 rsp, u16 ss, u64 parameter)
{
    u64 top = thread.kernel_stack_top - kKernelEntryReserve;
    auto* frame = reinterpret_cast<x86::InterruptFrame*>(top - sizeof(x86::InterruptFrame));
    *frame = x86::InterruptFrame {};
    frame->rip = rip;
    frame->cs = cs;
    frame->rflags = kInitialRflags;
    frame->rsp = rsp;
    frame->ss = ss;
    frame->rdx = parameter; // seed: "RDX: Parameter to pass to thread on load"
    frame->rdi = parameter; // and the first C++ argument, for kernel threads' entry(parameter)
    auto* switch_frame = reinterpret_cast<SwitchFrame*>(reinterpret_cast<u64>(frame) - sizeof(SwitchFrame));
    *switch_frame = SwitchFrame {};
    switch_frame->rflags = kSwitchRflags;
    switch_frame->return_address = reinterpret_cast<u64>(&thread_start);
    thread.saved_rsp = reinterpret_cast<u64>(switch_frame);
}

ErrorOr<Thread*> new_thread(Task& task, StringView name)
{
    void* storage = g_threads.allocate_storage();
    u8* stack = allocate_kernel_stack();
    if (!storage || !stack) {
        if (storage)
            g_threads.free_storage(storage);
        if (stack)
            free_kernel_stack(stack);
        return Error::OutOfMemory;
    }
    auto* thread = new (storage) Thread {};
    thread->task = &task;
    thread->kernel_stack = stack;
    thread->kernel_stack_top = reinterpret_cast<u64>(stack) + kKernelStackBytes;
    copy_truncated(thread->name, sizeof(thread->name), name);
    {
        SpinLockGuard guard(g_table_lock);
        thread->id = g_next_thread_id++;
        ++task.live_threads;
        thread->sibling = task.threads;
        task.threads = thread;
    }
    return thread;
}

// The task's thread slots (task.hpp, ThreadSlot): one per thread from its
// creation until it is joined.
Optional<u32> reserve_slot(Task& task)
{
    SpinLockGuard guard(task.threads_lock);
    for (u32 i = 0; i < abi::kMaxThreads; ++i) {
        if (!task.thread_slots[i].used) {
            task.thread_slots[i] = ThreadSlot {};
            task.thread_slots[i].used = true;
            return i;
        }
    }
    return nullopt;
}

void fill_slot(Task& task, u32 slot, Thread& thread)
{
    SpinLockGuard guard(task.threads_lock);
    task.thread_slots[slot].thread_id = thread.id;
    task.thread_slots[slot].thread = &thread;
    thread.slot = slot;
}

void free_slot(Task& task, u32 slot)
{
    SpinLockGuard guard(task.threads_lock);
    task.thread_slots[slot] = ThreadSlot {};
}

// The first end of a task decides how it ended (task.hpp, end_decided).
void decide_end(Task& task, i64 status, bool killed)
{
    if (__atomic_exchange_n(&task.end_decided, true, __ATOMIC_ACQ_REL))
        return;
    task.state = killed ? TaskState::Killed : TaskState::Exited;
    task.exit_status = status;
}

SpinLock g_exit_lock;
TaskExit g_exits[kExitRecords] GUARDED_BY(g_exit_lock);
usize g_next_exit GUARDED_BY(g_exit_lock);

} // namespace

ErrorOr<Thread*> create_thread_for_running_context(StringView name)
{
    void* storage = g_threads.allocate_storage();
    if (!storage)
        return Error::OutOfMemory;
    auto* thread = new (storage) Thread {};
    thread->task = &g_kernel_task;
    copy_truncated(thread->name, sizeof(thread->name), name);
    SpinLockGuard guard(g_table_lock);
    thread->id = g_next_thread_id++;
    ++g_kernel_task.live_threads;
    thread->sibling = g_kernel_task.threads;
    g_kernel_task.threads = thread;
    return thread;
}

// Published after everything the task held went back, so that whoever
// waits for the record can count on the memory being free already.
void record_exit(const Task& task)
{
    SpinLockGuard guard(g_exit_lock);
    TaskExit& record = g_exits[g_next_exit++ % kExitRecords];
    record = TaskExit { task.id, task.exit_status, task.state == TaskState::Killed, {}, task.fault_rip, task.fault_address,
        task.overflowed_thread };
    copy_truncated(record.name, sizeof(record.name), task.name_view());
}

Optional<TaskExit> find_exit(u64 task_id)
{
    SpinLockGuard guard(g_exit_lock);
    for (const TaskExit& exit : g_exits) {
        if (exit.task_id == task_id && task_id != 0)
            return exit;
    }
    return nullopt;
}

namespace {

// Under the task table lock: every thread of `task` but `except` is to end.
// The flag first, with a full barrier, then each thread's wait is looked
// for: a thread that starts to wait meanwhile sees the flag
// (ipc/message.hpp, ipc_kill_came_first; join_thread the same). A thread
// running on another CPU gets a reschedule IPI: the interrupt's way back to
// ring 3 ends it (scheduler_kick).
void request_end(Task& task, Thread* except) REQUIRES(g_table_lock)
{
    __atomic_store_n(&task.kill_requested, true, __ATOMIC_SEQ_CST);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    for (Thread* thread = task.threads; thread; thread = thread->sibling) {
        if (thread == except)
            continue;
        scheduler_interrupt_sleep(*thread);
        ipc_cancel_wait(*thread);
        scheduler_kick(*thread);
    }
    // Threads waiting in ThreadJoin (all of this task's own).
    SpinLockGuard guard(task.threads_lock);
    for (ThreadSlot& slot : task.thread_slots) {
        if (Thread* joiner = slot.joiner) {
            slot.joiner = nullptr;
            if (joiner != except)
                ipc_wake_with_status(*joiner, Error::PeerGone);
        }
    }
}

// The current thread ends with `value`: a thread joining it is woken, and
// if it was the task's last live thread its value is the task's status
// (unless an earlier end decided it).
[[noreturn]] void end_current_thread(Thread& thread, i64 value)
{
    ipc_thread_exiting(thread);
    Task& task = *thread.task;
    HERALD_ASSERT(&task != &g_kernel_task);
    Thread* joiner;
    bool last = true;
    {
        SpinLockGuard guard(task.threads_lock);
        ThreadSlot& slot = task.thread_slots[thread.slot];
        slot.exited = true;
        slot.value = value;
        slot.thread = nullptr;
        joiner = slot.joiner;
        slot.joiner = nullptr;
        for (const ThreadSlot& other : task.thread_slots)
            last = last && !other.thread;
    }
    if (last)
        decide_end(task, value, false);
    if (joiner) {
        set_syscall_result(*joiner->ipc.frame, 0); // join_thread reads the value from the slot
        scheduler_wake(*joiner);
    }
    scheduler_exit_current(); // release_thread() records the task's exit once all is given back
}

} // namespace

void exit_current_task(i64 status, bool killed)
{
    Thread& thread = current_thread();
    Task& task = *thread.task;
    decide_end(task, status, killed);
    {
        SpinLockGuard guard(g_table_lock);
        if (task.live_threads > 1)
            request_end(task, &thread);
    }
    end_current_thread(thread, status);
}

void exit_current_thread(i64 value) { end_current_thread(current_thread(), value); }

bool kill_task(u64 task_id)
{
    SpinLockGuard guard(g_table_lock); // the task cannot be freed while we hold it
    Task* task = find_in_table(task_id);
    if (!task || task == &g_kernel_task)
        return false;
    request_end(*task, nullptr);
    return true;
}

void kill_current_task_if_requested()
{
    Task& task = *current_thread().task;
    if (&task == &g_kernel_task || !__atomic_load_n(&task.kill_requested, __ATOMIC_ACQUIRE))
        return;
    exit_current_task(abi::kKilledStatus, true);
}

void tasks_init()
{
    g_kernel_task.id = 0;
    copy_truncated(g_kernel_task.name, sizeof(g_kernel_task.name), "kernel");
    g_kernel_task.root = x86::kernel_page_tables().root();
    SpinLockGuard guard(g_table_lock); // boot, one CPU: for the analysis
    g_table[0] = &g_kernel_task;
}

Task& kernel_task() { return g_kernel_task; }

ErrorOr<Thread*> create_kernel_thread(StringView name, void (*entry)(u64), u64 parameter)
{
    Thread* thread = HERALD_TRY(new_thread(g_kernel_task, name));
    u64 entry_rsp = thread->kernel_stack_top - kKernelEntryReserve + 8;
    *reinterpret_cast<u64*>(entry_rsp) = reinterpret_cast<u64>(&kernel_thread_returned);
    build_initial_stack(*thread, reinterpret_cast<u64>(entry), x86::kKernelCodeSelector, entry_rsp,
        x86::kKernelDataSelector, parameter);
    return thread;
}

// A task's name reaches the log ("[7 hello] ...", `task 7 "hello" killed`):
// only the boot archive's name characters (docs/boot-archive.md) are kept,
// anything else becomes '?', so that no name can end or forge a line.
static void sanitize_task_name(char* name, usize size)
{
    for (usize i = 0; i < size && name[i] != '\0'; ++i) {
        char c = name[i];
        bool kept = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_'
            || c == '-';
        if (!kept)
            name[i] = '?';
    }
}

ErrorOr<Task*> create_task(StringView name, AddressSpace* address_space)
{
    void* storage = g_tasks.allocate_storage();
    if (!storage)
        return Error::OutOfMemory;
    void* handles = g_handle_tables.allocate_storage();
    if (!handles) {
        g_tasks.free_storage(storage);
        return Error::OutOfMemory;
    }
    auto* task = new (storage) Task {};
    auto* table = new (handles) HandleTable();
    {
        SpinLockGuard guard(task->handles_lock); // nobody else sees the task yet: for the analysis
        task->handles = table;
    }
    copy_truncated(task->name, sizeof(task->name), name);
    sanitize_task_name(task->name, sizeof(task->name));
    task->address_space = address_space;
    task->root = address_space->root();
    SpinLockGuard guard(g_table_lock);
    if (usize slot = preferred_slot(g_next_task_id); slot != 0 && !g_table[slot]) {
        task->id = g_next_task_id++;
        g_table[slot] = task;
        return task;
    }
    for (usize slot = 1; slot < kMaxTasks; ++slot) {
        if (!g_table[slot]) {
            task->id = g_next_task_id++;
            g_table[slot] = task;
            return task;
        }
    }
    g_handle_tables.free_storage(table);
    g_tasks.free_storage(storage);
    return Error::TooMany;
}

ErrorOr<Thread*> create_user_thread(Task& task, u64 entry, u64 user_stack_top, u64 parameter)
{
    Optional<u32> slot = reserve_slot(task);
    if (!slot)
        return Error::OutOfMemory; // kMaxThreads live or unjoined
    auto* fpu_state = static_cast<u8*>(g_fpu_areas.allocate_storage());
    if (!fpu_state) {
        free_slot(task, *slot);
        return Error::OutOfMemory;
    }
    auto thread = new_thread(task, task.name_view());
    if (thread.is_error()) {
        g_fpu_areas.free_storage(fpu_state);
        free_slot(task, *slot);
        return thread.error();
    }
    thread.value()->is_user = true;
    thread.value()->fpu_state = fpu_state;
    x86::fpu::init_state(fpu_state);
    build_initial_stack(*thread.value(), entry, x86::kUserCodeSelector, user_stack_top, x86::kUserDataSelector, parameter);
    fill_slot(task, *slot, *thread.value());
    SpinLockGuard guard(g_table_lock);
    if (!task.main_thread)
        task.main_thread = thread.value();
    return thread.value();
}

ErrorOr<u64> create_thread_in_current_task(u64 entry, u64 stack_top, u64 parameter, u64 cpu)
{
    Task& task = *current_thread().task;
    if (cpu != abi::kAnyCpu && cpu >= processor_count())
        return Error::BadArgument;
    if (__atomic_load_n(&task.kill_requested, __ATOMIC_ACQUIRE))
        return Error::PeerGone; // ending: no new threads
    Thread* thread = HERALD_TRY(create_user_thread(task, entry, stack_top, parameter));
    u64 id = thread->id;
    // A kill that went over the threads before this one was linked misses
    // it: it ends at its first entry into the kernel (a system call, or the
    // next timer tick), like any thread of a killed task.
    if (cpu == abi::kAnyCpu)
        scheduler_enqueue(*thread);
    else
        scheduler_enqueue_on(*thread, cpu);
    return id;
}

ErrorOr<i64> join_thread(u64 thread_id)
{
    Thread& self = current_thread();
    Task& task = *self.task;
    if (thread_id == self.id)
        return Error::BadArgument; // it would wait for itself forever
    for (;;) {
        SpinLockGuard guard(task.threads_lock);
        ThreadSlot* slot = nullptr;
        for (ThreadSlot& candidate : task.thread_slots) {
            if (candidate.used && candidate.thread_id == thread_id)
                slot = &candidate;
        }
        if (!slot || (slot->joiner && slot->joiner != &self))
            return Error::BadArgument; // not a thread of this task, or already being joined
        if (slot->exited) {
            i64 value = slot->value;
            *slot = ThreadSlot {};
            return value;
        }
        slot->joiner = &self;
        if (ipc_kill_came_first(self)) { // request_end took the flag before the lock: it found no joiner
            slot->joiner = nullptr;
            return Error::PeerGone;
        }
        self.state = ThreadState::Blocked;
        guard.unlock();
        scheduler_block_current();
        // Woken by the thread's end (0: look again) or by a kill (PeerGone).
        auto woken = decode_result(syscall_result(*self.ipc.frame));
        if (woken.is_error())
            return woken.error();
    }
}

namespace {

// Detaches the table under the lock first: from then on every lookup on
// this task finds no table, and the entries are closed and freed after.
void close_all_handles(Task& task)
{
    HandleTable* handles;
    {
        SpinLockGuard guard(task.handles_lock);
        handles = task.handles;
        task.handles = nullptr;
    }
    if (!handles)
        return;
    handles->close_all();
    g_handle_tables.free_storage(handles);
}

} // namespace

void discard_task(Task& task)
{
    {
        SpinLockGuard guard(g_table_lock);
        HERALD_ASSERT(task.live_threads == 0);
        for (usize slot = 1; slot < kMaxTasks; ++slot) {
            if (g_table[slot] == &task)
                g_table[slot] = nullptr;
        }
    }
    close_all_handles(task);
    g_tasks.free_storage(&task);
}

void release_thread(Thread& thread)
{
    Task& task = *thread.task;
    bool thread_was_ending = thread.state == ThreadState::Dead;
    bool last = false;
    {
        SpinLockGuard guard(g_table_lock);
        for (Thread** link = &task.threads; *link; link = &(*link)->sibling) {
            if (*link == &thread) {
                *link = thread.sibling;
                break;
            }
        }
        if (task.main_thread == &thread)
            task.main_thread = task.threads; // another that has not been released, if any
        last = --task.live_threads == 0 && &task != &g_kernel_task;
        if (last) {
            for (usize slot = 1; slot < kMaxTasks; ++slot) {
                if (g_table[slot] == &task)
                    g_table[slot] = nullptr;
            }
        }
    }
    if (thread.fpu_state)
        g_fpu_areas.free_storage(thread.fpu_state);
    if (thread.kernel_stack) // adopted contexts run on a stack of their own
        free_kernel_stack(thread.kernel_stack);
    g_threads.free_storage(&thread);
    if (last) {
        close_all_handles(task);
        if (task.address_space) {
            task.address_space->destroy(wait_for_page_views_of_space); // the pager's frames go to the reclaim queue
            reclaim_task_ended(task.id);   // after them (reclaim_queue.hpp)
        }
        // Logged before the exit is recorded: whoever waits for the exit
        // then finds these lines already written.
        kernel_log_task_ended(task.id);
        pager_task_ended(task.id);
        record_exit(task);
        if (task.object)
            task.object->task_ended(task.exit_status, task.state == TaskState::Killed);
        g_tasks.free_storage(&task);
    }
    if (thread_was_ending) // last: all it held is back
        __atomic_sub_fetch(&g_threads_ending, 1, __ATOMIC_ACQ_REL);
}

usize threads_in_use() { return g_threads.in_use(); }

usize threads_ending() { return __atomic_load_n(&g_threads_ending, __ATOMIC_ACQUIRE); }

void thread_ending(Thread&) { __atomic_add_fetch(&g_threads_ending, 1, __ATOMIC_ACQ_REL); }

Optional<ThreadSnapshot> main_thread_snapshot(u64 task_id)
{
    SpinLockGuard guard(g_table_lock); // release_thread takes a task out of the table under it before freeing
    Task* task = find_in_table(task_id);
    if (!task || task == &g_kernel_task || !task->main_thread)
        return nullopt;
    const Thread& thread = *task->main_thread;
    return ThreadSnapshot { thread.state, thread.cpu, thread.has_run, thread.migrations, thread.runtime_ticks,
        __atomic_load_n(&thread.ipc.saved_reply, __ATOMIC_ACQUIRE) != nullptr, __atomic_load_n(&thread.wake_at, __ATOMIC_RELAXED) };
}

usize live_task_count()
{
    SpinLockGuard guard(g_table_lock);
    usize count = 0;
    for (Task* task : g_table)
        count += task ? 1 : 0;
    return count;
}

Task* find_task(u64 id)
{
    SpinLockGuard guard(g_table_lock);
    return find_in_table(id);
}

ErrorOr<u64> with_address_space_of(u64 task_id, AddressSpaceAction action, void* context)
{
    SpinLockGuard guard(g_table_lock);
    Task* task = find_in_table(task_id);
    if (!task || !task->address_space)
        return Error::NotFound;
    return action(*task, *task->address_space, context);
}

Ref<AddressSpace> address_space_of(u64 task_id)
{
    SpinLockGuard guard(g_table_lock); // the teardown comes after the task left the table (release_thread)
    Task* task = find_in_table(task_id);
    if (!task || !task->address_space)
        return {};
    return Ref<AddressSpace>(*task->address_space);
}

usize list_tasks(usize from, abi::TaskListEntry* out, usize max, usize& next)
{
    SpinLockGuard guard(g_table_lock);
    usize written = 0;
    usize slot = from;
    for (; slot < kMaxTasks && written < max; ++slot) {
        Task* task = g_table[slot];
        if (!task)
            continue;
        abi::TaskListEntry& entry = out[written++];
        entry = abi::TaskListEntry {};
        entry.task_id = task->id;
        entry.state = !task->main_thread && task != &g_kernel_task ? abi::TaskState::Building
            : task->state == TaskState::Exited                   ? abi::TaskState::Exited
            : task->state == TaskState::Killed                   ? abi::TaskState::Killed
                                                                 : abi::TaskState::Running;
        entry.cpu = task->main_thread ? task->main_thread->cpu : 0;
        entry.threads = task->live_threads;
        copy_truncated(entry.name, sizeof(entry.name), task->name_view());
    }
    next = slot;
    return written;
}

} // namespace herald

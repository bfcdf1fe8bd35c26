// The thread API of user/runtime/thread.hpp: stacks and control blocks from
// the heap, the thread pointer (FS) set by each thread at its start.
#include "thread.hpp"

#include "herald.hpp"
#include "syscall.hpp"

namespace herald::user {

namespace {

// The main thread's thread-local storage, installed by the first
// thread_create (or thread_local_slot): until then it is the only thread,
// so nothing can race with that.
ThreadControl g_main_control;
bool g_main_installed;

void install_main_control()
{
    if (__atomic_load_n(&g_main_installed, __ATOMIC_ACQUIRE))
        return;
    g_main_control.self = &g_main_control;
    sys_thread_set_pointer(reinterpret_cast<uint64_t>(&g_main_control));
    __atomic_store_n(&g_main_installed, true, __ATOMIC_RELEASE);
}

ThreadControl* current_control()
{
    ThreadControl* control;
    asm volatile("mov %%fs:0, %0" : "=r"(control));
    return control;
}

} // namespace

int64_t sys_thread_create(uint64_t entry, uint64_t stack_top, uint64_t parameter, uint64_t cpu)
{
    return syscall4(number_of(SyscallNumber::ThreadCreate), entry, stack_top, parameter, cpu);
}

int64_t sys_thread_join(uint64_t thread_id, int64_t* value)
{
    return syscall2(number_of(SyscallNumber::ThreadJoin), thread_id, reinterpret_cast<uint64_t>(value));
}

int64_t sys_thread_set_pointer(uint64_t address)
{
    return syscall1(number_of(SyscallNumber::ThreadSetPointer), address);
}

ThreadControl* thread_create(ThreadFunction function, uint64_t argument, uint64_t cpu, int64_t* error)
{
    install_main_control();
    auto* control = static_cast<ThreadControl*>(calloc(1, sizeof(ThreadControl)));
    void* stack = malloc(kThreadStackBytes);
    if (!control || !stack) {
        free(control);
        free(stack);
        if (error)
            *error = static_cast<int64_t>(SyscallError::NoMemory);
        return nullptr;
    }
    control->self = control;
    control->function = function;
    control->argument = argument;
    control->stack = stack;
    uint64_t stack_top = (reinterpret_cast<uint64_t>(stack) + kThreadStackBytes) & ~uint64_t(15);
    int64_t id = sys_thread_create(reinterpret_cast<uint64_t>(&herald_thread_start), stack_top,
        reinterpret_cast<uint64_t>(control), cpu);
    if (id < 0) {
        free(stack);
        free(control);
        if (error)
            *error = id;
        return nullptr;
    }
    control->id = static_cast<uint64_t>(id);
    return control;
}

int64_t thread_start_on(ThreadControl& control, void* stack, size_t stack_bytes, ThreadFunction function,
    uint64_t argument, uint64_t cpu)
{
    install_main_control();
    control = ThreadControl {};
    control.self = &control;
    control.function = function;
    control.argument = argument;
    uint64_t stack_top = (reinterpret_cast<uint64_t>(stack) + stack_bytes) & ~uint64_t(15);
    int64_t id = sys_thread_create(reinterpret_cast<uint64_t>(&herald_thread_start), stack_top,
        reinterpret_cast<uint64_t>(&control), cpu);
    if (id >= 0)
        control.id = static_cast<uint64_t>(id);
    return id;
}

int64_t thread_join(ThreadControl* thread, int64_t* value)
{
    int64_t status = sys_thread_join(thread->id, value);
    if (status < 0)
        return status;
    free(thread->stack);
    free(thread);
    return 0;
}

void thread_exit(int64_t value)
{
    syscall1(number_of(SyscallNumber::ThreadExit), static_cast<uint64_t>(value));
    __builtin_trap(); // ThreadExit does not return
}

uint64_t& thread_local_slot(size_t index)
{
    install_main_control(); // the main thread's, if no thread was created yet
    return current_control()->locals[index % kThreadLocalSlots];
}

} // namespace herald::user

// Where herald_thread_start (start.asm) goes, on the new thread's stack.
extern "C" [[noreturn]] void herald_thread_main(herald::user::ThreadControl* control)
{
    using namespace herald::user;
    sys_thread_set_pointer(reinterpret_cast<uint64_t>(control));
    thread_exit(control->function(control->argument));
}

// The thread API of user/runtime/thread.hpp: control blocks (each with the
// thread's block of ELF thread-local storage below it) from the heap,
// stacks from the slots at the bottom of the stack region, the thread
// pointer (FS) and the stack guard set by each thread at its start.
#include "thread.hpp"

#include "herald.hpp"
#include "syscall.hpp"

// The PT_TLS template, from user/runtime/user.ld.
extern "C" const char __tls_start[], __tls_file_end[], __tls_end[], __tls_align[];

namespace herald::user {

namespace {

// A thread's block of ELF thread-local storage (x86-64 psABI,
// "Thread-Local Storage", variant II): block_size bytes just below the
// thread pointer, which is aligned to `align`; a copy of the template's
// .tdata, then zeros (.tbss). The linker addresses a variable at a fixed
// negative offset from the thread pointer (local exec: static programs).
struct TlsLayout {
    uintptr_t template_start;
    size_t file_size;
    size_t block_size;    // 0: no thread_local variables
    size_t pointer_align; // the thread pointer's: the segment's, at least 16 (the control block's)
};

// The block's size is the segment's size rounded up to the segment's own
// alignment, not to the thread pointer's: the linker puts a variable at
// `offset - align_up(memory size, p_align)` from the thread pointer, so any
// other rounding moves the copied .tdata away from where the code reads it.
TlsLayout tls_layout()
{
    auto start = reinterpret_cast<uintptr_t>(__tls_start);
    size_t memory_size = reinterpret_cast<uintptr_t>(__tls_end) - start;
    size_t segment_align = reinterpret_cast<uintptr_t>(__tls_align);
    if (segment_align == 0)
        segment_align = 1;
    size_t pointer_align = segment_align < 16 ? 16 : segment_align;
    return TlsLayout { start, reinterpret_cast<uintptr_t>(__tls_file_end) - start,
        (memory_size + segment_align - 1) & ~(segment_align - 1), pointer_align };
}

// A zeroed ThreadControl from the heap, with the thread's TLS block below
// it, filled from the template; nullptr if the heap has no room. The
// allocation has pointer_align bytes of slack: rounding the end of the
// block up to the thread pointer's alignment moves it by less than that.
// With `with_io`, the runtime's per-thread I/O state follows the control
// block in the same allocation (thread_create's threads; not the main
// thread's, which is static).
constexpr size_t kControlBytes = (sizeof(ThreadControl) + 15) & ~size_t(15);

ThreadControl* new_control(bool with_io)
{
    TlsLayout tls = tls_layout();
    size_t io_bytes = with_io ? thread_io_bytes() : 0;
    void* allocation = calloc(1, tls.block_size + kControlBytes + io_bytes + tls.pointer_align);
    if (!allocation)
        return nullptr;
    uintptr_t pointer = (reinterpret_cast<uintptr_t>(allocation) + tls.block_size + tls.pointer_align - 1)
        & ~(tls.pointer_align - 1);
    __builtin_memcpy(reinterpret_cast<void*>(pointer - tls.block_size), reinterpret_cast<const void*>(tls.template_start),
        tls.file_size);
    auto* control = reinterpret_cast<ThreadControl*>(pointer);
    control->self = control;
    control->allocation = allocation;
    if (with_io)
        control->io = reinterpret_cast<void*>(pointer + kControlBytes); // made by thread_create, over its slot's page
    return control;
}

// The main thread's thread-local storage: installed at the start if the
// program has thread_local variables (herald_runtime_start), else by the
// first thread_create (or thread_local_slot): until then it is the only
// thread, so nothing can race with that.
ThreadControl g_main_static;
ThreadControl* g_main_control = &g_main_static;
bool g_main_installed;

// One bit per stack slot, set while a thread (running, or ended and not
// yet joined) has it.
uint64_t g_slots_taken;

// The main thread keeps the region above the slots, and its guard below
// that: a program with threads may no longer run its main stack down into
// theirs. (Unless it is that deep already: then it keeps the region's own
// guard, abi::kStackGuardPage.)
void install_main_control()
{
    if (__atomic_load_n(&g_main_installed, __ATOMIC_ACQUIRE))
        return;
    g_main_control->self = g_main_control;
    g_main_control->stack_slot = kStackSlots;
    g_main_control->io = main_thread_io();
    sys_thread_set_pointer(reinterpret_cast<uint64_t>(g_main_control));
    uint64_t here = reinterpret_cast<uint64_t>(__builtin_frame_address(0));
    if (here >= kMainStackGuard + abi::kPageSize && here < abi::kUserSpaceEnd) {
        g_main_control->stack_guard = kMainStackGuard;
        sys_thread_set_stack_guard(kMainStackGuard);
    }
    __atomic_store_n(&g_main_installed, true, __ATOMIC_RELEASE);
}

// A free slot's index, now taken; kStackSlots if all are taken.
uint64_t take_stack_slot()
{
    uint64_t taken = __atomic_load_n(&g_slots_taken, __ATOMIC_RELAXED);
    for (;;) {
        if (~taken == 0 || (kStackSlots < 64 && (~taken & ((uint64_t(1) << kStackSlots) - 1)) == 0))
            return kStackSlots;
        uint64_t slot = static_cast<uint64_t>(__builtin_ctzll(~taken));
        if (__atomic_compare_exchange_n(&g_slots_taken, &taken, taken | uint64_t(1) << slot, false, __ATOMIC_ACQUIRE,
                __ATOMIC_RELAXED))
            return slot;
    }
}

void give_back_stack_slot(uint64_t slot)
{
    if (slot < kStackSlots)
        __atomic_fetch_and(&g_slots_taken, ~(uint64_t(1) << slot), __ATOMIC_RELEASE);
}

uint64_t slot_guard(uint64_t slot) { return kStackSlotsBase + slot * kStackSlotBytes; }

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

int64_t sys_thread_set_stack_guard(uint64_t page)
{
    return syscall1(number_of(SyscallNumber::ThreadSetStackGuard), page);
}

ThreadControl* thread_create(ThreadFunction function, uint64_t argument, uint64_t cpu, int64_t* error)
{
    install_main_control();
    ThreadControl* control = new_control(true);
    uint64_t slot = control ? take_stack_slot() : kStackSlots;
    if (slot == kStackSlots) {
        free(control ? control->allocation : nullptr);
        if (error)
            *error = static_cast<int64_t>(SyscallError::NoMemory);
        return nullptr;
    }
    control->self = control;
    control->function = function;
    control->argument = argument;
    control->stack_guard = slot_guard(slot);
    control->stack_slot = slot;
    uint64_t ipc_buffer = slot_guard(slot) + kSlotIpcBufferOffset;
    control->io = thread_io_init(control->io, reinterpret_cast<uint8_t*>(ipc_buffer));
    uint64_t stack_top = ipc_buffer;
    int64_t id = sys_thread_create(reinterpret_cast<uint64_t>(&herald_thread_start), stack_top,
        reinterpret_cast<uint64_t>(control), cpu);
    if (id < 0) {
        give_back_stack_slot(slot);
        free(control->allocation);
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
    if (tls_layout().block_size != 0)
        return static_cast<int64_t>(SyscallError::BadArgument); // no room for its TLS block below `control`
    install_main_control();
    control = ThreadControl {};
    control.self = &control;
    control.stack_slot = kStackSlots;
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
    give_back_stack_slot(thread->stack_slot);
    free(thread->allocation);
    return 0;
}

void thread_exit(int64_t value)
{
    finish_line(); // the line in this thread's buffer, lost with the thread if not sent now
    syscall1(number_of(SyscallNumber::ThreadExit), static_cast<uint64_t>(value));
    __builtin_trap(); // ThreadExit does not return
}

ThreadControl* current_thread_or_null()
{
    return __atomic_load_n(&g_main_installed, __ATOMIC_ACQUIRE) ? current_control() : nullptr;
}

uint64_t& thread_local_slot(size_t index)
{
    install_main_control(); // the main thread's, if no thread was created yet
    return current_control()->locals[index % kThreadLocalSlots];
}

} // namespace herald::user

// Called by _start (start.asm) before herald_main: a program with
// thread_local variables needs its main thread's block before any code
// touches one. Without them it costs a comparison.
extern "C" void herald_runtime_start()
{
    using namespace herald::user;
    if (tls_layout().block_size == 0)
        return;
    g_main_control = new_control(false);
    if (!g_main_control) {
        debug_write("no memory for the main thread's thread-local storage");
        exit(-1);
    }
    install_main_control();
}

// Where herald_thread_start (start.asm) goes, on the new thread's stack.
extern "C" [[noreturn]] void herald_thread_main(herald::user::ThreadControl* control)
{
    using namespace herald::user;
    sys_thread_set_pointer(reinterpret_cast<uint64_t>(control));
    if (control->stack_guard)
        sys_thread_set_stack_guard(control->stack_guard);
    thread_exit(control->function(control->argument));
}

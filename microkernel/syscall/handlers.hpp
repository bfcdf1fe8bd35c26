// Every system call's handler, by the file that defines it; the table that
// maps numbers to them is in syscalls.cpp (abi/syscalls.hpp has the
// numbers, docs/syscalls.md what each does). A handler takes the arguments
// as the arch layer read them (arch/x86_64/syscall_abi.hpp) and returns a
// value or an Error, which the dispatcher encodes once into the result
// register (lib/syscall_error.hpp). The IPC calls that exchange messages
// also read and write the caller's message registers (ipc/).
#pragma once

#include "../arch/x86_64/syscall_abi.hpp"
#include "../lib/error.hpp"

namespace herald {

using SyscallHandler = ErrorOr<u64> (*)(const SyscallArgs& args);

// syscalls.cpp: the basic calls.
ErrorOr<u64> sys_debug_write(const SyscallArgs& args);
ErrorOr<u64> sys_yield(const SyscallArgs& args);
ErrorOr<u64> sys_sleep(const SyscallArgs& args);
ErrorOr<u64> sys_exit(const SyscallArgs& args);
ErrorOr<u64> sys_self_info(const SyscallArgs& args);
ErrorOr<u64> sys_null(const SyscallArgs& args);
ErrorOr<u64> sys_event_counters(const SyscallArgs& args);

// ipc/ipc.cpp: handles, endpoints, notifications, saved replies.
ErrorOr<u64> sys_endpoint_create(const SyscallArgs& args);
ErrorOr<u64> sys_notification_create(const SyscallArgs& args);
ErrorOr<u64> sys_handle_close(const SyscallArgs& args);
ErrorOr<u64> sys_handle_mint(const SyscallArgs& args);
ErrorOr<u64> sys_set_ipc_buffer(const SyscallArgs& args);
ErrorOr<u64> sys_ipc_send(const SyscallArgs& args);
ErrorOr<u64> sys_ipc_receive(const SyscallArgs& args);
ErrorOr<u64> sys_ipc_call(const SyscallArgs& args);
ErrorOr<u64> sys_ipc_reply_receive(const SyscallArgs& args);
ErrorOr<u64> sys_notify_signal(const SyscallArgs& args);
ErrorOr<u64> sys_notify_wait(const SyscallArgs& args);
ErrorOr<u64> sys_ipc_reply_save(const SyscallArgs& args);
ErrorOr<u64> sys_ipc_reply_to(const SyscallArgs& args);

// syscall/memory_control.cpp: the memory server's, through MemoryControl.
ErrorOr<u64> sys_memory_map(const SyscallArgs& args);
ErrorOr<u64> sys_memory_unmap(const SyscallArgs& args);
ErrorOr<u64> sys_memory_reclaim(const SyscallArgs& args);
ErrorOr<u64> sys_memory_ranges(const SyscallArgs& args);
ErrorOr<u64> sys_memory_map_reply(const SyscallArgs& args);

// syscall/task_control.cpp: tasks as capabilities, power, the kernel log.
ErrorOr<u64> sys_task_create(const SyscallArgs& args);
ErrorOr<u64> sys_task_give_handle(const SyscallArgs& args);
ErrorOr<u64> sys_task_start(const SyscallArgs& args);
ErrorOr<u64> sys_task_kill(const SyscallArgs& args);
ErrorOr<u64> sys_task_wait(const SyscallArgs& args);
ErrorOr<u64> sys_task_info(const SyscallArgs& args);
ErrorOr<u64> sys_task_list(const SyscallArgs& args);
ErrorOr<u64> sys_system_shutdown(const SyscallArgs& args);
ErrorOr<u64> sys_log_read(const SyscallArgs& args);

// services/boot_servers.cpp: the console and loader tasks, for their supervisor.
ErrorOr<u64> sys_server_task(const SyscallArgs& args);

// fault_control.cpp: fault injection (faults=on only).
ErrorOr<u64> sys_fault_inject(const SyscallArgs& args);
// syscall/device_control.cpp: the device capabilities (docs/drivers.md).
ErrorOr<u64> sys_io_port_restrict(const SyscallArgs& args);
ErrorOr<u64> sys_io_port_enable(const SyscallArgs& args);
ErrorOr<u64> sys_interrupt_restrict(const SyscallArgs& args);
ErrorOr<u64> sys_interrupt_bind(const SyscallArgs& args);
ErrorOr<u64> sys_interrupt_ack(const SyscallArgs& args);
ErrorOr<u64> sys_device_memory_restrict(const SyscallArgs& args);
ErrorOr<u64> sys_device_memory_map(const SyscallArgs& args);
ErrorOr<u64> sys_device_info(const SyscallArgs& args);
ErrorOr<u64> sys_interrupt_allocate_msi(const SyscallArgs& args);
// syscall/thread_control.cpp: threads in the caller's task.
ErrorOr<u64> sys_thread_create(const SyscallArgs& args);
ErrorOr<u64> sys_thread_exit(const SyscallArgs& args);
ErrorOr<u64> sys_thread_join(const SyscallArgs& args);
ErrorOr<u64> sys_thread_set_pointer(const SyscallArgs& args);
ErrorOr<u64> sys_thread_set_stack_guard(const SyscallArgs& args);

} // namespace herald

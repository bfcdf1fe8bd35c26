; _start: where every user thread of a Herald program begins (ENTRY in
; user/runtime/user.ld).
;
; The kernel enters ring 3 here with RSP at the top of the thread's stack and
; the thread's parameter in RDX (seed); nothing else is set up. _start ends
; the frame-pointer chain, aligns the stack as the System V psABI requires
; at a call (RSP a multiple of 16), calls herald_runtime_start (the main
; thread's thread-local storage, user/runtime/thread.cpp), then
;     extern "C" int64_t herald_main(uint64_t parameter)
; and passes its return value to herald_exit (user/runtime/libherald.cpp),
; which prints what is left of the last line and makes the Exit system call.
; It never returns.
bits 64
default rel

; SyscallNumber::Exit in microkernel/abi/syscalls.hpp; runtime.cpp checks
; with a static_assert that the two agree.
SYSCALL_EXIT equ 3

section .text.start progbits alloc exec nowrite align=16
global _start:function (_start.end - _start)
extern herald_main
extern herald_exit
extern herald_runtime_start
_start:
    xor ebp, ebp            ; no caller frame: backtraces stop here
    and rsp, -16
    push rdx                ; the parameter, kept across the call (RSP stays
    push rdx                ; a multiple of 16)
    call herald_runtime_start
    pop rdi                 ; the parameter becomes herald_main's argument
    pop rdx
    call herald_main
    mov rdi, rax            ; exit status
    call herald_exit
    mov eax, SYSCALL_EXIT   ; herald_exit does not return; if it ever did, exit anyway
    syscall
    ; Exit does not return; if it ever did, fault rather than run on.
.hang:
    ud2
    jmp .hang
.end:

; herald_thread_start: where every thread made by thread_create begins
; (user/runtime/thread.cpp). The kernel enters here with RSP at the top of
; the thread's stack and its ThreadControl in RDI (and RDX); the stack is
; aligned as at _start, and herald_thread_main never returns.
global herald_thread_start:function (herald_thread_start.end - herald_thread_start)
extern herald_thread_main
herald_thread_start:
    xor ebp, ebp
    and rsp, -16
    call herald_thread_main
.hang:
    ud2
    jmp .hang
.end:

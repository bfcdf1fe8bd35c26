; switch_context: the seed's task switch, between two kernel stacks.
;
; void switch_context(u64* save_rsp, u64 next_rsp)
;
; Pushes RFLAGS and the callee-saved registers (System V: RBX, RBP,
; R12-R15) on the current kernel stack, stores RSP in *save_rsp (Thread::saved_rsp, the
; seed's "Ring0 RSP" of the task list), loads next_rsp and pops the next
; thread's callee-saved registers. The RET then continues wherever that
; thread called switch_context from, or, for a thread that never ran, at
; thread_start. Everything else the compiler may keep in registers across
; the call is caller-saved, so these six are all that must survive. RFLAGS
; is kept per thread too, so that no flag one thread had (AC, NT, ...) is
; ever seen by another.

bits 64
section .text

extern scheduler_finish_switch
extern interrupt_return

global switch_context
switch_context:
    pushfq
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    mov [rdi], rsp
    mov rsp, rsi
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    popfq
    ret

; A new thread's first instructions (its stack is built by task.cpp): let the
; scheduler finish the switch, then "return from an interrupt" into the
; thread's entry point through the seed's initial iret frame.
global thread_start
thread_start:
    call scheduler_finish_switch
    jmp interrupt_return

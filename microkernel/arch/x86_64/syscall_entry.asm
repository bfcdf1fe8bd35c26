; SYSCALL entry (SDM Vol. 2B, SYSCALL; ABI in microkernel/abi/syscalls.hpp).
;
; The CPU arrives here in ring 0 with RCX = user RIP, R11 = user RFLAGS,
; interrupts off (IA32_FMASK clears IF), and still on the user stack with the
; user GS. The stub switches to the thread's kernel stack (%gs:8, kept by the
; scheduler), builds the same InterruptFrame an interrupt would, so the
; scheduler and the fault paths see one layout, and calls handle_syscall().
; The way back is SYSRET, which reloads RIP from RCX and RFLAGS from R11.

bits 64
%include "interrupt_frame.inc"
section .text

extern handle_syscall

USER_DATA   equ 0x1B                    ; gdt.hpp: kUserDataSelector
USER_CODE   equ 0x23                    ; gdt.hpp: kUserCodeSelector
PROCESSOR_KERNEL_STACK equ 8            ; smp/processor.hpp
PROCESSOR_USER_STACK   equ 16
SYSCALL_MARK equ 0x100                  ; InterruptFrame::vector of a system call

global syscall_entry
syscall_entry:
    swapgs
    mov [gs:PROCESSOR_USER_STACK], rsp
    mov rsp, [gs:PROCESSOR_KERNEL_STACK]
    push USER_DATA                      ; SS
    push qword [gs:PROCESSOR_USER_STACK] ; RSP
    push r11                            ; RFLAGS
    push USER_CODE                      ; CS
    push rcx                            ; RIP
    push 0                              ; error code
    push SYSCALL_MARK                   ; vector
    PUSH_GENERAL_REGISTERS
    cld
    mov rdi, rsp
    call handle_syscall                 ; writes the result into the frame's RAX
    POP_GENERAL_REGISTERS
    add rsp, 16                         ; vector, error code
    pop rcx                             ; RIP (handle_syscall checked it is a user address)
    add rsp, 8                          ; CS
    pop r11                             ; RFLAGS
    ; From here to SYSRET this CPU runs in ring 0 on the user's stack: an
    ; interrupt now would push its frame there. Interrupts are off on every
    ; way back from handle_syscall already (SYSCALL cleared IF, and a call
    ; that blocked comes back through the scheduler with IF off); this CLI
    ; makes that a fact here instead of a promise kept elsewhere, at one
    ; instruction per system call. (NMI and #MC use IST stacks: idt.cpp.)
    cli
    mov rsp, [rsp]                      ; the user RSP
    swapgs
    o64 sysret

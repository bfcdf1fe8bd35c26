; Entry stubs for the 32 exception vectors (SDM Vol. 3A §6.15).
;
; Each stub makes the stack look the same whatever the vector: it pushes a
; zero where the CPU pushes no error code, then the vector number, then every
; general register, and hands the resulting InterruptFrame
; (interrupt_frame.hpp) to handle_interrupt() in C++.
;
; No SWAPGS yet: nothing runs in ring 3 and GS is not used for per-CPU data
; until the SMP work adds both together.

bits 64
section .text

extern handle_interrupt

%macro EXCEPTION_WITHOUT_ERROR_CODE 1
exception_%1:
    push 0
    push %1
    jmp interrupt_common
%endmacro

%macro EXCEPTION_WITH_ERROR_CODE 1
exception_%1:
    push %1
    jmp interrupt_common
%endmacro

; Vectors with an error code: #DF 8, #TS 10, #NP 11, #SS 12, #GP 13, #PF 14,
; #AC 17, #CP 21, #VC 29, #SX 30 (SDM Vol. 3A Table 6-1).
%assign vector 0
%rep 32
%if vector = 8 || vector = 10 || vector = 11 || vector = 12 || vector = 13 || vector = 14 || vector = 17 || vector = 21 || vector = 29 || vector = 30
    EXCEPTION_WITH_ERROR_CODE vector
%else
    EXCEPTION_WITHOUT_ERROR_CODE vector
%endif
%assign vector vector + 1
%endrep

interrupt_common:
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    cld                         ; the C++ ABI expects DF clear
    mov rdi, rsp                ; InterruptFrame*; RSP is 16-byte aligned here:
    call handle_interrupt       ; the CPU aligned it, then 22 pushes of 8 bytes
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16                 ; vector and error code
    iretq

section .rodata
global exception_entry_points
exception_entry_points:
%assign vector 0
%rep 32
    dq exception_ %+ vector
%assign vector vector + 1
%endrep

; Entry stubs for all 256 vectors: the 32 exceptions (SDM Vol. 3A §6.15)
; and the interrupts Herald uses (vectors.hpp).
;
; Each stub makes the stack look the same whatever the vector: it pushes a
; zero where the CPU pushes no error code, then the vector number, then every
; general register, and hands the resulting InterruptFrame
; (interrupt_frame.hpp) to handle_interrupt() in C++.
;
; GS holds the per-CPU pointer in ring 0 (smp/cpu.hpp). An interrupt from
; ring 3 arrives with the user's GS, so the stub swaps it in with SWAPGS, and
; swaps back before returning there.

bits 64
%include "interrupt_frame.inc"
section .text

extern handle_interrupt

%macro EXCEPTION_WITHOUT_ERROR_CODE 1
vector_%1:
    push 0
    push %1
    jmp interrupt_common
%endmacro

%macro EXCEPTION_WITH_ERROR_CODE 1
vector_%1:
    push %1
    jmp interrupt_common
%endmacro

; Vectors with an error code: #DF 8, #TS 10, #NP 11, #SS 12, #GP 13, #PF 14,
; #AC 17, #CP 21, #VC 29, #SX 30 (SDM Vol. 3A Table 6-1).
%assign vector 0
%rep 256
%if vector = 8 || vector = 10 || vector = 11 || vector = 12 || vector = 13 || vector = 14 || vector = 17 || vector = 21 || vector = 29 || vector = 30
    EXCEPTION_WITH_ERROR_CODE vector
%else
    EXCEPTION_WITHOUT_ERROR_CODE vector
%endif
%assign vector vector + 1
%endrep

FRAME_RIP_BEFORE_REGISTERS equ 16      ; vector, error code, then RIP
FRAME_CS_BEFORE_REGISTERS equ 24       ; vector, error code, RIP, then CS

interrupt_common:
    test qword [rsp + FRAME_CS_BEFORE_REGISTERS], 3
    jz .from_kernel
    swapgs
    jmp .gs_ready
.from_kernel:
    ; A fault on the IRETQ back to ring 3 (a bad user frame) arrives "from
    ; the kernel" but with the user's GS already swapped in: swap it back.
    cmp qword [rsp + FRAME_RIP_BEFORE_REGISTERS], iret_to_user
    jne .gs_ready
    swapgs
.gs_ready:
    PUSH_GENERAL_REGISTERS
    cld                         ; the C++ ABI expects DF clear
    ; AC clear: ring 3 may have set it, and with AC set SMAP would not
    ; protect user memory from the kernel. CLAC exists only with SMAP, so
    ; the AC bit is cleared through RFLAGS instead.
    pushfq
    and qword [rsp], ~(1 << 18)
    popfq
    mov rdi, rsp                ; InterruptFrame*; RSP is 16-byte aligned here:
    call handle_interrupt       ; the CPU aligned it, then 22 pushes of 8 bytes
; Also the way into a new thread (context_switch.asm) and back from a system
; call that cannot use SYSRET: RSP points at an InterruptFrame.
global interrupt_return
interrupt_return:
    POP_GENERAL_REGISTERS
    test qword [rsp + FRAME_CS_BEFORE_REGISTERS], 3
    jz return_to_kernel
    swapgs
    add rsp, 16                 ; vector and error code
global iret_to_user
iret_to_user:
    iretq
return_to_kernel:
    add rsp, 16                 ; vector and error code
    iretq

section .rodata
global interrupt_entry_points
interrupt_entry_points:
%assign vector 0
%rep 256
    dq vector_ %+ vector
%assign vector vector + 1
%endrep

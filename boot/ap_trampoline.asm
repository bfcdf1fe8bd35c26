; The application processors' way in: real mode -> protected mode -> long
; mode, then a jump into the kernel (ap_long_mode_entry in entry.asm).
;
; Assembled as a flat binary (-f bin) and embedded in the kernel; the boot
; CPU copies it to a free 4 KiB page below 1 MiB, fills in the parameters at
; the end, and sends STARTUP with that page's number (seed: "This address
; must be aligned on a 4k boundary because the SIPI message takes the page
; number as a parameter"). The AP starts in real mode at CS:IP = page:0.
;
; The code does not know its page in advance, so it works out its linear
; base from CS and patches the two absolute addresses it needs (the GDT and
; the far-jump target) before using them. Paging is turned on with the boot
; page tables (boot/entry.asm: identity map of 4 GiB, no NX bits), which
; cover this page; the kernel switches to its final tables in C++.

bits 16
org 0

%include "long_mode.inc"

PARAMETERS          equ 0xFC0       ; microkernel/arch/x86_64/smp_boot.cpp: kTrampolineParameters
CR0_PE              equ 1 << 0
CODE32              equ 0x08
DATA                equ 0x10

trampoline_start:
    cli
    cld
    mov ax, cs
    mov ds, ax
    xor ebx, ebx
    mov bx, ax
    shl ebx, 4                          ; EBX = linear address of this page
    lea eax, [ebx + gdt]
    mov [gdt_pointer + 2], eax
    lea eax, [ebx + protected_mode]
    mov [protected_mode_target], eax
    lgdt [gdt_pointer]
    mov eax, cr0
    or eax, CR0_PE
    mov cr0, eax
    jmp dword far [protected_mode_target]

bits 32
protected_mode:
    mov ax, DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    ENTER_LONG_MODE [ebx + PARAMETERS + parameter_boot_cr3]
    ; Now in compatibility mode: a far jump through a 64-bit code segment
    ; enters 64-bit mode, straight into the kernel image (below 4 GiB).
    jmp far [ebx + PARAMETERS + parameter_long_mode_target]

align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF               ; 0x08: 32-bit code
    dq 0x00CF92000000FFFF               ; 0x10: data
    dq 0x00AF9A000000FFFF               ; 0x18: 64-bit code
gdt_end:
gdt_pointer:
    dw gdt_end - gdt - 1
    dd 0                                ; patched: linear address of gdt
protected_mode_target:
    dd 0                                ; patched: linear address of protected_mode
    dw CODE32

%if ($ - $$) > PARAMETERS
%error "trampoline code runs into its parameters"
%endif
times PARAMETERS - ($ - $$) db 0

; Filled in by the boot CPU before each STARTUP (smp_boot.cpp, struct
; TrampolineParameters; the offsets below must match it).
parameters:
parameter_long_mode_target  equ 0      ; m16:32 far pointer: offset, then selector 0x18
parameter_boot_cr3          equ 8
parameter_stack_top         equ 16
parameter_processor         equ 24
parameter_final_cr3         equ 32      ; read by ap_long_mode_entry (entry.asm)
parameter_efer_bits         equ 40      ; likewise
    times 64 db 0

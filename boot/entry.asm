; Herald's 32-bit entry: from the state a Multiboot loader leaves (32-bit
; protected mode, paging off, EAX = magic, EBX = boot information) to 64-bit
; long mode, then into the C++ kernel (kernel_main in microkernel/kmain.cpp).
;
; The sequence is the seed's ("Enabling multi-processors in my hobby OS"):
; identity-map memory with 2 MiB pages, set CR4.PAE, load CR3, set EFER.LME, set CR0.PG, far-jump into a 64-bit code
; segment. The C++ kernel later replaces these tables with its final ones.
;
; The seed maps the first 128 MiB here. Herald maps the first 4 GiB instead:
; a Multiboot loader may put its information block and the modules anywhere
; below 4 GiB (GRUB on UEFI puts them near the top of low memory), and the
; kernel must read them before it has built its own tables.
;
; Anything this code cannot cope with is said on COM1 in one line, then the
; CPU halts: there is no other way to tell the user this early.

bits 32

%include "long_mode.inc"

MB1_BOOT_MAGIC      equ 0x2BADB002      ; Multiboot 0.6.96 §3.2: EAX on entry
MB2_BOOT_MAGIC      equ 0x36D76289      ; Multiboot2 §3.3: EAX on entry

COM1                equ 0x3F8
COM1_LINE_STATUS    equ COM1 + 5
LSR_TX_EMPTY        equ 1 << 5          ; 16550 line status: transmitter ready

EFLAGS_ID           equ 1 << 21         ; SDM Vol. 1 §3.4.3: toggles iff CPUID exists
CPUID_1_EDX_TSC     equ 1 << 4
CPUID_EXT_LM        equ 1 << 29         ; CPUID 0x80000001 EDX: long mode

PAGE_PRESENT        equ 1 << 0
PAGE_WRITABLE       equ 1 << 1
PAGE_HUGE           equ 1 << 7          ; PS bit: 2 MiB page in a page directory
BOOT_MAP_PAGES      equ 2048            ; 4 GiB / 2 MiB
BOOT_MAP_DIRECTORIES equ 4              ; 512 entries per page directory
TWO_MIB             equ 0x200000

BOOT_CODE64         equ 0x08            ; selectors in boot_gdt below
BOOT_DATA           equ 0x10

extern kernel_main
extern __bss_start
extern __bss_end

section .boot.text progbits alloc exec nowrite align=16

global multiboot_entry
multiboot_entry:
    cli
    cld
    mov [boot_magic_saved], eax         ; CPUID below clobbers EBX: keep both now
    mov [boot_info_saved], ebx
    mov ebp, eax
    mov esp, boot_stack_top

    ; CPUID must exist before we can ask about the TSC and long mode.
    pushfd
    pop eax
    mov ecx, eax
    xor eax, EFLAGS_ID
    push eax
    popfd
    pushfd
    pop eax
    push ecx
    popfd
    xor eax, ecx
    jz .no_cpuid

    mov eax, 1
    cpuid
    test edx, CPUID_1_EDX_TSC
    jz .no_long_mode                    ; every x86-64 CPU has a TSC
    rdtsc                               ; start of "kernel ready in <T> ms"
    mov [boot_tsc], eax
    mov [boot_tsc + 4], edx

    cmp ebp, MB1_BOOT_MAGIC
    je .magic_ok
    cmp ebp, MB2_BOOT_MAGIC
    jne .bad_magic
.magic_ok:

    mov eax, 0x80000000
    cpuid
    cmp eax, 0x80000001
    jb .no_long_mode
    mov eax, 0x80000001
    cpuid
    test edx, CPUID_EXT_LM
    jz .no_long_mode

    ; Clear .bss (boot tables and stack live there too; nothing used yet).
    ; The boot info in EBX is outside the kernel image, so it survives.
    mov edi, __bss_start
    mov ecx, __bss_end
    sub ecx, edi
    xor eax, eax
    rep stosb

    call build_boot_page_tables

    ENTER_LONG_MODE boot_pml4

    lgdt [boot_gdt_pointer]
    jmp BOOT_CODE64:long_mode_entry

.no_cpuid:
    mov esi, msg_no_cpuid
    jmp fail
.no_long_mode:
    mov esi, msg_no_long_mode
    jmp fail
.bad_magic:
    mov esi, msg_bad_magic
    jmp fail

; PML4[0] -> PDPT, PDPT[0..3] -> four page directories, whose 2048 entries
; map 2 MiB pages at 0..4 GiB.
build_boot_page_tables:
    mov eax, boot_pdpt
    or eax, PAGE_PRESENT | PAGE_WRITABLE
    mov [boot_pml4], eax
    xor ecx, ecx
.next_directory:
    mov eax, ecx
    shl eax, 12
    add eax, boot_pd
    or eax, PAGE_PRESENT | PAGE_WRITABLE
    mov [boot_pdpt + ecx * 8], eax
    inc ecx
    cmp ecx, BOOT_MAP_DIRECTORIES
    jb .next_directory
    xor ecx, ecx
.next_entry:
    mov eax, ecx
    imul eax, TWO_MIB
    or eax, PAGE_PRESENT | PAGE_WRITABLE | PAGE_HUGE
    mov [boot_pd + ecx * 8], eax
    inc ecx
    cmp ecx, BOOT_MAP_PAGES
    jb .next_entry
    ret

; Prints the NUL-terminated string at ESI on COM1 and halts forever.
fail:
.next_char:
    lodsb
    test al, al
    jz .halt
    mov bl, al
    mov ecx, 100000                     ; bounded wait: no UART, no hang here
.wait:
    mov dx, COM1_LINE_STATUS
    in al, dx
    test al, LSR_TX_EMPTY
    jnz .send
    loop .wait
.send:
    mov dx, COM1
    mov al, bl
    out dx, al
    jmp .next_char
.halt:
    cli
    hlt
    jmp .halt

bits 64
long_mode_entry:
    mov ax, BOOT_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor ax, ax
    mov fs, ax
    mov gs, ax
    mov rsp, boot_stack_top
    xor ebp, ebp                        ; ends the frame-pointer chain for backtraces
    mov edi, [boot_magic_saved]
    mov esi, [boot_info_saved]
    call kernel_main
.hang:
    cli
    hlt
    jmp .hang

; Application processors arrive here from boot/ap_trampoline.asm, in 64-bit
; mode on the boot page tables, with EBX = the trampoline's linear address.
; They switch to the kernel's final tables before touching their stack, which
; may lie where only those tables reach (mm/kernel_memory.hpp); EFER.NXE goes
; first, since the final tables use the NX bit.
TRAMPOLINE_PARAMETERS       equ 0xFC0
TRAMPOLINE_STACK_TOP        equ 16
TRAMPOLINE_PROCESSOR        equ 24
TRAMPOLINE_FINAL_CR3        equ 32
TRAMPOLINE_EFER_BITS        equ 40
extern ap_main
global ap_long_mode_entry
ap_long_mode_entry:
    mov ax, BOOT_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor ax, ax
    mov fs, ax
    mov gs, ax
    mov ecx, MSR_EFER
    rdmsr
    or eax, [rbx + TRAMPOLINE_PARAMETERS + TRAMPOLINE_EFER_BITS]
    wrmsr
    mov rax, [rbx + TRAMPOLINE_PARAMETERS + TRAMPOLINE_FINAL_CR3]
    mov cr3, rax
    mov rsp, [rbx + TRAMPOLINE_PARAMETERS + TRAMPOLINE_STACK_TOP]
    mov rdi, [rbx + TRAMPOLINE_PARAMETERS + TRAMPOLINE_PROCESSOR]
    xor ebp, ebp
    call ap_main
.hang:
    cli
    hlt
    jmp .hang

; The trampoline itself, copied below 1 MiB at run time (smp_boot.cpp).
section .rodata
global ap_trampoline_start
global ap_trampoline_end
ap_trampoline_start:
    incbin "ap_trampoline.bin"
ap_trampoline_end:

section .boot.rodata progbits alloc noexec nowrite align=16
msg_no_cpuid:     db "herald: boot failed: this CPU has no CPUID instruction; Herald needs an x86-64 CPU", 13, 10, 0
msg_no_long_mode: db "herald: boot failed: this CPU has no 64-bit long mode; Herald needs an x86-64 CPU", 13, 10, 0
msg_bad_magic:    db "herald: boot failed: not started by a Multiboot or Multiboot2 loader (bad magic in EAX)", 13, 10, 0

align 16
boot_gdt:
    dq 0
    dq 0x00AF9A000000FFFF               ; 0x08: 64-bit code, DPL 0 (L=1, D=0)
    dq 0x00CF92000000FFFF               ; 0x10: data, DPL 0
boot_gdt_end:
boot_gdt_pointer:
    dw boot_gdt_end - boot_gdt - 1
    dd boot_gdt

; Written before .bss is cleared, so these live in .data.
section .data
global boot_tsc
align 8
boot_tsc:          dq 0                 ; TSC at entry (microkernel/arch/x86_64/tsc.cpp)
boot_magic_saved:  dd 0
boot_info_saved:   dd 0

section .bss
align 4096
boot_pml4:  resb 4096
boot_pdpt:  resb 4096
boot_pd:    resb 4096 * BOOT_MAP_DIRECTORIES
global boot_pml4

; The boot CPU's stack has a page of its own below it that is left unmapped
; (kernel.ld, paging.cpp), so an overflow faults instead of overwriting data.
section .boot_stack nobits alloc write align=4096
global boot_stack_bottom
global boot_stack_top
boot_stack_bottom:
    resb 16384
boot_stack_top:

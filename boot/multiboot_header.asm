; The two boot headers that let real loaders start Herald.
;
; Multiboot v1 is what QEMU's built-in loader understands (-kernel); QEMU
; refuses 64-bit ELF files, so the build also emits a 32-bit ELF copy of the
; kernel (herald32.elf) for it. Multiboot2 is what GRUB uses for the ISO on
; SeaBIOS, OVMF and real PCs; GRUB loads the 64-bit ELF as it is.
; Both must sit near the start of the file: v1 within the first 8 KiB
; (Multiboot 0.6.96 §3.1.1), v2 within the first 32 KiB (Multiboot2 §3.1.1).

section .multiboot_header progbits alloc noexec nowrite align=8

; ---- Multiboot v1 (Multiboot specification 0.6.96, §3.1) ----
MB1_MAGIC           equ 0x1BADB002
MB1_PAGE_ALIGN      equ 1 << 0      ; load modules on 4 KiB boundaries
MB1_MEMORY_INFO     equ 1 << 1      ; we need mem_* and the memory map
MB1_FLAGS           equ MB1_PAGE_ALIGN | MB1_MEMORY_INFO

align 4
multiboot1_header:
    dd MB1_MAGIC
    dd MB1_FLAGS
    dd -(MB1_MAGIC + MB1_FLAGS)

; ---- Multiboot2 (Multiboot2 specification, §3.1) ----
MB2_MAGIC           equ 0xE85250D6
MB2_ARCH_I386       equ 0            ; "i386 protected mode", the only x86 entry state
MB2_TAG_END         equ 0
MB2_TAG_MODULE_ALIGN equ 6           ; §3.1.10: page-align modules

align 8
multiboot2_header:
    dd MB2_MAGIC
    dd MB2_ARCH_I386
    dd multiboot2_header_end - multiboot2_header
    dd -(MB2_MAGIC + MB2_ARCH_I386 + (multiboot2_header_end - multiboot2_header))
align 8
    dw MB2_TAG_MODULE_ALIGN, 0
    dd 8
align 8
    dw MB2_TAG_END, 0
    dd 8
multiboot2_header_end:

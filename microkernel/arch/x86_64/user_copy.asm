; bool user_copy_bytes(void* destination, const void* source, u64 length)
;
; The one place where the kernel touches user memory. A fault on the
; REP MOVSB is recovered (user_copy.cpp): RIP moves to user_copy_fixup, which
; returns false. Nothing else in this range may fault.

bits 64
section .text

global user_copy_bytes
global user_copy_access
global user_copy_fixup
global user_store_u64
global user_store_access
global user_store_fixup

user_copy_bytes:
    mov rcx, rdx
user_copy_access:               ; the only instruction whose faults are recovered
    rep movsb
    mov eax, 1
    ret
user_copy_fixup:
    xor eax, eax
    ret

; bool user_store_u64(u64* destination, u64 value): one aligned 8-byte store
; (atomic: a reader sees the old word or the new one), recovered the same way.
user_store_u64:
user_store_access:              ; the only instruction whose faults are recovered
    mov [rdi], rsi
    mov eax, 1
    ret
user_store_fixup:
    xor eax, eax
    ret

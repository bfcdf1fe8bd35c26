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

user_copy_bytes:
    mov rcx, rdx
user_copy_access:               ; the only instruction whose faults are recovered
    rep movsb
    mov eax, 1
    ret
user_copy_fixup:
    xor eax, eax
    ret

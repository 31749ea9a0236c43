// clone3 on a stack of the caller's choosing (declared in shim_private.h), for the sandbox
// child (spawn.c) and the user namespace helper (userns.c).
#include "shim_private.h"

#ifdef DROVER_HAVE_TRAMPOLINE
__asm__(
    ".text\n"
    ".globl drover_clone3_trampoline\n"
    ".hidden drover_clone3_trampoline\n"
    ".type drover_clone3_trampoline,@function\n"
    "drover_clone3_trampoline:\n"
    "    mov %rdx, %r8\n"        // fn and arg survive the syscall in r8/r9
    "    mov %rcx, %r9\n"
    "    mov $435, %eax\n"       // __NR_clone3
    "    syscall\n"
    "    test %rax, %rax\n"
    "    jnz 1f\n"
    "    xor %ebp, %ebp\n"       // child: outermost frame on the new stack
    "    mov %r9, %rdi\n"
    "    call *%r8\n"
    "    mov %eax, %edi\n"
    "    mov $60, %eax\n"        // __NR_exit
    "    syscall\n"
    "    hlt\n"
    "1:  ret\n"
    ".size drover_clone3_trampoline, .-drover_clone3_trampoline\n");
#endif

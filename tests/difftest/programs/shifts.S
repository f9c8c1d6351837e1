# Directed: shifts by 0, 1, 31 and by register amounts >= 32 (only the low 5 bits count).
    .text
    .globl _start
_start:
    li sp, 0
    li t0, 0x80000001
    li t1, 0x7fffffff
    li t2, 32                  # shift amount 32 -> 0
    li t3, 33                  # -> 1
    li t4, -1                  # -> 31
    slli s0, t0, 0
    slli s1, t0, 1
    slli s2, t0, 31
    srli s3, t0, 0
    srli s4, t0, 1
    srli s5, t0, 31
    srai s6, t0, 0
    srai s7, t0, 1             # sign bit replicated
    srai s8, t0, 31            # all ones
    srai s9, t1, 31            # zero
    sll s10, t0, t2
    sll s11, t0, t3
    sll a1, t0, t4
    srl a2, t0, t2
    srl a3, t0, t3
    srl a4, t0, t4
    sra a5, t0, t2
    sra a6, t0, t3
    sra gp, t0, t4
    sra tp, t1, t4
    li t5, 0x12345678
    li t6, 36                  # -> 4
    sll ra, t5, t6
    srl t2, t5, t6
    sra t3, t0, t6
    sll zero, t0, t3           # discarded
    li a0, 0
    li a7, 93
    ecall

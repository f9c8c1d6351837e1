# Directed: M extension, including division by zero and INT_MIN / -1 (RISC-V defines both:
# no trap; quotient all ones or INT_MIN, remainder the dividend or 0) and the high products.
    .text
    .globl _start
_start:
    li sp, 0
    li t0, 0x80000000          # INT_MIN
    li t1, -1
    li t2, 7
    li t3, -2
    li t4, 0xffffffff
    div s0, t2, zero           # -1
    divu s1, t2, zero          # 0xffffffff
    rem s2, t2, zero           # 7
    remu s3, t2, zero          # 7
    div s4, t0, t1             # INT_MIN (overflow)
    rem s5, t0, t1             # 0
    divu s6, t0, t1            # 0
    remu s7, t0, t1            # INT_MIN
    div s8, t2, t3             # -3 (toward zero)
    rem s9, t2, t3             # 1
    neg t5, t2
    div s10, t5, t3            # 3
    rem s11, t5, t3            # -1
    div a1, t5, t2             # -1
    mul a2, t0, t1             # INT_MIN
    mulh a3, t0, t1            # 0
    mulhu a4, t0, t1           # 0x7fffffff
    mulhsu a5, t0, t1          # INT_MIN * 0xffffffff >> 32 = 0x80000000
    mulhsu a6, t1, t0          # -1 * 0x80000000 >> 32 = -1
    mulh gp, t0, t0            # 0x40000000
    mulhu tp, t4, t4           # 0xfffffffe
    mul ra, t4, t4             # 1
    mulhsu t6, t2, t4          # 6
    divu t3, t4, t2
    remu t1, t4, t2
    div zero, t2, zero         # discarded
    li a0, 0
    li a7, 93
    ecall

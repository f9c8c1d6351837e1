# Directed: RV32I register-register and immediate ALU ops at their boundaries
# (overflow wrap, slt/sltu signed vs unsigned, immediates -2048/2047, x0 as destination).
    .text
    .globl _start
_start:
    li sp, 0
    li t0, 0x7fffffff          # INT_MAX
    li t1, 0x80000000          # INT_MIN
    li t2, -1
    add s0, t0, t0             # wraps to -2
    add s1, t0, t2             # INT_MAX - 1
    sub s2, t1, t0             # INT_MIN - INT_MAX wraps to 1
    sub s3, zero, t1           # -INT_MIN = INT_MIN
    slt s4, t1, t0             # signed: INT_MIN < INT_MAX
    sltu s5, t1, t0            # unsigned: 0x80000000 > 0x7fffffff
    slt s6, t2, zero           # -1 < 0
    sltu s7, t2, zero          # 0xffffffff < 0 is false
    sltu s8, zero, t2          # snez-like
    slt s9, t0, t0             # equal: 0
    xor s10, t0, t1            # -1
    or s11, t1, t0
    and a1, t1, t2
    addi a2, t0, 1             # wraps to INT_MIN
    addi a3, zero, -2048
    addi a4, zero, 2047
    slti a5, t2, 0             # -1 < 0
    slti a6, t1, -2048         # INT_MIN < -2048
    sltiu gp, zero, -1         # 0 < 0xffffffff (imm sign-extended then unsigned)
    sltiu tp, t2, -1           # 0xffffffff < 0xffffffff false
    sltiu ra, t0, 1            # seqz of non-zero
    xori t3, t0, -1            # not
    ori t4, zero, -2048        # 0xfffff800
    andi t5, t2, 2047
    andi t6, t1, -2048         # keeps INT_MIN
    add zero, t0, t0           # discarded
    addi x0, x0, 5             # nop form, discarded
    xori a7, t2, 0x555
    li a0, 0
    mv t0, a7
    li a7, 93
    ecall

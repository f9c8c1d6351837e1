# Directed: lui/auipc and the li/la expansions (which must match GNU as instruction for
# instruction, since auipc and jal results depend on the pc).
    .text
    .globl _start
_start:
    li sp, 0
    lui s0, 0
    lui s1, 0xfffff
    lui s2, 0x80000
    lui s3, 1
    auipc s4, 0
    auipc s5, 1
    auipc s6, 0xfffff          # pc - 4096
    li s7, 0x800               # lui+addi with carry
    li s8, 0xfff
    li s9, 0x7ff               # addi only
    li s10, -2049
    li s11, 0x12345fff
    li a1, 0x80000000          # lui only
    li a2, -1
    li a3, 0xfffff800
    li a4, 0x7ffff800
    la a5, here
here:
    auipc a6, 0
    sub gp, a6, a5             # 0 when la and auipc agree
    lui tp, %hi(value)
    lw tp, %lo(value)(tp)
    la ra, value
    lw t3, 0(ra)
    li t4, 0xabcdef01
    li t5, 2048
    li t6, -2048
    li a0, 0
    li a7, 93
    ecall

    .data
value: .word 0x5eadbeef

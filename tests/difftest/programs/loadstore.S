# Directed: every load/store width, sign vs zero extension, byte/half lanes inside a word,
# negative offsets, x0 as load destination.
    .text
    .globl _start
_start:
    li sp, 0
    la t0, buf
    li t1, 0x80ff7f01
    sw t1, 0(t0)
    lb s0, 0(t0)               # 0x01
    lb s1, 1(t0)               # 0x7f
    lb s2, 2(t0)               # 0xff -> -1
    lb s3, 3(t0)               # 0x80 -> -128
    lbu s4, 2(t0)              # 255
    lbu s5, 3(t0)              # 128
    lh s6, 0(t0)               # 0x7f01
    lh s7, 2(t0)               # 0x80ff -> negative
    lhu s8, 2(t0)
    lw s9, 0(t0)
    li t2, 0xa5
    sb t2, 5(t0)
    li t2, 0xbeef
    sh t2, 6(t0)
    lw s10, 4(t0)              # 0xbeefa5xx with the initial byte 4 kept
    addi t3, t0, 16
    sw t1, -4(t3)              # word at 12
    sh t1, -6(t3)              # half at 10
    sb t1, -7(t3)              # byte at 9
    lw s11, -4(t3)
    lw a1, 8(t0)
    lhu a2, -6(t3)
    lb a3, -7(t3)
    lw zero, 0(t0)             # discarded
    lbu a4, 4(t0)
    lh a5, 6(t0)
    lhu a6, 6(t0)
    la t4, buf_end
    lw gp, -4(t4)
    sw zero, -8(t4)
    lw tp, -8(t4)
    li a0, 0
    li a7, 93
    ecall

    .data
    .balign 16
buf:
    .word 0, 0x11223344, 0, 0, 0x5555aaaa, 0xdeadbeef, 0x0badf00d, 0x600dcafe
buf_end:

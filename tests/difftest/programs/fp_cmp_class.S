# Directed: feq (quiet: NV only for sNaN) / flt / fle (signaling: NV for any NaN), -0 == +0,
# and fclass for every one of the 10 classes in .s and .d (and an unboxed single).
    .text
    .globl _start
_start:
    li sp, 0
    fmv.w.x ft0, zero          # +0
    li t0, 0x80000000
    fmv.w.x ft1, t0            # -0
    li t0, 0x7fc00000
    fmv.w.x ft2, t0            # qNaN
    li t0, 0x7f800001
    fmv.w.x ft3, t0            # sNaN
    li t0, 0x3f800000
    fmv.w.x ft4, t0            # 1
    feq.s s0, ft0, ft1         # 1
    flt.s s1, ft1, ft0         # 0
    fle.s s2, ft1, ft0         # 1
    frflags s3                 # 0
    feq.s s4, ft2, ft4         # 0, no flag
    frflags s5
    flt.s s6, ft2, ft4         # 0, NV
    fsflags s7, zero
    fle.s s8, ft4, ft2         # NV
    fsflags s9, zero
    feq.s s10, ft3, ft3        # 0, NV (signaling NaN)
    fsflags s11, zero
    flt.s a1, ft4, ft4         # 0
    fle.s a2, ft4, ft4         # 1
    la t0, classes
    li t1, 0                   # fclass.s over the 10 single classes, one bit each in a3
    li a3, 0
    li t3, 10
cls_s:
    flw ft5, 0(t0)
    fclass.s t2, ft5
    or a3, a3, t2
    slli a3, a3, 1             # the shifted OR keeps order-sensitive information
    addi t0, t0, 4
    addi t3, t3, -1
    bnez t3, cls_s
    la t0, dclasses
    li a4, 0
    li t3, 10
cls_d:
    fld ft6, 0(t0)
    fclass.d t2, ft6
    add a4, a4, t2
    slli a4, a4, 1
    addi t0, t0, 8
    addi t3, t3, -1
    bnez t3, cls_d
    fclass.s a5, ft6           # ft6 holds a double: an unboxed single is the canonical NaN
    fclass.d a6, ft4           # boxed single as a double: a NaN
    feq.d gp, ft6, ft6
    flt.d tp, ft6, ft6
    fle.d ra, ft6, ft6
    fsflags t4, zero
    la t0, dclasses
    fld ft7, 24(t0)            # -0.0
    fld ft8, 32(t0)            # +0.0
    feq.d t5, ft7, ft8
    flt.d t6, ft7, ft8
    fle.d t1, ft7, ft8
    frflags t2
    li a0, 0
    li a7, 93
    ecall

    .data
    .balign 8
classes:  # -inf, -normal, -subnormal, -0, +0, +subnormal, +normal, +inf, sNaN, qNaN
    .word 0xff800000, 0xbf800000, 0x80000001, 0x80000000, 0x00000000
    .word 0x007fffff, 0x3f800000, 0x7f800000, 0x7f800001, 0x7fc00000
    .balign 8
dclasses:
    .dword 0xfff0000000000000, 0xbff0000000000000, 0x800fffffffffffff, 0x8000000000000000
    .dword 0x0000000000000000, 0x0000000000000001, 0x4000000000000000, 0x7ff0000000000000
    .dword 0x7ff0000000000001, 0x7ff8000000000000

# Directed: fsqrt (negative -> NV, -0 -> -0, inexact roots per rounding mode) and the four
# fused multiply-adds in .s and .d: one rounding (fused result differs from mul-then-add),
# inf*0 + c, signs of exact zero results, overflow.
    .text
    .globl _start
_start:
    li sp, 0
    li t0, 0x40000000
    fmv.w.x ft0, t0            # 2.0
    fsqrt.s fs0, ft0, rne
    fsqrt.s fs1, ft0, rtz
    fsqrt.s fs2, ft0, rup
    fsflags s0, zero
    li t0, 0xbf800000
    fmv.w.x ft1, t0            # -1.0
    fsqrt.s fs3, ft1           # NaN NV
    fsflags s1, zero
    li t0, 0x80000000
    fmv.w.x ft2, t0            # -0
    fsqrt.s fs4, ft2           # -0, no flag
    frflags s2
    li t0, 0x3f800001
    fmv.w.x ft3, t0            # 1 + 2^-23
    li t0, 0x3f7ffffe
    fmv.w.x ft4, t0            # 1 - 2^-23
    li t0, 0xbf800000
    fmv.w.x ft5, t0            # -1
    fmadd.s fs5, ft3, ft4, ft5 # -2^-46 exactly (fused), mul-then-add would give 0
    fmul.s ft6, ft3, ft4
    fadd.s fs6, ft6, ft5       # unfused: 0
    fmsub.s fs7, ft3, ft4, ft1 # a*b - (-1)
    fnmsub.s fs8, ft3, ft4, ft5  # -(a*b) + c
    fnmadd.s fs9, ft3, ft4, ft5  # -(a*b) - c
    fsflags s3, zero
    li t0, 0x7f800000
    fmv.w.x ft7, t0            # inf
    fmv.w.x ft8, zero          # +0
    li t0, 0x7fc00000
    fmv.w.x ft9, t0            # qNaN
    fmadd.s fs10, ft7, ft8, ft9  # inf*0 + qNaN: NaN and NV
    fsflags s4, zero
    fmadd.s fs11, ft8, ft5, ft8  # (+0 * -1) + +0 = +0
    fmadd.s fa0, ft8, ft5, ft8, rdn  # -0 in rdn
    fnmadd.s fa1, ft8, ft5, ft8  # -(-0) - 0 = +0 - 0... exact zero sum
    fmsub.s fa2, ft7, ft3, ft7  # inf - inf: NV
    fsflags s5, zero
    li t0, 0x7f7fffff
    fmv.w.x ft10, t0
    fmadd.s fa3, ft10, ft10, ft5, rtz  # overflow: max
    fmadd.s fa4, ft10, ft10, ft5       # inf
    fsflags s6, zero
    la t0, dconst
    fld ft0, 0(t0)             # 1 + 2^-52
    fld ft1, 8(t0)             # 1 - 2^-53
    fld ft2, 16(t0)            # -1
    fld ft3, 24(t0)            # 2.0
    fmadd.d fa5, ft0, ft1, ft2   # 2^-53 - 2^-105 exactly (fused)
    fmsub.d fa6, ft0, ft1, ft2
    fnmsub.d fa7, ft0, ft1, ft2
    fnmadd.d ft11, ft0, ft1, ft2, rup
    fsflags s7, zero
    fsqrt.d ft4, ft3, rne
    fsqrt.d ft5, ft3, rdn
    fsqrt.d ft6, ft2           # NaN NV
    fsflags s8, zero
    fsqrt.d ft7, ft3
    frflags s9
    li a0, 0
    li a7, 93
    ecall

    .data
    .balign 8
dconst:
    .dword 0x3ff0000000000001, 0x3fefffffffffffff, 0xbff0000000000000, 0x4000000000000000

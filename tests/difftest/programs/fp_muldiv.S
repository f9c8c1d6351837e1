# Directed: fmul/fdiv .s and .d: 0*inf, x/0, 0/0, inf/inf, overflow and underflow (subnormal
# results, tininess), rounding modes, sign of zero results; fflags after each.
    .text
    .globl _start
_start:
    li sp, 0
    li t0, 0x3f800000
    fmv.w.x ft0, t0            # 1.0
    li t0, 0x40400000
    fmv.w.x ft1, t0            # 3.0
    li t0, 0x7f800000
    fmv.w.x ft2, t0            # inf
    fmv.w.x ft3, zero          # +0
    li t0, 0x00800000
    fmv.w.x ft4, t0            # min normal
    li t0, 0x3f000000
    fmv.w.x ft5, t0            # 0.5
    li t0, 0x3f7fffff
    fmv.w.x ft6, t0            # 1 - 2^-24
    fmul.s fs0, ft3, ft2       # NaN NV
    fsflags s0, zero
    fdiv.s fs1, ft0, ft3       # inf DZ
    fsflags s1, zero
    fdiv.s fs2, ft3, ft3       # NaN NV
    fdiv.s fs3, ft2, ft2       # NaN NV
    fsflags s2, zero
    fdiv.s fs4, ft0, ft1, rup
    fdiv.s fs5, ft0, ft1, rdn
    fneg.s ft7, ft0
    fdiv.s fs6, ft7, ft1, rtz
    fdiv.s fs7, ft7, ft1, rmm
    fsflags s3, zero
    fmul.s fs8, ft4, ft5       # exact subnormal: no UF (exact)
    fsflags s4, zero
    fmul.s fs9, ft4, ft6       # tiny and inexact: UF|NX
    fsflags s5, zero
    fmul.s fs10, fs8, ft5      # halves a subnormal: maybe inexact
    fsflags s6, zero
    fdiv.s fs11, ft4, ft2      # 0 exact
    fneg.s ft8, ft3
    fmul.s fa0, ft8, ft1       # -0
    fdiv.s fa1, ft1, ft8       # -inf DZ
    fsflags s7, zero
    la t0, dconst
    fld ft9, 0(t0)             # 1.0
    fld ft10, 8(t0)            # 3.0
    fld ft11, 16(t0)           # 2^-1022
    fdiv.d fa2, ft9, ft10, rne
    fdiv.d fa3, ft9, ft10, rtz
    fdiv.d fa4, ft9, ft10, rup
    fsflags s8, zero
    fmul.d fa5, ft11, ft11     # underflow to 0: UF|NX
    fsflags s9, zero
    fmul.d fa6, ft11, ft11, rup  # least subnormal
    fdiv.d fa7, ft9, fs11      # fs11 holds a boxed single: as a double it is a quiet NaN
    fsflags s10, zero
    fdiv.d ft0, ft10, ft9
    fmul.d ft1, ft10, ft10
    frflags s11
    li a0, 0
    li a7, 93
    ecall

    .data
    .balign 8
dconst:
    .dword 0x3ff0000000000000, 0x4008000000000000, 0x0010000000000000

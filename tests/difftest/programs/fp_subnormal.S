# Directed: arithmetic producing and consuming subnormals in .s and .d: sums, products and
# quotients around the normal/subnormal boundary (tininess after rounding decides UF), FMA
# with subnormal operands, sqrt of a subnormal, subnormal to int.
    .text
    .globl _start
_start:
    li sp, 0
    li t0, 0x00800000          # min normal 2^-126
    fmv.w.x ft0, t0
    li t0, 0x3f7fffff          # 1 - 2^-24
    fmv.w.x ft1, t0
    li t0, 0x007fffff          # max subnormal
    fmv.w.x ft2, t0
    li t0, 0x00000001          # min subnormal
    fmv.w.x ft3, t0
    li t0, 0x3f000000          # 0.5
    fmv.w.x ft4, t0
    li t0, 0x4b000000          # 2^23
    fmv.w.x ft5, t0
    fmul.s fs0, ft0, ft1       # just below min normal: rounds to 2^-126 in rne
    fsflags s0, zero
    fmul.s fs1, ft0, ft1, rtz  # max subnormal: UF|NX
    fsflags s1, zero
    fadd.s fs2, ft2, ft3       # max subnormal + min subnormal = min normal, exact
    fsflags s2, zero
    fmul.s fs3, ft3, ft4       # 2^-150: tie -> 0 in rne, UF|NX
    fsflags s3, zero
    fmul.s fs4, ft3, ft4, rup  # least subnormal
    fmul.s fs5, ft2, ft5       # subnormal * 2^23: exact normal
    fsflags s4, zero
    fdiv.s fs6, ft3, ft5       # tiny / 2^23 -> 0 with UF|NX
    fsflags s5, zero
    fsqrt.s fs7, ft3           # sqrt(2^-149) normal, inexact
    fsflags s6, zero
    fmadd.s fs8, ft3, ft5, ft2 # 2^-126 + max subnormal, exact
    fmadd.s fs9, ft2, ft4, ft3 # subnormal result, inexact?
    fsflags s7, zero
    fcvt.w.s s8, ft2, rup      # 1
    fcvt.w.s s9, ft2           # 0, NX
    fsflags s10, zero
    fsub.s fs10, ft3, ft3      # +0
    fclass.s s11, fs1
    la t0, dconst
    fld ft6, 0(t0)             # 2^-1022
    fld ft7, 8(t0)             # 1 - 2^-53
    fld ft8, 16(t0)            # least subnormal double
    fld ft9, 24(t0)            # 0.5
    fmul.d fs11, ft6, ft7      # tie at the boundary
    fsflags a1, zero
    fmul.d fa0, ft6, ft7, rdn
    fsflags a2, zero
    fmul.d fa1, ft8, ft9       # 2^-1075 -> 0, UF|NX
    fsflags a3, zero
    fmul.d fa2, ft8, ft9, rmm  # least subnormal
    fsqrt.d fa3, ft8
    fsflags a4, zero
    fcvt.s.d fa4, ft6          # double min normal -> single 0, UF|NX
    fsflags a5, zero
    fcvt.d.s fa5, ft3          # single subnormal -> normal double, exact
    frflags a6
    # Tininess after rounding means rounding with an unbounded exponent (IEEE 754 7.5): the
    # delivered result can be the min normal and still raise UF.
    fld ft10, 32(t0)           # 2^-126 - 2^-150: 24 significant bits, below 2^-126
    fcvt.s.d fa6, ft10, rup    # delivers 2^-126, yet tiny: UF|NX
    fsflags t1, zero
    fnmadd.s fa7, ft3, ft4, ft2, rdn  # -(2^-150) - max subnormal: the same case via FMA
    fsflags t2, zero
    fld ft11, 40(t0)           # 2^-126 * (1 - 2^-25)
    fcvt.s.d ft6, ft11         # rne: 2^-126 even with unbounded exponent: not tiny, NX only
    fsflags t3, zero
    fcvt.s.d ft7, ft11, rtz    # max subnormal: UF|NX
    fsflags t4, zero
    fld ft11, 48(t0)           # max subnormal double
    fmadd.d ft10, ft8, ft9, ft11, rup  # 2^-1075 + max subnormal: delivers 2^-1022, UF|NX
    fsflags t5, zero
    li a0, 0
    li a7, 93
    ecall

    .data
    .balign 8
dconst:
    .dword 0x0010000000000000, 0x3fefffffffffffff, 0x0000000000000001, 0x3fe0000000000000
    .dword 0x380fffffe0000000, 0x380ffffff0000000, 0x000fffffffffffff

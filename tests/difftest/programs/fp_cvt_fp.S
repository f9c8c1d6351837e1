# Directed: fcvt.s.d rounding (ties, per mode), overflow per mode, underflow to subnormal and
# zero, NaN -> canonical (sNaN raises NV); fcvt.d.s exact, of sNaN, of an unboxed register.
    .text
    .globl _start
_start:
    li sp, 0
    la t0, dconst
    fld ft0, 0(t0)             # 1 + 2^-24 (tie: to even 1.0)
    fld ft1, 8(t0)             # 1 + 3*2^-24 (tie: to even 1 + 2^-22)
    fld ft2, 16(t0)            # just above FLT_MAX
    fld ft3, 24(t0)            # 2^-150 (tie between 0 and the least subnormal)
    fld ft4, 32(t0)            # 1.5 * 2^-149
    fld ft5, 40(t0)            # sNaN
    fld ft6, 48(t0)            # qNaN payload
    fld ft7, 56(t0)            # -1e300
    fcvt.s.d fs0, ft0          # dyn = rne
    fcvt.s.d fs1, ft0, rup
    fcvt.s.d fs2, ft0, rmm
    fcvt.s.d fs3, ft1, rne
    fcvt.s.d fs4, ft1, rtz
    fsflags s0, zero
    fcvt.s.d fs5, ft2, rne     # inf OF|NX
    fcvt.s.d fs6, ft2, rtz     # max
    fsflags s1, zero
    fcvt.s.d fs7, ft3, rne     # +0 UF|NX
    fcvt.s.d fs8, ft3, rup     # least subnormal
    fcvt.s.d fs9, ft4, rne     # 2 * 2^-149 (even)
    fcvt.s.d fs10, ft4, rdn
    fsflags s2, zero
    fcvt.s.d fs11, ft5         # canonical NaN NV
    fsflags s3, zero
    fcvt.s.d fa0, ft6          # canonical NaN, no flag
    frflags s4
    fcvt.s.d fa1, ft7, rdn     # -inf
    fcvt.s.d fa2, ft7, rup     # -max
    fsflags s5, zero
    fcvt.d.s fa3, fs9          # exact subnormal single -> normal double
    fcvt.d.s fa4, fs5          # inf
    frflags s6
    li t1, 0x7f800001
    fmv.w.x ft8, t1
    fcvt.d.s fa5, ft8          # sNaN -> canonical double NaN NV
    fsflags s7, zero
    fcvt.d.s fa6, ft0          # ft0 holds a double: unboxed -> canonical NaN, no flag
    frflags s8
    fsrmi 3
    fcvt.s.d fa7, ft0          # dynamic rup
    fsrmi 0
    li a0, 0
    li a7, 93
    ecall

    .data
    .balign 8
dconst:
    .dword 0x3ff0000010000000, 0x3ff0000030000000, 0x47efffffff000000, 0x3690000000000000
    .dword 0x36a8000000000000, 0x7ff0000000000001, 0x7ff8000000012345, 0xfe37e43c8800759c

# Directed: fadd.d/fsub.d ties per rounding mode (static and dynamic), signed zeros,
# inf - inf, overflow per mode, sNaN; fflags after each group.
    .text
    .globl _start
_start:
    li sp, 0
    la t0, dconst
    fld ft0, 0(t0)             # 1.0
    fld ft1, 8(t0)             # 2^-53: 1 + 2^-53 is a tie
    fld ft2, 16(t0)            # 3 * 2^-53
    fld ft3, 24(t0)            # max finite
    fld ft4, 32(t0)            # +inf
    fld ft5, 40(t0)            # sNaN
    fld ft6, 48(t0)            # least subnormal
    fadd.d fs0, ft0, ft1, rne
    fadd.d fs1, ft0, ft1, rtz
    fadd.d fs2, ft0, ft1, rdn
    fadd.d fs3, ft0, ft1, rup
    fadd.d fs4, ft0, ft1, rmm
    fadd.d fs5, ft0, ft2, rne
    fneg.d ft7, ft0
    fsub.d fs6, ft7, ft1, rdn
    fsub.d fs7, ft7, ft1, rmm
    fsflags s0, zero
    fsub.d fs8, ft0, ft0, rdn  # -0
    fsrmi 2
    fsub.d fs9, ft1, ft1       # -0 (dynamic rdn)
    fsrmi 3
    fadd.d fs10, ft0, ft1      # dynamic rup: 1 + 2^-52
    fsrmi 0
    fsub.d fs11, ft4, ft4      # NaN, NV
    fsflags s1, zero
    fadd.d fa0, ft3, ft3       # inf OF|NX
    fadd.d fa1, ft3, ft3, rtz  # max
    fadd.d fa2, ft3, ft3, rdn
    fadd.d fa3, ft3, ft3, rup
    fsflags s2, zero
    fadd.d fa4, ft6, ft6       # exact subnormal
    frflags s3
    fadd.d fa5, ft5, ft0       # sNaN -> canonical, NV
    fsflags s4, zero
    fadd.d fa6, ft4, ft0       # inf, no flag
    frflags s5
    fsub.d fa7, ft0, ft6, rtz  # 1 - tiny: largest double below 1
    frflags s6
    li a0, 0
    li a7, 93
    ecall

    .data
    .balign 8
dconst:
    .dword 0x3ff0000000000000, 0x3ca0000000000000, 0x3cb8000000000000, 0x7fefffffffffffff
    .dword 0x7ff0000000000000, 0x7ff4000000000000, 0x0000000000000001

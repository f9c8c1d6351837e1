# Directed: fadd.s/fsub.s rounding of ties in every static and dynamic rounding mode, signed
# zero results (x - x is -0 only in rdn), inf - inf, overflow per mode; fflags after each.
    .text
    .globl _start
_start:
    li sp, 0
    li t0, 0x3f800000          # 1.0
    fmv.w.x ft0, t0
    li t0, 0x33800000          # 2^-24: 1 + 2^-24 is a tie between 1 and 1 + 2^-23
    fmv.w.x ft1, t0
    li t0, 0x34400000          # 3 * 2^-24: tie between 1 + 2^-23 and 1 + 2^-22
    fmv.w.x ft2, t0
    fadd.s fs0, ft0, ft1, rne  # 1.0 (even)
    fadd.s fs1, ft0, ft1, rtz
    fadd.s fs2, ft0, ft1, rdn
    fadd.s fs3, ft0, ft1, rup
    fadd.s fs4, ft0, ft1, rmm  # away: 1 + 2^-23
    fadd.s fs5, ft0, ft2, rne  # 1 + 2^-22 (even)
    fneg.s ft3, ft0
    fsub.s fs6, ft3, ft1, rne  # -1.0
    fsub.s fs7, ft3, ft1, rdn  # -(1 + 2^-23)
    fsub.s fs8, ft3, ft1, rup  # -1.0
    fsub.s fs9, ft3, ft1, rmm
    fsflags s0, zero           # NX from the above, then clear
    fsub.s fs10, ft0, ft0      # +0 (dyn = rne)
    fsub.s fs11, ft0, ft0, rdn # -0
    fsrmi 2                    # frm = rdn
    fsub.s fa0, ft1, ft1       # -0 via dynamic rdn
    fsrmi 0
    li t0, 0x7f800000          # +inf
    fmv.w.x ft4, t0
    fsub.s fa1, ft4, ft4       # NaN, NV
    fsflags s1, zero
    fadd.s fa2, ft4, ft0       # inf, no flags
    frflags s2
    li t0, 0x7f7fffff          # max finite
    fmv.w.x ft5, t0
    fadd.s fa3, ft5, ft5, rne  # inf, OF|NX
    fsflags s3, zero
    fadd.s fa4, ft5, ft5, rtz  # max, OF|NX
    fadd.s fa5, ft5, ft5, rdn  # max
    fadd.s fa6, ft5, ft5, rup  # inf
    fneg.s ft6, ft5
    fadd.s fa7, ft6, ft6, rup  # -max
    fadd.s ft3, ft6, ft6, rdn  # -inf
    fsflags s4, zero
    li t0, 0x00000001          # least subnormal
    fmv.w.x ft7, t0
    fadd.s ft8, ft7, ft7       # exact subnormal: no flags
    frflags s5
    fsub.s ft9, ft7, ft0, rup  # -1 + tiny rounds to -(1 - 2^-24) in rup
    fsub.s ft10, ft0, ft7, rtz
    fadd.s ft11, ft0, ft7, rup # 1 + 2^-23
    fsflags s6, zero
    li t0, 0x7fa00000          # sNaN
    fmv.w.x ft1, t0
    fadd.s ft2, ft1, ft0       # canonical NaN, NV
    frflags s7
    li a0, 0
    li a7, 93
    ecall

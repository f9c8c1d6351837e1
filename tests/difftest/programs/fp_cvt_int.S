# Directed: float -> int conversions with saturation (NaN, +-inf, out of range, negative to
# unsigned), rounding of 2.5/-2.5/0.5 in every mode, and int -> float rounding (16777217,
# 0xffffffff, INT_MIN) per mode; fflags after each group.
    .text
    .globl _start
_start:
    li sp, 0
    li t0, 0x40200000
    fmv.w.x ft0, t0            # 2.5
    li t0, 0xc0200000
    fmv.w.x ft1, t0            # -2.5
    fcvt.w.s s0, ft0, rne      # 2
    fcvt.w.s s1, ft0, rmm      # 3
    fcvt.w.s s2, ft1, rdn      # -3
    fcvt.w.s s3, ft1, rup      # -2
    fcvt.w.s s4, ft1, rtz      # -2
    fcvt.wu.s s5, ft0, rup     # 3
    fsflags s6, zero           # NX
    li t0, 0x7fc00000
    fmv.w.x ft2, t0            # NaN
    fcvt.w.s s7, ft2           # 0x7fffffff NV
    fcvt.wu.s s8, ft2          # 0xffffffff NV
    li t0, 0xff800000
    fmv.w.x ft3, t0            # -inf
    fcvt.w.s s9, ft3           # INT_MIN NV
    fcvt.wu.s s10, ft3         # 0 NV
    li t0, 0x4f000000
    fmv.w.x ft4, t0            # 2^31
    fcvt.w.s s11, ft4          # saturates: 0x7fffffff NV
    fcvt.wu.s a1, ft4          # 0x80000000 exact
    fsflags a2, zero
    li t0, 0xbf000000
    fmv.w.x ft5, t0            # -0.5
    fcvt.wu.s a3, ft5, rtz     # 0, NX only (rounds to -0)
    fsflags a4, zero
    fcvt.wu.s a5, ft5, rdn     # -1 -> 0 with NV
    fsflags a6, zero
    la t0, dconst
    fld ft6, 0(t0)             # 2147483647.5
    fld ft7, 8(t0)             # -2147483648.5
    fld ft8, 16(t0)            # 4294967295.5
    fcvt.w.d gp, ft6, rtz      # INT_MAX, NX
    fcvt.w.d tp, ft6, rne      # rounds to 2^31: NV, INT_MAX
    fcvt.w.d ra, ft7, rup      # INT_MIN, NX
    fcvt.w.d t1, ft7, rdn      # NV, INT_MIN
    fsflags t2, zero
    fcvt.wu.d t3, ft8, rtz     # 0xffffffff, NX
    fcvt.wu.d t4, ft8, rmm     # NV
    fsflags t5, zero
    li t0, 16777217            # 2^24 + 1: a tie in single precision
    fcvt.s.w fs0, t0, rne
    fcvt.s.w fs1, t0, rup
    fcvt.s.w fs2, t0, rmm
    li t0, -16777217
    fcvt.s.w fs3, t0, rdn
    fcvt.s.w fs4, t0, rtz
    li t0, -1
    fcvt.s.wu fs5, t0, rtz     # 4294967295 rounded down
    fcvt.s.wu fs6, t0          # rne: 2^32
    fcvt.s.w fs7, t0           # -1.0 exact
    li t0, 0x80000000
    fcvt.s.w fs8, t0           # -2^31 exact
    fcvt.s.wu fs9, t0          # 2^31 exact
    fcvt.d.w fs10, t0          # exact
    li t0, -1
    fcvt.d.wu fs11, t0         # exact
    fcvt.d.w fa0, t0
    fcvt.d.wu fa1, zero        # +0
    frflags t6
    li a0, 0
    li a7, 93
    ecall

    .data
    .balign 8
dconst:
    .dword 0x41dfffffffe00000, 0xc1e0000000100000, 0x41effffffff00000

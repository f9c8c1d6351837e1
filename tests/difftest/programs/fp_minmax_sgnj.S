# Directed: fmin/fmax with -0/+0 in both orders, one quiet NaN, both NaN (canonical), sNaN
# (NV, other operand); fsgnj/fsgnjn/fsgnjx incl. NaN operands (bits kept) and the pseudo
# fmv/fabs/fneg; .s and .d.
    .text
    .globl _start
_start:
    li sp, 0
    fmv.w.x ft0, zero          # +0
    li t0, 0x80000000
    fmv.w.x ft1, t0            # -0
    li t0, 0x7fc12345
    fmv.w.x ft2, t0            # qNaN with payload
    li t0, 0x7f800001
    fmv.w.x ft3, t0            # sNaN
    li t0, 0x3f800000
    fmv.w.x ft4, t0            # 1.0
    li t0, 0xc0000000
    fmv.w.x ft5, t0            # -2.0
    fmin.s fs0, ft0, ft1       # -0
    fmin.s fs1, ft1, ft0       # -0
    fmax.s fs2, ft0, ft1       # +0
    fmax.s fs3, ft1, ft0       # +0
    fmin.s fs4, ft2, ft4       # 1.0
    fmax.s fs5, ft5, ft2       # -2.0
    frflags s0                 # no flag for quiet NaN
    fmin.s fs6, ft2, ft2       # canonical NaN
    fmax.s fs7, ft3, ft4       # 1.0, NV
    fsflags s1, zero
    fmin.s fs8, ft3, ft3       # canonical NaN, NV
    fsflags s2, zero
    fsgnj.s fs9, ft4, ft5      # -1
    fsgnjn.s fs10, ft4, ft5    # +1
    fsgnjx.s fs11, ft5, ft5    # +2
    fsgnjn.s fa0, ft2, ft2     # NaN with sign flipped, payload kept
    fsgnj.s fa1, ft3, ft1      # sNaN with sign set, no flag
    fneg.s fa2, ft0
    fabs.s fa3, ft5
    fmv.s fa4, ft3
    frflags s3
    la t0, dconst
    fld ft6, 0(t0)             # +0
    fld ft7, 8(t0)             # -0
    fld ft8, 16(t0)            # qNaN payload
    fld ft9, 24(t0)            # sNaN
    fld ft10, 32(t0)           # 1.5
    fmin.d fa5, ft6, ft7
    fmax.d fa6, ft7, ft6
    fmin.d fa7, ft8, ft10
    fmax.d ft0, ft9, ft10      # NV
    fsflags s4, zero
    fmax.d ft1, ft8, ft8       # canonical
    fsgnjx.d ft2, ft10, ft7    # -1.5
    fsgnjn.d ft3, ft8, ft8
    fabs.d ft4, ft7
    fneg.d ft5, ft10
    fmv.d ft11, ft9
    fsgnj.d ft7, ft10, ft7
    fmin.s ft6, ft6, ft4       # ft6 is a double: unboxed single operand reads as canonical NaN
    fsgnj.s ft10, ft10, ft4    # unboxed operand: canonical NaN with the sign of ft4
    frflags s5
    li a0, 0
    li a7, 93
    ecall

    .data
    .balign 8
dconst:
    .dword 0x0000000000000000, 0x8000000000000000, 0x7ff8000000012345, 0x7ff0000000000001
    .dword 0x3ff8000000000000

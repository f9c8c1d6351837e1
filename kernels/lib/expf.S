# expf.S: float expf(float x), the scalar exponential of the Snitch runtime's libm, in RV32D.
#
# Algorithm (snitch_cluster.md §5.2; ARM optimized-routines expf, as musl ships it): with
# N = 32, z = x*N/ln2 in double; kd = z + SHIFT (round to integer in the low mantissa bits);
# ki = bits(kd); kd -= SHIFT; r = z - kd; s = asdouble(T[ki % N] + (ki << 47));
# y = (C0*r + C1)*r^2 + (C2*r + 1); return (float)(y*s). Every step is a separately rounded
# double operation, exactly as vexpsim.numerics.exp.expf_libm computes it (tests compare bit
# for bit). Special cases (|x| >= 88, inf, NaN) as the routine's slow branch.
#
# How it maps to Snitch (as the public vexpf_baseline kernel does it; our own code):
# - ki: `fmv.x.w` of the double kd gives its low 32 bits, all that ki % 32 and ki << 47 need
#   (bits of ki above 16 leave the 64-bit word when shifted by 47);
# - s: the table entry is read with two integer loads, ki << 15 is added to its high word, and
#   the double is rebuilt through memory (sw, sw, fld) in the caller's stack frame (each hart
#   has its own stack, so the 8 compute cores can call it concurrently; sp must be set);
# - the |x| >= 88 test is done on the integer bits of x (one fmv.x.w).
# - constants and the 32-entry table live in .data, i.e. main memory (docs/dsl.md memory map),
#   as a libm's read-only data would; they are read-only, so all harts share them. Moving them
#   to .tcdm is a one-word change (it saves ~20 cycles per call on the timed model).
# Calling convention ilp32d: x in fa0 (float), result in fa0. Clobbers t0-t3, fa1-fa7, ft3-ft8
# (caller-saved); ft0-ft2 are left alone (they are the SSR registers).

    .text
expf:
    fmv.x.w t0, fa0                 # bits of x
    srli    t1, t0, 20
    andi    t1, t1, 0x7ff           # top12(x) & 0x7ff
    li      t2, 0x42b               # top12(88.0f)
    bgeu    t1, t2, .Lexpf_special
.Lexpf_main:
    la      t3, expf_consts
    fld     ft3, 0(t3)              # N/ln2
    fld     ft4, 8(t3)              # SHIFT = 0x1.8p52
    fcvt.d.s fa1, fa0               # xd (exact)
    fmul.d  fa2, ft3, fa1           # z = InvLn2N * xd
    fadd.d  fa3, fa2, ft4           # kd = z + SHIFT
    fmv.x.w t0, fa3                 # low word of ki = bits(kd)
    fsub.d  fa3, fa3, ft4           # kd -= SHIFT
    fsub.d  fa2, fa2, fa3           # r = z - kd
    andi    t1, t0, 31              # ki % N
    slli    t1, t1, 3
    la      t2, expf_table
    add     t1, t1, t2
    lw      t2, 0(t1)               # T[ki % N], low word
    lw      t1, 4(t1)               # high word
    slli    t0, t0, 15              # high word of ki << 47
    add     t1, t1, t0
    addi    sp, sp, -16
    sw      t2, 0(sp)
    sw      t1, 4(sp)
    fld     fa4, 0(sp)              # s, rebuilt through memory
    addi    sp, sp, 16
    la      t3, expf_consts
    fld     ft5, 16(t3)             # C0
    fld     ft6, 24(t3)             # C1
    fld     ft7, 32(t3)             # C2
    fld     ft8, 40(t3)             # 1.0
    fmul.d  fa5, ft5, fa2
    fadd.d  fa5, fa5, ft6           # z = C0*r + C1
    fmul.d  fa6, fa2, fa2           # r2 = r*r
    fmul.d  fa7, ft7, fa2
    fadd.d  fa7, fa7, ft8           # y = C2*r + 1
    fmul.d  fa5, fa5, fa6
    fadd.d  fa7, fa5, fa7           # y = z*r2 + y
    fmul.d  fa7, fa7, fa4           # y *= s
    fcvt.s.d fa0, fa7, rne          # (float) y
    ret
.Lexpf_special:
    li      t2, 0xff800000
    beq     t0, t2, .Lexpf_zero     # -inf -> +0
    li      t2, 0x7f8
    bgeu    t1, t2, .Lexpf_naninf   # +inf, NaN: x + x
    bltz    t0, .Lexpf_neg
    li      t2, 0x42b17217          # 0x1.62e42ep6f = log(2^128)
    blt     t2, t0, .Lexpf_inf      # x > log(2^128): overflow
    j       .Lexpf_main
.Lexpf_neg:
    li      t2, 0xc2cff1b4          # -0x1.9fe368p6f = log(2^-150)
    bltu    t2, t0, .Lexpf_zero     # x < log(2^-150): underflow
    j       .Lexpf_main
.Lexpf_naninf:
    fadd.s  fa0, fa0, fa0
    ret
.Lexpf_inf:
    li      t2, 0x7f800000
    fmv.w.x fa0, t2
    ret
.Lexpf_zero:
    fmv.w.x fa0, zero
    ret

    .data
    .balign 8
expf_consts:
    .dword 0x40471547652b82fe       # 0x1.71547652b82fep+0 * 32
    .dword 0x4338000000000000       # 0x1.8p+52
    .dword 0x3ebc6af84b912394       # 0x1.c6af84b912394p-5 / 32^3
    .dword 0x3f2ebfce50fac4f3       # 0x1.ebfce50fac4f3p-3 / 32^2
    .dword 0x3f962e42ff0c52d6       # 0x1.62e42ff0c52d6p-1 / 32
    .dword 0x3ff0000000000000       # 1.0
expf_table:                         # bits(2^(i/32)) - (i << 47): vexpsim.numerics.exp.EXPF_TABLE
    .dword 0x3FF0000000000000, 0x3FEFD9B0D3158574, 0x3FEFB5586CF9890F, 0x3FEF9301D0125B51
    .dword 0x3FEF72B83C7D517B, 0x3FEF54873168B9AA, 0x3FEF387A6E756238, 0x3FEF1E9DF51FDEE1
    .dword 0x3FEF06FE0A31B715, 0x3FEEF1A7373AA9CB, 0x3FEEDEA64C123422, 0x3FEECE086061892D
    .dword 0x3FEEBFDAD5362A27, 0x3FEEB42B569D4F82, 0x3FEEAB07DD485429, 0x3FEEA47EB03A5585
    .dword 0x3FEEA09E667F3BCD, 0x3FEE9F75E8EC5F74, 0x3FEEA11473EB0187, 0x3FEEA589994CCE13
    .dword 0x3FEEACE5422AA0DB, 0x3FEEB737B0CDC5E5, 0x3FEEC49182A3F090, 0x3FEED503B23E255D
    .dword 0x3FEEE89F995AD3AD, 0x3FEEFF76F2FB5E47, 0x3FEF199BDD85529C, 0x3FEF3720DCEF9069
    .dword 0x3FEF5818DCFBA487, 0x3FEF7C97337B9B5F, 0x3FEFA4AFA2A490DA, 0x3FEFD0765B6E4540
    .text

# softmax_vexp_row.S: softmax of one row of N BF16 values on one core, with VEXP.
#
# First step toward issue 6's softmax_vexp (single core, one row already in the TCDM; the SPMD
# row split over 8 cores and the DMA double buffering come next). Structure as the VEXP
# paper's optimised kernel (vexp_details.md §4.2, [NOTES] quoting its Fig. 4): three
# SSR-streamed FREP passes of packed 4xBF16 instructions, the FPU in BF16 mode (fmode = 3):
#   MAX       N/16 iterations x 4 vfmax.h (4 accumulators), then a horizontal max;
#   EXP+SUM   N/8  iterations x 8: vfsub.r.h, vfexp.h, vfsgnj.h to the write stream, vfadd.h;
#   NORM      one fdiv.h for 1/sum, then N/16 iterations x 4 vfmul.r.h.
# Assumptions (the paper does not show them): horizontal reductions through a store and four
# scalar BF16 loads; the sum is accumulated in BF16 (vfadd.h) in 2 packed accumulators, as the
# note's listing does, then reduced in BF16; N is a multiple of 16.
# Symbols: N (row length, -D N=...). Input `x`, output `y` in the TCDM.

    .text
    .globl _start
_start:
    csrr    t0, mhartid
    bnez    t0, done                # one core for now
    csrwi   fmode, 3                # .h = BF16 (src and dst alt formats)

# ---- MAX: SSR0 streams x (N/4 words) --------------------------------------------------------
    li      t0, N/4-1
    scfgwi  t0, 2<<5 | 0            # SSR0 bounds[0]
    li      t0, 8
    scfgwi  t0, 6<<5 | 0            # SSR0 strides[0]
    la      t0, x
    scfgwi  t0, 24<<5 | 0           # SSR0 rptr[0]: 1-D read stream
    la      t1, consts
    fld     ft3, 0(t1)              # 4 x -inf
    fsgnj.d ft4, ft3, ft3
    fsgnj.d ft5, ft3, ft3
    fsgnj.d ft6, ft3, ft3
    csrsi   ssr, 1
    li      t2, N/16-1
    frep.o  t2, 4, 0, 0
    vfmax.h ft3, ft3, ft0
    vfmax.h ft4, ft4, ft0
    vfmax.h ft5, ft5, ft0
    vfmax.h ft6, ft6, ft0
    csrci   ssr, 1
    vfmax.h ft3, ft3, ft4
    vfmax.h ft5, ft5, ft6
    vfmax.h ft3, ft3, ft5
    la      t3, tmp
    fsd     ft3, 0(t3)
    flh     fa0, 0(t3)
    flh     fa1, 2(t3)
    flh     fa2, 4(t3)
    flh     fa3, 6(t3)
    fmax.h  fa0, fa0, fa1
    fmax.h  fa2, fa2, fa3
    fmax.h  fa0, fa0, fa2           # fa0 = row max (BF16)

# ---- EXP + SUM: SSR1 reads x, SSR2 writes y ---------------------------------------------------
    li      t0, N/4-1
    scfgwi  t0, 2<<5 | 1
    scfgwi  t0, 2<<5 | 2
    li      t0, 8
    scfgwi  t0, 6<<5 | 1
    scfgwi  t0, 6<<5 | 2
    la      t0, x
    scfgwi  t0, 24<<5 | 1           # SSR1 rptr[0]
    la      t0, y
    scfgwi  t0, 28<<5 | 2           # SSR2 wptr[0]: 1-D write stream
    fcvt.d.w ft8, zero              # sums = +0 in every lane
    fcvt.d.w ft9, zero
    csrsi   ssr, 1
    li      t2, N/8-1
    frep.o  t2, 8, 0, 0
    vfsub.r.h ft3, ft1, fa0
    vfsub.r.h ft4, ft1, fa0
    vfexp.h ft3, ft3
    vfexp.h ft4, ft4
    vfsgnj.h ft2, ft3, ft3
    vfsgnj.h ft2, ft4, ft4
    vfadd.h ft8, ft8, ft3
    vfadd.h ft9, ft9, ft4
    csrci   ssr, 1
    vfadd.h ft8, ft8, ft9
    fsd     ft8, 0(t3)
    flh     fa1, 0(t3)
    flh     fa2, 2(t3)
    flh     fa3, 4(t3)
    flh     fa4, 6(t3)
    fadd.h  fa1, fa1, fa2
    fadd.h  fa3, fa3, fa4
    fadd.h  fa1, fa1, fa3           # fa1 = row sum (BF16)
    flh     fa2, 8(t1)              # 1.0
    fdiv.h  fa1, fa2, fa1           # 1/sum, the one division per row

# ---- NORM: SSR0 reads y, SSR1 writes y ----------------------------------------------------------
    li      t0, N/4-1
    scfgwi  t0, 2<<5 | 0
    scfgwi  t0, 2<<5 | 1
    li      t0, 8
    scfgwi  t0, 6<<5 | 0
    scfgwi  t0, 6<<5 | 1
    la      t0, y
    scfgwi  t0, 24<<5 | 0
    scfgwi  t0, 28<<5 | 1
    csrsi   ssr, 1
    li      t2, N/16-1
    frep.o  t2, 4, 0, 0
    vfmul.r.h ft1, ft0, fa1
    vfmul.r.h ft1, ft0, fa1
    vfmul.r.h ft1, ft0, fa1
    vfmul.r.h ft1, ft0, fa1
    csrci   ssr, 1
    fmv.x.w a0, fa1                 # drains the FP queue: every result is written
    csrr    s0, mcycle
    li      a0, 0
done:
    ecall

    .tcdm
    .balign 8
consts: .half 0xff80, 0xff80, 0xff80, 0xff80   # -inf x 4
        .half 0x3f80, 0, 0, 0                   # 1.0
tmp:    .zero 8
x:      .zero 2*N
y:      .zero 2*N

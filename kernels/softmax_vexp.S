# softmax_vexp.S: softmax of M rows of N BF16 values on the 8 compute cores with VEXP, the DMA
# core moving blocks of 8 rows between main memory and the TCDM, double-buffered
# (lib/softmax_spmd.S: row i on core i mod 8).
#
# Per row, the VEXP paper's optimised kernel (vexp_details.md §4.2, [NOTES] quoting its Fig. 4),
# exactly the arithmetic of kernels/softmax_vexp_row.S (so each row is bit-identical to the
# one-row kernel; tested), but in place in the TCDM buffer:
#   MAX       SSR0 reads the row; N/16 x 4 vfmax.h (4 accumulators); horizontal max;
#   EXP+SUM   SSR1 reads the row, SSR2 writes e over it (the read stream runs ahead of the
#             write stream, so in place is safe); N/8 x (vfsub.r.h, vfexp.h, vfsgnj.h to the
#             write stream, vfadd.h) on 2 words per iteration, 2 packed BF16 sum accumulators;
#   NORM      one fdiv.h for 1/sum; SSR0 reads e, SSR1 writes y over it; N/16 x 4 vfmul.r.h.
# Assumptions (the paper does not show them): horizontal reductions through a store to this
# core's scratch and four scalar BF16 loads; the sum is accumulated in BF16 (as the note's
# listing: vfadd.h) and reduced in BF16; N is a multiple of 16; the FPU is in BF16 mode
# (fmode = 3) on every compute core for the whole run. Phase boundaries are the core's mcycle
# reads (as snrt_mcycle: no FP fence), so a phase's last FP instructions may complete in the
# next region; the following pass's `csrsi ssr` drains the FP queue anyway.
# Symbols: M (multiple of 8), N, NBUF. Inputs x, outputs y: main memory.

    .equ EB, 2

.macro ROW_INIT
    csrwi   fmode, 3                # .h = BF16 (src and dst alt formats)
.endm

.macro ROW_SOFTMAX
    li      t0, N/4-1
    scfgwi  t0, 2<<5 | 0            # SSR0 bounds[0]
    li      t0, 8
    scfgwi  t0, 6<<5 | 0            # SSR0 strides[0]
    scfgwi  a0, 24<<5 | 0           # SSR0 rptr[0]: 1-D read stream of the row
    la      t1, vexp_consts
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
    fsd     ft3, 0(s11)
    flh     fa0, 0(s11)
    flh     fa1, 2(s11)
    flh     fa2, 4(s11)
    flh     fa3, 6(s11)
    fmax.h  fa0, fa0, fa1
    fmax.h  fa2, fa2, fa3
    fmax.h  fa0, fa0, fa2           # fa0 = row max (BF16)
    csrr    t0, mcycle              # region "exp_sum" starts
    li      t0, N/4-1
    scfgwi  t0, 2<<5 | 1
    scfgwi  t0, 2<<5 | 2
    li      t0, 8
    scfgwi  t0, 6<<5 | 1
    scfgwi  t0, 6<<5 | 2
    scfgwi  a0, 24<<5 | 1           # SSR1 rptr[0]: the row
    scfgwi  a0, 28<<5 | 2           # SSR2 wptr[0]: e over it
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
    fsd     ft8, 0(s11)
    flh     fa1, 0(s11)
    flh     fa2, 2(s11)
    flh     fa3, 4(s11)
    flh     fa4, 6(s11)
    fadd.h  fa1, fa1, fa2
    fadd.h  fa3, fa3, fa4
    fadd.h  fa1, fa1, fa3           # fa1 = row sum (BF16)
    csrr    t0, mcycle              # region "normalise" starts
    flh     fa2, 8(t1)              # 1.0
    fdiv.h  fa1, fa2, fa1           # 1/sum, the one division per row
    li      t0, N/4-1
    scfgwi  t0, 2<<5 | 0
    scfgwi  t0, 2<<5 | 1
    li      t0, 8
    scfgwi  t0, 6<<5 | 0
    scfgwi  t0, 6<<5 | 1
    scfgwi  a0, 24<<5 | 0
    scfgwi  a0, 28<<5 | 1
    csrsi   ssr, 1
    li      t2, N/16-1
    frep.o  t2, 4, 0, 0
    vfmul.r.h ft1, ft0, fa1
    vfmul.r.h ft1, ft0, fa1
    vfmul.r.h ft1, ft0, fa1
    vfmul.r.h ft1, ft0, fa1
    csrci   ssr, 1
    fmv.x.w t0, fa1                 # drains the FP queue: every result is in the TCDM
.endm

    .include "lib/softmax_spmd.S"

    .tcdm
    .balign 8
vexp_consts:
    .half 0xff80, 0xff80, 0xff80, 0xff80   # -inf x 4
    .half 0x3f80, 0, 0, 0                   # 1.0
    .text

# fa2_vexp.S: FlashAttention-2 forward for one head on the 8 compute cores, the online softmax
# with VEXP (vfexp.ah over SSR/FREP, BF16), the GEMMs the SSR/FREP SIMD ones of the skeleton
# (kernels/lib/fa2_spmd.S: phases, tiling, DMA, data formats).
#
# Per row of the tile (vexp_details.md §4.3 [INF]: VEXP replaces the scalar softmax/expf part
# by the §4.2 SSR+FREP+vfexp loops in BF16; the GEMMs are unchanged):
#   MAX   SSR0 reads the S row (BC/4 words); FREP of vfmax.ah into 4 accumulators (2 when
#         BC = 8); horizontal max through this core's scratch; m_new = max(m_old, rowmax)
#         (BF16; m is stored as FP32, exactly, as every value is a BF16 value);
#   EXP   SSR1 reads S, SSR2 writes P over it; BC/8 x (vfsub.r.ah S - m_new, vfexp.ah,
#         vfsgnj.ah to the write stream, vfsumex.s.ah: the row sum in two FP32-pair
#         accumulators); the pairs are added (vfadd.s) and reduced (vfsum.s);
#   STATS c = fexp.ah(m_old - m_new) (BF16, -inf - m = -inf -> 0 in the first tile),
#         l = l*c + rowsum (FP32 fmadd.s), c stored for the rescale.
# Assumptions (the paper does not give them): S and P in BF16, the row sum and l in FP32
# (vfsumex.s.ah: the same instruction count as a BF16 vfadd.h sum, without its rounding),
# m_new - m_old and its exp in BF16.
# Symbols: LQ, SK, DH, BR, BC, QSCALE (vexpsim/experiments/kernels/fa2.py).

.macro FA2_INIT
.endm

.macro SOFTMAX_ROWS
    scfgwi  zero, 1<<5 | 0          # SSR0 repeat: none (the GEMM set 8)
    li      t0, BC/4-1
    scfgwi  t0, 2<<5 | 0
    scfgwi  t0, 2<<5 | 1
    scfgwi  t0, 2<<5 | 2
    li      t0, 8
    scfgwi  t0, 6<<5 | 0
    scfgwi  t0, 6<<5 | 1
    scfgwi  t0, 6<<5 | 2
    la      a4, fa2_consts
    mv      a1, s9                  # S row
    mv      a2, s10                 # its statistics
    li      a3, R
71: scfgwi  a1, 24<<5 | 0           # SSR0: 1-D read of the row (max)
    fld     ft3, 16(a4)             # 4 x -inf
    fmv.d   ft4, ft3
.if BC >= 16
    fmv.d   ft5, ft3
    fmv.d   ft6, ft3
.endif
    csrsi   ssr, 1
.if BC >= 16
    li      t2, BC/16-1
    frep.o  t2, 4, 0, 0
    vfmax.ah ft3, ft3, ft0
    vfmax.ah ft4, ft4, ft0
    vfmax.ah ft5, ft5, ft0
    vfmax.ah ft6, ft6, ft0
.else
    vfmax.ah ft3, ft3, ft0
    vfmax.ah ft4, ft4, ft0
.endif
    csrci   ssr, 1
.if BC >= 16
    vfmax.ah ft5, ft5, ft6
    vfmax.ah ft3, ft3, ft5
.endif
    vfmax.ah ft3, ft3, ft4
    fsd     ft3, 0(s11)
    flh     fa0, 0(s11)
    flh     fa1, 2(s11)
    flh     fa2, 4(s11)
    flh     fa3, 6(s11)
    fmax.ah fa0, fa0, fa1
    fmax.ah fa2, fa2, fa3
    fmax.ah fa0, fa0, fa2           # row max (BF16)
    flw     fa1, 0(a2)
    fcvt.ah.s fa1, fa1              # m_old (exact)
    fmax.ah fa0, fa0, fa1           # m_new
    fcvt.s.ah fa2, fa0
    fsw     fa2, 0(a2)
    scfgwi  a1, 24<<5 | 1           # SSR1 reads S, SSR2 writes P over it
    scfgwi  a1, 28<<5 | 2
    fmv.d   ft8, fs8                # row sum: 2 x 2 FP32 lanes
    fmv.d   ft9, fs8
    csrsi   ssr, 1
    li      t2, BC/8-1
    frep.o  t2, 8, 0, 0
    vfsub.r.ah ft3, ft1, fa0
    vfsub.r.ah ft4, ft1, fa0
    vfexp.ah ft3, ft3
    vfexp.ah ft4, ft4
    vfsgnj.ah ft2, ft3, ft3
    vfsgnj.ah ft2, ft4, ft4
    vfsumex.s.ah ft8, ft3
    vfsumex.s.ah ft9, ft4
    csrci   ssr, 1
    vfadd.s ft8, ft8, ft9
    fmv.d   fa3, fs8
    vfsum.s fa3, ft8                # row sum (FP32)
    fsub.ah fa4, fa1, fa0           # m_old - m_new
    fexp.ah fa4, fa4                # c
    fcvt.s.ah fa4, fa4
    flw     fa5, 4(a2)
    fmadd.s fa5, fa5, fa4, fa3      # l = l*c + rowsum
    fsw     fa5, 4(a2)
    fsw     fa4, 8(a2)
    li      t0, 8*SROW
    add     a1, a1, t0
    addi    a2, a2, 128
    addi    a3, a3, -1
    bnez    a3, 71b
    fmv.x.w t0, fa4                 # drains the FP queue: P and the statistics are written
.endm

    .include "lib/fa2_spmd.S"

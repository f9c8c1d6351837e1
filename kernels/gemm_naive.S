# gemm_naive.S: C = A . B on one cluster, BF16 inputs, FP32 accumulation, BF16 output, with
# no SSR and no FREP (the public Snitch GEMM's naive mode, snitch_cluster.md §5.4): the same
# layout, DMA and row split as the opt kernels (lib/gemm_spmd.S), and per output and chunk
# one scalar loop over k: two flh, fmulex.s.ah (the BF16 product, exact in FP32), fadd.s into
# one FP32 accumulator (so C = fl32(... fl32(c + a0 b0) + a1 b1 ...), sequentially over all
# K: the same value as a chain of fused multiply-adds). The FP32 value of C goes to cacc
# between chunks and is rounded to BF16 (fcvt.ah.s, nearest even) after the last one, into
# the start of its cacc row (lib/gemm_spmd.S).
# Symbols: M, N, K, TK, NK, NP (from vexpsim/experiments/kernels/gemm.py).

    .equ EB, 2
    .equ OB, 2
    .equ CB, 4                  # one FP32 accumulator per output

.macro KINIT
    fcvt.s.w f30, zero          # +0.0 as a NaN-boxed single (f31 is the 64-bit zero)
.endm

.macro CHUNK first, last
    mv      a1, s5              # cacc of (row, column)
    mv      a2, s5              # output (row, column), in place
    mv      a6, s3              # my A row in the chunk buffer
    mv      a3, s1              # rows left
1:  li      a4, 0               # column j
    mv      a7, s4              # Bt row j in the chunk buffer
2:  mv      t3, a6
    mv      t4, a7
    li      t5, TK
.if \first
    fmv.s   fa0, f30
.else
    flw     fa0, 0(a1)
.endif
3:  flh     ft3, 0(t3)
    flh     ft4, 0(t4)
    addi    t3, t3, 2
    addi    t4, t4, 2
    addi    t5, t5, -1
    fmulex.s.ah ft5, ft3, ft4
    fadd.s  fa0, fa0, ft5
    bnez    t5, 3b
.if \last
    fcvt.ah.s fa0, fa0
    fsh     fa0, 0(a2)
.else
    fsw     fa0, 0(a1)
.endif
    addi    a1, a1, 4
    addi    a2, a2, 2
    addi    a7, a7, ARB
    addi    a4, a4, 1
    li      t0, N
    blt     a4, t0, 2b
    li      t0, 8*CROWB-4*N     # my next row: 8 rows further
    add     a1, a1, t0
    li      t0, 8*CROWB-2*N
    add     a2, a2, t0
    li      t0, 8*ARB
    add     a6, a6, t0
    addi    a3, a3, -1
    bnez    a3, 1b
    fmv.x.w t0, f31             # drains the FP queue: every result is in the TCDM
.endm

    .include "lib/gemm_spmd.S"

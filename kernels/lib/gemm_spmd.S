# gemm_spmd.S: the SPMD + DMA skeleton of the GEMM tile kernels (kernels/gemm_*.S).
#
# C[M,N] = A[M,K] . B[K,N] as one cluster tile (the "gemm" tile of
# vexpsim/experiments/workloads/tiling.py): A (M x K, row-major) and B TRANSPOSED, bt (N x K,
# row-major: the SIMD dot products read K-contiguous words of both operands, as the public
# Snitch opt kernels that need transb, snitch_cluster.md §5.4), in main memory; C (M x N,
# row-major) written back to main memory.
#
# K = NK chunks of depth TK. The DMA core (hart 8) loads chunk c (the A block M x TK and the
# Bt block N x TK, two 2-D transfers) into TCDM buffer c % 2 while the compute cores work on
# chunk c-1 from the other buffer (double buffering; the order is the one of
# lib/softmax_spmd.S: the DMA waits for each transfer, then everyone meets at the barrier).
# Output rows are split over the 8 compute cores: row i on core i mod 8 (core r has
# R = ceil((M - r) / 8) rows, possibly 0). The FP32 accumulators live in the TCDM (cacc,
# M x NP x CB bytes, NP = N rounded up to 8: the column groups of 8 of the opt kernels; the
# padded rows of the Bt buffer are never written by the DMA and stay zero, their results are
# computed and never written back). After the last chunk the cores have written the result
# (OB bytes per element) IN PLACE at the start of each cacc row: output (i, j) at byte
# OB j of row i, over the accumulator of column OB j / CB <= j, which this core has already
# read in this chunk (columns are processed in increasing order, each group's accumulators
# loaded before its results are stored). The DMA then copies the first N outputs of each row
# to `c` (one 2-D transfer).
#
# The including kernel defines, before `.include "lib/gemm_spmd.S"`:
#   symbols EB (input bytes per element), OB (output bytes: 2 = BF16, 4 = FP32), CB
#   (accumulator bytes per output: 4 = one FP32, 8 = two FP32 lanes), and the macros
#   KINIT           once per compute core (s0 = hart id);
#   CHUNK first, last   one chunk on this core, first/last = 1 for the first/last chunk
#                   (both for NK = 1). Registers on entry: s1 = R (>= 1), s3 = this core's first
#                   A row in the chunk buffer, s4 = the chunk's Bt buffer, s5 = this core's
#                   first cacc row. It may use a0-a7, t0-t6, s7-s9 and
#                   the FP registers but f31 (= +0.0, set here), and must leave every FP
#                   result in memory (end with a queue drain, e.g. fmv.x.w).
# Symbols from the run: M, N, K, TK, NK (= K / TK), NP.
#
# Phases (mcycle reads of every compute core; hart 0's are reported): "dma_wait" (the first
# load), per chunk "compute" and "dma_wait" (the barrier: the slowest core and the next load),
# then "writeback" (the DMA copying C out; the cores wait at a last barrier).

    .equ RB, TK*EB              # bytes of one row of an A or Bt chunk
    .equ ARB, RB+8              # its pitch in the TCDM: one bank (8 B) more than a row, so
                                # that consecutive rows start in consecutive banks (rows of
                                # 2^k x 256 B would all start in bank 0, and the 8 cores' A
                                # streams and one core's 8 Bt rows would hit the same bank)
    .equ ABUFB, M*ARB           # one A chunk buffer
    .equ BBUFB, NP*ARB          # one Bt chunk buffer (NP rows; rows N..NP-1 stay zero)
    .equ CROWB, NP*CB           # one cacc row (the output row in place at its start)

    .include "lib/spmd.S"

    .text
    .globl _start
_start:
    csrr    s0, mhartid
    li      t0, 8
    beq     s0, t0, .Ldma_core
    bgt     s0, t0, .Ldone      # harts beyond the 9 of the default cluster: nothing to do
    fcvt.d.w f31, zero          # f31 = +0.0
    KINIT
    li      t0, M+7
    sub     t0, t0, s0
    srli    s1, t0, 3           # s1 = R, rows i = s0 + 8 t of this core
    la      s3, abuf
    li      t0, ARB
    mul     t0, t0, s0
    add     s3, s3, t0          # s3: my first A row in buffer 0
    la      s4, bbuf
    la      s5, cacc
    li      t0, CROWB
    mul     t0, t0, s0
    add     s5, s5, t0          # s5: my first cacc row
    li      s2, 0               # chunk index c
    csrr    t0, mcycle          # region "dma_wait": the first load
    csrr    x0, barrier
.Lchunk_loop:
    csrr    t0, mcycle          # region "compute"
    beqz    s1, .Lchunk_done    # no row on this core (M < 8 or the last partial block)
    beqz    s2, .Lfirst
    li      t0, NK-1
    beq     s2, t0, .Llast
    CHUNK   0, 0
    j       .Lchunk_done
.Lfirst:
.if NK == 1
    CHUNK   1, 1
.else
    CHUNK   1, 0
.endif
    j       .Lchunk_done
.Llast:
    CHUNK   0, 1
.Lchunk_done:
    csrr    t0, mcycle          # region "dma_wait"
    csrr    x0, barrier         # chunk c done everywhere, chunk c+1 loaded
    li      t0, ABUFB           # switch buffers: s3 += ABUFB or -= ABUFB, s4 likewise
    li      t1, BBUFB
    andi    t2, s2, 1
    beqz    t2, 1f
    neg     t0, t0
    neg     t1, t1
1:  add     s3, s3, t0
    add     s4, s4, t1
    addi    s2, s2, 1
    li      t0, NK
    blt     s2, t0, .Lchunk_loop
    csrr    t0, mcycle          # region "writeback"
    csrr    x0, barrier         # the DMA has written C out
    csrr    t0, mcycle
    li      a0, 0
    ecall

# ---- the DMA core ------------------------------------------------------------------------------

# DMA_LOAD: chunk at byte offset \off (register) of every main-memory row into buffer \ab, \bb
.macro DMA_LOAD off, ab, bb
    li      t1, K*EB
    li      t2, ARB
    dmstr   t1, t2              # source rows K*EB apart, destination rows ARB apart
    li      t2, RB
    la      t3, a
    add     t3, t3, \off
    dmsrc   t3, zero
    dmdst   \ab, zero
    li      t1, M
    dmrep   t1
    dmcpyi  t4, t2, 2           # 2-D: M rows of RB bytes
    DMA_WAIT
    la      t3, bt
    add     t3, t3, \off
    dmsrc   t3, zero
    dmdst   \bb, zero
    li      t1, N
    dmrep   t1
    dmcpyi  t4, t2, 2           # 2-D: N rows of RB bytes
    DMA_WAIT
.endm

.Ldma_core:
    la      s3, abuf            # buffer of chunk c
    la      s4, bbuf
    li      t0, ABUFB
    add     s7, s3, t0          # the other buffer
    li      t0, BBUFB
    add     s8, s4, t0
    li      s5, 0               # byte offset of chunk c in a main-memory row
    li      s1, 0
    csrr    t0, mcycle
    DMA_LOAD s5, s3, s4         # chunk 0
    csrr    x0, barrier
.Ldma_loop:
    addi    t0, s1, 1
    li      t1, NK
    bge     t0, t1, 2f
    addi    s5, s5, RB
    DMA_LOAD s5, s7, s8         # chunk c+1 into the other buffer
2:  csrr    x0, barrier         # chunk c computed
    mv      t0, s3              # swap the buffers
    mv      s3, s7
    mv      s7, t0
    mv      t0, s4
    mv      s4, s8
    mv      s8, t0
    addi    s1, s1, 1
    li      t1, NK
    blt     s1, t1, .Ldma_loop
    li      t1, CROWB
    li      t2, N*OB
    dmstr   t1, t2              # output rows CROWB apart in cacc, N*OB apart in c
    la      t3, cacc
    dmsrc   t3, zero
    la      t3, c
    dmdst   t3, zero
    li      t1, M
    dmrep   t1
    dmcpyi  t4, t2, 2           # 2-D: M rows of N*OB bytes
    DMA_WAIT
    csrr    x0, barrier         # C is in main memory
    csrr    t0, mcycle
.Ldone:
    li      a0, 0
    ecall

    .data
    .balign 64
a:  .zero   M*K*EB
    .balign 64
bt: .zero   N*K*EB
    .balign 64
c:  .zero   M*N*OB
    .text

    .tcdm
    .balign 64
abuf:   .zero 2*ABUFB
    .balign 64
bbuf:   .zero 2*BBUFB
    .balign 64
cacc:   .zero M*CROWB
    .text

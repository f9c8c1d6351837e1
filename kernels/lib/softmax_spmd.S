# softmax_spmd.S: the SPMD + DMA skeleton shared by kernels/softmax_{baseline,opt,vexp}.S.
#
# The including kernel defines, before `.include "lib/softmax_spmd.S"`:
#   macro ROW_INIT     per compute core, once (e.g. csrwi fmode, 3); s0 = hart id; may set
#                      s10 and FP registers that ROW_SOFTMAX then keeps;
#   macro ROW_SOFTMAX  softmax of the row at a0 (TCDM), IN PLACE; reads mcycle after its max
#                      pass and after its exp(+sum) pass; may use a0-a7, t0-t6, s5-s9, ra (for
#                      `call`), the FP registers; s11 = this core's 64-byte scratch (the stack
#                      top sp = s11 + 64); must not touch s0-s4, s10, s11; its FP results must all
#                      be written when it returns (end it with an FP->int move: a queue drain);
#   symbols M, N (shape), EB (bytes per element), NBUF (1 or 2 TCDM block buffers),
#   and the main-memory arrays x, y (M x N, row-major, in .data) and the TCDM buffer `buf`
#   (NBUF x 8 x N x EB bytes) -- this file defines x, y, buf and the scratch.
#
# Rows -> cores: a block is 8 consecutive rows, row r of the block on compute core r (harts
# 0-7), so row i of the matrix is on core i mod 8 (M must be a multiple of 8). Hart 8 is the
# DMA core (snitch_cluster.md §1: 8 compute cores + 1 DMA core, Xdma only on the DMA core).
# Each block is one contiguous 1-D transfer (rows are contiguous in main memory and in the
# TCDM buffer), and the cores compute in place in the buffer.
#
# Double buffering (NBUF = 2): while the cores compute block k in buf[k % 2], the DMA core
# writes block k-1 out of buf[(k+1) % 2], waits for it (dmstati busy = 0, as snrt_dma_wait_all),
# then loads block k+1 into that same buffer and waits; then everyone meets at the barrier.
# The buffer the cores read is never written by the DMA during that step, for any DMA timing.
# The DMA core issues one transfer at a time and polls dmstati busy until it completes, so
# the order holds for any DMA and memory timing (tested with a slow main memory); store and
# load of the same buffer are never in flight together (one channel moves them one after the
# other anyway, snitch_cluster.md §1 'DMA config'). The first load and the last store are not
# overlapped with computing: with few blocks (M = 8, 16) they are a visible share of the time.
# Single buffering (NBUF = 1, when two buffers do not fit the TCDM, e.g. FP32 rows of 2048):
# compute block k; barrier; the DMA writes k out and loads k+1; barrier (the public Snitch
# softmax kernel is single-buffered throughout, snitch_cluster.md §5.1).
#
# Phases (mcycle reads; the same on every hart, hart 0's are reported): "dma_wait" from the
# start to the first row and from the end of a row to the next (barrier: waiting for the DMA
# and for the slowest core), then per row "max", "exp_sum", "normalise".

    .equ ROWB, N*EB             # bytes per row
    .equ BLKB, 8*ROWB           # bytes per block of 8 rows
    .equ NBLK, M/8              # blocks

    .include "lib/spmd.S"

    .text
    .globl _start
_start:
    SPMD_ENTRY
    ROW_INIT
    la      s3, buf
    li      t0, ROWB
    mul     t0, t0, s0
    add     s3, s3, t0          # s3: my row in the buffer of block k
.if NBUF == 2
    li      t0, BLKB
    add     s4, s3, t0          # s4: my row in the other buffer
.else
    mv      s4, s3
.endif
    li      s1, 0               # block index k
    li      s2, NBLK
    csrr    t0, mcycle          # region "dma_wait": the first load
    csrr    x0, barrier
.Lcompute_loop:
    csrr    t0, mcycle          # region "max" starts
    mv      a0, s3
    ROW_SOFTMAX
    csrr    t0, mcycle          # region "dma_wait" starts
    csrr    x0, barrier         # block k done (and, NBUF = 2, block k+1 loaded)
.if NBUF == 1
    csrr    x0, barrier         # block k stored, block k+1 loaded
.endif
    mv      t0, s3
    mv      s3, s4
    mv      s4, t0
    addi    s1, s1, 1
    blt     s1, s2, .Lcompute_loop
    csrr    t0, mcycle          # closes the last "dma_wait"
    li      a0, 0
    ecall

# ---- the DMA core ------------------------------------------------------------------------------

.macro DMA_COPY src, dst
    dmsrc   \src, zero
    dmdst   \dst, zero
    li      t0, BLKB
    dmcpyi  t1, t0, 0           # 1-D transfer of one block
    DMA_WAIT
.endm

.Ldma_core:
    la      s5, x               # next block to load (main memory)
    la      s6, y               # next block to store
    la      s3, buf             # buffer of block k
.if NBUF == 2
    li      t0, BLKB
    add     s4, s3, t0          # the other buffer
.else
    mv      s4, s3
.endif
    li      s1, 0
    li      s2, NBLK
    csrr    t0, mcycle
    DMA_COPY s5, s3             # block 0
    li      t0, BLKB
    add     s5, s5, t0
    csrr    x0, barrier
.Ldma_loop:
.if NBUF == 2
    beqz    s1, 2f
    DMA_COPY s4, s6             # block k-1 out of the other buffer
    li      t0, BLKB
    add     s6, s6, t0
2:  addi    t2, s1, 1
    bge     t2, s2, 3f
    DMA_COPY s5, s4             # block k+1 into it
    li      t0, BLKB
    add     s5, s5, t0
3:  csrr    x0, barrier
.else
    csrr    x0, barrier         # cores done with block k
    DMA_COPY s3, s6             # block k out
    li      t0, BLKB
    add     s6, s6, t0
    addi    t2, s1, 1
    bge     t2, s2, 3f
    DMA_COPY s5, s3             # block k+1 in
    li      t0, BLKB
    add     s5, s5, t0
3:  csrr    x0, barrier
.endif
    mv      t0, s3
    mv      s3, s4
    mv      s4, t0
    addi    s1, s1, 1
    blt     s1, s2, .Ldma_loop
.if NBUF == 2
    DMA_COPY s4, s6             # the last block out
.endif
    csrr    t0, mcycle
.Ldone:
    li      a0, 0
    ecall

    .data
    .balign 64
x:  .zero   M*ROWB
    .balign 64
y:  .zero   M*ROWB
    .text

    .tcdm
    .balign 64
buf:     .zero NBUF*BLKB
scratch: .zero 9*64
    .text

# rowwise_spmd.S: the SPMD + DMA skeleton of the row-wise tile kernels (kernels/layernorm.S,
# gelu.S, gelu_vexp.S, residual.S): one tile of ROWS x COLS BF16 values, the tiling rule's
# (rows, cols) tile of vexpsim/experiments/workloads/tiling.py.
#
# The including kernel defines, before `.include "lib/rowwise_spmd.S"`:
#   symbols ROWS, COLS; X2 (1: a second input x2 of the tile's shape, the residual's),
#   GB (1: two COLS vectors gamma, beta, the LayerNorm's);
#   macro CORE_INIT   per compute core, once (s0 = hart id, s11 = this core's 64-byte scratch,
#                     sp = s11 + 64 its stack);
#   macro CORE_WORK   this core's share of the tile, in place in `buf` (x2 in `buf2`, gamma and
#                     beta in `gbuf`, COLS each); may use every register except s0, s11, sp;
#                     its FP results must all be in the TCDM when it returns (end it with an
#                     FP -> integer move: a queue drain).
# This file defines the main-memory arrays x, x2, gb (gamma then beta), y and the TCDM
# buffers.
#
# Timeline (hart 8 is the DMA core, snitch_cluster.md §1): the DMA core loads the tile's inputs
# into the TCDM (one 1-D transfer per array, one at a time, polling dmstati busy as
# snrt_dma_wait_all); barrier; the 8 compute cores run CORE_WORK; barrier; the DMA core writes
# y back; barrier. One tile, no double buffering: in the multi-cluster model the system
# schedules the transfers of consecutive tiles itself (docs/system.md).
# Phases (mcycle reads of hart 0, the same on every compute hart): "dma_wait" (the loads),
# then the compute phase (named by the family module: from the end of the loads to the end of
# the barrier after the slowest core, so load imbalance between cores counts as compute),
# then "dma_wait" (the write-back).

    .equ TB, ROWS*COLS*2        # bytes of one tile array (BF16)

    .include "lib/spmd.S"

    .text
    .globl _start
_start:
    SPMD_ENTRY
    CORE_INIT
    csrr    t0, mcycle          # region "dma_wait": the loads
    csrr    x0, barrier         # inputs in the TCDM
    csrr    t0, mcycle          # region compute
    CORE_WORK
    csrr    x0, barrier         # every core done
    csrr    t0, mcycle          # region "dma_wait": the write-back
    csrr    x0, barrier
    csrr    t0, mcycle
    li      a0, 0
    ecall

# ---- the DMA core ------------------------------------------------------------------------------
.macro DMA_COPY src, dst, bytes
    la      t3, \src
    la      t4, \dst
    dmsrc   t3, zero
    dmdst   t4, zero
    li      t0, \bytes
    dmcpyi  t1, t0, 0           # 1-D transfer
1:  dmstati t0, 2               # busy
    bnez    t0, 1b
.endm

.Ldma_core:
    csrr    t0, mcycle
    DMA_COPY x, buf, TB
.if X2
    DMA_COPY x2, buf2, TB
.endif
.if GB
    DMA_COPY gb, gbuf, 4*COLS
.endif
    csrr    x0, barrier         # inputs loaded
    csrr    x0, barrier         # cores done
    DMA_COPY buf, y, TB
    csrr    x0, barrier
    csrr    t0, mcycle
.Ldone:
    li      a0, 0
    ecall

    .data
    .balign 64
x:  .zero   TB
    .balign 64
y:  .zero   TB
.if X2
    .balign 64
x2: .zero   TB
.endif
.if GB
    .balign 64
gb: .zero   4*COLS
.endif
    .text

    .tcdm
    .balign 64
buf:     .zero TB
.if X2
    .balign 64
buf2:    .zero TB
.endif
.if GB
    .balign 64
gbuf:    .zero 4*COLS
.endif
    .balign 64
scratch: .zero 9*64
    .text

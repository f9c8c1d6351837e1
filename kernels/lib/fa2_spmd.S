# fa2_spmd.S: the SPMD + DMA skeleton of the FlashAttention-2 kernels (kernels/fa2_*.S):
# one head, O = softmax(Q Kᵀ / sqrt(d)) V, Q (LQ x DH), K, V (SK x DH) BF16 in main memory,
# O (LQ x DH) FP32 in main memory. Our own code; the structure follows the public Snitch kernel
# (snitch_cluster.md §5.3: Br x Bc tiles, S = Q Kᵀ, online softmax with running max m and sum l,
# O rescaled by c = exp(m_old - m_new), O += P V with V transposed, final O /= l), with two
# changes: the DMA double-buffers the K/V tiles, and the 8 compute cores own the same rows in
# every phase (row i of a row block on core i mod 8), so no barrier is needed between the
# phases of one K/V tile.
#
# The including kernel defines, before `.include "lib/fa2_spmd.S"`:
#   macro FA2_INIT      once per compute core (may set FP registers it keeps);
#   macro SOFTMAX_ROWS  the online-softmax step of this core's R = BR/8 rows of the tile: for
#                       row r, S row at s9 + r*8*BC*2 (BF16, scaled scores), stats at
#                       s10 + r*128 (FP32 m at +0, l at +4, c at +8); writes P (BF16) over S,
#                       the new m and l, and c; may use a0-a5, t0-t6, s5, s6, ra, ft3-ft11,
#                       fa0-fa7, fs9-fs11 (not fs8: it holds +0.0);
#   macro GEMM_QK / GEMM_PV (optional): else the SSR/FREP SIMD GEMMs below (GEMM_QK_SSR,
#                       GEMM_PV_SSR) are used (fa2_naive defines its own, without SSR/FREP);
#   symbols LQ (rows of Q run), SK (keys), DH (head dim), BR, BC (tiles), CAUSAL (0/1: query
#   row i at position i + SK - LQ sees keys 0..that position; masked scores are -inf, so
#   their P is exactly 0, and a row block runs only the tiles up to its last row's key).
#
# Per row block (BR query rows) and K/V tile j (BC keys), on each compute core:
#   qkt      S = Q Kᵀ for its rows (the first tile also scales Q by 1/sqrt(d) in place, BF16,
#            and sets m = -inf, l = 0): vfdotpex.s.ah (BF16 products, FP32 sums), 8 columns
#            at a time, reduced by vfsum.s and rounded to BF16;
#   softmax  (CAUSAL: the mask, scalar -inf stores on the diagonal tiles) the variant's
#            SOFTMAX_ROWS;
#   rescale  O *= c (FP32, SSR/FREP vfmul.r.s);
#   pv       O += P V with V transposed in the TCDM (Vt = DH x BC, the DMA transposes it);
#   dma_wait barrier: waiting for the DMA (tile j+1 into the other K/Vt buffers) and for
#            the slowest core.
# After the last tile: rescale (O *= 1/l, one fdiv.s per row), dma_wait (the DMA stores O and
# loads the next row block's Q and first K/V tile; not overlapped with computing).
# Phases are hart 0's mcycle regions (vexpsim/experiments/kernels/fa2.py names them).
#
# The DMA core (hart 8): Q block and the first K/V tile, then for each tile j the K/V tile j+1
# into the other buffer (K: one 1-D copy; V: DH 2-D copies of BC 2-byte elements, source
# stride DH*2, destination stride 2, i.e. transposed on the fly), waiting for each batch
# (dmstati busy), then the barrier. The buffers the cores read are never written by the DMA
# during that step. O is stored after the cores' final barrier of a row block. The transposing
# copies move one 2-byte element per beat (BC*DH beats per tile, docs/cluster.md DMA timing):
# with 64 x 64 tiles that is ~4.1k cycles per tile, hidden behind the ~25k cycles of compute.
# Assumptions (the public kernel's choices where it has them, ours otherwise): BF16 Q, K, V, S
# and P; FP32 O accumulator and output; Q scaled by BF16(1/sqrt(DH)) once per row block (exact
# for DH = 64); statistics m, l, c FP32 (snitch_cluster.md §5.3: `float` in every precision).

    .equ R, BR/8                    # rows per core per row block
    .equ NRB, LQ/BR                 # row blocks run
    .equ TC, SK/BC                  # K/V tiles
    .equ QB, BR*DH*2                # Q block bytes (BF16)
    .equ KB, BC*DH*2                # K (and V) tile bytes
    .equ SROW, BC*2                 # S/P row bytes (BF16)
    .equ OROW, DH*4                 # O row bytes (FP32)

# ---- K/V tiles of row block s1: all TC, or (CAUSAL) up to the one holding the key of the
# block's last query row (query row i is at position i + SK - LQ) -----------------------------
.macro TILES_OF_ROW_BLOCK rd
.if CAUSAL
    li      t0, BR
    mul     t0, t0, s1
    li      t1, SK - LQ + BR - 1
    add     t0, t0, t1              # position of the block's last row
    li      t1, BC
    divu    t0, t0, t1
    addi    \rd, t0, 1
    li      t1, TC
    ble     \rd, t1, 61f
    mv      \rd, t1
61:
.else
    li      \rd, TC
.endif
.endm

# ---- causal mask of tile s7 on my rows: S[i, c] = -inf (BF16) where key s7*BC + c is after
# row i's position (scalar stores; only tiles on the diagonal have any) -----------------------
.macro CAUSAL_MASK
    li      t0, BR
    mul     t0, t0, s1
    add     t0, t0, s0
    li      t1, SK - LQ
    add     t0, t0, t1              # position of my first row
    li      t1, BC
    mul     t1, t1, s7              # first key of the tile
    sub     t2, t0, t1
    addi    t2, t2, 1               # first masked column of my first row
    mv      t3, s9
    li      t4, R
    li      t6, -128                # 0xff80 in the low half: -inf (BF16)
    li      a0, BC
62: mv      t5, t2
    bgez    t5, 63f
    li      t5, 0
63: bge     t5, a0, 65f             # nothing masked in this row
    slli    a1, t5, 1
    add     a1, a1, t3
64: sh      t6, 0(a1)
    addi    a1, a1, 2
    addi    t5, t5, 1
    blt     t5, a0, 64b
65: addi    t2, t2, 8               # my next row: 8 positions on
    li      a1, 8*SROW
    add     t3, t3, a1
    addi    t4, t4, -1
    bnez    t4, 62b
.endm

# ---- the row block's set-up: Q *= 1/sqrt(DH) in BF16 (in place), m = -inf, l = 0 -----------
.macro ROWBLOCK_SETUP
    # SSR0 reads, SSR1 writes my R rows of Q: [DH/4 words, stride 8] x [R rows, stride 8 rows]
    scfgwi  zero, 1<<5 | 0          # SSR0 repeat: none
    li      t0, DH/4-1
    scfgwi  t0, 2<<5 | 0
    scfgwi  t0, 2<<5 | 1
    li      t0, R-1
    scfgwi  t0, 3<<5 | 0
    scfgwi  t0, 3<<5 | 1
    li      t0, 8
    scfgwi  t0, 6<<5 | 0
    scfgwi  t0, 6<<5 | 1
    li      t0, 8*DH*2 - 8*(DH/4-1)
    scfgwi  t0, 7<<5 | 0
    scfgwi  t0, 7<<5 | 1
    scfgwi  s8, 25<<5 | 0           # rptr[1]: 2-D read
    scfgwi  s8, 29<<5 | 1           # wptr[1]: 2-D write
    la      t0, fa2_consts
    flh     fa0, 0(t0)              # 1/sqrt(DH) in BF16
    csrsi   ssr, 1
    li      t0, R*DH/4-1
    frep.o  t0, 1, 0, 0
    vfmul.r.ah ft1, ft0, fa0
    csrci   ssr, 1
    la      t0, fa2_consts
    flw     fa1, 4(t0)              # -inf (FP32)
    mv      t1, s10
    li      t2, R
81: fsw     fa1, 0(t1)              # m = -inf
    fsw     fs8, 4(t1)              # l = 0
    addi    t1, t1, 128
    addi    t2, t2, -1
    bnez    t2, 81b
.endm

# ---- SSR/FREP SIMD GEMM: C[r, n] = sum_k A[r, k] B[n, k] for my R rows ----------------------
# A rows at \a + r*\astr (BF16, \kk elements), B rows at \b + n*\kk*2 (BF16), n < \nn. Eight
# output columns at a time: SSR0 streams A's words, each repeated 8 times (repeat register),
# SSR1 streams the 8 B rows' words interleaved; the FREP body is 8 vfdotpex.s.ah into 8
# accumulators (FP32 pairs). Each accumulator is then summed by vfsum.s into a register that
# holds +0 (QK: S) or the FP32 output (PV: O += ...).
.macro GEMM_SSR_CFG a, astr, b, kk, nn
    li      t0, 7
    scfgwi  t0, 1<<5 | 0            # SSR0 repeat: 8 deliveries of each A word
    li      t0, \kk/4-1
    scfgwi  t0, 2<<5 | 0
    li      t0, \nn/8-1
    scfgwi  t0, 3<<5 | 0
    li      t0, R-1
    scfgwi  t0, 4<<5 | 0
    li      t0, 8
    scfgwi  t0, 6<<5 | 0
    li      t0, -8*(\kk/4-1)
    scfgwi  t0, 7<<5 | 0            # next group of 8 columns: the same A row again
    li      t0, \astr - 8*(\kk/4-1)
    scfgwi  t0, 8<<5 | 0            # next row
    scfgwi  \a, 26<<5 | 0           # rptr[2]: 3-D read
    li      t0, 7
    scfgwi  t0, 2<<5 | 1            # SSR1: [8 B rows] x [kk/4 words] x [nn/8 groups] x [R]
    li      t0, \kk/4-1
    scfgwi  t0, 3<<5 | 1
    li      t0, \nn/8-1
    scfgwi  t0, 4<<5 | 1
    li      t0, R-1
    scfgwi  t0, 5<<5 | 1
    li      t0, \kk*2
    scfgwi  t0, 6<<5 | 1
    li      t0, 8 - 7*\kk*2
    scfgwi  t0, 7<<5 | 1
    li      t0, \kk*2 - 8*(\kk/4-1)
    scfgwi  t0, 8<<5 | 1
    li      t0, -(7*\kk*2 + 8*(\kk/4-1) + 8*\kk*2*(\nn/8-1))
    scfgwi  t0, 9<<5 | 1
    scfgwi  \b, 27<<5 | 1           # rptr[3]: 4-D read
.endm

.macro DOTP8 kk
    fmv.d   ft3, fs8
    fmv.d   ft4, fs8
    fmv.d   ft5, fs8
    fmv.d   ft6, fs8
    fmv.d   ft7, fs8
    fmv.d   ft8, fs8
    fmv.d   ft9, fs8
    fmv.d   ft10, fs8
    frep.o  t3, 8, 0, 0
    vfdotpex.s.ah ft3, ft0, ft1
    vfdotpex.s.ah ft4, ft0, ft1
    vfdotpex.s.ah ft5, ft0, ft1
    vfdotpex.s.ah ft6, ft0, ft1
    vfdotpex.s.ah ft7, ft0, ft1
    vfdotpex.s.ah ft8, ft0, ft1
    vfdotpex.s.ah ft9, ft0, ft1
    vfdotpex.s.ah ft10, ft0, ft1
.endm

.macro GEMM_QK_SSR
    GEMM_SSR_CFG s8, 8*DH*2, s3, DH, BC
    li      t3, DH/4-1              # FREP repetitions - 1
    mv      t5, s9                  # my S row
    li      t4, R
    csrsi   ssr, 1
82: li      t6, BC/8
83: DOTP8   DH
    fmv.d   fs0, fs8
    fmv.d   fs1, fs8
    fmv.d   fs2, fs8
    fmv.d   fs3, fs8
    fmv.d   fs4, fs8
    fmv.d   fs5, fs8
    fmv.d   fs6, fs8
    fmv.d   fs7, fs8
    vfsum.s fs0, ft3
    vfsum.s fs1, ft4
    vfsum.s fs2, ft5
    vfsum.s fs3, ft6
    vfsum.s fs4, ft7
    vfsum.s fs5, ft8
    vfsum.s fs6, ft9
    vfsum.s fs7, ft10
    vfcpka.ah.s fa0, fs0, fs1       # 4 x BF16 of S, rounded once from FP32
    vfcpkb.ah.s fa0, fs2, fs3
    vfcpka.ah.s fa1, fs4, fs5
    vfcpkb.ah.s fa1, fs6, fs7
    fsd     fa0, 0(t5)
    fsd     fa1, 8(t5)
    addi    t5, t5, 16
    addi    t6, t6, -1
    bnez    t6, 83b
    li      t0, 7*SROW
    add     t5, t5, t0              # my next row: 8 rows on
    addi    t4, t4, -1
    bnez    t4, 82b
    csrci   ssr, 1
.endm

.macro GEMM_PV_SSR
    GEMM_SSR_CFG s9, 8*SROW, s4, BC, DH
    li      t3, BC/4-1
    mv      t5, a7                  # my O row
    li      t4, R
    csrsi   ssr, 1
84: li      t6, DH/8
85: DOTP8   BC
    flw     fs0, 0(t5)
    flw     fs1, 4(t5)
    flw     fs2, 8(t5)
    flw     fs3, 12(t5)
    flw     fs4, 16(t5)
    flw     fs5, 20(t5)
    flw     fs6, 24(t5)
    flw     fs7, 28(t5)
    vfsum.s fs0, ft3                # O += the dot products' two lanes, one rounding
    vfsum.s fs1, ft4
    vfsum.s fs2, ft5
    vfsum.s fs3, ft6
    vfsum.s fs4, ft7
    vfsum.s fs5, ft8
    vfsum.s fs6, ft9
    vfsum.s fs7, ft10
    fsw     fs0, 0(t5)
    fsw     fs1, 4(t5)
    fsw     fs2, 8(t5)
    fsw     fs3, 12(t5)
    fsw     fs4, 16(t5)
    fsw     fs5, 20(t5)
    fsw     fs6, 24(t5)
    fsw     fs7, 28(t5)
    addi    t5, t5, 32
    addi    t6, t6, -1
    bnez    t6, 85b
    li      t0, 7*OROW
    add     t5, t5, t0
    addi    t4, t4, -1
    bnez    t4, 84b
    csrci   ssr, 1
    fmv.x.w t0, fs7                 # drains the FP queue: O is in the TCDM
.endm

# ---- O *= factor per row (FP32), SSR/FREP: \off = 8 (c, the rescale) or 4 (l: O *= 1/l) ------
.macro SCALE_O off
    scfgwi  zero, 1<<5 | 0          # SSR0 repeat: none
    li      t0, DH/2-1
    scfgwi  t0, 2<<5 | 0
    scfgwi  t0, 2<<5 | 1
    li      t0, R-1
    scfgwi  t0, 3<<5 | 0
    scfgwi  t0, 3<<5 | 1
    li      t0, 8
    scfgwi  t0, 6<<5 | 0
    scfgwi  t0, 6<<5 | 1
    li      t0, 8*OROW - 8*(DH/2-1)
    scfgwi  t0, 7<<5 | 0
    scfgwi  t0, 7<<5 | 1
    scfgwi  a7, 25<<5 | 0
    scfgwi  a7, 29<<5 | 1
    mv      t5, s10
    li      t4, R
    li      t3, DH/2-1
.if \off == 4
    la      t0, fa2_consts
    flw     fa2, 8(t0)              # 1.0
.endif
    csrsi   ssr, 1
86: flw     fa0, \off(t5)
.if \off == 4
    fdiv.s  fa0, fa2, fa0           # 1/l, one division per row
.endif
    frep.o  t3, 1, 0, 0
    vfmul.r.s ft1, ft0, fa0
    addi    t5, t5, 128
    addi    t4, t4, -1
    bnez    t4, 86b
    csrci   ssr, 1
    fmv.x.w t0, fa0                 # drains the FP queue
.endm

# ---- the DMA core -------------------------------------------------------------------------------
.macro DMA_WAIT_ALL
87: dmstati t0, 2                   # busy
    bnez    t0, 87b
.endm

# Q block of row block s1 into qbuf
.macro DMA_LOAD_Q
    li      t0, QB
    mul     t1, t0, s1
    la      t2, q
    add     t1, t1, t2
    la      t2, qbuf
    dmsrc   t1, zero
    dmdst   t2, zero
    dmcpyi  t3, t0, 0
.endm

# K tile \j (register) into the K buffer \kb, V tile \j transposed into the Vt buffer \vb
.macro DMA_LOAD_KV j, kb, vb
    li      t0, KB
    mul     t1, t0, \j
    la      t2, k
    add     t2, t2, t1
    dmsrc   t2, zero
    dmdst   \kb, zero
    dmcpyi  t3, t0, 0
    la      t2, v
    add     t2, t2, t1              # V tile: BC rows of DH
    mv      t4, \vb
    li      t5, DH
    li      t0, DH*2
    li      t1, 2
    dmstr   t0, t1                  # source: down a column of V; destination: along a Vt row
    li      t0, BC
    dmrep   t0
    li      t0, 2
88: dmsrc   t2, zero
    dmdst   t4, zero
    dmcpyi  t3, t0, 2               # 2-D: BC elements of 2 bytes
    addi    t2, t2, 2
    addi    t4, t4, SROW
    addi    t5, t5, -1
    bnez    t5, 88b
.endm

    .include "lib/spmd.S"

    .text
    .globl _start
_start:
    SPMD_ENTRY
    fcvt.d.w fs8, zero              # +0.0 (kept)
    FA2_INIT
    la      s8, qbuf
    li      t0, DH*2
    mul     t0, t0, s0
    add     s8, s8, t0              # my first Q row
    la      s9, sbuf
    li      t0, SROW
    mul     t0, t0, s0
    add     s9, s9, t0              # my first S row
    la      s10, stats
    slli    t0, s0, 4
    add     s10, s10, t0            # my first row's statistics
    la      a7, obuf
    li      t0, OROW
    mul     t0, t0, s0
    add     a7, a7, t0              # my first O row
    li      s1, 0                   # row block
    csrr    t0, mcycle              # region "dma_wait": Q and the first K/V tile
    csrr    x0, barrier
.Lrow_block:
    TILES_OF_ROW_BLOCK s2           # s2: K/V tiles of this row block
    la      s3, kbuf                # K tile j (buffer j % 2)
    la      s4, vtbuf               # Vt tile j
    li      s7, 0                   # tile j
    csrr    t0, mcycle              # region "qkt" (with the row block's set-up)
    ROWBLOCK_SETUP
.Ltile:
.ifdef GEMM_QK_CUSTOM
    GEMM_QK
.else
    GEMM_QK_SSR
.endif
    csrr    t0, mcycle              # region "softmax"
.if CAUSAL
    CAUSAL_MASK
.endif
    SOFTMAX_ROWS
    csrr    t0, mcycle              # region "rescale"
    SCALE_O 8
    csrr    t0, mcycle              # region "pv"
.ifdef GEMM_PV_CUSTOM
    GEMM_PV
.else
    GEMM_PV_SSR
.endif
    csrr    t0, mcycle              # region "dma_wait"
    csrr    x0, barrier             # tile j done; tile j+1 loaded
    addi    s7, s7, 1
    andi    t0, s7, 1
    neg     t0, t0
    li      t1, KB
    and     t1, t1, t0              # buffer offset of tile j: KB if j is odd
    la      s3, kbuf
    add     s3, s3, t1
    la      s4, vtbuf
    add     s4, s4, t1
    csrr    t1, mcycle              # region "qkt"
    blt     s7, s2, .Ltile
    # the region opened by the last mcycle read above is the final "rescale" (O /= l)
    SCALE_O 4
    csrr    t0, mcycle              # region "dma_wait": O out, next Q and K/V in
    csrr    x0, barrier             # O final
    csrr    x0, barrier             # O stored, next row block loaded
    addi    s1, s1, 1
    li      t0, NRB
    blt     s1, t0, .Lrow_block
    csrr    t0, mcycle              # closes the last "dma_wait"
    li      a0, 0
    ecall

.Ldma_core:
    li      s1, 0                   # row block
    la      s3, kbuf
    la      s4, vtbuf
    csrr    t0, mcycle
    DMA_LOAD_Q
    li      s7, 0
    DMA_LOAD_KV s7, s3, s4
    DMA_WAIT_ALL
    csrr    x0, barrier
.Ldma_rb:
    TILES_OF_ROW_BLOCK s8           # s8: K/V tiles of this row block
    li      s7, 0                   # tile j being computed
    la      s3, kbuf
    la      s4, vtbuf
    li      t0, KB
    add     s5, s3, t0              # the other buffers
    add     s6, s4, t0
.Ldma_tile:
    addi    s2, s7, 1
    bge     s2, s8, 1f
    DMA_LOAD_KV s2, s5, s6          # tile j+1 into the buffers not in use
    DMA_WAIT_ALL
1:  csrr    x0, barrier
    mv      t0, s3                  # swap the buffers
    mv      s3, s5
    mv      s5, t0
    mv      t0, s4
    mv      s4, s6
    mv      s6, t0
    addi    s7, s7, 1
    blt     s7, s8, .Ldma_tile
    csrr    x0, barrier             # the cores have normalised O
    li      t0, BR*OROW
    mul     t1, t0, s1
    la      t2, o
    add     t1, t1, t2
    la      t2, obuf
    dmsrc   t2, zero
    dmdst   t1, zero
    dmcpyi  t3, t0, 0               # O block out
    DMA_WAIT_ALL
    addi    s1, s1, 1
    li      t0, NRB
    bge     s1, t0, 2f
    DMA_LOAD_Q                      # the next row block's Q and first K/V tile
    la      s3, kbuf
    la      s4, vtbuf
    li      s7, 0
    DMA_LOAD_KV s7, s3, s4
    DMA_WAIT_ALL
2:  csrr    x0, barrier
    li      t0, NRB
    blt     s1, t0, .Ldma_rb
    csrr    t0, mcycle
.Ldone:
    li      a0, 0
    ecall

    .data
    .balign 64
q:  .zero   LQ*DH*2
    .balign 64
k:  .zero   SK*DH*2
    .balign 64
v:  .zero   SK*DH*2
    .balign 64
o:  .zero   LQ*OROW
    .text

    .tcdm
    .balign 64
qbuf:    .zero QB
    .balign 64
kbuf:    .zero 2*KB
    .balign 64
vtbuf:   .zero 2*KB
    .balign 64
sbuf:    .zero BR*SROW
    .balign 64
obuf:    .zero BR*OROW
    .balign 64
stats:   .zero BR*16
scratch: .zero 9*64
fa2_consts:
    .half   QSCALE                  # 1/sqrt(DH) in BF16 (from the family module)
    .half   0
    .word   0xff800000              # -inf (FP32)
    .word   0x3f800000              # 1.0 (FP32)
    .word   0
    .half   0xff80, 0xff80, 0xff80, 0xff80   # 4 x -inf (BF16), at fa2_consts + 16
    .text

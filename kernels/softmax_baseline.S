# softmax_baseline.S: softmax of M rows of N FP32 values on the 8 compute cores, the DMA core
# moving blocks of 8 rows between main memory and the TCDM (lib/softmax_spmd.S: row i on core
# i mod 8, double-buffered when two blocks fit the TCDM, NBUF = 1 otherwise).
#
# Per row, as the public Snitch softmax kernel (snitch_cluster.md §5.1; our own code): three
# scalar loops, max (fmax.s); e = expf(x - max) stored in place with the running sum (one
# fadd.s chain, in order); y = e / sum with fdiv.s (the paper's cluster has DIVSQRT,
# vexp_paper.md "The hardware"; the public default would call a software division).
# Per row the arithmetic is that of kernels/softmax_baseline_row.S, so each row's result is
# bit-identical to the one-row kernel's (tested).
# Assumptions: FP32 data (the paper's baseline data type is unknown, vexp_details.md §4.1);
# expf = kernels/lib/expf.S (the libm routine, its constants and table in main memory as a
# libm's read-only data would be); no SSR/FREP (compiled C code does not use them).
# Symbols: M (multiple of 8), N; NBUF from the family module (vexpsim/experiments/kernels/
# softmax.py). Inputs x, outputs y: main memory.

    .equ EB, 4

.macro ROW_INIT
.endm

.macro ROW_SOFTMAX
    mv      s7, a0
    mv      s5, a0
    li      s6, N
    flw     fs0, 0(s5)              # max = x[0]
1:  flw     ft3, 0(s5)
    fmax.s  fs0, fs0, ft3
    addi    s5, s5, 4
    addi    s6, s6, -1
    bnez    s6, 1b
    csrr    t0, mcycle              # region "exp_sum" starts
    mv      s5, s7
    li      s6, N
    fmv.w.x fs1, zero               # sum = 0
2:  flw     fa0, 0(s5)
    fsub.s  fa0, fa0, fs0
    call    expf
    fsw     fa0, 0(s5)
    fadd.s  fs1, fs1, fa0
    addi    s5, s5, 4
    addi    s6, s6, -1
    bnez    s6, 2b
    csrr    t0, mcycle              # region "normalise" starts
    mv      s5, s7
    li      s6, N
3:  flw     ft3, 0(s5)
    fdiv.s  ft3, ft3, fs1
    fsw     ft3, 0(s5)
    addi    s5, s5, 4
    addi    s6, s6, -1
    bnez    s6, 3b
    fmv.x.w t0, ft3                 # drains the FP queue: every result is in the TCDM
.endm

    .include "lib/softmax_spmd.S"
    .include "lib/expf.S"

# softmax_baseline_row.S: softmax of one row of N FP32 values on one core, scalar, with the
# software expf: the baseline of the VEXP paper's softmax comparison, first step (one core, row
# already in the TCDM; SPMD over 8 cores and the DMA come next).
#
# Structure as the public Snitch softmax kernel (snitch_cluster.md §5.1, sw/kernels/dnn/softmax):
# three scalar loops per row: max; out = expf(x - max) with the running sum; out /= sum.
# Assumptions: the max loop uses fmax.s (the C `if (x > max) max = x` could also compile to
# flt.s + branch, a direct-path instruction per element: slower); the division is fdiv.s, as the
# paper's cluster has the DIVSQRT unit (vexp_paper.md "The hardware"; the public default
# cluster would call a software division instead). Symbols: N; input `x`, output `y`.

    .text
    .globl _start
_start:
    csrr    t0, mhartid
    bnez    t0, done                # one core for now
    la      sp, stack_top
    csrr    s5, mcycle              # region 0: the whole row
    la      s0, x
    li      s2, N
    flw     fs0, 0(s0)              # max = x[0]
1:  flw     ft3, 0(s0)
    fmax.s  fs0, fs0, ft3
    addi    s0, s0, 4
    addi    s2, s2, -1
    bnez    s2, 1b
    la      s0, x
    la      s1, y
    li      s2, N
    fmv.w.x fs1, zero               # sum = 0
2:  flw     fa0, 0(s0)
    fsub.s  fa0, fa0, fs0
    call    expf
    fsw     fa0, 0(s1)
    fadd.s  fs1, fs1, fa0
    addi    s0, s0, 4
    addi    s1, s1, 4
    addi    s2, s2, -1
    bnez    s2, 2b
    la      s1, y
    li      s2, N
3:  flw     ft3, 0(s1)
    fdiv.s  ft3, ft3, fs1
    fsw     ft3, 0(s1)
    addi    s1, s1, 4
    addi    s2, s2, -1
    bnez    s2, 3b
    fmv.x.w a0, ft3                 # drains the FP queue: every result is written
    csrr    s6, mcycle
    li      a0, 0
done:
    ecall

    .include "lib/expf.S"

    .tcdm
    .balign 16
x:      .zero 4*N
y:      .zero 4*N
stack:  .zero 64
stack_top:

# gemm_bf16.S: C = A . B on one cluster, BF16 inputs, FP32 accumulation, BF16 output.
# A: M x K, B transposed (bt: N x K), both BF16 row-major in main memory; C: M x N BF16.
# Inner loop: FREP over vfdotpex.s.ah (4 BF16 products per instruction, exact, added into the
# 2 FP32 lanes of the accumulator with one rounding each: lane 0 = acc + a0 b0 + a1 b1,
# lane 1 = acc + a2 b2 + a3 b3), 8 accumulators, SSR streams for A and Bt
# (lib/gemm_opt.S); DMA and core split: lib/gemm_spmd.S.
# Symbols: M, N, K, TK, NK, NP (from vexpsim/experiments/kernels/gemm.py).

    .equ EB, 2
    .equ OB, 2
    .equ VW, 4

.macro MAC8
    vfdotpex.s.ah f3, ft0, ft1
    vfdotpex.s.ah f4, ft0, ft1
    vfdotpex.s.ah f5, ft0, ft1
    vfdotpex.s.ah f6, ft0, ft1
    vfdotpex.s.ah f7, ft0, ft1
    vfdotpex.s.ah f8, ft0, ft1
    vfdotpex.s.ah f9, ft0, ft1
    vfdotpex.s.ah f10, ft0, ft1
.endm

    .include "lib/gemm_opt.S"
    .include "lib/gemm_spmd.S"

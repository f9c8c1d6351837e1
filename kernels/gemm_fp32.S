# gemm_fp32.S: C = A . B on one cluster, FP32 inputs, accumulation and output.
# A: M x K, B transposed (bt: N x K), both FP32 row-major in main memory; C: M x N FP32.
# Inner loop: FREP over vfmac.s (2 FP32 lanes, each a fused multiply-add with one rounding:
# lane 0 sums the even k, lane 1 the odd k), 8 accumulators, SSR streams for A and Bt
# (lib/gemm_opt.S); the lanes are added into C by vfsum.s after each chunk. DMA and core
# split: lib/gemm_spmd.S.
# Symbols: M, N, K, TK, NK, NP (from vexpsim/experiments/kernels/gemm.py).

    .equ EB, 4
    .equ OB, 4
    .equ VW, 2

.macro MAC8
    vfmac.s f3, ft0, ft1
    vfmac.s f4, ft0, ft1
    vfmac.s f5, ft0, ft1
    vfmac.s f6, ft0, ft1
    vfmac.s f7, ft0, ft1
    vfmac.s f8, ft0, ft1
    vfmac.s f9, ft0, ft1
    vfmac.s f10, ft0, ft1
.endm

    .include "lib/gemm_opt.S"
    .include "lib/gemm_spmd.S"

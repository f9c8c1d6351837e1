# gelu.S: GELU (tanh form) of a ROWS x COLS BF16 tile, the baseline: scalar FP32 arithmetic
# with the software exponential of kernels/lib/expf.S, on the 8 compute cores with the DMA
# core moving the tile (lib/rowwise_spmd.S).
#
# y = x / (1 + expf(w)), w = x (A + B x^2), A = -2 sqrt(2/pi), B = A * 0.044715: the tanh
# form 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) with 1 + tanh(z) = 2 / (1 + exp(-2z)),
# one exponential and one division per element (as gelu_vexp.S, there in BF16 SIMD).
# The tile is split flat: core c takes EPC = ROWS*COLS/8 consecutive elements; per element:
# flh (BF16) and fcvt.s.h, x^2 (fmul.s), A + B x^2 (fmadd.s), w (fmul.s), call expf, fadd.s,
# fdiv.s (the paper's cluster has DIVSQRT), fcvt.h.s back to BF16 and fsh in place. No
# SSR/FREP (compiled C code, as the softmax baseline). A and B are FP32 constants (bits K_A32,
# K_B32 from the family module).
# Symbols: ROWS, COLS (ROWS*COLS a multiple of 8).

    .equ X2, 0
    .equ GB, 0
    .equ EPC, ROWS*COLS/8

.macro CORE_INIT
    csrwi   fmode, 3                # .h = BF16 (the tile's format); FP32 arithmetic in .s
    la      t1, gelu_consts
    flw     fs0, 0(t1)              # A
    flw     fs1, 4(t1)              # B
    flw     fs2, 8(t1)              # 1.0
.endm

.macro CORE_WORK
    li      t0, EPC*2
    mul     t1, t0, s0
    la      s5, buf
    add     s5, s5, t1
    li      s6, EPC
1:  flh     fs3, 0(s5)
    fcvt.s.h fs3, fs3               # x (exact)
    fmul.s  fa0, fs3, fs3           # x^2
    fmadd.s fa0, fa0, fs1, fs0      # A + B x^2
    fmul.s  fa0, fa0, fs3           # w
    call    expf
    fadd.s  fa0, fa0, fs2           # 1 + exp(w)
    fdiv.s  fa0, fs3, fa0           # y
    fcvt.h.s fa0, fa0
    fsh     fa0, 0(s5)
    addi    s5, s5, 2
    addi    s6, s6, -1
    bnez    s6, 1b
    fmv.x.w t0, fa0                 # drains the FP queue: every result is in the TCDM
.endm

    .include "lib/rowwise_spmd.S"
    .include "lib/expf.S"

    .tcdm
    .balign 8
gelu_consts:
    .word K_A32, K_B32, 0x3f800000  # A, B, 1.0 (FP32)
    .text

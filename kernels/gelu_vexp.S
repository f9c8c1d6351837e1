# gelu_vexp.S: GELU (tanh form) of a ROWS x COLS BF16 tile with the VEXP instruction, on the 8
# compute cores with the DMA core moving the tile (lib/rowwise_spmd.S).
#
# gelu(x) = 0.5 x (1 + tanh(z)), z = sqrt(2/pi) (x + 0.044715 x^3); with
# 1 + tanh(z) = 2 / (1 + exp(-2z)) this is  y = x / (1 + exp(w)),  w = x (A + B x^2),
# A = -2 sqrt(2/pi), B = A * 0.044715 (one exponential and one division per element).
# The tile is split flat: core c takes EPC = ROWS*COLS/8 consecutive elements. SSR0 reads x,
# SSR2 writes y over it; FREP over EPC/16 iterations of 4 interleaved 64-bit words
# (4 x BF16 each), per word: copy x out of the stream (vfsgnj.h), x^2, *B, +A, *x, vfexp.h,
# +1, vfdiv.h. All BF16 (fmode = 3), each operation rounded once; A and B rounded to BF16.
# Symbols: ROWS, COLS (ROWS*COLS a multiple of 128); the constants' BF16 bits K_A, K_B from
# the family module (vexpsim/experiments/kernels/rowwise.py).

    .equ X2, 0
    .equ GB, 0
    .equ EPC, ROWS*COLS/8

.macro CORE_INIT
    csrwi   fmode, 3                # .h = BF16
    la      t1, gelu_consts
    flh     fs0, 0(t1)              # A
    flh     fs1, 2(t1)              # B
    flh     fs2, 4(t1)              # 1.0
.endm

.macro CORE_WORK
    li      t0, EPC*2
    mul     t1, t0, s0
    la      a0, buf
    add     a0, a0, t1
    li      t0, EPC/4-1
    scfgwi  t0, 2<<5 | 0
    scfgwi  t0, 2<<5 | 2
    li      t0, 8
    scfgwi  t0, 6<<5 | 0
    scfgwi  t0, 6<<5 | 2
    scfgwi  a0, 24<<5 | 0           # SSR0 reads x
    scfgwi  a0, 28<<5 | 2           # SSR2 writes y over x
    csrsi   ssr, 1
    li      t2, EPC/16-1
    frep.o  t2, 32, 0, 0
    vfsgnj.h  ft4, ft0, ft0         # x of words 0..3 (stream order)
    vfsgnj.h  ft5, ft0, ft0
    vfsgnj.h  ft6, ft0, ft0
    vfsgnj.h  ft7, ft0, ft0
    vfmul.h   ft8, ft4, ft4         # x^2
    vfmul.h   ft9, ft5, ft5
    vfmul.h   ft10, ft6, ft6
    vfmul.h   ft11, ft7, ft7
    vfmul.r.h ft8, ft8, fs1         # B x^2
    vfmul.r.h ft9, ft9, fs1
    vfmul.r.h ft10, ft10, fs1
    vfmul.r.h ft11, ft11, fs1
    vfadd.r.h ft8, ft8, fs0         # A + B x^2
    vfadd.r.h ft9, ft9, fs0
    vfadd.r.h ft10, ft10, fs0
    vfadd.r.h ft11, ft11, fs0
    vfmul.h   ft8, ft8, ft4         # w = x (A + B x^2)
    vfmul.h   ft9, ft9, ft5
    vfmul.h   ft10, ft10, ft6
    vfmul.h   ft11, ft11, ft7
    vfexp.h   ft8, ft8              # exp(w)
    vfexp.h   ft9, ft9
    vfexp.h   ft10, ft10
    vfexp.h   ft11, ft11
    vfadd.r.h ft8, ft8, fs2         # 1 + exp(w)
    vfadd.r.h ft9, ft9, fs2
    vfadd.r.h ft10, ft10, fs2
    vfadd.r.h ft11, ft11, fs2
    vfdiv.h   ft2, ft4, ft8         # y = x / (1 + exp(w)), to the write stream
    vfdiv.h   ft2, ft5, ft9
    vfdiv.h   ft2, ft6, ft10
    vfdiv.h   ft2, ft7, ft11
    csrci   ssr, 1
    fmv.x.w t0, ft3                 # drains the FP queue: every result is in the TCDM
.endm

    .include "lib/rowwise_spmd.S"

    .tcdm
    .balign 8
gelu_consts:
    .half K_A, K_B, 0x3f80, 0       # A, B, 1.0 (BF16)
    .text

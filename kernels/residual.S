# residual.S: y = x + x2 on a ROWS x COLS BF16 tile (the residual add of a transformer block),
# on the 8 compute cores with the DMA core moving the tile (lib/rowwise_spmd.S).
# The tile is split flat: core c adds elements [c*EPC, (c+1)*EPC), EPC = ROWS*COLS/8 (a
# multiple of 4: whole 64-bit words). SSR0 reads x, SSR1 reads x2, SSR2 writes y over x (the
# read stream runs ahead of the write stream, so in place is safe); FREP over EPC/4 vfadd.h
# (4 x BF16 per instruction, one rounding each). FPU in BF16 mode (fmode = 3).
# Symbols: ROWS, COLS (ROWS*COLS a multiple of 32).

    .equ X2, 1
    .equ GB, 0
    .equ EPC, ROWS*COLS/8

.macro CORE_INIT
    csrwi   fmode, 3                # .h = BF16
.endm

.macro CORE_WORK
    li      t0, EPC*2
    mul     t1, t0, s0              # this core's byte offset
    la      a0, buf
    add     a0, a0, t1
    la      a1, buf2
    add     a1, a1, t1
    li      t0, EPC/4-1
    scfgwi  t0, 2<<5 | 0            # bounds[0] of SSR0..2
    scfgwi  t0, 2<<5 | 1
    scfgwi  t0, 2<<5 | 2
    li      t0, 8
    scfgwi  t0, 6<<5 | 0            # strides[0]: one 64-bit word
    scfgwi  t0, 6<<5 | 1
    scfgwi  t0, 6<<5 | 2
    scfgwi  a0, 24<<5 | 0           # SSR0 reads x
    scfgwi  a1, 24<<5 | 1           # SSR1 reads x2
    scfgwi  a0, 28<<5 | 2           # SSR2 writes y over x
    csrsi   ssr, 1
    li      t2, EPC/4-1
    frep.o  t2, 1, 0, 0
    vfadd.h ft2, ft0, ft1
    csrci   ssr, 1
    fmv.x.w t0, ft3                 # drains the FP queue: every result is in the TCDM
.endm

    .include "lib/rowwise_spmd.S"

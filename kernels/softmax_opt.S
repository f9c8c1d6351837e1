# softmax_opt.S: softmax of M rows of N BF16 values on the 8 compute cores WITHOUT the VEXP
# extension: the best we can do with the public Snitch ISA (SSR, FREP, packed SIMD, DIVSQRT).
# The DMA core moves blocks of 8 rows (lib/softmax_spmd.S: row i on core i mod 8,
# double-buffered). Runs on a cluster with fpu.exp.enabled = false (no fexp/vfexp used).
#
# Per row (fmode = 3: .h = BF16), five SSR-streamed FREP passes, each body interleaving 4
# independent chains so that the 3-cycle FMA latency is hidden (snitch_cluster.md §3.2):
#   MAX   N/16 x 4 vfmax.h, 4 accumulators, horizontal max (as softmax_vexp);
#   EXP   per chunk of CH elements (CH = min(N, 512)), three passes through this core's work
#         area in the TCDM (an FREP body holds at most 32 instructions, snitch_cluster.md §4.2,
#         and a value popped from an SSR can be used only once):
#     P1  d = max(x - max, -88) in BF16 (vfsub.r.h, vfmax.h: 4 lanes), widened to FP32 pairs
#         (vfcvt.s.h, vfcvtu.s.h, exact), z = d * log2(e) (vfmul.r.s) -> z buffer;
#     P2  reads z twice (SSR0, SSR1): k = round(z) by the shift trick kd = z + 1.5*2^23,
#         r = z - (kd - 1.5*2^23) (exact, |r| <= 1/2), and 2^k built WITHOUT the integer core:
#         t = (kd + (127 - 1.5*2^23)) * 2^23 = (k + 127) * 2^23 exactly, whose integer
#         conversion (vfcvt.x.s) has the bit pattern of the FP32 value 2^k -> [r, 2^k] buffer;
#     P3  2^r ~ p(r) = c2 (r + a)^2 + b, the relative-minimax quadratic on [-1/2, 1/2]
#         (max relative error 1.73e-3) in completed-square form so that r is used once;
#         e = p(r) * 2^k in FP32, rounded to BF16 (vfcvt.h.s) and two pairs packed into one
#         word by vfcpka.s.s (each half is a BF16 pair read as one FP32 bit pattern: finite,
#         so the FP32->FP32 "conversion" is the identity) and moved to the write stream
#         (vfsgnj.h; vfcpk reads its destination) -> e over x, in place;
#   SUM   N/16 x 4 vfsumex.s.h: e summed in FP32 (4 accumulators), vfadd.s, vfsum.s;
#   NORM  fdiv.s 1/sum in FP32, rounded to BF16 (fcvt.h.s), N/16 x 4 vfmul.r.h.
# Algorithm choice: the public vexpf_optimized kernel (snitch_cluster.md §5.2) evaluates the
# libm expf in FP64, one element per instruction, with a 32-entry table read by the integer
# core (about 10 FP instructions per element, overlapped with about 10 integer ones). For
# BF16 outputs (unit roundoff 2^-8 = 3.9e-3) that accuracy is wasted: a table-free quadratic
# on 2 FP32 lanes per instruction is accurate to 1.73e-3 (4x better than VEXP's 0.706 %)
# and needs 8.75 FP instructions per element in total (max 0.25, P1 1.5, P2 3, P3 3.5,
# sum 0.25, norm 0.25; softmax_vexp needs 1.5) and no integer-core work. A cubic uses r three
# times (a copy and 6 operations instead of 4): P3 would grow to 40 > 32 instructions.
# Assumptions: x - max rounded to BF16 (as softmax_vexp does); arguments are clamped to -88,
# so k >= -127: k = -127 (x - max < -87.68) gives t = 0, 2^k = +0 and e = 0 exactly, the
# subnormal results flushed to zero as VEXP does (an absolute error below 1.2e-38); the sum
# is accumulated in FP32 over the BF16-rounded e values, the ones normalised; N is a multiple
# of 16.
# Constants (FP32 bit patterns) come from vexpsim/experiments/kernels/softmax.py (OPT_CONSTS):
# K_L, K_S, K_B, K_P23, K_A, K_C2, K_BQ. Symbols: M (multiple of 8), N, NBUF, CH.

    .equ EB, 2
    .equ WORKB, 12*CH           # per core: z (4 CH bytes) and [r, 2^k] (8 CH bytes)

.macro SSR_1D ssr, words, ptr, wr
    li      t0, \words-1
    scfgwi  t0, 2<<5 | \ssr         # bounds[0]
    li      t0, 8
    scfgwi  t0, 6<<5 | \ssr         # strides[0]
.if \wr
    scfgwi  \ptr, 28<<5 | \ssr      # wptr[0]: 1-D write stream
.else
    scfgwi  \ptr, 24<<5 | \ssr      # rptr[0]: 1-D read stream
.endif
.endm

.macro ROW_INIT
    csrwi   fmode, 3                # .h = BF16 (src and dst alt formats)
    la      t1, opt_consts
    fld     f4, 0(t1)               # 4 x BF16 -88 (the clamp)
    flw     f5, 8(t1)               # log2(e)
    flw     f6, 12(t1)              # S = 1.5 * 2^23
    flw     f7, 16(t1)              # 127 - S
    flw     f8, 20(t1)              # 2^23
    flw     f9, 24(t1)              # a
    flw     f10, 28(t1)             # c2
    flw     f11, 32(t1)             # b
    la      s10, opt_work
    li      t0, WORKB
    mul     t0, t0, s0
    add     s10, s10, t0            # this core's work area: z at s10, [r, 2^k] at s10 + 4 CH
.endm

.macro ROW_SOFTMAX
    mv      s5, a0
# ---- MAX ------------------------------------------------------------------------------------
    SSR_1D  0, N/4, a0, 0
    la      t1, opt_consts
    fld     f12, 40(t1)             # 4 x -inf
    fsgnj.d f13, f12, f12
    fsgnj.d f14, f12, f12
    fsgnj.d f15, f12, f12
    csrsi   ssr, 1
    li      t2, N/16-1
    frep.o  t2, 4, 0, 0
    vfmax.h f12, f12, ft0
    vfmax.h f13, f13, ft0
    vfmax.h f14, f14, ft0
    vfmax.h f15, f15, ft0
    csrci   ssr, 1
    vfmax.h f12, f12, f13
    vfmax.h f14, f14, f15
    vfmax.h f12, f12, f14
    fsd     f12, 0(s11)
    flh     f3, 0(s11)
    flh     f13, 2(s11)
    flh     f14, 4(s11)
    flh     f15, 6(s11)
    fmax.h  f3, f3, f13
    fmax.h  f14, f14, f15
    fmax.h  f3, f3, f14             # f3 = row max (BF16)
    csrr    t0, mcycle              # region "exp_sum" starts
# ---- EXP, chunk by chunk ------------------------------------------------------------------
    li      s6, N/CH
    li      t0, 4*CH
    add     s7, s10, t0             # [r, 2^k] buffer
1:  SSR_1D  0, CH/4, s5, 0          # P1: x words of the chunk
    SSR_1D  1, CH/2, s10, 1         #     z pairs
    csrsi   ssr, 1
    li      t2, CH/16-1
    frep.o  t2, 24, 0, 0
    vfsub.r.h f12, ft0, f3
    vfsub.r.h f13, ft0, f3
    vfsub.r.h f14, ft0, f3
    vfsub.r.h f15, ft0, f3
    vfmax.h f12, f12, f4
    vfmax.h f13, f13, f4
    vfmax.h f14, f14, f4
    vfmax.h f15, f15, f4
    vfcvt.s.h f16, f12
    vfcvtu.s.h f20, f12
    vfcvt.s.h f17, f13
    vfcvtu.s.h f21, f13
    vfcvt.s.h f18, f14
    vfcvtu.s.h f22, f14
    vfcvt.s.h f19, f15
    vfcvtu.s.h f23, f15
    vfmul.r.s ft1, f16, f5
    vfmul.r.s ft1, f20, f5
    vfmul.r.s ft1, f17, f5
    vfmul.r.s ft1, f21, f5
    vfmul.r.s ft1, f18, f5
    vfmul.r.s ft1, f22, f5
    vfmul.r.s ft1, f19, f5
    vfmul.r.s ft1, f23, f5
    csrci   ssr, 1
    SSR_1D  0, CH/2, s10, 0         # P2: z
    SSR_1D  1, CH/2, s10, 0         #     z again
    SSR_1D  2, CH, s7, 1            #     r0..r3, 2^k0..2^k3 per 4 pairs
    csrsi   ssr, 1
    li      t2, CH/8-1
    frep.o  t2, 24, 0, 0
    vfadd.r.s f12, ft0, f6
    vfadd.r.s f13, ft0, f6
    vfadd.r.s f14, ft0, f6
    vfadd.r.s f15, ft0, f6
    vfsub.r.s f16, f12, f6
    vfsub.r.s f17, f13, f6
    vfsub.r.s f18, f14, f6
    vfsub.r.s f19, f15, f6
    vfsub.s ft2, ft1, f16
    vfsub.s ft2, ft1, f17
    vfsub.s ft2, ft1, f18
    vfsub.s ft2, ft1, f19
    vfadd.r.s f20, f12, f7
    vfadd.r.s f21, f13, f7
    vfadd.r.s f22, f14, f7
    vfadd.r.s f23, f15, f7
    vfmul.r.s f24, f20, f8
    vfmul.r.s f25, f21, f8
    vfmul.r.s f26, f22, f8
    vfmul.r.s f27, f23, f8
    vfcvt.x.s ft2, f24
    vfcvt.x.s ft2, f25
    vfcvt.x.s ft2, f26
    vfcvt.x.s ft2, f27
    csrci   ssr, 1
    li      t0, 3                   # P3: r and 2^k, 2-D: 4 words, then the next group of 8
    scfgwi  t0, 2<<5 | 0
    scfgwi  t0, 2<<5 | 1
    li      t0, 8
    scfgwi  t0, 6<<5 | 0
    scfgwi  t0, 6<<5 | 1
    li      t0, CH/8-1
    scfgwi  t0, 3<<5 | 0
    scfgwi  t0, 3<<5 | 1
    li      t0, 64-3*8              # relative stride (snitch_cluster.md §4.1)
    scfgwi  t0, 7<<5 | 0
    scfgwi  t0, 7<<5 | 1
    scfgwi  s7, 25<<5 | 0           # rptr[1]: 2-D read stream of r
    addi    t1, s7, 32
    scfgwi  t1, 25<<5 | 1           # 2^k
    SSR_1D  2, CH/4, s5, 1          #     e words over the chunk of x
    csrsi   ssr, 1
    li      t2, CH/8-1
    frep.o  t2, 28, 0, 0
    vfadd.r.s f12, ft0, f9
    vfadd.r.s f13, ft0, f9
    vfadd.r.s f14, ft0, f9
    vfadd.r.s f15, ft0, f9
    vfmul.s f16, f12, f12
    vfmul.s f17, f13, f13
    vfmul.s f18, f14, f14
    vfmul.s f19, f15, f15
    vfmul.r.s f16, f16, f10
    vfmul.r.s f17, f17, f10
    vfmul.r.s f18, f18, f10
    vfmul.r.s f19, f19, f10
    vfadd.r.s f16, f16, f11
    vfadd.r.s f17, f17, f11
    vfadd.r.s f18, f18, f11
    vfadd.r.s f19, f19, f11
    vfmul.s f20, f16, ft1
    vfmul.s f21, f17, ft1
    vfmul.s f22, f18, ft1
    vfmul.s f23, f19, ft1
    vfcvt.h.s f24, f20
    vfcvt.h.s f25, f21
    vfcvt.h.s f26, f22
    vfcvt.h.s f27, f23
    vfcpka.s.s f28, f24, f25        # (vfcpk reads its destination: not the SSR)
    vfcpka.s.s f29, f26, f27
    vfsgnj.h ft2, f28, f28          # to the write stream
    vfsgnj.h ft2, f29, f29
    csrci   ssr, 1
    li      t0, 2*CH
    add     s5, s5, t0              # next chunk
    addi    s6, s6, -1
    bnez    s6, 1b
# ---- SUM in FP32 ------------------------------------------------------------------------------
    SSR_1D  0, N/4, a0, 0
    fcvt.d.w f12, zero              # 4 accumulators of 2 FP32 lanes = +0
    fcvt.d.w f13, zero
    fcvt.d.w f14, zero
    fcvt.d.w f15, zero
    csrsi   ssr, 1
    li      t2, N/16-1
    frep.o  t2, 4, 0, 0
    vfsumex.s.h f12, ft0
    vfsumex.s.h f13, ft0
    vfsumex.s.h f14, ft0
    vfsumex.s.h f15, ft0
    csrci   ssr, 1
    vfadd.s f12, f12, f13
    vfadd.s f14, f14, f15
    vfadd.s f12, f12, f14
    fmv.w.x f16, zero               # NaN-boxed FP32 +0
    vfsum.s f16, f12                # f16 = lane 0 + lane 1 (FP32 scalar)
    csrr    t0, mcycle              # region "normalise" starts
    la      t1, opt_consts
    flw     f17, 36(t1)             # 1.0f
    fdiv.s  f17, f17, f16           # 1/sum, the one division per row
    fcvt.h.s f17, f17               # to BF16
    SSR_1D  0, N/4, a0, 0
    SSR_1D  1, N/4, a0, 1
    csrsi   ssr, 1
    li      t2, N/16-1
    frep.o  t2, 4, 0, 0
    vfmul.r.h ft1, ft0, f17
    vfmul.r.h ft1, ft0, f17
    vfmul.r.h ft1, ft0, f17
    vfmul.r.h ft1, ft0, f17
    csrci   ssr, 1
    fmv.x.w t0, f17                 # drains the FP queue: every result is in the TCDM
.endm

    .include "lib/softmax_spmd.S"

    .tcdm
    .balign 8
opt_consts:
    .half   0xc2b0, 0xc2b0, 0xc2b0, 0xc2b0  # 0: BF16 -88 x 4
    .word   K_L                             # 8: log2(e)
    .word   K_S                             # 12: 1.5 * 2^23
    .word   K_B                             # 16: 127 - 1.5 * 2^23
    .word   K_P23                           # 20: 2^23
    .word   K_A                             # 24: a
    .word   K_C2                            # 28: c2
    .word   K_BQ                            # 32: b
    .word   0x3f800000                      # 36: 1.0f
    .half   0xff80, 0xff80, 0xff80, 0xff80  # 40: BF16 -inf x 4
    .balign 64
opt_work:
    .zero   8*WORKB
    .text

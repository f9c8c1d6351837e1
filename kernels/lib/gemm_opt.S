# gemm_opt.S: the SSR + FREP compute step of kernels/gemm_bf16.S and gemm_fp32.S (on the
# skeleton lib/gemm_spmd.S, which describes the data layout and the DMA).
#
# The including kernel defines VW (input elements per 64-bit word: 4 BF16 or 2 FP32) and the
# macro MAC8 (8 SIMD multiply-accumulates `op fX, ft0, ft1` into f3..f10). Per chunk, per row
# of this core, per group of 8 columns j0..j0+7 (public Snitch opt GEMMs, snitch_cluster.md
# §5.4, our own code):
#   - 8 accumulators f3..f10 = 0 (fmv.d from f31);
#   - FREP over the chunk's W = TK/VW words: MAC8, SSR0 streaming the A row (each word repeated
#     8 times, SSR repeat = 7), SSR1 streaming the 8 Bt rows word by word; the 8 independent
#     accumulators cover the 3-cycle ADDMUL/DOTP latency (dependent issue at +4, §3.2);
#   - the accumulator's lanes hold partial sums over alternate k (lane 0: words' low half,
#     lane 1: high half); vfsum.s adds both lanes to the running FP32 value of C (flw from
#     cacc; +0 in the first chunk) with one rounding (d[0] = acc[0] + a[0] + a[1]);
#   - the result goes back to cacc (fsw), or after the last chunk, when OB = 2, is rounded to
#     BF16 (fcvt.ah.s, round to nearest even) into cout (fsh).
# Both SSR streams are configured once per chunk for all rows and groups of this core (4-D
# for Bt, 3-D with repeat for A): only the FREP, the per-group FP instructions and the loop
# counters remain between groups. Per output and chunk the FP subsystem thus issues TK/(2 VW)
# ... TK/VW MACs plus 4 instructions (zero, flw, vfsum, fsw) - the overhead that bounds the FPU
# utilisation at TK = 64: 16/20 for BF16, 32/36 for FP32.

    .equ W, TK/VW               # words per row of a chunk = FREP iterations
    .equ NG, NP/8               # column groups of 8

.macro KINIT
.endm

.macro CHUNK first, last
    li      t0, 7
    scfgwi  t0, 1<<5 | 0        # SSR0 repeat 7: each A word feeds the 8 accumulators
    li      t0, W-1
    scfgwi  t0, 2<<5 | 0        # SSR0 bounds: words, groups (A row again), rows
    li      t0, NG-1
    scfgwi  t0, 3<<5 | 0
    addi    t1, s1, -1
    scfgwi  t1, 4<<5 | 0
    li      t0, 8               # SSR0 relative strides (snitch_cluster.md §4.1)
    scfgwi  t0, 6<<5 | 0
    li      t0, -8*(W-1)
    scfgwi  t0, 7<<5 | 0
    li      t0, 8*ARB-8*(W-1)   # my next row is 8 rows further
    scfgwi  t0, 8<<5 | 0
    scfgwi  s3, 26<<5 | 0       # SSR0 rptr[2]: 3-D read stream of my A rows
    scfgwi  zero, 1<<5 | 1      # SSR1 repeat 0
    li      t0, 7
    scfgwi  t0, 2<<5 | 1        # SSR1 bounds: 8 Bt rows, words, groups, my rows
    li      t0, W-1
    scfgwi  t0, 3<<5 | 1
    li      t0, NG-1
    scfgwi  t0, 4<<5 | 1
    scfgwi  t1, 5<<5 | 1
    li      t0, ARB
    scfgwi  t0, 6<<5 | 1
    li      t0, 8-7*ARB
    scfgwi  t0, 7<<5 | 1
    li      t0, ARB-8*(W-1)
    scfgwi  t0, 8<<5 | 1
    li      t0, -7*ARB-8*(W-1)-8*ARB*(NG-1)   # back to the first group for the next row
    scfgwi  t0, 9<<5 | 1
    scfgwi  s4, 27<<5 | 1       # SSR1 rptr[3]: 4-D read stream of the Bt chunk
    csrsi   ssr, 1
    mv      a1, s5              # cacc of (row, group)
    mv      a2, s6              # cout of (row, group)
    mv      a3, s1              # rows left
    li      a5, W-1
1:  li      a4, NG
2:
.if \first
    .irp r, f11, f12, f13, f14, f15, f16, f17, f18
    fmv.d   \r, f31
    .endr
.else
    .set i, 0
    .irp r, f11, f12, f13, f14, f15, f16, f17, f18
    flw     \r, 4*i(a1)
    .set i, i+1
    .endr
.endif
    .irp r, f3, f4, f5, f6, f7, f8, f9, f10
    fmv.d   \r, f31
    .endr
    frep.o  a5, 8, 0, 0
    MAC8
    vfsum.s f11, f3
    vfsum.s f12, f4
    vfsum.s f13, f5
    vfsum.s f14, f6
    vfsum.s f15, f7
    vfsum.s f16, f8
    vfsum.s f17, f9
    vfsum.s f18, f10
.if \last && OB == 2
    .irp r, f11, f12, f13, f14, f15, f16, f17, f18
    fcvt.ah.s \r, \r
    .endr
    .set i, 0
    .irp r, f11, f12, f13, f14, f15, f16, f17, f18
    fsh     \r, 2*i(a2)
    .set i, i+1
    .endr
.else
    .set i, 0
    .irp r, f11, f12, f13, f14, f15, f16, f17, f18
    fsw     \r, 4*i(a1)
    .set i, i+1
    .endr
.endif
    addi    a1, a1, 32
    addi    a2, a2, 8*OB
    addi    a4, a4, -1
    bnez    a4, 2b
    li      t0, 7*CROWB         # my next row: 8 rows further
    add     a1, a1, t0
    li      t0, 7*OROWB
    add     a2, a2, t0
    addi    a3, a3, -1
    bnez    a3, 1b
    csrci   ssr, 1
    fmv.x.w t0, f31             # drains the FP queue: every result is in the TCDM
.endm

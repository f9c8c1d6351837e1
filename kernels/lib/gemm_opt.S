# gemm_opt.S: the SSR + FREP compute step of kernels/gemm_bf16.S and gemm_fp32.S (on the
# skeleton lib/gemm_spmd.S, which describes the data layout and the DMA).
#
# The including kernel defines VW (input elements per 64-bit word: 4 BF16 or 2 FP32) and the
# macro MAC8 (8 SIMD multiply-accumulates `op fX, ft0, ft1` into f3..f10, each adding into
# its 2 FP32 lanes: lane 0 from the low half of the words, lane 1 from the high half). Per
# chunk, per row of this core, per group of 8 columns j0..j0+7 (the public Snitch opt GEMMs,
# snitch_cluster.md §5.4, our own code):
#   - the 8 accumulators f3..f10 are loaded with their 2 lanes from cacc (fld; +0 in the first
#     chunk): the two partial sums stay separate over all of K (8 bytes per output, CB = 8);
#   - FREP over the chunk's W = TK/VW words: MAC8, SSR0 streaming the A row (each word repeated
#     8 times, SSR repeat = 7), SSR1 streaming the 8 Bt rows word by word; the 8 independent
#     accumulators cover the 3-cycle ADDMUL/DOTP latency (dependent issue at +4, §3.2);
#   - the accumulators go back to cacc through SSR2 (a 2-D write stream over this core's
#     rows, `fmv.d ft2, fX`); after the last chunk instead the two lanes are added (vfsum.s
#     into a zeroed register: d[0] = 0 + x[0] + x[1], one rounding), packed (vfcpk[ab].ah.s:
#     4 results rounded to BF16, nearest even, per word; vfcpka.s.s: 2 FP32 per word) and
#     written in place by SSR2. Stores through SSR2 rather than fsd/fsh: FP loads and stores
#     occupy the core's 8-entry consistency address queue (CAQ, snitch_lsu.sv) until the
#     FP subsystem has executed them, so 8 fld + 8 fsd per group would stall the core
#     behind the running FREP and leave a bubble after it.
# Both SSR streams are configured once per chunk for all rows and groups of this core (4-D
# for Bt, 3-D with repeat for A): only the FREP, the per-group FP instructions and the loop
# counters remain between groups. Per output and chunk the FP subsystem thus issues W MAC
# instructions and 2 others (fld, SSR store), so at TK = 64 at most 16/18 of the issue slots
# (BF16) or 32/34 (FP32) carry MACs; the last chunk has 8 + 8 + 4 + 2 (BF16) or 8 + 8 + 4 + 4
# (FP32) instead of 8 per group (zero, vfsum, pack, store).
# Keeping the lanes apart needs 8 bytes of TCDM per output, exactly the 4 (FP32 accumulator)
# + 2 x 2 (output buffers) of the tiling rule (workloads/tiling.py) for BF16.

    .equ W, TK/VW               # words per row of a chunk = FREP iterations
    .equ NG, NP/8               # column groups of 8
    .equ CB, 8                  # two FP32 lanes per output

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
.if \last
    .set wpr, NP*OB/8           # SSR2 writes the outputs, packed, over the accumulators
.else
    .set wpr, NP                # SSR2 writes the accumulators back
.endif
    li      t0, wpr-1
    scfgwi  t0, 2<<5 | 2        # SSR2 bounds: words of my row, my rows
    scfgwi  t1, 3<<5 | 2
    li      t0, 8
    scfgwi  t0, 6<<5 | 2
    li      t0, 8*CROWB-8*(wpr-1)
    scfgwi  t0, 7<<5 | 2
    scfgwi  s5, 29<<5 | 2       # SSR2 wptr[1]: 2-D write stream over my cacc rows
    csrsi   ssr, 1
    mv      a1, s5              # accumulators of (row, group)
    mv      a3, s1              # rows left
    li      a5, W-1
1:  li      a4, NG
2:
.if \first
    .irp r, f3, f4, f5, f6, f7, f8, f9, f10
    fmv.d   \r, f31
    .endr
.else
    .set i, 0
    .irp r, f3, f4, f5, f6, f7, f8, f9, f10
    fld     \r, 8*i(a1)
    .set i, i+1
    .endr
.endif
    frep.o  a5, 8, 0, 0
    MAC8
.if \last
    .irp r, f11, f12, f13, f14, f15, f16, f17, f18
    fmv.d   \r, f31
    .endr
    vfsum.s f11, f3
    vfsum.s f12, f4
    vfsum.s f13, f5
    vfsum.s f14, f6
    vfsum.s f15, f7
    vfsum.s f16, f8
    vfsum.s f17, f9
    vfsum.s f18, f10
  .if OB == 2
    vfcpka.ah.s f19, f11, f12   # 4 BF16 results per word (rounded to nearest even);
    vfcpka.ah.s f20, f15, f16   # vfcpkb keeps lanes 0-1 of its destination: interleaved
    vfcpkb.ah.s f19, f13, f14   # so that it waits less for the CONV latency
    vfcpkb.ah.s f20, f17, f18
    fmv.d   ft2, f19
    fmv.d   ft2, f20
  .else
    vfcpka.s.s f19, f11, f12    # 2 FP32 results per word
    vfcpka.s.s f20, f13, f14
    vfcpka.s.s f21, f15, f16
    vfcpka.s.s f22, f17, f18
    fmv.d   ft2, f19
    fmv.d   ft2, f20
    fmv.d   ft2, f21
    fmv.d   ft2, f22
  .endif
.else
    .irp r, f3, f4, f5, f6, f7, f8, f9, f10
    fmv.d   ft2, \r
    .endr
.endif
    addi    a1, a1, 8*CB
    addi    a4, a4, -1
    bnez    a4, 2b
    li      t0, 7*CROWB         # my next row: 8 rows further
    add     a1, a1, t0
    addi    a3, a3, -1
    bnez    a3, 1b
    csrci   ssr, 1
    fmv.x.w t0, f31             # drains the FP queue: every result is in the TCDM
.endm

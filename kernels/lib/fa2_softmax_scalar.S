# fa2_softmax_scalar.S: the scalar FP32 online-softmax step of fa2_baseline and fa2_naive
# (SOFTMAX_ROWS of kernels/lib/fa2_spmd.S), as the public Snitch FlashAttention-2 kernel's C
# loop (snitch_cluster.md §5.3; our own code). Per row of the tile: one loop for the max (flh,
# fcvt.s.ah, fmax.s), one for the exponentials (flh, fcvt.s.ah, fsub.s, call expf, fadd.s into
# the FP32 row sum, P rounded to BF16 by fcvt.ah.s and stored over S), then c = expf(m_old -
# m_new) and l = l*c + rowsum. No SSR/FREP (compiled C code). Needs lib/expf.S.

.macro SOFTMAX_ROWS
    mv      a1, s9                  # S row
    mv      a2, s10                 # its statistics
    li      a3, R
71: flw     fs9, 0(a2)              # m_old
    fmv.s   fs10, fs9               # running max
    mv      s5, a1
    li      s6, BC
72: flh     ft3, 0(s5)
    fcvt.s.ah ft3, ft3
    fmax.s  fs10, fs10, ft3
    addi    s5, s5, 2
    addi    s6, s6, -1
    bnez    s6, 72b
    fsw     fs10, 0(a2)             # m_new
    mv      s5, a1
    li      s6, BC
    fmv.w.x fs11, zero              # row sum
73: flh     fa0, 0(s5)
    fcvt.s.ah fa0, fa0
    fsub.s  fa0, fa0, fs10
    call    expf
    fadd.s  fs11, fs11, fa0
    fcvt.ah.s fa0, fa0
    fsh     fa0, 0(s5)              # P (BF16) over S
    addi    s5, s5, 2
    addi    s6, s6, -1
    bnez    s6, 73b
    fsub.s  fa0, fs9, fs10          # m_old - m_new (-inf in the first tile)
    call    expf                    # c
    flw     fa1, 4(a2)
    fmadd.s fa1, fa1, fa0, fs11     # l = l*c + rowsum
    fsw     fa1, 4(a2)
    fsw     fa0, 8(a2)
    li      t0, 8*SROW
    add     a1, a1, t0
    addi    a2, a2, 128
    addi    a3, a3, -1
    bnez    a3, 71b
    fmv.x.w t0, fa0                 # drains the FP queue
.endm

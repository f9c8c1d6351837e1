# fa2_baseline.S: FlashAttention-2 forward for one head on the 8 compute cores, the online
# softmax in scalar FP32 with the libm expf (kernels/lib/expf.S), as the public Snitch kernel
# (snitch_cluster.md §5.3: running max, P = expf(S - m) with the row sum, c = expf(m_old -
# m_new), l = l*c + rowsum; our own code); the GEMMs are the SSR/FREP SIMD ones of the skeleton
# (kernels/lib/fa2_spmd.S), the same as fa2_vexp's: the paper changed only the softmax part
# (vexp_details.md §4.3).
# The softmax step: kernels/lib/fa2_softmax_scalar.S.
# Symbols: LQ, SK, DH, BR, BC, QSCALE (vexpsim/experiments/kernels/fa2.py).

.macro FA2_INIT
.endm

    .include "lib/fa2_softmax_scalar.S"

    .include "lib/fa2_spmd.S"
    .include "lib/expf.S"

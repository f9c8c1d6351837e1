"""Constants the kernel families share (one definition, imported by softmax.py, gemm.py,
fa2.py, rowwise.py). Registers no kernel."""

from __future__ import annotations

CORES = 8  # compute cores of the default cluster (snitch_cluster.md §1); hart 8 is the DMA core
TCDM_BYTES = 128 * 1024  # snitch_cluster.md §1 (cfg/default.json tcdm.size)
U32 = 2.0**-24  # unit roundoff of FP32
U_BF16 = 2.0**-8  # unit roundoff of BF16 (8 significant bits)
VEXP_MAX_REL = 0.00706  # VEXP's max relative error vs exp of its BF16 input (docs/accuracy.md)
EXPF_MAX_REL = 2 * U32  # libm expf: within 0.502 ulp (snitch_cluster.md §5.2, kernels/lib/expf.S)

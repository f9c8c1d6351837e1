"""vfdotpex.s.ah and vfsumex.s.ah fed by SSR streams, and vfsum.s (the specialised closures
of vexpsim.isa.semantics: fparith.dotpex_pair and simd_sum_fp32_fast, the generic paths in
other rounding modes or with streaming off) give the RTL model's bits and flags in every
rounding mode, with and without timing."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from vexpsim.arch.functional import run_source
from vexpsim.numerics import fparith as fpa

PROG = """
    li t0, N-1
    scfgwi t0, 2<<5 | 31
    li t0, 8
    scfgwi t0, 6<<5 | 31
    la t0, xs
    scfgwi t0, 24<<5 | 0
    la t0, ys
    scfgwi t0, 24<<5 | 1
    csrwi frm, FRM
    la t2, acc
    fld f3, 0(t2)
    fld f4, 8(t2)
    li t3, N-1
    csrsi ssr, 1
    frep.o t3, 1, 0, 0
    vfdotpex.s.ah f3, ft0, ft1
    csrci ssr, 1
    la t0, xs
    scfgwi t0, 24<<5 | 0
    csrsi ssr, 1
    frep.o t3, 1, 0, 0
    vfsumex.s.ah f4, ft0
    csrci ssr, 1
    vfdotpex.s.ah f4, f4, f3        # streaming off: the registers
    fmv.d f5, f3
    vfsum.s f5, f4                  # f3's lane 0 + both lanes of f4 (lane 1: the ghost)
    csrr t4, fflags
    la t2, res
    fsd f3, 0(t2)
    fsd f4, 8(t2)
    sw t4, 16(t2)
    fsd f5, 24(t2)
    ecall
.data
acc: .dword ACC0, ACC1
res: .zero 32
.tcdm
xs: .dword {xs}
ys: .dword {ys}
"""


def _words(v: np.ndarray) -> list[int]:
    u = v.astype(ml_dtypes.bfloat16).view(np.uint16).astype(np.uint64).reshape(-1, 4)
    return [int(w[0] | w[1] << 16 | w[2] << 32 | w[3] << 48) for w in u]


@pytest.mark.parametrize("frm", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("timing", [False, True])
def test_streamed_dotpex_and_sumex(frm, timing):
    rng = np.random.default_rng(frm)
    n = 24
    x = rng.standard_normal(4 * n) * np.exp2(rng.integers(-30, 30, 4 * n))
    y = rng.standard_normal(4 * n)
    x[5] = 0.0  # a zero product
    xs, ys = _words(x), _words(y)
    acc = [int(np.array([1.5, -0.0], dtype=np.float32).view(np.uint64)[0]), 0]
    src = PROG.format(xs=", ".join(map(str, xs)), ys=", ".join(map(str, ys)))
    r = run_source(src, defines={"N": n, "FRM": frm, "ACC0": acc[0], "ACC1": acc[1]},
                   timing=timing)
    rm = ("rne", "rtz", "rdn", "rup", "rmm")[frm]
    f3, f4, fl = acc[0], acc[1], 0
    for a, b in zip(xs, ys, strict=True):
        f3, g = fpa.simd_dotpex(a, b, f3, "bf16", "fp32", rm)
        fl |= g
    for a in xs:
        f4, g = fpa.simd_sumex(a, f4, "bf16", "fp32", rm)
        fl |= g
    f4, g = fpa.simd_dotpex(f4, f3, f4, "bf16", "fp32", rm)
    fl |= g
    f5, g = fpa.simd_sum(f4, f3, "fp32", rm)
    fl |= g
    out = r.memory.read(r.symbols["res"], 32)
    assert int.from_bytes(out[24:32], "little") == f5
    assert int.from_bytes(out[:8], "little") == f3
    assert int.from_bytes(out[8:16], "little") == f4
    assert int.from_bytes(out[16:20], "little") == fl

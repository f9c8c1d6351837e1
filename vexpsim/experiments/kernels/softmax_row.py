"""The single-core, one-row softmax kernels (kernels/softmax_*_row.S): the row is stored in the
TCDM image (`x`), the result read from `y`. The 8-core DMA-fed kernels are registered by
softmax.py."""

from __future__ import annotations

import numpy as np

from ...numerics.formats import BF16, convert, from_bits, to_bits
from ...numerics.reference import softmax_reference
from ..kernelrun import Kernel, input_values, register

# Inputs: scores of spread 3 (softmax rows of real attention span a few units;
# vexpsim.llm.scores); same for both kernels so their errors compare.
SCALE = 3.0


def vexp_softmax_bound(x: np.ndarray, accumulators: int) -> float:
    """Worst-case relative error of a BF16 softmax output y_i = e_i / sum(e) with VEXP, for
    the row `x` (u = 2^-8, the BF16 unit roundoff: 8 significant bits, so a rounding moves a
    value by up to 2^-8 of it, e.g. BF16(-17.0625) = -17):
    - each e_i: the BF16 rounding of x - max is an absolute argument error up to
      |x - max| u, a factor exp(spread u); VEXP's own error is at most 0.706 % (`vexpsim
      exp-accuracy`, relative to exp of its BF16 input, output rounding included):
      E_e = exp(spread u) (1 + 0.00706) - 1;
    - the sum inherits E_e from its terms and a relative u per BF16 addition along the
      longest chain (N / (4 x accumulators) additions, then a log2 reduction):
      E_s = (1 + E_e) (1 + u)^chain - 1;
    - then 1/sum and y are rounded once each: bound = (1 + E_e) (1 + u)^2 / (1 - E_s) - 1.
    When E_s >= 1 the worst case is vacuous (a BF16 chain of more than ~1/u additions can
    stagnate: 256 + 1 rounds to 256), e.g. N = 2048 with 2 accumulators: the bound is then
    inf and only the bit-exact emulation tests check the kernel."""
    u = 2.0**-8
    chain = x.size // (4 * accumulators) + 3
    spread = float(x.max() - x.min())
    e_e = np.exp(spread * u) * (1 + 0.00706) - 1
    e_s = (1 + e_e) * (1 + u) ** chain - 1
    if e_s >= 1:
        return float("inf")
    return float((1 + e_e) * (1 + u) ** 2 / (1 - e_s) - 1)


def _n_check(p: dict) -> list[str]:
    n = p["N"]
    return [] if n >= 16 and n % 16 == 0 else [f"N = {n} must be a positive multiple of 16"]


def _fp32_inputs(p: dict, dist: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {"x": input_values((p["N"],), dist, rng, SCALE).astype(np.float32).astype(np.float64)}


def _bf16_inputs(p: dict, dist: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {"x": convert(input_values((p["N"],), dist, rng, SCALE), BF16).astype(np.float64)}


def _ref(inputs: dict, p: dict) -> np.ndarray:
    return softmax_reference(inputs["x"])


register(Kernel(
    name="softmax_baseline_row",
    config="paper_baseline",  # no EXP block (vexpsim/arch/configs/paper_baseline.toml)
    source="softmax_baseline_row.S",
    description="softmax of one FP32 row on one core: scalar, software expf, fdiv.s",
    params={"N": 256},
    check=_n_check,
    inputs=_fp32_inputs,
    place=lambda prog, inp, p: prog.store("x", inp["x"].astype("<f4").tobytes()),
    outputs=lambda res, p: np.frombuffer(
        res.memory.read(res.symbols["y"], 4 * p["N"]), dtype="<f4").astype(np.float64),
    reference=_ref,
    # FP32 throughout, expf within 0.5 ulp: a few float32 ulps per output
    tolerance=lambda p, inp: {"max_rel_error": 1e-5},
    tolerance_note="FP32 arithmetic and a libm-accurate expf: relative error of a few FP32 ulps",
    phases=("row",),
    harts=1,
))

register(Kernel(
    name="softmax_vexp_row",
    source="softmax_vexp_row.S",
    description="softmax of one BF16 row on one core: SSR/FREP passes with vfexp.h",
    params={"N": 256},
    check=_n_check,
    inputs=_bf16_inputs,
    place=lambda prog, inp, p: prog.store(
        "x", to_bits(convert(inp["x"], BF16)).astype("<u2").tobytes()),
    outputs=lambda res, p: from_bits(np.frombuffer(
        res.memory.read(res.symbols["y"], 2 * p["N"]), dtype="<u2").astype(np.uint16),
        BF16).astype(np.float64),
    reference=_ref,
    tolerance=lambda p, inp: {"max_rel_error": vexp_softmax_bound(inp["x"], accumulators=2)},
    tolerance_note="worst case (vexp_softmax_bound): BF16 rounding of x - max, VEXP 0.706 % "
                   "in every term and in the sum, one BF16 rounding per addition of the sum, "
                   "1/sum and y rounded",
    phases=("softmax",),
    harts=1,
))

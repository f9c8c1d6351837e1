"""The row-wise tile kernels of the end-to-end model (issue 9): LayerNorm, GELU (baseline with
the software expf, and with VEXP) and the residual add, each on one ROWS x COLS BF16 tile, the
tiling rule's (rows, cols) tile (vexpsim/experiments/workloads/tiling.py), on the 8 compute
cores with the DMA core moving the tile (kernels/lib/rowwise_spmd.S).

Tolerances are worst-case bounds derived from each kernel's arithmetic, element by element
(the `*_bound` functions say how); the check applies the largest element bound to
max_abs_error, and the tests check every element against its own bound."""

from __future__ import annotations

import math

import numpy as np

from ...numerics.formats import BF16, convert, from_bits, to_bits
from ..kernelrun import Kernel, input_values, register
from .common import CORES, EXPF_MAX_REL, TCDM_BYTES, VEXP_MAX_REL
from .common import U32 as V  # the bounds below write FP32's unit roundoff V
from .common import U_BF16 as U  # and BF16's U

TCDM_RESERVED = 1024  # per-hart scratch (9 x 64 B), constants, alignment padding
TINY = 2.0**-120  # absolute slack for results below the normal range (flushed or subnormal)
GELU_SCALE = 3.0  # GELU inputs: N(0, 3^2) / U(-3, 3), so both tails of the curve are exercised
LN_EPS = 1e-5  # GPT-2 layer_norm_epsilon (kernels/layernorm.S header)

# gelu(x) = x / (1 + exp(x (A + B x^2))), the tanh form rewritten (kernels/gelu.S header)
GELU_A = -2.0 * math.sqrt(2.0 / math.pi)
GELU_B = GELU_A * 0.044715


def _f32_bits(v: float) -> int:
    return int(np.array([v], dtype=np.float32).view(np.uint32)[0])


def _bf16_bits(v: float) -> int:
    return int(to_bits(convert(np.array([v]), BF16))[0])


def _b(v: np.ndarray) -> np.ndarray:
    return convert(np.asarray(v, dtype=np.float64), BF16).astype(np.float64)


def tile_bytes(p: dict, arrays: int, gb: bool) -> int:
    return arrays * p["rows"] * p["cols"] * 2 + (4 * p["cols"] if gb else 0)


def _check(multiple_elems: int, cols_multiple: int, arrays: int, gb: bool):
    def check(p: dict) -> list[str]:
        out = []
        r, c = p["rows"], p["cols"]
        if r < 1 or c < 1:
            return [f"rows = {r}, cols = {c} must be positive"]
        if c % cols_multiple:
            out.append(f"cols = {c} must be a multiple of {cols_multiple}")
        if (r * c) % multiple_elems:
            out.append(f"rows x cols = {r * c} must be a multiple of {multiple_elems} "
                       f"({CORES} cores x whole FREP iterations)")
        need = tile_bytes(p, arrays, gb) + TCDM_RESERVED
        if need > TCDM_BYTES:
            out.append(f"the tile ({tile_bytes(p, arrays, gb)} B with its inputs) does not fit "
                       f"in the {TCDM_BYTES // 1024} KiB TCDM")
        return out
    return check


def _defines(extra=lambda p: {}):
    return lambda p: {"ROWS": p["rows"], "COLS": p["cols"]} | extra(p)


def _read_y(res, p: dict) -> np.ndarray:
    n = p["rows"] * p["cols"]
    raw = np.frombuffer(res.memory.read(res.symbols["y"], 2 * n), dtype="<u2")
    return from_bits(raw.astype(np.uint16), BF16).astype(np.float64).reshape(p["rows"], p["cols"])


def _store(prog, name: str, a: np.ndarray) -> None:
    prog.store(name, to_bits(convert(a, BF16)).astype("<u2").tobytes())


def _phases(kind: str):
    return ("dma_wait", kind, "dma_wait")


# ---- residual --------------------------------------------------------------------------------

def residual_bound(x: np.ndarray, x2: np.ndarray) -> np.ndarray:
    """Per element: one BF16 rounding of the exact sum, |y^ - y| <= u |y|."""
    return U * np.abs(x + x2)


def _residual_inputs(p: dict, dist: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    shape = (p["rows"], p["cols"])
    return {"x": _b(input_values(shape, dist, rng)), "x2": _b(input_values(shape, dist, rng))}


register(Kernel(
    name="residual",
    source="residual.S",
    description="residual add y = x + x2 of a rows x cols BF16 tile on 8 cores with DMA: "
                "SSR/FREP vfadd.h",
    params={"rows": 8, "cols": 64},
    check=_check(CORES * 4, 1, 2, False),
    defines=_defines(),
    inputs=_residual_inputs,
    place=lambda prog, inp, p: (_store(prog, "x", inp["x"]), _store(prog, "x2", inp["x2"])),
    outputs=_read_y,
    reference=lambda inp, p: inp["x"] + inp["x2"],
    tolerance=lambda p, inp: {"max_rel_error": U},
    tolerance_note="one BF16 rounding of the exact sum: relative error <= u = 2^-8",
    phases=_phases("residual"),
    flops=lambda p: float(p["rows"] * p["cols"]),
))


# ---- GELU ------------------------------------------------------------------------------------

def gelu_reference(x: np.ndarray) -> np.ndarray:
    """The tanh-form GELU (GPT-2's gelu_new) in float64, evaluated as x / (1 + exp(-2z)):
    the literal 0.5 x (1 + tanh(z)) cancels to 0 for z < -19 where the value is ~1e-17."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore"):
        return x / (1.0 + np.exp(x * (GELU_A + GELU_B * x * x)))


def gelu_bound(x: np.ndarray, w_rel: float, e_rel: float, out_rel: float) -> np.ndarray:
    """Per-element bound of |y^ - y| for y = x / (1 + exp(w)), w = x (A + B x^2):
    - w is computed with relative error <= w_rel (its roundings and the constants': the
      terms of A + B x^2 have the same sign, so no cancellation), an absolute argument error
      w_rel |w|, so e^ = exp(w) (1 + e_rel) exp(+-w_rel |w|) (e_rel: the exponential's own
      relative error);
    - (1 + e^) then errs relatively by at most d = delta_e e / (1 + e) (only the e part
      errs), delta_e = (1 + e_rel) exp(w_rel |w|) - 1;
    - then out_rel for the roundings of 1 + e, of the division and of the output:
      |y^ - y| <= |y| ((1 + out_rel) / (1 - d) - 1) when d < 1/2;
    - else (w > ~1/w_rel, x << 0) |y| and |y^| are both tiny: |y^ - y| <= |y| + |x| (1 +
      out_rel) / (1 + e_min), e_min = exp(w) (1 - e_rel) exp(-w_rel |w|);
    plus TINY for results below the normal range (subnormal or flushed exponentials)."""
    x = np.asarray(x, dtype=np.float64)
    w = x * (GELU_A + GELU_B * x * x)
    y = np.abs(gelu_reference(x))
    aw = np.abs(w)
    with np.errstate(over="ignore"):
        de = (1 + e_rel) * np.exp(w_rel * aw) - 1
        frac = 1.0 / (1.0 + np.exp(-w))  # e / (1 + e)
        d = de * frac + 2.0**-100
        e_min = np.exp(w * (1 - w_rel * np.sign(w))) * (1 - e_rel)
        near = y * ((1 + out_rel) / (1 - np.minimum(d, 0.5)) - 1)
        far = y + np.abs(x) * (1 + out_rel) / (1 + e_min)
    return np.where(d < 0.5, near, far) + TINY


def gelu_vexp_bound(x: np.ndarray) -> np.ndarray:
    """gelu_vexp.S: w by five BF16 roundings (x^2, *B, +A, *x, and the constants A, B),
    VEXP within 0.706 %, then three BF16 roundings (1 + e, the division, which is the output)
    -- two: the division's rounding is the output's."""
    return gelu_bound(x, (1 + U) ** 5 - 1, VEXP_MAX_REL, (1 + U) ** 2 - 1)


def gelu_baseline_bound(x: np.ndarray) -> np.ndarray:
    """gelu.S: w by FP32 roundings (x^2, the fused A + B x^2, *x and the constants: at most
    five), expf within 0.502 ulp (2 v), 1 + e and the division in FP32 (2 v), then the BF16
    output rounding (u)."""
    return gelu_bound(x, (1 + V) ** 5 - 1, EXPF_MAX_REL, (1 + V) ** 2 * (1 + U) - 1)


def _gelu_inputs(p: dict, dist: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {"x": _b(input_values((p["rows"], p["cols"]), dist, rng, GELU_SCALE))}


def _gelu_tol(bound):
    return lambda p, inp: {"max_abs_error": float(bound(inp["x"]).max())}


_GELU_FLOPS = lambda p: 8.0 * p["rows"] * p["cols"]  # noqa: E731 (transformer.py convention)

register(Kernel(
    name="gelu",
    config="paper_baseline",  # no EXP block (vexpsim/arch/configs/paper_baseline.toml)
    source="gelu.S",
    description="GELU (tanh form) of a rows x cols BF16 tile on 8 cores with DMA: scalar "
                "FP32, software expf, fdiv.s",
    params={"rows": 8, "cols": 64},
    check=_check(CORES, 1, 1, False),
    defines=_defines(lambda p: {"K_A32": _f32_bits(GELU_A), "K_B32": _f32_bits(GELU_B)}),
    inputs=_gelu_inputs,
    place=lambda prog, inp, p: _store(prog, "x", inp["x"]),
    outputs=_read_y,
    reference=lambda inp, p: gelu_reference(inp["x"]),
    tolerance=_gelu_tol(gelu_baseline_bound),
    tolerance_note="largest per-element worst case: FP32 argument roundings amplified by "
                   "exp, expf 0.502 ulp, FP32 add and division, BF16 output rounding",
    phases=_phases("gelu"),
    flops=_GELU_FLOPS,
))

register(Kernel(
    name="gelu_vexp",
    source="gelu_vexp.S",
    description="GELU (tanh form) of a rows x cols BF16 tile on 8 cores with DMA: SSR/FREP "
                "BF16 SIMD, vfexp.h, vfdiv.h",
    params={"rows": 8, "cols": 64},
    check=_check(CORES * 16, 1, 1, False),
    defines=_defines(lambda p: {"K_A": _bf16_bits(GELU_A), "K_B": _bf16_bits(GELU_B)}),
    inputs=_gelu_inputs,
    place=lambda prog, inp, p: _store(prog, "x", inp["x"]),
    outputs=_read_y,
    reference=lambda inp, p: gelu_reference(inp["x"]),
    tolerance=_gelu_tol(gelu_vexp_bound),
    tolerance_note="largest per-element worst case: BF16 argument roundings amplified by "
                   "exp, VEXP 0.706 %, BF16 add and division",
    phases=_phases("gelu"),
    flops=_GELU_FLOPS,
))


# ---- LayerNorm -------------------------------------------------------------------------------

def layernorm_reference(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                        eps: float = LN_EPS) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    mu = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * gamma + beta


def layernorm_bound(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                    eps: float = LN_EPS) -> np.ndarray:
    """Per-element bound of |y^ - y| for layernorm.S (u = 2^-8, v = 2^-24, n = cols,
    g = n v / (1 - n v), the classical bound of any order of n - 1 FP32 additions):
    - FP32 sum S and sum of squares Q (exact BF16 products): |S^ - S| <= g sum|x|,
      |Q^ - Q| <= g Q; times 1/n (rounded, v) and rounded (v):
      dmu32 = (g mean|x| + |mu|) (1 + v)^2 - |mu|,  dq = Q/n ((1 + g)(1 + v)^2 - 1);
    - var = E[x^2] - mu^2 in one rounding: dvar = dq + dmu32 (2|mu| + dmu32) + v var^;
    - rstd = 1/sqrt(var + eps): + eps, sqrt, division (v each), relative
      rho = (1 + v)^3 / sqrt(1 - dvar / (var + eps)) - 1, then BF16 (u): rho_h;
    - mean in BF16: dmu = dmu32 + u (|mu| + dmu32); x - mean rounded:
      da = dmu + u (|x - mu| + dmu);
    - times rstd, times gamma (u each):
      dq' = |gamma| r (da (1 + rho_h)(1 + u)^2 + |x - mu| ((1 + rho_h)(1 + u)^2 - 1));
    - plus beta rounded once: |y^ - y| <= dq' + u (|y| + dq')."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[-1]
    g = n * V / (1 - n * V)
    mu = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    q = (x * x).mean(axis=-1, keepdims=True)
    absmean = np.abs(x).mean(axis=-1, keepdims=True)
    dmu32 = (g * absmean + np.abs(mu)) * (1 + V) ** 2 - np.abs(mu)
    dq = q * ((1 + g) * (1 + V) ** 2 - 1)
    dvar = dq + dmu32 * (2 * np.abs(mu) + dmu32) + V * (var + dq + dmu32 * (2 * np.abs(mu) + dmu32))
    ratio = dvar / (var + eps)
    rho = np.where(ratio < 0.5, (1 + V) ** 3 / np.sqrt(1 - np.minimum(ratio, 0.5)) - 1, np.inf)
    rho_h = (1 + rho) * (1 + U) - 1
    r = 1.0 / np.sqrt(var + eps)
    dmu = dmu32 + U * (np.abs(mu) + dmu32)
    dx = np.abs(x - mu)
    da = dmu + U * (dx + dmu)
    f = (1 + rho_h) * (1 + U) ** 2
    dqq = np.abs(gamma) * r * (da * f + dx * (f - 1))
    y = np.abs(layernorm_reference(x, gamma, beta, eps))
    return dqq + U * (y + dqq)


def _ln_inputs(p: dict, dist: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    shape = (p["rows"], p["cols"])
    x = _b(input_values(shape, dist, rng) + 0.5)  # activations with a non-zero mean
    gamma = _b(rng.uniform(0.5, 1.5, size=p["cols"]))
    beta = _b(rng.normal(0.0, 0.2, size=p["cols"]))
    return {"x": x, "gamma": gamma, "beta": beta}


def _ln_place(prog, inp: dict, p: dict) -> None:
    _store(prog, "x", inp["x"])
    _store(prog, "gb", np.concatenate([inp["gamma"], inp["beta"]]))


register(Kernel(
    name="layernorm",
    source="layernorm.S",
    description="LayerNorm of a rows x cols BF16 tile (gamma, beta) on 8 cores with DMA: "
                "FP32 statistics (vfsumex/vfdotpex), BF16 SIMD normalisation, SSR/FREP",
    params={"rows": 8, "cols": 64},
    check=_check(1, 16, 1, True),
    defines=_defines(lambda p: {"K_INVN": _f32_bits(1.0 / p["cols"]),
                                "K_EPS": _f32_bits(LN_EPS)}),
    inputs=_ln_inputs,
    place=_ln_place,
    outputs=_read_y,
    reference=lambda inp, p: layernorm_reference(inp["x"], inp["gamma"], inp["beta"]),
    tolerance=lambda p, inp: {"max_abs_error": float(
        layernorm_bound(inp["x"], inp["gamma"], inp["beta"]).max())},
    tolerance_note="largest per-element worst case: FP32 statistics (sum, sum of squares, "
                   "one-pass variance with its cancellation), mean and rstd rounded to BF16, "
                   "four BF16 roundings of the normalisation",
    phases=_phases("layernorm"),
    flops=lambda p: 8.0 * p["rows"] * p["cols"],
))

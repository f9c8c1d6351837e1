"""Exhaustive accuracy of the exponential models against float64 exp.

Every input encoding of the model's format is evaluated (65,536 for BF16; for the float32
`expf`, a deterministic stride through all 2^32 encodings plus the softmax-relevant range).
Two domains are reported, always named so a figure can be read without guessing:
- `softmax`: x <= 0 with a normal (not subnormal, non-zero) exact result;
- `whole`: every finite x whose exact result is a normal number of the output format;
- `uniform`: x drawn uniformly from [-87, 0] (2^20 seeded samples rounded to the format), the
  distribution behind the "mean 0.2%, max 0.7%" figures of vexp_paper.md. Averages over
  encodings are dominated by tiny |x| where exp(x) is about 1, so they read much smaller.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .exp import EXP_VARIANTS
from .formats import FloatFormat, convert, from_bits, get_format

__all__ = ["DomainStats", "ExpAccuracy", "exp_accuracy", "ulp_error"]


@dataclass(frozen=True)
class DomainStats:
    count: int
    max_rel_error: float
    mean_rel_error: float
    max_ulp_error: float
    mean_ulp_error: float
    argmax_x: float

    def as_dict(self) -> dict:
        return {
            "count": self.count,
            "max_rel_error": self.max_rel_error,
            "mean_rel_error": self.mean_rel_error,
            "max_ulp_error": self.max_ulp_error,
            "mean_ulp_error": self.mean_ulp_error,
            "argmax_x": self.argmax_x,
        }


@dataclass(frozen=True)
class ExpAccuracy:
    variant: str
    fmt: str
    inputs: int
    softmax: DomainStats
    whole: DomainStats
    uniform: DomainStats
    x: np.ndarray  # evaluated inputs (float64), for plots
    rel_error: np.ndarray  # signed relative error per input (NaN outside `whole`)

    def as_dict(self) -> dict:
        return {
            "variant": self.variant,
            "format": self.fmt,
            "inputs_evaluated": self.inputs,
            "reference": "numpy float64 exp of the exactly widened input",
            "domains": {
                "softmax": {"definition": "x <= 0 and exp(x) a normal number",
                            **self.softmax.as_dict()},
                "whole": {"definition": "finite x with exp(x) a normal number",
                          **self.whole.as_dict()},
                "uniform": {"definition": "x uniform in [-87, 0], 2^20 samples (seed 0) "
                            "rounded to the format", **self.uniform.as_dict()},
            },
        }


def ulp_error(approx: np.ndarray, exact: np.ndarray, fmt: FloatFormat) -> np.ndarray:
    """|approx - exact| in units of the last place of `fmt` at `exact` (normal range)."""
    _, e = np.frexp(np.abs(exact))
    ulp = np.ldexp(1.0, np.maximum(e - 1, 1 - fmt.bias) - fmt.man_bits)
    return np.abs(approx - exact) / ulp


def _all_inputs(fmt: FloatFormat) -> np.ndarray:
    if fmt.width <= 16:
        return from_bits(np.arange(1 << fmt.width, dtype=np.uint32).astype(fmt.uint), fmt)
    # float32: every 4099th encoding of the 2^32 (odd stride, so every exponent and many
    # mantissas are hit) plus every encoding with exponent in the softmax-relevant range.
    sparse = np.arange(0, 1 << 32, 4099, dtype=np.uint64)
    dense = np.arange(0xC0000000, 0xC2B00000, 61, dtype=np.uint64)  # x in [-88, -2]
    bits = np.unique(np.concatenate([sparse, dense])).astype(np.uint32)
    return from_bits(bits, fmt)


def _stats(mask: np.ndarray, x: np.ndarray, rel: np.ndarray, ulps: np.ndarray) -> DomainStats:
    r = np.abs(rel[mask])
    u = ulps[mask]
    i = int(np.argmax(r))
    return DomainStats(int(mask.sum()), float(r.max()), float(r.mean()), float(u.max()),
                       float(u.mean()), float(x[mask][i]))


UNIFORM_SAMPLES = 1 << 20
UNIFORM_SEED = 0


def _evaluate(func, fmt: FloatFormat, xin: np.ndarray):
    with np.errstate(all="ignore"):
        x = xin.astype(np.float64)
        y = func(xin).astype(np.float64)
        exact = np.exp(x)
        tiny = np.ldexp(1.0, 1 - fmt.bias)
        huge = np.ldexp(2.0 - 2.0**-fmt.man_bits, fmt.bias)
        normal = np.isfinite(x) & (exact >= tiny) & (exact <= huge)
        rel = np.where(normal, (y - exact) / exact, np.nan)
        ulps = np.where(normal, ulp_error(y, exact, fmt), np.nan)
    return x, normal, rel, ulps


def exp_accuracy(variant: str = "vexp") -> ExpAccuracy:
    """Evaluate one exponential model over its whole input space."""
    if variant not in EXP_VARIANTS:
        raise ValueError(f"unknown exp variant {variant!r}; known: {', '.join(EXP_VARIANTS)}")
    func, fmt = EXP_VARIANTS[variant]
    fmt = get_format(fmt)
    x, normal, rel, ulps = _evaluate(func, fmt, _all_inputs(fmt))
    softmax = normal & (x <= 0)
    rng = np.random.default_rng(UNIFORM_SEED)
    ux = convert(rng.uniform(-87.0, 0.0, UNIFORM_SAMPLES), fmt)
    uxd, unormal, urel, uulps = _evaluate(func, fmt, ux)
    return ExpAccuracy(variant, fmt.name, int(x.size), _stats(softmax, x, rel, ulps),
                       _stats(normal, x, rel, ulps), _stats(unormal, uxd, urel, uulps), x, rel)

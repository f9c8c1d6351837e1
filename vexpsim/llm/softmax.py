"""Attention softmax variants for the accuracy study.

Every variant takes the same float32 scores S = QKᵀ/√d (causal) and returns probabilities
P that multiply V in float32; only the softmax differs:
- `reference`: float64 softmax (`numerics.reference.softmax_reference`);
- `bf16_exact`: BF16 storage, exp computed exactly and rounded once to BF16;
- `vexp`: BF16 storage, exp by the VEXP block (`vexp_bf16`, bit-exact);
- `schraudolph`: BF16 storage, classic Schraudolph exp without the mantissa correction;
- `fa2_vexp` (slow, optional): the whole attention by the FlashAttention-2 reference in BF16
  with VEXP (`numerics.reference.flash_attention_2`), the algorithm the kernels run.

The BF16 variants compute exactly what `numerics.reference.softmax_emulated` computes (the
tests check bit equality) but fast enough for a 30-layer model: the exp is a 65,536-entry
table of the exp model over every BF16 encoding, and rounding to BF16 goes through float32
only where that is exact (one rounding), falling back to `formats.convert` elsewhere.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace

import ml_dtypes
import numpy as np

from ..numerics.exp import VEXP_HW, vexp_bf16, vexp_bf16_bits
from ..numerics.formats import BF16, convert, from_bits
from ..numerics.reference import exact_exp, flash_attention_2

BF16_DTYPE = ml_dtypes.bfloat16


def round_bf16(x: np.ndarray) -> np.ndarray:
    """Round to BF16 (RNE, a single rounding) from float32 or float64; bfloat16 array.

    ml_dtypes' float32->bfloat16 cast is one RNE rounding; from float64 it first rounds to
    float32, which is harmless only where that step is exact, so other elements take the
    exact (slow) `convert`.
    """
    x = np.asarray(x)
    if x.dtype == np.float32:
        return x.astype(BF16_DTYPE)
    x = x.astype(np.float64, copy=False)
    x32 = x.astype(np.float32)
    out = x32.astype(BF16_DTYPE)
    with np.errstate(invalid="ignore"):
        inexact = (x32.astype(np.float64) != x) & ~np.isnan(x)
    if inexact.any():
        out[inexact] = convert(x[inexact], BF16)
    return out


@functools.cache
def exp_table(name: str) -> np.ndarray:
    """exp model `name` on every BF16 encoding: table[bits(x)] = exp(x) as float32."""
    bits = np.arange(1 << 16, dtype=np.uint16)
    if name == "vexp":
        out = vexp_bf16_bits(bits)
    elif name == "schraudolph":
        out = vexp_bf16_bits(bits, replace(VEXP_HW, correction=False))
    elif name == "bf16_exact":
        with np.errstate(invalid="ignore", over="ignore"):
            return exact_exp(BF16)(from_bits(bits, BF16)).astype(np.float32)
    else:
        raise ValueError(f"no exp table {name!r}")
    return from_bits(out, BF16).astype(np.float32)


def causal_mask(t: int, t_keys: int | None = None) -> np.ndarray:
    """[t, t_keys] mask of the keys each of the last t queries may see (keys start at 0)."""
    tk = t if t_keys is None else t_keys
    return np.tri(t, tk, k=tk - t, dtype=bool)


def softmax_fp64(s: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """float64 softmax over the last axis of the unmasked entries (masked -> 0)."""
    x = np.where(mask, s.astype(np.float64), -np.inf)
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def softmax_bf16(s: np.ndarray, mask: np.ndarray, table: np.ndarray) -> np.ndarray:
    """`softmax_emulated(s, exp, storage="bf16", accum="fp32", normalize="recip")` per row.

    Steps as the VEXP kernel stores them: S -> BF16; m = row max; d = S - m rounded to BF16;
    e = exp(d) (table lookup); sum in float64 then rounded to float32, as softmax_emulated;
    r = 1/sum rounded to BF16;
    P = e·r rounded to BF16. Masked entries are 0. Returns P as float32 (exact BF16 values).
    """
    xs = round_bf16(s.astype(np.float32, copy=False)).astype(np.float64)
    xs = np.where(mask, xs, -np.inf)
    m = np.max(xs, axis=-1, keepdims=True)
    d = round_bf16(np.where(mask, xs - m, 0.0))
    e = np.where(mask, table[d.view(np.uint16)], np.float32(0)).astype(np.float64)
    total = np.sum(e, axis=-1, keepdims=True).astype(np.float32).astype(np.float64)
    r = round_bf16(1.0 / total).astype(np.float64)
    return round_bf16(e * r).astype(np.float32)


SoftmaxFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _bf16_softmax(name: str) -> SoftmaxFn:
    def fn(s: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return softmax_bf16(s, mask, exp_table(name))

    fn.__name__ = f"softmax_{name}"
    return fn


SOFTMAX_VARIANTS: dict[str, SoftmaxFn] = {
    "reference": softmax_fp64,
    "bf16_exact": _bf16_softmax("bf16_exact"),
    "vexp": _bf16_softmax("vexp"),
    "schraudolph": _bf16_softmax("schraudolph"),
}
DEFAULT_VARIANTS = ("reference", "bf16_exact", "vexp", "schraudolph")
ALL_VARIANTS = (*DEFAULT_VARIANTS, "fa2_vexp")


class SoftmaxAttention:
    """Causal attention softmax(QKᵀ/√d)·V with a pluggable softmax; can record scores."""

    def __init__(self, softmax: SoftmaxFn, record: Callable | None = None) -> None:
        self.softmax = softmax
        self.record = record

    def __call__(self, q: np.ndarray, k: np.ndarray, v: np.ndarray, *, layer: int = 0
                 ) -> np.ndarray:
        t, d = q.shape[1], q.shape[2]
        s = np.matmul(q, k.transpose(0, 2, 1)) * np.float32(1.0 / np.sqrt(d))
        mask = causal_mask(t, k.shape[1])
        if self.record is not None:
            self.record(layer, q, k, v, s)
        p = self.softmax(s, mask).astype(np.float32)
        return np.matmul(p, v)


class FlashAttentionVexp:
    """Attention by the FlashAttention-2 reference in BF16 with the VEXP exp, per head."""

    def __init__(self, br: int = 64, bc: int = 64) -> None:
        self.br, self.bc = br, bc

    def __call__(self, q: np.ndarray, k: np.ndarray, v: np.ndarray, *, layer: int = 0
                 ) -> np.ndarray:
        if q.shape[1] != k.shape[1]:
            raise ValueError("the FlashAttention-2 variant runs whole sequences (no KV cache)")
        return np.stack([
            flash_attention_2(q[h], k[h], v[h], br=self.br, bc=self.bc, exp_fn=vexp_bf16,
                              storage=BF16, causal=True)
            for h in range(q.shape[0])
        ]).astype(np.float32)


def make_attention(name: str) -> Callable[..., np.ndarray]:
    """The attention callable of variant `name` (one of ALL_VARIANTS)."""
    if name == "fa2_vexp":
        return FlashAttentionVexp()
    if name not in SOFTMAX_VARIANTS:
        raise ValueError(f"unknown variant {name!r}; choose from {', '.join(ALL_VARIANTS)}")
    return SoftmaxAttention(SOFTMAX_VARIANTS[name])

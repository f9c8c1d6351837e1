"""NumPy golden models for the kernels: softmax and FlashAttention-2, plus error metrics.

Two kinds of reference:
- *exact*: float64 throughout (`softmax_reference`, `attention_reference`), the yardstick for
  numerical error;
- *emulated*: the same algorithm with values stored in a narrow format (BF16, FP32) and any
  exponential plugged in (`softmax_emulated`, `flash_attention_2`), to predict what a kernel
  computes and to separate the error of the format from the error of the exp approximation.

Exp functions for the emulated references are callables that take and return arrays of the
storage format: `vexp_bf16`, `schraudolph_bf16`, `expf_libm` (float32), or `exact_exp(fmt)`
which is float64 exp rounded once to the format.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .formats import FloatFormat, convert, get_format

__all__ = [
    "ExpFn",
    "exact_exp",
    "round_to",
    "softmax_reference",
    "softmax_emulated",
    "attention_reference",
    "flash_attention_2",
    "error_metrics",
]

ExpFn = Callable[[np.ndarray], np.ndarray]


def round_to(x: np.ndarray, fmt: str | FloatFormat) -> np.ndarray:
    """Round to `fmt` (RNE, once) and return as float64 for further exact arithmetic."""
    f = get_format(fmt)
    if f.name == "fp64":
        return np.asarray(x, dtype=np.float64)
    return convert(np.asarray(x, dtype=np.float64), f).astype(np.float64)


def exact_exp(fmt: str | FloatFormat) -> ExpFn:
    """exp computed in float64 and rounded once to `fmt`: a correctly rounded exp."""
    f = get_format(fmt)

    def _exp(x: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return convert(np.exp(np.asarray(x).astype(np.float64)), f)

    _exp.__name__ = f"exact_exp_{f.name}"
    return _exp


def softmax_reference(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Three-pass softmax in float64: max, exp(x - max) with the sum, normalise."""
    xd = np.asarray(x).astype(np.float64)
    m = np.max(xd, axis=axis, keepdims=True)
    e = np.exp(xd - m)
    return e / np.sum(e, axis=axis, keepdims=True)


def softmax_emulated(
    x: np.ndarray,
    exp_fn: ExpFn | None = None,
    *,
    storage: str | FloatFormat = "bf16",
    accum: str | FloatFormat = "fp32",
    normalize: str = "recip",
    axis: int = -1,
) -> np.ndarray:
    """Three-pass softmax with values held in `storage` and any exp plugged in.

    Steps, each rounded as a kernel storing to `storage` would round it:
    1. inputs rounded to `storage`; row max (exact, a comparison);
    2. d = x - max rounded to `storage`; e = exp_fn(d) (returns `storage` values);
    3. sum of e computed exactly and rounded once to `accum` (a kernel's own summation order
       differs from this by less than the accumulation format's rounding);
    4. normalise: `recip` multiplies by 1/sum rounded to `storage` (as the VEXP kernel does:
       one fdiv per row, then vfmul), `div` divides each element (rounded once).
    Returns the result in `storage` as an array of that format's dtype.
    """
    f = get_format(storage)
    exp_fn = exp_fn or exact_exp(f)
    if normalize not in ("recip", "div"):
        raise ValueError(f"normalize must be 'recip' or 'div', got {normalize!r}")
    xs = round_to(x, f)
    m = np.max(xs, axis=axis, keepdims=True)
    d = convert(xs - m, f)
    e = np.asarray(exp_fn(d)).astype(np.float64)
    s = round_to(np.sum(e, axis=axis, keepdims=True), accum)
    if normalize == "recip":
        out = e * round_to(1.0 / s, f)
    else:
        out = e / s
    return convert(out, f)


def attention_reference(
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    *,
    scale: float | None = None,
    causal: bool = False,
) -> np.ndarray:
    """Naive attention softmax(scale·QKᵀ)·V in float64 (Q: L×d, K and V: S×d)."""
    qd, kd, vd = (np.asarray(a).astype(np.float64) for a in (q, k, v))
    scale = 1.0 / np.sqrt(qd.shape[-1]) if scale is None else scale
    s = (qd @ kd.T) * scale
    if causal:
        s = np.where(_causal_mask(s.shape[0], s.shape[1]), s, -np.inf)
    return softmax_reference(s) @ vd


def _causal_mask(rows: int, cols: int, row0: int = 0, col0: int = 0) -> np.ndarray:
    r = np.arange(row0, row0 + rows)[:, None]
    c = np.arange(col0, col0 + cols)[None, :]
    return c <= r  # a query attends to keys at or before its own position


def flash_attention_2(
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    *,
    br: int,
    bc: int,
    exp_fn: ExpFn | None = None,
    storage: str | FloatFormat = "fp64",
    stats: str | FloatFormat | None = None,
    scale: float | None = None,
    causal: bool = False,
) -> np.ndarray:
    """FlashAttention-2 forward pass for one head, tiled Br×Bc with the online softmax.

    For each block of Br query rows: m = -inf, l = 0, O = 0; for each block of Bc keys:
      S = scale·Q_i K_jᵀ;  m' = max(m, rowmax S);  P = exp(S - m');
      c = exp(m - m');  l = c·l + rowsum P;  O = c·O + P V_j;  m = m'
    then O /= l. S, P and O are rounded to `storage` where a kernel stores them; the row
    statistics m and l are kept in `stats` (float32 as the public Snitch kernel's `float`
    statistics, snitch_cluster.md §5.3; float64 when storage is fp64). The rescale factor c
    uses `exp_fn` too, as a kernel with only one exp would. With storage fp64 and the exact exp
    the result equals `attention_reference` to float64 rounding.
    """
    f = get_format(storage)
    st = get_format(stats) if stats is not None else (f if f.name == "fp64" else get_format("fp32"))
    exp_fn = exp_fn or exact_exp(f)
    qd = round_to(q, f)
    kd = round_to(k, f)
    vd = round_to(v, f)
    length, d = qd.shape
    s_len = kd.shape[0]
    if br <= 0 or bc <= 0:
        raise ValueError(f"block sizes must be positive, got br={br}, bc={bc}")
    scale = 1.0 / np.sqrt(d) if scale is None else scale
    out = np.empty((length, vd.shape[1]), dtype=np.float64)

    def exp_st(x: np.ndarray) -> np.ndarray:
        # exp in the storage format; -inf (masked or first block) maps to exactly 0
        with np.errstate(invalid="ignore"):
            finite = np.isfinite(x)
            y = np.asarray(exp_fn(convert(np.where(finite, x, 0.0), f))).astype(np.float64)
        return np.where(finite, y, 0.0)

    for i0 in range(0, length, br):
        qi = qd[i0:i0 + br]
        rows = qi.shape[0]
        m = np.full((rows, 1), -np.inf)
        lsum = np.zeros((rows, 1))
        acc = np.zeros((rows, vd.shape[1]))
        for j0 in range(0, s_len, bc):
            if causal and j0 > i0 + rows - 1:
                break
            kj = kd[j0:j0 + bc]
            vj = vd[j0:j0 + bc]
            s = round_to((qi @ kj.T) * scale, f)
            if causal:
                s = np.where(_causal_mask(rows, kj.shape[0], i0, j0), s, -np.inf)
            m_new = round_to(np.maximum(m, np.max(s, axis=1, keepdims=True)), st)
            p = exp_st(s - m_new)
            c = exp_st(np.where(np.isfinite(m), m - m_new, -np.inf))
            lsum = round_to(c * lsum + np.sum(p, axis=1, keepdims=True), st)
            acc = round_to(c * acc + p @ vj, f)
            m = m_new
        out[i0:i0 + rows] = round_to(acc / lsum, f)
    return out


def error_metrics(out: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    """Max/mean absolute and relative error and RMSE of `out` against `ref` (float64).

    Relative error is taken where |ref| > 0; NaN or inf in `out` where `ref` is finite makes
    every metric inf, so a broken kernel can never look accurate.
    """
    o = np.asarray(out).astype(np.float64).ravel()
    r = np.asarray(ref).astype(np.float64).ravel()
    if o.shape != r.shape:
        raise ValueError(f"shape mismatch: output {np.shape(out)} vs reference {np.shape(ref)}")
    if not np.all(np.isfinite(o[np.isfinite(r)])):
        inf = float("inf")
        return {k: inf for k in ("max_abs_error", "mean_abs_error", "max_rel_error",
                                 "mean_rel_error", "rmse")}
    err = np.abs(o - r)
    nz = np.abs(r) > 0
    rel = err[nz] / np.abs(r[nz])
    return {
        "max_abs_error": float(err.max(initial=0.0)),
        "mean_abs_error": float(err.mean()) if err.size else 0.0,
        "max_rel_error": float(rel.max(initial=0.0)),
        "mean_rel_error": float(rel.mean()) if rel.size else 0.0,
        "rmse": float(np.sqrt(np.mean(err**2))) if err.size else 0.0,
    }

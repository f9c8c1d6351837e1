"""Perplexity and next-token agreement of the softmax variants over sliding windows of a text.

Windows follow the usual strided evaluation: a window of `window` input tokens starts every
`stride` tokens; each window scores only the targets the previous one did not, so every
target is predicted once, with between `window - stride` and `window` tokens of context
(the first window scores all its targets). All variants see identical windows; for each
target we keep the log-probability of the true next token and the argmax, and per window
the reference's log-probabilities, to report the mean KL(reference || variant).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import UserError
from .model import Llama
from .softmax import ALL_VARIANTS, make_attention

# A real English text that every Debian-based machine has (package base-files).
DEFAULT_TEXT = Path("/usr/share/common-licenses/GPL-3")
REFERENCE = "reference"


def read_text(path: str | Path | None) -> tuple[Path, str]:
    p = Path(path) if path is not None else DEFAULT_TEXT
    try:
        return p, p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        hint = "" if path is not None else " (pass another English text with --text FILE)"
        raise UserError(f"--text: file not found: {p}{hint}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"--text: cannot read {p} as UTF-8 text: {exc}") from exc


def windows(n_targets: int, window: int, stride: int) -> list[tuple[int, int, int]]:
    """(begin, end, first_scored) per window over tokens 0..n_targets (inputs [begin, end)).

    Input position i predicts token i+1; a window scores the predictions of inputs
    first_scored..end-1. Every input 0..n_targets-1 is scored exactly once.
    """
    if window < 1 or not 1 <= stride <= window:
        raise ValueError(f"need window >= 1 and 1 <= stride <= window, got {window}, {stride}")
    out: list[tuple[int, int, int]] = []
    done = 0
    begin = 0
    while done < n_targets:
        end = min(begin + window, n_targets)
        out.append((begin, end, done))
        done = end
        begin += stride
    return out


def log_softmax(logits: np.ndarray) -> np.ndarray:
    x = logits.astype(np.float64)
    x -= x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


@dataclass
class VariantStats:
    name: str
    nll: list[np.ndarray] = field(default_factory=list)
    top1: list[np.ndarray] = field(default_factory=list)
    kl: list[np.ndarray] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self, targets: np.ndarray, ref_top1: np.ndarray) -> dict:
        nll = np.concatenate(self.nll)
        top1 = np.concatenate(self.top1)
        out = {
            "ppl": float(np.exp(nll.mean())),
            "mean_nll": float(nll.mean()),
            "top1_accuracy": float(np.mean(top1 == targets)),
            "top1_agreement": float(np.mean(top1 == ref_top1)),
            "seconds": round(self.seconds, 2),
        }
        if self.kl:
            out["mean_kl_vs_reference"] = float(np.concatenate(self.kl).mean())
        return out


def _score(st: VariantStats, logits: np.ndarray, targets: np.ndarray,
           ref_logits: np.ndarray | None, chunk: int = 32) -> None:
    """Append NLL, argmax and (against ref_logits) KL per row, in row chunks: float64
    log-probabilities of 32 rows stay small enough for the allocator to reuse memory."""
    for r0 in range(0, len(targets), chunk):
        lp = log_softmax(logits[r0:r0 + chunk])
        rows = np.arange(lp.shape[0])
        st.nll.append(-lp[rows, targets[r0:r0 + chunk]])
        st.top1.append(np.argmax(lp, axis=-1))
        if ref_logits is not None:
            ref = log_softmax(ref_logits[r0:r0 + chunk])
            st.kl.append(np.sum(np.exp(ref) * (ref - lp), axis=-1))


def evaluate(lm: Llama, ids: Sequence[int], variants: Sequence[str], *, window: int = 512,
             stride: int = 256, progress: Callable[[str], None] | None = None) -> dict:
    """Score the predictions of ids[1:] given their prefixes, for each variant.

    Returns {"tokens", "window", "stride", "windows", "variants": {name: summary}} where a
    summary has ppl, mean_nll, top1_accuracy (vs the text), top1_agreement (vs the reference
    variant's argmax), mean_kl_vs_reference (nats) and seconds.
    """
    names = list(dict.fromkeys([REFERENCE, *variants]))  # reference first, no repeats
    for v in names:
        if v not in ALL_VARIANTS:
            raise UserError(f"--variant: unknown variant {v!r}; choose from "
                            f"{', '.join(ALL_VARIANTS)}")
    toks = np.asarray(ids, dtype=np.int64)
    n = len(toks) - 1
    if n < 1:
        raise UserError("the text has fewer than 2 tokens: nothing to predict")
    stats = {v: VariantStats(v) for v in names}
    attention = {v: make_attention(v) for v in names}
    wins = windows(n, window, stride)
    for wi, (b, e, first) in enumerate(wins):
        targets = toks[first + 1:e + 1]
        ref_logits = None
        for v in names:
            t0 = time.perf_counter()
            logits = lm.forward(toks[b:e], attention[v], logits_from=first - b)
            if ref_logits is None:
                ref_logits = logits
            _score(stats[v], logits, targets, None if v == REFERENCE else ref_logits)
            stats[v].seconds += time.perf_counter() - t0
        if progress is not None:
            progress(f"window {wi + 1}/{len(wins)}: inputs {b}..{e - 1}, "
                     f"{e - first} targets scored")
    all_targets = toks[1:]
    ref_top1 = np.concatenate(stats[REFERENCE].top1)
    return {
        "tokens": int(n),
        "window": window,
        "stride": stride,
        "windows": len(wins),
        "variants": {v: stats[v].summary(all_targets, ref_top1) for v in names},
    }


def flat_keys(result: dict) -> dict:
    """The flat keys of the JSON record: ppl_<variant>, top1_agreement_<variant>, ..."""
    out: dict = {}
    for v, s in result["variants"].items():
        out[f"ppl_{v}"] = s["ppl"]
        if v != REFERENCE:
            out[f"top1_agreement_{v}"] = s["top1_agreement"]
            out[f"ppl_rel_change_{v}"] = s["ppl"] / result["variants"][REFERENCE]["ppl"] - 1.0
    return out


def table(result: dict) -> str:
    """Markdown table of the variants."""
    ref = result["variants"][REFERENCE]["ppl"]
    lines = ["| variant | perplexity | vs reference | top-1 agreement | top-1 accuracy "
             "| mean KL (nats) |",
             "|---|---:|---:|---:|---:|---:|"]
    for v, s in result["variants"].items():
        kl = f"{s['mean_kl_vs_reference']:.2e}" if "mean_kl_vs_reference" in s else "—"
        lines.append(f"| {v} | {s['ppl']:.4f} | {s['ppl'] / ref - 1:+.3%} | "
                     f"{s['top1_agreement']:.2%} | {s['top1_accuracy']:.2%} | {kl} |")
    return "\n".join(lines)

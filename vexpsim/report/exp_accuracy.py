"""`vexpsim exp-accuracy`: exhaustive accuracy of the exponential models, as JSON and a plot."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import UserError
from ..numerics.accuracy import ExpAccuracy, exp_accuracy
from ..numerics.exp import EXP_VARIANTS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "exp-accuracy",
        help="exhaustive accuracy of the exp models (VEXP, Schraudolph, libm expf)",
        description="Evaluate every input encoding of an exponential model against float64 "
        "exp; report max/mean relative error and ulp error over the softmax domain "
        "(x <= 0, normal result) and the whole domain.",
    )
    p.add_argument("--variant", action="append", choices=sorted(EXP_VARIANTS),
                   help="model to evaluate (repeatable; default: all three)")
    p.add_argument("--json", metavar="FILE", type=Path, help="write the statistics as JSON")
    p.add_argument("--plot", metavar="FILE", type=Path,
                   help="write a plot of relative error against x (PNG/PDF/SVG)")
    p.set_defaults(func=run)


def _pct(v: float) -> str:
    return f"{v:>9.4%}" if v >= 1e-5 else f"{v * 100:>8.2e}%"


def _table(results: list[ExpAccuracy]) -> str:
    head = (f"{'variant':<12} {'domain':<8} {'inputs':>7} {'max rel':>10} {'mean rel':>10} "
            f"{'max ulp':>8}")
    lines = [head, "-" * len(head)]
    for r in results:
        for name, d in (("softmax", r.softmax), ("whole", r.whole), ("uniform", r.uniform)):
            lines.append(f"{r.variant:<12} {name:<8} {d.count:>7} {_pct(d.max_rel_error)} "
                         f"{_pct(d.mean_rel_error)} {d.max_ulp_error:>8.2f}")
    return "\n".join(lines)


def plot(results: list[ExpAccuracy], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(len(results), 1, figsize=(9, 2.8 * len(results)), squeeze=False)
    for ax, r in zip(axes[:, 0], results, strict=True):
        m = np.isfinite(r.rel_error) & (r.x >= -90) & (r.x <= 90)
        ax.plot(r.x[m], 100 * r.rel_error[m], ".", ms=1.5, alpha=0.6)
        ax.axhline(0, color="k", lw=0.5)
        s = r.softmax
        ax.set_title(f"{r.variant} ({r.fmt}): softmax domain max {100 * s.max_rel_error:.3g}%, "
                     f"mean {100 * s.mean_rel_error:.3g}% (all {r.inputs} encodings)",
                     fontsize=10)
        ax.set_ylabel("relative error [%]")
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("x")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def run(args: argparse.Namespace) -> int:
    variants = args.variant or ["vexp", "schraudolph", "expf"]
    results = [exp_accuracy(v) for v in variants]
    print(_table(results))
    for target in (args.json, args.plot):
        if target is None:
            continue
        if target.is_dir():
            raise UserError(f"{target}: is a directory; give a file name")
        target.parent.mkdir(parents=True, exist_ok=True)
    if args.json:
        args.json.write_text(json.dumps({"variants": [r.as_dict() for r in results]}, indent=2))
        print(f"wrote {args.json}")
    if args.plot:
        plot(results, args.plot)
        print(f"wrote {args.plot}")
    return 0

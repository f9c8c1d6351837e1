"""`vexpsim system`: end-to-end prefill of a transformer on the multi-cluster system.

Tiles are simulated at instruction level (SimProvider, cached on disk: --cache, default
$VEXPSIM_TILE_CACHE or ~/.cache/vexpsim/tiles), one after the other; `vexpsim run` of an
experiment config with workload type "system" simulates them on a process pool or Dask.
`--dry-run` prices tiles with the ANALYTICAL roofline provider and labels every output so.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..arch.system import SYSTEM_CONFIGS, load_system_config
from ..arch.tilecost import CachedProvider, config_id
from ..errors import UserError
from .system_run import run_model
from .workloads.analytical import VARIANTS, AnalyticalCostProvider
from .workloads.transformer import MODELS, load_model


def register(sub: Any) -> None:
    p = sub.add_parser("system", help="end-to-end transformer prefill on the multi-cluster "
                       "system (simulated tiles; --dry-run: analytical)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help=f"model name ({', '.join(MODELS)}) or a model .toml path")
    p.add_argument("--seq", type=int, default=None, help="prefill length (default: model's)")
    p.add_argument("--system", default="occamy",
                   help=f"system config ({', '.join(SYSTEM_CONFIGS)}) or a .toml path")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a system config value (repeatable, VALUE a TOML literal), "
                   "e.g. clusters=8 or cluster=\"snitch_default\"")
    p.add_argument("--head-rows", type=int, default=1, metavar="N",
                   help="rows through the final head GEMM and softmax (default 1: the last "
                   "token / the class token)")
    p.add_argument("--variant", choices=(*VARIANTS, "both"), default="both")
    p.add_argument("--attention-split", choices=("head", "rowblock"), default="head",
                   help="FA-2 placement: one head per cluster (predecessor) or row blocks "
                   "round-robin over all clusters")
    p.add_argument("--dry-run", action="store_true",
                   help="price tiles with the analytical roofline estimate (not simulated)")
    p.add_argument("--cache", type=Path, default=None,
                   help="directory of the on-disk tile-cost cache")
    p.add_argument("--max-units", type=int, default=None, metavar="N",
                   help="merge identical consecutive tiles of an operator on a cluster into "
                   "at most N units (faster for large models; default: exact)")
    p.add_argument("--json", type=Path, default=None, help="write the records to this file")
    p.set_defaults(func=run)


def _fmt_row(r: dict[str, Any]) -> str:
    kinds = r["wall_cycles_by_kind"]
    total = r["latency_cycles"] or 1.0
    split = ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in sorted(kinds.items()))
    reg = r["compute_cycles_by_region"]
    busy = sum(reg.values()) or 1.0
    other = sum(v for k, v in reg.items() if k not in ("gemm", "softmax", "gelu"))
    regions = (f"gemm {100 * reg.get('gemm', 0) / busy:.0f}%, softmax/exp "
               f"{100 * reg.get('softmax', 0) / busy:.0f}%, gelu "
               f"{100 * reg.get('gelu', 0) / busy:.0f}%, rest {100 * other / busy:.0f}%")
    e = r["energy_pj"]
    energy = f"{e['total'] * 1e-9:.3f} mJ" if e else "n/a"
    return (f"  {r['variant']:8s} latency {r['latency_cycles']:.4g} cycles = "
            f"{r['latency_s'] * 1e3:.4g} ms, energy {energy}, mean cluster utilisation "
            f"{100 * r['cluster_utilisation_mean']:.0f}%, predecessor extrapolation "
            f"{r['extrapolation_estimate_cycles']:.4g} cycles\n"
            f"           wall time by op kind: {split}\n"
            f"           cluster compute by region: {regions}")


def run(args: argparse.Namespace) -> int:
    cfg = load_system_config(args.system, args.set or [])
    model = load_model(args.model)
    variants = VARIANTS if args.variant == "both" else (args.variant,)
    provider: Any
    if args.dry_run:
        provider = AnalyticalCostProvider()
        # the cache key covers the cluster and the analytical parameters
        aid = "analytical-" + config_id({"cluster": cfg.cluster_config,
                                         "analytical": provider.params})
        cids = dict.fromkeys(variants, aid)
    else:  # instruction-level tiles, one after the other (vexpsim run: on a pool)
        from .simprovider import SimProvider
        from .system_sweep import default_cache_dir
        provider = SimProvider.for_system(cfg)
        cids = {v: provider.cluster_config_id(v) for v in variants}
        if args.cache is None:
            args.cache = default_cache_dir()
    if args.cache:
        provider = CachedProvider(provider, args.cache)
    if args.max_units is not None and args.max_units < 1:
        raise UserError(f"--max-units {args.max_units}: must be >= 1")
    records = [run_model(model, cfg, provider, v, cids[v], args.seq, args.attention_split,
                         head_rows=args.head_rows, max_units=args.max_units)
               for v in variants]
    r0 = records[0]
    print(f"{r0['cost_label']}: {model.name}, prefill {r0['seq_len']} tokens, system "
          f"{cfg.name} ({cfg.clusters} clusters in {cfg.groups} groups), "
          f"{r0['graph_tiles']} tiles, {r0['graph_distinct_tile_shapes']} distinct shapes")
    for r in records:
        print(_fmt_row(r))
    if len(records) == 2 and records[1]["latency_cycles"]:
        b, v = records
        line = f"  speed-up vexp/baseline: {b['latency_cycles'] / v['latency_cycles']:.2f}x"
        if b["energy_pj"] and v["energy_pj"]:
            line += f", energy ratio {b['energy_pj']['total'] / v['energy_pj']['total']:.2f}x"
        print(line + " (ANALYTICAL)" if r0["analytical"] else line)
    if args.json:
        args.json.write_text(json.dumps(records, indent=1, sort_keys=True))
    return 0

"""`vexpsim area`: the cluster's area block by block (vexpsim/energy/tables/area_gf12.toml,
each number with its source) and the EXP block's share of the cluster and of the FPU, next to
the VEXP paper's ~1 %. `vexpsim energy-table [NAME|FILE]`: check an energy table and list
every number with its source (docs/energy.md)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..energy.model import Instances

__all__ = ["register", "cluster_instances"]


def cluster_instances(cfg: Any) -> Instances:
    """The block counts and features of a ClusterConfig (for energy and area tables)."""
    from ..energy.model import Instances

    feats = {"exp"} if cfg.fpu.exp.enabled else set()
    return Instances(compute_cores=cfg.cores, dma_cores=cfg.dma_cores,
                     features=frozenset(feats))


def _run(args: argparse.Namespace) -> int:
    from ..energy.area import load_area_table
    from .config import load_cluster_config

    if args.config:
        cfg = load_cluster_config(args.config, overrides=args.overrides)
    else:
        cfg = load_cluster_config(preset=args.preset, overrides=args.overrides)
    table = load_area_table(args.area_table)
    rep = table.report(cluster_instances(cfg), block=args.block)
    rep["config"] = cfg.name
    if args.json:
        Path(args.json).write_text(json.dumps(rep, indent=1) + "\n", encoding="utf-8")
    print(f"cluster '{cfg.name}': {cfg.cores} compute cores + {cfg.dma_cores} DMA core(s); "
          f"area table {rep['table']} ({rep['technology']}, {rep['um2_per_ge']} µm²/GE)")
    print(f"{'block':<14}{'group':<14}{'count':>6}{'kGE each':>10}{'kGE':>10}{'share':>8}"
          f"  label / confidence")
    for r in rep["blocks"]:
        print(f"{r['block']:<14}{r['group']:<14}{r['count']:>6}{r['kge_each']:>10.1f}"
              f"{r['kge']:>10.1f}{r['share_of_cluster']:>8.2%}  {r['label']} / "
              f"{r['confidence']}")
    print(f"{'cluster':<34}{rep['cluster_kge']:>20.1f}  = {rep['cluster_um2'] / 1e6:.3f} mm²")
    b = rep["block"]
    if rep["block_share_of_cluster"]:
        paper = rep["paper_exp_share"]
        claim = (f"  (VEXP paper: ~{paper:.0%}, base cluster or FPU not stated)"
                 if paper is not None and b == "exp" else "")
        print(f"{b}: {rep['block_share_of_cluster']:.2%} of the cluster, "
              f"{rep['block_share_of_group']:.2%} of one core's {rep['group']}{claim}")
    else:
        print(f"{b}: not in this cluster configuration")
    print("sources: vexpsim/energy/tables/area_gf12.toml (every block's source), "
          "docs/energy.md")
    return 0


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _run_table(args: argparse.Namespace) -> int:
    from ..energy.model import load_energy_table
    from .config import load_cluster_config

    m = load_energy_table(args.table)  # validates: every problem with its key path
    if args.what_if_tcdm is not None:
        from ..energy.sensitivity import tcdm_family
        m = tcdm_family(m, args.what_if_tcdm)
    if args.format == "toml":
        from ..energy.model import energy_table_toml
        what = (f"what-if: {args.table} with every TCDM access at {args.what_if_tcdm:g} pJ and "
                "the static floor moved to keep cross-check C1\n(vexpsim energy-table "
                f"--what-if-tcdm {args.what_if_tcdm:g}; docs/energy.md, 'Sensitivity'). Not a "
                "calibrated table." if args.what_if_tcdm is not None
                else f"written by vexpsim energy-table from {m.origin}")
        print(energy_table_toml(m, header=what), end="")
        return 0
    cfg = load_cluster_config(args.config) if args.config else load_cluster_config()
    inst = cluster_instances(cfg)
    static = m.static_power_mw(inst)
    if args.format == "json":
        print(json.dumps({
            "name": m.name, "technology": m.technology, "frequency_hz": m.frequency_hz,
            "origin": m.origin, "events": {k: vars(e) for k, e in m.events.items()},
            "leakage": {k: vars(e) for k, e in m.leakage.items()},
            "static_power_mw": {"config": cfg.name, "total": sum(static.values()),
                                "by_entry": static}}, indent=1))
        return 0
    print(f"energy table {m.name} ({m.origin}): {m.technology}, "
          f"{m.frequency_hz / 1e9:g} GHz")
    print()
    print("| event | pJ | component | label | confidence | source |")
    print("|---|---:|---|---|---|---|")
    for e in m.events.values():
        print(f"| `{e.name}` | {e.pj:g} | {e.component} | {e.label} | {e.confidence} | "
              f"{_md(e.source)} |")
    print()
    print("| static block | mW each | per | feature | component | label | source |")
    print("|---|---:|---|---|---|---|---|")
    for e in m.leakage.values():
        print(f"| `{e.name}` | {e.mw:g} | {e.per} | {e.feature or ''} | {e.component} | "
              f"{e.label} | {_md(e.source)} |")
    print()
    print(f"static power of cluster '{cfg.name}' ({inst.compute_cores} compute + "
          f"{inst.dma_cores} DMA cores): {sum(static.values()):.2f} mW")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from .config import DEFAULT_PRESET, PRESETS

    p = sub.add_parser("area", help="cluster area by block and the EXP block's share",
                       description=__doc__)
    p.add_argument("--config", metavar="FILE", help="cluster configuration TOML")
    p.add_argument("--preset", choices=PRESETS, default=DEFAULT_PRESET,
                   help=f"a shipped cluster preset (default {DEFAULT_PRESET})")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="KEY=VALUE", help="override a config value (repeatable)")
    p.add_argument("--area-table", default="area_gf12", metavar="NAME|FILE",
                   help="area table: a shipped name or a TOML file (default area_gf12)")
    p.add_argument("--block", default="exp", help="block whose share to report (default exp)")
    p.add_argument("--json", metavar="OUT", help="write the report as JSON")
    p.set_defaults(func=_run)

    t = sub.add_parser("energy-table", help="check an energy table and list its numbers with "
                       "their sources", description=__doc__)
    t.add_argument("table", nargs="?", default="gf12lp_0p8v", metavar="NAME|FILE",
                   help="a shipped table name or a TOML file (default gf12lp_0p8v)")
    t.add_argument("--config", metavar="FILE",
                   help="cluster configuration whose static power to total")
    t.add_argument("--format", choices=("markdown", "json", "toml"), default="markdown",
                   help="toml: the table as a technology file (e.g. a what-if table)")
    t.add_argument("--what-if-tcdm", type=float, metavar="PJ",
                   help="the member of the C1-consistent family with TCDM accesses at PJ "
                        "(static floor moved to keep cross-check C1; docs/energy.md)")
    t.set_defaults(func=_run_table)

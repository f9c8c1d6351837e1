"""`vexpsim run EXP.toml` (run an experiment's sweep) and `vexpsim reproduce` (run every paper
config and compare with the paper). Config format: docs/experiments.md."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import UserError
from .config import Experiment, load_experiment
from .runner import failure_lines, json_text, results_ok, run_experiment, write_results

# experiments/paper/ at the repository top level (design.md layout)
PAPER_DIR = Path(__file__).resolve().parents[2] / "experiments" / "paper"


def _jobs(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {n}")
    return n


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-j", "--jobs", type=_jobs, default=None, metavar="N",
                   help="parallel runs (default: the number of CPUs); with --dask local, the "
                   "number of workers")
    p.add_argument("--quick", action="store_true",
                   help="reduced sweep: the [sweep.quick] axes replace the grid's (smoke tests)")
    p.add_argument("--dask", metavar="ADDRESS", default=None,
                   help="run on a Dask distributed cluster: 'local' (a local cluster of -j "
                   "workers) or a scheduler address tcp://HOST:PORT (needs the optional "
                   "extra: pip install 'vexpsim[dask]')")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument("--cache", type=Path, default=None, metavar="DIR",
                   help="tile-cost cache of system workloads (default: $VEXPSIM_TILE_CACHE "
                   "or ~/.cache/vexpsim/tiles)")


def register(sub: Any) -> None:
    r = sub.add_parser(
        "run", help="run an experiment config (a sweep of kernel runs)",
        description="Expand the sweep of EXP.toml, run every point on the simulated cluster "
        "(local process pool, or Dask), and write DIR/results.json (every record, in sweep "
        "order) and DIR/results.csv (one row per point). Exit status 1 if a numerical check "
        "fails or a run fails (after writing the results).")
    r.add_argument("config", type=Path, metavar="EXP.toml")
    r.add_argument("-o", "--output", type=Path, default=None, metavar="DIR",
                   help="output directory (default: results/<experiment name>)")
    r.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value (VALUE a TOML literal), e.g. "
                   "workload.seed=3 or cluster.fpu.lat_exp=3; repeatable; setting a swept "
                   "key pins it (removes it from the sweep)")
    r.add_argument("--dry-run", action="store_true",
                   help="validate the config and list the expanded sweep points; run nothing")
    _common(r)
    r.set_defaults(func=run_run)

    q = sub.add_parser(
        "reproduce", help="run the paper configs and compare with the paper's numbers",
        description="Run every config under experiments/paper/ (or --configs DIR), evaluate "
        "their [[reproduce.rows]] and write DIR/reproduce.md (also printed), per-config "
        "results (DIR/<name>/results.json|csv) and plots (DIR/<name>_latency|speedup|"
        "phases.png). Exit status 1 if a numerical check or a run fails.")
    q.add_argument("-o", "--output", type=Path, default=Path("results/reproduce"),
                   metavar="DIR", help="output directory (default: results/reproduce)")
    q.add_argument("--json", type=Path, default=None, metavar="FILE",
                   help="also write the rows as JSON: {\"rows\": [{id, paper, simulated, "
                   "unit, ...}]}")
    q.add_argument("--configs", type=Path, default=PAPER_DIR, metavar="DIR",
                   help="directory of experiment configs with reproduce rows (default: "
                   "experiments/paper/)")
    q.add_argument("--no-plots", action="store_true", help="skip the plots")
    _common(q)
    q.set_defaults(func=run_reproduce)


def _progress(args: argparse.Namespace) -> bool:
    return not args.no_progress


def _report_failures(results: dict) -> None:
    for line in failure_lines(results):
        print(f"error: {line}", file=sys.stderr)


def run_run(args: argparse.Namespace) -> int:
    exp = load_experiment(args.config, overrides=args.overrides, quick=args.quick)
    if args.quick and exp.config["experiment"]["skip_quick"]:
        raise UserError(f"{args.config}: has no --quick version (experiment.skip_quick = "
                        f"true); run it without --quick")
    if args.dry_run:
        print(f"{exp.name}: {len(exp.points)} points")
        for p in exp.points:
            if p.system is not None:
                print(f"  {p.index:4d}  system {p.system['model']} {p.system['variant']} "
                      f"seq={p.system['seq'] or 'model'} on {p.system['system']}")
                continue
            params = " ".join(f"{k}={v}" for k, v in p.params.items())
            print(f"  {p.index:4d}  {p.kernel} {params} dist={p.dist} seed={p.seed} "
                  f"cluster={p.cluster['name']}"
                  + (f"  [{p.label()}]" if p.coords else ""))
        return 0
    outdir = args.output or Path("results") / exp.name
    results = run_experiment(exp, jobs=args.jobs, dask=args.dask, progress=_progress(args),
                             cache=args.cache)
    paths = write_results(results, outdir)
    s = results["summary"]
    print(f"{exp.name}: {s['points']} points, {s['checks_passed']} checks passed; wrote "
          f"{', '.join(str(p) for p in paths)}")
    _report_failures(results)
    return 0 if results_ok(results) else 1


def _load_paper_configs(folder: Path, quick: bool) -> list[Experiment]:
    if not folder.is_dir():
        raise UserError(f"{folder}: no such directory of experiment configs")
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise UserError(f"{folder}: no *.toml experiment configs")
    exps, problems = [], []
    for f in files:  # every problem of every file before running anything
        try:
            exps.append(load_experiment(f, quick=quick))
        except UserError as exc:
            problems += exc.problems
    ids: dict[str, str] = {}
    for e in exps:
        for i, row in enumerate(e.config["reproduce"]["rows"]):
            if row["id"] in ids:
                problems.append(f"{e.origin}: reproduce.rows[{i}].id: {row['id']!r} is also "
                                f"a row of {ids[row['id']]}")
            ids[row["id"]] = e.origin
    names = [e.name for e in exps]
    for e in exps:
        if names.count(e.name) > 1:
            problems.append(f"{e.origin}: experiment.name: {e.name!r} is used by two configs "
                            f"(their results directories would collide)")
    if problems:
        raise UserError(list(dict.fromkeys(problems)))
    return exps


def run_reproduce(args: argparse.Namespace) -> int:
    from ..report.plots import sweep_plots, system_plots
    from ..report.rows import evaluate_rows
    from ..report.tables import reproduce_markdown

    exps = _load_paper_configs(args.configs, args.quick)
    outdir: Path = args.output
    rows: list[dict] = []
    ok = True
    plots: list[Path] = []
    skipped = [e for e in exps if args.quick and e.config["experiment"]["skip_quick"]]
    for e in skipped:
        print(f"--quick: skipping {e.origin} (experiment.skip_quick)", file=sys.stderr)
    for exp in [e for e in exps if e not in skipped]:
        results = run_experiment(exp, jobs=args.jobs, dask=args.dask, progress=_progress(args),
                                 cache=args.cache)
        write_results(results, outdir / exp.name)
        _report_failures(results)
        ok = ok and results_ok(results)
        rows += evaluate_rows(results, exp.points, exp.config["reproduce"]["rows"],
                              origin=exp.origin)
        spec = exp.config["reproduce"]["plot"]
        if spec["x"] is not None and not args.no_plots:
            plots += sweep_plots(results, exp.points, spec, outdir, exp.name)
        if any(p.system is not None for p in exp.points) and not args.no_plots:
            plots += system_plots(results, exp.points, outdir, exp.name)
    for r in rows:
        if r.get("error"):
            ok = False
            print(f"error: row {r['id']}: {r['error']}", file=sys.stderr)
    title = "vexpsim reproduce" + (" (--quick: reduced sweeps)" if args.quick else "")
    md = reproduce_markdown(rows, title=title)
    (outdir / "reproduce.md").write_text(md, encoding="utf-8")
    print(md, end="")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json_text({"quick": args.quick, "rows": rows}), encoding="utf-8")
    print(f"wrote {outdir / 'reproduce.md'}" + (f", {args.json}" if args.json else "")
          + "".join(f", {p}" for p in plots))
    return 0 if ok else 1

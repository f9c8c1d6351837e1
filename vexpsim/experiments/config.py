"""Experiment configs: what to run (a kernel, its parameters, inputs, a cluster) and over what
sweep; plus, for the paper configs, the reproduce rows and plots. Format: docs/experiments.md.

    exp = load_experiment("experiments/paper/softmax.toml", overrides=["workload.seed=1"])
    for point in exp.points: point.kernel, point.params, point.cluster   # in sweep order

Every problem of a file is reported at once with its key path (UserError), including those
that only show once the sweep is expanded (an unknown kernel parameter in `sweep.grid`, a
cluster value a sweep point sets out of range, a reproduce row selecting no point).
"""

from __future__ import annotations

import copy
import difflib
import itertools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..schema import (
    Field,
    Section,
    SectionList,
    apply_overrides,
    format_value,
    override_notes,
    parse_override,
    read_toml,
    validate,
)
from .kernelrun import DISTRIBUTIONS, cluster_problems, load_kernels

__all__ = ["SCHEMA", "Experiment", "Point", "load_experiment", "experiment_from_data",
           "SWEEPABLE", "select_points"]

SWEEPABLE = ("workload.kernel", "workload.dist", "workload.seed", "workload.params.NAME",
             "cluster.KEY", "workload.model", "workload.variant", "workload.seq",
             "workload.attention_split")
# the keys of a workload of type "system" (one transformer prefill on the multi-cluster system)
SYSTEM_KEYS = ("model", "variant", "seq", "system", "system_set", "attention_split",
               "head_rows", "max_units")
_SYSTEM_SWEEP = ("workload.model", "workload.variant", "workload.seq",
                 "workload.attention_split")

_ROW = Section({
    "id": Field(str, doc="row id (e.g. softmax_speedup); unique over all paper configs"),
    "paper": Field(float, None, doc="the paper's value (absent: no paper value)"),
    "unit": Field(str, "", doc="unit shown in the table (x, cycles, pJ, ...)"),
    "source": Field(str, "", doc="where the paper value comes from (reference file, tag)"),
    "note": Field(str, "", doc="what the row measures, shown under the table"),
    "metric": Field(str, "cycles", doc="dotted path of the value in a point's record: cycles, "
                    "energy_pj, error.max_rel_error, phases_cycles.NAME, ..."),
    "at": Field(dict, doc="selector of the point the row reads: sweep key path -> value, "
                "or \"max\"/\"min\" for the largest/smallest value among the matching points"),
    "over": Field(dict, None, doc="selector of a second point: the row is then the ratio "
                  "value(at) / value(over)"),
    "per": Field("str[]", [], doc="record paths whose product divides the metric (e.g. "
                 "[\"outputs\"] for a value per output element)"),
    "times": Field("str[]", [], doc="record paths whose product multiplies the metric (e.g. "
                   "[\"compute_cores\"] for per-core cycles per output)"),
})

_PLOT = Section({
    "x": Field(str, None, doc="sweep key path on the x axis (absent: no plots), e.g. "
               "workload.params.N"),
    "series": Field(str, "workload.kernel", doc="sweep key path that makes one line per value"),
    "metric": Field(str, "cycles", doc="record path plotted as latency"),
    "reference": Field(str, None, doc="series value the speedup plot divides by (absent: no "
                       "speedup plot)"),
})

SCHEMA = Section({
    "experiment": Section({
        "name": Field(str, doc="experiment name (results and plot file names)"),
        "description": Field(str, "", doc="free text"),
        "skip_quick": Field(bool, False, doc="under --quick, vexpsim reproduce skips this "
                            "config and vexpsim run refuses it (for configs without a cheap "
                            "reduced version, e.g. whole-model simulations)"),
    }, doc="what this experiment is", required=True),
    "workload": Section({
        "type": Field(str, "kernel", choices=("kernel", "system"), doc="kernel: run one "
                      "kernel on one cluster; system: one transformer prefill on the "
                      "multi-cluster system with simulated tiles (docs/system.md)"),
        "model": Field(str, None, doc="system: model name or .toml path (vexpsim system)"),
        "variant": Field(str, None, doc="system: baseline or vexp"),
        "seq": Field(int, None, min=1, doc="system: prefill length (absent: the model's)"),
        "system": Field(str, "occamy", doc="system: system config name or .toml path"),
        "system_set": Field("str[]", [], doc="system: KEY=VALUE overrides of the system "
                            "config (as vexpsim system --set)"),
        "attention_split": Field(str, "head", choices=("head", "rowblock"),
                                 doc="system: FA-2 placement"),
        "head_rows": Field(int, 1, min=1, doc="system: rows through the head GEMM/softmax"),
        "max_units": Field(int, None, min=1, doc="system: merge identical consecutive tiles "
                           "into at most N units per cluster and op (absent: exact)"),
        "kernel": Field(str, None, doc="registered kernel name (vexpsim.experiments.kernels); "
                        "required unless the sweep sets workload.kernel"),
        "params": Field(dict, {}, doc="kernel parameters (assembler symbols, e.g. N); absent "
                        "ones take the kernel's defaults"),
        "dist": Field(str, "normal", choices=DISTRIBUTIONS, doc="input distribution"),
        "seed": Field(int, 0, min=0, doc="seed of the input generator"),
    }, doc="the kernel and its inputs"),
    "energy": Section({
        "table": Field(str, "gf12lp_0p8v", doc="energy table pricing kernel runs: a shipped "
                       "table name or a .toml path (relative to this config file, else to the "
                       "working directory); "
                       "docs/energy.md 'Another technology or operating point'"),
    }, doc="energy accounting of kernel workloads (system workloads: the system config's "
           "energy_table)"),
    "cluster": Field(dict, None, doc="cluster configuration table (preset = NAME plus "
                     "overrides, as a cluster config file); absent: each kernel's own preset"),
    "sweep": Section({
        "grid": Field(dict, {}, doc="sweep key path -> array of values; the cartesian product "
                      "(first key outermost)"),
        "points": Field("table[]", [], doc="explicit points, each a table sweep key path -> "
                        "value; combined with every grid combination (points outermost)"),
        "quick": Field(dict, {}, doc="sweep key path -> array replacing that grid axis under "
                       "--quick (a smaller sweep for smoke tests)"),
    }, doc="what varies between runs"),
    "reproduce": Section({
        "rows": SectionList(_ROW, doc="rows of the reproduce table"),
        "plot": _PLOT,
    }, doc="paper comparison (used by vexpsim reproduce)"),
})


@dataclass
class Point:
    """One run of the sweep: the effective kernel, parameters, inputs and cluster."""

    index: int
    coords: dict[str, Any]  # the values the sweep set, key path -> value, in key order
    kernel: str
    params: dict[str, int]  # every parameter (kernel defaults filled in)
    dist: str
    seed: int
    cluster: dict  # the validated effective cluster config (every field filled in)
    cluster_data: dict = field(repr=False, default_factory=dict)  # as written (preset + keys)
    system: dict | None = None  # workload type "system": model, variant, seq, ...

    def get(self, path: str) -> Any:
        """The value of a sweep key path at this point (KeyError if it has none)."""
        if self.system is not None and path in _SYSTEM_SWEEP:
            return self.system[path.split(".")[1]]
        if path == "workload.kernel":
            return self.kernel
        if path == "workload.dist":
            return self.dist
        if path == "workload.seed":
            return self.seed
        if path.startswith("workload.params."):
            return self.params[path[len("workload.params."):]]
        if path.startswith("cluster."):
            v: Any = self.cluster
            for part in path.split(".")[1:]:
                v = v[part]
            return v
        raise KeyError(path)

    def label(self) -> str:
        """Short text for progress lines: the swept values (or the kernel)."""
        if not self.coords:
            return self.kernel
        return " ".join(f"{k.rsplit('.', 1)[-1]}={_plain(v)}" for k, v in self.coords.items())


@dataclass
class Experiment:
    name: str
    origin: str
    config: dict  # the validated experiment config (defaults filled in), after --set
    points: list[Point]
    quick: bool = False


def _plain(v: Any) -> str:
    return v if isinstance(v, str) else format_value(v)


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"workload": {"params": {"N": [..]}}} and {"workload.params.N": [..]} alike become
    {"workload.params.N": [..]} (TOML makes nested tables of unquoted dotted keys)."""
    out: dict[str, Any] = {}
    for k, v in table.items():
        path = f"{prefix}.{k}" if prefix else k
        if isinstance(v, Mapping) and v:
            out.update(_flatten(v, path))
        else:
            out[path] = v
    return out


def _sweep_key_problem(path: str) -> str | None:
    parts = path.split(".")
    if path in ("workload.kernel", "workload.dist", "workload.seed", *_SYSTEM_SWEEP):
        return None
    if parts[:2] == ["workload", "params"] and len(parts) == 3 and parts[2]:
        return None
    if parts[0] == "cluster" and len(parts) >= 2 and all(parts[1:]):
        return None
    opts = ["workload.kernel", "workload.dist", "workload.seed"]
    close = difflib.get_close_matches(path, opts, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"not a sweepable key{hint}; sweepable: {', '.join(SWEEPABLE)}"


def _check_sweep(sweep: dict, origin: str,
                 quick: bool) -> tuple[dict, dict[str, str], list[dict], list[str]]:
    """The flattened grid (quick axes applied) and points, plus problems (key paths)."""
    problems: list[str] = []
    grid = _flatten(sweep["grid"])
    for k, v in grid.items():
        where = f"sweep.grid.{k}"
        msg = _sweep_key_problem(k)
        if msg:
            problems.append(f"{origin}: {where}: {msg}")
        elif not isinstance(v, list) or not v:
            problems.append(f"{origin}: {where}: expected a non-empty array of values, got "
                            f"{_plain(v) if not isinstance(v, Mapping) else 'a table'}")
    quick_axes = _flatten(sweep["quick"])
    for k, v in quick_axes.items():
        where = f"sweep.quick.{k}"
        if k not in grid:
            problems.append(f"{origin}: {where}: not a sweep.grid key (quick replaces grid "
                            f"axes; grid keys: {', '.join(grid) or 'none'})")
        elif not isinstance(v, list) or not v:
            problems.append(f"{origin}: {where}: expected a non-empty array of values")
    if quick:
        grid = {k: quick_axes.get(k, v) for k, v in grid.items()}
    # the sweep.* table each axis comes from, for messages
    grid_src = {k: "sweep.quick" if quick and k in quick_axes else "sweep.grid" for k in grid}
    points = []
    for i, pt in enumerate(sweep["points"]):
        flat = _flatten(pt)
        for k in flat:
            msg = _sweep_key_problem(k)
            if msg:
                problems.append(f"{origin}: sweep.points[{i}].{k}: {msg}")
        points.append(flat)
    return grid, grid_src, points, problems


def _set_path(data: dict, path: str, value: Any) -> None:
    parts = path.split(".")
    node = data
    for p in parts[:-1]:
        if not isinstance(node.get(p), dict):
            node[p] = {}
        node = node[p]
    node[parts[-1]] = copy.deepcopy(value)


def _pin_overrides(data: dict, overrides: list[str]) -> None:
    """A `--set` of a swept key pins it: the key leaves the grid and the points."""
    sweep = data.get("sweep")
    if not isinstance(sweep, dict):
        return
    for text in overrides:
        try:
            parts, _ = parse_override(text)
        except ValueError:
            continue
        if not all(isinstance(p, str) for p in parts) or parts[0] == "sweep":
            continue
        path = ".".join(str(p) for p in parts)
        for name in ("grid", "quick"):
            if isinstance(sweep.get(name), dict):
                flat = _flatten(sweep[name])
                if any(k == path or k.startswith(path + ".") for k in flat):
                    sweep[name] = {k: v for k, v in flat.items()
                                   if not (k == path or k.startswith(path + "."))}
        if isinstance(sweep.get("points"), list):
            sweep["points"] = [
                {k: v for k, v in _flatten(pt).items()
                 if not (k == path or k.startswith(path + "."))}
                if isinstance(pt, dict) else pt for pt in sweep["points"]]


def load_experiment(path: str | Path, *, overrides: Iterable[str] = (), quick: bool = False,
                    text: str | None = None) -> Experiment:
    """Read, override (`key.path=VALUE`), validate and expand an experiment config. A `--set`
    of a swept key pins it (removes it from the sweep). Raises UserError with every problem."""
    origin = str(path)
    overrides = list(overrides)
    data = read_toml(path, text=text, origin=origin)
    _pin_overrides(data, overrides)
    had_cluster = "cluster" in data
    data = apply_overrides(data, overrides)
    extra: dict[str, Any] = {}
    if not had_cluster and isinstance(data.get("cluster"), dict):
        # `--set cluster.X=V` without a [cluster] table: V on top of each kernel's preset
        # (not on the public default cluster, which a [cluster] without preset means)
        extra = _flatten(data.pop("cluster"))
    return experiment_from_data(data, origin=origin, quick=quick,
                                notes=override_notes(overrides), cluster_overrides=extra)


def experiment_from_data(data: Mapping[str, Any], *, origin: str, quick: bool = False,
                         notes: Mapping[str, str] | None = None,
                         cluster_overrides: Mapping[str, Any] | None = None) -> Experiment:
    """Validate an already parsed experiment config and expand its sweep.
    `cluster_overrides` (key path below [cluster] -> value) apply to every point's cluster
    before the swept cluster keys."""
    try:
        cfg = validate(data, SCHEMA, origin=origin, notes=notes)
    except UserError as exc:
        # report the sweep's key problems with the schema's, when the sweep is well-formed
        extra: list[str] = []
        try:
            sweep = validate({"sweep": data.get("sweep", {})},
                             Section({"sweep": SCHEMA.fields["sweep"]}), origin=origin)
            extra = _check_sweep(sweep["sweep"], origin, quick)[3]
        except (UserError, AttributeError):
            pass
        raise UserError(exc.problems + extra) from None
    grid, grid_src, pts, problems = _check_sweep(cfg["sweep"], origin, quick)
    problems += _check_energy(cfg, data, origin)
    if problems:
        raise UserError(problems)
    points, problems = _expand(cfg, grid, grid_src, pts, origin, notes or {},
                               dict(cluster_overrides or {}))
    if not problems:
        problems = _check_reproduce(cfg["reproduce"], points, origin)
    problems = [_with_note(p, origin, notes or {}) for p in problems]
    if problems:
        raise UserError(list(dict.fromkeys(problems)))  # same problem at many points: once
    return Experiment(cfg["experiment"]["name"], origin, cfg, points, quick)


def _check_energy(cfg: dict, data: Mapping[str, Any], origin: str) -> list[str]:
    """Resolve energy.table (a path relative to the config file) and load it once, so a bad
    table is reported before anything runs; cfg["energy"]["table"] becomes the resolved
    name or path."""
    from ..energy.model import TABLES, load_energy_table

    table = cfg["energy"]["table"]
    given = isinstance(data.get("energy"), Mapping) and "table" in data["energy"]
    if cfg["workload"]["type"] == "system" and given:
        return [f"{origin}: energy.table: not used by system workloads (each system config "
                f"names its own energy_table; see vexpsim/arch/configs/system_schema.toml)"]
    if table not in TABLES:
        path = Path(table)
        near = Path(origin).parent / path
        if not path.is_absolute() and (near.exists() or not path.exists()):
            path = near  # relative to the config file first, else to the working directory
        table = str(path)
    try:
        load_energy_table(table)
    except UserError as exc:
        return [f"{origin}: energy.table: {p}" for p in exc.problems]
    cfg["energy"]["table"] = table
    return []


def _expand(cfg: dict, grid: dict, grid_src: dict[str, str], pts: list[dict], origin: str,
            notes: Mapping[str, str], cluster_extra: dict[str, Any]) -> tuple[list[Point],
                                                                           list[str]]:
    from ..arch.config import cluster_config_from_data

    kernels = load_kernels()
    problems: list[str] = []
    axes = list(grid.items())
    combos = [dict(zip([k for k, _ in axes], vals, strict=True))
              for vals in itertools.product(*[v for _, v in axes])]
    # where each swept value came from, for messages
    sources: list[tuple[dict, dict[str, str]]] = []
    for j, pt in enumerate(pts or [{}]):
        for combo in combos:
            src = {k: f"sweep.points[{j}].{k}" for k in pt}
            src.update({k: f"{grid_src[k]}.{k}[{grid[k].index(v)}]" for k, v in combo.items()})
            sources.append(({**pt, **combo}, src))
    cluster_cache: dict[str, Any] = {}
    points: list[Point] = []
    for coords, src in sources:
        w = copy.deepcopy(cfg["workload"])
        cluster_keys = {}
        for k, v in coords.items():
            if k.startswith("cluster."):
                cluster_keys[k[len("cluster."):]] = v
            elif k.startswith("workload.params."):
                w["params"][k[len("workload.params."):]] = v
            else:
                w[k.split(".")[1]] = v
        where = {k: src.get(f"workload.{k}", f"workload.{k}") for k in ("kernel", "dist", "seed")}
        if w["type"] == "system":
            pt, msgs = _system_point(w, coords, src, len(points), origin)
            problems += msgs
            if pt is not None:
                points.append(pt)
            continue
        # workload fields
        name = w["kernel"]
        k = kernels.get(name) if isinstance(name, str) else None
        if name is None:
            problems.append(f"{origin}: workload.kernel: missing (set it, or sweep "
                            f"workload.kernel)")
        elif k is None:
            close = difflib.get_close_matches(str(name), list(kernels), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(f"{origin}: {where['kernel']}: unknown kernel {_plain(name)}{hint}; "
                            f"registered: {', '.join(sorted(kernels))}")
        if w["dist"] not in DISTRIBUTIONS:
            problems.append(f"{origin}: {where['dist']}: expected one of "
                            f"{', '.join(DISTRIBUTIONS)}, got {_plain(w['dist'])}")
        if not isinstance(w["seed"], int) or isinstance(w["seed"], bool) or w["seed"] < 0:
            problems.append(f"{origin}: {where['seed']}: expected an integer >= 0, got "
                            f"{_plain(w['seed'])}")
        params: dict[str, Any] = dict(k.params) if k is not None else {}
        at = (" (sweep point " + ", ".join(f"{kk} = {_plain(v)}" for kk, v in coords.items())
              + ")") if coords else ""  # where a kernel or cluster problem occurs
        bad = k is None
        for pname, v in w["params"].items():
            pwhere = src.get(f"workload.params.{pname}", f"workload.params.{pname}")
            if k is not None and pname not in k.params:
                close = difflib.get_close_matches(pname, list(k.params), n=1, cutoff=0.6)
                hint = f" (did you mean {close[0]}?)" if close else ""
                problems.append(f"{origin}: {pwhere.split('[')[0]}: unknown parameter of kernel "
                                f"{name}{hint}; accepted: {', '.join(sorted(k.params))}")
            elif not isinstance(v, int) or isinstance(v, bool):
                problems.append(f"{origin}: {pwhere}: expected an integer, got {_plain(v)}")
                bad = True
            else:
                params[pname] = v
        if k is not None and not bad:
            for msg in k.check(k.resolve(params) if k.resolve is not None else params):
                problems.append(f"{origin}: workload.params: kernel {name}: {msg}{at}")
        # cluster: the [cluster] table (or the kernel's preset) plus the swept cluster keys
        if cfg["cluster"] is not None:
            cdata = copy.deepcopy(cfg["cluster"])
        elif k is not None:
            cdata = {"preset": k.config}
        else:
            continue  # no cluster to check without a kernel
        for ck, v in {**cluster_extra, **cluster_keys}.items():
            _set_path(cdata, ck, v)
        ckey = json.dumps(cdata, sort_keys=True, default=str)
        if ckey not in cluster_cache:
            try:
                cluster_cache[ckey] = cluster_config_from_data(cdata, origin=origin).to_dict()
            except UserError as exc:
                cluster_cache[ckey] = None
                for p in exc.problems:
                    problems.append(_annotate_cluster(p, origin, src, notes))
        cluster = cluster_cache[ckey]
        if cluster is None or k is None:
            continue
        for msg in cluster_problems(k, cluster["cores"], cluster["dma_cores"],
                                    cluster["tcdm"]["size"]):
            problems.append(f"{origin}: cluster: {msg}{at}")
        points.append(Point(len(points), {kk: coords[kk] for kk in coords}, name, params,
                            w["dist"], w["seed"], cluster, cdata))
    return points, problems


def _system_point(w: dict, coords: dict, src: dict[str, str], index: int,
                  origin: str) -> tuple[Point | None, list[str]]:
    """A point of a "system" workload: model and variant checked here (the system config and
    the tiles when it runs)."""
    from .workloads.transformer import MODELS

    problems = []
    where = {k: src.get(f"workload.{k}", f"workload.{k}") for k in SYSTEM_KEYS}
    m = w["model"]
    if m is None:
        problems.append(f"{origin}: workload.model: missing (a system workload needs a model)")
    elif not isinstance(m, str) or (m not in MODELS and not m.endswith(".toml")):
        close = difflib.get_close_matches(str(m), list(MODELS), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]}?)" if close else ""
        problems.append(f"{origin}: {where['model']}: unknown model {_plain(m)}{hint}; "
                        f"shipped: {', '.join(MODELS)}, or a .toml path")
    if w["variant"] not in ("baseline", "vexp"):
        problems.append(f"{origin}: {where['variant']}: expected baseline or vexp, got "
                        f"{_plain(w['variant']) if w['variant'] is not None else 'nothing'}")
    seq = w["seq"]
    if seq is not None and (not isinstance(seq, int) or isinstance(seq, bool) or seq < 1):
        problems.append(f"{origin}: {where['seq']}: expected an integer >= 1, got {_plain(seq)}")
    if w["attention_split"] not in ("head", "rowblock"):
        problems.append(f"{origin}: {where['attention_split']}: expected head or rowblock, "
                        f"got {_plain(w['attention_split'])}")
    if problems:
        return None, problems
    spec = {k: w[k] for k in SYSTEM_KEYS}
    return Point(index, dict(coords), "system", {}, w["dist"], w["seed"], {}, {},
                 system=spec), []


def _with_note(problem: str, origin: str, notes: Mapping[str, str]) -> str:
    """Append the --set that set the value a problem is about (as validate() does)."""
    body = problem[len(origin) + 2:] if problem.startswith(origin + ": ") else problem
    path = body.split(": ", 1)[0]
    for k, n in notes.items():
        if (path == k or path.startswith((k + ".", k + "["))) and n not in problem:
            return f"{problem} ({n})"
    return problem


def _annotate_cluster(problem: str, origin: str, src: dict[str, str],
                      notes: Mapping[str, str]) -> str:
    """Name the sweep entry (or --set) that set a bad cluster value."""
    body = problem[len(origin) + 2:] if problem.startswith(origin + ": ") else problem
    path = body.split(": ", 1)[0]
    for k, s in src.items():
        if k.startswith("cluster.") and (path == k or path.startswith(k + ".")):
            return f"{problem} (set by {s})"
    for k, n in notes.items():
        if k.startswith("cluster.") and (path == k or path.startswith(k + ".")) \
                and n not in problem:
            return f"{problem} ({n})"
    return problem


def select_points(points: list[Point], selector: Mapping[str, Any]) -> list[Point]:
    """The points matching a selector: key path -> value, or "max"/"min" (the largest or
    smallest value of that key among the points matching the literal keys)."""
    chosen = list(points)
    literal = {k: v for k, v in selector.items() if v not in ("max", "min")}
    for k, v in literal.items():
        chosen = [p for p in chosen if _has(p, k) and p.get(k) == v]
    for k, v in selector.items():
        if k in literal:
            continue
        values = [p.get(k) for p in chosen if _has(p, k)]
        if not values:
            return []
        best = max(values) if v == "max" else min(values)
        chosen = [p for p in chosen if _has(p, k) and p.get(k) == best]
    return chosen


def _has(p: Point, k: str) -> bool:
    try:
        p.get(k)
    except (KeyError, TypeError):
        return False
    return True


def _check_reproduce(rep: dict, points: list[Point], origin: str) -> list[str]:
    problems = []
    ids = [r["id"] for r in rep["rows"]]
    for i, row in enumerate(rep["rows"]):
        if ids.count(row["id"]) > 1 and ids.index(row["id"]) != i:
            problems.append(f"{origin}: reproduce.rows[{i}].id: duplicate id {row['id']!r}")
        for part in ("at", "over"):
            sel = row[part]
            if sel is None:
                continue
            sel = _flatten(sel)
            row[part] = sel
            for k in sel:
                msg = _sweep_key_problem(k)
                if msg:
                    problems.append(f"{origin}: reproduce.rows[{i}].{part}.{k}: {msg}")
            if any(_sweep_key_problem(k) for k in sel):
                continue
            n = len(select_points(points, sel))
            if n != 1:
                what = "no point" if n == 0 else f"{n} points (add keys to select one)"
                desc = ", ".join(f"{k} = {_plain(v)}" for k, v in sel.items())
                problems.append(f"{origin}: reproduce.rows[{i}].{part}: selects {what} of the "
                                f"sweep ({desc})")
    plot = rep["plot"]
    for key in ("x", "series"):
        if plot["x"] is not None and plot[key] is not None:
            msg = _sweep_key_problem(plot[key])
            if msg:
                problems.append(f"{origin}: reproduce.plot.{key}: {msg}")
    return problems

"""Run an experiment's sweep: every point with `run_kernel`, on a local process pool or a Dask
cluster, results in sweep order whatever the completion order.

    exp = load_experiment("exp.toml")
    results = run_experiment(exp, jobs=2)          # or dask="local" / "tcp://host:8786"
    write_results(results, Path("out"))            # out/results.json, out/results.csv

The results dict keeps everything that depends on the host (wall time, simulation speed,
jobs, executor) under the single key "host", so two runs with the same config and seed are
identical apart from it.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TextIO

from .. import __version__
from ..errors import UserError
from .config import Experiment, Point

__all__ = ["run_experiment", "run_point", "write_results", "results_ok", "Progress",
           "point_task", "json_text"]

_HOST_SIM_KEYS = ("host_seconds", "instructions_per_second")


def point_task(exp: Experiment, p: Point, cache: str | None = None) -> dict[str, Any]:
    """The picklable description of one run (what a worker needs)."""
    if p.system is not None:
        return {"index": p.index, "origin": exp.origin, "system": p.system, "cache": cache}
    return {"index": p.index, "origin": exp.origin, "kernel": p.kernel, "params": p.params,
            "dist": p.dist, "seed": p.seed, "cluster": p.cluster,
            "energy_table": exp.config["energy"]["table"]}


def run_point(task: dict[str, Any]) -> tuple[dict, dict]:
    """Run one point; returns (record, host timing). A run that fails (UserError, e.g. a hart
    that does not exit with 0) gives a record with `run_error` instead of raising, so one bad
    point does not lose the sweep."""
    from ..arch.config import cluster_config_from_data
    from .kernelrun import load_kernels, run_kernel

    if "tile" in task:  # stage 1 of a system sweep: price one tile into the cache
        from .system_sweep import price_tile
        return price_tile(task)
    if "system" in task:  # one end-to-end prefill
        from .system_sweep import run_system_point
        return run_system_point(task)
    t0 = time.perf_counter()
    try:
        cluster = cluster_config_from_data(task["cluster"], origin=task["origin"])
        run = run_kernel(task["kernel"], task["params"], dist=task["dist"], seed=task["seed"],
                         cluster=cluster, energy_table=task.get("energy_table", "gf12lp_0p8v"))
    except Exception as exc:  # noqa: BLE001 - one broken point must not lose the sweep
        rec = {"kernel": task["kernel"], "params": task["params"], "dist": task["dist"],
               "seed": task["seed"], "config": task["cluster"].get("name")}
        if isinstance(exc, UserError):
            rec["run_error"] = str(exc)
        else:  # a simulator bug: say so, keep the traceback for the bug report
            rec["run_error"] = f"internal error ({type(exc).__name__}: {exc})"
            rec["traceback"] = traceback.format_exc()
        return rec, {"host_seconds": time.perf_counter() - t0}
    rec = run.record
    sim = rec.get("sim", {})
    host = {k: sim.pop(k) for k in _HOST_SIM_KEYS if k in sim}
    k = load_kernels()[task["kernel"]]
    # per-output and per-core figures need these (reproduce rows `per`/`times`)
    rec["outputs"] = int(run.output.size)
    rec["compute_cores"] = 1 if k.harts == 1 else min(k.harts or cluster.cores, cluster.cores)
    return rec, host


class Progress:
    """A plain-text progress bar on stderr: redrawn in place on a terminal, one line per
    finished point otherwise (logs, CI)."""

    def __init__(self, total: int, stream: TextIO | None = None, width: int = 30) -> None:
        self.total, self.done, self.width = total, 0, width
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.t0 = time.perf_counter()

    def update(self, label: str, failed: bool = False) -> None:
        self.done += 1
        secs = time.perf_counter() - self.t0
        fill = self.width * self.done // max(self.total, 1)
        bar = "#" * fill + "." * (self.width - fill)
        status = " FAILED" if failed else ""
        if self.tty:
            end = "\n" if self.done == self.total else ""
            self.stream.write(f"\r[{bar}] {self.done}/{self.total} {secs:6.1f}s {label}{status}"
                              f"\x1b[K{end}")
        else:
            self.stream.write(f"[{bar}] {self.done}/{self.total} {secs:6.1f}s {label}{status}\n")
        self.stream.flush()


def _failed(rec: dict) -> bool:
    return "run_error" in rec or not rec.get("check", {}).get("passed", False)


def _run_pool(tasks: list[dict], jobs: int,
              done: Callable[[int, dict], None]) -> dict[int, tuple[dict, dict]]:
    out: dict[int, tuple[dict, dict]] = {}
    if jobs == 1:  # in-process: no pool start-up, easiest to debug
        for t in tasks:
            out[t["index"]] = run_point(t)
            done(t["index"], out[t["index"]][0])
        return out
    from .kernelrun import share_runs
    shared = tempfile.TemporaryDirectory(prefix="vexpsim-runs-")
    # workers share the runs of extrapolated points (kernelrun.share_runs)
    pool = multiprocessing.Pool(processes=jobs, initializer=share_runs, initargs=(shared.name,))
    try:
        # chunksize 1: points differ a lot in cost; results come back tagged with their index
        for i, res in pool.imap_unordered(_indexed_run, tasks, chunksize=1):
            out[i] = res
            done(i, res[0])
        pool.close()
    except BaseException:
        pool.terminate()  # Ctrl-C or a dead worker: stop now, do not finish the sweep first
        raise
    finally:
        pool.join()
        shared.cleanup()
    return out


def _indexed_run(task: dict[str, Any]) -> tuple[int, tuple[dict, dict]]:
    return task["index"], run_point(task)


def _run_dask(tasks: list[dict], address: str, jobs: int,
              done: Callable[[int, dict], None]) -> dict[int, tuple[dict, dict]]:
    try:
        from dask.distributed import Client, LocalCluster
        from dask.distributed import as_completed as dask_completed
    except ImportError:
        raise UserError("--dask needs Dask distributed, an optional dependency: "
                        "pip install 'vexpsim[dask]' (or pip install 'dask[distributed]')"
                        ) from None
    cluster = None
    try:
        if address == "local":
            cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
        else:
            client = Client(address, timeout="10s")
    except (OSError, ValueError, TypeError) as exc:  # refused, timed out, malformed address
        if cluster is not None:
            cluster.close()
        raise UserError(f"--dask {address}: cannot connect to the scheduler: {exc} (give "
                        f"'local' or a scheduler address such as tcp://HOST:8786)") from None
    out: dict[int, tuple[dict, dict]] = {}
    try:
        # pure=False: never merge two points into one task (they differ only by index)
        futures = {client.submit(run_point, t, pure=False): t["index"] for t in tasks}
        for f in dask_completed(list(futures)):
            i = futures[f]
            out[i] = f.result()
            done(i, out[i][0])
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return out


def _execute(tasks: list[dict], jobs: int, dask: str | None,
             done: Callable[[int, dict], None]) -> tuple[dict[int, tuple[dict, dict]], str]:
    if dask:
        return _run_dask(tasks, dask, jobs, done), f"dask {dask}"
    out = _run_pool(tasks, min(jobs, max(len(tasks), 1)), done)
    return out, "process pool" if jobs > 1 and len(tasks) > 1 else "in-process"


def _price_tiles(exp: Experiment, cache: str, jobs: int, dask: str | None,
                 progress: TextIO | None | bool) -> dict[str, Any]:
    """Stage 1 of a system sweep (vexpsim/experiments/system_sweep.py): simulate, on the pool
    or Dask, every distinct tile the points need that is not in the cache yet."""
    from ..arch.tilecost import cache_key
    from .system_sweep import tile_provider, tile_requests, tile_system, tile_system_config

    # system config -> its provider and cache probe (the clusters and the energy table)
    sims: dict[str, tuple[Any, Any]] = {}
    needed: dict[tuple, None] = {}
    shapes: dict[str, list] = {}  # the tile shapes do not depend on the variant: list once
    for p in exp.points:
        if p.system is not None:
            spec = {k: v for k, v in p.system.items() if k != "variant"}
            key = json.dumps(spec, sort_keys=True, default=str)
            if key not in shapes:
                shapes[key] = [(k, s) for k, s, _ in tile_requests(p.system)]
            sysk = json.dumps(tile_system(p.system), sort_keys=True)
            if sysk not in sims:
                sims[sysk] = tile_provider(cache, tile_system_config(p.system))
            for k, s in shapes[key]:
                needed[(k, s, p.system["variant"], sysk)] = None
    missing = []
    for k, s, v, sysk in needed:
        sim, probe = sims[sysk]
        if not probe.path_for(cache_key(k, s, v, sim.cluster_config_id(v))).exists():
            missing.append((k, s, v, sysk))
    # the slowest first (software-exp tiles), so that no long task starts last
    missing.sort(key=lambda t: (t[2] != "baseline", -_tile_size(t[1])))
    tasks = [{"index": i, "tile": t[:3], "system": json.loads(t[3]), "cache": cache}
             for i, t in enumerate(missing)]
    bar = Progress(len(tasks), None if progress is True else progress) \
        if progress not in (False, None) and tasks else None

    def done(i: int, rec: dict) -> None:
        if bar:
            k, s, v, _ = missing[i]
            bar.update(f"tile {k} {tuple(s)} {v}", "run_error" in rec)

    t0 = time.perf_counter()
    out, _ = _execute(tasks, jobs, dask, done) if tasks else ({}, "")
    errors = sorted({rec["run_error"] for rec, _ in out.values() if "run_error" in rec})
    return {"tiles_needed": len(needed), "tiles_simulated": len(tasks),
            "tile_errors": errors, "tile_wall_seconds": time.perf_counter() - t0,
            "tile_host_seconds": sum(h.get("host_seconds", 0.0) for _, h in out.values())}


def _tile_size(shape: tuple[int, ...]) -> int:
    return math.prod(int(x) for x in shape)


def run_experiment(exp: Experiment, *, jobs: int | None = None, dask: str | None = None,
                   progress: TextIO | None | bool = True,
                   cache: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Run every point of the sweep; return the results dict (see module doc). `cache`: the
    tile-cost cache directory of system points (default system_sweep.default_cache_dir())."""
    jobs = max(1, jobs or os.cpu_count() or 1)
    t0 = time.perf_counter()
    stage: dict[str, Any] = {}
    cache_dir = None
    if any(p.system is not None for p in exp.points):
        from .system_sweep import default_cache_dir
        cache_dir = str(cache if cache is not None else default_cache_dir())
        stage = _price_tiles(exp, cache_dir, jobs, dask, progress)
    tasks = [point_task(exp, p, cache_dir) for p in exp.points]
    bar = Progress(len(tasks), None if progress is True else progress) \
        if progress not in (False, None) else None

    def done(i: int, rec: dict) -> None:
        if bar:
            bar.update(exp.points[i].label(), _failed(rec))

    out, executor = _execute(tasks, jobs, dask, done)
    wall = time.perf_counter() - t0
    points = []
    host_points = []
    for p in exp.points:
        rec, host = out[p.index]
        points.append({"index": p.index, "point": p.coords, **rec})
        host_points.append({"index": p.index, **host})
    return {
        "experiment": exp.name,
        "description": exp.config["experiment"]["description"],
        "vexpsim_version": __version__,
        "source": exp.origin,
        "quick": exp.quick,
        "config": exp.config,
        "summary": summary(points),
        "points": points,
        "host": {"executor": executor, "jobs": jobs, "wall_seconds": wall,
                 "points": host_points, **({"tiles": stage} if stage else {})},
    }


def summary(points: Iterable[dict]) -> dict[str, Any]:
    pts = list(points)
    return {
        "points": len(pts),
        "checks_passed": sum(1 for p in pts if p.get("check", {}).get("passed")),
        "checks_failed": [p["index"] for p in pts
                          if "run_error" not in p and not p["check"]["passed"]],
        "run_errors": [p["index"] for p in pts if "run_error" in p],
    }


def results_ok(results: dict) -> bool:
    s = results["summary"]
    return not s["checks_failed"] and not s["run_errors"]


def failure_lines(results: dict) -> list[str]:
    """One line per failed point: which check failed by how much, or the run error."""
    lines = []
    for p in results["points"]:
        what = (f"{p.get('model')} {p.get('variant')}" if p.get("kernel") == "system"
                else f"{p['kernel']} {p.get('params')}")
        where = f"{results['experiment']} point {p['index']} ({what})"
        if "run_error" in p:
            lines.append(f"{where}: run failed: {p['run_error']}")
        elif p.get("kernel") == "system" and not p["check"]["passed"]:
            lines.append(f"{where}: {p['graph_tile_checks_failed']} simulated tile(s) FAILED "
                         f"their numerical check")
        elif not p["check"]["passed"]:
            parts = [f"{m} = {f['value']:.4g} > bound {f['bound']:.4g}"
                     for m, f in p["check"]["failed"].items()]
            lines.append(f"{where}: numerical check FAILED: {'; '.join(parts)}")
    return lines


def _finite(v: Any) -> Any:
    """Non-finite floats as the strings "inf", "-inf", "nan" (strict JSON has no literal for
    them; error metrics are inf when a kernel writes NaN)."""
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if v != v else ("inf" if v > 0 else "-inf")
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    return v


def json_text(data: Any) -> str:
    """Strict JSON (non-finite floats as strings), indented, with a final newline."""
    return json.dumps(_finite(data), indent=2, allow_nan=False) + "\n"


def write_results(results: dict, outdir: Path) -> list[Path]:
    """DIR/results.json and DIR/results.csv; returns the paths."""
    from ..report.tables import results_csv

    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise UserError(f"{outdir}: exists and is not a directory") from None
    js, csv = outdir / "results.json", outdir / "results.csv"
    js.write_text(json_text(results), encoding="utf-8")
    csv.write_text(results_csv(results["points"]), encoding="utf-8")
    return [js, csv]

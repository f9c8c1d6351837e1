"""Run one kernel of `kernels/` on the simulated cluster and check it against NumPy.

A kernel family registers `Kernel` objects (name -> how to build its inputs, place them in
memory, read its outputs back and compute the float64 reference); `run_kernel` does the
common part: assemble with the shape as assembler symbols, store the inputs, run with timing,
read the outputs, and return one result record (units in keys).

    from vexpsim.experiments.kernelrun import KERNELS, run_kernel
    rec = run_kernel("softmax_vexp_row", {"N": 256}, dist="normal", seed=0)

Families add themselves to KERNELS in vexpsim/experiments/kernels/<family>.py (imported by
`load_kernels()`), one module per family so that they never collide.
"""

from __future__ import annotations

import copy
import importlib
import pkgutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserError

__all__ = ["Kernel", "Extrapolation", "KernelRun", "KERNELS", "KERNEL_DIR", "register",
           "load_kernels", "run_kernel", "share_runs", "input_values", "DISTRIBUTIONS"]

# kernels/ at the repository top level (design.md layout)
KERNEL_DIR = Path(__file__).resolve().parents[2] / "kernels"

DISTRIBUTIONS = ("uniform", "normal", "attention")

# energy totals a record copies from the run (pJ): additive, so an extrapolated record is the
# weighted sum of its runs' values (one list for both, so that neither can miss a key)
ENERGY_TOTALS = ("energy_pj", "energy_cluster_pj", "energy_dynamic_pj", "energy_static_pj")


@dataclass(frozen=True)
class Kernel:
    """How to run one kernel source.

    - `params`: accepted shape parameters and their defaults (all become assembler symbols
      via `defines`, which may add derived ones);
    - `check`: returns a list of problems with a parameter set (e.g. N not a multiple of 16);
    - `inputs(params, dist, rng)`: the input arrays (already rounded to the kernel's format);
    - `place(program, inputs, params)`: write them into the program image (Program.store);
    - `outputs(result, params)`: read the outputs back as a float64 array;
    - `reference(inputs, params)`: the float64 NumPy reference;
    - `tolerance(params, inputs)`: {metric: bound} the check applies (e.g. {"max_rel_error": 0.01});
      the bound is the format's where the exp is exact, the approximation's expected error
      where it is not, with the reason in `tolerance_note`;
    - `phases`: names of the regions between consecutive mcycle reads, in order (region i
      of hart 0, the reporting hart), e.g. ("max", "exp_sum", "normalise"); or a function of
      the params returning them (kernels that loop over blocks repeat their phase names);
      regions with the same name add up in the record's phases_cycles;
    - `extrapolate(params)`: None (simulate the whole shape), or an `Extrapolation`: smaller
      runs whose weighted sum stands for the full run, for kernels whose work repeats
      identically (e.g. FlashAttention-2: the row blocks, each on its own cluster-time, and
      the steady-state K/V tiles: full = n_blocks x [c(a) + (Tc - a) (c(a+1) - c(a))]).
      run_kernel simulates and checks every run and sums cycles, phases, instructions and
      energies with the weights; see `run_kernel`. Only for kernels with a test that shows
      the extrapolated figures close to a full run.
    """

    name: str
    source: str  # path relative to kernels/
    description: str
    params: Mapping[str, int]
    inputs: Callable[[dict, str, np.random.Generator], dict[str, np.ndarray]]
    place: Callable[[Any, dict[str, np.ndarray], dict], None]
    outputs: Callable[[Any, dict], np.ndarray]
    reference: Callable[[dict[str, np.ndarray], dict], np.ndarray]
    tolerance: Callable[[dict, dict[str, np.ndarray]], dict[str, float]]
    tolerance_note: str = ""
    defines: Callable[[dict], dict[str, int]] = field(default=lambda p: dict(p))
    check: Callable[[dict], list[str]] = field(default=lambda p: [])
    phases: tuple[str, ...] | Callable[[dict], tuple[str, ...]] = ()
    harts: int | None = None  # None: the cluster's (SPMD); 1 for single-core kernels
    config: str = "vexp_paper"  # cluster preset it is meant for
    flops: Callable[[dict], float] | None = None  # useful FLOP of one run (for GFLOP/s)
    extrapolate: Callable[[dict], Extrapolation | None] | None = None
    # resolves parameters that default to others (e.g. FA-2's S = 0 -> S = L), before check
    resolve: Callable[[dict], dict] | None = None


@dataclass(frozen=True)
class Extrapolation:
    """The full run as sum(weight x run) over smaller `runs` ((params, weight) pairs);
    `info` (e.g. rows simulated) goes into the record's `extrapolated` field."""

    runs: tuple[tuple[dict, float], ...]
    info: Mapping[str, Any] = field(default_factory=dict)


KERNELS: dict[str, Kernel] = {}


def register(k: Kernel) -> Kernel:
    if k.name in KERNELS:
        raise ValueError(f"kernel {k.name!r} registered twice")
    KERNELS[k.name] = k
    return k


def load_kernels() -> dict[str, Kernel]:
    """Import every family module under vexpsim/experiments/kernels/ (each registers its
    kernels) and return the registry."""
    from . import kernels as pkg
    for m in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"{pkg.__name__}.{m.name}")
    return KERNELS


def input_values(shape: tuple[int, ...], dist: str, rng: np.random.Generator,
                 scale: float = 1.0) -> np.ndarray:
    """float64 test inputs: `uniform` in [-scale, scale], `normal` N(0, scale^2), `attention`
    real SmolLM2 attention scores when available (vexpsim.llm.scores), else an error."""
    if dist == "uniform":
        return rng.uniform(-scale, scale, size=shape)
    if dist == "normal":
        return rng.normal(0.0, scale, size=shape)
    if dist == "attention":
        try:
            from ..llm.scores import attention_score_rows
        except ImportError as exc:
            raise UserError(f"input distribution 'attention' needs the llm extra "
                            f"(pip install 'vexpsim[llm]'): {exc}") from None
        return attention_score_rows(shape, rng)
    raise UserError(f"unknown input distribution {dist!r}; choose one of {DISTRIBUTIONS}")


@dataclass
class KernelRun:
    """Result of run_kernel: the JSON record plus the raw arrays (not serialised)."""

    record: dict
    output: np.ndarray
    reference: np.ndarray
    exec_result: Any


def cluster_problems(k: Kernel, cores: int, dma_cores: int, tcdm_bytes: int) -> list[str]:
    """Why cluster `cores` + `dma_cores` with a `tcdm_bytes` TCDM cannot run kernel `k` (empty:
    it can). The SPMD kernels (harts None) are written for the default layout: CORES compute
    cores, the DMA core as hart CORES (kernels/lib/spmd.S) and buffers sized for a TCDM_BYTES
    TCDM; on another layout they would run, but not as the kernel intends."""
    from .kernels.common import CORES, TCDM_BYTES

    if k.harts is not None:
        return []
    out = []
    if (cores, dma_cores) != (CORES, 1):
        out.append(f"kernel {k.name} is written for {CORES} compute cores + 1 DMA core (hart "
                   f"{CORES}, kernels/lib/spmd.S); the cluster has {cores} + {dma_cores}")
    if tcdm_bytes != TCDM_BYTES:
        out.append(f"kernel {k.name} sizes its buffers for a {TCDM_BYTES // 1024} KiB TCDM; the "
                   f"cluster's tcdm.size is {tcdm_bytes} B")
    return out


def _point(name: str, params: Mapping[str, int] | None, cluster: Any
           ) -> tuple[Kernel, dict, Any]:
    """(kernel, resolved params, cluster) of a kernel point, checked: UserError lists every
    problem of the parameters, then of the cluster layout."""
    from ..arch.config import load_cluster_config

    kernels = load_kernels()
    if name not in kernels:
        raise UserError(f"unknown kernel {name!r}; known: {', '.join(sorted(kernels))}")
    k = kernels[name]
    p = dict(k.params)
    unknown = sorted(set(params or {}) - set(p))
    if unknown:
        raise UserError(f"kernel {name}: unknown parameter(s) {unknown}; accepted: {sorted(p)}")
    p.update(params or {})
    if k.resolve is not None:
        p = k.resolve(p)
    problems = k.check(p)
    if problems:
        raise UserError([f"kernel {name} {p}: {msg}" for msg in problems])
    if cluster is None:
        cluster = load_cluster_config(preset=k.config)
    problems = cluster_problems(k, cluster.cores, cluster.dma_cores, cluster.tcdm.size)
    if problems:
        raise UserError([f"cluster {cluster.name}: {msg}" for msg in problems])
    return k, p, cluster


def kernel_runs(name: str, params: Mapping[str, int] | None = None, *, dist: str = "normal",
                seed: int = 0, cluster: Any = None, timing: bool = True,
                max_steps: int = 10**8, energy_table: str | None = "gf12lp_0p8v"
                ) -> list[tuple[KernelRun, float]]:
    """The simulations behind a kernel point, each with its weight and its exec_result (not
    memoised): the point itself (weight 1) or, for an extrapolated point, the runs that
    run_kernel sums. For re-pricing a point's event counts (benchmarks/energy_sensitivity.py);
    the arguments are run_kernel's."""
    k, p, cluster = _point(name, params, cluster)
    args = dict(dist=dist, seed=seed, cluster=cluster, timing=timing, max_steps=max_steps,
                energy_table=energy_table)
    ext = k.extrapolate(p) if k.extrapolate is not None else None
    parts = [(p, 1.0)] if ext is None else [(dict(rp), float(w)) for rp, w in ext.runs]
    return [(_run_one(k, rp, **args), w) for rp, w in parts]


def run_kernel(name: str, params: Mapping[str, int] | None = None, *, dist: str = "normal",
               seed: int = 0, cluster: Any = None, timing: bool = True,
               max_steps: int = 10**8, energy_table: str | None = "gf12lp_0p8v") -> KernelRun:
    """Assemble, place inputs, run and check kernel `name`. `cluster`: a ClusterConfig (None:
    the kernel's preset). Raises UserError on bad parameters or a failed run; a numerical
    check that fails is reported in the record (`check.passed` false), not raised.

    A kernel whose `extrapolate` returns an Extrapolation for these params is simulated as
    its smaller runs (each with the same dist and seed, each checked): the record is the
    largest run's (error, outputs, per-hart figures, sim) with the full `params`, `check`
    passed only if every run passed, and cycles, phases_cycles, instructions and the
    energies the weighted sums (cycles rounded); `sim.instructions` the instructions of all
    runs; `extrapolated` = {runs: [{params, weight, cycles, check_passed, max_abs_error}],
    **info}; its exec_result is None (the runs are memoised, also across the runner's
    workers: a sweep's points often share them; a memoised run costs no host time)."""
    k, p, cluster = _point(name, params, cluster)
    ext = k.extrapolate(p) if k.extrapolate is not None else None
    args = dict(dist=dist, seed=seed, cluster=cluster, timing=timing, max_steps=max_steps,
                energy_table=energy_table)
    if ext is None:
        return _run_one(k, p, **args)
    runs = [(_run_cached(k, dict(rp), **args), float(w)) for rp, w in ext.runs]
    last = max(runs, key=lambda r: r[0].record.get("cycles", 0))[0]
    rec = dict(last.record)
    rec["params"] = p
    rec.pop("memoised", None)
    # host time actually spent here (0 for memoised runs); the runner moves it under "host"
    secs = sum(r.record["sim"]["host_seconds"] for r, _ in runs)
    ins = sum(r.record["sim"]["instructions"] for r, _ in runs if not r.record.get("memoised"))
    rec["sim"] = {"instructions": sum(r.record["sim"]["instructions"] for r, _ in runs),
                  "host_seconds": secs, "instructions_per_second": ins / secs if secs else 0.0}
    rec["check"] = dict(rec["check"], passed=all(r.record["check"]["passed"] for r, _ in runs))
    rec["extrapolated"] = {
        "runs": [{"params": r.record["params"], "weight": w, "cycles": r.record.get("cycles"),
                  "check_passed": r.record["check"]["passed"],
                  "max_abs_error": r.record["error"]["max_abs_error"]} for r, w in runs],
        **ext.info}

    def wsum(get) -> float:
        return sum(w * get(r.record) for r, w in runs)

    rec["instructions"] = round(wsum(lambda r: r["instructions"]))
    if timing:
        rec["cycles"] = round(wsum(lambda r: r["cycles"]))
        names = {n: None for r, _ in runs for n in r.record["phases_cycles"]}
        rec["phases_cycles"] = {
            n: round(wsum(lambda r, n=n: r["phases_cycles"].get(n, 0))) for n in names}
        for key in ENERGY_TOTALS:
            if key in rec:
                rec[key] = wsum(lambda r, key=key: r[key])
        if "energy_by_component_pj" in rec:
            comps = {c: None for r, _ in runs for c in r.record["energy_by_component_pj"]}
            rec["energy_by_component_pj"] = {
                c: wsum(lambda r, c=c: r["energy_by_component_pj"].get(c, 0.0)) for c in comps}
        lr = last.record
        if rec.get("energy_pj") and rec["cycles"] and lr.get("energy_pj"):
            # power = energy / time, at the energy table's frequency (as the last run's)
            rec["average_power_mw"] = lr["average_power_mw"] * (
                rec["energy_pj"] / rec["cycles"]) / (lr["energy_pj"] / lr["cycles"])
        if k.flops is not None:
            _efficiency(rec, k.flops(p), cluster)
    return KernelRun(rec, last.output, last.reference, last.exec_result)


# Runs of an Extrapolation, memoised (per process; across processes with share_runs): the
# points of a sweep often share them (e.g. FA-2 at every L >= 4 tiles simulates the same 2-
# and 3-tile runs). The simulation is deterministic in these arguments, so a cached run is
# the run; only its record, output and reference are kept (not the memory image).
_RUN_CACHE: dict[str, KernelRun] = {}
_RUN_CACHE_SIZE = 16
_SHARED_DIR: str | None = None  # set by share_runs (the runner's process pool)


def share_runs(path: str | None) -> None:
    """Also memoise extrapolation runs in directory `path`, across processes: the runner's
    pool workers then simulate a run that several points share once (a worker that needs a
    run another one is simulating waits for it). None: per process only."""
    global _SHARED_DIR
    _SHARED_DIR = path


def _shared_run(key: str, compute: Callable[[], KernelRun]) -> tuple[KernelRun, bool]:
    """(run, computed here) through the shared directory: the first process to create
    <hash>.lock simulates and writes <hash>.pkl; the others wait for that file (or simulate
    themselves if the lock goes away without it, e.g. after a failed run)."""
    import hashlib
    import os
    import pickle
    base = Path(_SHARED_DIR) / hashlib.sha256(key.encode()).hexdigest()[:40]
    pkl, lock = base.with_suffix(".pkl"), base.with_suffix(".lock")
    while True:
        if pkl.exists():
            return pickle.loads(pkl.read_bytes()), False
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            time.sleep(0.2)
            continue
        os.close(fd)
        try:
            run = compute()
            tmp = base.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(pickle.dumps(run))
            os.replace(tmp, pkl)
            return run, True
        finally:
            lock.unlink(missing_ok=True)


def _run_cached(k: Kernel, p: dict, **args: Any) -> KernelRun:
    import json
    key = json.dumps([k.name, p, repr(args["cluster"]),
                      {a: v for a, v in args.items() if a != "cluster"}],
                     sort_keys=True, default=str)
    hit = _RUN_CACHE.get(key)
    if hit is None:
        def compute() -> KernelRun:
            run = _run_one(k, p, **args)
            return KernelRun(run.record, run.output, run.reference, None)
        if _SHARED_DIR is not None:
            run, fresh = _shared_run(key, compute)
        else:
            run, fresh = compute(), True
        if len(_RUN_CACHE) >= _RUN_CACHE_SIZE:
            _RUN_CACHE.pop(next(iter(_RUN_CACHE)))
        _RUN_CACHE[key] = run
        if fresh:
            return KernelRun(copy.deepcopy(run.record), run.output, run.reference, None)
        hit = run
    rec = copy.deepcopy(hit.record)
    rec["memoised"] = True  # no host time spent on it in this call
    rec["sim"].update(host_seconds=0.0, instructions_per_second=0.0)
    return KernelRun(rec, hit.output, hit.reference, None)


def _efficiency(rec: dict, flop: float, cluster: Any) -> None:
    rec["flop"] = flop
    if rec.get("energy_pj") and rec["cycles"]:
        from ..energy.accounting import efficiency
        eff = efficiency(flop, rec["cycles"], rec["energy_pj"], cluster.frequency_hz)
        rec["gflop_per_s"] = eff["gflop_per_s"]
        rec["gflop_per_s_per_w"] = eff["gflop_per_s_per_w"]


def _run_one(k: Kernel, p: dict, *, dist: str, seed: int, cluster: Any, timing: bool,
             max_steps: int, energy_table: str | None) -> KernelRun:
    """One simulation of kernel `k` with the checked params `p`."""
    from ..arch.functional import iss_config, run_program
    from ..asm import assemble
    from ..numerics.reference import error_metrics

    name = k.name
    cfg = iss_config(cluster)
    rng = np.random.default_rng(seed)
    inputs = k.inputs(p, dist, rng)
    path = KERNEL_DIR / k.source
    program = assemble(path.read_text(encoding="utf-8"), filename=str(path),
                       defines=k.defines(p), include_dirs=(str(KERNEL_DIR),),
                       tcdm_base=cfg.tcdm_base, text_base=cfg.main_base)
    k.place(program, inputs, p)
    t0 = time.perf_counter()
    res = run_program(program, harts=k.harts, max_steps=max_steps, config=cfg, timing=timing)
    secs = time.perf_counter() - t0
    bad = [h.hartid for h in res.harts if h.exit_code != 0]
    if bad:
        raise UserError(f"kernel {name} {p}: harts {bad} did not exit with 0 "
                        f"({[res.harts[i].exit_code for i in bad]})")
    out = k.outputs(res, p)
    ref = k.reference(inputs, p)
    err = error_metrics(out, ref)
    tol = k.tolerance(p, inputs)
    failed = {m: (err[m], b) for m, b in tol.items() if not err[m] <= b}
    data = res.to_json()
    if timing and energy_table:
        from ..energy.accounting import add_energy, default_instances
        from ..energy.model import load_energy_table
        # the run's harts; the EXP block's static power only if the config has the unit
        inst = default_instances(data, frozenset({"exp"} if cluster.fpu.exp.enabled else ()))
        add_energy(data, load_energy_table(energy_table), inst)
    rec: dict[str, Any] = {
        "kernel": name, "params": p, "dist": dist, "seed": seed, "config": cluster.name,
        "cycles": data["cycles"], "instructions": res.instructions,
        "error": err,
        "check": {"passed": not failed, "tolerance": tol, "note": k.tolerance_note,
                  "failed": {m: {"value": v, "bound": b} for m, (v, b) in failed.items()}},
        "sim": {"instructions": res.instructions, "host_seconds": secs,
                "instructions_per_second": res.instructions / secs if secs else 0.0},
    }
    if timing:
        h0 = data["harts"][0]["timing"]
        regions = h0["regions"]
        names = k.phases(p) if callable(k.phases) else k.phases
        phases: dict[str, int] = {}
        for i, g in enumerate(regions):
            name = names[i] if i < len(names) else f"region{i}"
            phases[name] = phases.get(name, 0) + g["cycles"]
        rec["phases_cycles"] = phases
        rec["harts"] = [{"hart": h["hart"], "cycles": h["timing"]["cycles"],
                         "retired": h["retired"], "stalls": h["timing"]["stalls"]}
                        for h in data["harts"]]
        for key in (*ENERGY_TOTALS, "energy_by_component_pj", "average_power_mw",
                    "static_power_mw", "energy_table"):
            if key in data:
                rec[key] = data[key]
        if k.flops is not None:
            _efficiency(rec, k.flops(p), cluster)
    return KernelRun(rec, out, ref, res)

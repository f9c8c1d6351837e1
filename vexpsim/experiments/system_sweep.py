"""End-to-end points of an experiment (workload type "system"): each point is one prefill of
one model in one variant on the multi-cluster system, its tiles priced by instruction-level
simulation (`SimProvider`, cached on disk by `CachedProvider`).

A sweep runs in two stages so that the simulations use every worker:
1. `tile_requests`: the distinct tile runs every point needs (after the steady-state
   expansion of GEMM K chunks and FA-2 column blocks to repeat counts 1 and 2), found by
   building each point's schedule with a recording provider (no simulation);
   the runner prices those not yet in the cache on the process pool or Dask
   (`price_tile`, one task per tile; the cache writes are atomic, see tilecost.py);
2. `run_system_point`: each point's schedule from the (now warm) cache.
A warm run skips stage 1's simulations entirely.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..arch.system import load_system_config
from ..arch.tilecost import CachedProvider, TileCost
from ..errors import UserError
from .simprovider import SimProvider
from .system_run import build_system_ops, run_model
from .workloads.transformer import load_model

__all__ = ["tile_requests", "price_tile", "run_system_point", "default_cache_dir",
           "CATEGORIES", "shares"]

# report categories of cluster compute (region_cycles keys -> category)
CATEGORIES = ("gemm", "softmax", "gelu", "rest")


def default_cache_dir() -> Path:
    """$VEXPSIM_TILE_CACHE, else ~/.cache/vexpsim/tiles."""
    env = os.environ.get("VEXPSIM_TILE_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "vexpsim" / "tiles"


class _Recorder:
    """A provider that records what it is asked and answers a placeholder cost."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, tuple[int, ...]]] = []

    def cost(self, kernel: str, shape: tuple[int, ...], variant: str,
             cluster_config_id: str) -> TileCost:
        self.asked.append((kernel, tuple(shape)))
        return TileCost(compute_cycles=1.0, bytes_in=0, bytes_out=0)


def _setup(spec: dict[str, Any]):
    cfg = tile_system_config(spec)
    model = load_model(spec["model"])
    return cfg, model


def tile_requests(spec: dict[str, Any]) -> list[tuple[str, tuple[int, ...], str]]:
    """The distinct (tiling kernel, shape, variant) runs the point `spec` needs."""
    cfg, model = _setup(spec)
    rec = _Recorder()
    build_system_ops(model, cfg, rec, spec["variant"], "-", spec.get("seq"),
                     spec.get("attention_split", "head"), spec.get("head_rows", 1))
    return [(k, s, spec["variant"]) for k, s in dict.fromkeys(rec.asked)]


def tile_system(spec: dict[str, Any]) -> dict[str, Any]:
    """What the tiles of point `spec` depend on besides their shape and variant: its system
    config (which names the cluster and the energy table); a tile task carries it."""
    return {"system": spec["system"], "system_set": list(spec.get("system_set", []))}


def tile_system_config(spec: dict[str, Any]) -> Any:
    """The system config of a point `spec` or of its tile_system() description."""
    return load_system_config(spec["system"], spec.get("system_set", []))


def tile_provider(cache: str | None, cfg: Any = None
                  ) -> tuple[SimProvider, CachedProvider | SimProvider]:
    """The tile provider of system config `cfg` (SimProvider.for_system; None: the defaults)
    and the same behind the tile cache `cache` (when given)."""
    sim = SimProvider() if cfg is None else SimProvider.for_system(cfg)
    return sim, (CachedProvider(sim, cache) if cache else sim)


def price_tile(task: dict[str, Any]) -> tuple[dict, dict]:
    """Worker task: price one tile into the cache. Returns (record, host) like run_point."""
    import time
    t0 = time.perf_counter()
    kernel, shape, variant = task["tile"]
    rec: dict[str, Any] = {"tile": [kernel, list(shape), variant]}
    try:
        cfg = tile_system_config(task["system"]) if task.get("system") else None
        sim, prov = tile_provider(task["cache"], cfg)
        c = prov.cost(kernel, tuple(shape), variant, sim.cluster_config_id(variant))
        rec["check"] = {"passed": c.error.get("check_passed", 1.0) == 1.0}
        rec["compute_cycles"] = c.compute_cycles
    except UserError as exc:
        rec["run_error"] = str(exc)
    return rec, {"host_seconds": time.perf_counter() - t0}


def shares(rec: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Shares of cluster compute time and of energy by category (CATEGORIES): region
    `gemm` -> gemm, `softmax` -> softmax (the exponentials of FA-2 and the final softmax),
    `gelu` -> gelu (its exponential), everything else (LayerNorm, residual) -> rest. Energy:
    tile energy by region (split in proportion to region cycles), plus main-memory and idle
    energy, which go to `rest` (and are also given on their own, `memory_and_idle`)."""
    def cat(r: str) -> str:
        return r if r in ("gemm", "softmax", "gelu") else "rest"

    t: dict[str, float] = dict.fromkeys(CATEGORIES, 0.0)
    for r, c in rec["compute_cycles_by_region"].items():
        t[cat(r)] += c
    tt = sum(t.values()) or 1.0
    out = {"time": {k: v / tt for k, v in t.items()}}
    e = rec.get("energy_pj")
    if e:
        en: dict[str, float] = dict.fromkeys(CATEGORIES, 0.0)
        for r, v in rec["graph_tile_energy_by_region_pj"].items():
            en[cat(r)] += v
        other = e["total"] - e["clusters_busy"]
        en["rest"] += other
        et = e["total"] or 1.0
        out["energy"] = {k: v / et for k, v in en.items()}
        out["energy"]["memory_and_idle"] = other / et
    return out


def run_system_point(task: dict[str, Any]) -> tuple[dict, dict]:
    """Worker task: one point's prefill with simulated tiles. (record, host)."""
    import time
    t0 = time.perf_counter()
    spec = task["system"]
    base = {k: spec.get(k) for k in ("model", "variant", "seq", "system", "attention_split",
                                     "head_rows")}
    try:
        cfg, model = _setup(spec)
        sim, prov = tile_provider(task.get("cache"), cfg)
        runs0 = sim.runs
        rec = run_model(model, cfg, prov, spec["variant"], sim.cluster_config_id(spec["variant"]),
                        spec.get("seq"), spec.get("attention_split", "head"),
                        head_rows=spec.get("head_rows", 1), max_units=spec.get("max_units"))
    except UserError as exc:
        return {**base, "kernel": "system", "run_error": str(exc)}, \
            {"host_seconds": time.perf_counter() - t0}
    host = {"host_seconds": time.perf_counter() - t0, "tile_runs": sim.runs - runs0,
            "model_host_seconds": rec.pop("host_seconds")}
    if isinstance(prov, CachedProvider):
        host["cache_hits"], host["cache_misses"] = prov.hits, prov.misses
    rec["kernel"] = "system"
    rec["shares"] = shares(rec)
    rec["check"] = {"passed": rec["graph_tile_checks_failed"] == 0,
                    "note": "every simulated tile passed its kernel's numerical check"}
    rec["cycles"] = rec["latency_cycles"]
    return rec, host

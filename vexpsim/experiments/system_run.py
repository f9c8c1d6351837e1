"""End-to-end prefill of a transformer on the multi-cluster system: model -> operator graph ->
tiles -> tile costs (any TileCostProvider, each distinct (kernel, shape) priced once) ->
SimPy system schedule -> one result record."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from ..arch.system import SysOp, SystemConfig, SysTile, extrapolation_estimate, simulate_system
from ..arch.tilecost import ExtrapolatingProvider, TileCost, TileCostProvider
from ..energy.model import load_energy_table
from ..errors import UserError
from .workloads.tiling import REPEAT_DIMS, TilingParams, tile_op
from .workloads.transformer import ModelConfig, build_graph, param_count

__all__ = ["run_model", "build_system_ops"]


def build_system_ops(model: ModelConfig, cfg: SystemConfig, provider: TileCostProvider,
                     variant: str, cluster_config_id: str, seq_len: int | None = None,
                     attention_split: str = "head", head_rows: int = 1,
                     ) -> tuple[list[SysOp], dict[str, Any]]:
    """The graph as scheduled operators, plus statistics (graph totals, distinct tiles,
    cost sources). Each distinct (kernel, shape) is priced once; repeat counts (GEMM K
    chunks, FA-2 column blocks) are extrapolated from runs with 1 and 2 repeats."""
    graph = build_graph(model, seq_len, head_rows=head_rows)
    tp = TilingParams(cfg.clusters, cfg.tile_budget_bytes, cfg.dma_buffers, attention_split)
    priced = ExtrapolatingProvider(provider, REPEAT_DIMS)
    memo: dict[tuple, TileCost] = {}
    ops: list[SysOp] = []
    sources: Counter[str] = Counter()
    tiles_total = 0
    energy_by_region: Counter[str] = Counter()  # tile energy split by region cycles
    for op in graph:
        tiles = []
        for t in tile_op(op, model, tp):
            key = (t.kernel, t.shape)
            cost = memo.get(key)
            if cost is None:
                cost = memo[key] = priced.cost(t.kernel, t.shape, variant, cluster_config_id)
                sources[cost.source] += 1
            tiles.append(SysTile(t.cluster, cost.compute_cycles, cost.bytes_in,
                                 cost.bytes_out, cost.energy_pj, cost.region_cycles))
            if cost.energy_pj is not None:
                total = sum(cost.region_cycles.values())
                for r, c in cost.region_cycles.items():
                    energy_by_region[r] += cost.energy_pj * c / total if total else 0.0
        tiles_total += len(tiles)
        ops.append(SysOp(op.name, op.kind, tiles, op.deps))
    stats = {
        "ops": len(graph),
        "flops": sum(op.flops for op in graph),
        "min_main_memory_bytes": sum(op.bytes for op in graph),
        "params": param_count(model, graph),
        "flops_by_kind": _sum_by(graph, "flops"),
        "tiles": tiles_total,
        "distinct_tile_shapes": len(memo),
        "tile_cost_sources": dict(sources),
        # a tile's energy split over its regions in proportion to their cycles (approximate:
        # the energy of a region is not measured separately)
        "tile_energy_by_region_pj": dict(energy_by_region),
        "tile_checks_failed": sum(1 for c in memo.values()
                                  if c.error.get("check_passed", 1.0) < 1.0),
    }
    return ops, stats


def _sum_by(graph: list, attr: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for op in graph:
        out[op.kind] = out.get(op.kind, 0) + getattr(op, attr)
    return out


def run_model(model: ModelConfig, cfg: SystemConfig, provider: TileCostProvider,
              variant: str, cluster_config_id: str, seq_len: int | None = None,
              attention_split: str = "head", head_rows: int = 1,
              max_units: int | None = None) -> dict[str, Any]:
    """Simulate one prefill and return its record (units in the keys). max_units: see
    `simulate_system` (None: every tile scheduled individually)."""
    t0 = time.perf_counter()
    ops, stats = build_system_ops(model, cfg, provider, variant, cluster_config_id, seq_len,
                                  attention_split, head_rows)
    table = load_energy_table(cfg.energy_table)
    problems = [f"system config: {key}: energy table {table.name!r} has no event {ev!r}"
                for key, ev in (("main_memory_byte_event", cfg.main_memory_byte_event),
                                ("idle_event", cfg.idle_event)) if ev not in table.events]
    if problems:
        raise UserError(problems)
    energy = {"main_memory_pj_per_byte": table.events[cfg.main_memory_byte_event].pj,
              "idle_pj_per_cluster_cycle": (table.events[cfg.idle_event].pj
                                            * cfg.harts)}
    result = simulate_system(ops, cfg, energy, max_units)
    analytical = set(stats["tile_cost_sources"]) != {"simulated"}
    return {
        "model": model.name,
        "seq_len": seq_len or model.seq_len,
        "variant": variant,
        "system": cfg.name,
        "cluster_config_id": cluster_config_id,
        "attention_split": attention_split,
        "head_rows": head_rows,
        "max_units_per_cluster_op": max_units,
        "analytical": analytical,
        "cost_label": ("ANALYTICAL ESTIMATE (roofline tile costs, not simulated)"
                       if analytical else "simulated tiles"),
        **{f"graph_{k}": v for k, v in stats.items()},
        **result.as_dict(),
        "extrapolation_estimate_cycles": extrapolation_estimate(ops, cfg)["latency_cycles"],
        "host_seconds": time.perf_counter() - t0,
    }

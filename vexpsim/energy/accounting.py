"""Price a run: turn the event counts of an exec-JSON dict into energy, power and efficiency.

    energy = Σ_harts Σ_events count × pJ   (timing.events, plus one l0_fetch per core_issued)
           + Σ_cluster events count × pJ  (data["cluster_events"], when the run has them)
           + Σ_blocks static mW × instances × time

The exec JSON is what `ExecResult.to_json()` returns (`vexpsim exec --json`); this module reads
it as a plain dict and never imports the hardware models.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import UserError
from .model import EnergyModel, Instances

__all__ = ["add_energy", "price_exec", "default_instances", "efficiency", "CLUSTER_EVENTS"]

# data["cluster_events"] key -> energy-table event(s). Any other key must itself be an event of
# the table (so a new counter is priced by adding a table row, never silently free). A main-
# memory transfer costs the on-chip path and the memory device (component "main_memory").
CLUSTER_EVENTS: dict[str, tuple[str, ...]] = {
    "tcdm_read": ("tcdm_read",),
    "tcdm_write": ("tcdm_write",),
    "tcdm_conflict": ("tcdm_conflict",),
    "dma_bytes_main_to_tcdm": ("dma_byte_main_to_tcdm", "main_memory_byte"),
    "dma_bytes_tcdm_to_main": ("dma_byte_tcdm_to_main", "main_memory_byte"),
    "dma_bytes_tcdm_to_tcdm": ("dma_byte_tcdm_to_tcdm",),
    "narrow_main_bytes": ("narrow_byte_main", "main_memory_byte"),
    "ssr_elements": ("ssr_element",),
    "barrier_wait_cycles": ("barrier_wait_cycle",),
}
MAIN_MEMORY = "main_memory"  # component of the memory device's energy
FETCH_EVENT = "l0_fetch"  # one per instruction the integer core issues (FREP replays: none)


def default_instances(data: Mapping, features: frozenset[str] | None = None) -> Instances:
    """The cluster a run simulated: every hart in the JSON; the last one is the DMA core when
    there are at least two (design.md 'The DSL'), a single hart is a compute core.
    `features`: optional units the configuration has (e.g. {"exp"}); None keeps the
    Instances default."""
    n = len(data["harts"])
    dma = 1 if n >= 2 else 0
    inst = Instances(compute_cores=n - dma, dma_cores=dma)
    if features is not None:
        from dataclasses import replace
        inst = replace(inst, features=frozenset(features))
    return inst


def _add(into: dict[str, float], items: Mapping[str, float]) -> None:
    for k, v in items.items():
        into[k] = into.get(k, 0.0) + v


def price_exec(data: Mapping, model: EnergyModel, instances: Instances | None = None) -> dict:
    """The energy of an exec-JSON run as a dict (see add_energy for the keys); per-hart
    dynamic breakdowns under "harts" (a list aligned with data["harts"], None for untimed)."""
    cycles = int(data["cycles"])
    inst = instances or default_instances(data)
    by_comp: dict[str, float] = {}
    by_event: dict[str, float] = {}
    harts: list[dict | None] = []
    problems: list[str] = []
    for i, h in enumerate(data["harts"]):
        t = h.get("timing")
        if t is None:
            harts.append(None)
            continue
        counts = dict(t["events"])
        counts[FETCH_EVENT] = counts.get(FETCH_EVENT, 0) + t.get("core_issued", 0)
        try:
            e = model.breakdown(counts, cycles)
        except UserError as exc:
            problems += [f"{p} (hart {h.get('hart', i)})" for p in exc.problems]
            harts.append(None)
            continue
        harts.append(e.as_dict())
        _add(by_comp, e.by_component_pj)
        _add(by_event, e.by_event_pj)
    cluster = data.get("cluster_events")
    if cluster is not None:
        counts = {}
        for key, n in cluster.items():
            for ev in CLUSTER_EVENTS.get(key, (key,)):
                counts[ev] = counts.get(ev, 0) + n
        try:
            e = model.breakdown(counts, cycles)
            _add(by_comp, e.by_component_pj)
            _add(by_event, e.by_event_pj)
        except UserError as exc:
            problems += [f"{p} (cluster_events; known keys: {', '.join(CLUSTER_EVENTS)})"
                         for p in exc.problems]
    if problems:
        raise UserError(problems)
    dynamic = sum(by_event.values())
    static = model.static_energy(inst, cycles)
    _add(by_comp, static.by_component_pj)
    _add(by_event, static.by_event_pj)
    total = dynamic + static.total_pj
    seconds = cycles / model.frequency_hz
    missing = [] if cluster is not None else [
        "no cluster_events in this run: TCDM bank, SSR, DMA and barrier energy not counted"]
    return {
        "energy_pj": total,
        # the cluster alone: without the main-memory device (off-chip, outside the cluster)
        "energy_cluster_pj": total - by_comp.get(MAIN_MEMORY, 0.0),
        "energy_dynamic_pj": dynamic,
        "energy_static_pj": static.total_pj,
        "energy_by_component_pj": dict(sorted(by_comp.items())),
        "energy_by_event_pj": dict(sorted(by_event.items())),
        "average_power_mw": total * 1e-12 / seconds * 1e3 if cycles else 0.0,
        "static_power_mw": sum(model.static_power_mw(inst).values()),
        "energy_table": model.name,
        "energy_instances": inst.as_dict(),
        "energy_note": "; ".join(
            ["events x pJ per hart (incl. one L0 fetch per core-issued instruction) and per "
             "cluster, plus static power x time of every block"] + missing),
        "harts": harts,
    }


def add_energy(data: dict, model: EnergyModel, instances: Instances | None = None) -> None:
    """Add the energy of an exec-JSON run to `data`, in place: `energy_pj` (total),
    `energy_dynamic_pj`, `energy_static_pj`, `energy_by_component_pj`, `energy_by_event_pj`
    (static entries as `leakage.NAME`), `energy_cluster_pj` (without the main-memory
    device), `average_power_mw` at the table's frequency,
    `static_power_mw`, `energy_table`, `energy_instances`, `energy_note`; and each timed
    hart's dynamic breakdown as `timing.energy`. `instances`: the cluster's make-up (default:
    from the harts in the run, see default_instances)."""
    out = price_exec(data, model, instances)
    for h, e in zip(data["harts"], out.pop("harts"), strict=True):
        if e is not None:
            h["timing"]["energy"] = e
    data.update(out)


def efficiency(flop: float, cycles: int, energy_pj: float, frequency_hz: float) -> dict:
    """Throughput and energy efficiency of a run doing `flop` floating-point operations:
    GFLOP/s at `frequency_hz`, average power (mW), GFLOP/s/W and pJ/flop."""
    if cycles <= 0 or energy_pj <= 0 or frequency_hz <= 0:
        raise ValueError(f"efficiency needs cycles, energy and frequency > 0, got cycles="
                         f"{cycles}, energy_pj={energy_pj}, frequency_hz={frequency_hz}")
    seconds = cycles / frequency_hz
    watts = energy_pj * 1e-12 / seconds
    gflops = flop / seconds / 1e9
    return {"gflop_per_s": gflops, "average_power_mw": watts * 1e3,
            "gflop_per_s_per_w": gflops / watts, "pj_per_flop": energy_pj / flop if flop else 0.0}

"""Multi-cluster system model (SimPy): clusters in groups, a shared main memory (HBM), a wide
link per group, one DMA per cluster; tiles priced by a `TileCostProvider` are scheduled here.

Model (docs/system.md has the full statement):
- Every cluster runs its tile list in order as a 3-stage pipeline: DMA-in, compute, DMA-out,
  with `dma_buffers` TCDM buffers per direction (2 = double buffering), so the transfer of
  tile i+1 (in) and tile i-1 (out) overlap the compute of tile i.
- A transfer waits `hbm_latency_cycles`, then flows through the links on its path: the
  cluster's DMA (with one channel reads and writes share it; with more, each direction has
  the full width), the group's read or write link,
  and the HBM (reads and writes share it). Link bandwidth is shared by the flows crossing it
  with max-min fairness (a fluid "progressive filling" model): whenever a flow starts or
  ends, all rates are recomputed, so contention is modelled, not corrected by a factor.
- An operator's tiles may start (DMA-in) only when every operator it depends on has finished
  all its tiles (a system-wide barrier per dependency; no barrier cost is charged).

`extrapolation_estimate` is the predecessor's rule (vexp_details.md §3) for comparison:
per-cluster sums of (compute + transfer / (DMA bandwidth x bwcf)) with
bwcf = 1/ceil(active clusters / groups), no overlap, operators back to back.
"""

from __future__ import annotations

import math
import tomllib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

import simpy

from ..errors import UserError
from ..schema import (
    Section,
    apply_overrides,
    describe,
    format_value,
    override_notes,
    read_toml,
    schema_from_dict,
    validate,
)
from .config import PRESETS, cluster_config_dict
from .tilecost import config_id

__all__ = ["SystemConfig", "load_system_config", "describe_system", "SCHEMA", "SysTile",
           "SysOp", "SystemResult", "simulate_system", "extrapolation_estimate", "FluidNetwork",
           "SYSTEM_CONFIGS"]

SYSTEM_CONFIGS = ("occamy",)
_SCHEMA_FILE = "system_schema.toml"


def _config_text(name: str) -> str:
    return resources.files("vexpsim.arch").joinpath("configs", name).read_text(encoding="utf-8")


SCHEMA: Section = schema_from_dict(tomllib.loads(_config_text(_SCHEMA_FILE)),
                                   origin=f"vexpsim/arch/configs/{_SCHEMA_FILE}")


@dataclass(frozen=True)
class SystemConfig:
    """A validated system configuration. The cluster-derived values (tcdm_bytes,
    compute_cores, harts, dma_bytes_per_cycle, frequency_hz) come from the cluster config."""

    name: str
    cluster: str
    clusters: int
    groups: int
    hbm_bytes_per_cycle: float
    hbm_latency_cycles: float
    group_bytes_per_cycle: float
    dma_buffers: int
    tcdm_reserved_bytes: int
    energy_table: str
    main_memory_byte_event: str
    idle_event: str
    tcdm_bytes: int
    compute_cores: int
    harts: int
    dma_bytes_per_cycle: float
    dma_channels: int
    frequency_hz: float
    cluster_config: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def clusters_per_group(self) -> int:
        return math.ceil(self.clusters / self.groups)

    def group_of(self, cluster: int) -> int:
        """Clusters are assigned to groups contiguously (0-3 -> group 0 in Occamy)."""
        return cluster // self.clusters_per_group

    @property
    def tile_budget_bytes(self) -> int:
        return self.tcdm_bytes - self.tcdm_reserved_bytes

    @property
    def cluster_config_id(self) -> str:
        """Hash of the effective cluster configuration (key of the tile-cost cache)."""
        return config_id(self.cluster_config)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name != "cluster_config"}


def describe_system(cfg: SystemConfig) -> dict[str, dict[str, Any]]:
    """Each system field's value, default, unit, doc and source (for reports)."""
    return describe({k: getattr(cfg, k) for k in SCHEMA.fields}, SCHEMA)


def _check_system(c: dict) -> Iterable[tuple[str, str]]:
    if c["groups"] > c["clusters"]:
        yield "groups", f"must be <= clusters ({c['clusters']}), got {c['groups']}"


def load_system_config(name_or_path: str | Path = "occamy",
                       overrides: Iterable[str] | Mapping[str, Any] = ()) -> SystemConfig:
    """Load a shipped system config by name (SYSTEM_CONFIGS) or a TOML file by path;
    `overrides` are `key=VALUE` strings (TOML literals) or a mapping key -> value. Every
    problem is reported at once with its key path (UserError)."""
    if isinstance(overrides, Mapping):
        overrides = [f"{k}={format_value(v)}" for k, v in overrides.items()]
    overrides = list(overrides)
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        origin = str(p)
        data = read_toml(p)
    else:
        if str(name_or_path) not in SYSTEM_CONFIGS:
            raise UserError(f"unknown system config {name_or_path!r}; shipped: "
                            f"{', '.join(SYSTEM_CONFIGS)}, or give a path to a .toml file")
        origin = f"vexpsim/arch/configs/{name_or_path}.toml"
        data = read_toml(origin, text=_config_text(f"{name_or_path}.toml"), origin=origin)
    data = apply_overrides(data, overrides)
    values = validate(data, SCHEMA, origin=origin, notes=override_notes(overrides),
                      checks=(_check_system,))
    cl = values["cluster"]
    if cl in PRESETS:
        cc = cluster_config_dict(preset=cl)
    else:
        cpath = Path(cl) if Path(cl).is_absolute() or p.suffix != ".toml" else p.parent / cl
        cc = cluster_config_dict(cpath)
    tcdm = cc["tcdm"]["size"]
    if values["tcdm_reserved_bytes"] >= tcdm:
        raise UserError(f"{origin}: tcdm_reserved_bytes: must be < the cluster's tcdm.size "
                        f"({tcdm}), got {values['tcdm_reserved_bytes']}")
    return SystemConfig(
        **values, tcdm_bytes=tcdm, compute_cores=cc["cores"],
        harts=cc["cores"] + cc["dma_cores"], dma_bytes_per_cycle=float(cc["dma"]["width"]),
        dma_channels=cc["dma"]["channels"],
        frequency_hz=float(cc["frequency_hz"]), cluster_config=cc)


# ---------------------------------------------------------------------------------------------
# Inputs and outputs of the scheduler


@dataclass(frozen=True)
class SysTile:
    """One tile as scheduled: cluster it runs on and its cost (from a TileCost)."""

    cluster: int
    compute_cycles: float
    bytes_in: int
    bytes_out: int
    energy_pj: float | None = None
    region_cycles: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SysOp:
    """An operator: its tiles (each with a cluster) and the operators it depends on."""

    name: str
    kind: str
    tiles: Sequence[SysTile]
    deps: tuple[str, ...] = ()


@dataclass
class SystemResult:
    cycles: float
    frequency_hz: float
    busy_cycles: list[float]
    bytes_read: float
    bytes_written: float
    bytes_by_link: dict[str, float]
    op_span: dict[str, tuple[float, float]]
    compute_cycles_by_kind: dict[str, float]
    compute_cycles_by_region: dict[str, float]
    wall_cycles_by_kind: dict[str, float]
    energy_pj: dict[str, float] | None

    @property
    def seconds(self) -> float:
        return self.cycles / self.frequency_hz

    def as_dict(self) -> dict[str, Any]:
        n = len(self.busy_cycles)
        return {
            "latency_cycles": self.cycles,
            "latency_s": self.seconds,
            "cluster_busy_cycles": list(self.busy_cycles),
            "cluster_idle_cycles": [self.cycles - b for b in self.busy_cycles],
            "cluster_utilisation_mean": (sum(self.busy_cycles) / (n * self.cycles)
                                         if self.cycles and n else 0.0),
            "main_memory_bytes_read": self.bytes_read,
            "main_memory_bytes_written": self.bytes_written,
            "bytes_by_link": dict(self.bytes_by_link),
            "compute_cycles_by_kind": dict(self.compute_cycles_by_kind),
            "compute_cycles_by_region": dict(self.compute_cycles_by_region),
            "wall_cycles_by_kind": dict(self.wall_cycles_by_kind),
            "energy_pj": None if self.energy_pj is None else dict(self.energy_pj),
        }


# ---------------------------------------------------------------------------------------------
# Fluid max-min fair bandwidth sharing


class FluidNetwork:
    """Links with a capacity (bytes/cycle); flows crossing several links share each link
    max-min fairly. Rates are recomputed whenever a flow starts or ends (event-driven fluid
    simulation: between two such events every rate is constant)."""

    def __init__(self, env: simpy.Environment, capacity: Mapping[str, float]) -> None:
        self.env = env
        self.capacity = dict(capacity)
        self.flows: dict[int, list] = {}  # id -> [remaining, links, event, rate, total]
        self.bytes_by_link: dict[str, float] = defaultdict(float)
        self._last = env.now
        self._seq = 0
        self._version = 0
        self._memo: dict[tuple, dict[tuple[str, ...], float]] = {}

    def transfer(self, nbytes: float, links: tuple[str, ...]) -> simpy.Event:
        """Event that fires when `nbytes` have crossed every link of `links`."""
        ev = self.env.event()
        if nbytes <= 0:
            ev.succeed()
            return ev
        self._advance()
        self._seq += 1
        self.flows[self._seq] = [float(nbytes), links, ev, 0.0, float(nbytes)]
        for link in links:
            self.bytes_by_link[link] += nbytes
        self._reschedule()
        return ev

    def _advance(self) -> None:
        dt = self.env.now - self._last
        if dt > 0:
            for f in self.flows.values():
                f[0] -= f[3] * dt
        self._last = self.env.now

    def _rates(self) -> None:
        """Max-min fair rates by progressive filling: the link with the smallest fair share
        fixes the rate of its unfixed flows; repeat with the remaining capacity. Flows with
        the same path get the same rate, so the result depends only on the multiset of
        paths: it is memoised on that (steady states repeat the same few patterns)."""
        key = tuple(sorted(f[1] for f in self.flows.values()))
        known = self._memo.get(key)
        if known is not None:
            for f in self.flows.values():
                f[3] = known[f[1]]
            return
        users: dict[str, list[list]] = {}
        for f in self.flows.values():
            f[3] = -1.0  # not fixed yet
            for link in f[1]:
                users.setdefault(link, []).append(f)
        remaining = {link: self.capacity[link] for link in users}
        count = {link: len(fl) for link, fl in users.items()}
        while count:
            # ties broken by link name: deterministic
            share, best_link = min((remaining[lk] / n, lk) for lk, n in count.items())
            for f in users[best_link]:
                if f[3] >= 0.0:
                    continue
                f[3] = share
                for link in f[1]:
                    remaining[link] -= share
                    count[link] -= 1
                    if count[link] == 0:
                        del count[link]
        if len(self._memo) < 100_000:
            self._memo[key] = {f[1]: f[3] for f in self.flows.values()}

    def _reschedule(self) -> None:
        # A flow whose remaining time is below the float resolution of the clock (now + dt
        # == now late in a long run) is complete: waiting for it would never advance time.
        eps_t = 1e-12 * max(1.0, self.env.now)
        self._version += 1
        while True:
            for fid in [fid for fid, f in self.flows.items()
                        if f[0] <= 1e-9 * f[4] or (f[3] > 0 and f[0] <= f[3] * eps_t)]:
                self.flows.pop(fid)[2].succeed()
            if not self.flows:
                return
            self._rates()
            dt = min(f[0] / f[3] for f in self.flows.values())
            if dt > eps_t:
                break
        version = self._version
        self.env.timeout(dt).callbacks.append(lambda _e: self._wake(version))

    def _wake(self, version: int) -> None:
        if version != self._version:
            return
        self._advance()
        self._reschedule()


# ---------------------------------------------------------------------------------------------
# The system simulation


def _links(cfg: SystemConfig, cluster: int, write: bool) -> tuple[str, ...]:
    g = cfg.group_of(cluster)
    rw = "wr" if write else "rd"
    # one channel serves one transfer at a time: reads and writes share it; with two or more
    # channels a read and a write proceed concurrently, each at the data-path width
    dma = f"dma{cluster}" if cfg.dma_channels == 1 else f"dma{cluster}_{rw}"
    return (dma, f"group{g}_{rw}", "hbm")


def _merge(t: SysTile, m: int) -> SysTile:
    if m == 1:
        return t
    return SysTile(t.cluster, t.compute_cycles * m, t.bytes_in * m, t.bytes_out * m,
                   None if t.energy_pj is None else t.energy_pj * m,
                   {k: v * m for k, v in t.region_cycles.items()})


def _coarsen(queue: list[tuple[SysOp, SysTile]], max_units: int
             ) -> list[tuple[SysOp, SysTile]]:
    """Merge runs of identical consecutive tiles of one operator into at most `max_units`
    units (sizes as equal as possible, larger first)."""
    out: list[tuple[SysOp, SysTile]] = []
    i = 0
    while i < len(queue):
        op, t = queue[i]
        j = i
        while j < len(queue) and queue[j][0] is op and queue[j][1] == t:
            j += 1
        n = j - i
        units = min(n, max_units)
        q, r = divmod(n, units)
        out.extend((op, _merge(t, q + (1 if u < r else 0))) for u in range(units))
        i = j
    return out


def simulate_system(ops: Sequence[SysOp], cfg: SystemConfig,
                    energy: Mapping[str, float] | None = None,
                    max_units: int | None = None) -> SystemResult:
    """Schedule `ops` (in dependency order: deps must come earlier) on the system.

    energy: optional {"main_memory_pj_per_byte": x, "idle_pj_per_cluster_cycle": y}; with it
    (and energy_pj on every tile) the result carries an energy breakdown.
    max_units: None (exact, every tile scheduled) or a speed/accuracy knob: on each cluster
    the identical consecutive tiles of an operator are merged into at most this many units
    (a unit moves and computes m tiles at once). Steady-state throughput is unchanged; each
    operator's pipeline fill and drain on a cluster grows from one tile to one unit, so the
    error is bounded by about one unit's transfer time per operator and cluster.
    """
    if max_units is not None and max_units < 1:
        raise ValueError("max_units must be >= 1")
    names = [op.name for op in ops]
    if len(set(names)) != len(names):
        raise ValueError("operator names must be unique")
    seen: set[str] = set()
    for op in ops:
        missing = [d for d in op.deps if d not in seen]
        if missing:
            raise ValueError(f"operator {op.name}: deps {missing} not defined before it")
        if not op.tiles:
            raise ValueError(f"operator {op.name}: no tiles")
        for t in op.tiles:
            if not 0 <= t.cluster < cfg.clusters:
                raise ValueError(f"operator {op.name}: tile on cluster {t.cluster} of "
                                 f"{cfg.clusters}")
        seen.add(op.name)

    env = simpy.Environment()
    cap = {"hbm": cfg.hbm_bytes_per_cycle}
    for c in range(cfg.clusters):
        if cfg.dma_channels == 1:
            cap[f"dma{c}"] = cfg.dma_bytes_per_cycle
        else:
            cap[f"dma{c}_rd"] = cap[f"dma{c}_wr"] = cfg.dma_bytes_per_cycle
    for g in range(cfg.groups):
        cap[f"group{g}_rd"] = cfg.group_bytes_per_cycle
        cap[f"group{g}_wr"] = cfg.group_bytes_per_cycle
    net = FluidNetwork(env, cap)

    done = {op.name: env.event() for op in ops}
    left = {op.name: len(op.tiles) for op in ops}
    start: dict[str, float] = {}
    end: dict[str, float] = {}
    busy = [0.0] * cfg.clusters
    queues: list[list[tuple[SysOp, SysTile]]] = [[] for _ in range(cfg.clusters)]
    for op in ops:
        for t in op.tiles:
            queues[t.cluster].append((op, t))
    if max_units is not None:
        queues = [_coarsen(q, max_units) for q in queues]
        left = {op.name: 0 for op in ops}
        for q in queues:
            for op, _t in q:
                left[op.name] += 1

    def transfer(nbytes: float, cluster: int, write: bool):
        if nbytes <= 0:
            return
        if cfg.hbm_latency_cycles:
            yield env.timeout(cfg.hbm_latency_cycles)
        yield net.transfer(nbytes, _links(cfg, cluster, write))

    def cluster_proc(c: int):
        queue = queues[c]
        in_free = simpy.Container(env, cfg.dma_buffers, init=cfg.dma_buffers)
        out_free = simpy.Container(env, cfg.dma_buffers, init=cfg.dma_buffers)
        loaded = simpy.Store(env)
        computed = simpy.Store(env)

        def loader():
            for op, t in queue:
                for d in op.deps:
                    yield done[d]
                yield in_free.get(1)
                start.setdefault(op.name, env.now)
                yield from transfer(t.bytes_in, c, write=False)
                yield loaded.put((op, t))

        def computer():
            for _ in queue:
                op, t = yield loaded.get()
                yield out_free.get(1)
                yield env.timeout(t.compute_cycles)
                busy[c] += t.compute_cycles
                yield in_free.put(1)
                yield computed.put((op, t))

        def storer():
            for _ in queue:
                op, t = yield computed.get()
                yield from transfer(t.bytes_out, c, write=True)
                yield out_free.put(1)
                left[op.name] -= 1
                if left[op.name] == 0:
                    end[op.name] = env.now
                    done[op.name].succeed()

        env.process(loader())
        env.process(computer())
        env.process(storer())

    for c in range(cfg.clusters):
        if queues[c]:
            cluster_proc(c)
    env.run()
    unfinished = [n for n, k in left.items() if k]
    if unfinished:  # pragma: no cover - would be a scheduler bug
        raise RuntimeError(f"operators never finished: {unfinished}")

    total = max(end.values())
    by_kind: dict[str, float] = defaultdict(float)
    by_region: dict[str, float] = defaultdict(float)
    wall: dict[str, float] = defaultdict(float)
    read = written = 0.0
    tile_energy = 0.0
    have_energy = energy is not None
    for op in ops:
        wall[op.kind] += end[op.name] - start[op.name]
        for t in op.tiles:
            by_kind[op.kind] += t.compute_cycles
            regions = t.region_cycles or {op.kind: t.compute_cycles}
            for r, v in regions.items():
                by_region[r] += v
            read += t.bytes_in
            written += t.bytes_out
            if t.energy_pj is None:
                have_energy = False
            else:
                tile_energy += t.energy_pj
    energy_out = None
    if have_energy and energy is not None:
        idle = sum(total - b for b in busy)
        energy_out = {
            "clusters_busy": tile_energy,
            "main_memory": (read + written) * energy["main_memory_pj_per_byte"],
            "clusters_idle": idle * energy["idle_pj_per_cluster_cycle"],
        }
        energy_out["total"] = sum(energy_out.values())
    return SystemResult(
        cycles=total, frequency_hz=cfg.frequency_hz, busy_cycles=busy, bytes_read=read,
        bytes_written=written, bytes_by_link=dict(sorted(net.bytes_by_link.items())),
        op_span={n: (start[n], end[n]) for n in names},
        compute_cycles_by_kind=dict(by_kind), compute_cycles_by_region=dict(by_region),
        wall_cycles_by_kind=dict(wall), energy_pj=energy_out)


def extrapolation_estimate(ops: Iterable[SysOp], cfg: SystemConfig) -> dict[str, Any]:
    """The predecessor's estimate (vexp_details.md §3), generalised from FA-2 to any operator:
    no overlap of transfer and compute, DMA bandwidth divided by the clusters sharing a group,
    bwcf = 1/ceil(active clusters / groups); operator time = slowest cluster's sum of
    (compute + (bytes in + out) / (dma_bytes_per_cycle * bwcf)); operators back to back."""
    total = 0.0
    per_op = {}
    for op in ops:
        per_cluster: dict[int, float] = defaultdict(float)
        for t in op.tiles:
            per_cluster[t.cluster] += 0.0
        bwcf = 1.0 / math.ceil(len(per_cluster) / cfg.groups)
        for t in op.tiles:
            per_cluster[t.cluster] += (t.compute_cycles + (t.bytes_in + t.bytes_out)
                                       / (cfg.dma_bytes_per_cycle * bwcf))
        per_op[op.name] = max(per_cluster.values())
        total += per_op[op.name]
    return {"latency_cycles": total, "latency_s": total / cfg.frequency_hz,
            "op_cycles": per_op, "method": "extrapolation (vexp_details.md §3)"}

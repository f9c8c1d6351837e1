"""Energy tables: energy = Σ events × pJ per event + static power × time, per component
(Accelergy/ZigZag style).

A table is a TOML file (`tables/*.toml`, docs/energy.md):
- `[events.NAME]`: `pj` per event, the `component` it is charged to, `source`, `label`,
  `confidence`;
- `[leakage.NAME]`: static power `mw` of one instance of a block, `per` (how many instances a
  cluster has: "hart", "compute_core", "dma_core" or "cluster"), optional `feature` (the block
  exists only with that cluster option, e.g. "exp"), `component`, `source`, `label`, `confidence`.

A simulation reports event counts keyed by the event names; counts of unknown events are an
error, so an event the table does not price can never be silently free.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import UserError
from ..schema import Field, MapOf, Section, load_toml

__all__ = ["EnergyEvent", "LeakageEntry", "EnergyModel", "EnergyBreakdown", "Instances",
           "load_energy_table", "TABLES", "INSTANCE_KINDS", "ENERGY_TABLE_SCHEMA",
           "energy_table_toml"]

TABLES = ("gf12lp_0p8v",)
# How many instances of a block a cluster has; see Instances.
INSTANCE_KINDS = ("hart", "compute_core", "dma_core", "cluster")
_LABEL_DOC = "P published, D derived, S scaled, C CACTI, X assumption (combined with +)"


@dataclass(frozen=True)
class EnergyEvent:
    name: str
    pj: float
    component: str
    source: str
    label: str = ""
    confidence: str = ""


@dataclass(frozen=True)
class LeakageEntry:
    name: str
    mw: float
    component: str
    per: str
    source: str
    feature: str | None = None
    label: str = ""
    confidence: str = ""


@dataclass(frozen=True)
class Instances:
    """What a cluster is made of, for static power and area: compute cores (with SSR, FREP,
    the SIMD FPU and, with feature "exp", the EXP op group), DMA cores, clusters, and the
    optional features present. `features=None` means every feature is present."""

    compute_cores: int
    dma_cores: int = 1
    clusters: int = 1
    features: frozenset[str] | None = None

    def count(self, per: str) -> int:
        if per == "hart":
            return self.compute_cores + self.dma_cores
        if per == "compute_core":
            return self.compute_cores
        if per == "dma_core":
            return self.dma_cores
        if per == "cluster":
            return self.clusters
        raise ValueError(f"unknown instance kind {per!r}; one of {', '.join(INSTANCE_KINDS)}")

    def has(self, feature: str | None) -> bool:
        return feature is None or self.features is None or feature in self.features

    def as_dict(self) -> dict:
        return {"compute_cores": self.compute_cores, "dma_cores": self.dma_cores,
                "clusters": self.clusters,
                "features": None if self.features is None else sorted(self.features)}


@dataclass(frozen=True)
class EnergyBreakdown:
    total_pj: float
    by_component_pj: dict[str, float]
    by_event_pj: dict[str, float]
    cycles: int
    frequency_hz: float

    @property
    def seconds(self) -> float:
        return self.cycles / self.frequency_hz

    @property
    def average_power_mw(self) -> float:
        return self.total_pj * 1e-12 / self.seconds * 1e3 if self.cycles else 0.0

    def as_dict(self) -> dict:
        return {
            "energy_pj": self.total_pj,
            "energy_by_component_pj": dict(self.by_component_pj),
            "energy_by_event_pj": dict(self.by_event_pj),
            "average_power_mw": self.average_power_mw,
        }


class EnergyModel:
    def __init__(self, name: str, events: dict[str, EnergyEvent], frequency_hz: float,
                 leakage: dict[str, LeakageEntry] | None = None, technology: str = "",
                 origin: str = "") -> None:
        self.name = name
        self.events = events
        self.frequency_hz = frequency_hz
        self.leakage = leakage or {}
        self.technology = technology
        self.origin = origin

    def check_events(self, names: Collection[str], where: str = "") -> None:
        """UserError naming every event the table has no price for."""
        unknown = sorted(set(names) - set(self.events))
        if unknown:
            at = f" (counted in {where})" if where else ""
            raise UserError(f"energy table {self.name!r} ({self.origin}) has no price for "
                            f"event(s) {', '.join(unknown)}{at}; add [events.NAME] entries "
                            f"with a source")

    def breakdown(self, counts: Mapping[str, float], cycles: int) -> EnergyBreakdown:
        """Dynamic energy of a run with the given event counts lasting `cycles` cycles."""
        self.check_events(counts)
        by_event: dict[str, float] = {}
        by_comp: dict[str, float] = {}
        for name, n in counts.items():
            if not n:
                continue
            ev = self.events[name]
            e = n * ev.pj
            by_event[name] = e
            by_comp[ev.component] = by_comp.get(ev.component, 0.0) + e
        return EnergyBreakdown(sum(by_event.values()), by_comp, by_event, cycles,
                               self.frequency_hz)

    def static_power_mw(self, inst: Instances) -> dict[str, float]:
        """Static power by leakage entry (mW) of a cluster made of `inst`."""
        return {name: e.mw * inst.count(e.per) for name, e in self.leakage.items()
                if inst.has(e.feature) and inst.count(e.per)}

    def static_energy(self, inst: Instances, cycles: int) -> EnergyBreakdown:
        """Static energy (power × time) over `cycles` cycles, by component and by entry."""
        seconds = cycles / self.frequency_hz
        by_entry = {f"leakage.{k}": mw * 1e-3 * seconds * 1e12
                    for k, mw in self.static_power_mw(inst).items()}
        by_comp: dict[str, float] = {}
        for k, e in by_entry.items():
            c = self.leakage[k.removeprefix("leakage.")].component
            by_comp[c] = by_comp.get(c, 0.0) + e
        return EnergyBreakdown(sum(by_entry.values()), by_comp, by_entry, cycles,
                               self.frequency_hz)


_COMMON = {
    "component": Field(str, doc="component the energy is charged to (core, fpu, tcdm, ...)"),
    "source": Field(str, doc="reference and section the number comes from, and the arithmetic"),
    "label": Field(str, "", doc=_LABEL_DOC),
    "confidence": Field(str, "", doc="high, medium or low"),
}

ENERGY_TABLE_SCHEMA = Section(
    {
        "meta": Section(
            {
                "name": Field(str, doc="table name shown in reports"),
                "technology": Field(str, "", doc="node, corner and supply"),
                "frequency_hz": Field(float, doc="clock the per-cycle events assume", min=1,
                                      unit="Hz"),
                "source": Field(str, "", doc="where the numbers come from"),
            },
            required=True,
        ),
        "events": MapOf(
            Section({"pj": Field(float, doc="energy per event", min=0, unit="pJ"), **_COMMON}),
            doc="one entry per event name",
            min_items=1,
            required=True,
        ),
        "leakage": MapOf(
            Section({
                "mw": Field(float, doc="static power of one instance", min=0, unit="mW"),
                "per": Field(str, doc="instances per cluster", choices=INSTANCE_KINDS),
                "feature": Field(str, None, doc="cluster option the block exists only with"),
                **_COMMON,
            }),
            doc="static power (leakage and ungated clock) per block instance",
        ),
    }
)


def load_energy_table(name_or_path: str | Path = "gf12lp_0p8v") -> EnergyModel:
    """Load a technology table by name (shipped in vexpsim/energy/tables) or by file path.
    Every problem in the file is reported at once, each with its key path."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        origin = str(p)
        data = load_toml(p, ENERGY_TABLE_SCHEMA)
    else:
        if str(name_or_path) not in TABLES:
            raise UserError(f"unknown energy table {name_or_path!r}; shipped tables: "
                            f"{', '.join(TABLES)}, or give a path to a .toml file")
        origin = f"vexpsim/energy/tables/{name_or_path}.toml"
        text = resources.files("vexpsim.energy").joinpath(
            f"tables/{name_or_path}.toml").read_text(encoding="utf-8")
        data = load_toml(origin, ENERGY_TABLE_SCHEMA, text=text)
    events = {name: EnergyEvent(name, float(e["pj"]), e["component"], e["source"],
                                e["label"], e["confidence"])
              for name, e in data["events"].items()}
    leakage = {name: LeakageEntry(name, float(e["mw"]), e["component"], e["per"], e["source"],
                                  e.get("feature"), e["label"], e["confidence"])
               for name, e in data.get("leakage", {}).items()}
    meta = data["meta"]
    return EnergyModel(meta["name"], events, float(meta["frequency_hz"]), leakage,
                       meta["technology"], origin)


def energy_table_toml(model: EnergyModel, header: str = "") -> str:
    """The table as a technology file (every number with its source): load_energy_table of the
    text gives the same events and static entries. For what-if tables written by a tool."""
    from ..schema import dump_toml

    def drop_none(d: dict) -> dict:
        return {k: v for k, v in d.items() if v is not None and k != "name"}

    data = {"meta": {"name": model.name, "technology": model.technology,
                     "frequency_hz": float(model.frequency_hz), "source": model.origin},
            "events": {k: drop_none(vars(e)) for k, e in model.events.items()},
            "leakage": {k: drop_none(vars(e)) for k, e in model.leakage.items()}}
    head = "".join(f"# {line}\n" for line in header.splitlines())
    return head + ("\n" if head else "") + dump_toml(data, ENERGY_TABLE_SCHEMA, comments=False)

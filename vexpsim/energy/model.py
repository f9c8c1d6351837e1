"""Energy accounting: energy = Σ events × pJ per event, per component (Accelergy/ZigZag style).

The table is a TOML file (`tables/*.toml`): each `[events.NAME]` has `pj`, `component`,
`source`, `label`, `confidence`. Static and idle energy are events too (`core_cycle`: pJ per
core per cycle), so the same accounting covers dynamic and static energy. A simulation
reports event counts keyed by these names; counts of unknown events are an error, so an event
the table does not price can never be silently free.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import UserError
from ..schema import Field, MapOf, Section, load_toml

__all__ = ["EnergyEvent", "EnergyModel", "EnergyBreakdown", "load_energy_table", "TABLES"]

TABLES = ("gf12lp_0p8v",)


@dataclass(frozen=True)
class EnergyEvent:
    name: str
    pj: float
    component: str
    source: str
    label: str = ""
    confidence: str = ""


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
    def __init__(self, name: str, events: dict[str, EnergyEvent], frequency_hz: float) -> None:
        self.name = name
        self.events = events
        self.frequency_hz = frequency_hz

    def breakdown(self, counts: Mapping[str, float], cycles: int) -> EnergyBreakdown:
        """Energy of a run with the given event counts lasting `cycles` cycles."""
        unknown = sorted(set(counts) - set(self.events))
        if unknown:
            raise KeyError(f"energy table {self.name!r} has no price for event(s) "
                           f"{', '.join(unknown)}")
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
            Section(
                {
                    "pj": Field(float, doc="energy per event", min=0, unit="pJ"),
                    "component": Field(str, doc="component the energy is charged to"),
                    "source": Field(str, doc="reference and section the number comes from"),
                    "label": Field(str, "", doc="P published, D derived, S scaled, C CACTI, "
                                   "X assumption"),
                    "confidence": Field(str, "", doc="high, medium or low"),
                }
            ),
            doc="one entry per event name",
            min_items=1,
            required=True,
        ),
    }
)


def load_energy_table(name_or_path: str | Path = "gf12lp_0p8v") -> EnergyModel:
    """Load a technology table by name (shipped in vexpsim/energy/tables) or by file path.
    Every problem in the file is reported at once, each with its key path."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        data = load_toml(p, ENERGY_TABLE_SCHEMA)
    else:
        if str(name_or_path) not in TABLES:
            raise UserError(f"unknown energy table {name_or_path!r}; shipped tables: "
                            f"{', '.join(TABLES)}, or give a path to a .toml file")
        origin = f"vexpsim/energy/tables/{name_or_path}.toml"
        text = resources.files("vexpsim.energy").joinpath(
            f"tables/{name_or_path}.toml").read_text()
        data = load_toml(origin, ENERGY_TABLE_SCHEMA, text=text)
    events = {name: EnergyEvent(name, float(e["pj"]), e["component"], e["source"],
                                e["label"], e["confidence"])
              for name, e in data["events"].items()}
    return EnergyModel(data["meta"]["name"], events, float(data["meta"]["frequency_hz"]))

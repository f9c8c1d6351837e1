"""Energy accounting: energy = Σ events × pJ per event, per component (Accelergy/ZigZag style).

The table is a TOML file (`tables/*.toml`): each `[events.NAME]` has `pj`, `component`,
`source`, `label`, `confidence`. Static and idle energy are events too (`core_cycle`: pJ per
core per cycle), so the same accounting covers dynamic and static energy. A simulation
reports event counts keyed by these names; counts of unknown events are an error, so an event
the table does not price can never be silently free.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import UserError

__all__ = ["EnergyEvent", "EnergyModel", "EnergyBreakdown", "load_energy_table", "TABLES"]

TABLES = ("gf12lp_0p8v",)
_REQUIRED = {"pj": (int, float), "component": str, "source": str}


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


def load_energy_table(name_or_path: str | Path = "gf12lp_0p8v") -> EnergyModel:
    """Load a technology table by name (shipped in vexpsim/energy/tables) or by file path.
    Every problem in the file is reported at once, each with its key path."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        origin = str(p)
        try:
            text = p.read_text()
        except OSError as exc:
            raise UserError(f"{origin}: cannot read energy table: {exc.strerror}") from None
    else:
        if str(name_or_path) not in TABLES:
            raise UserError(f"unknown energy table {name_or_path!r}; shipped tables: "
                            f"{', '.join(TABLES)}, or give a path to a .toml file")
        origin = f"vexpsim/energy/tables/{name_or_path}.toml"
        text = resources.files("vexpsim.energy").joinpath(
            f"tables/{name_or_path}.toml").read_text()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{origin}: {exc}") from None
    problems: list[str] = []
    meta = data.get("meta", {})
    freq = meta.get("frequency_hz")
    if not isinstance(freq, (int, float)) or freq <= 0:
        problems.append(f"{origin}: meta.frequency_hz: expected a positive number, got {freq!r}")
    events: dict[str, EnergyEvent] = {}
    raw = data.get("events")
    if not isinstance(raw, dict) or not raw:
        problems.append(f"{origin}: events: expected a table of [events.NAME] entries")
        raw = {}
    for name, entry in raw.items():
        path = f"events.{name}"
        if not isinstance(entry, dict):
            problems.append(f"{origin}: {path}: expected a table")
            continue
        for key, typ in _REQUIRED.items():
            if key not in entry:
                problems.append(f"{origin}: {path}.{key}: missing")
            elif not isinstance(entry[key], typ) or isinstance(entry[key], bool):
                problems.append(f"{origin}: {path}.{key}: wrong type {type(entry[key]).__name__}")
        extra = set(entry) - {"pj", "component", "source", "label", "confidence"}
        for key in sorted(extra):
            problems.append(f"{origin}: {path}.{key}: unknown key")
        pj = entry.get("pj")
        if isinstance(pj, (int, float)) and pj < 0:
            problems.append(f"{origin}: {path}.pj: must be >= 0, got {pj}")
        if not any(p.startswith(f"{origin}: {path}") for p in problems):
            events[name] = EnergyEvent(name, float(entry["pj"]), entry["component"],
                                       entry["source"], entry.get("label", ""),
                                       entry.get("confidence", ""))
    if problems:
        raise UserError(problems)
    return EnergyModel(meta.get("name", origin), events, float(freq))

"""Reproduce rows: a paper number next to the simulated one, declared in the experiment config
(`[[reproduce.rows]]`, docs/experiments.md) rather than written as code per row.

A row reads `metric` (a dotted path into a point's record, e.g. `cycles`, `energy_pj`,
`phases_cycles.exp_sum`) at the point selected by `at`, multiplies by the record values named
in `times`, divides by those in `per`, and, when `over` selects a second point, divides by the
same quantity there:

    simulated = value(at) / value(over),  value(p) = metric(p) * prod(times(p)) / prod(per(p))
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..errors import UserError

__all__ = ["record_value", "evaluate_row", "evaluate_rows"]


def record_value(record: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path of a record (KeyError naming the missing part)."""
    v: Any = record
    for part in path.split("."):
        if not isinstance(v, Mapping) or part not in v:
            raise KeyError(part)
        v = v[part]
    return v


def _number(record: Mapping[str, Any], path: str, where: str) -> float:
    try:
        v = record_value(record, path)
    except KeyError:
        raise UserError(f"{where}: {path!r} is not in the record of point {record['index']} "
                        f"({record.get('kernel')} {record.get('params')})") from None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise UserError(f"{where}: {path!r} of point {record['index']} is not a number")
    return float(v)


def _value(row: Mapping[str, Any], record: Mapping[str, Any], where: str) -> float:
    if "run_error" in record:
        raise UserError(f"{where}: point {record['index']} did not run: {record['run_error']}")
    v = _number(record, row["metric"], f"{where}.metric")
    for p in row.get("times", []):
        v *= _number(record, p, f"{where}.times")
    for p in row.get("per", []):
        d = _number(record, p, f"{where}.per")
        v = v / d if d else math.inf
    return v


def _describe(sel: Mapping[str, Any], record: Mapping[str, Any]) -> str:
    """The selected point, e.g. 'softmax_baseline N=2048'."""
    parts = []
    for k in sel:
        if k == "workload.kernel":
            parts.append(str(record.get("kernel")))
        elif k.startswith("workload.params."):
            name = k.rsplit(".", 1)[-1]
            parts.append(f"{name}={record.get('params', {}).get(name)}")
        else:
            parts.append(f"{k.rsplit('.', 1)[-1]}={record.get('point', {}).get(k, '?')}")
    return " ".join(parts)


def evaluate_row(row: Mapping[str, Any], at: Mapping[str, Any], over: Mapping[str, Any] | None,
                 *, where: str = "row") -> dict[str, Any]:
    """Evaluate one row given the record(s) its selectors picked. Returns
    {id, paper, simulated, ratio (simulated/paper or None), unit, at, note, source}."""
    sim = _value(row, at, where)
    at_text = _describe(row["at"], at)
    if over is not None:
        den = _value(row, over, where)
        sim = sim / den if den else math.inf
        at_text += " / " + _describe(row["over"] or {}, over)
    paper = row.get("paper")
    return {"id": row["id"], "paper": paper, "simulated": sim,
            "ratio": sim / paper if paper else None, "unit": row.get("unit", ""),
            "at": at_text, "note": row.get("note", ""), "source": row.get("source", "")}


def evaluate_rows(results: Mapping[str, Any], points: list[Any], rows: list[Mapping[str, Any]],
                  *, origin: str) -> list[dict[str, Any]]:
    """Evaluate every reproduce row of one experiment. `points` are its expanded sweep points
    (vexpsim.experiments.config.Point) in the order of results["points"]. A row that cannot
    be evaluated (its point failed, its metric is missing) has simulated None and `error`."""
    from ..experiments.config import select_points

    out = []
    recs = results["points"]
    for i, row in enumerate(rows):
        where = f"{origin}: reproduce.rows[{i}]"
        picked = []
        for part in ("at", "over"):
            sel = row.get(part)
            if sel is None:
                picked.append(None)
                continue
            found = select_points(points, sel)
            if len(found) != 1:  # checked when the config was loaded
                raise UserError(f"{where}.{part}: selects {len(found)} points, expected one")
            picked.append(recs[found[0].index])
        try:
            out.append(evaluate_row(row, picked[0], picked[1], where=where))
        except UserError as exc:  # e.g. the point did not run: the other rows still count
            paper = row.get("paper")
            out.append({"id": row["id"], "paper": paper, "simulated": None, "ratio": None,
                        "unit": row.get("unit", ""), "at": "", "note": row.get("note", ""),
                        "source": row.get("source", ""), "error": str(exc)})
    return out

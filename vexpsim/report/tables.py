"""Tables of experiment results: the per-point CSV and the reproduce table (Markdown)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from typing import Any

__all__ = ["results_csv", "CSV_ERROR_KEYS", "reproduce_markdown", "format_number"]

CSV_ERROR_KEYS = ("max_abs_error", "mean_abs_error", "max_rel_error", "mean_rel_error", "rmse")


def results_csv(points: Iterable[dict]) -> str:
    """One row per point: index, kernel, dist, seed, cluster config name, every swept cluster
    key (column named by its key path, e.g. `cluster.fpu.lat_exp`), every kernel
    parameter (`param_NAME`, the union over the points), cycles, outputs, cycles_per_output
    (cycles / outputs: cluster cycles per output element), energy_pj, the error metrics,
    check_passed and run_error. Empty cells where a point has no value. With end-to-end
    points (kernel "system") also model, variant, seq_len, latency_s after the swept keys;
    their cycles are the latency and energy_pj the total."""
    pts = list(points)
    pnames: list[str] = []
    swept: list[str] = []
    for p in pts:
        pnames += [k for k in p.get("params", {}) if k not in pnames]
        swept += [k for k in p.get("point", {}) if k.startswith("cluster.") and k not in swept]
    system = any(p.get("kernel") == "system" for p in pts)  # end-to-end points
    sys_cols = ["model", "variant", "seq_len", "latency_s"] if system else []
    head = (["index", "kernel", "dist", "seed", "config", *swept, *sys_cols]
            + [f"param_{n}" for n in pnames]
            + ["cycles", "outputs", "cycles_per_output", "energy_pj", *CSV_ERROR_KEYS,
               "check_passed", "run_error"])
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(head)
    for p in pts:
        cycles, outputs = p.get("cycles"), p.get("outputs")
        per = cycles / outputs if cycles is not None and outputs else None
        err = p.get("error", {})
        row = [p["index"], p.get("kernel"), p.get("dist"), p.get("seed"), p.get("config")]
        row += [p.get("point", {}).get(k) for k in swept]
        row += [p.get(k) for k in sys_cols]
        row += [p.get("params", {}).get(n) for n in pnames]
        energy = p.get("energy_pj")
        if isinstance(energy, dict):  # a system point: its total
            energy = energy.get("total")
        row += [cycles, outputs, per, energy] + [err.get(k) for k in CSV_ERROR_KEYS]
        row += [p["check"]["passed"] if "check" in p else False, p.get("run_error", "")]
        w.writerow(["" if v is None else _cell(v) for v in row])
    return buf.getvalue()


def _cell(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def format_number(v: float | None) -> str:
    """Four significant digits (plain for ordinary magnitudes); '-' for None."""
    if v is None:
        return "-"
    if not math.isfinite(v):
        return str(v)
    if v != 0 and (abs(v) >= 1e6 or abs(v) < 1e-3):
        return f"{v:.4g}"
    return f"{v:.4g}" if abs(v) < 1000 else f"{v:,.0f}"


def reproduce_markdown(rows: list[dict], *, title: str = "vexpsim reproduce") -> str:
    """The reproduce table: id, paper, simulated, simulated/paper, unit, where (the sweep
    point(s) read), then each row's note and source as footnotes."""
    lines = [f"# {title}", "",
             "| id | paper | simulated | simulated/paper | unit | at |",
             "|---|---:|---:|---:|---|---|"]
    for r in rows:
        ratio = r.get("ratio")
        lines.append(f"| {r['id']} | {format_number(r['paper'])} | "
                     f"{format_number(r['simulated'])} | "
                     f"{'-' if ratio is None else format(ratio, '.3f')} | {r['unit']} | "
                     f"{r.get('at', '')} |")
    notes = [r for r in rows if r.get("note") or r.get("source") or r.get("error")]
    if notes:
        lines += [""]
        for r in notes:
            parts = [x for x in (r.get("note", ""), f"paper: {r['source']}"
                                 if r.get("source") else "") if x]
            if r.get("error"):
                parts.insert(0, f"NOT EVALUATED: {r['error']}")
            lines.append(f"- `{r['id']}`: {'; '.join(parts)}")
    return "\n".join(lines) + "\n"

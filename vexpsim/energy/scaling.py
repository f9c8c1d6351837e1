"""Energy scaling between technology nodes and supplies (energy_refs.md §3, Stillmaker & Baas
2017): E ∝ a·V² + b·V + c per node; coefficients in tables/scaling_stillmaker.toml.

    energy_scale("22fdx", 0.8, "gf12lp+", 0.8)   # 0.47: FPnew's 26.7 pJ -> 12.6 pJ
    energy_scale(45, 0.9, "gf12lp+", 0.8)        # 0.114: Horowitz's 45 nm numbers

Use it to write a table for another node or supply (docs/energy.md); never for DRAM/HBM.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

from ..errors import UserError

__all__ = ["energy_scale", "scale_polynomial", "node_nm"]


@cache
def _table() -> tuple[dict[float, tuple[float, float, float]], dict[str, float]]:
    text = resources.files("vexpsim.energy").joinpath(
        "tables/scaling_stillmaker.toml").read_text(encoding="utf-8")
    d = tomllib.loads(text)
    rows = {float(k): (float(v["a"]), float(v["b"]), float(v["c"]))
            for k, v in d["nodes"].items()}
    return rows, {k.lower(): float(v) for k, v in d["aliases"].items()}


def node_nm(node: str | float) -> float:
    """A node in nm from a number or a process name ("gf12lp+", "22fdx")."""
    if isinstance(node, int | float):
        return float(node)
    rows, aliases = _table()
    key = node.strip().lower().removesuffix("nm").strip()
    if key in aliases:
        return aliases[key]
    try:
        return float(key)
    except ValueError:
        raise UserError(f"unknown technology node {node!r}; give nm or one of "
                        f"{', '.join(aliases)}") from None


def scale_polynomial(node: str | float, vdd: float) -> float:
    """S(node, V) = a·V² + b·V + c, linear in the node between tabulated rows."""
    rows, _ = _table()
    n = node_nm(node)
    nodes = sorted(rows)
    if not nodes[0] <= n <= nodes[-1]:
        raise UserError(f"node {n:g} nm outside the scaling table "
                        f"({nodes[0]:g}-{nodes[-1]:g} nm)")

    def s(k: float) -> float:
        a, b, c = rows[k]
        return a * vdd * vdd + b * vdd + c

    if n in rows:
        return s(n)
    hi = min(k for k in nodes if k > n)
    lo = max(k for k in nodes if k < n)
    w = (n - lo) / (hi - lo)
    return (1 - w) * s(lo) + w * s(hi)


def energy_scale(from_node: str | float, from_vdd: float, to_node: str | float,
                 to_vdd: float) -> float:
    """Factor that turns an energy at (from_node, from_vdd) into one at (to_node, to_vdd)."""
    return scale_polynomial(to_node, to_vdd) / scale_polynomial(from_node, from_vdd)

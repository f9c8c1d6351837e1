"""Area table: kGE or µm² per block with sources, and the EXP block's share of the cluster.

A table is a TOML file (`tables/area_gf12.toml`): `[blocks.NAME]` with `kge` or `um2` (exactly
one), `per` (instances per cluster: "hart", "compute_core", "dma_core", "cluster"), `group`
(the unit a block belongs to, e.g. "fpu"), optional `feature` (present only with that cluster
option), `source`, `label`, `confidence`. `meta.um2_per_ge` converts between the two units.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import UserError
from ..schema import Field, MapOf, Section, load_toml
from .model import INSTANCE_KINDS, Instances

__all__ = ["AreaBlock", "AreaTable", "load_area_table", "AREA_TABLES", "AREA_TABLE_SCHEMA"]

AREA_TABLES = ("area_gf12",)


@dataclass(frozen=True)
class AreaBlock:
    name: str
    kge: float  # one instance, in kGE (converted from µm² if the table gives µm²)
    per: str
    group: str
    source: str
    feature: str | None = None
    label: str = ""
    confidence: str = ""


class AreaTable:
    def __init__(self, name: str, blocks: dict[str, AreaBlock], um2_per_ge: float,
                 technology: str = "", paper_exp_share: float | None = None) -> None:
        self.name = name
        self.blocks = blocks
        self.um2_per_ge = um2_per_ge
        self.technology = technology
        self.paper_exp_share = paper_exp_share

    def instance_kge(self, inst: Instances) -> dict[str, float]:
        """Total kGE of each block present in a cluster made of `inst` (all instances)."""
        return {n: b.kge * inst.count(b.per) for n, b in self.blocks.items()
                if inst.has(b.feature) and inst.count(b.per)}

    def report(self, inst: Instances, block: str = "exp") -> dict:
        """Every block (per instance, count, total kGE and µm², share of the cluster), the
        totals by group, and `block`'s share of the cluster and of its group in one core."""
        if block not in self.blocks:
            raise UserError(f"area table {self.name!r} has no block {block!r}; blocks: "
                            f"{', '.join(self.blocks)}")
        tot = self.instance_kge(inst)
        cluster = sum(tot.values())
        rows = []
        groups: dict[str, float] = {}
        for n, b in self.blocks.items():
            if n not in tot:
                continue
            groups[b.group] = groups.get(b.group, 0.0) + tot[n]
            rows.append({"block": n, "group": b.group, "per": b.per,
                         "count": inst.count(b.per), "kge_each": b.kge, "kge": tot[n],
                         "um2": tot[n] * 1e3 * self.um2_per_ge,
                         "share_of_cluster": tot[n] / cluster if cluster else 0.0,
                         "label": b.label, "confidence": b.confidence, "source": b.source})
        b = self.blocks[block]
        # the group in one instance of the block's kind (e.g. one compute core's FPU)
        unit = sum(x.kge for x in self.blocks.values()
                   if x.group == b.group and x.per == b.per and inst.has(x.feature))
        present = block in tot
        return {
            "table": self.name, "technology": self.technology, "um2_per_ge": self.um2_per_ge,
            "instances": inst.as_dict(), "blocks": rows,
            "groups_kge": groups, "cluster_kge": cluster,
            "cluster_um2": cluster * 1e3 * self.um2_per_ge,
            "block": block,
            "block_share_of_cluster": tot[block] / cluster if present and cluster else 0.0,
            "block_share_of_group": b.kge / unit if present and unit else 0.0,
            "group": b.group,
            "paper_exp_share": self.paper_exp_share,
        }


AREA_TABLE_SCHEMA = Section(
    {
        "meta": Section(
            {
                "name": Field(str, doc="table name shown in reports"),
                "technology": Field(str, "", doc="node the µm² values are for"),
                "um2_per_ge": Field(float, doc="area of one gate equivalent (NAND2)", min=0,
                                    unit="µm²"),
                "um2_per_ge_source": Field(str, doc="where um2_per_ge comes from"),
                "um2_per_ge_label": Field(str, "", doc="P, D, S, C or X"),
                "paper_exp_share": Field(float, None, doc="the paper's EXP area share",
                                         min=0, max=1),
                "paper_exp_share_source": Field(str, "", doc="where the claim is stated"),
            },
            required=True,
        ),
        "blocks": MapOf(
            Section({
                "kge": Field(float, None, doc="area of one instance", min=0, unit="kGE"),
                "um2": Field(float, None, doc="area of one instance (instead of kge)", min=0,
                             unit="µm²"),
                "per": Field(str, doc="instances per cluster", choices=INSTANCE_KINDS),
                "group": Field(str, doc="unit the block belongs to (core, fpu, tcdm, ...)"),
                "feature": Field(str, None, doc="cluster option the block exists only with"),
                "source": Field(str, doc="reference and the arithmetic"),
                "label": Field(str, "", doc="P, D, S, C or X (combined with +)"),
                "confidence": Field(str, "", doc="high, medium or low"),
            }),
            doc="one entry per block",
            min_items=1,
            required=True,
        ),
    }
)


def load_area_table(name_or_path: str | Path = "area_gf12") -> AreaTable:
    """Load an area table by name (shipped in vexpsim/energy/tables) or by file path; every
    problem is reported at once with its key path."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        origin = str(p)
        data = load_toml(p, AREA_TABLE_SCHEMA)
    else:
        if str(name_or_path) not in AREA_TABLES:
            raise UserError(f"unknown area table {name_or_path!r}; shipped tables: "
                            f"{', '.join(AREA_TABLES)}, or give a path to a .toml file")
        origin = f"vexpsim/energy/tables/{name_or_path}.toml"
        text = resources.files("vexpsim.energy").joinpath(
            f"tables/{name_or_path}.toml").read_text(encoding="utf-8")
        data = load_toml(origin, AREA_TABLE_SCHEMA, text=text)
    meta = data["meta"]
    ge = float(meta["um2_per_ge"])
    problems = []
    blocks: dict[str, AreaBlock] = {}
    for n, b in data["blocks"].items():
        kge, um2 = b.get("kge"), b.get("um2")
        if (kge is None) == (um2 is None):
            problems.append(f"{origin}: blocks.{n}: give exactly one of kge and um2")
            continue
        if kge is None and ge <= 0:
            problems.append(f"{origin}: meta.um2_per_ge: must be > 0 to convert blocks.{n}.um2")
            continue
        area = float(kge) if kge is not None else float(um2) / ge / 1e3
        blocks[n] = AreaBlock(n, area, b["per"], b["group"], b["source"], b.get("feature"),
                              b["label"], b["confidence"])
    if problems:
        raise UserError(problems)
    return AreaTable(meta["name"], blocks, ge, meta["technology"], meta.get("paper_exp_share"))

"""Tile costs from instruction-level simulation: `SimProvider` prices a tile of the tiling
rules (vexpsim/experiments/workloads/tiling.py) by running a registered kernel on one
simulated cluster (`run_kernel`), so the end-to-end model schedules costs that come from
kernels that really run.

The mapping (variant, tiling kernel) -> registered kernel, parameters, cluster preset is the
declarative table TILE_KERNELS below. Rules (also in docs/system.md):

- Cluster: `paper_baseline` (no EXP block, DIVSQRT) for the baseline variant, `vexp_paper`
  for VEXP, for every kernel (the EXP block's static power is charged to every VEXP tile).
  GEMM, LayerNorm and the residual run the same kernel in both variants; FA-2, the final
  softmax and GELU differ (software expf vs vfexp.h).
- Padding: the kernels split rows over the 8 compute cores; a tile dimension the kernel
  needs as a multiple of 8 (FA-2 and softmax rows) is rounded up (GEMM takes any M, N), the padded
  rows are simulated (idle lanes cost what they cost on the hardware); a softmax row length
  is rounded up to the kernel's multiple (16 for VEXP). Main-memory bytes are always the
  tile's own (`tiling.tile_bytes`), not the padded ones.
- Causal FA-2 tiles run the kernels' mask (causal = 1: the tile's br query rows are the
  last rows of its tc·bc keys, the kernel's "row i at position i + S - L", so the last
  column block is the diagonal one; the tiling's tc already stops there). A kernel that
  rejects causal = 1 (before the mask existed) would run the tile unmasked, flagged by
  error["causal_run_dense"] = 1.
- Steady state (host time): row-wise tiles with more than two rows per core (LayerNorm, the
  softmax's blocks of 8 rows) are priced from runs with 1 and 2 rows per core, extrapolated
  linearly in rows per core (c(1) + (k - 1) (c(2) - c(1)), the rule `ExtrapolatingProvider`
  applies to GEMM K chunks and FA-2 column blocks); element-wise tiles (GELU, residual)
  with more than ELEMENTWISE_DIRECT elements from runs of ELEMENTWISE_DIRECT / 2 and
  ELEMENTWISE_DIRECT elements, linearly in elements (the kernels are one loop over each
  core's share); softmax rows longer than SOFTMAX_DIRECT_N from N = SOFTMAX_DIRECT_N / 2 and
  SOFTMAX_DIRECT_N, linearly in N. The TileCost source says "simulated" either way; the
  extrapolation rule is part of the provider (and of the cache key via PROVIDER_RULES).
- compute_cycles = the run's cycles minus its "dma_wait" and "writeback" phases (hart 0's
  regions where the cores wait for the DMA core's transfers; in the GEMM and softmax kernels
  that wait also absorbs the slowest core's lead, a small load imbalance that is dropped):
  the system model schedules transfers itself and charges only the compute. cycles = the
  standalone run. region_cycles = the non-DMA phases grouped by category (REGION_OF: FA-2's
  QK^T and PV are "gemm", its softmax phases "softmax"), the run's cycles outside any named
  phase (start-up) added to the kernel's main category so that they sum to compute_cycles.
- energy_pj = the run's energy_cluster_pj (dynamic events + static power, without the
  main-memory device, which the system adds per byte) minus the static power over its
  transfer phases (static_power_mw x those cycles at the energy table's frequency): the
  system model charges a cluster's static floor while it is not computing (idle_event per
  hart-cycle), so the tile keeps only the static energy of its compute cycles, and the
  cluster's static power is counted once over the whole latency. The dynamic energy of the
  transfer phases (DMA, TCDM writes, polling) stays in the tile. energy_events = the
  standalone run's energy components (static included, as run); error = the run's error
  metrics (plus check_passed 1/0).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from ..arch.tilecost import TileCost, config_id
from ..errors import UserError
from .kernelrun import KERNEL_DIR, load_kernels, run_kernel
from .workloads.tiling import tile_bytes

__all__ = ["SimProvider", "TileKernel", "TILE_KERNELS", "VARIANT_PRESETS", "kernels_digest",
           "ELEMENTWISE_DIRECT", "SOFTMAX_DIRECT_N", "static_pj_per_cycle"]

VARIANT_PRESETS = {"baseline": "paper_baseline", "vexp": "vexp_paper"}
ELEMENTWISE_DIRECT = 4096  # GELU / residual tiles up to this many elements run whole
SOFTMAX_DIRECT_N = 1024  # softmax rows up to this length run whole
PROVIDER_RULES = 2  # bump when a padding / extrapolation rule changes (part of the cache key)


def _up(n: int, m: int) -> int:
    return m * math.ceil(n / m)


@dataclass(frozen=True)
class TileKernel:
    """How one tiling kernel is priced in one variant: the registered kernel, the shape ->
    parameter rule, and its main region category."""

    kernel: str
    params: Callable[[tuple[int, ...]], dict[str, int]]
    region: str  # category of the kernel's work (region_cycles key for unnamed phases)


def _gemm(s: tuple[int, ...]) -> dict[str, int]:
    tm, tn, tk, nk = s  # the kernel takes any M, N (rows over the cores, N padded inside)
    return {"M": tm, "N": tn, "K": tk * nk, "TK": tk}


def _fa2(s: tuple[int, ...]) -> dict[str, int]:
    br, bc, d, tc, causal = s
    b = _up(br, 8)
    return {"L": b, "S": tc * bc, "d": d, "Br": b, "Bc": bc, "causal": causal}


def _rows(s: tuple[int, ...]) -> dict[str, int]:
    return {"rows": s[0], "cols": s[1]}


def _softmax(s: tuple[int, ...]) -> dict[str, int]:
    return {"M": _up(s[0], 8), "N": s[1]}


# (variant, tiling kernel) -> how it is simulated
TILE_KERNELS: dict[tuple[str, str], TileKernel] = {
    ("baseline", "gemm"): TileKernel("gemm_bf16", _gemm, "gemm"),
    ("vexp", "gemm"): TileKernel("gemm_bf16", _gemm, "gemm"),
    ("baseline", "fa2"): TileKernel("fa2_baseline", _fa2, "softmax"),
    ("vexp", "fa2"): TileKernel("fa2_vexp", _fa2, "softmax"),
    ("baseline", "softmax"): TileKernel("softmax_baseline", _softmax, "softmax"),
    ("vexp", "softmax"): TileKernel("softmax_vexp", _softmax, "softmax"),
    ("baseline", "gelu"): TileKernel("gelu", _rows, "gelu"),
    ("vexp", "gelu"): TileKernel("gelu_vexp", _rows, "gelu"),
    ("baseline", "layernorm"): TileKernel("layernorm", _rows, "layernorm"),
    ("vexp", "layernorm"): TileKernel("layernorm", _rows, "layernorm"),
    ("baseline", "residual"): TileKernel("residual", _rows, "residual"),
    ("vexp", "residual"): TileKernel("residual", _rows, "residual"),
}

# phase name -> region category (phases not listed keep their own name)
REGION_OF = {"qkt": "gemm", "pv": "gemm", "compute": None, "exp_sum": "softmax",
             "max": "softmax", "normalise": "softmax", "rescale": "softmax"}
TRANSFER_PHASES = ("dma_wait", "writeback")  # GEMM: "writeback" = waiting for C to go out
_ADDITIVE = ("cycles", "compute")


@lru_cache(maxsize=1)
def kernels_digest() -> str:
    """SHA-256 (16 hex digits) of every kernel source under kernels/: part of the cache key,
    so editing a kernel invalidates its cached costs."""
    h = hashlib.sha256()
    for p in sorted(KERNEL_DIR.rglob("*.S")):
        h.update(str(p.relative_to(KERNEL_DIR)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


@cache
def energy_table_digest(name: str) -> str:
    """What the cache keys an energy table by: a shipped table's name, a file's content hash
    (16 hex digits), so editing a what-if table re-prices its tiles."""
    from ..energy.model import TABLES, load_energy_table
    if name in TABLES:
        return name
    load_energy_table(name)  # a missing or bad file: UserError with its key paths
    return "sha256:" + hashlib.sha256(Path(name).read_bytes()).hexdigest()[:16]


def static_pj_per_cycle(rec: Mapping[str, Any], table: str | None = None) -> float:
    """The cluster's static energy per cycle in a kernel record: static_power_mw at the
    frequency of the energy table that priced it (what energy.accounting charges per cycle);
    `table`: its name or path (default: the record's table name, a shipped table)."""
    mw = float(rec.get("static_power_mw", 0.0))
    return mw * 1e-3 / _table_hz(table or rec["energy_table"]) * 1e12 if mw else 0.0


@cache
def _table_hz(name: str) -> float:
    from ..energy.model import load_energy_table
    return load_energy_table(name).frequency_hz


@dataclass
class _Run:
    cycles: float
    compute: float
    regions: dict[str, float]
    energy: float | None
    events: dict[str, float]
    error: dict[str, float]


class SimProvider:
    """TileCostProvider running the kernels of TILE_KERNELS on one simulated cluster.

    presets: variant -> cluster preset name (default VARIANT_PRESETS). `runs` counts the
    kernel runs it made (tests, progress). Deterministic: inputs are seeded (seed 0,
    normal distribution), so CachedProvider entries are reproducible."""

    def __init__(self, presets: Mapping[str, str] | None = None, seed: int = 0,
                 energy_table: str = "gf12lp_0p8v",
                 clusters: Mapping[str, Any] | None = None) -> None:
        self.presets = dict(presets or VARIANT_PRESETS)
        self.seed = seed
        self.energy_table = energy_table  # prices the tiles (the system config's energy_table)
        self.runs = 0
        # variant -> ClusterConfig given directly (for_system); others load their preset
        self._clusters: dict[str, Any] = dict(clusters or {})

    @classmethod
    def for_system(cls, cfg: Any, seed: int = 0) -> SimProvider:
        """The provider of a system config: VEXP tiles run on the system's cluster, baseline
        tiles on the same cluster without the EXP op group; priced with its energy_table.
        The default system cluster, vexp_paper, gives the presets vexp_paper and
        paper_baseline (the same clusters, under their own names)."""
        if cfg.cluster == VARIANT_PRESETS["vexp"]:
            return cls(seed=seed, energy_table=cfg.energy_table)
        from ..arch.config import cluster_config_from_data
        cc = dict(cfg.cluster_config)
        if not cc["fpu"]["exp"]["enabled"]:
            raise UserError(f"system config {cfg.name}: cluster {cc['name']!r} has no EXP op "
                            "group (fpu.exp.enabled false): the vexp variant's tiles need it")
        base = {**cc, "name": f"{cc['name']}-noexp",
                "fpu": {**cc["fpu"], "exp": {**cc["fpu"]["exp"], "enabled": False}}}
        origin = f"system config {cfg.name}: cluster"
        return cls(seed=seed, energy_table=cfg.energy_table,
                   clusters={"vexp": cluster_config_from_data(cc, origin=origin),
                             "baseline": cluster_config_from_data(base, origin=origin)})

    def cluster(self, variant: str) -> Any:
        from ..arch.config import load_cluster_config
        if variant not in self._clusters:
            if variant not in self.presets:
                raise UserError(f"tile simulation: unknown variant {variant!r}; known: "
                                f"{', '.join(self.presets)}")
            self._clusters[variant] = load_cluster_config(preset=self.presets[variant])
        return self._clusters[variant]

    def cluster_config_id(self, variant: str) -> str:
        """The id the cache keys this variant's tiles by: the cluster configuration, the
        kernel sources and the provider's rules."""
        return "sim-" + config_id({"cluster": self.cluster(variant).to_dict(),
                                   "kernels": kernels_digest(), "rules": PROVIDER_RULES,
                                   "seed": self.seed,
                                   "energy": energy_table_digest(self.energy_table)})

    def mapping(self, kernel: str, variant: str) -> TileKernel:
        tk = TILE_KERNELS.get((variant, kernel))
        if tk is None:
            raise UserError(f"tile simulation: no kernel for tiling kernel {kernel!r} in "
                            f"variant {variant!r} (vexpsim/experiments/simprovider.py "
                            f"TILE_KERNELS)")
        if tk.kernel not in load_kernels():
            raise UserError(f"tile simulation: tiling kernel {kernel!r} ({variant}) needs the "
                            f"kernel {tk.kernel!r}, which is not registered (not written yet?); "
                            f"registered: {', '.join(sorted(load_kernels()))}")
        return tk

    # -- one kernel run ------------------------------------------------------------------------
    def _run(self, tk: TileKernel, params: dict[str, int], variant: str) -> _Run:
        run = run_kernel(tk.kernel, params, dist="normal", seed=self.seed,
                         cluster=self.cluster(variant), energy_table=self.energy_table)
        self.runs += 1
        rec = run.record
        phases = rec.get("phases_cycles", {})
        wait = sum(v for k, v in phases.items() if k in TRANSFER_PHASES)
        cycles = float(rec["cycles"])
        compute = max(0.0, cycles - wait)
        regions: dict[str, float] = {}
        for k, v in phases.items():
            if k in TRANSFER_PHASES:
                continue
            cat = REGION_OF.get(k, k) or tk.region
            regions[cat] = regions.get(cat, 0.0) + float(v)
        rest = compute - sum(regions.values())
        regions[tk.region] = regions.get(tk.region, 0.0) + rest
        err = {k: float(v) for k, v in rec["error"].items()}
        err["check_passed"] = 1.0 if rec["check"]["passed"] else 0.0
        comps = rec.get("energy_by_component_pj", {})
        energy = rec.get("energy_cluster_pj")
        if energy is not None:  # module docstring: static power over the transfers is the system's
            energy = max(0.0, energy - static_pj_per_cycle(rec, self.energy_table) * wait)
        return _Run(cycles, compute, regions, energy,
                    {k: float(v) for k, v in comps.items() if k != "main_memory"}, err)

    # -- a tile -------------------------------------------------------------------------------
    def cost(self, kernel: str, shape: tuple[int, ...], variant: str,
             cluster_config_id: str) -> TileCost:
        tk = self.mapping(kernel, variant)
        shape = tuple(int(s) for s in shape)
        base = tk.params(shape)
        dense = False
        if kernel == "fa2" and base["causal"]:
            k = load_kernels()[tk.kernel]
            if any("causal" in m for m in k.check(dict(k.params) | base)):
                base, dense = base | {"causal": 0}, True  # module docstring: causal tiles
        plan = self._plan(kernel, shape, base)
        if isinstance(plan, dict):
            r = self._run(tk, plan, variant)
        else:
            (p1, x1), (p2, x2), x = plan
            r1, r2 = self._run(tk, p1, variant), self._run(tk, p2, variant)
            r = _lerp(r1, r2, (x - x1) / (x2 - x1))
        if dense:
            r.error["causal_run_dense"] = 1.0
        b_in, b_out = tile_bytes(kernel, shape)
        return TileCost(compute_cycles=r.compute, bytes_in=b_in, bytes_out=b_out,
                        cycles=r.cycles, region_cycles=r.regions, energy_pj=r.energy,
                        energy_events=r.events, error=r.error, source="simulated")

    @staticmethod
    def _plan(kernel: str, shape: tuple[int, ...], p: dict[str, int]):
        """The kernel parameters to run: one dict, or ((p1, x1), (p2, x2), x) for a linear
        extrapolation to x from runs at x1 and x2 (module docstring)."""
        if kernel == "layernorm":
            k = math.ceil(p["rows"] / 8)  # rows per core of the slowest core
            if k > 2:
                return (({"rows": 8, "cols": p["cols"]}, 1), ({"rows": 16, "cols": p["cols"]}, 2),
                        k)
            return p
        if kernel in ("gelu", "residual"):
            n = p["rows"] * p["cols"]
            if n > ELEMENTWISE_DIRECT:
                h = ELEMENTWISE_DIRECT
                return (({"rows": 1, "cols": h // 2}, h // 2), ({"rows": 1, "cols": h}, h), n)
            return p
        if kernel == "softmax":
            m, n = p["M"], p["N"]
            if m > 16:
                if n > SOFTMAX_DIRECT_N:
                    raise UserError(f"tile simulation: softmax tile {shape}: more than 16 rows "
                                    f"longer than {SOFTMAX_DIRECT_N} is not supported")
                n = _up(n, 16)
                return (({"M": 8, "N": n}, 1), ({"M": 16, "N": n}, 2), m // 8)
            if n > SOFTMAX_DIRECT_N:
                h = SOFTMAX_DIRECT_N
                return (({"M": m, "N": h // 2}, h // 2), ({"M": m, "N": h}, h), n)
            return p | {"N": _up(n, 16)}
        return p


def _lerp(a: _Run, b: _Run, t: float) -> _Run:
    """a + t (b - a) on every additive field (t = (x - x1) / (x2 - x1))."""
    def f(x: float, y: float) -> float:
        return max(0.0, x + t * (y - x))

    def fd(x: dict[str, float], y: dict[str, float]) -> dict[str, float]:
        return {k: f(x.get(k, 0.0), y.get(k, 0.0)) for k in sorted(set(x) | set(y))}

    energy = None if a.energy is None or b.energy is None else f(a.energy, b.energy)
    err = {k: max(a.error.get(k, 0.0), b.error.get(k, 0.0)) for k in set(a.error) | set(b.error)}
    if "check_passed" in err:
        err["check_passed"] = min(a.error.get("check_passed", 0.0),
                                  b.error.get("check_passed", 0.0))
    return _Run(f(a.cycles, b.cycles), f(a.compute, b.compute), fd(a.regions, b.regions),
                energy, fd(a.events, b.events), err)

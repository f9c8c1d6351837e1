"""Cost of one cluster tile, the provider interface, an on-disk cache, steady-state extrapolation.

A *tile* is a unit of work one cluster runs from its TCDM (a GEMM output block, an
FA-2 row block of one head, a block of LayerNorm rows, ...). Its cost comes from a
`TileCostProvider`: the instruction-level cluster simulator (later), or the analytical
roofline estimate used only for tests and `--dry-run`. The multi-cluster system model
(`vexpsim.arch.system`) schedules tiles by these costs.

Kernel names and shape tuples are defined by the workload tiling rules
(`vexpsim.experiments.workloads.tiling`); this module treats them as opaque keys.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

__all__ = ["TileCost", "TileCostProvider", "CachedProvider", "ExtrapolatingProvider",
           "config_id", "cache_key"]

CACHE_FORMAT = 1  # bump when TileCost's meaning changes; old entries are then ignored


@dataclass(frozen=True)
class TileCost:
    """What running one tile on one cluster costs.

    compute_cycles: cycles the cluster is busy once its inputs are in TCDM (the time the
        system model charges per tile; transfers are scheduled separately).
    bytes_in / bytes_out: main-memory bytes the tile reads / writes through the DMA.
    cycles: cycles of the tile run standalone on one cluster including its own DMA waits
        (what the single-cluster simulation measures); defaults to compute_cycles.
    region_cycles: split of compute_cycles by region (e.g. "gemm", "softmax"), if known.
    busy_cycles: busy cycles per unit (e.g. "fpu", "dma"), if known.
    energy_pj: cluster energy of the tile, excluding main-memory transfer energy (the system
        model adds that per byte).
    energy_events: event counts behind energy_pj, if known.
    error: numerical error metrics of the tile against the reference, if any.
    source: "simulated" or "analytical"; reports carry it so an estimate is never shown as
        a simulation result.
    """

    compute_cycles: float
    bytes_in: int
    bytes_out: int
    cycles: float | None = None
    region_cycles: dict[str, float] = field(default_factory=dict)
    busy_cycles: dict[str, float] = field(default_factory=dict)
    energy_pj: float | None = None
    energy_events: dict[str, float] = field(default_factory=dict)
    error: dict[str, float] = field(default_factory=dict)
    source: str = "simulated"

    def __post_init__(self) -> None:
        if self.compute_cycles < 0 or self.bytes_in < 0 or self.bytes_out < 0:
            raise ValueError(f"negative tile cost: {self}")
        if self.cycles is None:
            object.__setattr__(self, "cycles", self.compute_cycles)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> TileCost:
        return cls(**d)


@runtime_checkable
class TileCostProvider(Protocol):
    """Anything that can price a tile: `cost(kernel, shape, variant, cluster_config_id)`.

    variant: the kernel flavour, e.g. "baseline" (software exp) or "vexp".
    cluster_config_id: identifies the cluster configuration (see `config_id`).
    """

    def cost(self, kernel: str, shape: tuple[int, ...], variant: str,
             cluster_config_id: str) -> TileCost: ...


def config_id(config: Mapping[str, Any]) -> str:
    """A stable 16-hex-digit hash of a cluster configuration (canonical JSON, sorted keys)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cache_key(kernel: str, shape: tuple[int, ...], variant: str,
              cluster_config_id: str) -> dict[str, Any]:
    return {"format": CACHE_FORMAT, "kernel": kernel, "shape": [int(s) for s in shape],
            "variant": variant, "cluster_config_id": cluster_config_id}


class CachedProvider:
    """Wraps a provider with an on-disk JSON cache: one file per (kernel, shape, variant,
    cluster config id), named by the SHA-256 of the canonical key.

    Safe under concurrent processes without locks: an entry is written to a temporary file
    in the same directory and renamed into place (atomic on POSIX), so readers see either no
    file or a complete one; two processes computing the same entry write identical bytes
    (providers are deterministic), so the last rename wins harmlessly. The key is stored in
    the file and checked on read; a corrupt or mismatching file is recomputed.
    """

    def __init__(self, inner: TileCostProvider, directory: str | os.PathLike[str]) -> None:
        self.inner = inner
        self.directory = Path(directory)
        self.hits = 0
        self.misses = 0

    def path_for(self, key: Mapping[str, Any]) -> Path:
        text = json.dumps(key, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(text.encode()).hexdigest()
        return self.directory / digest[:2] / f"{digest}.json"

    def cost(self, kernel: str, shape: tuple[int, ...], variant: str,
             cluster_config_id: str) -> TileCost:
        key = cache_key(kernel, shape, variant, cluster_config_id)
        path = self.path_for(key)
        try:
            entry = json.loads(path.read_text())
            if entry.get("key") == key:
                self.hits += 1
                return TileCost.from_json(entry["cost"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
        self.misses += 1
        cost = self.inner.cost(kernel, tuple(shape), variant, cluster_config_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"key": key, "cost": cost.to_json()}, sort_keys=True, indent=1)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(text)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return cost


class ExtrapolatingProvider:
    """Prices a tile with a repeat count n (e.g. the Tc column blocks of an FA-2 row block,
    the K chunks of a GEMM block) from two small runs: cost(n) = c(1) + (n-1)·(c(2) - c(1)).

    This is the predecessor's steady-state rule (vexp_details.md §3: the second t_c iteration
    is the steady-state cost; the first differs), applied to every additive field, so the
    inner provider is only ever asked for n = 1 and n = 2. `repeat_dims` maps a kernel name to
    the index of its repeat count in the shape tuple; other kernels pass through unchanged.
    """

    def __init__(self, inner: TileCostProvider, repeat_dims: Mapping[str, int]) -> None:
        self.inner = inner
        self.repeat_dims = dict(repeat_dims)

    def cost(self, kernel: str, shape: tuple[int, ...], variant: str,
             cluster_config_id: str) -> TileCost:
        dim = self.repeat_dims.get(kernel)
        if dim is None or shape[dim] <= 2:
            return self.inner.cost(kernel, shape, variant, cluster_config_id)
        n = shape[dim]
        s1 = shape[:dim] + (1,) + shape[dim + 1:]
        s2 = shape[:dim] + (2,) + shape[dim + 1:]
        c1 = self.inner.cost(kernel, s1, variant, cluster_config_id)
        c2 = self.inner.cost(kernel, s2, variant, cluster_config_id)

        def ex(a: float, b: float) -> float:
            return a + (n - 1) * (b - a)

        def exd(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
            return {k: ex(a.get(k, 0.0), b.get(k, 0.0)) for k in sorted(set(a) | set(b))}

        return TileCost(
            compute_cycles=max(0.0, ex(c1.compute_cycles, c2.compute_cycles)),
            bytes_in=max(0, round(ex(c1.bytes_in, c2.bytes_in))),
            bytes_out=max(0, round(ex(c1.bytes_out, c2.bytes_out))),
            cycles=max(0.0, ex(c1.cycles, c2.cycles)),
            region_cycles=exd(c1.region_cycles, c2.region_cycles),
            busy_cycles=exd(c1.busy_cycles, c2.busy_cycles),
            energy_pj=(None if c1.energy_pj is None or c2.energy_pj is None
                       else ex(c1.energy_pj, c2.energy_pj)),
            energy_events=exd(c1.energy_events, c2.energy_events),
            # error does not add up over repeats: report the worse of the two runs
            error={k: max(c1.error.get(k, 0.0), c2.error.get(k, 0.0))
                   for k in sorted(set(c1.error) | set(c2.error))},
            source=c2.source if c1.source == c2.source else f"{c1.source}+{c2.source}",
        )

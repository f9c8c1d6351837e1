"""ANALYTICAL tile costs: a roofline-style estimate for tests and `--dry-run` only.

compute cycles = Σ over regions of work / (cores x per-core rate): GEMM flops at the SIMD FMA
peak, element-wise flops at the SIMD peak, softmax and GELU elements at published (or
assumed) cycles per element of the baseline and VEXP kernels; standalone cycles add
bytes / DMA bandwidth without overlap. Parameters and their sources: analytical.toml.
Every TileCost it returns has source="analytical", and reports label it as such: it is an
estimate, never a simulation result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from ...arch.tilecost import TileCost
from ...schema import Field, read_toml
from .sourced import load_sourced
from .tiling import tile_bytes

__all__ = ["AnalyticalCostProvider", "VARIANTS"]

VARIANTS = ("baseline", "vexp")


_F = Field("float", min=1e-9)
_SPEC = {"name": Field("str"), "compute_cores": Field("int", min=1),
         **{k: _F for k in (
             "gemm_flops_per_cycle_per_core", "elementwise_flops_per_cycle_per_core",
             "softmax_cycles_per_element_baseline", "softmax_cycles_per_element_vexp",
             "gelu_cycles_per_element_baseline", "gelu_cycles_per_element_vexp",
             "dma_bytes_per_cycle", "pj_per_core_cycle_vector", "pj_per_core_cycle_scalar",
             "pj_per_dma_core_cycle")},
         "scalar_regions_baseline": Field("str[]"), "scalar_regions_vexp": Field("str[]")}

_ELEMENTWISE_FLOPS = {"layernorm": 8, "residual": 1}


class AnalyticalCostProvider:
    """Roofline tile costs (see module docstring). `path`: a parameter TOML (default: the
    shipped analytical.toml); `overrides`: key -> value."""

    def __init__(self, path: str | Path | None = None,
                 overrides: Iterable[str] | Mapping[str, Any] = ()) -> None:
        if path is None:
            origin = "vexpsim/experiments/workloads/analytical.toml"
            text = resources.files(__package__).joinpath("analytical.toml").read_text()
            data = read_toml(origin, text=text, origin=origin)
        else:
            data, origin = read_toml(path), str(path)
        self.params, self.sources = load_sourced(data, origin, _SPEC, overrides)

    def cost(self, kernel: str, shape: tuple[int, ...], variant: str,
             cluster_config_id: str) -> TileCost:
        if variant not in VARIANTS:
            raise ValueError(f"variant {variant!r}: expected one of {VARIANTS}")
        p = self.params
        cores = p["compute_cores"]
        regions: dict[str, float] = {}
        if kernel == "gemm":
            tm, tn, tk, nk = shape
            regions["gemm"] = 2 * tm * tn * tk * nk / (cores * p["gemm_flops_per_cycle_per_core"])
        elif kernel == "fa2":
            br, bc, d, tc, _causal = shape
            regions["gemm"] = (4 * br * bc * d * tc
                               / (cores * p["gemm_flops_per_cycle_per_core"]))
            regions["softmax"] = (br * bc * tc * p[f"softmax_cycles_per_element_{variant}"]
                                  / cores)
        elif kernel in ("softmax", "gelu"):
            rows, cols = shape
            regions[kernel] = rows * cols * p[f"{kernel}_cycles_per_element_{variant}"] / cores
        elif kernel in _ELEMENTWISE_FLOPS:
            rows, cols = shape
            regions[kernel] = (_ELEMENTWISE_FLOPS[kernel] * rows * cols
                               / (cores * p["elementwise_flops_per_cycle_per_core"]))
        else:
            raise ValueError(f"analytical provider: unknown kernel {kernel!r}")
        compute = sum(regions.values())
        b_in, b_out = tile_bytes(kernel, tuple(shape))
        scalar = set(p[f"scalar_regions_{variant}"])
        energy = sum(v * cores * (p["pj_per_core_cycle_scalar"] if r in scalar
                                  else p["pj_per_core_cycle_vector"])
                     for r, v in regions.items()) + compute * p["pj_per_dma_core_cycle"]
        return TileCost(compute_cycles=compute, bytes_in=b_in, bytes_out=b_out,
                        cycles=compute + (b_in + b_out) / p["dma_bytes_per_cycle"],
                        region_cycles=regions, energy_pj=energy, source="analytical")

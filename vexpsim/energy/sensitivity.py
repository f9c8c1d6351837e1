"""What-if energy tables for sensitivity studies: the C1-consistent TCDM family.

The one calibrated number of the shipped table is the static floor, closed on cross-check C1
(energy_refs.md §5: an FP64 GEMM on the 8-core cluster at 95 % FPU use, SSRs streaming 1.125
elements per FMA, costs ~27 pJ per FMA all-in). C1 fixes only the SUM of the TCDM access
energy and the static floor: with the TCDM access at t pJ instead of the table's 9 pJ
(TeraPool's figure, A13: a 32-bit bank in a 1024-core hierarchy, "no width correction"), the
floor that keeps C1's all-in energy per FMA unchanged is

    static(t) = static_table + cores × utilisation × elements_per_fma × (t_table - t) pJ/cycle

(× f / 1 GHz for mW), spread over the blocks as the table spreads it (each leakage entry scaled
by the same factor). Conflicts cost half the crossbar part of an access, (t - array) / 2, as
the table derives its own `tcdm_conflict`. Every member of the family is as consistent with C1
as the shipped table; the VEXP paper's energy ratios are NOT used to pick one. A member is a
question ("what if a Snitch TCDM access cost t pJ?"), never the default.
benchmarks/energy_sensitivity.py prices the softmax and FA-2 runs under the family.
"""

from __future__ import annotations

from dataclasses import replace

from ..errors import UserError
from .model import EnergyModel, Instances

__all__ = ["C1_CORES", "C1_UTILISATION", "C1_ELEMENTS_PER_FMA", "TCDM_ARRAY_PJ",
           "tcdm_family"]

# Cross-check C1, energy_refs.md §5 (also tests/energy/test_energy_table.py)
C1_CORES = 8  # compute cores of the cluster
C1_UTILISATION = 0.95  # FPU issue share of the FP64 GEMM
C1_ELEMENTS_PER_FMA = 1.125  # SSR-streamed TCDM accesses per FMA (B each FMA, A every 8th)
# The bare SRAM array of a 4 KiB x 64-bit bank: CACTI 22 nm HP 1.09 pJ x 0.47 (energy_refs.md
# §2.3, §3); the table's tcdm_conflict is half of (access - array)
TCDM_ARRAY_PJ = 0.51
_ACCESS_EVENTS = ("tcdm_read", "tcdm_write")


def tcdm_family(model: EnergyModel, tcdm_pj: float) -> EnergyModel:
    """`model` with every TCDM bank access at `tcdm_pj` (read and write), the conflict event
    re-derived, and the static floor moved so that cross-check C1 costs the same all-in
    energy per FMA as under `model`. Raises UserError when `tcdm_pj` is outside
    [0, the access energy at which the floor would reach zero]."""
    missing = [n for n in (*_ACCESS_EVENTS, "tcdm_conflict") if n not in model.events]
    if missing:
        raise UserError(f"energy table {model.name!r} has no {', '.join(missing)}: the TCDM "
                        "family needs them")
    base = model.events["tcdm_read"].pj
    if model.events["tcdm_write"].pj != base:
        raise UserError(f"energy table {model.name!r}: tcdm_read and tcdm_write differ "
                        f"({base} vs {model.events['tcdm_write'].pj} pJ); the family moves "
                        "one access energy")
    # the C1 cluster: 8 compute cores + the DMA core, every optional unit present
    c1 = Instances(compute_cores=C1_CORES, dma_cores=1)
    static_mw = sum(model.static_power_mw(c1).values())
    per_cycle = C1_CORES * C1_UTILISATION * C1_ELEMENTS_PER_FMA  # accesses per cycle in C1
    mw_per_pj = model.frequency_hz / 1e9  # 1 pJ per cycle at 1 GHz = 1 mW
    new_static = static_mw + per_cycle * (base - tcdm_pj) * mw_per_pj
    t_max = base + static_mw / (per_cycle * mw_per_pj)
    if not 0 <= tcdm_pj <= t_max or static_mw <= 0:
        raise UserError(f"TCDM access energy {tcdm_pj} pJ: must lie in [0, {t_max:.2f}] pJ for "
                        f"table {model.name!r} (above, C1 would need a negative static floor)")
    scale = new_static / static_mw
    note = (f"; what-if: TCDM access {tcdm_pj:g} pJ (table {base:g}), static floor x{scale:.3f} "
            "to keep cross-check C1 (vexpsim.energy.sensitivity)")
    events = dict(model.events)
    for n in _ACCESS_EVENTS:
        events[n] = replace(events[n], pj=tcdm_pj, source=events[n].source + note, label="X")
    conflict = max(tcdm_pj - TCDM_ARRAY_PJ, 0.0) / 2
    events["tcdm_conflict"] = replace(events["tcdm_conflict"], pj=conflict, label="X",
                                      source=events["tcdm_conflict"].source + note)
    if "core_cycle" in events:  # the system model's idle floor per hart-cycle: the same floor
        events["core_cycle"] = replace(events["core_cycle"], pj=events["core_cycle"].pj * scale,
                                       label="X", source=events["core_cycle"].source + note)
    leakage = {k: replace(e, mw=e.mw * scale, source=e.source + note, label="X")
               for k, e in model.leakage.items()}
    return EnergyModel(f"{model.name}+tcdm{tcdm_pj:g}pJ", events, model.frequency_hz, leakage,
                       model.technology, model.origin)

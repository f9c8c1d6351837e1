"""The 8-core, DMA-fed softmax kernels of issue 6 (kernels/softmax_{baseline,opt,vexp}.S on the
skeleton kernels/lib/softmax_spmd.S): M rows of N values in main memory (`x`, `y` in .data),
row i on compute core i mod 8, blocks of 8 rows moved by the DMA core (hart 8), double-buffered
when two blocks fit in the TCDM.

Each kernel's tolerance is a worst-case bound derived from its arithmetic (the functions below
say how); the tests also compare bit for bit with emulations of that arithmetic."""

from __future__ import annotations

import numpy as np

from ...numerics.formats import BF16, convert, from_bits, to_bits
from ...numerics.reference import softmax_reference
from ..kernelrun import Kernel, input_values, register
from .softmax_row import SCALE, vexp_softmax_bound

CORES = 8  # compute cores of the default cluster (snitch_cluster.md §1); a block = 8 rows
TCDM_BYTES = 128 * 1024  # snitch_cluster.md §1 (cfg/default.json tcdm.size)
TCDM_RESERVED = 2048  # per-hart scratch (9 x 64 B), constants, alignment padding
U32 = 2.0**-24  # unit roundoff of FP32
U_BF16 = 2.0**-9  # unit roundoff of BF16


def nbuf(n: int, elem_bytes: int) -> int:
    """2 (double buffering) when two blocks of 8 rows fit in the TCDM, else 1."""
    block = CORES * n * elem_bytes
    return 2 if 2 * block + TCDM_RESERVED <= TCDM_BYTES else 1


def _check(elem_bytes: int, multiple: int):
    def check(p: dict) -> list[str]:
        out = []
        if p["M"] < CORES or p["M"] % CORES:
            out.append(f"M = {p['M']} must be a positive multiple of {CORES} (one row per core "
                       "per block)")
        n = p["N"]
        if n < multiple or n % multiple:
            out.append(f"N = {n} must be a positive multiple of {multiple}")
        elif CORES * n * elem_bytes + TCDM_RESERVED > TCDM_BYTES:
            out.append(f"N = {n}: a block of {CORES} rows ({CORES * n * elem_bytes} B) does not "
                       f"fit in the {TCDM_BYTES // 1024} KiB TCDM")
        return out
    return check


def _defines(elem_bytes: int):
    return lambda p: {"M": p["M"], "N": p["N"], "NBUF": nbuf(p["N"], elem_bytes)}


def _phases(p: dict) -> tuple[str, ...]:
    return ("dma_wait",) + ("max", "exp_sum", "normalise", "dma_wait") * (p["M"] // CORES)


def _fp32_inputs(p: dict, dist: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    x = input_values((p["M"], p["N"]), dist, rng, SCALE)
    return {"x": x.astype(np.float32).astype(np.float64)}


def _bf16_inputs(p: dict, dist: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {"x": convert(input_values((p["M"], p["N"]), dist, rng, SCALE), BF16).astype(np.float64)}


def _store_bf16(prog, inp: dict, p: dict) -> None:
    prog.store("x", to_bits(convert(inp["x"], BF16)).astype("<u2").tobytes())


def _read_bf16(res, p: dict) -> np.ndarray:
    raw = np.frombuffer(res.memory.read(res.symbols["y"], 2 * p["M"] * p["N"]), dtype="<u2")
    return from_bits(raw.astype(np.uint16), BF16).astype(np.float64).reshape(p["M"], p["N"])


def _read_fp32(res, p: dict) -> np.ndarray:
    raw = np.frombuffer(res.memory.read(res.symbols["y"], 4 * p["M"] * p["N"]), dtype="<f4")
    return raw.astype(np.float64).reshape(p["M"], p["N"])


def _ref(inputs: dict, p: dict) -> np.ndarray:
    return softmax_reference(inputs["x"])


def baseline_bound(x: np.ndarray) -> float:
    """Worst-case relative error of an FP32 output of softmax_baseline, over the rows of `x`:
    x - max rounded to FP32 (an absolute error u|x - max| of the exp's argument, so a relative
    u * spread of e), expf within 0.502 ulp (2u), the sequential sum of N terms (relative
    (N - 1) u, the classical gamma bound to first order) and the division (u)."""
    spread = float(np.max(x.max(axis=-1) - x.min(axis=-1)))
    return (spread + 2 + (x.shape[-1] - 1) + 1) * U32 * 1.01  # 1.01: second-order terms


def vexp_bound(x: np.ndarray) -> float:
    """The one-row bound (softmax_row.vexp_softmax_bound, 2 packed accumulators) of the worst
    row."""
    return max(vexp_softmax_bound(row, accumulators=2) for row in x)


def _flops(p: dict) -> float:
    # per element: max compare, subtract, exp (1), add, multiply/divide: 5 (as softmax_row)
    return 5.0 * p["M"] * p["N"]


register(Kernel(
    name="softmax_baseline",
    source="softmax_baseline.S",
    description="softmax of M FP32 rows on 8 cores with DMA: scalar, software expf, fdiv.s",
    params={"M": 16, "N": 256},
    check=_check(4, 1),
    defines=_defines(4),
    inputs=_fp32_inputs,
    place=lambda prog, inp, p: prog.store("x", inp["x"].astype("<f4").tobytes()),
    outputs=_read_fp32,
    reference=_ref,
    tolerance=lambda p, inp: {"max_rel_error": baseline_bound(inp["x"])},
    tolerance_note="worst case: FP32 rounding of x - max (u x spread), expf 0.502 ulp, "
                   "sequential FP32 sum (N - 1) u, fdiv.s u; u = 2^-24",
    phases=_phases,
    flops=_flops,
))

register(Kernel(
    name="softmax_vexp",
    source="softmax_vexp.S",
    description="softmax of M BF16 rows on 8 cores with DMA: SSR/FREP passes with vfexp.h",
    params={"M": 16, "N": 256},
    check=_check(2, 16),
    defines=_defines(2),
    inputs=_bf16_inputs,
    place=_store_bf16,
    outputs=_read_bf16,
    reference=_ref,
    tolerance=lambda p, inp: {"max_rel_error": vexp_bound(inp["x"])},
    tolerance_note="worst row: BF16 rounding of x - max, VEXP 0.706 %, 3 BF16 roundings "
                   "(e, 1/sum, y) and one BF16 rounding per addition of the sum "
                   "(N / 8 per chain with 2 packed accumulators)",
    phases=_phases,
    flops=_flops,
))

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
from .common import CORES, TCDM_BYTES, U32, U_BF16
from .softmax_row import SCALE, vexp_softmax_bound

TCDM_RESERVED = 2048  # per-hart scratch (9 x 64 B), constants, alignment padding


def nbuf(n: int, elem_bytes: int, extra: int = 0) -> int:
    """2 (double buffering) when two blocks of 8 rows (and `extra` bytes of work buffers) fit
    in the TCDM, else 1."""
    block = CORES * n * elem_bytes
    return 2 if 2 * block + TCDM_RESERVED + extra <= TCDM_BYTES else 1


def opt_chunk(n: int) -> int:
    """Elements per chunk of softmax_opt's exp passes (kernels/softmax_opt.S)."""
    return min(n, 512)  # 8 cores x 12 x 512 B = 48 KiB: still double-buffered at N = 2048


def opt_work_bytes(n: int) -> int:
    """softmax_opt's per-core work buffers (z: 4 B, [r, 2^k]: 8 B per element of a chunk),
    for the 8 cores."""
    return CORES * 12 * opt_chunk(n)


def _check(elem_bytes: int, multiple: int, extra=lambda n: 0):
    def check(p: dict) -> list[str]:
        out = []
        if p["M"] < CORES or p["M"] % CORES:
            out.append(f"M = {p['M']} must be a positive multiple of {CORES} (one row per core "
                       "per block)")
        n = p["N"]
        if n < multiple or n % multiple:
            out.append(f"N = {n} must be a positive multiple of {multiple}")
        elif CORES * n * elem_bytes + TCDM_RESERVED + extra(n) > TCDM_BYTES:
            out.append(f"N = {n}: a block of {CORES} rows ({CORES * n * elem_bytes} B) does not "
                       f"fit in the {TCDM_BYTES // 1024} KiB TCDM")
        return out
    return check


def _defines(elem_bytes: int):
    return lambda p: {"M": p["M"], "N": p["N"], "NBUF": nbuf(p["N"], elem_bytes)}


def _f32_bits(v: float) -> int:
    return int(np.array([v], dtype=np.float32).view(np.uint32)[0])


# softmax_opt's FP32 constants (kernels/softmax_opt.S header). 2^r on [-1/2, 1/2] by the
# quadratic c0 + c1 r + c2 r^2 of least maximum relative error (Lawson's iteration on a grid
# of 200001 points: c0 = 1.00044302, c1 = 0.70344505, c2 = 0.23842739, max relative error
# 1.7262e-3), written c2 (r + a)^2 + b with a = c1 / (2 c2), b = c0 - c1^2 / (4 c2), each
# rounded to FP32 once (max relative error of the FP32 evaluation 1.7263e-3, tested).
_S = 1.5 * 2.0**23
OPT_CONSTS: dict[str, float] = {
    "K_L": 1.0 / np.log(2.0),  # log2(e)
    "K_S": _S,  # round-to-integer shift
    "K_B": 127.0 - _S,  # kd + K_B = k + 127 exactly
    "K_P23": 2.0**23,  # (k + 127) * 2^23 = bits of 2^k
    "K_A": 1.475176643541872,
    "K_C2": 0.23842739422434117,
    "K_BQ": 0.48159017039671226,
}
OPT_POLY_MAX_REL = 1.7263e-3  # the FP32 quadratic's max relative error vs 2^r (tested)


def _opt_defines(p: dict) -> dict[str, int]:
    d = _defines(2)(p) | {"CH": opt_chunk(p["N"])}
    d["NBUF"] = nbuf(p["N"], 2, opt_work_bytes(p["N"]))
    return d | {k: _f32_bits(v) for k, v in OPT_CONSTS.items()}


def opt_bound(x: np.ndarray) -> float:
    """Worst-case relative error of a softmax_opt output, over the rows of `x`: BF16 rounding
    of x - max (expm1(spread x 2^-8)), the FP32 steps of the exponential (z = d log2 e and
    the quadratic: well below 300 u with u = 2^-24, as |z| < 128), the quadratic's own
    1.7263e-3, the BF16 roundings of e, of 1/sum and of y (3 x 2^-8), the FP32 sum (N u) and
    the FP32 division (u); the terms compose multiplicatively."""
    n = x.shape[-1]
    return (float(np.expm1(_spread(x) * U_BF16) + 1) * (1 + OPT_POLY_MAX_REL)
            * (1 + U_BF16) ** 3 * (1 + U32) ** (300 + n + 1) - 1)


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


def _spread(x: np.ndarray) -> float:
    return float(np.max(x.max(axis=-1) - x.min(axis=-1)))


def baseline_bound(x: np.ndarray) -> float:
    """Worst-case relative error of an FP32 output of softmax_baseline, over the rows of `x`:
    x - max rounded to FP32 (an absolute error u|x - max| of the exp's argument, so a relative
    expm1(u * spread) of e), expf within 0.502 ulp (2u), the sequential sum of N terms
    (relative (N - 1) u, the classical gamma bound) and the division (u); the terms compose
    multiplicatively."""
    n = x.shape[-1]
    return float(np.expm1(_spread(x) * U32) + 1) * (1 + 2 * U32) * (1 + U32) ** n - 1

def vexp_bound(x: np.ndarray) -> float:
    """The one-row bound (softmax_row.vexp_softmax_bound, 2 packed accumulators) of the worst
    row."""
    return max(vexp_softmax_bound(row, accumulators=2) for row in x)


def _flops(p: dict) -> float:
    # per element: max compare, subtract, exp (1), add, multiply/divide: 5 (as softmax_row)
    return 5.0 * p["M"] * p["N"]


register(Kernel(
    name="softmax_baseline",
    config="paper_baseline",  # no EXP block (vexpsim/arch/configs/paper_baseline.toml)
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
    tolerance_note="worst case: FP32 rounding of x - max (expm1(u x spread)), expf 0.502 ulp, "
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
                   "(N / 8 per chain with 2 packed accumulators); u = 2^-8",
    phases=_phases,
    flops=_flops,
))

register(Kernel(
    name="softmax_opt",
    config="paper_baseline",  # no EXP block (vexpsim/arch/configs/paper_baseline.toml)
    source="softmax_opt.S",
    description="softmax of M BF16 rows on 8 cores with DMA, no VEXP: SSR/FREP passes, "
                "software exp (FP32 SIMD quadratic, 2^k by conversion)",
    params={"M": 16, "N": 256},
    check=_check(2, 16, opt_work_bytes),
    defines=_opt_defines,
    inputs=_bf16_inputs,
    place=_store_bf16,
    outputs=_read_bf16,
    reference=_ref,
    tolerance=lambda p, inp: {"max_rel_error": opt_bound(inp["x"])},
    tolerance_note="worst case: BF16 rounding of x - max (expm1(spread x 2^-8)), quadratic 2^r "
                   "(1.73e-3), FP32 exp steps, BF16 roundings of e, 1/sum, y (3 x 2^-8), "
                   "FP32 sum and division",
    phases=_phases,
    flops=_flops,
))

"""The GEMM tile kernels (issue 7; the "gemm" tiles of workloads/tiling.py): C[M,N] = A[M,K] B[K,N]
on one cluster, A and B transposed (Bt, N x K) in main memory, K in NK = K / TK chunks that the
DMA core double-buffers into the TCDM, output rows split over the 8 compute cores, FP32
accumulators in the TCDM across chunks (the opt kernels keep two FP32 lanes per output, added
after the last chunk), C written back by the DMA (kernels/lib/gemm_spmd.S).

- gemm_bf16: BF16 in, FP32 accumulation (vfdotpex.s.ah, SSR + FREP, 8 accumulators), BF16 out;
- gemm_fp32: FP32 in and out (vfmac.s, SSR + FREP, 8 accumulators);
- gemm_naive: BF16 in and out, scalar loads and multiply-adds, no SSR / FREP.

A tile of tiling.py with shape (tm, tn, tk, nk) runs as {"M": tm, "N": tn, "K": tk * nk,
"TK": tk} (`params_of_tile`). Tolerances are worst-case bounds from each kernel's arithmetic
(`gemm_bound`); the tests also compare bit for bit with emulations of it."""

from __future__ import annotations

import math

import numpy as np

from ...numerics.formats import BF16, convert, from_bits, to_bits
from ..kernelrun import Kernel, input_values, register
from .common import TCDM_BYTES, U32, U_BF16

__all__ = ["gemm_bound", "params_of_tile", "tcdm_bytes", "limits_problems"]

GROUP = 8  # columns per FREP group = accumulators (snitch_cluster.md §3.2: DOTP/FMA +4)
TCDM_PAD = 4 * 64  # alignment of the 4 TCDM buffers to 64 B (kernels/lib/gemm_spmd.S)
TK_MULTIPLE = 16  # a chunk row is whole 64-bit words for 4 BF16 lanes and 2 FP32 lanes
ROW_PAD = 8  # TCDM row pitch = row + one bank (kernels/lib/gemm_spmd.S: spreads rows over banks)
MAX_ROW_BYTES = 2047 - ROW_PAD  # the pitch is an addi immediate in the kernels (12-bit signed)

# per variant: input bytes, output bytes, elements per 64-bit word (None: scalar kernel),
# accumulator bytes per output (8: two FP32 lanes kept apart over K; kernels/lib/gemm_opt.S)
VARIANTS: dict[str, tuple[int, int, int | None, int]] = {
    "gemm_bf16": (2, 2, 4, 8),
    "gemm_fp32": (4, 4, 2, 8),
    "gemm_naive": (2, 2, None, 4),
}


def params_of_tile(shape: tuple[int, int, int, int]) -> dict[str, int]:
    """run_kernel parameters of a tiling.py "gemm" tile (tm, tn, tk, nk)."""
    tm, tn, tk, nk = shape
    return {"M": tm, "N": tn, "K": tk * nk, "TK": tk}


def _np(n: int) -> int:
    return GROUP * math.ceil(n / GROUP)


def tcdm_bytes(p: dict, eb: int, cb: int) -> int:
    """TCDM the kernel uses: 2 A and 2 Bt chunk buffers (Bt with N rounded up to 8 rows; row
    pitch TK * eb + ROW_PAD) and the accumulators (M x NP x cb bytes; the output is written over
    them in place)."""
    m, npad, tk = p["M"], _np(p["N"]), p["TK"]
    return 2 * (m + npad) * (tk * eb + ROW_PAD) + cb * m * npad + TCDM_PAD


def limits_problems(p: dict, eb: int, cb: int) -> list[str]:
    m, n, k, tk = p["M"], p["N"], p["K"], p["TK"]
    out = []
    if m < 1 or n < 1:
        out.append(f"M = {m}, N = {n} must be >= 1")
    if tk < TK_MULTIPLE or tk % TK_MULTIPLE:
        out.append(f"TK = {tk} must be a positive multiple of {TK_MULTIPLE}")
    elif tk * eb > MAX_ROW_BYTES:
        out.append(f"TK = {tk}: a chunk row of {tk * eb} B exceeds {MAX_ROW_BYTES} B "
                   f"(TK <= {MAX_ROW_BYTES // eb})")
    if k < 1 or tk < 1 or k % tk:
        out.append(f"K = {k} must be a positive multiple of TK = {tk} (pad K with zeros)")
    if not out and tcdm_bytes(p, eb, cb) > TCDM_BYTES:
        out.append(f"M = {m}, N = {n}, TK = {tk} need {tcdm_bytes(p, eb, cb)} B of TCDM "
                   f"(2 x A chunk {m * (tk * eb + ROW_PAD)} B + 2 x Bt chunk "
                   f"{_np(n) * (tk * eb + ROW_PAD)} B + "
                   f"accumulators {cb * m * _np(n)} B + alignment), more than the "
                   f"{TCDM_BYTES // 1024} KiB TCDM")
    return out


def chain_roundings(name: str, p: dict) -> int:
    """Most FP32 roundings any product goes through in the kernel: opt kernels K / VW
    accumulation steps in its lane plus the final vfsum; naive: one fadd.s per k."""
    vw = VARIANTS[name][2]
    if vw is None:
        return p["K"]
    return p["K"] // vw + 1


def gemm_bound(name: str, p: dict, a: np.ndarray, b: np.ndarray) -> float:
    """Worst-case absolute error of an output against the float64 product of the (already
    rounded) inputs: the products are exact (BF16 x BF16 fits FP32; vfmac.s and vfdotpex are
    fused), each of the n = chain_roundings FP32 roundings errs by at most 2u relative (u =
    2^-24; 2u allows for FPnew's DOTP sum, faithful but not always correctly rounded), so
    |C' - C| <= gamma_n (|A| |B|) with gamma_n = n 2u / (1 - n 2u); a BF16 output adds
    u_bf16 |C'| (nearest even). Maximum over the outputs."""
    n = chain_roundings(name, p)
    g = n * 2 * U32 / (1 - n * 2 * U32)
    e = g * (np.abs(a) @ np.abs(b))
    if VARIANTS[name][1] == 2:
        e = (1 + U_BF16) * e + U_BF16 * np.abs(a @ b)
    return float(e.max())


def _inputs(eb: int):
    def inputs(p: dict, dist: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
        a = input_values((p["M"], p["K"]), dist, rng)
        b = input_values((p["K"], p["N"]), dist, rng)
        if eb == 2:
            return {"a": convert(a, BF16).astype(np.float64),
                    "b": convert(b, BF16).astype(np.float64)}
        return {"a": a.astype(np.float32).astype(np.float64),
                "b": b.astype(np.float32).astype(np.float64)}
    return inputs


def _place(eb: int):
    def place(prog, inp: dict, p: dict) -> None:
        bt = np.ascontiguousarray(inp["b"].T)  # the kernels read B transposed
        for sym, v in (("a", inp["a"]), ("bt", bt)):
            if eb == 2:
                prog.store(sym, to_bits(convert(v, BF16)).astype("<u2").tobytes())
            else:
                prog.store(sym, v.astype("<f4").tobytes())
    return place


def _outputs(ob: int):
    def outputs(res, p: dict) -> np.ndarray:
        m, n = p["M"], p["N"]
        raw = res.memory.read(res.symbols["c"], ob * m * n)
        if ob == 2:
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint16)
            return from_bits(bits, BF16).astype(np.float64).reshape(m, n)
        return np.frombuffer(raw, dtype="<f4").astype(np.float64).reshape(m, n)
    return outputs


def _defines(p: dict) -> dict[str, int]:
    return {"M": p["M"], "N": p["N"], "K": p["K"], "TK": p["TK"], "NK": p["K"] // p["TK"],
            "NP": _np(p["N"])}


def _phases(p: dict) -> tuple[str, ...]:
    return ("dma_wait",) + ("compute", "dma_wait") * (p["K"] // p["TK"]) + ("writeback",)


def _flops(p: dict) -> float:
    return 2.0 * p["M"] * p["N"] * p["K"]


_DESC = {
    "gemm_bf16": "C = A B tile on 8 cores with DMA: BF16 in, FP32 accumulation (vfdotpex.s.ah, "
                 "SSR + FREP, 8 accumulators), BF16 out",
    "gemm_fp32": "C = A B tile on 8 cores with DMA: FP32 (vfmac.s, SSR + FREP, 8 accumulators)",
    "gemm_naive": "C = A B tile on 8 cores with DMA: BF16 in, FP32 accumulation, BF16 out; "
                  "scalar loads and multiply-adds, no SSR / FREP",
}

for _name, (_eb, _ob, _vw, _cb) in VARIANTS.items():
    register(Kernel(
        name=_name,
        source=f"{_name}.S",
        description=_DESC[_name],
        params={"M": 16, "N": 16, "K": 64, "TK": 64},
        check=lambda p, eb=_eb, cb=_cb: limits_problems(p, eb, cb),
        defines=_defines,
        inputs=_inputs(_eb),
        place=_place(_eb),
        outputs=_outputs(_ob),
        reference=lambda inp, p: inp["a"] @ inp["b"],
        tolerance=lambda p, inp, name=_name: {
            "max_abs_error": gemm_bound(name, p, inp["a"], inp["b"])},
        tolerance_note="worst case: exact products, FP32 accumulation (gamma_n (|A||B|), n "
                       "roundings of 2^-23 along the longest chain)"
                       + (", BF16 output rounding 2^-8 |C|" if _ob == 2 else ""),
        phases=_phases,
        flops=_flops,
    ))

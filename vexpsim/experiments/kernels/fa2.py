"""FlashAttention-2 forward kernels of issue 7 (kernels/fa2_{vexp,baseline,naive}.S on the
skeleton kernels/lib/fa2_spmd.S): one head, O = softmax(Q Kᵀ / sqrt(d)) V with Q (L x d) and
K, V (S x d) BF16 in main memory, O (L x d) FP32 in main memory; Br x Bc tiles, the DMA core
double-buffering the K/V tiles (V transposed on the fly), the 8 compute cores splitting the
Br rows of a row block (row i on core i mod 8).

- `fa2_vexp` (vexp_paper cluster): the online softmax with vfexp.ah over SSR/FREP (BF16);
- `fa2_baseline` (paper_baseline cluster, no EXP unit): the scalar FP32 softmax with the libm
  expf, the same SSR/FREP SIMD GEMMs as fa2_vexp (the paper changed only the softmax part,
  vexp_details.md §4.3);
- `fa2_naive` (paper_baseline): the scalar softmax and GEMMs without SSR/FREP (the public
  kernel's baseline mode), to split the gap into GEMM optimisation and exponential.

Parameters: L, S (0: S = L), d, Br, Bc, causal (1: query row i at position i + S - L sees the
keys up to it, `visible`; needs S >= L and no extrapolation); row_blocks and tiles (0: simulate
everything) select a steady-state extrapolation (`extrapolate`, kernelrun's Extrapolation and
the record's `extrapolated` field): every row block of a non-causal FA-2 does the same work on
its own cluster-time (the DMA loads its Q block and first K/V tile, the cores run the Tc tiles,
the DMA stores its O block; nothing overlaps two row blocks), and every K/V tile after the
first of a row block does the same work, so row_blocks = r simulates r row blocks and weighs
them by (L/Br)/r, and tiles = n simulates n and n + 1 tiles and extrapolates linearly to S/Bc
(tests/kernels/test_fa2.py bounds the difference from full runs).

A tile of the system model (vexpsim/experiments/workloads/tiling.py: (br, bc, d, tc, causal))
is one row block: run_kernel("fa2_vexp", {"L": br, "S": tc * bc, "d": d, "Br": br, "Bc": bc,
"causal": causal}), with "tiles": n (n >= 2; causal: n >= ceil(br / bc) + 1) to simulate n and
n + 1 tiles only when tc is large. `check` gives the TCDM limits (`tcdm_bytes`).

The check bounds max_abs_error of O by a worst case derived from the arithmetic
(`error_bound`): each effective softmax weight w_j is off by a relative e_j at most, so the
output, a weighted mean of the rows of V, is off by at most sum w|e| / sum w(1 - |e|) times
the largest distance of V's column from it.
"""

from __future__ import annotations

import math

import numpy as np

from ...errors import UserError
from ...numerics.formats import BF16, convert, to_bits
from ...numerics.reference import attention_reference, softmax_reference
from ..kernelrun import Extrapolation, Kernel, input_values, register
from .common import EXPF_MAX_REL, TCDM_BYTES, U32, U_BF16, VEXP_MAX_REL

SCRATCH_BYTES = 9 * 64 + 64  # per-hart scratch + constants (kernels/lib/fa2_spmd.S)
ALIGN = 64  # each TCDM buffer starts on a 64-byte boundary (kernels/lib/fa2_spmd.S)
MAIN_BYTES = 64 * 1024 * 1024  # main memory modelled (docs/dsl.md memory map)
D_SUPPORTED = (64, 80, 128)  # head dims tested; any multiple of 8 in 8..256 is accepted
TILE_MIN, TILE_MAX = 8, 128


def _round_up(n: int, a: int = ALIGN) -> int:
    return -(-n // a) * a


def tcdm_bytes(p: dict) -> int:
    """TCDM the kernel needs: Q block, 2 K and 2 Vt tiles (BF16), S/P (BF16), O (FP32), the
    row statistics (16 B per row), scratch and constants (kernels/lib/fa2_spmd.S .tcdm)."""
    br, bc, d = p["Br"], p["Bc"], p["d"]
    return (_round_up(br * d * 2) + 2 * _round_up(bc * d * 2) * 2 + _round_up(br * bc * 2)
            + _round_up(br * d * 4) + br * 16 + SCRATCH_BYTES)


def check(p: dict) -> list[str]:
    out = []
    d, br, bc, length, s = p["d"], p["Br"], p["Bc"], p["L"], p["S"]
    if d < 8 or d > 256 or d % 8:
        out.append(f"d = {d} must be a multiple of 8 in 8..256 (tested: {D_SUPPORTED})")
    for name, v in (("Br", br), ("Bc", bc)):
        if v < TILE_MIN or v > TILE_MAX or v % 8:
            out.append(f"{name} = {v} must be a multiple of 8 in {TILE_MIN}..{TILE_MAX}")
    if length < br or (br and length % br):
        out.append(f"L = {length} must be a positive multiple of Br = {br}")
    if s < bc or (bc and s % bc):
        out.append(f"S = {s} must be a positive multiple of Bc = {bc}")
    if p["causal"] not in (0, 1):
        out.append(f"causal = {p['causal']} must be 0 or 1")
    elif p["causal"]:
        if s < length:
            out.append(f"causal = 1 needs S >= L (query row i sits at position i + S - L), "
                       f"got L = {length}, S = {s}")
        if p["row_blocks"] and length > br:
            out.append("causal = 1: row_blocks must be 0 (the row blocks of a causal FA-2 do "
                       "different work, so they cannot be extrapolated)")
        diag = -(-br // bc) if bc else 0  # masked tiles at the end of a one-block run
        if p["tiles"] and (length > br or p["tiles"] < diag + 1):
            out.append(f"causal = 1: tiles = {p['tiles']} needs L = Br (one row block, its "
                       f"masked tiles at the end) and tiles >= {diag + 1} (the masked tiles "
                       "plus a full one), else 0")
    if not out:
        need = tcdm_bytes(p)
        if need > TCDM_BYTES:
            out.append(f"Br = {br}, Bc = {bc}, d = {d}: the tiles need {need} B of TCDM "
                       f"(Q {br}x{d} + 2 K + 2 Vt {bc}x{d} BF16, S {br}x{bc} BF16, O "
                       f"{br}x{d} FP32) > {TCDM_BYTES} B; use smaller Br or Bc")
        main = (length + 2 * s) * d * 2 + length * d * 4
        if main > MAIN_BYTES // 2:
            out.append(f"L = {length}, S = {s}, d = {d}: {main} B of operands exceed the "
                       f"{MAIN_BYTES // 2 // 2**20} MiB the kernel may use in main memory")
        rb = p["row_blocks"]
        if rb < 0 or rb > length // br:
            out.append(f"row_blocks = {rb} must be 0 (all) or 1..L/Br = {length // br}")
        if p["tiles"] < 0:
            out.append(f"tiles = {p['tiles']} must be 0 (all) or >= 1 (simulate that many "
                       "K/V tiles and one more, extrapolate to S/Bc)")
    return out


def resolve(p: dict) -> dict:
    """S = 0 means S = L (self-attention), so a sweep over L needs one axis."""
    return dict(p, S=p["L"]) if p["S"] == 0 else p


def extrapolate(p: dict) -> Extrapolation | None:
    """Row blocks: simulate the first `row_blocks` (L' = row_blocks x Br) and weigh by
    (L/Br)/row_blocks. Tiles: with `tiles` = n (and n + 1 < Tc), simulate n and n + 1 K/V
    tiles (S' = n Bc, (n + 1) Bc) and extrapolate linearly to Tc = S/Bc tiles:
    c(Tc) = c(n) + (Tc - n) (c(n + 1) - c(n)) (tile n + 1 is a steady-state tile: the same
    work as every later one; the fixed cost of a row block cancels). Causal (one row block,
    `check`): the small runs end with the same masked tiles as the full one (the mask is
    bottom-right aligned), so the extrapolation adds full tiles before them. None: one full
    run."""
    nrb, tc = p["L"] // p["Br"], p["S"] // p["Bc"]
    rb, n = p["row_blocks"], p["tiles"]
    rows = nrb if rb == 0 or rb >= nrb else rb
    base = dict(p, L=rows * p["Br"], row_blocks=0, tiles=0)
    f = nrb / rows
    if n and n + 1 < tc:
        runs = ((dict(base, S=n * p["Bc"]), f * (1 - (tc - n))),
                (dict(base, S=(n + 1) * p["Bc"]), f * (tc - n)))
    elif rows < nrb:
        runs = ((base, f),)
    else:
        return None
    return Extrapolation(runs, {"row_blocks": nrb, "row_blocks_simulated": rows,
                                "tiles": tc, "tiles_simulated": sorted({r["S"] // p["Bc"]
                                                                        for r, _ in runs})})


def qscale_bits(d: int) -> int:
    """BF16 bits of 1/sqrt(d), the factor Q is scaled by (exact for d = 64)."""
    return int(to_bits(convert(np.array([1.0 / math.sqrt(d)]), BF16))[0])


def defines(p: dict) -> dict[str, int]:
    return {"LQ": p["L"], "SK": p["S"], "DH": p["d"], "BR": p["Br"], "BC": p["Bc"],
            "CAUSAL": p["causal"], "QSCALE": qscale_bits(p["d"])}


def inputs(p: dict, dist: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    if dist not in ("normal", "uniform"):
        raise UserError(f"fa2 kernels: input distribution {dist!r} is not supported for Q, K, "
                        "V; use 'normal' or 'uniform'")
    out = {}
    for name, rows in (("q", p["L"]), ("k", p["S"]), ("v", p["S"])):
        out[name] = convert(input_values((rows, p["d"]), dist, rng), BF16).astype(np.float64)
    return out


def place(prog, inp: dict, p: dict) -> None:
    for name in ("q", "k", "v"):
        prog.store(name, to_bits(convert(inp[name], BF16)).astype("<u2").tobytes())


def outputs(res, p: dict) -> np.ndarray:
    raw = np.frombuffer(res.memory.read(res.symbols["o"], 4 * p["L"] * p["d"]), dtype="<f4")
    return raw.astype(np.float64).reshape(p["L"], p["d"])


def visible(p: dict) -> np.ndarray:
    """L x S mask of the keys each query row sees: all, or (causal) keys up to the row's
    position i + S - L (bottom-right aligned: L = S is the usual causal mask, and a block of
    the last L rows of a longer sequence sees what those rows see in it)."""
    i = np.arange(p["L"])[:, None]
    j = np.arange(p["S"])[None, :]
    return j <= i + p["S"] - p["L"] if p["causal"] else np.ones((p["L"], p["S"]), bool)


def reference(inp: dict, p: dict) -> np.ndarray:
    if not p["causal"]:
        return attention_reference(inp["q"], inp["k"], inp["v"])
    s = np.where(visible(p), (inp["q"] @ inp["k"].T) / math.sqrt(p["d"]), -np.inf)
    return softmax_reference(s) @ inp["v"]


def tiles_per_row_block(p: dict) -> list[int]:
    """K/V tiles each row block runs (kernels/lib/fa2_spmd.S TILES_OF_ROW_BLOCK)."""
    tc, br, bc = p["S"] // p["Bc"], p["Br"], p["Bc"]
    if not p["causal"]:
        return [tc] * (p["L"] // br)
    return [min(tc, (rb * br + p["S"] - p["L"] + br - 1) // bc + 1)
            for rb in range(p["L"] // br)]


def _max_changes(s: np.ndarray, bc: int) -> np.ndarray:
    """Per row, the number of K/V tiles after the first whose block max exceeds the running
    max (the tiles where c = exp(m_old - m_new) differs from 1)."""
    blocks = s.reshape(s.shape[0], -1, bc).max(axis=2)
    run = np.maximum.accumulate(blocks, axis=1)
    return (blocks[:, 1:] > run[:, :-1]).sum(axis=1)


def error_bound(inp: dict, p: dict, variant: str) -> float:
    """Worst-case max |O - O_ref| of the kernel `variant` ('vexp' or 'scalar').

    The effective weight of key j in row i (the kernel's P_ij times the c factors of the later
    tiles; the running max m cancels exactly in exact arithmetic) is w_ij (1 + e_ij) with
    w_ij = exp(s_ij - max_j s_ij) and |e_ij| <= exp(E_ij) (1 + e_exp) (1 + e_c)^changes_i - 1:
    - score error: Q scaled by BF16(1/sqrt d) (exact for d = 64; else u_sc + u per term), the
      FP32 dot product (d/2 + 2 roundings), S rounded to BF16 (u |s|);
    - argument s - m rounded to BF16 (vexp: u |s - m|) or FP32 (scalar: u32 |s - m|), and the
      c arguments m_old - m_new likewise (their sum over a row is m_final - m_first_tile);
    - exp: VEXP 0.706 % (output rounding included) or expf 2 u32, for P and for each tile
      where the row max grows (counted from the inputs, + 1 for ties).
    The same weights enter l and O (vexp: l sums the BF16 P values the GEMM uses; scalar: l
    sums the FP32 expf values and P is their BF16 rounding: a further u max|V|), so O_ik is a
    weighted mean of V's column k with perturbed weights:
    |O_ik - O_ref_ik| <= sum_j w_ij |e_ij| / sum_j w_ij (1 - |e_ij|) x max_j |V_jk - O_ref_ik|
    plus the FP32 accumulation of O (Tc (Bc/2 + 4) + 4 roundings of |O| <= max|V|)."""
    q, k, v = inp["q"], inp["k"], inp["v"]
    d, bc = p["d"], p["Bc"]
    scale = 1.0 / math.sqrt(d)
    sc_bf = float(convert(np.array([scale]), BF16)[0])
    u_sc = abs(sc_bf - scale) / scale
    u_q = 0.0 if u_sc == 0 else u_sc + U_BF16  # Q x BF16(scale), rounded to BF16
    vis = visible(p)
    s = np.where(vis, (q @ k.T) * scale, -np.inf)
    a = np.where(vis, (np.abs(q) @ np.abs(k).T) * scale, 0.0)
    e_dot = (u_q + (d / 2 + 2) * U32 * (1 + u_q)) * a
    e_score = np.where(vis, e_dot + U_BF16 * (np.abs(np.where(vis, s, 0.0)) + e_dot), 0.0)
    dist = np.where(vis, s.max(axis=1, keepdims=True) - np.where(vis, s, 0.0)
                    + 2 * e_score.max(axis=1, keepdims=True), 0.0)
    if variant == "vexp":
        u_arg, e_exp, extra = U_BF16, VEXP_MAX_REL, 0.0
    else:
        u_arg, e_exp, extra = U32, EXPF_MAX_REL, U_BF16
    sb = convert(s, BF16).astype(np.float64)
    chg = (_max_changes(sb, bc) + 1)[:, None]
    # the c arguments of a row add up to m_final - m_first_tile (+ score errors)
    rise = (sb.max(axis=1) - sb[:, :bc].max(axis=1))[:, None] + 2 * e_score.max(
        axis=1, keepdims=True)
    e = np.where(vis, np.exp(e_score + u_arg * (dist + rise)) * (1 + e_exp) ** (1 + chg) - 1,
                 0.0)  # a masked weight is exactly 0 in the kernel and the reference
    if float(e.max()) >= 1:
        return float("inf")
    w = np.where(vis, np.exp(s - s.max(axis=1, keepdims=True)), 0.0)
    delta = (w * e).sum(axis=1) / (w * (1 - e)).sum(axis=1)
    ref = reference(inp, p)
    # max_j |V_jk - O_ik| for every (i, k)
    dev = np.maximum(v.max(axis=0)[None, :] - ref, ref - v.min(axis=0)[None, :])
    vmax = float(np.abs(v).max())
    tc = p["S"] // bc
    acc = (tc * (bc / 2 + 4) + 4) * U32 * vmax
    per = delta[:, None] * dev + extra * vmax * (1 + delta[:, None])
    return float(per.max()) + acc


def _flops(p: dict) -> float:
    # 2 GEMMs of 2 L S d FLOP, the softmax ~5 per score (max, sub, exp, sum, rescale)
    return 4.0 * p["L"] * p["S"] * p["d"] + 5.0 * p["L"] * p["S"]


def phases(p: dict) -> tuple[str, ...]:
    """Hart 0's mcycle regions (kernels/lib/fa2_spmd.S): the first DMA wait, then per row
    block Tc x (qkt, softmax, rescale, pv, dma_wait) and the final O /= l (rescale) and
    O store / next loads (dma_wait)."""
    tile = ("qkt", "softmax", "rescale", "pv", "dma_wait")
    out: tuple[str, ...] = ("dma_wait",)
    for tc in tiles_per_row_block(p):
        out += tile * tc + ("rescale", "dma_wait")
    return out


PARAMS = {"L": 64, "S": 128, "d": 64, "Br": 64, "Bc": 64, "causal": 0, "row_blocks": 0,
          "tiles": 0}
NOTE_VEXP = ("worst case (fa2.error_bound): each weight off by e_j (score roundings: Q scale, "
             "FP32 dot, BF16 S; BF16 s - m; VEXP 0.706 % per weight and per growing row "
             "max); |O - O_ref| <= sum w|e| / sum w(1 - |e|) max_j |V_j - O_ref| + FP32 "
             "accumulation")
NOTE_SCALAR = ("worst case (fa2.error_bound): each weight off by e_j (score roundings: Q scale, "
               "FP32 dot, BF16 S; FP32 s - m; expf 2 u32 per weight and per growing row max); "
               "|O - O_ref| <= sum w|e| / sum w(1 - |e|) max_j |V_j - O_ref| + u max|V| "
               "(BF16 P) + FP32 accumulation")


def _kernel(name: str, source: str, config: str, description: str, variant: str) -> Kernel:
    return Kernel(
        name=name, source=source, config=config, description=description,
        params=PARAMS, check=check, defines=defines, inputs=inputs, place=place,
        outputs=outputs, reference=reference,
        tolerance=lambda p, inp: {"max_abs_error": error_bound(inp, p, variant)},
        tolerance_note=NOTE_VEXP if variant == "vexp" else NOTE_SCALAR,
        phases=phases, flops=_flops, extrapolate=extrapolate, resolve=resolve,
    )


register(_kernel("fa2_vexp", "fa2_vexp.S", "vexp_paper",
                 "FlashAttention-2, one head, 8 cores + DMA: SSR/FREP SIMD GEMMs, online "
                 "softmax with vfexp.ah (BF16)", "vexp"))
register(_kernel("fa2_baseline", "fa2_baseline.S", "paper_baseline",
                 "FlashAttention-2, one head, 8 cores + DMA: SSR/FREP SIMD GEMMs, scalar FP32 "
                 "online softmax with the libm expf", "scalar"))
register(_kernel("fa2_naive", "fa2_naive.S", "paper_baseline",
                 "FlashAttention-2, one head, 8 cores + DMA: GEMMs without SSR/FREP, scalar "
                 "FP32 online softmax with the libm expf", "scalar"))

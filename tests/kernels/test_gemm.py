"""The GEMM tile kernels (vexpsim/experiments/kernels/gemm.py): numerical check, bit-exact
against emulations of each kernel's accumulation order (through the scalar reference FP
model, vexpsim.numerics.fparith), the opt kernels faster than the naive one, the limits, and
every GEMM tile shape of the shipped models accepted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vexpsim.errors import UserError
from vexpsim.experiments.kernelrun import load_kernels, run_kernel
from vexpsim.experiments.kernels import gemm as fam
from vexpsim.numerics import fparith as fpa
from vexpsim.numerics.formats import BF16, convert, to_bits

KERNELS = ("gemm_bf16", "gemm_fp32", "gemm_naive")
F = np.float32


def inputs_of(name: str, p: dict, dist: str, seed: int) -> dict[str, np.ndarray]:
    k = load_kernels()[name]
    return k.inputs(dict(k.params) | p, dist, np.random.default_rng(seed))


def _bf16_bits(v: np.ndarray) -> np.ndarray:
    return to_bits(convert(v, BF16)).astype(np.uint64)


def _f32_bits(v: np.ndarray) -> np.ndarray:
    return np.asarray(v, dtype=F).view(np.uint32).astype(np.uint64)


def _sum_lanes(c: int, lo: int, hi: int) -> int:
    """vfsum.s c, x: c + x[0] + x[1], one rounding (FPnew DOTP datapath)."""
    return fpa.simd_sum(lo | hi << 32, c, "fp32", "rne")[0] & 0xFFFFFFFF


def emulate_bf16(a: np.ndarray, b: np.ndarray, tk: int) -> np.ndarray:
    """gemm_bf16: over all K, lane 0 += a0 b0 + a1 b1 and lane 1 += a2 b2 + a3 b3 per word
    (vfdotpex.s.ah from +0; the chunks only store and reload the lanes), then C = 0 + lane 0 +
    lane 1 (vfsum.s) and BF16."""
    m, k = a.shape
    n = b.shape[1]
    ab, bb = _bf16_bits(a), _bf16_bits(b.T)
    out = np.empty((m, n), dtype=np.uint32)
    for i in range(m):
        for j in range(n):
            lanes = [0, 0]
            for c0 in range(0, k, tk):
                for w in range(c0, c0 + tk, 4):
                    x = ab[i, w] | ab[i, w + 1] << 16 | ab[i, w + 2] << 32 | ab[i, w + 3] << 48
                    y = bb[j, w] | bb[j, w + 1] << 16 | bb[j, w + 2] << 32 | bb[j, w + 3] << 48
                    acc = fpa.simd_dotpex(int(x), int(y), lanes[0] | lanes[1] << 32, "bf16",
                                          "fp32", "rne")[0]
                    lanes = [acc & 0xFFFFFFFF, acc >> 32]
            out[i, j] = _sum_lanes(0, *lanes)
    return convert(out.view(F).astype(np.float64), BF16).astype(np.float64)


def emulate_fp32(a: np.ndarray, b: np.ndarray, tk: int) -> np.ndarray:
    """gemm_fp32: over all K, lane l += a[k] b[k] for k = l mod 2 (vfmac.s, fused, from +0),
    then C = 0 + lane 0 + lane 1 (vfsum.s)."""
    m, k = a.shape
    n = b.shape[1]
    ab, bb = _f32_bits(a), _f32_bits(b.T)
    out = np.empty((m, n), dtype=np.uint32)
    for i in range(m):
        for j in range(n):
            lanes = [0, 0]
            for kk in range(k):
                lanes[kk % 2] = fpa.fp_fma(int(ab[i, kk]), int(bb[j, kk]), lanes[kk % 2],
                                           "fp32", "rne")[0]
            out[i, j] = _sum_lanes(0, *lanes)
    return out.view(F).astype(np.float64)


def emulate_naive(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """gemm_naive: c = fl32(c + a[k] b[k]) sequentially over all K (the BF16 product is exact
    in FP32), BF16 at the end."""
    af, bf = a.astype(F), b.astype(F)
    c = np.zeros((a.shape[0], b.shape[1]), dtype=F)
    for kk in range(a.shape[1]):
        c = c + np.outer(af[:, kk], bf[kk, :])  # each product exact, one rounding per add
    return convert(c.astype(np.float64), BF16).astype(np.float64)


def emulate(name: str, inp: dict, p: dict) -> np.ndarray:
    if name == "gemm_bf16":
        return emulate_bf16(inp["a"], inp["b"], p["TK"])
    if name == "gemm_fp32":
        return emulate_fp32(inp["a"], inp["b"], p["TK"])
    return emulate_naive(inp["a"], inp["b"])


def test_emulations_are_accurate():
    """The emulations themselves agree with the float64 product within the kernels' bound
    (a broken emulation cannot make the bit-exact tests pass against a wrong kernel)."""
    p = {"M": 5, "N": 7, "K": 64, "TK": 32}
    for name in KERNELS:
        inp = inputs_of(name, p, "normal", 3)
        err = np.abs(emulate(name, inp, p) - inp["a"] @ inp["b"]).max()
        assert 0 < err <= fam.gemm_bound(name, p, inp["a"], inp["b"])


# (M, N, K, TK): square one chunk, two chunks, non-square with partial groups and rows
# (M, N not multiples of 8, three chunks), fewer rows than cores
SHAPES = [(16, 16, 64, 64), (16, 16, 64, 32), (13, 21, 48, 16), (3, 9, 32, 32)]


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("shape", SHAPES)
def test_bit_exact_and_within_bound(name, shape):
    m, n, k, tk = shape
    p = {"M": m, "N": n, "K": k, "TK": tk}
    dist = "uniform" if (m + n) % 2 else "normal"
    seed = m * n + k
    run = run_kernel(name, p, dist=dist, seed=seed)
    rec = run.record
    assert rec["check"]["passed"], rec["check"]
    want = emulate(name, inputs_of(name, p, dist, seed), p)
    assert np.array_equal(run.output.astype(F).view(np.uint32), want.astype(F).view(np.uint32))
    assert rec["flop"] == 2 * m * n * k
    nk = k // tk
    assert set(rec["phases_cycles"]) == {"dma_wait", "compute", "writeback"}
    assert sum(rec["phases_cycles"].values()) <= rec["cycles"]
    assert rec["phases_cycles"]["compute"] > 0 and nk >= 1


def test_other_distribution_bf16():
    p = {"M": 8, "N": 16, "K": 128, "TK": 64}
    run = run_kernel("gemm_bf16", p, dist="uniform", seed=11)
    assert run.record["check"]["passed"]
    want = emulate("gemm_bf16", inputs_of("gemm_bf16", p, "uniform", 11), p)
    assert np.array_equal(run.output, want)


def test_ssr_frep_kernels_are_faster_than_naive():
    p = {"M": 16, "N": 16, "K": 64, "TK": 32}
    cyc = {name: run_kernel(name, p, seed=1).record["cycles"] for name in KERNELS}
    assert cyc["gemm_bf16"] * 5 < cyc["gemm_naive"], cyc
    assert cyc["gemm_bf16"] < cyc["gemm_fp32"], cyc  # 4 vs 2 MACs per instruction


def test_limits_are_clear_errors():
    with pytest.raises(UserError, match="KiB TCDM"):
        run_kernel("gemm_bf16", {"M": 256, "N": 256, "K": 256, "TK": 256})
    with pytest.raises(UserError, match="multiple of TK"):
        run_kernel("gemm_bf16", {"M": 8, "N": 8, "K": 100, "TK": 64})
    with pytest.raises(UserError, match="multiple of 16"):
        run_kernel("gemm_fp32", {"M": 8, "N": 8, "K": 40, "TK": 40})


def test_every_model_tile_shape_is_accepted():
    """Every GEMM tile shape that tiling.py produces for the shipped models on the default
    system (occamy) passes the kernels' check (run_kernel would accept it): the interior
    blocks and the edge blocks of each GEMM (tile_op's rule, without listing every tile)."""
    import math

    from vexpsim.arch.system import load_system_config
    from vexpsim.experiments.workloads.tiling import gemm_block
    from vexpsim.experiments.workloads.transformer import DTYPE_BYTES, build_graph, load_model

    cfg = load_system_config("occamy")
    models = Path(fam.__file__).resolve().parents[1] / "workloads" / "models"
    shapes = set()
    for f in sorted(models.glob("*.toml")):
        for op in build_graph(load_model(f.stem)):
            if op.kind != "gemm":
                continue
            M, N, K = op.dims["M"], op.dims["N"], op.dims["K"]
            tm, tn, tk = gemm_block(M, N, K, DTYPE_BYTES[op.dtype], cfg.tile_budget_bytes,
                                    cfg.dma_buffers)
            for a in {min(tm, M), M % tm or tm}:
                for b in {min(tn, N), N % tn or tn}:
                    shapes.add((a, b, tk, math.ceil(K / tk)))
    assert len(shapes) > 50
    k = load_kernels()["gemm_bf16"]
    bad = {s: k.check(fam.params_of_tile(s)) for s in shapes}
    assert not {s: v for s, v in bad.items() if v}


def test_same_on_the_baseline_cluster():
    """The GEMMs need neither VEXP nor DIVSQRT: on paper_baseline (no EXP unit) they give the
    same outputs and cycles as on vexp_paper (end-to-end runs price them on both)."""
    from vexpsim.arch.config import load_cluster_config

    p = {"M": 8, "N": 16, "K": 64, "TK": 32}
    a = run_kernel("gemm_bf16", p, seed=4)
    b = run_kernel("gemm_bf16", p, seed=4, cluster=load_cluster_config(preset="paper_baseline"))
    assert np.array_equal(a.output, b.output)
    assert a.record["cycles"] == b.record["cycles"]


def test_dma_protocol_under_a_slow_dma():
    """With main memory 8x narrower and a DMA much slower to start, the outputs are unchanged,
    the DMA core issues its transfers one after the other (A and Bt chunk of each of the 3
    chunks, then C), and the cores spend the difference waiting."""
    from vexpsim.arch.config import load_cluster_config

    p = {"M": 12, "N": 20, "K": 96, "TK": 32}
    slow = load_cluster_config(preset="vexp_paper", overrides=(
        "main_memory.bandwidth=8", "dma.setup_latency=200", "main_memory.latency=300"))
    fast = run_kernel("gemm_bf16", p, seed=6)
    run = run_kernel("gemm_bf16", p, seed=6, cluster=slow)
    assert np.array_equal(run.output, fast.output)
    xs = run.exec_result.cluster["dma_transfers"]
    assert [x["bytes"] for x in xs] == [12 * 32 * 2, 20 * 32 * 2] * 3 + [12 * 20 * 2]
    for a, b in zip(xs, xs[1:], strict=False):
        assert b["issue_cycle"] >= a["end_cycle"]
    assert run.record["phases_cycles"]["dma_wait"] > fast.record["phases_cycles"]["dma_wait"]
    assert run.record["phases_cycles"]["writeback"] > fast.record["phases_cycles"]["writeback"]


def test_an_edge_tile_of_the_tiling_runs_bit_exact():
    """A GPT-2 LM-head edge tile (tiling.py: (1, 81, 64, nk)) with 2 chunks: one row (7 idle
    cores), 81 columns (a partial group of 8)."""
    p = fam.params_of_tile((1, 81, 64, 2))
    assert p == {"M": 1, "N": 81, "K": 128, "TK": 64}
    run = run_kernel("gemm_bf16", p, seed=5)
    assert run.record["check"]["passed"]
    want = emulate("gemm_bf16", inputs_of("gemm_bf16", p, "normal", 5), p)
    assert np.array_equal(run.output, want)

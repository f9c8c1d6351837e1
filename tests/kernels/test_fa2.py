"""FlashAttention-2 kernels (vexpsim/experiments/kernels/fa2.py): numerical checks of the three
variants on small shapes (and d = 80, 128, causal), fa2_naive bit-identical to fa2_baseline
(only the GEMM loops differ), fa2_vexp's error of the same size as a float64 emulation of the BF16
algorithm, the steady-state extrapolation against full runs, phases, and parameter errors."""

from __future__ import annotations

import numpy as np
import pytest

from vexpsim.errors import UserError
from vexpsim.experiments.kernelrun import load_kernels, run_kernel
from vexpsim.experiments.kernels import fa2
from vexpsim.numerics.exp import vexp_bf16
from vexpsim.numerics.formats import BF16
from vexpsim.numerics.reference import flash_attention_2

SMALL = {"L": 16, "S": 32, "d": 64, "Br": 16, "Bc": 16}
VARIANTS = ("fa2_vexp", "fa2_baseline", "fa2_naive")


@pytest.fixture(scope="module")
def small_runs():
    return {name: run_kernel(name, SMALL, seed=1) for name in VARIANTS}


@pytest.mark.parametrize("name", VARIANTS)
def test_small_shape_passes_its_check(small_runs, name):
    run = small_runs[name]
    rec = run.record
    assert rec["check"]["passed"], rec["error"]
    assert np.all(np.isfinite(run.output))
    # the bound is meaningful: far below the size of the outputs
    assert rec["check"]["tolerance"]["max_abs_error"] < np.abs(run.reference).max()
    assert rec["error"]["max_abs_error"] < 0.02


def test_naive_equals_baseline_bit_for_bit(small_runs):
    # the same arithmetic (vfdotpex.s.ah chains over k, vfsum.s), only the loops differ
    np.testing.assert_array_equal(small_runs["fa2_naive"].output,
                                  small_runs["fa2_baseline"].output)
    assert small_runs["fa2_naive"].record["cycles"] > small_runs["fa2_baseline"].record["cycles"]


def test_vexp_error_like_the_bf16_emulation(small_runs):
    run = small_runs["fa2_vexp"]
    k = load_kernels()["fa2_vexp"]
    inp = k.inputs(dict(k.params) | SMALL, "normal", np.random.default_rng(1))
    emu = flash_attention_2(inp["q"], inp["k"], inp["v"], br=16, bc=16, exp_fn=vexp_bf16,
                            storage=BF16, stats="fp32")
    e_emu = np.abs(emu - run.reference).max()
    e_kernel = run.record["error"]["max_abs_error"]
    assert e_kernel <= 2 * e_emu + 1e-3, (e_kernel, e_emu)
    # the kernel agrees with the emulation far better than a wrong answer would
    assert np.abs(run.output - emu).max() < 0.1 * np.abs(run.reference).max()


def test_softmax_dominates_the_baseline(small_runs):
    b = small_runs["fa2_baseline"].record["phases_cycles"]
    v = small_runs["fa2_vexp"].record["phases_cycles"]
    assert set(b) == set(v) == {"dma_wait", "qkt", "softmax", "rescale", "pv"}
    assert b["qkt"] == v["qkt"]  # the same GEMM code, on its own cycles before the softmax
    assert b["softmax"] > 10 * v["softmax"]
    assert sum(b.values()) <= small_runs["fa2_baseline"].record["cycles"]


@pytest.mark.parametrize("name,d", [("fa2_vexp", 80), ("fa2_baseline", 128)])
def test_other_head_dims_and_8x8_tiles(name, d):
    rec = run_kernel(name, {"L": 8, "S": 16, "d": d, "Br": 8, "Bc": 8}).record
    assert rec["check"]["passed"], rec["error"]


@pytest.mark.parametrize("name,shape", [
    ("fa2_vexp", {"L": 32, "S": 80, "d": 64, "Br": 16, "Bc": 16}),
    ("fa2_baseline", {"L": 16, "S": 40, "d": 64, "Br": 8, "Bc": 8}),
])
def test_extrapolation_close_to_the_full_run(name, shape):
    full = run_kernel(name, shape).record
    ext = run_kernel(name, shape | {"row_blocks": 1, "tiles": 2}).record
    assert "extrapolated" not in full
    info = ext["extrapolated"]
    assert info["row_blocks_simulated"] == 1 and info["tiles_simulated"] == [2, 3]
    assert [r["params"]["S"] for r in info["runs"]] == [2 * shape["Bc"], 3 * shape["Bc"]]
    assert ext["params"] == full["params"] | {"row_blocks": 1, "tiles": 2}
    for key in ("cycles", "energy_cluster_pj", "energy_pj", "energy_dynamic_pj",
                "energy_static_pj"):
        assert ext[key] == pytest.approx(full[key], rel=0.02), key
    for ph, c in full["phases_cycles"].items():
        assert ext["phases_cycles"][ph] == pytest.approx(c, rel=0.1, abs=500), ph  # hart 0
    assert ext["check"]["passed"]


@pytest.mark.parametrize("params,msg", [
    ({"causal": 1, "S": 32, "L": 64, "Br": 32, "Bc": 32}, "causal = 1 needs S >= L"),
    ({"causal": 1, "L": 128, "row_blocks": 1}, "cannot be extrapolated"),
    ({"causal": 1, "L": 128, "S": 256, "tiles": 2}, "needs L = Br"),
    ({"Br": 12}, "Br = 12 must be a multiple of 8"),
    ({"L": 96, "Br": 64}, "L = 96 must be a positive multiple of Br"),
    ({"d": 128, "Br": 128, "Bc": 128, "L": 128, "S": 128}, "of TCDM"),
    ({"row_blocks": 5}, "row_blocks = 5"),
])
def test_bad_parameters_are_clear_errors(params, msg):
    with pytest.raises(UserError, match=msg):
        run_kernel("fa2_vexp", params)


@pytest.mark.parametrize("name,shape", [
    ("fa2_vexp", {"L": 32, "S": 32, "Br": 16, "Bc": 8}),  # L = S, Br > Bc: fully masked rows
    ("fa2_baseline", {"L": 16, "S": 48, "Br": 16, "Bc": 16}),  # the last 16 rows of 48
])
def test_causal(name, shape):
    p = dict(fa2.PARAMS, **shape, causal=1)
    run = run_kernel(name, shape | {"causal": 1})
    rec = run.record
    assert rec["check"]["passed"], rec["error"]
    assert rec["error"]["max_abs_error"] < 0.02
    # row 0 of an L = S block sees key 0 only: O[0] = V[0] (BF16 input, exact in FP32)
    k = load_kernels()[name]
    inp = k.inputs(dict(k.params) | p, "normal", np.random.default_rng(0))
    if shape["L"] == shape["S"]:
        np.testing.assert_array_equal(run.output[0], inp["v"][0])
    tiles = fa2.tiles_per_row_block(p)
    assert tiles == ([2, 4] if shape["L"] == 32 else [3])
    assert rec["phases_cycles"]["qkt"] > 0


def test_causal_one_row_block_tiles_extrapolate():
    # the end-to-end model's causal tiles: one row block at the end of S keys
    shape = {"L": 16, "S": 80, "Br": 16, "Bc": 8, "causal": 1}
    full = run_kernel("fa2_vexp", shape).record
    ext = run_kernel("fa2_vexp", shape | {"tiles": 3}).record
    assert [r["params"]["S"] for r in ext["extrapolated"]["runs"]] == [24, 32]
    assert ext["cycles"] == pytest.approx(full["cycles"], rel=0.02)
    assert ext["check"]["passed"]


def test_tiling_shapes_of_the_system_model_fit():
    # the end-to-end model asks for (br, bc, d) tiles of its models (workloads/tiling.py)
    for br, bc, d in ((16, 16, 128), (8, 8, 256), (32, 32, 64), (32, 32, 80), (64, 64, 128)):
        p = dict(fa2.PARAMS, L=br, S=4 * bc, d=d, Br=br, Bc=bc)
        assert fa2.check(p) == [], (br, bc, d)


def test_phase_names_follow_the_tiles():
    ph = fa2.phases(dict(fa2.PARAMS, L=128, S=192, Br=64, Bc=64))
    assert len(ph) == 1 + 2 * (3 * 5 + 2)
    assert ph[:6] == ("dma_wait", "qkt", "softmax", "rescale", "pv", "dma_wait")

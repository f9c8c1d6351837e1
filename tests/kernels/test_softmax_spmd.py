"""The 8-core, DMA-fed softmax kernels (vexpsim/experiments/kernels/softmax.py): numerical
check on several shapes and distributions, bit-exact against emulations of each kernel's
arithmetic order, equal per row to the one-row kernels, single-buffered path, phases."""

from __future__ import annotations

import numpy as np
import pytest

from vexpsim.arch.config import load_cluster_config
from vexpsim.arch.functional import iss_config, run_program
from vexpsim.asm import assemble
from vexpsim.errors import UserError
from vexpsim.experiments import kernelrun
from vexpsim.experiments.kernelrun import KERNEL_DIR, load_kernels, run_kernel
from vexpsim.experiments.kernels import softmax as fam
from vexpsim.numerics import fparith as fpa
from vexpsim.numerics.exp import expf_libm, vexp_bf16
from vexpsim.numerics.formats import BF16, convert, from_bits, to_bits
from vexpsim.numerics.fparith import fp_div

KERNELS = ("softmax_baseline", "softmax_opt", "softmax_vexp")
NO_EXP = ("fpu.exp.enabled=false", "fpu.divsqrt.enabled=true")  # on snitch_default


def inputs_of(name: str, p: dict, dist: str, seed: int) -> np.ndarray:
    """The inputs run_kernel generated for (p, dist, seed)."""
    k = load_kernels()[name]
    return k.inputs(dict(k.params) | p, dist, np.random.default_rng(seed))["x"]


# ---- emulations of the per-row arithmetic, in the kernels' order ---------------------------

def emulate_baseline(x: np.ndarray) -> np.ndarray:
    out = np.empty(x.shape, dtype=np.float32)
    for i, row in enumerate(x.astype(np.float32)):
        e = expf_libm((row - row.max()).astype(np.float32))  # fsub.s, then expf
        s = np.float32(0)
        for v in e:  # one sequential fadd.s chain
            s = np.float32(s + v)
        out[i] = e / s  # fdiv.s: correctly rounded
    return out


def _b(v) -> np.ndarray:  # round float64 to BF16 once, back to float64
    return convert(np.asarray(v, dtype=np.float64), BF16).astype(np.float64)


def emulate_vexp(x: np.ndarray) -> np.ndarray:
    one = int(to_bits(convert(np.array([1.0]), BF16))[0])
    out = np.empty(x.shape)
    for i, row in enumerate(x.astype(np.float64)):
        e = vexp_bf16(convert(row - row.max(), BF16)).astype(np.float64)
        acc = [np.zeros(4), np.zeros(4)]  # ft8: even words, ft9: odd words
        for k, w in enumerate(e.reshape(-1, 4)):
            acc[k % 2] = _b(acc[k % 2] + w)
        lanes = _b(acc[0] + acc[1])
        s = _b(_b(lanes[0] + lanes[1]) + _b(lanes[2] + lanes[3]))
        sb = int(to_bits(convert(np.array([s]), BF16))[0])
        rinv = float(from_bits(np.array([fp_div(one, sb, "bf16", "rne")[0]]), BF16)[0])
        out[i] = convert(e * rinv, BF16)
    return out


F = np.float32


def emulate_opt(x: np.ndarray) -> np.ndarray:
    """softmax_opt's arithmetic (kernels/softmax_opt.S header), pass by pass."""
    k = {name: F(v) for name, v in fam.OPT_CONSTS.items()}
    out = np.empty(x.shape)
    for i, row in enumerate(np.asarray(x, dtype=np.float64)):
        d = np.maximum(_b(row - row.max()), -88.0).astype(F)  # P1: BF16 sub, clamp, widen
        z = d * k["K_L"]
        kd = z + k["K_S"]  # P2
        r = z - (kd - k["K_S"])
        s = ((kd + k["K_B"]) * k["K_P23"]).astype(np.int32).view(F)
        u = r + k["K_A"]  # P3
        y = ((u * u) * k["K_C2"] + k["K_BQ"]) * s
        e = _b(y.astype(np.float64))
        eb = to_bits(convert(e, BF16)).astype(np.uint64)
        words = eb[0::4] | eb[1::4] << 16 | eb[2::4] << 32 | eb[3::4] << 48
        acc = [0, 0, 0, 0]  # SUM: vfsumex.s.h into 4 accumulators, word j into j % 4
        for j, w in enumerate(words):
            acc[j % 4] = fpa.simd_sumex(int(w), acc[j % 4], "bf16", "fp32", "rne")[0]
        lanes = [np.array([a & 0xFFFFFFFF, a >> 32], dtype=np.uint32).view(F) for a in acc]
        a = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
        aw = int(a.view(np.uint32)[0]) | int(a.view(np.uint32)[1]) << 32
        bits = fpa.simd_sum(aw, 0xFFFFFFFF00000000, "fp32", "rne")[0] & 0xFFFFFFFF
        total = np.array([bits], dtype=np.uint32).view(F)[0]
        rinv = _b(float(F(1.0) / total))  # fdiv.s, fcvt.h.s
        out[i] = _b(e * rinv)  # vfmul.r.h
    return out


def run_with_inputs(name: str, p: dict, x: np.ndarray, cluster=None):
    """Run kernel `name` on given inputs (run_kernel draws its own)."""
    k = load_kernels()[name]
    p = dict(k.params) | p
    cfg = iss_config(cluster or load_cluster_config(preset=k.config))
    path = KERNEL_DIR / k.source
    prog = assemble(path.read_text(), filename=str(path), defines=k.defines(p),
                    include_dirs=(str(KERNEL_DIR),), tcdm_base=cfg.tcdm_base,
                    text_base=cfg.main_base)
    k.place(prog, {"x": x}, p)
    res = run_program(prog, config=cfg, timing=False)
    assert all(h.exit_code == 0 for h in res.harts)
    return k.outputs(res, p)


# ---- numerical check ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("m,n", [(8, 32), (16, 64), (8, 128)])
@pytest.mark.parametrize("dist", ["uniform", "normal"])
def test_check_passes(name, m, n, dist):
    rec = run_kernel(name, {"M": m, "N": n}, dist=dist, seed=m + n).record
    assert rec["check"]["passed"], rec["check"]
    assert rec["cycles"] > 0


@pytest.mark.parametrize("m,n,dist,seed", [(16, 32, "normal", 1), (8, 128, "uniform", 2)])
def test_baseline_bit_exact(m, n, dist, seed):
    run = run_kernel("softmax_baseline", {"M": m, "N": n}, dist=dist, seed=seed)
    x = inputs_of("softmax_baseline", {"M": m, "N": n}, dist, seed)
    want = emulate_baseline(x)
    assert np.array_equal(run.output.astype(np.float32).view(np.uint32), want.view(np.uint32))


@pytest.mark.parametrize("m,n,dist,seed", [(16, 32, "normal", 1), (8, 128, "uniform", 2)])
def test_vexp_bit_exact(m, n, dist, seed):
    run = run_kernel("softmax_vexp", {"M": m, "N": n}, dist=dist, seed=seed)
    x = inputs_of("softmax_vexp", {"M": m, "N": n}, dist, seed)
    assert np.array_equal(to_bits(convert(run.output, BF16)),
                          to_bits(convert(emulate_vexp(x), BF16)))


@pytest.mark.parametrize("m,n,dist,seed", [(16, 32, "normal", 1), (8, 128, "uniform", 2),
                                            (8, 1024, "normal", 3)])  # two chunks of 512
def test_opt_bit_exact(m, n, dist, seed):
    run = run_kernel("softmax_opt", {"M": m, "N": n}, dist=dist, seed=seed)
    x = inputs_of("softmax_opt", {"M": m, "N": n}, dist, seed)
    assert np.array_equal(to_bits(convert(run.output, BF16)),
                          to_bits(convert(emulate_opt(x), BF16)))


def test_opt_flushes_below_minus_87_68():
    """x - max < -87.68 (2^k with k = -127): e is exactly 0, as VEXP flushes its subnormal
    results; just above, e is a normal number; the emulation agrees bit for bit."""
    rng = np.random.default_rng(9)
    x = convert(rng.normal(0, 3, (8, 32)), BF16).astype(np.float64)
    x[:, 0] = 20.0  # the max
    x[:, 5] = 20.0 - 87.5  # z = -126.2: k = -126, smallest normal power
    x[:, 6] = 20.0 - 88.0  # k = -127: flushed
    x[:, 7] = -1000.0  # clamped to -88, flushed
    y = run_with_inputs("softmax_opt", {"M": 8, "N": 32}, x)
    assert np.array_equal(to_bits(convert(y, BF16)), to_bits(convert(emulate_opt(x), BF16)))
    assert np.all(y[:, [6, 7]] == 0)
    assert np.all(y[:, 5] > 2.0**-127)


def test_opt_quadratic_error_is_as_stated():
    r = np.linspace(-0.5, 0.5, 100001).astype(F)
    k = {name: F(v) for name, v in fam.OPT_CONSTS.items()}
    u = r + k["K_A"]
    p = (u * u) * k["K_C2"] + k["K_BQ"]
    err = np.abs(p.astype(np.float64) / 2.0 ** r.astype(np.float64) - 1).max()
    assert 1.7e-3 < err <= fam.OPT_POLY_MAX_REL


@pytest.mark.parametrize("name", ["softmax_opt", "softmax_baseline"])
def test_runs_without_the_exp_unit(name):
    """softmax_opt and the baseline need no VEXP: on snitch_default + DIVSQRT (EXP op group
    off) they give the same outputs and cycles as on the vexp_paper cluster."""
    p = {"M": 8, "N": 32}
    cluster = load_cluster_config(preset="snitch_default", overrides=NO_EXP)
    assert not cluster.fpu.exp.enabled
    a = run_kernel(name, p, seed=4)
    b = run_kernel(name, p, seed=4, cluster=cluster)
    assert np.array_equal(a.output, b.output)
    assert a.record["cycles"] == b.record["cycles"]


def test_vexp_needs_the_exp_unit():
    cluster = load_cluster_config(preset="snitch_default", overrides=NO_EXP)
    with pytest.raises(UserError):
        run_kernel("softmax_vexp", {"M": 8, "N": 32}, cluster=cluster)


def _run_row_kernel(source: str, row: np.ndarray, bf16: bool) -> np.ndarray:
    path = KERNEL_DIR / source
    prog = assemble(path.read_text(), filename=str(path), defines={"N": row.size},
                    include_dirs=(str(KERNEL_DIR),))
    if bf16:
        prog.store("x", to_bits(convert(row, BF16)).astype("<u2").tobytes())
    else:
        prog.store("x", row.astype("<f4").tobytes())
    res = run_program(prog, harts=1, timing=False)
    eb = 2 if bf16 else 4
    raw = res.memory.read(prog.symbols["y"], eb * row.size)
    if bf16:
        return np.frombuffer(raw, dtype="<u2").copy()
    return np.frombuffer(raw, dtype="<u4").copy()


@pytest.mark.parametrize("name,row_source,bf16", [
    ("softmax_baseline", "softmax_baseline_row.S", False),
    ("softmax_vexp", "softmax_vexp_row.S", True)])
def test_each_row_equals_the_one_row_kernel(name, row_source, bf16):
    p = {"M": 16, "N": 32}
    run = run_kernel(name, p, dist="normal", seed=5, timing=False)
    x = inputs_of(name, p, "normal", 5)
    got = (to_bits(convert(run.output, BF16)) if bf16
           else run.output.astype(np.float32).view(np.uint32))
    for i, row in enumerate(x):
        assert np.array_equal(got[i], _run_row_kernel(row_source, row, bf16)), f"row {i}"


# ---- structure ---------------------------------------------------------------------------------

def test_single_buffered_path(monkeypatch):
    """NBUF = 1 (two blocks do not fit): same results as double buffering."""
    p = {"M": 24, "N": 64}
    double = run_kernel("softmax_baseline", p, seed=7)
    assert fam.nbuf(64, 4) == 2
    monkeypatch.setattr(fam, "TCDM_BYTES", 2 * 8 * 64 * 4 + fam.TCDM_RESERVED - 1)
    assert fam.nbuf(64, 4) == 1
    single = run_kernel("softmax_baseline", p, seed=7)
    assert np.array_equal(single.output, double.output)
    assert single.record["check"]["passed"]
    # the DMA is no longer overlapped with computing: more barriers, more cycles
    assert single.record["cycles"] > double.record["cycles"]


def test_nbuf_choice():
    assert fam.nbuf(2048, 2) == 2  # BF16 rows of 2048: 2 x 32 KiB
    assert fam.nbuf(2048, 4) == 1  # FP32 rows of 2048: 2 x 64 KiB do not fit with the scratch
    assert fam.nbuf(1024, 4) == 2
    assert fam.nbuf(2048, 2, fam.opt_work_bytes(2048)) == 2  # + 24 KiB of opt work buffers


@pytest.mark.parametrize("name", KERNELS)
def test_bad_shapes_are_user_errors(name):
    with pytest.raises(UserError, match="multiple of 8"):
        run_kernel(name, {"M": 12, "N": 32})
    with pytest.raises(UserError, match="does not fit"):
        run_kernel(name, {"M": 8, "N": 16 * 1024})


@pytest.mark.parametrize("name", KERNELS)
def test_phases_cover_hart0(name):
    run = run_kernel(name, {"M": 16, "N": 64}, seed=3)
    ph = run.record["phases_cycles"]
    assert set(ph) == {"dma_wait", "max", "exp_sum", "normalise"}
    regions = run.exec_result.harts[0].timing["regions"]
    assert sum(ph.values()) == sum(r["cycles"] for r in regions)
    assert len(regions) == 1 + 4 * 2  # 2 blocks of 8 rows
    assert ph["exp_sum"] > ph["max"] > 0


def test_phases_may_repeat_names():
    """kernelrun sums the cycles of regions with the same name (the block loops)."""
    k = kernelrun.load_kernels()["softmax_vexp"]
    assert k.phases({"M": 24})[:5] == ("dma_wait", "max", "exp_sum", "normalise", "dma_wait")
    assert len(k.phases({"M": 24})) == 1 + 4 * 3


@pytest.mark.parametrize("name", KERNELS)
def test_dma_protocol_under_a_slow_dma(name):
    """With main memory 8x narrower and a DMA much slower to start, the outputs are unchanged,
    the DMA core waits for each transfer before issuing the next (a store out of a buffer
    completes before the load into it; a load completes before the barrier that hands it
    over), and the cores spend the difference waiting."""
    p = {"M": 24, "N": 64}
    slow = load_cluster_config(preset=load_kernels()[name].config, overrides=(
        "main_memory.bandwidth=8", "dma.setup_latency=200", "main_memory.latency=300"))
    fast = run_kernel(name, p, seed=6)
    run = run_kernel(name, p, seed=6, cluster=slow)
    assert np.array_equal(run.output, fast.output)
    xs = run.exec_result.cluster["dma_transfers"]
    assert len(xs) == 2 * 3  # 3 blocks in, 3 out
    block = 8 * 64 * (4 if name == "softmax_baseline" else 2)
    assert all(x["bytes"] == block for x in xs)
    for a, b in zip(xs, xs[1:], strict=False):
        assert b["issue_cycle"] >= a["end_cycle"]
    assert run.record["phases_cycles"]["dma_wait"] > fast.record["phases_cycles"]["dma_wait"]
    assert run.record["cycles"] > fast.record["cycles"]


@pytest.mark.parametrize("name", KERNELS)
def test_real_attention_scores_as_inputs(name):
    """dist='attention': rows of real SmolLM2 attention scores (vexpsim.llm.scores)."""
    pytest.importorskip("gguf")
    run = run_kernel(name, {"M": 8, "N": 32}, dist="attention", seed=1)
    assert run.record["check"]["passed"], run.record["check"]
    assert np.allclose(run.output.reshape(8, 32).sum(axis=1), 1.0, atol=0.05)


@pytest.mark.parametrize("name", KERNELS)
def test_deterministic(name):
    a = run_kernel(name, {"M": 16, "N": 32}, seed=11)
    b = run_kernel(name, {"M": 16, "N": 32}, seed=11)
    assert np.array_equal(a.output, b.output)
    for key in ("cycles", "instructions", "phases_cycles", "harts", "energy_pj"):
        assert a.record[key] == b.record[key], key


def test_bf16_unit_roundoff_is_2_to_the_minus_8():
    """BF16 has 8 significant bits: a rounding can move a value by 2^-8 of it (the bounds
    use u = 2^-8; 2^-9 was too small: BF16(-17.0625) = -17, a relative 2^-8.09)."""
    v = -17.0625
    r = float(convert(np.array([v]), BF16).astype(np.float64)[0])
    assert r == -17.0
    assert abs(r - v) / abs(v) > 2.0**-9
    assert abs(r - v) / abs(v) <= 2.0**-8


def test_vexp_bound_is_inf_when_the_bf16_sum_can_stagnate():
    from vexpsim.experiments.kernels.softmax_row import vexp_softmax_bound
    x = np.linspace(-3, 3, 2048)
    assert vexp_softmax_bound(x, accumulators=2) == float("inf")
    assert 0 < vexp_softmax_bound(x[:256], accumulators=2) < 1

"""vexpsim.experiments.kernelrun: the common kernel runner and its registry."""

import numpy as np
import pytest

from vexpsim.errors import UserError
from vexpsim.experiments.kernelrun import load_kernels, run_kernel


def test_registry_has_the_row_kernels():
    ks = load_kernels()
    assert {"softmax_baseline_row", "softmax_vexp_row"} <= set(ks)


@pytest.mark.parametrize("name", ["softmax_baseline_row", "softmax_vexp_row"])
@pytest.mark.parametrize("dist", ["uniform", "normal"])
def test_row_kernels_pass_their_check(name, dist):
    run = run_kernel(name, {"N": 64}, dist=dist, seed=2)
    rec = run.record
    assert rec["check"]["passed"], rec["check"]
    assert rec["cycles"] > 0 and rec["energy_pj"] > 0
    assert run.output.shape == run.reference.shape == (64,)
    assert abs(run.output.sum() - 1.0) < 0.05


def test_a_broken_output_fails_the_check(monkeypatch):
    ks = load_kernels()
    k = ks["softmax_baseline_row"]
    from dataclasses import replace
    monkeypatch.setitem(ks, k.name, replace(k, reference=lambda inp, p: np.full(p["N"], 0.5)))
    rec = run_kernel(k.name, {"N": 32}).record
    assert not rec["check"]["passed"] and "max_rel_error" in rec["check"]["failed"]


def test_same_seed_same_record():
    a = run_kernel("softmax_vexp_row", {"N": 32}, seed=5)
    b = run_kernel("softmax_vexp_row", {"N": 32}, seed=5)
    assert np.array_equal(a.output, b.output) and a.record["cycles"] == b.record["cycles"]


def test_bad_parameters_are_user_errors():
    with pytest.raises(UserError, match="unknown parameter"):
        run_kernel("softmax_vexp_row", {"M": 3})
    with pytest.raises(UserError, match="multiple of 16"):
        run_kernel("softmax_vexp_row", {"N": 20})
    with pytest.raises(UserError, match="unknown kernel"):
        run_kernel("nope")
    with pytest.raises(UserError, match="distribution"):
        run_kernel("softmax_vexp_row", {"N": 32}, dist="cauchy")


def test_record_has_energy_efficiency_when_the_kernel_counts_flop(monkeypatch):
    ks = load_kernels()
    k = ks["softmax_vexp_row"]
    from dataclasses import replace
    monkeypatch.setitem(ks, k.name, replace(k, flops=lambda p: 5.0 * p["N"]))
    rec = run_kernel(k.name, {"N": 32}).record
    assert rec["flop"] == 160.0
    # GFLOP/s/W = flop / energy: 1 flop per pJ is 1000 GFLOP/s/W, whatever the clock
    assert rec["gflop_per_s_per_w"] == pytest.approx(160.0 / rec["energy_pj"] * 1e3)
    assert rec["gflop_per_s"] == pytest.approx(160.0 / rec["cycles"])  # 1 GHz
    assert rec["static_power_mw"] > 0 and rec["energy_table"] == "gf12lp_0p8v"


def _toy_extrapolation(monkeypatch):
    """softmax_vexp_row whose "full" N = 64 run stands for 3 x (N = 32) - 1 x (N = 16)."""
    from dataclasses import replace

    from vexpsim.experiments import kernelrun
    ks = load_kernels()
    k = ks["softmax_vexp_row"]
    ext = kernelrun.Extrapolation(((dict(k.params, N=16), -1.0), (dict(k.params, N=32), 3.0)),
                                  {"note": "toy"})
    monkeypatch.setitem(ks, k.name, replace(k, extrapolate=lambda p: ext if p["N"] == 64
                                            else None))
    return k


def test_extrapolation_weighs_the_runs(monkeypatch):
    from vexpsim.experiments import kernelrun
    k = _toy_extrapolation(monkeypatch)
    monkeypatch.setattr(kernelrun, "_RUN_CACHE", {})
    small = {n: run_kernel(k.name, {"N": n}).record for n in (16, 32)}
    rec = run_kernel(k.name, {"N": 64}).record
    assert rec["params"]["N"] == 64 and rec["extrapolated"]["note"] == "toy"
    assert [r["weight"] for r in rec["extrapolated"]["runs"]] == [-1.0, 3.0]
    assert rec["cycles"] == 3 * small[32]["cycles"] - small[16]["cycles"]
    assert rec["energy_pj"] == pytest.approx(3 * small[32]["energy_pj"] - small[16]["energy_pj"])
    for ph, c in rec["phases_cycles"].items():
        assert c == 3 * small[32]["phases_cycles"][ph] - small[16]["phases_cycles"][ph]
    assert rec["check"]["passed"] and rec["error"] == small[32]["error"]
    again = run_kernel(k.name, {"N": 64}).record  # memoised runs: the same record, no host time
    assert again["cycles"] == rec["cycles"] and again["sim"]["host_seconds"] == 0.0


def test_kernel_runs_are_the_runs_run_kernel_sums(monkeypatch):
    """kernel_runs: the simulations behind a point with their weights and exec results (the
    runs run_kernel weighs), or the point itself with weight 1; the same checks up front."""
    from vexpsim.experiments import kernelrun
    k = _toy_extrapolation(monkeypatch)
    runs = kernelrun.kernel_runs(k.name, {"N": 64})
    assert [(r.record["params"]["N"], w) for r, w in runs] == [(16, -1.0), (32, 3.0)]
    assert all(r.exec_result is not None for r, _ in runs)
    rec = run_kernel(k.name, {"N": 64}).record
    assert rec["cycles"] == sum(w * r.record["cycles"] for r, w in runs)
    (one, w), = kernelrun.kernel_runs(k.name, {"N": 32})
    assert w == 1.0 and one.record["cycles"] == runs[1][0].record["cycles"]
    with pytest.raises(UserError, match="unknown parameter"):
        kernelrun.kernel_runs(k.name, {"Q": 1})


def test_extrapolation_runs_shared_through_a_directory(monkeypatch, tmp_path):
    from dataclasses import replace

    from vexpsim.experiments import kernelrun
    ks = load_kernels()
    k = ks["softmax_vexp_row"]
    ext = kernelrun.Extrapolation(((dict(k.params, N=16), 2.0),))
    monkeypatch.setitem(ks, k.name, replace(k, extrapolate=lambda p: ext if p["N"] == 64
                                            else None))
    monkeypatch.setattr(kernelrun, "_RUN_CACHE", {})
    monkeypatch.setattr(kernelrun, "_SHARED_DIR", None)
    kernelrun.share_runs(str(tmp_path))
    first = run_kernel(k.name, {"N": 64}).record
    assert len(list(tmp_path.glob("*.pkl"))) == 1 and not list(tmp_path.glob("*.lock"))
    kernelrun._RUN_CACHE.clear()  # as another worker process: only the directory has it
    again = run_kernel(k.name, {"N": 64}).record
    assert again["cycles"] == first["cycles"] and again["sim"]["host_seconds"] == 0.0
    assert first["sim"]["host_seconds"] > 0

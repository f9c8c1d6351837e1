"""The row-wise tile kernels of the end-to-end model (vexpsim/experiments/kernels/rowwise.py):
every output element within its own derived worst-case bound, on small tiles and both input
distributions; shape checks; phases; VEXP GELU faster than the software-exp GELU."""

from __future__ import annotations

import numpy as np
import pytest

from vexpsim.errors import UserError
from vexpsim.experiments.kernelrun import load_kernels, run_kernel
from vexpsim.experiments.kernels import rowwise as fam


def _inputs(name: str, p: dict, dist: str, seed: int) -> dict:
    k = load_kernels()[name]
    return k.inputs(dict(k.params) | p, dist, np.random.default_rng(seed))


def _bound(name: str, inp: dict) -> np.ndarray:
    if name == "residual":
        return fam.residual_bound(inp["x"], inp["x2"])
    if name == "gelu":
        return fam.gelu_baseline_bound(inp["x"])
    if name == "gelu_vexp":
        return fam.gelu_vexp_bound(inp["x"])
    return fam.layernorm_bound(inp["x"], inp["gamma"], inp["beta"])


CASES = [("residual", {"rows": 8, "cols": 64}, "normal"),
         ("residual", {"rows": 3, "cols": 96}, "uniform"),
         ("gelu_vexp", {"rows": 8, "cols": 64}, "normal"),
         ("gelu_vexp", {"rows": 2, "cols": 512}, "uniform"),
         ("gelu", {"rows": 2, "cols": 64}, "normal"),
         ("layernorm", {"rows": 8, "cols": 64}, "normal"),
         ("layernorm", {"rows": 3, "cols": 128}, "uniform"),
         ("layernorm", {"rows": 11, "cols": 32}, "normal")]


@pytest.mark.parametrize("name,p,dist", CASES)
def test_elements_within_bound(name: str, p: dict, dist: str) -> None:
    run = run_kernel(name, p, dist=dist, seed=1)
    assert run.record["check"]["passed"], run.record["check"]
    inp = _inputs(name, p, dist, 1)
    err = np.abs(run.output - run.reference)
    bound = _bound(name, inp)
    assert np.all(err <= bound), (err - bound).max()
    # the bound is not vacuous: the typical error is well inside it, and outputs are sane
    assert np.median(bound) < 0.05 * np.abs(run.reference).max()
    assert np.all(np.isfinite(run.output))


def test_gelu_reference_is_tanh_form() -> None:
    x = np.array([-3.0, -1.0, 0.0, 0.5, 2.0])
    # the rewritten form x / (1 + exp(x (A + B x^2))) equals the literal tanh form where the
    # latter does not cancel
    tanh_form = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
    assert np.allclose(fam.gelu_reference(x), tanh_form, rtol=1e-11, atol=0)
    assert fam.gelu_reference(np.array([-8.0]))[0] < 0  # no cancellation to 0


def test_phases_and_vexp_faster() -> None:
    p = {"rows": 2, "cols": 64}
    base = run_kernel("gelu", p).record
    vexp = run_kernel("gelu_vexp", {"rows": 2, "cols": 64}).record
    assert list(base["phases_cycles"]) == ["dma_wait", "gelu"]
    # software expf: hundreds of cycles per element; VEXP SIMD: a few
    assert base["phases_cycles"]["gelu"] > 20 * vexp["phases_cycles"]["gelu"]
    assert base["config"] == "paper_baseline" and vexp["config"] == "vexp_paper"


@pytest.mark.parametrize("name,p,msg", [
    ("layernorm", {"rows": 4, "cols": 40}, "multiple of 16"),
    ("gelu_vexp", {"rows": 1, "cols": 64}, "multiple of 128"),
    ("residual", {"rows": 256, "cols": 768}, "does not fit"),
])
def test_bad_shapes(name: str, p: dict, msg: str) -> None:
    with pytest.raises(UserError, match=msg):
        run_kernel(name, p)

"""kernels/softmax_baseline_row.S: one FP32 row on one core with the software expf, bit-exact
against an emulation of its operation order."""

from pathlib import Path

import numpy as np
import pytest

from vexpsim.arch.functional import run_program
from vexpsim.asm import assemble
from vexpsim.numerics.exp import expf_libm
from vexpsim.numerics.reference import error_metrics, softmax_reference

KERNELS = Path(__file__).resolve().parents[2] / "kernels"
KERNEL = KERNELS / "softmax_baseline_row.S"


def run_kernel(x: np.ndarray, timing: bool = True):
    n = x.size
    prog = assemble(KERNEL.read_text(), filename=str(KERNEL), defines={"N": n},
                    include_dirs=(str(KERNELS),))
    prog.store("x", x.astype("<f4").tobytes())
    res = run_program(prog, harts=1, timing=timing)
    assert res.harts[0].exit_code == 0
    y = np.frombuffer(res.memory.read(prog.symbols["y"], 4 * n), dtype="<f4")
    return y, res


def emulate(x: np.ndarray) -> np.ndarray:
    m = x.max()
    e = expf_libm((x - m).astype(np.float32))  # fsub.s: float32 arithmetic is RNE
    s = np.float32(0)
    for v in e:  # sequential fadd.s
        s = np.float32(s + v)
    return (e / s).astype(np.float32)  # fdiv.s, correctly rounded


@pytest.mark.parametrize("n,scale,seed", [(8, 1.0, 0), (32, 4.0, 1), (100, 10.0, 2)])
def test_bit_exact_against_the_emulation(n, scale, seed):
    x = (np.random.default_rng(seed).normal(size=n) * scale).astype(np.float32)
    y, _ = run_kernel(x)
    assert np.array_equal(y.view(np.uint32), emulate(x).view(np.uint32))
    assert error_metrics(y, softmax_reference(x))["max_rel_error"] < 1e-5


def test_timing_does_not_change_the_result():
    x = np.random.default_rng(3).normal(size=16).astype(np.float32)
    a, _ = run_kernel(x, timing=True)
    b, _ = run_kernel(x, timing=False)
    assert np.array_equal(a, b)

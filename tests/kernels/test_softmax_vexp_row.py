"""kernels/softmax_vexp_row.S: one row on one core, bit-exact against an emulation of its
operation order, and close to the float64 softmax."""

from pathlib import Path

import numpy as np
import pytest

from vexpsim.arch.functional import run_program
from vexpsim.asm import assemble
from vexpsim.numerics.exp import vexp_bf16
from vexpsim.numerics.formats import BF16, convert, from_bits, to_bits
from vexpsim.numerics.fparith import fp_div
from vexpsim.numerics.reference import error_metrics, softmax_reference

KERNEL = Path(__file__).resolve().parents[2] / "kernels" / "softmax_vexp_row.S"


def run_kernel(x_bf16: np.ndarray, timing: bool = True):
    n = x_bf16.size
    prog = assemble(KERNEL.read_text(), filename=str(KERNEL), defines={"N": n})
    prog.store("x", to_bits(x_bf16).astype("<u2").tobytes())
    res = run_program(prog, harts=1, timing=timing)
    y = np.frombuffer(res.memory.read(prog.symbols["y"], 2 * n), dtype="<u2")
    return from_bits(y.astype(np.uint16), BF16), res


def b(v):  # round a float64 array to BF16 (once) and back to float64
    return convert(np.asarray(v, dtype=np.float64), BF16).astype(np.float64)


def emulate(x: np.ndarray) -> np.ndarray:
    """The kernel's arithmetic, step by step, in its order (see the kernel header)."""
    xd = x.astype(np.float64)
    m = xd.max()
    e = vexp_bf16(convert(xd - m, BF16)).astype(np.float64)
    words = e.reshape(-1, 4)
    acc = [np.zeros(4), np.zeros(4)]  # ft8 takes even words, ft9 odd words
    for k, w in enumerate(words):
        acc[k % 2] = b(acc[k % 2] + w)
    lanes = b(acc[0] + acc[1])
    s = b(b(lanes[0] + lanes[1]) + b(lanes[2] + lanes[3]))
    one = int(to_bits(convert(np.array([1.0]), BF16))[0])
    sb = int(to_bits(convert(np.array([s]), BF16))[0])
    rinv = float(from_bits(np.array([fp_div(one, sb, "bf16", "rne")[0]]), BF16)[0])
    return convert(e * rinv, BF16)


@pytest.mark.parametrize("n,scale,seed", [(16, 1.0, 0), (64, 3.0, 1), (256, 8.0, 2)])
def test_bit_exact_against_the_emulation(n, scale, seed):
    rng = np.random.default_rng(seed)
    x = convert(rng.normal(size=n) * scale, BF16)
    y, res = run_kernel(x)
    assert res.harts[0].exit_code == 0
    assert np.array_equal(to_bits(y), to_bits(emulate(x)))
    # and a sensible softmax: BF16 storage + BF16 sum + VEXP, relative to float64
    err = error_metrics(y, softmax_reference(x.astype(np.float64)))
    assert err["max_abs_error"] < 0.02 * max(1.0, float(y.astype(np.float64).max()))


def test_uniform_inputs_sum_to_one():
    rng = np.random.default_rng(3)
    x = convert(rng.uniform(-10, 0, 128), BF16)
    y, _ = run_kernel(x)
    assert abs(float(y.astype(np.float64).sum()) - 1.0) < 0.05


def test_timing_does_not_change_the_result():
    rng = np.random.default_rng(4)
    x = convert(rng.normal(size=64), BF16)
    a, _ = run_kernel(x, timing=True)
    c, _ = run_kernel(x, timing=False)
    assert np.array_equal(to_bits(a), to_bits(c))

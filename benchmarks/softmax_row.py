"""Single-core softmax of one row: baseline (FP32, libm expf) vs VEXP kernel, timing on.

    python benchmarks/softmax_row.py [N ...]

Prints cycles and instructions per output and the speedup. One core, the row already in the
TCDM: not yet the paper's 8-core, DMA-fed setup (README, "First kernel measurements").
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from vexpsim.arch.functional import run_program
from vexpsim.asm import assemble
from vexpsim.numerics.formats import BF16, convert, to_bits

KERNELS = Path(__file__).resolve().parent.parent / "kernels"


def run(kernel: str, data: bytes, n: int) -> dict:
    path = KERNELS / kernel
    prog = assemble(path.read_text(), filename=str(path), defines={"N": n},
                    include_dirs=(str(KERNELS),))
    prog.store("x", data)
    res = run_program(prog, harts=1, timing=True)
    return res.to_json()["harts"][0]["timing"]


def main(sizes: list[int]) -> None:
    print(f"{'N':>6} {'base cyc/out':>12} {'base ins/out':>12} {'vexp cyc/out':>12} "
          f"{'vexp ins/out':>12} {'speedup':>8}")
    for n in sizes:
        x = (np.random.default_rng(0).normal(size=n) * 3).astype(np.float32)
        b = run("softmax_baseline_row.S", x.astype("<f4").tobytes(), n)
        xb = convert(x.astype(np.float64), BF16)
        v = run("softmax_vexp_row.S", to_bits(xb).astype("<u2").tobytes(), n)
        print(f"{n:>6} {b['cycles'] / n:>12.2f} {b['retired'] / n:>12.2f} "
              f"{v['cycles'] / n:>12.3f} {v['retired'] / n:>12.3f} "
              f"{b['cycles'] / v['cycles']:>7.1f}x")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [32, 64, 128, 256, 512, 1024, 2048])

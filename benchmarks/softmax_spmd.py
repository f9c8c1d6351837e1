"""The 8-core, DMA-fed softmax kernels (issue 6): cycles per output for N = 32..2048.

    python benchmarks/softmax_spmd.py [--rows M] [N ...]

For each N runs softmax_baseline (FP32, libm expf), softmax_opt (BF16, software exp, no VEXP)
and softmax_vexp (BF16, vfexp.h) on M rows (default 16) with timing on, and prints cycles per
output element of the whole cluster (slowest hart / (M x N)), instructions per output
(all harts), energy per output (the energy table's components, as run_kernel reports them),
the speedups and energy ratios against the VEXP kernel, the max relative error, the host
seconds of each run and hart 0's phase split of the VEXP kernel.
"""

from __future__ import annotations

import argparse

from vexpsim.experiments.kernelrun import run_kernel

KERNELS = ("softmax_baseline", "softmax_opt", "softmax_vexp")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=16)
    ap.add_argument("sizes", type=int, nargs="*", default=[32, 64, 128, 256, 512, 1024, 2048])
    a = ap.parse_args()
    m = a.rows
    print(f"M = {m} rows, cycles/output = cluster cycles / (M x N) (x 8 = per element on one "
          "core, the paper's metric); ins = all harts")
    print(f"{'N':>5} | {'base cyc/out':>12} {'ins/out':>7} | {'opt cyc/out':>11} {'ins/out':>7} | "
          f"{'vexp cyc/out':>12} {'ins/out':>7} | {'base/vexp':>9} {'opt/vexp':>8} | "
          f"{'pJ/out b/o/v':>20} {'E b/v':>6} {'E o/v':>5} | "
          f"{'max rel err b/o/v':>26} | {'host s b/o/v':>17} | vexp phases (hart 0)")
    for n in a.sizes:
        recs = {k: run_kernel(k, {"M": m, "N": n}, dist="normal", seed=0).record
                for k in KERNELS}
        out = m * n
        b, o, v = (recs[k] for k in KERNELS)
        errs = "/".join(f"{r['error']['max_rel_error']:.1e}" for r in (b, o, v))
        pj = "/".join(f"{r['energy_pj'] / out:.1f}" for r in (b, o, v))
        host = "/".join(f"{r['sim']['host_seconds']:.1f}" for r in (b, o, v))
        assert all(r["check"]["passed"] for r in (b, o, v)), [r["check"] for r in (b, o, v)]
        print(f"{n:>5} | {b['cycles'] / out:>12.2f} {b['instructions'] / out:>7.2f} | "
              f"{o['cycles'] / out:>11.3f} {o['instructions'] / out:>7.2f} | "
              f"{v['cycles'] / out:>12.4f} {v['instructions'] / out:>7.3f} | "
              f"{b['cycles'] / v['cycles']:>8.1f}x {o['cycles'] / v['cycles']:>7.1f}x | "
              f"{pj:>20} {b['energy_pj'] / v['energy_pj']:>5.1f}x "
              f"{o['energy_pj'] / v['energy_pj']:>4.1f}x | "
              f"{errs:>26} | {host:>17} | {v['phases_cycles']}")


if __name__ == "__main__":
    main()

"""GEMM tile kernels (kernels/gemm_*.S) on the simulated cluster: cycles, FPU utilisation and
host seconds for a 64x64x256 tile and the GPT-2 small QKV projection's tile.

    python benchmarks/gemm_tiles.py [--naive]     (--naive: also gemm_naive, 64x64x256 only)

The GPT-2 tile is the one vexpsim/experiments/workloads/tiling.py gives for M=1024, N=2304,
K=768 on the default system (occamy, 120 KiB tile budget): (tm, tn, tk, nk) = (96, 96, 64, 12),
i.e. M = N = 96, K = 768, TK = 64. Utilisation = useful FLOP / (cycles x 8 cores x peak FLOP
per core-cycle), peak = 8 (vfdotpex.s.ah: 4 BF16 products and 4 additions) or 4 (vfmac.s: 2
FP32 FMAs); `fpu_busy` is the compute cores' mean FPU-issue share from the timing model
(every FP instruction counts, also the zeroing, loads, vfsum and stores).
"""

from __future__ import annotations

import sys

from vexpsim.errors import UserError
from vexpsim.experiments.kernelrun import run_kernel

PEAK_FLOP = {"gemm_bf16": 8, "gemm_fp32": 4, "gemm_naive": 8}  # per core-cycle, SIMD peak
TILES = {"64x64x256": {"M": 64, "N": 64, "K": 256, "TK": 64},
         "gpt2_qkv": {"M": 96, "N": 96, "K": 768, "TK": 64}}


def measure(name: str, p: dict) -> dict:
    run = run_kernel(name, p, dist="normal", seed=0)
    rec = run.record
    harts = run.exec_result.to_json()["harts"][:8]
    busy = sum(h["timing"]["fpu_utilisation"] for h in harts) / len(harts)
    util = rec["flop"] / (rec["cycles"] * 8 * PEAK_FLOP[name])
    return {"kernel": name, **p, "cycles": rec["cycles"],
            "flop_per_cycle": rec["flop"] / rec["cycles"],
            "utilisation": util, "fpu_busy": busy, "gflop_per_s": rec.get("gflop_per_s"),
            "phases": rec["phases_cycles"], "check": rec["check"]["passed"],
            "host_s": rec["sim"]["host_seconds"]}


def main() -> None:
    names = ["gemm_bf16", "gemm_fp32"] + (["gemm_naive"] if "--naive" in sys.argv else [])
    for tile, p in TILES.items():
        for name in names:
            if name == "gemm_naive" and tile != "64x64x256":
                continue  # ~50 M instructions on the per-instruction path: too slow here
            try:
                r = measure(name, p)
            except UserError as exc:  # e.g. FP32 chunks of the BF16 tile do not fit the TCDM
                print(f"{tile:10s} {name:10s} not run: {exc}", flush=True)
                continue
            print(f"{tile:10s} {name:10s} cycles {r['cycles']:8d}"
                  f"  flop/cycle {r['flop_per_cycle']:6.2f}"
                  f"  util {r['utilisation']:.3f}  fpu_busy {r['fpu_busy']:.3f}"
                  f"  GFLOP/s {r['gflop_per_s']:.1f}  check {r['check']}  host {r['host_s']:.1f} s"
                  f"  phases {r['phases']}", flush=True)


if __name__ == "__main__":
    main()

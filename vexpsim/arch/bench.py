"""`vexpsim bench`: simulation speed (simulated instructions per host second) of one hart on a
scalar loop and on an FREP/SSR kernel, with the timing model on and off."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ..errors import UserError

__all__ = ["register", "PROGRAMS", "bench"]

# scalar loop: load, add, store, pointer bumps, branch (7 instructions per iteration)
SCALAR = """_start:
    li   s0, ITERS
    la   a1, buf
    li   a2, 0
1:  lw   t0, 0(a1)
    add  t0, t0, s0
    sw   t0, 4(a1)
    addi a2, a2, 1
    andi a1, a1, -8
    addi s0, s0, -1
    bnez s0, 1b
    li   a0, 0
    ecall
.tcdm
buf: .zero 64
"""

# FP64 dot product: SSR0/SSR1 stream a 64-element buffer (2-D streams rewind it), an FREP
# body of 8 independent accumulators repeated 64 times per outer iteration (frep, 512 body
# executions and 2 integer instructions per iteration)
FREP_SSR = """.equ L, 64
_start:
    li   t0, L-1
    scfgwi t0, 2<<5 | 31        # bounds[0]: L elements
    li   t0, 8*ITERS-1
    scfgwi t0, 3<<5 | 31        # bounds[1]: rewind 8*ITERS times
    li   t0, 8
    scfgwi t0, 6<<5 | 31        # strides[0]
    li   t0, -8*(L-1)
    scfgwi t0, 7<<5 | 31        # strides[1], relative: back to the start
    la   t0, xs
    scfgwi t0, 25<<5 | 0        # SSR0: 2-D read stream
    la   t0, ys
    scfgwi t0, 25<<5 | 1        # SSR1: 2-D read stream
    csrsi ssr, 1
    li   s0, ITERS
    li   t1, L-1
1:  frep.o t1, 8, 0, 0
    fmadd.d fa0, ft0, ft1, fa0
    fmadd.d fa1, ft0, ft1, fa1
    fmadd.d fa2, ft0, ft1, fa2
    fmadd.d fa3, ft0, ft1, fa3
    fmadd.d fa4, ft0, ft1, fa4
    fmadd.d fa5, ft0, ft1, fa5
    fmadd.d fa6, ft0, ft1, fa6
    fmadd.d fa7, ft0, ft1, fa7
    addi s0, s0, -1
    bnez s0, 1b
    csrci ssr, 1
    li   a0, 0
    ecall
.tcdm
xs: .rept L
    .double 0.5
    .endr
ys: .rept L
    .double 2.0
    .endr
"""

PROGRAMS = {"scalar": (SCALAR, 100_000), "frep_ssr": (FREP_SSR, 400)}


def bench(name: str, iters: int, timing: bool, repeat: int = 3) -> dict:
    """Best of `repeat` runs of program `name` on one hart."""
    from .functional import iss_config, run_source
    src = PROGRAMS[name][0]
    cfg = iss_config(harts=1)
    best = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = run_source(src, filename=f"<bench {name}>", harts=1, defines={"ITERS": iters},
                       config=cfg, timing=timing, max_steps=10**9)
        secs = time.perf_counter() - t0  # including assembly and closure building
        if best is None or r.host_seconds < best[0]:
            best = (r.host_seconds, secs, r)
    run_s, total_s, r = best
    return {"program": name, "timing": timing, "iterations": iters,
            "instructions": r.instructions, "cycles": r.cycles,
            "host_seconds": run_s, "host_seconds_with_setup": total_s,
            "instructions_per_second": r.instructions / run_s if run_s else 0.0}


def _run(args: argparse.Namespace) -> int:
    if args.scale <= 0:
        raise UserError(f"--scale must be positive, got {args.scale}")
    if args.repeat < 1:
        raise UserError(f"--repeat must be at least 1, got {args.repeat}")
    rows = []
    for name, (_, iters) in PROGRAMS.items():
        n = max(1, round(iters * args.scale))
        for timing in (False, True):
            row = bench(name, n, timing, args.repeat)
            rows.append(row)
            print(f"{name:9s} timing {'on ' if timing else 'off'}  {row['instructions']:9d} "
                  f"instr  {row['cycles']:9d} cycles  {row['host_seconds']:7.3f} s  "
                  f"{row['instructions_per_second'] / 1e6:6.2f} M instr/s")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="simulation speed: instructions per host second",
                       description=__doc__)
    p.add_argument("--scale", type=float, default=1.0,
                   help="multiply the iteration counts (default 1: about 0.7 M and 0.2 M "
                   "instructions)")
    p.add_argument("--repeat", type=int, default=3, help="best of N runs (default 3)")
    p.add_argument("--json", metavar="OUT", help="write the measurements as JSON")
    p.set_defaults(func=_run)

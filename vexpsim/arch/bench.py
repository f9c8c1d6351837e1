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

# SPMD over the whole cluster: every hart runs the scalar loop on its own 64-byte buffer
SCALAR_SPMD = SCALAR.replace("    la   a1, buf\n", """    la   a1, buf
    csrr t1, mhartid
    slli t1, t1, 6
    add  a1, a1, t1
""").replace("buf: .zero 64", "buf: .zero 64*16")


def _rewinding_streams(outer: str) -> str:
    """SSR 0 and 1 set up as 2-D read streams over the L words at `xs` and `ys` (core h
    starting h words in), rewound `outer` + 1 times: the stream set-up of the SPMD FREP
    programs below."""
    return """    slli t2, a0, 3              # core h: h words into the buffers
    li   t0, L-1
    scfgwi t0, 2<<5 | 31
    li   t0, """ + outer + """
    scfgwi t0, 3<<5 | 31
    li   t0, 8
    scfgwi t0, 6<<5 | 31
    li   t0, -8*(L-1)
    scfgwi t0, 7<<5 | 31
    la   t0, xs
    add  t0, t0, t2
    scfgwi t0, 25<<5 | 0
    la   t0, ys
    add  t0, t0, t2
    scfgwi t0, 25<<5 | 1
"""


# FREP/SSR SPMD: the 8 compute cores each run ONE long FREP loop of the FP64 dot-product body
# (8 accumulators; 2-D streams rewinding a 64-element buffer, core h reading it shifted by h
# words so that the cores' streams start in different banks); the DMA core only exits.
FREP_SSR_SPMD = """.equ L, 64
_start:
    csrr a0, mhartid
    li   t0, 8
    beq  a0, t0, 9f
""" + _rewinding_streams("8*ITERS-1") + """    csrsi ssr, 1
    li   t1, L*ITERS-1          # one FREP loop: 8 instructions x L x ITERS
    frep.o t1, 8, 0, 0
    fmadd.d fa0, ft0, ft1, fa0
    fmadd.d fa1, ft0, ft1, fa1
    fmadd.d fa2, ft0, ft1, fa2
    fmadd.d fa3, ft0, ft1, fa3
    fmadd.d fa4, ft0, ft1, fa4
    fmadd.d fa5, ft0, ft1, fa5
    fmadd.d fa6, ft0, ft1, fa6
    fmadd.d fa7, ft0, ft1, fa7
    csrci ssr, 1
9:  li   a0, 0
    ecall
.tcdm
xs: .rept L+8
    .double 0.5
    .endr
ys: .rept L+8
    .double 2.0
    .endr
"""



def _random_doubles(n: int, seed: int) -> str:
    """`.double` directive of n pseudo-random values in [0.5, 2) (fixed seed: the same
    program every run)."""
    import numpy as np
    vals = np.random.default_rng(seed).uniform(0.5, 2.0, n)
    return "    .double " + ", ".join(repr(float(v)) for v in vals) + "\n"


# the same FREP/SSR SPMD program on random data: inexact products and sums, so the fused
# accumulation chains round at every step (frep_ssr_spmd's 0.5 x 2.0 sums exactly)
FREP_SSR_SPMD_RAND = FREP_SSR_SPMD.split("xs: .rept")[0] + "xs:\n" + _random_doubles(72, 1) + \
    "ys:\n" + _random_doubles(72, 2)


# the same on a 2048-element buffer (32 KiB per core pair of streams; the operands repeat
# every 256 FREP iterations instead of every 8): how the random-data figure depends on the
# operands' period (every 2-D stream in these programs rewinds its buffer, as a dot product
# over a TCDM tile does)
FREP_SSR_SPMD_RAND_LONG = FREP_SSR_SPMD_RAND.split("xs:")[0].replace(
    ".equ L, 64", ".equ L, 2048") + "xs:\n" + _random_doubles(2056, 5) + "ys:\n" + \
    _random_doubles(2056, 6)


def _random_bf16_words(n: int, seed: int) -> str:
    """`.half` directive of 4 n pseudo-random BF16 values in [-8, 0] (n 64-bit words)."""
    import ml_dtypes
    import numpy as np
    vals = np.random.default_rng(seed).uniform(-8.0, 0.0, 4 * n).astype(ml_dtypes.bfloat16)
    return "    .half " + ", ".join(f"{int(v):#06x}" for v in vals.view(np.uint16)) + "\n"


# BF16 SPMD, the inner loops of a VEXP softmax (paper §III): each compute core runs one long
# FREP over two 2-D streams rewinding 64 words of random BF16 data (4 lanes each): x - max,
# vfexp, a packed BF16 sum per stream and a running packed max; 8 instructions, 2 elements
# of each stream per iteration. The DMA core only exits.
FREP_BF16_SPMD = """.equ L, 64
_start:
    csrr a0, mhartid
    li   t0, 8
    beq  a0, t0, 9f
    csrwi fmode, 3              # .h is BF16
""" + _rewinding_streams("ITERS-1") + """    fcvt.d.w fa0, zero          # the row maximum: 0
    fcvt.d.w fs0, zero
    fcvt.d.w fs1, zero
    la   t0, ninf
    fld  fs2, 0(t0)
    fld  fs3, 0(t0)
    csrsi ssr, 1
    li   t1, L*ITERS/2-1        # one FREP loop: 8 instructions x L/2 x ITERS
    frep.o t1, 8, 0, 0
    vfsub.r.h ft3, ft0, fa0
    vfsub.r.h ft4, ft1, fa0
    vfexp.h ft3, ft3
    vfexp.h ft4, ft4
    vfadd.h fs0, fs0, ft3
    vfadd.h fs1, fs1, ft4
    vfmax.h fs2, fs2, ft0
    vfmax.h fs3, fs3, ft1
    csrci ssr, 1
9:  li   a0, 0
    ecall
.tcdm
.balign 8
ninf: .half 0xff80, 0xff80, 0xff80, 0xff80
xs:
""" + _random_bf16_words(72, 3) + "ys:\n" + _random_bf16_words(72, 4)

# name: (source, iterations, harts (None: the cluster's 9))
PROGRAMS = {"scalar": (SCALAR, 100_000, 1), "frep_ssr": (FREP_SSR, 400, 1),
            "scalar_spmd": (SCALAR_SPMD, 20_000, None),
            "frep_ssr_spmd": (FREP_SSR_SPMD, 256, None),
            "frep_ssr_spmd_rand": (FREP_SSR_SPMD_RAND, 256, None),
            "frep_ssr_spmd_rand_long": (FREP_SSR_SPMD_RAND_LONG, 8, None),
            "frep_bf16_spmd": (FREP_BF16_SPMD, 512, None)}


def bench(name: str, iters: int, timing: bool, repeat: int = 3) -> dict:
    """Best of `repeat` runs of program `name` (on its number of harts)."""
    from .functional import iss_config, run_source
    src, _, harts = PROGRAMS[name]
    cfg = iss_config()
    harts = harts or cfg.harts
    best = None
    best_cpu: float | None = None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        r = run_source(src, filename=f"<bench {name}>", harts=harts,
                       defines={"ITERS": iters}, config=cfg, timing=timing, max_steps=10**9)
        # including assembly and closure building; CPU time: this process only (the machine
        # may be shared, which inflates the wall-clock figures)
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
        if best is None or r.host_seconds < best[0]:
            best = (r.host_seconds, secs, r)
        best_cpu = cpu if best_cpu is None else min(best_cpu, cpu)
    run_s, total_s, r = best
    return {"program": name, "harts": harts, "timing": timing, "iterations": iters,
            "instructions": r.instructions, "cycles": r.cycles,
            "host_seconds": run_s, "host_seconds_with_setup": total_s,
            "cpu_seconds_with_setup": best_cpu,
            "instructions_per_second": r.instructions / run_s if run_s else 0.0,
            "instructions_per_cpu_second": r.instructions / best_cpu if best_cpu else 0.0}


def _run(args: argparse.Namespace) -> int:
    if args.scale <= 0:
        raise UserError(f"--scale must be positive, got {args.scale}")
    if args.repeat < 1:
        raise UserError(f"--repeat must be at least 1, got {args.repeat}")
    rows = []
    for name in args.program or []:
        if name not in PROGRAMS:
            raise UserError(f"--program: unknown program {name!r} ({' '.join(PROGRAMS)})")
    for name, (_, iters, _h) in PROGRAMS.items():
        if args.program and name not in args.program:
            continue
        n = max(1, round(iters * args.scale))
        for timing in (False, True):
            row = bench(name, n, timing, args.repeat)
            if timing:  # baseline measured in the same run: the functional-only simulation
                row["speed_vs_functional"] = (row["instructions_per_second"]
                                              / rows[-1]["instructions_per_second"])
            rows.append(row)
            ratio = (f"  {row['speed_vs_functional']:5.2f}x of functional" if timing else "")
            print(f"{name:23s} {row['harts']} harts timing {'on ' if timing else 'off'} "
                  f"{row['instructions']:9d} instr {row['cycles']:9d} cycles "
                  f"{row['host_seconds']:7.3f} s {row['instructions_per_second'] / 1e6:6.2f} "
                  f"M instr/s (CPU incl. setup {row['cpu_seconds_with_setup']:7.3f} s "
                  f"{row['instructions_per_cpu_second'] / 1e6:6.2f} M/s){ratio}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="simulation speed: instructions per host second",
                       description=__doc__)
    p.add_argument("--scale", type=float, default=1.0,
                   help="multiply the iteration counts (default 1: 0.2 M to 1.3 M "
                   "instructions per program)")
    p.add_argument("--repeat", type=int, default=3, help="best of N runs (default 3)")
    p.add_argument("--program", action="append", metavar="NAME",
                   help=f"run only this program (repeatable): {', '.join(PROGRAMS)}")
    p.add_argument("--json", metavar="OUT", help="write the measurements as JSON")
    p.set_defaults(func=_run)

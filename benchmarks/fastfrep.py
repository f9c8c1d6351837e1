"""Speed of the vectorised FREP path (vexpsim.arch.fastfrep) against the per-instruction path.

    python benchmarks/fastfrep.py [N ...]        (default N = 4096 65536 iterations)
    python benchmarks/fastfrep.py --programs     (whole untimed programs, see programs())

Kernels: `map` is a 3-stream FP64 map (fmadd.d ft2, ft0, ft1, fa0: SSR0/SSR1 read, SSR2
writes); `chain` is a BF16 reduction with 4 packed accumulators (vfadd.h fsK, fsK, ft0, 4 lanes
each); `gemm` is the FP64 GEMM inner loop (8 fmadd.d chains fsK += ft0 * ft1, SSR0 repeating
each A element 8 times). Random normal operands. Prints body instructions and lane operations
per host second, best of 3 (wall clock and process CPU time: the CPU time is the steadier figure
on a shared machine), for the FREP alone (set-up excluded); the per-instruction path is timed
once.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import ml_dtypes
import numpy as np

from vexpsim.arch import fastfrep as ff
from vexpsim.arch.functional import Hart, Memory, iss_config
from vexpsim.asm import assemble

CFG = iss_config(harts=1)

MAP = """_start:
    li t0, N-1
    scfgwi t0, 2<<5 | 31
    li t0, 8
    scfgwi t0, 6<<5 | 31
    la t0, a
    scfgwi t0, 24<<5 | 0
    la t0, b
    scfgwi t0, 24<<5 | 1
    la t0, out
    scfgwi t0, 28<<5 | 2
    la t0, c
    fld fa0, 0(t0)
    csrsi ssr, 1
    li t1, N-1
    frep.o t1, 1, 0, 0
    fmadd.d ft2, ft0, ft1, fa0
    csrci ssr, 1
    ecall
.data
.balign 8
c: .double 0.75
a: .zero 8*N
b: .zero 8*N
out: .zero 8*N
"""

CHAIN = """_start:
    csrwi fmode, 3
    li t0, 4*N-1
    scfgwi t0, 2<<5 | 0
    li t0, 8
    scfgwi t0, 6<<5 | 0
    la t0, a
    scfgwi t0, 24<<5 | 0
    fcvt.d.w fs0, zero
    fcvt.d.w fs1, zero
    fcvt.d.w fs2, zero
    fcvt.d.w fs3, zero
    csrsi ssr, 1
    li t1, N-1
    frep.o t1, 4, 0, 0
    vfadd.h fs0, fs0, ft0
    vfadd.h fs1, fs1, ft0
    vfadd.h fs2, fs2, ft0
    vfadd.h fs3, fs3, ft0
    csrci ssr, 1
    ecall
.data
.balign 8
a: .zero 8*4*N
"""

GEMM = """_start:
    li t0, 7
    scfgwi t0, 1<<5 | 0         # SSR0 repeat: each A element 8 times
    li t0, N-1
    scfgwi t0, 2<<5 | 0
    li t0, 8*N-1
    scfgwi t0, 2<<5 | 1
    li t0, 8
    scfgwi t0, 6<<5 | 0
    scfgwi t0, 6<<5 | 1
    la t0, a
    scfgwi t0, 24<<5 | 0
    la t0, b
    scfgwi t0, 24<<5 | 1
    csrsi ssr, 1
    li t1, N-1
    frep.o t1, 8, 0, 0
""" + "".join(f"    fmadd.d fs{j}, ft0, ft1, fs{j}\n" for j in range(8)) + """    csrci ssr, 1
    ecall
.data
.balign 8
a: .zero 8*N
b: .zero 64*N
"""


def _at_frep(src: str, n: int, data: dict[str, np.ndarray]) -> tuple[Hart, object, int]:
    prog = assemble(src, filename="bench.S", defines={"N": n}, tcdm_base=CFG.tcdm_base,
                    text_base=CFG.main_base)
    mem = Memory(CFG)
    for addr, blob in prog.segments.items():
        mem.write(addr, blob)
    for sym, arr in data.items():
        mem.write(prog.symbols[sym], arr.tobytes())
    h = Hart(0, prog, mem, CFG, 1)
    while h.by_index[h.idx] is None or h.by_index[h.idx].mnemonic != "frep.o":
        h.idx = h.code[h.idx]()
    return h, h.by_index[h.idx], h.idx


def measure(kind: str, n: int) -> None:
    rng = np.random.default_rng(0)
    if kind == "map":
        src, data = MAP, {s: rng.standard_normal(n) for s in ("a", "b")}
        lanes = 1
    elif kind == "gemm":
        src, data = GEMM, {"a": rng.standard_normal(n), "b": rng.standard_normal(8 * n)}
        lanes = 1
    else:
        src = CHAIN
        data = {"a": rng.standard_normal(16 * n).astype(np.float32).astype(ml_dtypes.bfloat16)}
        lanes = 4
    best = cpu = None
    for _ in range(3):
        h, ins, _ = _at_frep(src, n, data)
        body = h.by_index[h.idx + 1:h.idx + 1 + ins.imm]
        t0, c0 = time.perf_counter(), time.process_time()
        plan = ff.plan_frep(h, body, [body])
        ff.run_frep_vectorised(h, plan, h.x[ins.rs1] + 1)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        best = dt if best is None else min(best, dt)
        cpu = dc if cpu is None else min(cpu, dc)
    h, ins, idx = _at_frep(src, n, data)
    t0, c0 = time.perf_counter(), time.process_time()
    h.code[idx]()
    slow, slow_cpu = time.perf_counter() - t0, time.process_time() - c0
    instr = n * ins.imm
    print(f"{kind:5s} N={n:6d}: {instr:7d} instr  fast {best * 1e3:8.2f} ms "
          f"{instr / best / 1e6:6.2f} M instr/s {instr * lanes / best / 1e6:6.2f} M lane-ops/s"
          f" (CPU {cpu * 1e3:7.2f} ms: {instr / cpu / 1e6:6.2f} M instr/s)"
          f" | slow {slow * 1e3:7.1f} ms (CPU {slow_cpu * 1e3:7.1f}) "
          f"{instr / slow / 1e6:6.3f} M instr/s | speed-up {slow_cpu / cpu:6.1f}x (CPU)")


def measure_short() -> None:
    """The FREP of `vexpsim bench`'s frep_ssr program: 64 iterations x 8 fmadd.d chains (one
    FREP call, 512 instructions): the per-call overhead of the vectorised path."""
    from vexpsim.arch.bench import PROGRAMS
    h, ins, idx = _at_frep(PROGRAMS["frep_ssr"][0].replace("ITERS", "400"), 0, {})
    body = h.by_index[idx + 1:idx + 1 + ins.imm]
    plan = ff.plan_frep(h, body, [body])
    ff.run_frep_vectorised(h, plan, 64)
    reps = 200
    t0 = time.perf_counter()
    for _ in range(reps):
        ff.run_frep_vectorised(h, plan, 64)
    fast = (time.perf_counter() - t0) / reps
    t0 = time.perf_counter()
    for _ in range(20):
        h.code[idx]()
    slow = (time.perf_counter() - t0) / 20
    print(f"short FREP (bench frep_ssr, 512 instr): fast {fast * 1e3:.3f} ms "
          f"{512 / fast / 1e6:.2f} M instr/s | slow {slow * 1e3:.2f} ms "
          f"{512 / slow / 1e6:.3f} M instr/s")


def patch_build_frep() -> None:
    """Route untimed FREPs of >= 64 body executions through the vectorised path: what the
    integration into Hart.build_frep could look like (this process only)."""
    from vexpsim.arch.functional import Hart
    orig = Hart.build_frep

    def build(self: Hart, ins: Any, nxt: int) -> Callable[[], int]:
        slow = orig(self, ins, nxt)
        n_inst = ins.imm
        body = self.by_index[nxt:nxt + n_inst]
        if self.tm is not None or len(body) < n_inst or any(b is None for b in body):
            return slow
        plan = ff.plan_frep(self, body, ff.stagger_variants(ins, body))
        if plan is None:
            return slow
        x, rs1, end, maxit = self.x, ins.rs1, nxt + n_inst, self.cfg.frep_max_iterations

        def f() -> int:
            iters = x[rs1] + 1
            if iters * n_inst >= 64 and iters <= maxit:
                try:
                    ff.run_frep_vectorised(self, plan, iters)
                except ff.CannotVectorise:
                    return slow()
                self.retired += iters * n_inst
                return end
            return slow()
        return f
    Hart.build_frep = build


def programs() -> None:
    """Whole untimed runs: `vexpsim bench`'s frep_ssr program (1 hart) and the softmax VEXP
    row kernel, per-instruction path vs patched (see patch_build_frep)."""
    from pathlib import Path

    from vexpsim.arch.bench import PROGRAMS
    from vexpsim.arch.functional import run_program
    kdir = Path(__file__).resolve().parent.parent / "kernels"
    rng = np.random.default_rng(1)
    n = 8192
    row = rng.standard_normal(n).astype(np.float32).astype(ml_dtypes.bfloat16).tobytes()
    cases = [("bench frep_ssr (ITERS=400)", PROGRAMS["frep_ssr"][0], {"ITERS": 400}, None),
             (f"softmax_vexp_row N={n}", (kdir / "softmax_vexp_row.S").read_text(), {"N": n},
              row)]
    results = {}
    for patched in (False, True):
        if patched:
            patch_build_frep()
        for name, src, defs, data in cases:
            prog = assemble(src, filename=name, defines=defs, tcdm_base=CFG.tcdm_base,
                            text_base=CFG.main_base)
            if data is not None:
                prog.store("x", data)
            r = run_program(prog, harts=1, config=CFG, max_steps=10**9)
            results.setdefault(name, []).append(r)
    for name, (slow, fast) in results.items():
        same = slow.harts[0].f == fast.harts[0].f and slow.harts[0].fflags == \
            fast.harts[0].fflags and bytes(slow.memory.regions[0][3][:]) == \
            bytes(fast.memory.regions[0][3][:])
        print(f"{name}: {slow.instructions} instr | per-instruction "
              f"{slow.host_seconds:.2f} s {slow.instructions / slow.host_seconds / 1e6:.2f} M/s"
              f" | vectorised FREPs {fast.host_seconds:.3f} s "
              f"{fast.instructions / fast.host_seconds / 1e6:.2f} M/s | identical: {same}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--programs"]:
        programs()
        sys.exit(0)
    sizes = [int(a) for a in sys.argv[1:]] or [4096, 65536]
    for n in sizes:
        for kind in ("map", "chain", "gemm"):
            measure(kind, n)
    measure_short()

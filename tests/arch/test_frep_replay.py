"""Short FREP loops with the functional part and the timing apart (vexpsim.arch.frep_replay)
give exactly the per-instruction path's cycles, stalls, events, regions and outputs: alone,
with several cores contending for the same banks, with a DMA writing into them, with SSR
repeat, a write stream, stagger, a non-pipelined unit and streaming off; and on the paper
kernels."""

from __future__ import annotations

import pytest

from vexpsim.arch import frep_replay
from vexpsim.arch.functional import VECTOR_MIN_MAPS, run_source

KERNEL = """
# every compute hart: six short FREPs over arrays OFF*h bytes apart; the last hart may DMA
_start:
    csrr a0, mhartid
    li t0, NHARTS-1
    beq a0, t0, dma
    li t1, OFF
    mul t1, t1, a0
    la t2, cst
    fld fa0, 0(t2)
    fld fa1, 8(t2)
    li t3, N-1
    csrr s0, mcycle
    # 1. z = x * x + y * c (3 streams; x read twice by one instruction, popped once)
    li t0, N-1
    scfgwi t0, 2<<5 | 31
    li t0, 8
    scfgwi t0, 6<<5 | 31
    la t0, xs
    add t0, t0, t1
    scfgwi t0, 24<<5 | 0
    la t0, ys
    add t0, t0, t1
    scfgwi t0, 24<<5 | 1
    la t0, zs
    add t0, t0, t1
    scfgwi t0, 28<<5 | 2
    csrsi ssr, 1
    .rept 40                    # a slow burst: the first pass finds the FP queue full
    fdiv.d fa3, fa0, fa1
    .endr
    frep.o t3, 2, 0, 0
    fmul.d ft3, ft1, fa0
    fmadd.d ft2, ft0, ft0, ft3
    csrci ssr, 1
    # 2. GEMM-like: x repeated 3 times (SSR repeat), 4 staggered accumulators, y streamed
    li t0, 3
    scfgwi t0, 1<<5 | 0
    li t0, N-1
    scfgwi t0, 2<<5 | 0
    li t0, 2*N-1
    scfgwi t0, 2<<5 | 1
    la t0, xs
    add t0, t0, t1
    scfgwi t0, 24<<5 | 0
    la t0, ys
    add t0, t0, t1
    scfgwi t0, 24<<5 | 1
    fmv.d fa4, fa1
    fmv.d fa5, fa1
    fmv.d fa6, fa1
    fmv.d fa7, fa1
    li t4, 2*N-1
    csrsi ssr, 1
    frep.o t4, 1, 3, 0b0001
    fmadd.d fa4, ft0, ft1, fa4
    csrci ssr, 1
    scfgwi zero, 1<<5 | 0
    # 3. a non-pipelined unit in the body: z = x / c, streaming
    li t0, N-1
    scfgwi t0, 2<<5 | 31
    la t0, xs
    add t0, t0, t1
    scfgwi t0, 24<<5 | 0
    la t0, zs
    add t0, t0, t1
    scfgwi t0, 28<<5 | 2
    csrsi ssr, 1
    frep.o t3, 3, 0, 0
    fdiv.d ft4, ft0, fa0
    fdiv.d ft5, fa1, fa0
    fadd.d ft2, ft4, ft5
    csrci ssr, 1
    # 4. one element per cycle into a write stream, each stream on one bank (stride WS = 32
    #    banks), writing the bank the next hart reads: the write FIFO fills
    li t0, WS
    scfgwi t0, 6<<5 | 31
    la t0, xs
    add t0, t0, t1
    scfgwi t0, 24<<5 | 0
    la t0, zs
    add t0, t0, t1
    addi t0, t0, OFF            # the bank the next hart reads
    scfgwi t0, 28<<5 | 2
    csrsi ssr, 1
    frep.o t3, 1, 0, 0
    fadd.d ft2, ft0, fa1
    csrci ssr, 1
    li t0, 8
    scfgwi t0, 6<<5 | 31
    # 6. eight independent adds per pass: with N = 40 (320 executions) the functional part
    #    runs vectorised (fastfrep), the timing replayed
    li t0, 8*N-1
    scfgwi t0, 2<<5 | 31
    la t0, xs
    add t0, t0, t1
    scfgwi t0, 24<<5 | 0
    la t0, zs
    add t0, t0, t1
    scfgwi t0, 28<<5 | 2
    csrsi ssr, 1
    frep.o t3, 8, 0, 0
    .rept 8
    fadd.d ft2, ft0, fa1
    .endr
    csrci ssr, 1
    # 5. streaming off: a register-only recurrence
    frep.o t3, 2, 0, 0
    fmadd.d fa5, fa5, fa0, fa1
    fmul.d fa6, fa6, fa0
    fadd.d fa4, fa4, fa5
    fadd.d fa4, fa4, fa6
    fadd.d fa4, fa4, fa7
    la t0, res
    slli t2, a0, 3
    add t0, t0, t2
    fsd fa4, 0(t0)
    fmv.x.w s2, fa4
    csrr s1, mcycle
    csrr zero, barrier
    li a0, 0
    ecall
dma:
    li t3, DMA
    beqz t3, 2f
    la t1, src
    la t2, xs
    dmsrc t1, zero
    dmdst t2, zero
    dmcpyi a1, t3, 0
1:  dmstati t4, 2
    bnez t4, 1b
2:  csrr zero, barrier
    li a0, 0
    ecall
.data
cst: .double 0.75, 0.5
src: .rept 1024
    .double 1.25
    .endr
res: .zero 8*16
.tcdm
xs: .rept 1024
    .double 1.5
    .endr
ys: .rept 1024
    .double -0.625
    .endr
zs: .zero 8*1024
"""


def _run(enabled: bool, monkeypatch, **defines):
    from vexpsim.arch import fastfrep
    d = {"N": 16, "OFF": 8, "NHARTS": 3, "DMA": 0, "WS": 256} | defines
    calls = []
    real, real_vec = frep_replay.replay, fastfrep.run_frep_vectorised

    def spy(*a, **k):
        calls.append(1)
        return real(*a, **k)

    def spy_vec(*a, **k):
        real_vec(*a, **k)
        calls.append(0)  # a vectorised functional part (counted apart)
    monkeypatch.setattr(frep_replay, "ENABLED", enabled)
    monkeypatch.setattr(frep_replay, "replay", spy)
    monkeypatch.setattr(fastfrep, "run_frep_vectorised", spy_vec)
    r = run_source(KERNEL, harts=d["NHARTS"], timing=True, defines=d)
    assert all(h.exit_code == 0 for h in r.harts)
    out = r.to_json()
    out.pop("sim")
    mem = r.memory.read(r.symbols["zs"], 8 * 1024) + r.memory.read(r.symbols["res"], 8 * 16)
    return out, mem, sum(calls), len(calls) - sum(calls)


@pytest.mark.parametrize("case", [
    {"NHARTS": 2},                      # one core alone (+ an idle DMA core)
    {"NHARTS": 5, "OFF": 8},            # 4 cores, neighbouring banks
    {"NHARTS": 5, "OFF": 0},            # 4 cores on the same addresses: heavy conflicts
    {"NHARTS": 9, "OFF": 256},          # 8 cores, the same banks, different data
    {"NHARTS": 3, "DMA": 8192},         # a DMA writes into the banks being streamed
    {"NHARTS": 4, "N": 40, "OFF": 24, "WS": 8},  # longer (still short) loops
])
def test_replay_equals_per_instruction_path(monkeypatch, case):
    slow, mem_slow, n_slow, _ = _run(False, monkeypatch, **case)
    fast, mem_fast, n_fast, n_vec = _run(True, monkeypatch, **case)
    d = {"N": 16} | case
    short = 6 if 2 * d["N"] < 64 else 5  # FREP 2 (2N iterations) may be long enough for
    assert n_slow == 0 and n_fast >= short * (d["NHARTS"] - 1)  # the steady-state path
    # map bodies (no costly accumulation chain: FREPs 1, 4 and 6, 2N, N and 8N executions)
    # run their functional part vectorised from VECTOR_MIN_MAPS executions on
    maps = sum(n >= VECTOR_MIN_MAPS for n in (2 * d["N"], d["N"], 8 * d["N"]))
    assert n_vec == maps * (d["NHARTS"] - 1)
    assert fast["harts"][0]["timing"]["stalls"]["fpq_full"] > 0
    assert mem_fast == mem_slow
    assert fast == slow


@pytest.mark.parametrize("case", [{"NHARTS": 5, "OFF": 0}, {"NHARTS": 3, "DMA": 8192}])
def test_generated_replay_equals_the_loop(monkeypatch, case):
    """Unstaggered bodies replay through a function generated per body (COMPILED); the
    generic loop, which staggered bodies keep, gives the same on them."""
    got = []
    for compiled in (False, True):
        monkeypatch.setattr(frep_replay, "COMPILED", compiled)
        got.append(_run(True, monkeypatch, **case))
    assert got[0] == got[1]


@pytest.mark.parametrize("name,params", [
    ("gemm_bf16", {"M": 16, "N": 16, "K": 128, "TK": 64}),
    ("gemm_fp32", {"M": 16, "N": 16, "K": 64, "TK": 32}),
    ("softmax_vexp", {"M": 16, "N": 64}),
    ("fa2_vexp", {"L": 16, "S": 64, "d": 16, "Br": 16, "Bc": 32}),
])
def test_replay_on_the_kernels(monkeypatch, name, params, kernel_fingerprint):
    """8 cores and the DMA: the same record (cycles, stalls, events, energies, errors),
    per-hart timing and output bits with and without the replay."""
    got = []
    for enabled in (False, True):
        monkeypatch.setattr(frep_replay, "ENABLED", enabled)
        got.append(kernel_fingerprint(name, params))
    assert got[1] == got[0]

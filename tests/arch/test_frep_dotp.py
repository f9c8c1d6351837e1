"""Short FREP bodies of BF16 dot products run by vexpsim.arch.frep_dotp give exactly the
closures' results (registers, fflags, stream state, memory) and the same timing: alone,
contended, with a DMA, with SSR repeat crossing FREP boundaries, negated and swapped sources,
special operands (the exact fallback step by step) and on the kernels."""

from __future__ import annotations

import random

import pytest

from vexpsim.arch import frep_dotp, functional
from vexpsim.arch.functional import run_source

KERNEL = """
_start:
    csrr a0, mhartid
    li t0, NHARTS-1
    beq a0, t0, dma
    li t1, OFF
    mul t1, t1, a0
    la t2, accs
    fld f3, 0(t2)
    fld f4, 8(t2)
    fld f5, 16(t2)
    fld f6, 24(t2)
    li t0, REP                  # A: each element delivered REP+1 times (4 pops/iteration)
    scfgwi t0, 1<<5 | 0
    li t0, NA-1
    scfgwi t0, 2<<5 | 0
    li t0, 8
    scfgwi t0, 6<<5 | 0
    la t0, as
    add t0, t0, t1
    scfgwi t0, 24<<5 | 0
    li t0, NB-1
    scfgwi t0, 2<<5 | 1
    li t0, 8
    scfgwi t0, 6<<5 | 1
    la t0, bs
    add t0, t0, t1
    scfgwi t0, 24<<5 | 1
    csrsi ssr, 1
    li t3, N-1
    .rept FREPS
    frep.o t3, 4, 0, 0
    vfdotpex.s.ah f3, ft0, ft1
    vfndotpex.s.ah f4, ft0, ft1
    vfdotpex.s.ah f5, ft1, ft0
    vfdotpex.s.ah f6, ft0, ft1
    fadd.d fa0, fa0, fa1        # between the FREPs: the core and the FP queue move on
    .endr
    csrci ssr, 1
    la t0, res
    slli t2, a0, 5
    add t0, t0, t2
    fsd f3, 0(t0)
    fsd f4, 8(t0)
    fsd f5, 16(t0)
    fsd f6, 24(t0)
    frcsr s1
    fmv.x.w s2, f3
    csrr zero, barrier
    li a0, 0
    ecall
dma:
    li t3, DMA
    beqz t3, 2f
    la t1, src
    la t2, bs
    dmsrc t1, zero
    dmdst t2, zero
    dmcpyi a1, t3, 0
1:  dmstati t4, 2
    bnez t4, 1b
2:  csrr zero, barrier
    li a0, 0
    ecall
"""

_SPECIALS = [0x0000, 0x8000, 0x7F80, 0xFF80, 0x7FC0, 0x0001, 0x8003, 0x7F7F, 0xFF7F, 0x0080,
             0x7E00, 0x0100]


def _lane(rng: random.Random, special: bool) -> int:
    if special and rng.random() < 0.02:
        return rng.choice(_SPECIALS)
    # normal BF16 values around 1 (exponent 124..130), random sign and significand
    return rng.getrandbits(1) << 15 | rng.randint(124, 130) << 7 | rng.getrandbits(7)


def _words(rng: random.Random, n: int, special: bool) -> str:
    ws = []
    for _ in range(n):
        w = 0
        for i in range(4):
            w |= _lane(rng, special) << (16 * i)
        ws.append(f"    .dword {w:#018x}")
    return "\n".join(ws)


def _source(d: dict) -> str:
    rng = random.Random(d["SEED"])
    pops = d["FREPS"] * d["N"] * 4
    words = pops * (d["NHARTS"] + 1) + 64
    special = d["SPECIAL"]
    accs = [0x3F800000BF000000, 0x7FC0000000000000 if special else 0,
            0x0000000180000000 if special else 0x4040000040400000,
            0x7F800000C1200000 if special else 0xC120000000000000]
    return KERNEL + "\n.data\nsrc:\n" + _words(rng, 1024, special) + "\nres: .zero 32*16\n" + \
        "accs:\n" + "\n".join(f"    .dword {a:#018x}" for a in accs) + \
        "\n.tcdm\nas:\n" + _words(rng, words, special) + "\nbs:\n" + \
        _words(rng, words, special) + "\n"


_REAL_RUN = frep_dotp.DotpBody.run


def _run(runner: bool, monkeypatch, d: dict):
    calls = []
    real = _REAL_RUN

    def spy(self, n, addrs):
        got = real(self, n, addrs)
        calls.append(got)
        return got
    monkeypatch.setattr(functional, "DOTP_RUNNER", runner)
    monkeypatch.setattr(frep_dotp.DotpBody, "run", spy)
    pops = d["FREPS"] * d["N"] * 4
    defines = {k: v for k, v in d.items() if k not in ("SEED", "SPECIAL")} | {
        "NA": -(-pops // (d["REP"] + 1)), "NB": pops}
    r = run_source(_source(d), harts=d["NHARTS"], timing=True, defines=defines)
    assert all(h.exit_code == 0 for h in r.harts)
    out = r.to_json()
    out.pop("sim")
    mem = r.memory.read(r.symbols["res"], 32 * 16)
    return out, mem, calls


CASES = [
    {"NHARTS": 2},                       # one core alone (+ an idle DMA core)
    {"NHARTS": 5, "OFF": 0},             # 4 cores on the same addresses: heavy conflicts
    {"NHARTS": 9, "OFF": 256},           # 8 cores, the same banks, different data
    {"NHARTS": 3, "DMA": 2048},          # a DMA writes into the B stream's banks
    {"NHARTS": 3, "REP": 0, "N": 5},     # no repeat, 5 iterations
]


@pytest.mark.parametrize("special", [False, True])
@pytest.mark.parametrize("case", CASES)
def test_dotp_runner_equals_the_closures(monkeypatch, case, special):
    d = {"N": 16, "OFF": 8, "NHARTS": 3, "DMA": 0, "REP": 2, "FREPS": 3, "SEED": 7,
         "SPECIAL": int(special)} | case
    slow, mem_slow, n_slow = _run(False, monkeypatch, d)
    fast, mem_fast, n_fast = _run(True, monkeypatch, d)
    assert n_slow == [] and n_fast and all(n_fast)
    assert mem_fast == mem_slow
    assert fast == slow


def test_the_checked_steps_equal_the_closures(monkeypatch):
    """The step-by-step path (taken when the speculative pass fails its test) alone, on data
    that passes it everywhere and on special data."""
    monkeypatch.setattr(frep_dotp, "_exact", lambda *a: False)
    for special in (0, 1):
        d = {"N": 16, "OFF": 8, "NHARTS": 4, "DMA": 0, "REP": 2, "FREPS": 3, "SEED": 3,
             "SPECIAL": special}
        slow, mem_slow, _ = _run(False, monkeypatch, d)
        fast, mem_fast, n_fast = _run(True, monkeypatch, d)
        assert n_fast and all(n_fast)
        assert mem_fast == mem_slow
        assert fast == slow


def test_stagger_and_other_bodies_are_left_alone():
    from vexpsim.asm.assembler import assemble
    src = """
    frep.o t3, 2, 0, 0
    vfdotpex.s.ah f3, ft0, ft1
    vfdotpex.s.ah f3, ft0, ft1
    frep.o t3, 1, 0, 0
    vfdotpex.s.ah f3, ft0, ft0
    frep.o t3, 1, 0, 0
    vfdotpex.s.ah ft2, ft0, ft1
    frep.o t3, 1, 0, 0
    vfdotpex.s.ah f4, ft0, ft1
    """
    prog = assemble(src)
    ins = [i for i in prog.instructions if not i.mnemonic.startswith("frep")]

    class H:
        ssrs = [None, None, None]
    assert frep_dotp.plan_dotp(H, ins[0:2], 1) is None  # one accumulator twice
    assert frep_dotp.plan_dotp(H, ins[2:3], 1) is None  # the same stream twice
    assert frep_dotp.plan_dotp(H, ins[3:4], 1) is None  # the result into a stream
    assert frep_dotp.plan_dotp(H, ins[4:5], 2) is None  # stagger
    assert frep_dotp.plan_dotp(H, ins[4:5], 1) is not None


@pytest.mark.parametrize("name,params", [
    ("gemm_bf16", {"M": 16, "N": 16, "K": 128, "TK": 64}),
    ("fa2_vexp", {"L": 16, "S": 64, "d": 16, "Br": 16, "Bc": 32}),
])
def test_dotp_runner_on_the_kernels(monkeypatch, name, params, kernel_fingerprint):
    got = []
    for runner in (False, True):
        monkeypatch.setattr(functional, "DOTP_RUNNER", runner)
        got.append(kernel_fingerprint(name, params))
    assert got[1] == got[0]


@pytest.mark.parametrize("rep", [0, 2, 3])
def test_dotp_bodies_replay_as_per_instruction(monkeypatch, rep):
    """The replay generated for these bodies (a repeat that is whole elements per iteration,
    REP 3 with 4 pops: static; REP 2: the counter at run time; no repeat) against the
    per-instruction path, 4 cores on the same banks."""
    from vexpsim.arch import frep_replay
    d = {"N": 16, "OFF": 0, "NHARTS": 5, "DMA": 0, "REP": rep, "FREPS": 3, "SEED": 5,
         "SPECIAL": 0}
    monkeypatch.setattr(frep_replay, "ENABLED", False)
    slow, mem_slow, n_slow = _run(True, monkeypatch, d)
    monkeypatch.setattr(frep_replay, "ENABLED", True)
    fast, mem_fast, n_fast = _run(True, monkeypatch, d)
    assert n_slow == [] and n_fast and all(n_fast)
    assert mem_fast == mem_slow
    assert fast == slow

"""Straight-line timed blocks (vexpsim.arch.blocks) against the per-instruction timed closures
(HartTiming.BLOCKS off): the same cycles, stalls, events, regions, registers and memory, on one
hart and on the whole cluster (TCDM bank conflicts, the shared main-memory port, the CAQ, the
shared multiplier), with every scheduling quantum; errors and step limits at the same
instruction."""

from __future__ import annotations

import pytest

from vexpsim.arch.functional import StepLimitExceeded, iss_config, run_source
from vexpsim.arch.timed import HartTiming
from vexpsim.errors import UserError

# every inline kind (ALU reg/imm, lui/auipc, signed and unsigned loads of 1/2/4 bytes, stores
# of 1/2/4 bytes, all branch conditions, jal, x0 destinations and sources) in TCDM and main
# memory, with opaque instructions inside blocks (mul, div, FP loads/stores that fill the CAQ,
# FP arithmetic, fmv, jalr) and block breakers (csrr, barrier)
MIXED = """_start:
    csrr a0, mhartid
    slli t3, a0, 5
    la   s1, tbuf
    add  s1, s1, t3
    la   s2, mbuf
    add  s2, s2, t3
    li   s0, ITERS
    li   a2, 0
1:  lw   t0, 0(s1)
    lb   t1, 1(s2)
    lhu  t2, 2(s1)
    lh   a3, 2(s2)
    lbu  a4, 3(s1)
    add  t0, t0, s0
    sub  t1, t1, t2
    xor  a3, a3, a4
    sra  a5, t1, a4
    srl  a6, t0, a4
    sll  a7, a4, a4
    slt  t4, t1, t0
    sltu t5, t1, t0
    or   t6, t4, t5
    and  t6, t6, a3
    sltiu t4, t1, 7
    slti t5, t1, -7
    xori t4, t4, 3
    ori  t5, t5, 12
    srai t6, t6, 1
    lui  a7, 0x12345
    auipc a6, 3
    add  x0, t0, t1
    lw   x0, 4(s2)
    sw   t0, 4(s1)
    sh   t1, 8(s2)
    sb   a3, 10(s1)
    sw   t0, 12(s2)
    mul  t1, t0, s0
    add  t1, t1, t0
    fld  ft3, 16(s2)
    fadd.d ft3, ft3, ft3
    fsd  ft3, 16(s2)
    lw   t2, 16(s2)
    fsd  ft3, 24(s1)
    fld  ft4, 24(s1)
    flw  ft0, 28(s1)
    fsw  ft4, 20(s1)
    fsw  ft0, 28(s2)
    flw  ft5, 20(s1)
    fadd.s ft6, ft5, ft4
    fsw  ft6, 24(s2)
    lw   t2, 24(s2)
    sw   t2, 20(s2)
    fmv.x.w a4, ft3
    add  a2, a2, a4
    divu a5, t0, s0
    add  a2, a2, a5
    jal  ra, 5f
    beq  t0, t1, 2f
    bne  t0, t1, 2f
2:  blt  t1, t0, 3f
    bge  t1, t0, 3f
3:  bltu t1, t0, 4f
    bgeu t1, t0, 4f
4:  addi a2, a2, 1
    andi s1, s1, -4
    addi s0, s0, -1
    bnez s0, 1b
    csrr t0, mcycle
    csrr x0, 0x7c2
    mv   a0, a2
    ecall
5:  addi a2, a2, 3
    xor  a2, a2, t6
    ret
.data
.balign 8
mbuf: .zero 32*16
.tcdm
.balign 8
tbuf: .zero 32*16
"""


def _both(src, monkeypatch, **kw):
    on = run_source(src, **kw)
    monkeypatch.setattr(HartTiming, "BLOCKS", False)
    off = run_source(src, **kw)
    monkeypatch.setattr(HartTiming, "BLOCKS", True)
    return on, off


def _same(on, off):
    assert on.to_json() | {"sim": None} == off.to_json() | {"sim": None}
    for (_, base, _size, m1), (_, _, _, m2) in zip(on.memory.regions, off.memory.regions,
                                                  strict=True):
        assert m1[:] == m2[:], base


@pytest.mark.parametrize("harts,quantum", [(1, None), (9, None), (9, 1), (9, 5), (9, 300)])
def test_blocks_match_per_instruction(harts, quantum, monkeypatch):
    on, off = _both(MIXED, monkeypatch, harts=harts, quantum=quantum, timing=True,
                    defines={"ITERS": 40})
    _same(on, off)
    t = on.to_json()["harts"][0]["timing"]
    assert t["stalls"]["raw"] and t["stalls"]["caq"]  # hazards were exercised
    if harts > 1:
        assert any(h["timing"]["stalls"]["mem_port"] for h in on.to_json()["harts"])
        assert on.cluster["events"]["tcdm_conflict"]


def test_blocks_are_used(monkeypatch):
    seen = []
    from vexpsim.arch import functional
    real = functional._run_blocks
    monkeypatch.setattr(functional, "_run_blocks",
                        lambda h, b: (seen.append(max(h.block_len)), real(h, b)))
    run_source(MIXED, harts=2, timing=True, defines={"ITERS": 3})
    assert seen and max(seen) > 20


@pytest.mark.parametrize("name,params", [
    ("softmax_baseline", {"N": 64, "M": 16}),  # expf tables in main memory: port and CAQ
    ("gemm_fp32", {}),
    ("layernorm", {}),
])
def test_blocks_match_on_kernels(name, params, monkeypatch):
    from vexpsim.experiments.kernelrun import run_kernel
    on = run_kernel(name, params).record
    monkeypatch.setattr(HartTiming, "BLOCKS", False)
    off = run_kernel(name, params).record
    on.pop("sim"), off.pop("sim")
    assert on == off


@pytest.mark.parametrize("harts,quantum", [(1, None), (2, 1), (3, 2)])
def test_error_inside_a_block_names_its_instruction(harts, quantum, monkeypatch):
    # with several harts and a small quantum, budgets end inside blocks (partial variants)
    src = ("_start:\n la t0, buf\n addi t1, t0, 1\n add t2, t1, t1\n lw t3, 2(t0)\n"
           " addi t4, t3, 1\n li a0, 0\n ecall\n.tcdm\nbuf: .zero 16\n")
    msgs = []
    for blocks in (True, False):
        monkeypatch.setattr(HartTiming, "BLOCKS", blocks)
        with pytest.raises(UserError, match="misaligned load of 4 bytes") as e:
            run_source(src, harts=harts, timing=True, quantum=quantum)
        msgs.append(str(e.value))
    assert msgs[0] == msgs[1] and ":5:" in msgs[0]


def test_partial_blocks_are_used(monkeypatch):
    from vexpsim.arch import blocks
    calls = []
    real = blocks.build_blocks

    def build(h, shared=None):
        real(h, shared)
        h.block_part = [p if p is None else (lambda k, p=p: (calls.append(k), p(k))[1])
                        for p in h.block_part]
    monkeypatch.setattr(blocks, "build_blocks", build)
    on = run_source(MIXED, harts=9, timing=True, quantum=3, defines={"ITERS": 5})
    assert calls
    monkeypatch.setattr(HartTiming, "BLOCKS", False)
    off = run_source(MIXED, harts=9, timing=True, quantum=3, defines={"ITERS": 5})
    _same(on, off)


@pytest.mark.parametrize("steps", [1, 7, 30, 101])
def test_step_limit_stops_at_the_same_instruction(steps, monkeypatch):
    res = []
    for blocks in (True, False):
        monkeypatch.setattr(HartTiming, "BLOCKS", blocks)
        with pytest.raises(StepLimitExceeded) as e:
            run_source(MIXED, harts=3, timing=True, defines={"ITERS": 1000},
                       max_steps=steps)
        res.append((str(e.value), e.value.result.to_json() | {"sim": None}))
    assert res[0] == res[1]


def test_private_ipu_and_single_hart_config(monkeypatch):
    from vexpsim.arch.config import load_cluster_config
    cfg = iss_config(load_cluster_config(overrides=["core.shared_ipu=false"]))
    on, off = _both(MIXED, monkeypatch, harts=4, config=cfg, timing=True,
                    defines={"ITERS": 10})
    _same(on, off)

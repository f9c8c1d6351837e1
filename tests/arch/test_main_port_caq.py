"""The timed ISS with the cluster's shared main-memory port and the per-core CAQ
(vexpsim.arch.narrow_port; docs/baseline_expf.md §6). Expected cycles are derived from the
default configuration's constants, not copied from a run."""

from __future__ import annotations

from vexpsim.arch.config import load_cluster_config
from vexpsim.arch.functional import iss_config, run_source

CL = load_cluster_config()
OFF, FMA = CL.fpss.lat_offload, CL.fpu.lat_comp_fp64
FLD_TCDM, LD_MAIN = CL.fpss.lat_fp_load_tcdm, CL.core.lat_load_main


def mcycle_gap(body: str, harts: int = 1, quantum: int | None = None, **kw) -> list[int]:
    """Cycles between `csrr t0, mcycle` and `csrr t1, mcycle` around `body`, per hart."""
    src = f"""
_start:
    la      sp, stack_top
    la      s0, mem
    csrr    t0, mcycle
{body}
    csrr    t1, mcycle
    sub     a0, t1, t0
    ecall
    .data
    .balign 8
mem: .dword 1, 2, 3, 4
    .tcdm
    .balign 16
    .zero 64
stack_top:
"""
    r = run_source(src, harts=harts, timing=True, quantum=quantum,
                   config=iss_config(load_cluster_config(**kw)))
    return [h.exit_code for h in r.harts]


def test_int_load_after_fp_store_to_same_word_waits_for_it():
    # fmul issues in the FPSS OFF cycles after the core offloads it; the fsd waits for its
    # result (writeback + 1); its response comes FLD_TCDM later; the lw issues one cycle after
    same = mcycle_gap("    fmul.d fa0, fa1, fa1\n    fsd fa0, 0(sp)\n    lw a1, 0(sp)")
    other = mcycle_gap("    fmul.d fa0, fa1, fa1\n    fsd fa0, 0(sp)\n    lw a1, 8(sp)")
    # csrr t0 at c; fmul at c+1 (FPSS c+1+OFF); fsd FPSS issue c+1+OFF+FMA+1
    fsd_issue = 1 + OFF + FMA + 1
    assert same == [fsd_issue + FLD_TCDM + 1 + 1]  # lw, then csrr t1 one cycle later
    assert other == [4]  # fmul, fsd, lw at c+1..c+3, csrr at c+4: no stall


def test_fp_load_after_fp_store_and_int_store_after_fp_load():
    # an integer store waits for an outstanding FP load of its word (write after read)
    gap = mcycle_gap("    fld fa0, 0(sp)\n    sw a1, 0(sp)")
    fld_issue = 1 + OFF
    assert gap == [fld_issue + FLD_TCDM + 1 + 1]
    assert mcycle_gap("    fld fa0, 0(sp)\n    sw a1, 8(sp)") == [3]


def test_third_main_memory_load_waits_for_a_free_port_slot():
    one = mcycle_gap("    lw a1, 0(s0)\n    lw a2, 8(s0)")
    three = mcycle_gap("    lw a1, 0(s0)\n    lw a2, 8(s0)\n    lw a3, 16(s0)")
    # two slots: the third request (at its issue + 1) is granted when the first load's
    # response frees a slot, LD_MAIN - 1 cycles after the first request
    assert one == [3]
    assert three == [1 + (LD_MAIN - 1) + 1]
    wide = mcycle_gap("    lw a1, 0(s0)\n    lw a2, 8(s0)\n    lw a3, 16(s0)",
                      overrides=["main_memory.core_port_outstanding=3"])
    assert wide == [4]


def test_the_port_is_shared_by_the_harts():
    body = "    lw a1, 0(s0)\n    addi a1, a1, 1"
    alone = mcycle_gap(body)
    gaps = mcycle_gap(body, harts=3, quantum=1)
    # lw at c+1, written back at c+1+LD_MAIN, addi one cycle later, csrr after it
    assert alone == [3 + LD_MAIN]
    # the harts run in lock step: two get the port at once, the third waits for a slot
    assert sorted(gaps) == [3 + LD_MAIN, 3 + LD_MAIN, 3 + LD_MAIN + (LD_MAIN - 1)]

"""Functional ISS: control flow, memory, CSRs, harts, barrier, limits, errors."""

from __future__ import annotations

import struct

import pytest

from vexpsim.arch.functional import StepLimitExceeded, iss_config, run_source
from vexpsim.errors import UserError

CFG = iss_config(harts=1)


def run(src: str, **kw):
    kw.setdefault("config", CFG)
    return run_source(src, filename="t.S", **kw)


def test_branches_taken_and_not_taken():
    cases = [("beq", 5, 5, 1), ("beq", 5, 6, 0), ("bne", 5, 6, 1), ("bne", 5, 5, 0),
             ("blt", -1, 0, 1), ("blt", 0, -1, 0), ("bge", 0, -1, 1), ("bge", -1, 0, 0),
             ("bge", 3, 3, 1), ("bltu", 0, -1, 1), ("bltu", -1, 0, 0), ("bgeu", -1, 0, 1),
             ("bgeu", 0, -1, 0)]
    for mn, a, b, taken in cases:
        r = run(f"_start:\n li a1, {a}\n li a2, {b}\n li a0, 0\n {mn} a1, a2, 1f\n li a0, 7\n"
                f" ecall\n1: li a0, 1\n ecall")
        assert r.harts[0].exit_code == (1 if taken else 7), (mn, a, b)


def test_jal_jalr_link_and_target():
    r = run("_start:\n jal ra, f\n addi a0, a0, 100\n ecall\nf:\n li a0, 1\n"
            " jalr zero, 0(ra)\n")
    assert r.harts[0].exit_code == 101
    assert r.harts[0].x[1] == 0x8000_0004
    # jalr clears bit 0 of the target and writes the link after reading rs1
    r = run("_start:\n la t0, g\n addi t0, t0, 1\n jalr t0, t0, 0\n ecall\ng:\n mv a0, t0\n"
            " ecall")
    assert r.harts[0].exit_code == 0x8000_0010 - 0x1_0000_0000


def test_lui_auipc():
    r = run("_start:\n lui a1, 0xfffff\n auipc a2, 1\n li a0, 0\n ecall")
    assert r.harts[0].x[11] == 0xFFFFF000
    assert r.harts[0].x[12] == 0x8000_1004


def test_loads_stores_sign_extension_and_endianness():
    r = run("""
    _start:
        la a0, buf
        li t0, 0x8081f2f3
        sw t0, 0(a0)
        lb a1, 0(a0)
        lbu a2, 0(a0)
        lh a3, 2(a0)
        lhu a4, 2(a0)
        lw a5, 0(a0)
        sb t0, 4(a0)
        sh t0, 6(a0)
        li a0, 0
        ecall
    .tcdm
    buf: .zero 16
    """)
    x = r.harts[0].x
    assert x[11] == 0xFFFFFFF3 and x[12] == 0xF3
    assert x[13] == 0xFFFF8081 and x[14] == 0x8081 and x[15] == 0x8081F2F3
    base = r.symbols["buf"]
    assert base == 0x1000_0000
    assert r.memory.read(base, 8) == bytes([0xF3, 0xF2, 0x81, 0x80, 0xF3, 0, 0xF3, 0xF2])


def test_fp_load_store_nan_boxing():
    r = run("""
    _start:
        la a0, vals
        flw fa0, 0(a0)
        fld fa1, 8(a0)
        flh fa2, 0(a0)
        flb fa3, 0(a0)
        fsw fa0, 16(a0)
        fsd fa1, 24(a0)
        fsh fa0, 32(a0)
        fsb fa0, 34(a0)
        li a0, 0
        ecall
    .data
    vals: .float 1.5
          .word 0
          .double -2.25
          .zero 24
    """)
    f = r.harts[0].f
    assert f[10] == 0xFFFFFFFF_3FC00000
    assert f[11] == struct.unpack("<Q", struct.pack("<d", -2.25))[0]
    assert f[12] == 0xFFFFFFFF_FFFF0000 and f[13] == 0xFFFFFFFF_FFFFFF00
    base = r.symbols["vals"]
    assert r.memory.read(base + 16, 4) == struct.pack("<f", 1.5)
    assert r.memory.read(base + 24, 8) == struct.pack("<d", -2.25)
    assert r.memory.read(base + 32, 3) == b"\x00\x00\x00"


def test_csr_read_modify_write_and_fcsr_fields():
    r = run("""
    _start:
        li t0, 0x5a5
        csrrw a1, mscratch, t0
        csrrs a2, mscratch, zero
        csrrci a3, mscratch, 5
        csrr a4, mscratch
        csrwi frm, 3
        csrsi fflags, 0x11
        csrwi fmode, 2
        frcsr a5
        csrr a6, mhartid
        li a0, 0
        ecall
    """)
    h = r.harts[0]
    assert (h.x[11], h.x[12], h.x[13], h.x[14]) == (0, 0x5A5, 0x5A5, 0x5A0)
    assert h.x[15] == (3 << 5) | 0x11  # fmode is not part of fcsr (QEMU-compatible)
    assert (h.frm, h.fflags, h.fmode) == (3, 0x11, 2) and h.x[16] == 0


def test_csr_immediate_and_clear_forms():
    r = run("""
    _start:
        csrrwi a1, mscratch, 0x1f
        csrrsi a2, mscratch, 0x0
        li t0, 0x3
        csrrc a3, mscratch, t0
        csrr a4, mscratch
        csrrsi zero, mscratch, 0x4
        csrr a5, mscratch
        li a0, 0
        ecall
    """)
    x = r.harts[0].x
    assert (x[11], x[12], x[13], x[14], x[15]) == (0, 0x1F, 0x1F, 0x1C, 0x1C)


def test_counters_count_retired_instructions():
    r = run("_start:\n csrr a1, mcycle\n nop\n nop\n csrr a2, minstret\n rdcycle a3\n"
            " li a0, 0\n ecall")
    x = r.harts[0].x
    assert (x[11], x[12], x[13]) == (0, 3, 4)
    assert r.harts[0].retired == 7


@pytest.mark.parametrize("src,msg", [
    ("_start:\n csrw mhartid, a0\n ecall", "read-only CSR mhartid"),
    ("_start:\n csrr a0, 0x123\n ecall", "CSR 0x123 is not implemented"),
    ("_start:\n csrw minstret, a0\n ecall", "read-only"),
    ("_start:\n csrwi frm, 5\n fadd.s ft0, ft1, ft2\n ecall", "invalid frm = 5"),
    ("_start:\n li a0, 0x40000000\n lw a1, 0(a0)\n ecall", "outside simulated memory"),
    ("_start:\n li a0, 0x40000000\n jr a0\n ecall", "outside the program text"),
    ("_start:\n ebreak\n", "ebreak"),
    ("_start:\n nop\n", "ran past the end"),
    ("_start:\n j 1f\n .word 0\n1: j 1b - 4\n", "no instruction at pc"),
])
def test_runtime_errors_name_the_place(src, msg):
    with pytest.raises(UserError) as e:
        run(src)
    text = str(e.value)
    assert msg in text and "t.S:" in text and "hart 0" in text


def test_step_limit_reports_partial_state():
    with pytest.raises(StepLimitExceeded) as e:
        run("_start:\n addi a0, a0, 1\n j _start\n", max_steps=101)
    assert "did not end within 101" in str(e.value)
    assert e.value.result.harts[0].retired == 101
    assert e.value.result.harts[0].exit_code is None


def test_harts_start_at_start_and_read_their_id():
    r = run("_start:\n csrr a0, mhartid\n addi a0, a0, 10\n ecall", harts=4,
            config=iss_config(harts=4))
    assert [h.exit_code for h in r.harts] == [10, 11, 12, 13]
    assert r.cycles == 3 and r.instructions == 12


BARRIER_SRC = """
    _start:
        csrr t0, mhartid
        la t1, flags
        slli t2, t0, 2
        add t2, t1, t2
        # hart i spins i*20 iterations before arriving, then sets its flag
        li t3, 20
        mul t3, t3, t0
    1:  beqz t3, 2f
        addi t3, t3, -1
        j 1b
    2:  li t4, 1
        sw t4, 0(t2)
        csrr x0, barrier
        # after the barrier every flag must be set
        li a0, 0
        li t5, 0
    3:  lw t6, 0(t1)
        add a0, a0, t6
        addi t1, t1, 4
        addi t5, t5, 1
        blt t5, a1, 3b
        ecall
    .tcdm
    flags: .zero 64
"""


def test_barrier_blocks_until_all_harts_arrive():
    n = 5
    src = BARRIER_SRC.replace("_start:\n", f"_start:\n        li a1, {n}\n", 1)
    r = run(src, harts=n, config=iss_config(harts=n))
    assert [h.exit_code for h in r.harts] == [n] * n


def test_barrier_deadlock_when_a_hart_has_ended():
    src = "_start:\n csrr a0, mhartid\n beqz a0, 1f\n csrr x0, barrier\n1: ecall"
    with pytest.raises(UserError, match="deadlock"):
        run(src, harts=2, config=iss_config(harts=2))


def test_deterministic_and_quantum_independent_for_race_free_program():
    src = BARRIER_SRC.replace("_start:\n", "_start:\n        li a1, 3\n", 1)
    a = run(src, harts=3, config=iss_config(harts=3))
    b = run(src, harts=3, config=iss_config(harts=3))
    c = run(src, harts=3, config=iss_config(harts=3), quantum=7)
    assert [h.x for h in a.harts] == [h.x for h in b.harts] == [h.x for h in c.harts]


def test_json_shape():
    r = run("_start:\n li a0, -3\n ecall")
    j = r.to_json()
    assert j["cycles"] == 2
    h = j["harts"][0]
    assert h["exit_code"] == -3 and h["x"][10] == 0xFFFFFFFD and len(h["f"]) == 32
    assert set(j["sim"]) == {"instructions", "host_seconds", "instructions_per_second"}


def test_fence_wfi_nop_fencei_do_nothing():
    r = run("_start:\n fence\n fence rw, rw\n fence.i\n wfi\n nop\n li a0, 0\n ecall")
    assert r.harts[0].exit_code == 0 and r.harts[0].retired == 7
    assert r.harts[0].x[1:] == [0] * 9 + [0] + [0] * 21


def test_fcvt_and_fmv_round_trip_through_int_registers():
    r = run("_start:\n li a1, -7\n fcvt.d.w fa0, a1\n fcvt.s.d fa1, fa0\n fmv.x.w a2, fa1\n"
            " fcvt.w.s a3, fa1, rtz\n li a0, 0\n ecall")
    x = r.harts[0].x
    assert x[12] == struct.unpack("<I", struct.pack("<f", -7.0))[0]
    assert x[13] == (-7) & 0xFFFFFFFF


def test_step_limit_with_several_harts_in_lockstep():
    with pytest.raises(StepLimitExceeded) as e:
        run("_start:\n csrr a0, mhartid\n1: addi a1, a1, 1\n j 1b\n", harts=3,
            config=iss_config(harts=3), max_steps=1001)
    assert [h.retired for h in e.value.result.harts] == [1001] * 3


def test_lockstep_interleaving_is_one_instruction_each():
    # hart 1 stores a flag that hart 0 polls; with one instruction each per round, hart 0
    # sees it after a fixed, deterministic number of polls
    src = """
    _start:
        csrr t0, mhartid
        la t1, flag
        bnez t0, writer
        li a0, 0
    1:  lw t2, 0(t1)
        addi a0, a0, 1
        beqz t2, 1b
        ecall
    writer:
        li t3, 10
    2:  addi t3, t3, -1
        bnez t3, 2b
        li t2, 1
        sw t2, 0(t1)
        li a0, 0
        ecall
    .tcdm
    flag: .word 0
    """
    a = run(src, harts=2, config=iss_config(harts=2))
    b = run(src, harts=2, config=iss_config(harts=2), quantum=1)
    assert a.harts[0].exit_code == b.harts[0].exit_code
    # Round r runs instruction r of hart 0, then of hart 1. The writer's sw is its 27th
    # instruction (csrr, la = 2, bnez, li, 10 x 2 loop, li, sw). The poller's loads are its
    # instructions 6, 9, ..., 27, 30 (5 set-up instructions, 3 per poll): the load of round 27
    # runs before the store of round 27, so the 9th poll (round 30) is the first to see 1.
    assert a.harts[0].exit_code == 9


@pytest.mark.parametrize("name", ["bench_int.S", "bench_fp.S"])
def test_benchmark_programs_run(name):
    """The scalar loops used to measure simulation speed (numbers in the ISS report)."""
    from pathlib import Path
    src = (Path(__file__).parent / "programs" / name).read_text()
    r = run_source(src, filename=name, config=CFG, defines={"ITERS": 100})
    per_iter = 7 if name == "bench_int.S" else 5
    assert r.harts[0].retired == 100 * per_iter + 6  # loop + set-up and exit
    if name == "bench_int.S":
        assert r.harts[0].exit_code == 100
    else:  # fa2 accumulates 1.5 * 1.5 a hundred times, exactly
        assert r.harts[0].f[12] == struct.unpack("<Q", struct.pack("<d", 225.0))[0]

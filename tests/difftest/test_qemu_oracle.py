"""Self-tests of the QEMU/binutils oracle and of the random program generator; they do not
need vexpsim's ISS."""

from __future__ import annotations

import struct
from fractions import Fraction

import numpy as np
import progen
import pytest
import qemu_oracle as qo

pytestmark = [pytest.mark.qemu, pytest.mark.usefixtures("toolchain")]

EXIT = "    li a7, 93\n    ecall\n"
HEAD = "    .text\n    .globl _start\n_start:\n"


def run(body: str, tmp_path, data: str = "") -> qo.OracleState:
    src = HEAD + body + EXIT + (("    .data\n" + data) if data else "")
    return qo.run_source(src, tmp_path)


def f32_bits(x) -> int:
    return int(np.float32(x).view(np.uint32))


def boxed(bits32: int) -> int:
    return 0xFFFF_FFFF_0000_0000 | bits32


def test_li_and_exit_code(tmp_path):
    st = run("    li a0, 5\n    li t0, -7\n", tmp_path)
    assert st.x[10] == 5
    assert st.x[5] == (-7) & 0xFFFF_FFFF
    assert st.x[0] == 0
    assert st.exit_code == 5
    assert st.x[17] == qo.EXIT_SYSCALL


def test_final_state_is_before_the_exit_ecall(tmp_path):
    st = run("    li a0, 0\n    addi t1, zero, 3\n", tmp_path)
    elf = tmp_path / "prog.elf"
    # li a0 (1) + addi (1) + li a7 (1): the ecall is the 4th instruction of _start
    assert st.pc == qo.symbols(elf)["_start"] + 12
    assert st.x[6] == 3


def test_flw_nan_boxes_and_fld(tmp_path):
    data = "one: .float 1.0\n    .balign 8\ntwo5: .double 2.5\n"
    st = run("    la t0, one\n    flw ft0, 0(t0)\n    la t0, two5\n    fld ft1, 0(t0)\n"
             "    fmv.x.w a1, ft0\n", tmp_path, data)
    assert st.f[0] == boxed(f32_bits(1.0))
    assert st.f[1] == struct.unpack("<Q", struct.pack("<d", 2.5))[0]
    assert st.x[11] == f32_bits(1.0)


def test_data_follows_text_aligned(tmp_path):
    data = "d0: .word 0x11223344\n"
    st = run("    la a1, d0\n    lw a2, 0(a1)\n", tmp_path, data)
    syms = qo.symbols(tmp_path / "prog.elf")
    assert syms["_start"] == qo.TEXT_BASE
    assert st.x[11] == syms["d0"]
    assert syms["d0"] % qo.DATA_ALIGN == 0
    assert qo.TEXT_BASE + 6 * 4 <= syms["d0"] < qo.TEXT_BASE + 6 * 4 + qo.DATA_ALIGN
    assert st.x[12] == 0x11223344


@pytest.mark.parametrize("rm,frm", [("rne", 0), ("rtz", 1), ("rdn", 2), ("rup", 3)])
def test_fdiv_one_third_all_rounding_modes(tmp_path, rm, frm):
    st = run(f"    li t0, 1\n    fcvt.s.w ft0, t0\n    li t0, 3\n    fcvt.s.w ft1, t0\n"
             f"    fdiv.s ft2, ft0, ft1, {rm}\n    fsrmi {frm}\n    fdiv.s ft3, ft0, ft1\n"
             f"    frflags a1\n", tmp_path)
    exact = Fraction(1, 3)
    lo = np.float32(1) / np.float32(3)  # RNE reference from numpy
    # 1/3 lies between two fp32 neighbours; RNE rounds up here, RTZ/RDN take the lower one.
    below = lo if Fraction(float(lo)) < exact else np.nextafter(lo, np.float32(0))
    above = np.nextafter(below, np.float32(1))
    want = {"rne": lo, "rtz": below, "rdn": below, "rup": above}[rm]
    assert st.f[2] == boxed(f32_bits(want))
    assert st.f[3] == st.f[2]  # dynamic rounding through frm gives the same
    assert st.x[11] == 1  # NX


def test_fdiv_special_cases_and_flags(tmp_path):
    st = run("    fmv.w.x ft0, zero\n    li t0, 1\n    fcvt.s.w ft1, t0\n"
             "    fdiv.s ft2, ft1, ft0\n    frflags a1\n    fsflags zero\n"
             "    fdiv.s ft3, ft0, ft0\n    frflags a2\n    csrr a3, fcsr\n", tmp_path)
    assert st.f[2] == boxed(0x7F80_0000)  # 1/0 = +inf
    assert st.x[11] == 0x08  # DZ
    assert st.f[3] == boxed(0x7FC0_0000)  # 0/0 = canonical NaN
    assert st.x[12] == 0x10  # NV
    assert st.x[13] == 0x10


def test_improperly_boxed_single_reads_as_canonical_nan(tmp_path):
    st = run("    li t0, 0x3f800000\n    fmv.w.x ft0, t0\n    fcvt.d.s ft1, ft0\n"
             "    fcvt.s.d ft2, ft1\n    fadd.s ft3, ft1, ft0\n", tmp_path)
    # ft1 holds the double 1.0, not NaN-boxed: as a single it is the canonical NaN.
    assert st.f[3] == boxed(0x7FC0_0000)


def test_assembler_error_carries_stderr(tmp_path):
    with pytest.raises(qo.ToolError, match=r"prog\.S:5: Error: unrecognized opcode"):
        run("    li a0, 1\n    bogus a0, a1\n", tmp_path)


def test_linker_error_carries_stderr(tmp_path):
    with pytest.raises(qo.ToolError, match=r"(?s)ld failed.*undefined reference to `nowhere'"):
        run("    la a0, nowhere\n", tmp_path)


def test_program_without_exit_syscall_is_reported(tmp_path):
    src = HEAD + "    li a0, 0\n    li a7, 94\n    ecall\n    li a7, 93\n    li a0, 1\n    ecall\n"
    # exit_group (94) ends the process at the first ecall, so a7 at the end is not 93.
    with pytest.raises(qo.ToolError, match="not the exit ecall"):
        qo.run_source(src, tmp_path)


def test_runaway_program_times_out_with_a_small_log(tmp_path):
    elf = qo.assemble_and_link(HEAD + "spin:\n    j spin\n" + EXIT, tmp_path)
    with pytest.raises(qo.ToolError, match="timed out"):
        qo.run_qemu(elf, timeout=1.0)
    log = tmp_path / "prog.qemu.log"
    assert not log.exists() or log.stat().st_size < 10_000  # dumps only before ecalls


def test_program_without_ecall_is_rejected(tmp_path):
    elf = qo.assemble_and_link(HEAD + "    li a0, 1\n", tmp_path)
    with pytest.raises(qo.ToolError, match="has no ecall"):
        qo.run_qemu(elf)


def test_crash_is_reported_with_qemu_stderr(tmp_path):
    with pytest.raises(qo.ToolError, match="ended abnormally"):
        run("    .word 0\n", tmp_path)  # illegal instruction


def test_parse_last_dump_takes_last_block_and_fcsr():
    def block(pc, a0, fcsr=None):
        xs = " ".join(f"x{i}/{qo.ABI_X[i]} {(a0 if i == 10 else 0):08x}" for i in range(32))
        fs = " ".join(f"f{i}/{qo.ABI_F[i]} {i:016x}" for i in range(32))
        extra = f" fcsr {fcsr:08x}\n" if fcsr is not None else ""
        return f" pc       {pc:08x}\n {xs}\n {fs}\n{extra}"

    pc, x, f, fcsr = qo.parse_last_dump(block(0x80000000, 1) + block(0x80000004, 2, 0x25))
    assert (pc, x[10], f[31], fcsr) == (0x80000004, 2, 31, 0x25)
    assert qo.parse_last_dump(block(0x80000000, 1))[3] is None
    with pytest.raises(qo.ToolError, match="missing x10"):
        qo.parse_last_dump(block(0x8, 1).replace("x10/a0", "xx/a0"))
    with pytest.raises(qo.ToolError, match="no register dump"):
        qo.parse_last_dump("nothing here\n")


def test_compare_states_names_registers_and_values():
    st = qo.OracleState(x=[0] * 32, f=[0] * 32, exit_code=0, fcsr=None, pc=0)
    x = [0] * 32
    f = [0] * 32
    assert qo.compare_states(st, x, f, 0) == []
    x[10] = 0xFFFF_FFFF
    f[3] = boxed(f32_bits(1.5))
    lines = qo.compare_states(st, x, f, 256 + 3)
    assert len(lines) == 3
    assert "x10" in lines[0] and "a0" in lines[0] and "0xffffffff" in lines[0] and "-1" in lines[0]
    assert "f3" in lines[1] and "ft3" in lines[1] and "1.5" in lines[1]
    assert "exit code" in lines[2]


# --- generator -------------------------------------------------------------------------------

def test_generator_is_deterministic_per_seed():
    assert progen.generate(7) == progen.generate(7)
    assert progen.generate(7) != progen.generate(8)


GEN_SEEDS = range(12)


@pytest.mark.parametrize("seed", GEN_SEEDS)
def test_generated_program_assembles_and_exits_zero(tmp_path, seed):
    st = qo.run_source(progen.generate(seed), tmp_path)
    assert st.exit_code == 0
    assert qo.text_instruction_count(tmp_path / "prog.elf") >= 100 + 95  # body + set-up


def test_generator_covers_rv32imafd(tmp_path):
    used: set[str] = set()
    for seed in range(25):
        elf = qo.assemble_and_link(progen.generate(seed), tmp_path, f"s{seed}")
        used |= qo.used_mnemonics(elf)
    missing = qo.RV32IMAFD_MNEMONICS - used
    assert not missing, f"generator never emits {sorted(missing)}"
    assert used <= qo.RV32IMAFD_MNEMONICS


@pytest.mark.parametrize("seed", [3, 4])
def test_generated_program_is_loader_independent(tmp_path, seed):
    # The final state must not depend on QEMU's initial sp (moved by a bigger environment).
    elf = qo.assemble_and_link(progen.generate(seed), tmp_path)
    first = qo.run_qemu(elf)
    moved = qo.run_qemu(elf, extra_env={"VEXPSIM_DIFFTEST_PAD": "y" * 5000})
    assert qo.compare_states(first, moved.x, moved.f) == []


def test_replay_writes_program_and_dumps(tmp_path, capsys):
    import replay

    rc = replay.main(["5", "--out", str(tmp_path)])
    assert (tmp_path / "prog.S").read_text() == progen.generate(5)
    qemu_lines = (tmp_path / "qemu.txt").read_text().splitlines()
    assert qemu_lines[0] == "exit_code 0"
    assert len(qemu_lines) == 1 + 64
    assert qemu_lines[1 + 17].split()[2] == "0x0000005d"  # a7 = 93 at the exit ecall
    diff = tmp_path / "diff.txt"
    assert rc == (1 if diff.exists() and diff.read_text() else 0)
    assert str(tmp_path / "prog.S") in capsys.readouterr().out


def test_replay_rejects_bad_arguments():
    import replay

    with pytest.raises(SystemExit):
        replay.main([])
    with pytest.raises(SystemExit):
        replay.main(["1", "--program", "x.S"])


def test_replay_reports_tool_errors(tmp_path, capsys):
    import replay

    bad = tmp_path / "bad.S"
    bad.write_text(HEAD + "    nonsense\n")
    assert replay.main(["--program", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "unrecognized opcode" in capsys.readouterr().err


@pytest.mark.parametrize("ci,outcome,status", [("true", "error", 1), ("", "skipped", 0)])
def test_missing_toolchain_fails_in_ci_and_skips_locally(tmp_path, ci, outcome, status):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PATH"] = str(tmp_path)  # no as/ld/qemu here
    if ci:
        env["CI"] = ci
    here = Path(__file__).parent
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rfs",
         f"{here / 'test_qemu_oracle.py'}::test_li_and_exit_code"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )
    assert f"1 {outcome}" in proc.stdout, proc.stdout + proc.stderr
    assert proc.returncode == status
    assert "RISC-V toolchain missing" in proc.stdout
    assert "apt-get install -y binutils-riscv64-unknown-elf qemu-user" in proc.stdout

"""Differential tests: the same RV32IMAFD source runs on QEMU (GNU as/ld, qemu-riscv32) and on
vexpsim's functional ISS; the final x and f registers and the exit code must match.

- directed programs: tests/difftest/programs/*.S (every instruction and its edge cases);
- random programs: VEXPSIM_DIFFTEST_N seeds (default 200) starting at VEXPSIM_DIFFTEST_SEED
  (default 0), from progen.generate.
On a mismatch the message names the seed or file, where the program was written, the replay
command and one line per differing register (hex, signed/float views)."""

from __future__ import annotations

import os
from pathlib import Path

import progen
import pytest
import qemu_oracle as qo
from vexpsim_side import layout_hints, run_vexpsim

pytestmark = [pytest.mark.qemu, pytest.mark.usefixtures("toolchain")]

PROGRAMS = sorted((Path(__file__).parent / "programs").glob("*.S"))
N_RANDOM = int(os.environ.get("VEXPSIM_DIFFTEST_N", "200"))
SEED0 = int(os.environ.get("VEXPSIM_DIFFTEST_SEED", "0"))


def check(functional, source: str, workdir: Path, what: str, replay: str) -> None:
    elf = qo.assemble_and_link(source, workdir)
    oracle = qo.run_qemu(elf)
    filename = str(workdir / "prog.S")
    where = f"program: {filename}\nreplay: {replay}\n"
    try:
        x, f, exit_code = run_vexpsim(functional, source, filename)
    except Exception as exc:  # QEMU ran it: any vexpsim error is a finding, report it readably
        pytest.fail(f"{what}: vexpsim failed: {type(exc).__name__}: {exc}\n{where}", pytrace=False)
    if exit_code is None:
        pytest.fail(f"{what}: vexpsim's hart did not exit\n{where}", pytrace=False)
    diffs = qo.compare_states(oracle, x, f, exit_code)
    if diffs:
        pytest.fail(
            f"{what}: vexpsim differs from QEMU in {len(diffs)} place(s)\n"
            + where
            + layout_hints(source, elf, filename)
            + "\n".join(diffs),
            pytrace=False,
        )


# Known vexpsim differences, one directed program each: xfail(strict) so the suite stays green
# and turns red (XPASS) once vexpsim is fixed; then delete the entry.
# Directed programs where vexpsim is known to differ from GNU as + QEMU (xfail, strict):
# none at present. The `li zero, IMM` expansion (li_zero.S) was the last one, fixed.
KNOWN_DIFFERENCES: dict[str, str] = {}


def _directed_params():
    for path in PROGRAMS:
        reason = KNOWN_DIFFERENCES.get(path.stem)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        yield pytest.param(path, id=path.stem, marks=marks)


@pytest.mark.parametrize("path", list(_directed_params()))
def test_directed_program(functional, tmp_path, path: Path):
    check(
        functional,
        path.read_text(),
        tmp_path,
        f"directed program {path.name}",
        f"python tests/difftest/replay.py --program {path}",
    )


@pytest.mark.parametrize("seed", range(SEED0, SEED0 + N_RANDOM))
def test_random_program(functional, tmp_path, seed: int):
    check(
        functional,
        progen.generate(seed),
        tmp_path,
        f"random program seed {seed}",
        f"python tests/difftest/replay.py {seed}",
    )


def test_there_are_directed_programs():
    assert len(PROGRAMS) >= 10


def test_directed_programs_cover_rv32imafd(tmp_path):
    used: set[str] = set()
    for i, path in enumerate(PROGRAMS):
        used |= qo.used_mnemonics(qo.assemble_and_link(path.read_text(), tmp_path, f"p{i}"))
    missing = qo.RV32IMAFD_MNEMONICS - used
    assert not missing, f"no directed program uses {sorted(missing)}"


@pytest.mark.parametrize("path", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_directed_program_is_valid_and_loader_independent(tmp_path, path: Path):
    # Independent of vexpsim: the program exits 0, and its final state does not depend on
    # where QEMU puts the stack (a bigger environment moves QEMU's initial sp; vexpsim's
    # loader differs again), so programs must set sp themselves.
    elf = qo.assemble_and_link(path.read_text(), tmp_path)
    first = qo.run_qemu(elf)
    assert first.exit_code == 0
    moved = qo.run_qemu(elf, extra_env={"VEXPSIM_DIFFTEST_PAD": "x" * 4000})
    assert qo.compare_states(first, moved.x, moved.f) == []


def test_layout_hints_point_at_the_first_expansion_difference(functional, tmp_path):
    # The ELF is built from a source with one more instruction than the one vexpsim sees.
    tail = "mark:\n    li a0, 0\n    li a7, 93\n    ecall\n    .data\nd0: .word 1\n"
    head = "    .text\n    .globl _start\n_start:\n    li sp, 0\n"
    elf = qo.assemble_and_link(head + "    fence\n" + tail, tmp_path)
    hints = layout_hints(head + tail, elf, "short.S")
    assert "mark: ELF 0x80000008  vexpsim 0x80000004" in hints
    assert "instruction count: GNU as 5, vexpsim 4" in hints
    first = "first difference at instruction 1 (0x80000004): GNU `fence iorw,iorw`, vexpsim `addi`"
    assert first in hints
    assert layout_hints(head + tail, qo.assemble_and_link(head + tail, tmp_path, "same"), "s") == ""


def test_known_differences_name_existing_programs():
    assert set(KNOWN_DIFFERENCES) <= {p.stem for p in PROGRAMS}

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

pytestmark = [pytest.mark.qemu, pytest.mark.usefixtures("toolchain")]

PROGRAMS = sorted((Path(__file__).parent / "programs").glob("*.S"))
N_RANDOM = int(os.environ.get("VEXPSIM_DIFFTEST_N", "200"))
SEED0 = int(os.environ.get("VEXPSIM_DIFFTEST_SEED", "0"))


def vexpsim_state(functional, source: str, filename: str):
    result = functional.run_source(source, filename=filename, harts=1)
    hart = result.harts[0]
    return list(hart.x), list(hart.f), hart.exit_code


def layout_hint(source: str, elf: Path, filename: str) -> str:
    """Where vexpsim's symbol addresses differ from the linked ELF's (a layout mismatch makes
    every `la` differ); empty when they agree or vexpsim does not expose symbols."""
    try:
        from vexpsim.asm import assemble

        program = assemble(source, filename=filename)
        theirs = dict(getattr(program, "symbols", {}) or {})
    except Exception:  # only a hint: the ISS run above already reported real errors
        return ""
    ours = qo.symbols(elf)
    diffs = []
    for name, addr in sorted(ours.items(), key=lambda kv: kv[1]):
        other = theirs.get(name)
        value = getattr(other, "value", getattr(other, "address", other))
        if isinstance(value, int) and value != addr:
            diffs.append(f"  {name}: ELF {addr:#010x}  vexpsim {value:#010x}")
    if not diffs:
        return ""
    return "symbol addresses differ (layout mismatch):\n" + "\n".join(diffs[:10]) + "\n"


def check(functional, source: str, workdir: Path, what: str, replay: str) -> None:
    elf = qo.assemble_and_link(source, workdir)
    oracle = qo.run_qemu(elf)
    filename = str(workdir / "prog.S")
    where = f"program: {filename}\nreplay: {replay}\n"
    try:
        x, f, exit_code = vexpsim_state(functional, source, filename)
    except Exception as exc:  # QEMU ran it: any vexpsim error is a finding, report it readably
        pytest.fail(f"{what}: vexpsim failed: {type(exc).__name__}: {exc}\n{where}", pytrace=False)
    if exit_code is None:
        pytest.fail(f"{what}: vexpsim's hart did not exit\n{where}", pytrace=False)
    diffs = qo.compare_states(oracle, x, f, exit_code)
    if diffs:
        pytest.fail(
            f"{what}: vexpsim differs from QEMU in {len(diffs)} place(s)\n"
            + where
            + layout_hint(source, elf, filename)
            + "\n".join(diffs),
            pytrace=False,
        )


@pytest.mark.parametrize("path", PROGRAMS, ids=[p.stem for p in PROGRAMS])
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

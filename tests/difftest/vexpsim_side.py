"""The vexpsim side of the differential tests: run a source on the functional ISS, and explain
layout differences (symbol addresses, instruction streams) against the GNU-linked ELF."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from types import ModuleType

import qemu_oracle as qo

FUNCTIONAL = "vexpsim.arch.functional"


def functional_module() -> ModuleType | None:
    """vexpsim.arch.functional, or None while it does not exist (an import error inside an
    existing module propagates: that is a bug to report, not a reason to skip)."""
    if importlib.util.find_spec(FUNCTIONAL) is None:
        return None
    return importlib.import_module(FUNCTIONAL)


def run_vexpsim(functional: ModuleType, source: str, filename: str):
    """(x, f, exit_code) of hart 0 after running `source` on one hart."""
    hart = functional.run_source(source, filename=filename, harts=1).harts[0]
    return list(hart.x), list(hart.f), hart.exit_code


def layout_hints(source: str, elf: Path, filename: str) -> str:
    """Best-effort explanation of address differences: symbols whose addresses differ and the
    first instruction where GNU as and vexpsim's assembler expand differently. Empty when
    nothing differs or vexpsim's Program does not expose what is needed."""
    try:
        from vexpsim.asm import assemble

        program = assemble(source, filename=filename)
    except Exception:  # only a hint: the ISS run already reported real errors
        return ""
    out = []
    theirs = dict(getattr(program, "symbols", {}) or {})
    diffs = []
    for name, addr in sorted(qo.symbols(elf).items(), key=lambda kv: kv[1]):
        value = theirs.get(name)
        if isinstance(value, int) and value != addr:
            diffs.append(f"  {name}: ELF {addr:#010x}  vexpsim {value:#010x}")
    if diffs:
        out.append("symbol addresses differ (layout mismatch):\n" + "\n".join(diffs[:10]))
    instrs = list(getattr(program, "instructions", []) or [])
    gnu = qo.disassemble(elf)
    if instrs and len(instrs) != len(gnu):
        line = f"instruction count: GNU as {len(gnu)}, vexpsim {len(instrs)}"
        for i, ((addr, mnem, text), ins) in enumerate(zip(gnu, instrs, strict=False)):
            if getattr(ins, "mnemonic", mnem) != mnem:
                loc = getattr(ins, "loc", "")
                line += (
                    f"; first difference at instruction {i} ({addr:#010x}): GNU `{text}`,"
                    f" vexpsim `{ins.mnemonic}` from {loc}"
                )
                break
        out.append(line)
    return "\n".join(out) + ("\n" if out else "")

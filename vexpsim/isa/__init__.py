"""The instruction set as data: loads the tables in the top-level `isa/` folder.

Each `isa/<extension>.toml` holds `[[instr]]` rows (see the header of any table):
mnemonic, operand format, functional unit, latency key, energy key, semantics name (+ args),
and the 32-bit encoding as a match/mask pair. `zicsr.toml` also maps CSR names to addresses.

Operand formats are comma-separated operand kinds:
  xd xs1 xs2        integer registers (destination / sources)
  fd fs1 fs2 fs3    floating-point registers
  imm12             signed 12-bit immediate        uimm20  20-bit upper immediate
  shamt             shift amount 0..31             uimm3/4/5/12  unsigned immediates
  mem               `offset(xs1)` address operand  csr     CSR name or number
  jtarget/btarget   jump / branch target (label or expression), stored as an absolute address
  rm                optional rounding mode (rne rtz rdn rup rmm dyn; default dyn)
  fence             optional fence sets (ignored: memory is sequentially consistent here)

`load_isa()` validates every row and binds its semantics function
(`vexpsim.isa.semantics.SEMANTICS`); a row without semantics or a semantics function without
a row is an error at start-up.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["ISA", "InstrDef", "OPERAND_KINDS", "ISA_DIR", "load_isa", "IsaError"]

ISA_DIR = Path(__file__).resolve().parents[2] / "isa"

OPERAND_KINDS = frozenset({
    "xd", "xs1", "xs2", "fd", "fs1", "fs2", "fs3", "imm12", "uimm20", "shamt", "uimm3",
    "uimm4", "uimm5", "uimm12", "mem", "csr", "jtarget", "btarget", "rm", "fence",
})
_ROW_KEYS = {"mnemonic", "operands", "unit", "latency", "energy", "semantics", "args", "match",
             "mask", "note"}
_REQUIRED = ("mnemonic", "operands", "unit", "latency", "energy", "semantics")


class IsaError(RuntimeError):
    """An inconsistent ISA table: a bug in the shipped data, reported at start-up."""


@dataclass(frozen=True)
class InstrDef:
    """One row of an ISA table."""

    mnemonic: str
    operands: tuple[str, ...]
    unit: str
    latency: str
    energy: str
    semantics: str
    args: dict[str, Any]
    extension: str
    match: int | None = None
    mask: int | None = None
    builder: Callable[..., Any] | None = field(default=None, compare=False, repr=False)

    @property
    def is_fp(self) -> bool:
        """Offloaded to the FP subsystem (uses FP registers or is FP-queue bound)."""
        return any(k.startswith("f") and k != "fence" for k in self.operands) or \
            self.extension == "xfrep"


@dataclass
class ISA:
    """All instruction rows by mnemonic, plus the CSR address map."""

    instructions: dict[str, InstrDef]
    csrs: dict[str, int]

    def __getitem__(self, mnemonic: str) -> InstrDef:
        return self.instructions[mnemonic]

    def __contains__(self, mnemonic: str) -> bool:
        return mnemonic in self.instructions

    def extensions(self) -> list[str]:
        return sorted({d.extension for d in self.instructions.values()})


def _parse_rows(path: Path, data: dict, problems: list[str]) -> list[InstrDef]:
    rows = []
    for i, r in enumerate(data.get("instr", [])):
        where = f"{path.name}: instr[{i}]"
        missing = [k for k in _REQUIRED if k not in r]
        unknown = sorted(set(r) - _ROW_KEYS)
        if missing or unknown:
            problems.append(f"{where}: missing {missing} unknown {unknown}")
            continue
        ops = tuple(o.strip() for o in r["operands"].split(",") if o.strip())
        bad = [o for o in ops if o not in OPERAND_KINDS]
        if bad:
            problems.append(f"{where} ({r['mnemonic']}): unknown operand kinds {bad}")
        if ("match" in r) != ("mask" in r):
            problems.append(f"{where} ({r['mnemonic']}): match and mask go together")
        rows.append(InstrDef(r["mnemonic"], ops, r["unit"], r["latency"], r["energy"],
                             r["semantics"], dict(r.get("args", {})), path.stem,
                             r.get("match"), r.get("mask")))
    return rows


def load_isa(directory: Path | None = None, semantics: dict[str, Callable] | None = None) -> ISA:
    """Load and validate every table; bind semantics. Raises IsaError listing all problems."""
    if semantics is None:
        from .semantics import SEMANTICS as semantics  # noqa: N811
    directory = directory or ISA_DIR
    problems: list[str] = []
    instrs: dict[str, InstrDef] = {}
    csrs: dict[str, int] = {}
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise IsaError(f"no ISA tables in {directory}")
    for path in files:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        for name, addr in data.get("csr", {}).items():
            if name in csrs:
                problems.append(f"{path.name}: CSR {name} defined twice")
            csrs[name] = addr
        for d in _parse_rows(path, data, problems):
            if d.mnemonic in instrs:
                problems.append(f"{path.name}: {d.mnemonic} also in {instrs[d.mnemonic].extension}")
                continue
            fn = semantics.get(d.semantics)
            if fn is None:
                problems.append(f"{path.name}: {d.mnemonic}: no semantics function {d.semantics!r}")
                continue
            instrs[d.mnemonic] = InstrDef(**{**d.__dict__, "builder": fn})
    used = {d.semantics for d in instrs.values()}
    for name in sorted(set(semantics) - used):
        problems.append(f"semantics function {name!r} has no ISA row")
    if problems:
        raise IsaError("ISA tables are inconsistent:\n  " + "\n  ".join(problems))
    return ISA(instrs, csrs)


@lru_cache(maxsize=1)
def default_isa() -> ISA:
    """The shipped tables (loaded once per process)."""
    return load_isa()

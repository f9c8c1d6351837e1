"""The assembler's output: decoded instructions, data segments, symbols, entry point."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["SourceLoc", "Instruction", "Program", "TEXT_BASE", "TCDM_BASE", "SECTION_ALIGN"]

# Memory map (design.md "The DSL"; snitch_cluster.md §1 'Address map': cluster/TCDM base
# 0x1000_0000, DRAM 0x8000_0000). The one place the assembler takes section bases from.
TEXT_BASE = 0x8000_0000
TCDM_BASE = 0x1000_0000
SECTION_ALIGN = 64  # .data/.rodata/.bss start on a 64 B boundary after the text (a cache line)


@dataclass(frozen=True)
class SourceLoc:
    file: str
    line: int
    col: int
    text: str
    context: str = ""  # e.g. "in macro foo from prog.S:12"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def render(self, message: str) -> str:
        """`file:line:col: message`, then the source line and a caret under the column."""
        ctx = f" ({self.context})" if self.context else ""
        caret = " " * (max(self.col, 1) - 1) + "^"
        return f"{self}: {message}{ctx}\n    {self.text.rstrip()}\n    {caret}"


@dataclass
class Instruction:
    """One decoded machine instruction. Fields not used by the format are None."""

    mnemonic: str
    defn: Any  # vexpsim.isa.InstrDef
    pc: int
    loc: SourceLoc
    rd: int | None = None
    rs1: int | None = None
    rs2: int | None = None
    rs3: int | None = None
    imm: int | None = None
    rm: int | None = None  # None: dynamic (frm)
    csr: int | None = None
    extra: tuple[int, ...] = ()
    source_mnemonic: str = ""  # the pseudo-instruction it came from, if any

    def __str__(self) -> str:
        parts = [f"{k}={v}" for k in ("rd", "rs1", "rs2", "rs3", "imm", "csr", "rm")
                 if (v := getattr(self, k)) is not None]
        return f"{self.pc:#010x} {self.mnemonic} {' '.join(parts)}"


@dataclass
class Program:
    """An assembled program. `instructions` is in address order; `segments` maps a start
    address to its bytes (the text holds the machine words; the ISS executes the decoded
    instructions, so stores into the text do not change the program)."""

    instructions: list[Instruction]
    segments: dict[int, bytes]
    symbols: dict[str, int]
    entry: int
    text_base: int = TEXT_BASE
    text_size: int = 0
    filename: str = "<string>"
    sections: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (base, size)

    def instruction_at(self, pc: int) -> Instruction | None:
        for ins in self.instructions:
            if ins.pc == pc:
                return ins
        return None

    def store(self, symbol: str, data: bytes) -> None:
        """Write `data` into the program's memory image at `symbol` (e.g. kernel inputs), before
        it runs. The bytes must lie inside one data segment."""
        if symbol not in self.symbols:
            raise KeyError(f"{self.filename}: no symbol {symbol!r}")
        addr = self.symbols[symbol]
        for start, seg in self.segments.items():
            if start <= addr and addr + len(data) <= start + len(seg):
                buf = bytearray(seg)
                buf[addr - start:addr - start + len(data)] = data
                self.segments[start] = bytes(buf)
                return
        raise ValueError(f"{self.filename}: {len(data)} bytes at {symbol} ({addr:#x}) do not fit "
                         "in one segment")

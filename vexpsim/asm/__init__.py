"""The assembler of the kernel DSL (GNU as subset): `assemble(source) -> Program`."""

from .assembler import F_REGS, ROUNDING, X_REGS, assemble
from .program import TCDM_BASE, TEXT_BASE, Instruction, Program, SourceLoc

__all__ = ["assemble", "Program", "Instruction", "SourceLoc", "TEXT_BASE", "TCDM_BASE",
           "X_REGS", "F_REGS", "ROUNDING"]

"""32-bit machine encoding of decoded instructions (for traces, disassembly and the GNU as
cross-check): the row's match bits plus the operand fields at their RISC-V positions.

Field placement by operand kind (RISC-V unprivileged spec, "Base Instruction Formats";
Snitch custom formats per riscv_instr.sv): rd [11:7], rs1 [19:15], rs2 [24:20], rs3 [31:27],
rm [14:12] (dyn = 7), I-immediate / csr / uimm12 [31:20], S and B split immediates, U and J
immediates, shamt [24:20]. CSR-immediates go to [19:15]; Xdma immediates to [24:20];
frep: max_inst = n-1 [31:20], stagger_max [14:12], stagger_mask [11:8].
"""

from __future__ import annotations

from typing import Any

__all__ = ["encode"]


def _b(v: int, hi: int, lo: int) -> int:
    return (v >> lo) & ((1 << (hi - lo + 1)) - 1)


def encode(ins: Any) -> int:
    """The 32-bit encoding of a decoded Instruction (raises ValueError without match/mask)."""
    d = ins.defn
    if d.match is None:
        raise ValueError(f"{ins.mnemonic} has no encoding in the ISA tables")
    w = d.match
    kinds = d.operands
    if ins.rd is not None and any(k in kinds for k in ("xd", "fd")):
        w |= ins.rd << 7
    if ins.rs1 is not None and any(k in kinds for k in ("xs1", "fs1", "mem")):
        w |= ins.rs1 << 15
    if ins.rs2 is not None and any(k in kinds for k in ("xs2", "fs2")):
        w |= ins.rs2 << 20
    if ins.rs3 is not None and "fs3" in kinds:
        w |= ins.rs3 << 27
    if "rm" in kinds:
        w = (w & ~(7 << 12)) | ((7 if ins.rm is None else ins.rm) << 12)
    imm = ins.imm
    if d.semantics == "frep":
        w |= ((imm - 1) & 0xFFF) << 20 | ins.extra[0] << 12 | ins.extra[1] << 8
    elif d.semantics in ("store", "fp_store"):
        imm &= 0xFFF
        w |= _b(imm, 11, 5) << 25 | _b(imm, 4, 0) << 7
    elif "btarget" in kinds:
        off = (imm - ins.pc) & 0x1FFF
        w |= _b(off, 12, 12) << 31 | _b(off, 10, 5) << 25 | _b(off, 4, 1) << 8 | \
            _b(off, 11, 11) << 7
    elif "jtarget" in kinds:
        off = (imm - ins.pc) & 0x1FFFFF
        w |= _b(off, 20, 20) << 31 | _b(off, 10, 1) << 21 | _b(off, 11, 11) << 20 | \
            _b(off, 19, 12) << 12
    elif "uimm20" in kinds:
        w |= (imm & 0xFFFFF) << 12
    elif "csr" in kinds:
        w |= ins.csr << 20
        if "uimm5" in kinds:
            w |= imm << 15
    elif "uimm5" in kinds:  # Xdma immediates sit in the rs2 slot
        w |= imm << 20
    elif "shamt" in kinds:
        w |= imm << 20
    elif imm is not None and ("imm12" in kinds or "mem" in kinds or "uimm12" in kinds):
        w |= (imm & 0xFFF) << 20
    if ins.mnemonic == "fence":  # pred [27:24], succ [23:20]; bare `fence` is iorw, iorw
        pred, succ = ins.extra if len(ins.extra) == 2 else (15, 15)
        w |= pred << 24 | succ << 20
    return w & 0xFFFFFFFF

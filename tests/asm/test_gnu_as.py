"""Cross-check against GNU as: every RV32IMAFD + Zicsr row (random operands) and the
pseudo-instructions assemble to the same machine words as `riscv64-unknown-elf-as
-march=rv32imafd` followed by a link at the text base (skipped when binutils is absent)."""

from __future__ import annotations

import random
import shutil
import struct
import subprocess

import pytest

from vexpsim.asm import TEXT_BASE, assemble
from vexpsim.isa import default_isa
from vexpsim.isa.encoding import encode

AS = shutil.which("riscv64-unknown-elf-as")
LD = shutil.which("riscv64-unknown-elf-ld")
OBJCOPY = shutil.which("riscv64-unknown-elf-objcopy")
pytestmark = pytest.mark.skipif(not (AS and LD and OBJCOPY), reason="no RISC-V binutils")

ISA = default_isa()
EXTS = ("rv32i", "rv32m", "rv32f", "rv32d", "zicsr")
XR = ["zero", "ra", "sp", "a0", "a5", "s11", "t6", "x17", "fp"]
FR = ["f0", "ft1", "fa0", "fs11", "f31", "ft11", "fs0"]


def gnu_words(src: str, tmp_path) -> list[int]:
    s, o, e, b = (tmp_path / n for n in ("p.S", "p.o", "p.elf", "p.bin"))
    s.write_text(src)
    subprocess.run([AS, "-march=rv32imafd_zicsr_zifencei", "-mabi=ilp32", "-mno-relax",
                    "-o", str(o), str(s)], check=True, capture_output=True)
    subprocess.run([LD, "-m", "elf32lriscv", "--no-relax", "-Ttext", hex(TEXT_BASE), "-e",
                    "_start", "-o", str(e), str(o)], check=True, capture_output=True)
    subprocess.run([OBJCOPY, "-O", "binary", "-j", ".text", str(e), str(b)], check=True,
                   capture_output=True)
    data = b.read_bytes()
    return list(struct.unpack(f"<{len(data) // 4}I", data))


def operand_text(kind: str, rng: random.Random, labels: list[str]) -> str | None:
    return {
        "xd": lambda: rng.choice(XR), "xs1": lambda: rng.choice(XR),
        "xs2": lambda: rng.choice(XR), "fd": lambda: rng.choice(FR),
        "fs1": lambda: rng.choice(FR), "fs2": lambda: rng.choice(FR),
        "fs3": lambda: rng.choice(FR), "imm12": lambda: str(rng.randint(-2048, 2047)),
        "uimm20": lambda: str(rng.randint(0, 0xFFFFF)), "shamt": lambda: str(rng.randint(0, 31)),
        "uimm5": lambda: str(rng.randint(0, 31)),
        "mem": lambda: f"{rng.randint(-2048, 2047)}({rng.choice(XR)})",
        "csr": lambda: rng.choice(["fflags", "frm", "fcsr", "mscratch", "0x7c0", "mhartid"]),
        "jtarget": lambda: rng.choice(labels), "btarget": lambda: rng.choice(labels),
        "rm": lambda: rng.choice(["rne", "rtz", "rdn", "rup", "rmm", "dyn"]),
        "fence": lambda: rng.choice(["rw", "iorw", "o", "ir"]),
    }[kind]()


def test_every_standard_row_encodes_like_gnu_as(tmp_path):
    rng = random.Random(1)
    lines = ["_start:", "L0: nop"]
    labels = ["L0", "L1", "_start"]
    for d in sorted(ISA.instructions.values(), key=lambda d: d.mnemonic):
        if d.extension not in EXTS:
            continue
        for _ in range(3):
            ops = [operand_text(k, rng, labels) for k in d.operands]
            if d.mnemonic == "fence" and rng.random() < 0.5:
                ops = []
            lines.append(f"  {d.mnemonic} {', '.join(ops)}")
    lines.append("L1: nop")
    src = "\n".join(lines) + "\n"
    prog = assemble(src)
    ours = [encode(i) for i in prog.instructions]
    theirs = gnu_words(src, tmp_path)
    assert len(ours) == len(theirs)
    bad = [(i.loc.text.strip(), hex(a), hex(b))
           for i, a, b in zip(prog.instructions, ours, theirs, strict=True) if a != b]
    assert not bad


def test_pseudo_instructions_expand_like_gnu_as(tmp_path):
    src = """
    .equ BIG, 0x12345678
    _start:
        li a0, 5
        li a1, -2048
        li a2, 2048
        li a3, BIG
        li a4, 0x80000000
        li a5, -1
        li a6, 0x7ffff800
        mv a0, a1
        not a0, a1
        neg a0, a1
        seqz a0, a1
        snez a0, a1
        sltz a0, a1
        sgtz a0, a1
        beqz a0, _start
        bnez a0, _start
        blez a0, _start
        bgez a0, _start
        bltz a0, _start
        bgtz a0, _start
        bgt a0, a1, _start
        ble a0, a1, _start
        bgtu a0, a1, _start
        bleu a0, a1, _start
        j _start
        jal _start
        jr a0
        jalr a0
        ret
        call _start
        tail _start
        la t0, _start
        lla t1, target
        csrr a0, mhartid
        csrw mscratch, a1
        csrs mscratch, a1
        csrc mscratch, a1
        csrwi frm, 2
        csrsi fflags, 1
        csrci fflags, 1
        frcsr a0
        fscsr a1
        fscsr a0, a1
        frrm a0
        fsrm a1
        frflags a0
        fsflags a1
        fsrmi 3
        fsflagsi 1
        rdcycle a0
        rdinstret a1
        fmv.s fa0, fa1
        fabs.s fa0, fa1
        fneg.s fa0, fa1
        fmv.d fa0, fa1
        fabs.d fa0, fa1
        fneg.d fa0, fa1
        fmv.x.s a0, fa1
        fmv.s.x fa0, a1
        nop
        lw a0, (sp)
    1:  addi a0, a0, %lo(BIG)
        lui a0, %hi(BIG)
        j 1b
        fence
    target:
        nop
    """
    ours = [encode(i) for i in assemble(src).instructions]
    theirs = gnu_words(src, tmp_path)
    assert [hex(w) for w in ours] == [hex(w) for w in theirs]


def test_macros_repetition_and_symbols_like_gnu_as(tmp_path):
    src = """
    .option norvc
    .equ STRIDE, 8
    .set OFF, 0
    .macro load_add dst src off
        lw \\dst, \\off(\\src)
        add a0, a0, \\dst
    .endm
    .macro step reg, n=3
        addi \\reg, \\reg, \\n
    .endm
    .globl _start
    _start:
    .rept 3
        load_add t0, sp, OFF
        .set OFF, OFF + STRIDE
    .endr
    .irp r, t1, t2, t3
        step \\r
        step \\r, -7
    .endr
    .Lloop:
        addi a1, a1, -1
        bnez a1, .Lloop
    1:  lui a2, %hi(BIG)
        lw a3, %lo(BIG)(a2)
        sw a3, %lo(BIG)(a2)
        beq a0, a1, 1b
        bne a0, a1, 1f
    1:  addi a4, zero, (1 << 11) - 1
    .if STRIDE > 4
        xori a5, a5, 0x7ff & ~0x0f0
    .else
        nop
    .endif
    .equ BIG, 0x12345ABC
    """
    ours = [encode(i) for i in assemble(src).instructions]
    theirs = gnu_words(src, tmp_path)
    assert [hex(w) for w in ours] == [hex(w) for w in theirs]


def test_compiler_output_forms_like_gnu_as(tmp_path):
    """Forms GCC/Clang emit for libm code (found assembling newlib's expf): swapped FP compares,
    zext.b, register-register mnemonics with an immediate, symbol loads/stores through a
    temporary, small-data and marker sections."""
    src = """
        .text
    _start:
        fgt.s a0, fa0, fa1
        fge.s a1, ft2, fs3
        fgt.d a2, fa0, fa1
        fge.d a3, f31, f0
        zext.b a4, a5
        add a0, a0, 4
        and a1, a2, 255
        or a1, a2, -1
        xor a1, a2, 7
        slt a1, a2, -5
        sltu a1, a2, 9
        sll a0, a0, 3
        srl a0, a0, 31
        sra a0, a0, 1
        add a0, a0, a1
        flw fa0, target, t0
        fld fa1, target, t1
        fsw fa0, target, t2
        sw a0, target, t3
    target:
        nop
        .section .note.GNU-stack,"",@progbits
    """
    ours = [encode(i) for i in assemble(src).instructions]
    theirs = gnu_words(src, tmp_path)
    assert [hex(w) for w in ours] == [hex(w) for w in theirs]


def test_small_data_sections_and_marker_sections():
    prog = assemble("""
        .section .srodata.cst4,"aM",@progbits,4
    c1: .word 0x3f800000
        .section .sbss.x,"aw",@nobits
    z:  .zero 4
        .text
        flw fa0, c1, t0
        .section .note.GNU-stack,"",@progbits
    """)
    assert len(prog.instructions) == 2
    with pytest.raises(Exception, match=r":2:\d+: nothing may be placed in a marker section"):
        assemble('.section .note.GNU-stack,"",@progbits\n    .word 1\n')

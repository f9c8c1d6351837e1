"""Assembler: directives, symbols, expressions, macros, pseudo-instructions, errors."""

from __future__ import annotations

import struct

import pytest

from vexpsim.asm import TCDM_BASE, TEXT_BASE, assemble
from vexpsim.errors import UserError


def asm(src: str, **kw):
    return assemble(src, filename="a.S", **kw)


def ops(p, i=0):
    ins = p.instructions[i]
    return ins.mnemonic, ins.rd, ins.rs1, ins.rs2, ins.imm


def errors(src: str, **kw) -> list[str]:
    with pytest.raises(UserError) as e:
        asm(src, **kw)
    return e.value.problems


# ---- layout and data --------------------------------------------------------------------------

def test_sections_labels_and_entry():
    p = asm("""
        .text
        .globl _start
    _start: nop
    here:   nop
        .data
    d0: .word 1, 2
        .section .rodata
    r0: .byte 3
        .bss
    b0: .zero 8
        .section .tcdm, "aw"
    t0: .half 0x1234
    """)
    s = p.symbols
    assert p.entry == s["_start"] == TEXT_BASE and s["here"] == TEXT_BASE + 4
    assert s["d0"] == TEXT_BASE + 64  # first 64-byte boundary after the text
    assert s["r0"] == s["d0"] + 64 and s["b0"] == s["r0"] + 64
    assert s["t0"] == TCDM_BASE
    assert p.segments[s["d0"]] == struct.pack("<II", 1, 2)
    assert p.segments[TCDM_BASE] == b"\x34\x12"


def test_data_directives_and_alignment():
    p = asm("""
    _start: nop
    .data
    a: .byte 1, -1, 'A'
       .balign 4
    b: .half -2
       .align 3
    c: .dword 0x1122334455667788
       .float 1.5, -0.0
       .double 0.1
       .ascii "hi\\n"
       .asciz "ok"
       .string "z"
       .space 3, 0xaa
       .p2align 2
    e: .4byte e
    """)
    s = p.symbols
    raw = p.segments[s["a"]]
    off = lambda sym: s[sym] - s["a"]  # noqa: E731
    assert raw[:3] == bytes([1, 0xFF, 0x41])
    assert off("b") == 4 and raw[4:6] == struct.pack("<h", -2)
    assert off("c") == 8 and raw[8:16] == struct.pack("<Q", 0x1122334455667788)
    assert raw[16:24] == struct.pack("<ff", 1.5, -0.0)
    assert raw[24:32] == struct.pack("<d", 0.1)
    assert raw[32:35] == b"hi\n" and raw[35:38] == b"ok\0" and raw[38:40] == b"z\0"
    assert raw[40:43] == b"\xaa\xaa\xaa"
    assert off("e") == 44 and raw[44:48] == struct.pack("<I", s["e"])


def test_float_directive_rounds_once_to_fp32():
    p = asm("_start: nop\n.data\nx: .float 0.1\n")
    assert p.segments[p.symbols["x"]] == struct.pack("<f", 0.1)


# ---- symbols and expressions --------------------------------------------------------------

def test_equ_set_defines_and_expression_operators():
    p = asm("""
    .equ A, 3
    .set B, A * 4 + 1          # 13
    C = (B << 2) | 1            # 53
    _start:
        addi a0, zero, C
        addi a1, zero, N / 2
        addi a2, zero, -B % 5
        addi a3, zero, 010 + 0b11 + 'a'
        addi a4, zero, (A > 2) + (A == 4)
        addi a5, zero, ~0 ^ 0xf & 0xff
    """, defines={"N": 256})
    assert [ins.imm for ins in p.instructions] == [53, 128, -3, 8 + 3 + 97, -1, ~0 ^ 0xF]


def test_set_in_rept_counts_like_gnu_as():
    p = asm("""
    .set i, 0
    _start:
    .rept 4
        addi a0, a0, i
        .set i, i + 8
    .endr
    """)
    assert [ins.imm for ins in p.instructions] == [0, 8, 16, 24]


def test_hi_lo_and_pcrel():
    p = asm("""
    _start:
        lui a0, %hi(value)
        addi a0, a0, %lo(value)
    1:  auipc a1, %pcrel_hi(value)
        addi a1, a1, %pcrel_lo(1b)
    .data
    .zero 0x7f0
    value: .word 0
    """)
    v = p.symbols["value"]
    lui, addi, auipc, addi2 = p.instructions
    assert ((lui.imm << 12) + addi.imm) & 0xFFFFFFFF == v
    assert (auipc.pc + (auipc.imm << 12) + addi2.imm) & 0xFFFFFFFF == v


def test_local_numeric_labels_forward_and_backward():
    p = asm("""
    _start:
    1:  j 1f
    1:  j 1b
        j 1b
    1:  nop
    """)
    targets = [ins.imm for ins in p.instructions[:3]]
    assert targets == [TEXT_BASE + 4, TEXT_BASE + 4, TEXT_BASE + 4]  # `1: j 1b` is itself


def test_forward_reference_in_li_and_equ_of_a_label():
    p = asm("""
    .equ ALIAS, later + 4
    _start:
        li a0, LATER_CONST
        li a1, ALIAS
    later: nop
    .equ LATER_CONST, 5
    """)
    # a forward constant gets the two-instruction expansion (size fixed in pass 1)
    mn = [i.mnemonic for i in p.instructions]
    assert mn == ["lui", "addi", "lui", "addi", "addi"]
    assert p.instructions[1].imm == 5 and p.instructions[0].imm == 0
    v = (p.instructions[2].imm << 12) + p.instructions[3].imm
    assert v == p.symbols["later"] + 4


# ---- macros, repetition, conditionals -------------------------------------------------------

def test_macro_with_arguments_defaults_and_unique_labels():
    p = asm("""
    .macro addk rd, rs, k=7
        addi \\rd, \\rs, \\k
    .endm
    .macro loop n
    L\\@: addi t0, t0, \\n
        bnez t0, L\\@
    .endm
    _start:
        addk a0, a1
        addk a2, a3, 9
        loop 1
        loop 2
    """)
    assert ops(p, 0) == ("addi", 10, 11, None, 7)
    assert ops(p, 1) == ("addi", 12, 13, None, 9)
    assert p.instructions[3].imm == p.instructions[2].pc
    assert p.instructions[5].imm == p.instructions[4].pc


def test_irp_and_conditionals():
    p = asm("""
    .irp r, a0, a1, a2
        li \\r, 1
    .endr
    .if N > 2
        li t0, 1
    .elseif N == 2
        li t0, 2
    .else
        li t0, 3
    .endif
    .ifdef N
        li t1, 1
    .endif
    .ifndef M
        li t2, 1
    .endif
    .if 0
      .if 1
        li t3, 1
      .endif
    .else
        li t4, 1
    .endif
    _start: nop
    """, defines={"N": 2})
    rds = [i.rd for i in p.instructions[:-1]]
    assert rds == [10, 11, 12, 5, 6, 7, 29]
    assert p.instructions[3].imm == 2


# ---- pseudo-instructions and registers --------------------------------------------------------

@pytest.mark.parametrize("value,expect", [
    (5, [("addi", 5)]), (-2048, [("addi", -2048)]), (2048, [("lui", 1), ("addi", -2048)]),
    (0x12345000, [("lui", 0x12345)]), (0x12345678, [("lui", 0x12345), ("addi", 0x678)]),
    (-1, [("addi", -1)]), (0xFFFFFFFF, [("addi", -1)]), (0x80000000, [("lui", 0x80000)]),
    (0x7FFFFFFF, [("lui", 0x80000), ("addi", -1)]),
])
def test_li_expansion_matches_gnu_as(value, expect):
    p = asm(f"_start: li a0, {value}")
    assert [(i.mnemonic, i.imm) for i in p.instructions] == expect


@pytest.mark.parametrize("src,expect", [
    ("mv a0, a1", ("addi", 10, 11, None, 0)),
    ("not a0, a1", ("xori", 10, 11, None, -1)),
    ("neg a0, a1", ("sub", 10, 0, 11, None)),
    ("seqz a0, a1", ("sltiu", 10, 11, None, 1)),
    ("snez a0, a1", ("sltu", 10, 0, 11, None)),
    ("sltz a0, a1", ("slt", 10, 11, 0, None)),
    ("sgtz a0, a1", ("slt", 10, 0, 11, None)),
    ("jr t0", ("jalr", 0, 5, None, 0)),
    ("jalr t0", ("jalr", 1, 5, None, 0)),
    ("jalr a0, 8(t0)", ("jalr", 10, 5, None, 8)),
    ("ret", ("jalr", 0, 1, None, 0)),
    ("nop", ("addi", 0, 0, None, 0)),
    ("csrr a0, mhartid", ("csrrs", 10, 0, None, None)),
    ("csrw mscratch, a1", ("csrrw", 0, 11, None, None)),
    ("csrsi ssr, 1", ("csrrsi", 0, None, None, 1)),
    ("fmv.s fa0, fa1", ("fsgnj.s", 10, 11, 11, None)),
    ("fabs.d fa0, fa1", ("fsgnjx.d", 10, 11, 11, None)),
    ("fneg.h fa0, fa1", ("fsgnjn.h", 10, 11, 11, None)),
    ("fmv.x.s a0, fa1", ("fmv.x.w", 10, 11, None, None)),
    ("frflags a0", ("csrrs", 10, None, 0, None) if False else ("csrrs", 10, 0, None, None)),
    ("fsrmi 2", ("csrrwi", 0, None, None, 2)),
    ("lw a0, (sp)", ("lw", 10, 2, None, 0)),
    ("add s0, fp, x31", ("add", 8, 8, 31, None)),
])
def test_pseudo_instructions_and_register_names(src, expect):
    p = asm(f"_start: {src}")
    assert ops(p) == expect


def test_branch_and_call_pseudos():
    p = asm("""
    _start:
        beqz a0, t
        bnez a0, t
        blez a0, t
        bgez a0, t
        bltz a0, t
        bgtz a0, t
        bgt a0, a1, t
        ble a0, a1, t
        bgtu a0, a1, t
        bleu a0, a1, t
        j t
        call t
        tail t
    t:  ret
    """)
    got = [(i.mnemonic, i.rs1, i.rs2) for i in p.instructions[:10]]
    assert got == [("beq", 10, 0), ("bne", 10, 0), ("bge", 0, 10), ("bge", 10, 0),
                   ("blt", 10, 0), ("blt", 0, 10), ("blt", 11, 10), ("bge", 11, 10),
                   ("bltu", 11, 10), ("bgeu", 11, 10)]
    call = p.instructions[11:13]
    assert [i.mnemonic for i in call] == ["auipc", "jalr"] and call[1].rd == 1
    assert call[0].pc + (call[0].imm << 12) + call[1].imm == p.symbols["t"]
    tail = p.instructions[13:15]
    assert tail[1].rd == 0 and tail[0].rd == 6


def test_load_from_symbol_pseudo():
    p = asm("_start: lw a0, v\n.data\nv: .word 1")
    a, lw = p.instructions
    assert a.mnemonic == "auipc" and lw.mnemonic == "lw" and lw.rs1 == 10
    assert a.pc + (a.imm << 12) + lw.imm == p.symbols["v"]


def test_rounding_mode_operand_and_fp_operands():
    p = asm("_start: fadd.s fa0, fa1, fa2, rtz\n fmadd.d f1, f2, f3, f4\n fcvt.w.s a0, ft0, rmm")
    assert p.instructions[0].rm == 1 and p.instructions[1].rm is None
    assert p.instructions[1].rs3 == 4 and p.instructions[2].rm == 4


def test_comments_and_statement_separators():
    p = asm("_start: addi a0, a0, 1 # one\n addi a0, a0, 2 // two\n"
            " /* block\n comment */ addi a0, a0, 3; addi a0, a0, 4\n")
    assert [i.imm for i in p.instructions] == [1, 2, 3, 4]
    assert p.instructions[2].loc.line == 4


def test_snitch_mnemonics_parse():
    p = asm("""
    _start:
        frep.o t0, 8, 3, 0b1001
        scfgwi a0, 2<<5 | 31
        dmcpyi a0, a1, 2
        vfmac.h ft3, ft1, ft0
        vfcpka.s.s fa0, fa1, fa2
        vfexp.ah ft3, ft3
    """)
    f = p.instructions[0]
    assert (f.rs1, f.imm, f.extra) == (5, 8, (3, 9))
    assert p.instructions[1].imm == (2 << 5) | 31


# ---- errors ---------------------------------------------------------------------------------

def test_all_errors_in_one_run_with_positions():
    probs = errors("""_start:
    addi a0, a0, 5000
    frobnicate a0
    add a0, a1, ft0
    addi a0, a1, (3
    lw a0, 4(a9)
    j nowhere
    slli a0, a0, 32
    beq a0, a1, far
    .word 1 +
    .bogus 3
""" + "\n".join(["nop"] * 1100) + "\nfar: nop\n")
    heads = [p.splitlines()[0] for p in probs]
    assert heads == [
        "a.S:2:18: immediate 5000 out of range [-2048, 2047]",
        "a.S:3:5: unknown mnemonic 'frobnicate'",
        "a.S:4:17: expected an integer register, got 'ft0' (that is a floating-point register)",
        "a.S:5:20: missing ')'",
        "a.S:6:14: expected an integer register, got 'a9'",
        "a.S:7:7: undefined symbol 'nowhere'",
        "a.S:8:18: shift amount 32 out of range [0, 31]",
        heads[7],
        "a.S:10:14: unexpected end of expression",
        "a.S:11:5: unknown directive '.bogus'",
    ]
    assert heads[7].startswith("a.S:9:17: branch target") and "out of range" in heads[7]
    # each problem shows the source line and a caret under the column
    lines = probs[0].splitlines()
    assert lines[1].strip() == "addi a0, a0, 5000"
    assert lines[2].index("^") == lines[1].index("5000")


@pytest.mark.parametrize("src,msg", [
    ("_start: nop\n_start: nop", "symbol '_start' is already defined"),
    (".rept 2\nnop\n", ".rept without .endr"),
    (".macro m\nnop\n", ".macro without .endm"),
    (".else\n", ".else without .if"),
    (".if 1\nnop\n", ".if without .endif"),
    (".data\n addi a0, a0, 1", "instruction in section .data"),
    (".bss\n .word 1", "only zero-initialised space"),
    ("_start: add a0, a1", "add expects 3 operands"),
    ("_start: fadd.s fa0, fa1, fa2, rtx", "unknown rounding mode"),
    ("_start: csrr a0, nosuchcsr", "unknown CSR 'nosuchcsr'"),
    ("_start: .word 1\n.align 40", "exponent must be 0..16"),
    (".data\n.byte 256", "does not fit in 1 byte"),
    (".section .weird\n", "unknown section"),
    ("_start: li a0, 0x100000000", "does not fit in 32 bits"),
    ("_start: addi a0, a0, 09", "invalid octal"),
    (".error \"stop here\"", ".error"),
    ("_start: lw a0, 2048(a1)", "offset 2048 out of range"),
    ("", "no instructions"),
])
def test_error_messages(src, msg):
    probs = errors(src)
    assert any(msg in p for p in probs), probs


def test_unknown_mnemonic_suggests_near_names():
    probs = errors("_start: vfaddd.h ft0, ft1, ft2")
    assert "unknown mnemonic 'vfaddd.h' (did you mean vfadd.h" in probs[0]


def test_invalid_define_name():
    with pytest.raises(UserError, match="not a valid symbol name"):
        asm("_start: nop", defines={"1x": 3})


def test_text_segment_holds_machine_words():
    p = asm("_start: add a0, a1, a2\n .word 0x12345678\n ecall")
    assert p.segments[TEXT_BASE] == struct.pack("<III", 0x00C58533, 0x12345678, 0x73)


def test_include_next_to_the_file_and_in_include_dirs(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "macros.S").write_text(".macro twice r\n  add \\r, \\r, \\r\n.endm\n")
    (tmp_path / "lib" / "consts.S").write_text(".equ K, 5\n")
    src = '.include "macros.S"\n.include "consts.S"\n_start: li a0, K\n twice a0\n'
    p = assemble(src, filename=str(tmp_path / "main.S"), include_dirs=(tmp_path / "lib",))
    assert [i.mnemonic for i in p.instructions] == ["addi", "add"]
    assert p.instructions[0].imm == 5


def test_include_errors_name_the_included_file(tmp_path):
    (tmp_path / "bad.S").write_text("nop\n  addi a0, a0, 9999\n")
    (tmp_path / "self.S").write_text('.include "self.S"\n')
    with pytest.raises(UserError) as e:
        assemble('.include "bad.S"\n.include "missing.S"\n.include "self.S"\n',
                 filename=str(tmp_path / "m.S"))
    text = str(e.value)
    assert "bad.S:2:16: immediate 9999 out of range" in text
    assert "cannot find include file 'missing.S'" in text
    assert "recursive .include of 'self.S'" in text


def test_li_zero_keeps_the_addi_like_gnu_as():
    # GNU as expands `li zero, 0x1000` to lui + addi even though the addi adds 0; dropping it
    # shifted every later pc-relative value by 4 (found by the QEMU differential tests)
    p = asm("_start:\n  li zero, 0x1000\n  li a0, 0x1000\n")
    assert [i.mnemonic for i in p.instructions] == ["lui", "addi", "lui"]


def test_program_store_writes_inputs_at_a_symbol():
    p = asm(".data\n.balign 8\nbuf: .zero 8\nafter: .word 7\n.text\n_start: ecall\n")
    p.store("buf", b"\x01\x02\x03\x04")
    seg_start = max(s for s in p.segments if s <= p.symbols["buf"])
    seg = p.segments[seg_start]
    off = p.symbols["buf"] - seg_start
    assert seg[off:off + 8] == b"\x01\x02\x03\x04\x00\x00\x00\x00"
    assert struct.unpack_from("<I", seg, p.symbols["after"] - seg_start)[0] == 7
    with pytest.raises(KeyError, match="no symbol"):
        p.store("nope", b"\x00")
    with pytest.raises(ValueError, match="do not fit"):
        p.store("after", b"\x00" * 4096)


def test_fp_load_from_a_symbol_needs_a_temporary():
    probs = errors("_start:\n    flw fa0, c\n.data\nc: .word 0\n")
    assert len(probs) == 1 and "flw with a symbol address is not supported; use la + flw" \
        in probs[0] and probs[0].startswith("a.S:2:")
    assert len(asm("_start:\n    flw fa0, c, t0\n.data\nc: .word 0\n").instructions) == 2

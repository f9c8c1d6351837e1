"""ISA tables: loading, validation, encodings, and links to the config and energy tables."""

from __future__ import annotations

import itertools
import tomllib
from pathlib import Path

import pytest

from vexpsim.arch.config import load_cluster_config
from vexpsim.isa import ISA_DIR, OPERAND_KINDS, IsaError, default_isa, load_isa
from vexpsim.isa.semantics import SEMANTICS

ISA = default_isa()


def test_tables_load_with_every_extension():
    assert set(ISA.extensions()) == {
        "rv32i", "rv32m", "rv32f", "rv32d", "zicsr", "xf16", "xf16alt", "xf8", "xf8alt",
        "xfvec", "xfaux", "xssr", "xfrep", "xdma", "xvexp"}
    for mn in ("add", "fmadd.d", "csrrw", "frep.o", "frep.i", "scfgwi", "scfgri", "dmsrc",
               "dmdst", "dmstr", "dmrep", "dmcpyi", "dmcpy", "dmstati", "dmstat", "vfadd.h",
               "vfmac.ah", "vfsum.s", "vfsumex.s.h", "vfdotpex.h.b", "vfcpka.s.s",
               "vfcpkd.b.s", "vfcvt.s.h", "vfsgnjx.b", "vfeq.h", "vflt.s", "vfle.ah",
               "vfmre.s", "vfmin.b", "vfmax.h", "fexp.h", "fexp.ah", "vfexp.h", "vfexp.ah"):
        assert mn in ISA, mn
    assert ISA.csrs["fmode"] == 0x800 and ISA.csrs["ssr"] == 0x7C0
    assert ISA.csrs["barrier"] == 0x7C2 and ISA.csrs["mhartid"] == 0xF14


def test_rows_are_complete_and_valid():
    for d in ISA.instructions.values():
        assert set(d.operands) <= OPERAND_KINDS
        assert d.semantics in SEMANTICS and d.builder is SEMANTICS[d.semantics]
        assert d.match is not None and d.mask is not None, d.mnemonic
        assert d.match & ~d.mask == 0, d.mnemonic


def test_standard_encodings():
    # RISC-V unprivileged spec opcode map
    assert (ISA["add"].match, ISA["add"].mask) == (0x33, 0xFE00707F)
    assert (ISA["lw"].match, ISA["lw"].mask) == (0x2003, 0x707F)
    assert ISA["fmadd.d"].match == 0x02000043 and ISA["ecall"].match == 0x73


def test_encodings_do_not_overlap_except_format_aliases():
    """Two rows may share an encoding only when they are the fmode-selected spellings of one
    instruction (.h/.ah, .b/.ab: riscv_instr.sv gives them the same pattern)."""
    def canon(mn: str) -> str:
        return ".".join({"ah": "h", "ab": "b"}.get(p, p) for p in mn.split("."))
    rows = list(ISA.instructions.values())
    clashes = []
    for a, b in itertools.combinations(rows, 2):
        if (a.match ^ b.match) & a.mask & b.mask == 0 and canon(a.mnemonic) != canon(b.mnemonic):
            clashes.append((a.mnemonic, b.mnemonic))
    assert not clashes


def test_latency_keys_name_cluster_config_fields_and_energy_keys_exist():
    cfg = load_cluster_config().to_dict()
    energy = tomllib.loads((Path(__file__).parents[2] / "vexpsim" / "energy" / "tables" /
                            "gf12lp_0p8v.toml").read_text())["events"]
    for d in ISA.instructions.values():
        node = cfg
        for part in d.latency.split("."):
            assert part in node, (d.mnemonic, d.latency)
            node = node[part]
        assert isinstance(node, int), (d.mnemonic, d.latency)
        assert d.energy in energy, (d.mnemonic, d.energy)


def _copy_tables(tmp_path: Path) -> Path:
    for p in ISA_DIR.glob("*.toml"):
        (tmp_path / p.name).write_text(p.read_text())
    return tmp_path


def test_row_without_semantics_fails_at_load(tmp_path):
    d = _copy_tables(tmp_path)
    with (d / "rv32i.toml").open("a") as fh:
        fh.write('\n[[instr]]\nmnemonic = "frob"\noperands = "xd"\nunit = "alu"\n'
                 'latency = "core.lat_alu"\nenergy = "int_alu"\nsemantics = "no_such"\n')
    with pytest.raises(IsaError, match="frob: no semantics function 'no_such'"):
        load_isa(d)


def test_semantics_without_row_fails_at_load():
    extra = {**SEMANTICS, "orphan": lambda ins, h, nxt: None}
    with pytest.raises(IsaError, match="'orphan' has no ISA row"):
        load_isa(semantics=extra)


@pytest.mark.parametrize("row,msg", [
    ('mnemonic = "add"\noperands = "xd"\nunit = "a"\nlatency = "l"\nenergy = "e"\n'
     'semantics = "alu_reg"\n', "add also in"),
    ('mnemonic = "x1"\noperands = "xd, bogus"\nunit = "a"\nlatency = "l"\nenergy = "e"\n'
     'semantics = "alu_reg"\n', "unknown operand kinds ['bogus']"),
    ('mnemonic = "x2"\noperands = "xd"\n', "missing ['unit'"),
    ('mnemonic = "x3"\noperands = "xd"\nunit = "a"\nlatency = "l"\nenergy = "e"\n'
     'semantics = "alu_reg"\nmatch = 1\n', "match and mask go together"),
])
def test_bad_rows_are_reported(tmp_path, row, msg):
    d = _copy_tables(tmp_path)
    with (d / "xdma.toml").open("a") as fh:
        fh.write("\n[[instr]]\n" + row)
    with pytest.raises(IsaError) as e:
        load_isa(d)
    assert msg in str(e.value)

"""Area table: loading with sources, unit conversion, shares, and `vexpsim area`."""

import json

import pytest

from vexpsim import cli
from vexpsim.energy.area import load_area_table
from vexpsim.energy.model import Instances
from vexpsim.errors import UserError

TOY = """
[meta]
name = "toy_area"
um2_per_ge = 0.5
um2_per_ge_source = "test"
paper_exp_share = 0.01
[blocks.core]
kge = 10
per = "hart"
group = "core"
source = "test"
[blocks.fpu]
kge = 90
per = "compute_core"
group = "fpu"
source = "test"
[blocks.exp]
kge = 10
per = "compute_core"
group = "fpu"
feature = "exp"
source = "test"
[blocks.sram]
um2 = 50_000
per = "cluster"
group = "tcdm"
source = "test"
"""


@pytest.fixture
def toy(tmp_path):
    p = tmp_path / "a.toml"
    p.write_text(TOY)
    return p


def test_shipped_table_has_a_source_for_every_block():
    a = load_area_table()
    assert a.blocks and a.um2_per_ge > 0
    for b in a.blocks.values():
        assert b.source.strip() and b.label and b.confidence and b.kge > 0


def test_shares_sum_and_are_counted_by_hand(toy):
    a = load_area_table(toy)
    assert a.blocks["sram"].kge == pytest.approx(100.0)  # 50 000 µm² / 0.5 µm² per GE
    rep = a.report(Instances(compute_cores=2, dma_cores=1))
    # 3 x 10 + 2 x 90 + 2 x 10 + 100 = 330 kGE
    assert rep["cluster_kge"] == pytest.approx(330.0)
    assert rep["cluster_um2"] == pytest.approx(330e3 * 0.5)
    assert sum(r["share_of_cluster"] for r in rep["blocks"]) == pytest.approx(1.0)
    assert sum(rep["groups_kge"].values()) == pytest.approx(rep["cluster_kge"])
    assert rep["block_share_of_cluster"] == pytest.approx(20 / 330)
    assert rep["block_share_of_group"] == pytest.approx(10 / 100)  # one core's FPU incl. EXP
    assert rep["paper_exp_share"] == 0.01


def test_without_the_feature_the_block_is_absent(toy):
    rep = load_area_table(toy).report(Instances(2, 1, features=frozenset()))
    assert rep["cluster_kge"] == pytest.approx(310.0)
    assert "exp" not in {r["block"] for r in rep["blocks"]}
    assert rep["block_share_of_cluster"] == 0.0


def test_bad_area_table_lists_every_problem(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text(TOY.replace('kge = 90\n', 'kge = 90\num2 = 3\n')
                 .replace('source = "test"\n[blocks.sram]', '[blocks.sram]')
                 .replace('per = "cluster"', 'per = "moon"'))
    with pytest.raises(UserError) as exc:
        load_area_table(p)
    msgs = exc.value.problems
    assert any("blocks.exp.source: missing" in m for m in msgs), msgs
    assert any("blocks.sram.per:" in m for m in msgs), msgs
    p.write_text(TOY.replace('kge = 90\n', 'kge = 90\num2 = 3\n'))
    with pytest.raises(UserError, match="blocks.fpu: give exactly one of kge and um2"):
        load_area_table(p)


def test_unknown_block_and_table():
    with pytest.raises(UserError, match="no block 'warp'"):
        load_area_table().report(Instances(8, 1), block="warp")
    with pytest.raises(UserError, match="unknown area table"):
        load_area_table("tsmc3_area")


def test_area_cli(toy, tmp_path, capsys):
    out = tmp_path / "a.json"
    assert cli.main(["area", "--area-table", str(toy), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    rep = json.loads(out.read_text())
    # the default preset (vexp_paper): 8 compute cores + the DMA core, EXP present
    assert rep["instances"]["compute_cores"] == 8 and rep["instances"]["dma_cores"] == 1
    assert rep["cluster_kge"] == pytest.approx(9 * 10 + 8 * 100 + 100)
    assert f"{rep['block_share_of_cluster']:.2%} of the cluster" in text
    assert "VEXP paper: ~1%" in text
    assert cli.main(["area", "--preset", "snitch_default", "--area-table", str(toy)]) == 0
    assert "exp: not in this cluster configuration" in capsys.readouterr().out
    assert cli.main(["area", "--set", "cores=4", "--area-table", str(toy),
                     "--json", str(out)]) == 0
    assert json.loads(out.read_text())["instances"]["compute_cores"] == 4

import pytest

from vexpsim.energy.model import load_energy_table
from vexpsim.errors import UserError


def test_default_table_loads_with_sources():
    m = load_energy_table()
    assert m.frequency_hz == 1e9
    for ev in m.events.values():
        assert ev.source and ev.pj >= 0
    assert m.events["fpu_addmul_fp64"].pj == 12.6  # energy_refs.md §2.4


def test_hand_countable_accounting():
    m = load_energy_table()
    e = m.breakdown({"int_alu": 100, "fpu_exp_bf16x4": 10, "core_cycle": 1000}, cycles=1000)
    assert e.by_event_pj["int_alu"] == pytest.approx(100 * m.events["int_alu"].pj)
    assert e.by_event_pj["fpu_exp_bf16x4"] == pytest.approx(10 * 7.8)
    assert e.total_pj == pytest.approx(100 * 2.6 + 78 + 4500)
    assert e.by_component_pj["fpu"] == pytest.approx(78)
    # 4838 pJ in 1 us = 4.838 mW
    assert e.average_power_mw == pytest.approx(4.838)


def test_unknown_event_is_an_error():
    with pytest.raises(KeyError, match="no price"):
        load_energy_table().breakdown({"warp_drive": 1}, cycles=1)


def test_bad_table_lists_every_problem(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text('[meta]\nfrequency_hz = -1\n[events.a]\npj = -2\ncomponent = "x"\n'
                 'source = "s"\n[events.b]\npj = "3"\ncomponent = "y"\n'
                 'source = "s"\ncolour = 1\n')
    with pytest.raises(UserError) as exc:
        load_energy_table(f)
    msgs = exc.value.problems
    assert any("meta.frequency_hz" in p for p in msgs)
    assert any("meta.name: missing" in p for p in msgs)
    assert any("events.a.pj: expected a number >= 0, got -2" in p for p in msgs)
    assert any("events.b.pj: expected a number >= 0, got \"3\"" in p for p in msgs)
    assert any("events.b.colour: unknown key" in p for p in msgs)
    assert all(p.startswith(str(f)) for p in msgs)


def test_unknown_table_name():
    with pytest.raises(UserError, match="unknown energy table"):
        load_energy_table("tsmc3")

"""The C1-consistent TCDM family (vexpsim.energy.sensitivity): every member keeps cross-check
C1's all-in energy per FMA, moves only the TCDM events and the static floor, and refuses
access energies that would need a negative floor."""

import pytest

from vexpsim.energy.accounting import price_exec
from vexpsim.energy.model import Instances, load_energy_table
from vexpsim.energy.sensitivity import C1_CORES, C1_ELEMENTS_PER_FMA, C1_UTILISATION, tcdm_family
from vexpsim.errors import UserError


def c1_run(cycles: int = 10_000) -> dict:
    """Cross-check C1 as an exec JSON: 8 cores at the C1 FPU share, SSR-streamed reads."""
    fma = int(cycles * C1_UTILISATION)
    harts = [{"hart": i, "timing": {"events": {"fpu_addmul_fp64": fma} if i < C1_CORES else {},
                                    "core_issued": 10}} for i in range(C1_CORES + 1)]
    streamed = round(C1_CORES * fma * C1_ELEMENTS_PER_FMA)
    return {"cycles": cycles, "harts": harts,
            "cluster_events": {"tcdm_read": streamed, "ssr_elements": streamed}}


@pytest.mark.parametrize("t", [0.0, 0.51, 2.3, 4.5, 9.0, 12.0])
def test_every_member_keeps_c1(t):
    m = load_energy_table()
    f = tcdm_family(m, t)
    run = c1_run()
    assert price_exec(run, f)["energy_pj"] == pytest.approx(price_exec(run, m)["energy_pj"],
                                                            rel=1e-9)


def test_member_moves_only_tcdm_and_static():
    m = load_energy_table()
    f = tcdm_family(m, 4.5)
    assert f.events["tcdm_read"].pj == f.events["tcdm_write"].pj == 4.5
    assert f.events["tcdm_conflict"].pj == pytest.approx((4.5 - 0.51) / 2)
    for name, e in m.events.items():
        if not name.startswith("tcdm_") and name != "core_cycle":
            assert f.events[name] == e
    # the floor rises by 8 cores x 0.95 x 1.125 accesses per cycle x 4.5 pJ = 38.5 mW
    inst = Instances(compute_cores=8, dma_cores=1)
    before = sum(m.static_power_mw(inst).values())
    after = sum(f.static_power_mw(inst).values())
    assert after - before == pytest.approx(8 * 0.95 * 1.125 * 4.5)
    # spread as the table spreads it: every block scaled by the same factor
    ratios = {round(f.leakage[k].mw / e.mw, 9) for k, e in m.leakage.items() if e.mw}
    ratios.add(round(f.events["core_cycle"].pj / m.events["core_cycle"].pj, 9))
    assert len(ratios) == 1
    assert "what-if" in f.events["tcdm_read"].source and f.name != m.name
    # at the table's own access energy the member prices like the table
    same = tcdm_family(m, 9.0)
    assert same.events["tcdm_conflict"].pj == pytest.approx(m.events["tcdm_conflict"].pj,
                                                           abs=0.05)
    assert sum(same.static_power_mw(inst).values()) == pytest.approx(before)


def test_out_of_range_is_a_clear_error():
    m = load_energy_table()
    with pytest.raises(UserError, match=r"must lie in \[0, 13\.\d\d\] pJ"):
        tcdm_family(m, 20.0)
    with pytest.raises(UserError, match="must lie in"):
        tcdm_family(m, -1.0)


def test_a_member_as_a_technology_file(tmp_path):
    from vexpsim.energy.model import energy_table_toml
    f = tcdm_family(load_energy_table(), 4.5)
    path = tmp_path / "whatif.toml"
    path.write_text(energy_table_toml(f, header="what-if"))
    g = load_energy_table(path)
    assert g.events == f.events and g.leakage == f.leakage and g.name == f.name


def test_energy_table_cli_writes_a_what_if_table(tmp_path, capsys):
    from vexpsim import cli
    assert cli.main(["energy-table", "--what-if-tcdm", "4.5", "--format", "toml"]) == 0
    path = tmp_path / "w.toml"
    path.write_text(capsys.readouterr().out)
    g = load_energy_table(path)
    assert g.events["tcdm_read"].pj == 4.5 and g.name == "gf12lp_0p8v+tcdm4.5pJ"
    assert cli.main(["energy-table", "--what-if-tcdm", "99"]) == 1
    assert "must lie in" in capsys.readouterr().err

"""The shipped energy table and the table loader (schema, sources, errors with key paths)."""

import tomllib
from importlib import resources
from pathlib import Path

import pytest

from vexpsim.energy.accounting import CLUSTER_EVENTS, FETCH_EVENT
from vexpsim.energy.area import load_area_table
from vexpsim.energy.model import Instances, load_energy_table
from vexpsim.errors import UserError

ISA_DIR = Path(__file__).resolve().parents[2] / "isa"


def test_default_table_loads_with_sources():
    m = load_energy_table()
    assert m.frequency_hz == 1e9
    assert m.events and m.leakage
    for entry in [*m.events.values(), *m.leakage.values()]:
        assert entry.source.strip() and entry.label and entry.confidence


def test_every_counted_event_has_a_price():
    # every energy key of the ISA tables, the L0 fetch and every cluster event
    keys = {FETCH_EVENT, *(e for evs in CLUSTER_EVENTS.values() for e in evs)}
    for f in sorted(ISA_DIR.glob("*.toml")):
        keys |= {row["energy"] for row in tomllib.loads(f.read_text())["instr"]}
    m = load_energy_table()
    assert keys - set(m.events) == set()
    m.check_events(keys)  # no error


def test_static_power_is_the_c1_floor_split_by_area():
    # energy_refs.md §5 C1: ~4.5 mW per compute core in total, split in proportion to the area
    # table's blocks: each leakage entry is (total / cluster kGE) x the block's kGE
    m = load_energy_table()
    a = load_area_table()
    inst = Instances(compute_cores=8, dma_cores=1)
    p = m.static_power_mw(inst)
    total = sum(p.values())
    assert total == pytest.approx(8 * 4.5, rel=2e-3)
    areas = a.instance_kge(inst)
    assert set(p) == set(areas)
    density = total / sum(areas.values())
    for name, mw in p.items():
        assert mw == pytest.approx(density * areas[name], rel=5e-3), name
    # the system model's idle event is the same floor per hart
    assert m.events["core_cycle"].pj * 9 * 1e-3 == pytest.approx(total * 1e-3, rel=1e-3)


def test_bad_table_lists_every_problem(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text('[meta]\nfrequency_hz = -1\n[events.a]\npj = -2\ncomponent = "x"\n'
                 'source = "s"\n[events.b]\npj = "3"\ncomponent = "y"\n'
                 'source = "s"\ncolour = 1\n'
                 '[leakage.c]\nmw = 1\ncomponent = "z"\nper = "galaxy"\nsource = "s"\n')
    with pytest.raises(UserError) as exc:
        load_energy_table(f)
    msgs = exc.value.problems
    assert any("meta.frequency_hz" in p for p in msgs)
    assert any("meta.name: missing" in p for p in msgs)
    assert any("events.a.pj: expected a number >= 0, got -2" in p for p in msgs)
    assert any("events.b.pj: expected a number >= 0, got \"3\"" in p for p in msgs)
    assert any("events.b.colour: unknown key" in p for p in msgs)
    assert any("leakage.c.per:" in p and "compute_core" in p for p in msgs)
    assert all(p.startswith(str(f)) for p in msgs)


def test_missing_source_is_a_schema_error_with_the_key_path(tmp_path):
    text = resources.files("vexpsim.energy").joinpath("tables/gf12lp_0p8v.toml").read_text()
    # drop the source line of one event and of one leakage entry
    lines = text.splitlines()
    for section in ("[events.int_mul]", "[leakage.tcdm]"):
        i = lines.index(section)
        j = next(k for k in range(i, len(lines)) if lines[k].startswith("source"))
        del lines[j]
    f = tmp_path / "nosrc.toml"
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError) as exc:
        load_energy_table(f)
    msgs = exc.value.problems
    assert any("events.int_mul.source: missing" in p for p in msgs), msgs
    assert any("leakage.tcdm.source: missing" in p for p in msgs), msgs
    assert len(msgs) == 2


def test_unknown_table_name():
    with pytest.raises(UserError, match="unknown energy table"):
        load_energy_table("tsmc3")


def test_unknown_event_names_every_one():
    with pytest.raises(UserError, match="no price for event.s. quark, warp_drive"):
        load_energy_table().breakdown({"warp_drive": 1, "quark": 2, "int_alu": 1}, cycles=1)


def test_the_calibration_c1_closes():
    # energy_refs.md §5 C1, the one calibration (reproducible here): FP64 GEMM on the 8+1-core
    # cluster at 95 % FPU utilisation, SSRs streaming 1.125 elements per FMA, costs ~27 pJ per
    # FMA all-in (D6). The static floor was derived from it, so the table must close it.
    from vexpsim.energy.accounting import price_exec

    cycles, fma = 1000, 950
    harts = [{"hart": i, "timing": {"events": {"fpu_addmul_fp64": fma} if i < 8 else {},
                                    "core_issued": 10}} for i in range(9)]
    streamed = int(8 * fma * 1.125)
    data = {"cycles": cycles, "harts": harts,
            "cluster_events": {"tcdm_read": streamed, "ssr_elements": streamed}}
    e = price_exec(data, load_energy_table())
    assert e["energy_pj"] / (8 * fma) == pytest.approx(27.0, rel=0.05)


def test_energy_table_cli(tmp_path, capsys):
    from vexpsim import cli

    assert cli.main(["energy-table"]) == 0
    out = capsys.readouterr().out
    m = load_energy_table()
    for e in m.events.values():  # every number listed with its source
        assert f"| `{e.name}` | {e.pj:g} |" in out
    assert "static power of cluster 'vexp_paper'" in out
    assert cli.main(["energy-table", "--format", "json"]) == 0
    import json
    d = json.loads(capsys.readouterr().out)
    assert d["static_power_mw"]["total"] == pytest.approx(
        sum(m.static_power_mw(Instances(8, 1, features=frozenset({"exp"}))).values()))
    bad = tmp_path / "bad.toml"
    bad.write_text('[meta]\nname = "b"\nfrequency_hz = 1e9\n[events.a]\npj = 1\n'
                   'component = "c"\n')
    assert cli.main(["energy-table", str(bad)]) == 1
    assert "events.a.source: missing" in capsys.readouterr().err

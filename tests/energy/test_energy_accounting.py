"""Accounting on hand-countable runs: n events of a class -> n x e pJ, static power x time."""

import json

import pytest

from vexpsim import cli
from vexpsim.energy.accounting import add_energy, efficiency, price_exec
from vexpsim.energy.model import Instances, load_energy_table
from vexpsim.errors import UserError

# toy table (conftest): 500 MHz, so 1 mW over 1 cycle = 2 pJ


def run(events: dict, core_issued: int, cycles: int, harts: int = 1, **extra) -> dict:
    data = {"cycles": cycles,
            "harts": [{"hart": i, "timing": {"events": dict(events), "core_issued": core_issued}}
                      for i in range(harts)]}
    data.update(extra)
    return data


@pytest.mark.parametrize("n", [1, 7, 1000])
def test_n_alu_instructions(toy_table, n):
    m = load_energy_table(toy_table)
    d = run({"int_alu": n}, core_issued=n, cycles=3 * n)
    add_energy(d, m)
    # one hart alone is a compute core: core 1 mW + fpu 2 + exp 0.5 + tcdm 10 = 13.5 mW
    static = 13.5 * 3 * n * 2.0
    assert d["energy_by_event_pj"]["int_alu"] == pytest.approx(n * 2.0)
    assert d["energy_by_event_pj"]["l0_fetch"] == pytest.approx(n * 0.5)
    assert d["energy_static_pj"] == pytest.approx(static)
    assert d["energy_pj"] == pytest.approx(n * 2.5 + static)
    assert d["average_power_mw"] == pytest.approx(d["energy_pj"] / (3 * n) * 0.5)
    assert d["harts"][0]["timing"]["energy"]["energy_pj"] == pytest.approx(n * 2.5)
    assert d["energy_instances"] == {"compute_cores": 1, "dma_cores": 0, "clusters": 1,
                                     "features": None}
    assert "no cluster_events" in d["energy_note"]


def test_fp_op_classes_and_frep_replays(toy_table):
    # 3 issued instructions (e.g. frep + 2 setup) but 40 FMAs and 8 exps replayed by FREP: the
    # FP ops are priced per execution, the fetch only per core-issued instruction
    m = load_energy_table(toy_table)
    d = run({"fpu_addmul_fp64": 40, "fpu_exp_bf16x4": 8, "int_alu": 3}, core_issued=3,
            cycles=50)
    e = price_exec(d, m)
    assert e["energy_by_event_pj"]["fpu_addmul_fp64"] == 400.0
    assert e["energy_by_event_pj"]["fpu_exp_bf16x4"] == 56.0
    assert e["energy_by_event_pj"]["l0_fetch"] == 1.5
    assert e["energy_dynamic_pj"] == pytest.approx(400 + 56 + 6 + 1.5)
    # fpu component: dynamic ops plus the FPU and EXP static power
    assert e["energy_by_component_pj"]["fpu"] == pytest.approx(456 + (2.0 + 0.5) * 50 * 2)


def test_cluster_events_priced(toy_table):
    m = load_energy_table(toy_table)
    ce = {"tcdm_read": 100, "tcdm_write": 50, "tcdm_conflict": 3,
          "dma_bytes_main_to_tcdm": 640, "dma_bytes_tcdm_to_main": 64,
          "dma_bytes_tcdm_to_tcdm": 128, "ssr_elements": 96, "barrier_wait_cycles": 20}
    d = run({}, core_issued=0, cycles=10, harts=3, cluster_events=ce)
    add_energy(d, m)
    ev = d["energy_by_event_pj"]
    assert ev["tcdm_read"] == 800 and ev["tcdm_write"] == 450 and ev["tcdm_conflict"] == 12
    assert ev["dma_byte_main_to_tcdm"] == 640 * 40 and ev["dma_byte_tcdm_to_main"] == 64 * 41
    assert ev["dma_byte_tcdm_to_tcdm"] == 64 and ev["ssr_element"] == 24
    assert ev["barrier_wait_cycle"] == 20
    assert ev["main_memory_byte"] == (640 + 64) * 30  # the device, both directions
    dyn = 800 + 450 + 12 + 640 * 40 + 64 * 41 + 64 + 24 + 20 + (640 + 64) * 30
    assert d["energy_dynamic_pj"] == pytest.approx(dyn)
    # 3 harts: 2 compute cores + the DMA core; static 3x1 + 2x2 + 2x0.5 + 1.5 + 10 = 19.5 mW
    assert d["static_power_mw"] == pytest.approx(19.5)
    assert d["energy_pj"] == pytest.approx(dyn + 19.5 * 10 * 2)
    assert "no cluster_events" not in d["energy_note"]
    comp = d["energy_by_component_pj"]
    assert sum(comp.values()) == pytest.approx(d["energy_pj"])
    assert comp["main_memory"] == (640 + 64) * 30
    assert d["energy_cluster_pj"] == pytest.approx(d["energy_pj"] - (640 + 64) * 30)
    assert comp["tcdm"] == pytest.approx(800 + 450 + 12 + 10 * 10 * 2)


def test_cluster_event_named_like_a_table_event_is_priced(toy_table):
    d = run({}, core_issued=0, cycles=1, cluster_events={"int_mul": 2})
    assert price_exec(d, load_energy_table(toy_table))["energy_by_event_pj"]["int_mul"] == 6


def test_unknown_events_are_clear_errors(toy_table):
    m = load_energy_table(toy_table)
    d = run({"int_alu": 1, "warp_drive": 2}, core_issued=1, cycles=5, harts=2,
            cluster_events={"tcdm_read": 1, "photons": 9})
    with pytest.raises(UserError) as exc:
        add_energy(d, m)
    msgs = exc.value.problems
    assert sum("warp_drive" in p for p in msgs) == 2      # both harts named
    assert any("(hart 1)" in p for p in msgs)
    assert any("photons" in p and "cluster_events" in p for p in msgs)
    assert all("toy" in p for p in msgs)


def test_instances_and_features(toy_table):
    m = load_energy_table(toy_table)
    d = run({}, core_issued=0, cycles=100)
    no_exp = price_exec(d, m, Instances(compute_cores=8, dma_cores=1, features=frozenset()))
    with_exp = price_exec(d, m, Instances(compute_cores=8, dma_cores=1))
    # the EXP block's static power: 8 x 0.5 mW for 100 cycles at 500 MHz
    assert with_exp["energy_pj"] - no_exp["energy_pj"] == pytest.approx(8 * 0.5 * 100 * 2)
    assert "leakage.exp" not in no_exp["energy_by_event_pj"]


def test_swapping_the_technology_file_changes_the_numbers(toy_table, tmp_path):
    d = run({"int_alu": 10}, core_issued=10, cycles=20)
    a = price_exec(d, load_energy_table(toy_table))
    other = tmp_path / "other.toml"
    other.write_text(toy_table.read_text().replace("pj = 2.0", "pj = 4.0")
                     .replace("frequency_hz = 500_000_000", "frequency_hz = 1_000_000_000"))
    b = price_exec(d, load_energy_table(other))
    assert b["energy_by_event_pj"]["int_alu"] == 2 * a["energy_by_event_pj"]["int_alu"]
    # at twice the clock the same cycles last half as long: half the static energy
    assert b["energy_static_pj"] == pytest.approx(a["energy_static_pj"] / 2)
    assert a["energy_table"] == "toy"


def test_untimed_harts_are_skipped(toy_table):
    d = {"cycles": 4, "harts": [{"hart": 0, "x": [0]}]}
    add_energy(d, load_energy_table(toy_table))
    assert d["energy_dynamic_pj"] == 0 and "energy" not in d["harts"][0]


def test_efficiency():
    # 2000 flop in 1000 cycles at 1 GHz = 2 GFLOP/s; 20 000 pJ in 1 us = 20 mW -> 100 GFLOP/s/W
    e = efficiency(flop=2000, cycles=1000, energy_pj=20_000, frequency_hz=1e9)
    assert e["gflop_per_s"] == pytest.approx(2.0)
    assert e["average_power_mw"] == pytest.approx(20.0)
    assert e["gflop_per_s_per_w"] == pytest.approx(100.0)
    assert e["pj_per_flop"] == pytest.approx(10.0)
    with pytest.raises(ValueError, match="cycles"):
        efficiency(flop=1, cycles=0, energy_pj=1, frequency_hz=1e9)


PROG = """_start:
    li a0, 1
    li a1, 2
    addi a0, a0, 1
    mul a2, a0, a1
    vfexp.ah ft3, ft4
    vfexp.ah ft5, ft6
    li a0, 0
    ecall
"""


def test_exec_cli_prices_a_hand_countable_program(toy_table, tmp_path):
    prog = tmp_path / "p.S"
    prog.write_text(PROG)
    out = tmp_path / "o.json"
    assert cli.main(["exec", str(prog), "--harts", "1", "--json", str(out),
                     "--energy-table", str(toy_table)]) == 0
    d = json.loads(out.read_text())
    t = d["harts"][0]["timing"]
    # 4 ALU (li, li, addi, li), 1 mul, 2 vfexp, the ecall (counted by the ISA row's energy key)
    assert t["events"]["fpu_exp_bf16x4"] == 2 and t["events"]["int_mul"] == 1
    assert t["core_issued"] == 8
    dyn = (sum(n * {"int_alu": 2.0, "int_mul": 3.0, "fpu_exp_bf16x4": 7.0}[k]
               for k, n in t["events"].items()) + 8 * 0.5)
    assert t["energy"]["energy_pj"] == pytest.approx(dyn)
    assert d["energy_pj"] == pytest.approx(dyn + 13.5 * d["cycles"] * 2)


def test_exec_cli_prices_tcdm_accesses(toy_table, tmp_path):
    # 3 loads and 1 store to the TCDM: 4 int_lsu events + 3 bank reads + 1 bank write
    prog = tmp_path / "q.S"
    prog.write_text("_start:\n li t0, 0x10000000\n lw a1, 0(t0)\n lw a1, 8(t0)\n"
                    " lw a1, 16(t0)\n sw a1, 24(t0)\n li a0, 0\n ecall\n")
    out = tmp_path / "o.json"
    assert cli.main(["exec", str(prog), "--harts", "1", "--json", str(out),
                     "--energy-table", str(toy_table)]) == 0
    d = json.loads(out.read_text())
    assert d["cluster_events"]["tcdm_read"] == 3 and d["cluster_events"]["tcdm_write"] == 1
    assert d["energy_by_event_pj"]["tcdm_read"] == 3 * 8.0
    assert d["energy_by_event_pj"]["tcdm_write"] == 9.0
    assert d["energy_by_component_pj"]["tcdm"] == pytest.approx(33.0 + 10.0 * d["cycles"] * 2)


def test_exec_frep_replays_are_priced_but_not_fetched(toy_table, tmp_path):
    # 16 FMAs from one fmadd.d replayed by FREP: 16 x the FMA energy, but the integer core
    # issues only li, frep, fmadd, li, ecall (5 L0 fetches)
    prog = tmp_path / "f.S"
    prog.write_text("_start:\n li t0, 15\n frep.o t0, 1, 0, 0\n fmadd.d ft3, ft4, ft5, ft6\n"
                    " li a0, 0\n ecall\n")
    out = tmp_path / "o.json"
    table = tmp_path / "t.toml"
    table.write_text(toy_table.read_text() + '[events.fp_offload]\npj = 0.0\ncomponent = "fpss"'
                     '\nsource = "test"\n')
    assert cli.main(["exec", str(prog), "--harts", "1", "--json", str(out),
                     "--energy-table", str(table)]) == 0
    d = json.loads(out.read_text())
    assert d["harts"][0]["timing"]["core_issued"] == 5
    assert d["energy_by_event_pj"]["fpu_addmul_fp64"] == 16 * 10.0
    assert d["energy_by_event_pj"]["l0_fetch"] == 5 * 0.5

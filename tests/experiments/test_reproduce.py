"""vexpsim reproduce: paper configs, table, JSON and plots."""

import json

import pytest

from vexpsim.cli import main
from vexpsim.experiments.config import load_experiment
from vexpsim.experiments.run_cli import PAPER_DIR

TINY = """[experiment]
name = "{name}"
[workload]
seed = 1
[sweep.grid]
"workload.kernel" = ["softmax_baseline_row", "softmax_vexp_row"]
"workload.params.N" = [32, 64, 128]
[sweep.quick]
"workload.params.N" = [32, 64]
[reproduce.plot]
x = "workload.params.N"
reference = "softmax_baseline_row"
[[reproduce.rows]]
id = "{name}_speedup"
paper = 100.0
unit = "x"
at = {{ "workload.kernel" = "softmax_baseline_row", "workload.params.N" = "max" }}
over = {{ "workload.kernel" = "softmax_vexp_row", "workload.params.N" = "max" }}
[[reproduce.rows]]
id = "{name}_vexp_cycles_per_output"
unit = "cycles"
metric = "cycles"
per = ["outputs"]
at = {{ "workload.kernel" = "softmax_vexp_row", "workload.params.N" = "max" }}
"""


@pytest.mark.parametrize("quick", [False, True])
def test_paper_configs_are_valid(quick):
    files = sorted(PAPER_DIR.glob("*.toml"))
    assert files, "experiments/paper/ has no configs"
    for f in files:
        exp = load_experiment(f, quick=quick)
        assert exp.points and exp.config["reproduce"]["rows"]


def test_paper_softmax_sweeps_n_32_to_2048():
    exp = load_experiment(PAPER_DIR / "softmax.toml")
    assert sorted({p.params["N"] for p in exp.points}) == [2**i for i in range(5, 12)]
    ids = [r["id"] for r in exp.config["reproduce"]["rows"]]
    assert ids == ["softmax_speedup", "softmax_baseline_cycles_per_output",
                   "softmax_vexp_cycles_per_output", "softmax_energy_ratio",
                   "softmax_energy_ratio_with_main_memory"]
    assert max(p.params["N"] for p in load_experiment(PAPER_DIR / "softmax.toml",
                                                      quick=True).points) <= 256


def test_reproduce_quick_table_json_plots(tmp_path, capsys):
    cfgs = tmp_path / "paper"
    cfgs.mkdir()
    (cfgs / "a.toml").write_text(TINY.format(name="a"))
    out, js = tmp_path / "out", tmp_path / "rows.json"
    assert main(["reproduce", "--quick", "--configs", str(cfgs), "-o", str(out),
                 "--json", str(js), "-j", "1", "--no-progress"]) == 0
    stdout = capsys.readouterr().out
    data = json.loads(js.read_text())
    assert data["quick"] is True
    ids = [r["id"] for r in data["rows"]]
    assert ids == ["a_speedup", "a_vexp_cycles_per_output"]
    res = json.loads((out / "a" / "results.json").read_text())
    cyc = {(p["kernel"], p["params"]["N"]): p["cycles"] for p in res["points"]}
    assert max(n for _, n in cyc) == 64  # quick axis
    sp, cpo = data["rows"]
    assert sp["simulated"] == cyc["softmax_baseline_row", 64] / cyc["softmax_vexp_row", 64]
    assert sp["paper"] == 100.0 and sp["unit"] == "x"
    assert cpo["paper"] is None and cpo["simulated"] == cyc["softmax_vexp_row", 64] / 64
    md = (out / "reproduce.md").read_text()
    assert md.splitlines()[2] == "| id | paper | simulated | simulated/paper | unit | at |"
    assert "| a_speedup | 100 |" in md and md.splitlines()[0] in stdout
    for kind in ("latency", "speedup", "phases", "energy"):
        png = out / f"a_{kind}.png"
        assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 10_000


def test_reproduce_checks_every_config_first(tmp_path, capsys):
    cfgs = tmp_path / "paper"
    cfgs.mkdir()
    (cfgs / "a.toml").write_text(TINY.format(name="a"))
    (cfgs / "b.toml").write_text(TINY.format(name="a").replace("seed = 1", "seed = -1"))
    assert main(["reproduce", "--configs", str(cfgs), "-o", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "b.toml: workload.seed" in err
    assert "b.toml: reproduce.rows[0].id: 'a_speedup' is also a row of" not in err  # invalid
    assert not (tmp_path / "o").exists() and "Traceback" not in err
    (cfgs / "b.toml").write_text(TINY.format(name="a"))
    assert main(["reproduce", "--configs", str(cfgs), "-o", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "reproduce.rows[0].id: 'a_speedup' is also a row of" in err
    assert "experiment.name: 'a' is used by two configs" in err


def test_reproduce_quick_on_the_paper_softmax_config(tmp_path, capsys):
    # the softmax config only: FA-2 and end-to-end runs belong to `vexpsim reproduce` itself
    # (minutes), their configs are validated by test_every_shipped_experiment_config_is_valid
    cfgs = tmp_path / "paper"
    cfgs.mkdir()
    (cfgs / "softmax.toml").write_text((PAPER_DIR / "softmax.toml").read_text())
    out = tmp_path / "out"
    assert main(["reproduce", "--quick", "--configs", str(cfgs), "-o", str(out), "--json",
                 str(tmp_path / "r.json"), "--no-progress", "--no-plots"]) == 0
    rows = {r["id"]: r for r in json.loads((tmp_path / "r.json").read_text())["rows"]}
    assert {"softmax_speedup", "softmax_baseline_cycles_per_output",
            "softmax_vexp_cycles_per_output"} <= set(rows)
    assert rows["softmax_speedup"]["simulated"] > 1


@pytest.mark.parametrize("path", sorted((PAPER_DIR.parent).glob("**/*.toml")),
                         ids=lambda p: p.name)
def test_every_shipped_experiment_config_is_valid(path):
    assert load_experiment(path).points


def test_reproduce_with_a_failed_run_still_writes_the_table(tmp_path, capsys):
    cfgs = tmp_path / "paper"
    cfgs.mkdir()
    text = TINY.format(name="a").replace("[sweep.grid]", '[cluster]\npreset = "snitch_default"'
                                          '\nfpu.divsqrt.enabled = true\n[sweep.grid]')
    (cfgs / "a.toml").write_text(text)
    out, js = tmp_path / "out", tmp_path / "rows.json"
    assert main(["reproduce", "--quick", "--configs", str(cfgs), "-o", str(out), "--json",
                 str(js), "-j", "1", "--no-progress", "--no-plots"]) == 1
    rows = json.loads(js.read_text())["rows"]
    assert [r["simulated"] for r in rows] == [None, None]  # both read the VEXP kernel
    assert "NOT EVALUATED" in (out / "reproduce.md").read_text()
    err = capsys.readouterr().err
    assert "illegal instruction vfexp.h" in err and "error: row a_speedup:" in err

"""vexpsim run: the sweep runner (process pool, Dask), results.json / results.csv."""

import csv
import io
import json
from dataclasses import replace

import pytest

from vexpsim.cli import main
from vexpsim.experiments.kernelrun import load_kernels

SWEEP = """[experiment]
name = "tiny"
[workload]
seed = 1
[sweep.grid]
"workload.kernel" = ["softmax_baseline_row", "softmax_vexp_row"]
"workload.params.N" = [32, 64]
"""


@pytest.fixture
def exp_file(tmp_path):
    f = tmp_path / "tiny.toml"
    f.write_text(SWEEP)
    return f


def run(exp_file, out, *extra):
    assert main(["run", str(exp_file), "-o", str(out), "--no-progress", *extra]) == 0
    return json.loads((out / "results.json").read_text())


def without_host(d):
    return {k: v for k, v in d.items() if k != "host"}


def test_results_in_sweep_order_and_deterministic(exp_file, tmp_path):
    a = run(exp_file, tmp_path / "a", "-j", "1")
    b = run(exp_file, tmp_path / "b", "-j", "2")
    assert without_host(a) == without_host(b)
    assert a["host"]["jobs"] == 1 and b["host"]["jobs"] == 2
    assert b["host"]["executor"] == "process pool"
    assert [(p["kernel"], p["params"]["N"]) for p in a["points"]] == [
        ("softmax_baseline_row", 32), ("softmax_baseline_row", 64),
        ("softmax_vexp_row", 32), ("softmax_vexp_row", 64)]
    assert a["experiment"] == "tiny" and a["vexpsim_version"]
    assert a["config"]["workload"]["seed"] == 1  # config echo, defaults filled in
    assert a["summary"] == {"points": 4, "checks_passed": 4, "checks_failed": [],
                            "run_errors": []}
    # host timing lives only under "host"
    for p in a["points"]:
        assert "host_seconds" not in p["sim"] and "instructions_per_second" not in p["sim"]
        assert p["outputs"] == p["params"]["N"] and p["compute_cores"] == 1
    assert [h["index"] for h in a["host"]["points"]] == [0, 1, 2, 3]
    assert all(h["host_seconds"] > 0 for h in a["host"]["points"])


def test_seed_changes_inputs(exp_file, tmp_path):
    a = run(exp_file, tmp_path / "a", "-j", "1")
    b = run(exp_file, tmp_path / "b", "-j", "1", "--set", "workload.seed=2")
    assert [p["error"] for p in a["points"]] != [p["error"] for p in b["points"]]


def test_results_csv_matches_json(exp_file, tmp_path):
    d = run(exp_file, tmp_path, "-j", "1")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "results.csv").read_text())))
    assert len(rows) == len(d["points"])
    for row, p in zip(rows, d["points"], strict=True):
        assert row["kernel"] == p["kernel"] and int(row["param_N"]) == p["params"]["N"]
        assert int(row["cycles"]) == p["cycles"] and int(row["outputs"]) == p["outputs"]
        assert float(row["cycles_per_output"]) == p["cycles"] / p["outputs"]
        assert float(row["energy_pj"]) == p["energy_pj"]
        assert float(row["max_rel_error"]) == p["error"]["max_rel_error"]
        assert float(row["rmse"]) == p["error"]["rmse"]
        assert row["check_passed"] == "true" and row["run_error"] == ""
        assert row["config"] == p["config"] in ("vexp_paper", "paper_baseline")
        assert row["dist"] == "normal" and row["seed"] == "1"


def test_failed_check_exit_1_after_writing(exp_file, tmp_path, monkeypatch, capsys):
    ks = load_kernels()
    k = ks["softmax_vexp_row"]
    monkeypatch.setitem(ks, k.name, replace(k, tolerance=lambda p, inp: {"max_rel_error": 0.0}))
    out = tmp_path / "o"
    # -j 1 runs in this process, so the patched tolerance applies
    assert main(["run", str(exp_file), "-o", str(out), "-j", "1", "--no-progress"]) == 1
    d = json.loads((out / "results.json").read_text())
    assert d["summary"]["checks_failed"] == [2, 3] and d["summary"]["checks_passed"] == 2
    err = capsys.readouterr().err
    assert "tiny point 2 (softmax_vexp_row {'N': 32}): numerical check FAILED: max_rel_error" \
        in err
    rows = list(csv.DictReader(io.StringIO((out / "results.csv").read_text())))
    assert [r["check_passed"] for r in rows] == ["true", "true", "false", "false"]


def test_run_error_is_recorded_not_raised(tmp_path, capsys):
    f = tmp_path / "e.toml"
    f.write_text('[experiment]\nname = "e"\n[workload]\nkernel = "softmax_vexp_row"\n'
                 'params = { N = 32 }\n[cluster]\npreset = "snitch_default"\n'
                 '[sweep.grid]\n"cluster.preset" = ["snitch_default", "vexp_paper"]\n')
    assert main(["run", str(f), "-o", str(tmp_path / "o"), "-j", "1", "--no-progress"]) == 1
    d = json.loads((tmp_path / "o" / "results.json").read_text())
    assert "illegal instruction vfexp.h" in d["points"][0]["run_error"]
    assert d["points"][1]["check"]["passed"]
    assert d["summary"]["run_errors"] == [0]
    err = capsys.readouterr().err
    assert "point 0" in err and "run failed" in err and "Traceback" not in err


def test_progress_bar_on_stderr(exp_file, tmp_path, capsys):
    assert main(["run", str(exp_file), "-o", str(tmp_path), "-j", "1"]) == 0
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.startswith("[")]
    assert len(lines) == 4 and lines[-1].startswith("[" + "#" * 30 + "] 4/4")
    assert "kernel=softmax_vexp_row N=64" in lines[-1]


def test_dask_local_matches_process_pool(exp_file, tmp_path):
    pytest.importorskip("dask.distributed")
    a = run(exp_file, tmp_path / "a", "-j", "1")
    b = run(exp_file, tmp_path / "b", "-j", "2", "--dask", "local")
    assert without_host(a) == without_host(b)
    assert b["host"]["executor"] == "dask local"


def test_dask_missing_is_a_clear_error(exp_file, tmp_path, monkeypatch, capsys):
    import builtins

    real = builtins.__import__

    def fake(name, *a, **kw):
        if name.startswith("dask"):
            raise ImportError(name)
        return real(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", fake)
    assert main(["run", str(exp_file), "-o", str(tmp_path), "--dask", "local"]) == 1
    err = capsys.readouterr().err
    assert "pip install 'vexpsim[dask]'" in err and "Traceback" not in err


def test_bad_jobs_is_an_argparse_error(exp_file):
    with pytest.raises(SystemExit) as e:
        main(["run", str(exp_file), "-j", "0"])
    assert e.value.code == 2


def test_internal_error_is_recorded_with_traceback(exp_file, tmp_path, monkeypatch, capsys):
    ks = load_kernels()
    k = ks["softmax_vexp_row"]

    def broken(res, p):
        raise RuntimeError("simulated simulator bug")

    monkeypatch.setitem(ks, k.name, replace(k, outputs=broken))
    out = tmp_path / "o"
    assert main(["run", str(exp_file), "-o", str(out), "-j", "1", "--no-progress"]) == 1
    d = json.loads((out / "results.json").read_text())
    assert d["summary"]["run_errors"] == [2, 3] and d["summary"]["checks_passed"] == 2
    p = d["points"][2]
    assert p["run_error"] == "internal error (RuntimeError: simulated simulator bug)"
    assert "Traceback" in p["traceback"] and "broken" in p["traceback"]
    assert "Traceback" not in capsys.readouterr().err


def test_json_is_strict_with_non_finite_values():
    from vexpsim.experiments.runner import json_text

    text = json_text({"a": [float("inf"), -float("inf"), float("nan"), 1.5], "b": {"c": 2}})
    assert json.loads(text) == {"a": ["inf", "-inf", "nan", 1.5], "b": {"c": 2}}


def test_progress_redraws_in_place_on_a_terminal():
    from vexpsim.experiments.runner import Progress

    class Tty(io.StringIO):
        def isatty(self):
            return True

    s = Tty()
    bar = Progress(2, s, width=4)
    bar.update("a")
    bar.update("b", failed=True)
    text = s.getvalue()
    assert text.startswith("\r[##..] 1/2") and "\r[####] 2/2" in text
    assert text.endswith("b FAILED\x1b[K\n") and text.count("\n") == 1


def test_dask_bad_address_is_a_user_error(exp_file, tmp_path, capsys):
    pytest.importorskip("dask.distributed")
    assert main(["run", str(exp_file), "-o", str(tmp_path), "--dask", "nohost"]) == 1
    err = capsys.readouterr().err
    assert "--dask nohost: cannot connect to the scheduler" in err and "Traceback" not in err


def test_dry_run_lists_points_and_runs_nothing(exp_file, tmp_path, capsys):
    assert main(["run", str(exp_file), "-o", str(tmp_path / "o"), "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "tiny: 4 points"
    assert lines[4].split() == ["3", "softmax_vexp_row", "N=64", "dist=normal", "seed=1",
                                "cluster=vexp_paper", "[kernel=softmax_vexp_row", "N=64]"]
    assert not (tmp_path / "o").exists()


def _doubled_table(path):
    """The shipped table with every pJ and mW doubled, named "doubled"."""
    import re
    from importlib import resources
    text = resources.files("vexpsim.energy").joinpath("tables/gf12lp_0p8v.toml").read_text()
    text = text.replace('name = "gf12lp_0p8v"', 'name = "doubled"')
    text = re.sub(r"^(pj|mw) = ([0-9._]+)$",
                  lambda m: f"{m[1]} = {2 * float(m[2].replace('_', ''))!r}", text, flags=re.M)
    path.write_text(text)


def test_energy_table_of_an_experiment(exp_file, tmp_path):
    # energy.table: a path relative to the config file prices every point's run
    _doubled_table(tmp_path / "doubled.toml")
    a = run(exp_file, tmp_path / "a")
    exp_file.write_text(SWEEP + '[energy]\ntable = "doubled.toml"\n')
    b = run(exp_file, tmp_path / "b")
    for pa, pb in zip(a["points"], b["points"], strict=True):
        assert pa["energy_table"] == "gf12lp_0p8v" and pb["energy_table"] == "doubled"
        assert pb["cycles"] == pa["cycles"]
        assert pb["energy_pj"] == pytest.approx(2 * pa["energy_pj"], rel=1e-12)
    assert b["config"]["energy"]["table"] == str(tmp_path / "doubled.toml")
    # and the same from the command line
    exp_file.write_text(SWEEP)
    c = run(exp_file, tmp_path / "c", "--set", f'energy.table="{tmp_path / "doubled.toml"}"')
    assert [p["energy_pj"] for p in c["points"]] == [p["energy_pj"] for p in b["points"]]


def test_bad_energy_table_is_reported_with_its_key_path(exp_file, tmp_path, capsys):
    exp_file.write_text(SWEEP + '[energy]\ntable = "nope.toml"\n')
    assert main(["run", str(exp_file), "-o", str(tmp_path / "o"), "--no-progress"]) != 0
    err = capsys.readouterr().err
    assert f"{exp_file}: energy.table:" in err and "nope.toml" in err
    bad = tmp_path / "bad.toml"
    bad.write_text('[meta]\nname = "b"\nfrequency_hz = 1e9\n[events.a]\npj = 1\n'
                   'component = "c"\n')
    exp_file.write_text(SWEEP + '[energy]\ntable = "bad.toml"\n')
    assert main(["run", str(exp_file), "-o", str(tmp_path / "o"), "--no-progress"]) != 0
    err = capsys.readouterr().err
    assert "energy.table:" in err and "events.a.source: missing" in err
    assert not (tmp_path / "o" / "results.json").exists()


def test_energy_table_relative_to_the_working_directory(exp_file, tmp_path, monkeypatch):
    # a path that is not next to the config file is taken from the working directory
    (tmp_path / "w").mkdir()
    _doubled_table(tmp_path / "w" / "doubled.toml")
    monkeypatch.chdir(tmp_path / "w")
    c = run(exp_file, tmp_path / "c", "--set", 'energy.table="doubled.toml"')
    assert {p["energy_table"] for p in c["points"]} == {"doubled"}

"""vexpsim.experiments.config: experiment config validation and sweep expansion."""

import pytest

from vexpsim.cli import main
from vexpsim.errors import UserError
from vexpsim.experiments.config import load_experiment, select_points

HEAD = '[experiment]\nname = "t"\n'


def load(text, **kw):
    return load_experiment("exp.toml", text=HEAD + text, **kw)


def test_defaults_and_a_single_point():
    exp = load('[workload]\nkernel = "softmax_vexp_row"\n')
    assert len(exp.points) == 1
    p = exp.points[0]
    # kernel defaults, documented config defaults, the kernel's own preset
    assert p.params == {"N": 256} and p.dist == "normal" and p.seed == 0
    assert p.cluster["name"] == "vexp_paper" and p.coords == {}
    assert exp.config["sweep"] == {"grid": {}, "points": [], "quick": {}}


def test_grid_is_cartesian_first_key_outermost():
    exp = load('[workload]\nkernel = "softmax_vexp_row"\n[sweep.grid]\n'
               '"workload.seed" = [1, 2]\n"workload.params.N" = [32, 64, 96]\n')
    got = [(p.seed, p.params["N"]) for p in exp.points]
    assert got == [(1, 32), (1, 64), (1, 96), (2, 32), (2, 64), (2, 96)]
    assert [p.index for p in exp.points] == list(range(6))
    assert exp.points[4].coords == {"workload.seed": 2, "workload.params.N": 64}


def test_nested_and_quoted_keys_are_the_same_sweep():
    a = load('[workload]\nkernel = "softmax_vexp_row"\n[sweep]\n'
             'grid = { "workload.params.N" = [32, 64] }\n')
    b = load('[workload]\nkernel = "softmax_vexp_row"\n[sweep]\n'
             'grid = { workload.params.N = [32, 64] }\n')
    assert [p.params for p in a.points] == [p.params for p in b.points] == [{"N": 32}, {"N": 64}]


def test_points_list_and_points_times_grid():
    pts = ('points = [ { "workload.kernel" = "softmax_vexp_row", "workload.params.N" = 32 },'
           ' { "workload.kernel" = "softmax_baseline_row", "workload.params.N" = 48 } ]\n')
    exp = load("[sweep]\n" + pts)
    assert [(p.kernel, p.params["N"]) for p in exp.points] == [
        ("softmax_vexp_row", 32), ("softmax_baseline_row", 48)]
    exp = load("[sweep]\n" + pts + 'grid = { "workload.seed" = [0, 1] }\n')
    assert [(p.kernel, p.seed) for p in exp.points] == [
        ("softmax_vexp_row", 0), ("softmax_vexp_row", 1),
        ("softmax_baseline_row", 0), ("softmax_baseline_row", 1)]


def test_cluster_keys_sweep_on_top_of_the_kernel_preset():
    exp = load('[workload]\nkernel = "softmax_vexp_row"\n[sweep.grid]\n'
               '"cluster.fpu.lat_exp" = [1, 3]\n')
    assert [p.cluster["fpu"]["lat_exp"] for p in exp.points] == [1, 3]
    assert all(p.cluster["fpu"]["exp"]["enabled"] for p in exp.points)  # still vexp_paper
    exp = load('[workload]\nkernel = "softmax_vexp_row"\n[cluster]\npreset = "snitch_default"'
               '\n[sweep.grid]\n"cluster.preset" = ["snitch_default", "vexp_paper"]\n')
    assert [p.cluster["fpu"]["exp"]["enabled"] for p in exp.points] == [False, True]


def test_quick_replaces_grid_axes():
    text = ('[workload]\nkernel = "softmax_vexp_row"\n[sweep.grid]\n'
            '"workload.params.N" = [32, 64, 128]\n"workload.seed" = [0, 1]\n'
            '[sweep.quick]\n"workload.params.N" = [32]\n')
    assert len(load(text).points) == 6
    quick = load(text, quick=True)
    assert [(p.params["N"], p.seed) for p in quick.points] == [(32, 0), (32, 1)]


def test_set_pins_a_swept_key():
    text = ('[workload]\nkernel = "softmax_vexp_row"\n[sweep.grid]\n'
            '"workload.params.N" = [32, 64]\n"workload.seed" = [0, 1]\n')
    exp = load(text, overrides=["workload.params.N=48"])
    assert [(p.params["N"], p.seed) for p in exp.points] == [(48, 0), (48, 1)]
    assert "workload.params.N" not in exp.config["sweep"]["grid"]


def test_every_problem_with_its_key_path():
    text = ('[experiment]\nnam = "t"\n[workload]\nkernel = "softmax_vexp_row"\n'
            'dist = "cauchy"\n[sweep.grid]\n"workload.params.Q" = [1]\nfoo = [1]\n')
    with pytest.raises(UserError) as e:
        load_experiment("exp.toml", text=text)
    msgs = e.value.problems
    assert "exp.toml: experiment.nam: unknown key (did you mean name?)" in msgs
    assert any(m.startswith("exp.toml: experiment.name: missing required key") for m in msgs)
    assert any(m.startswith("exp.toml: workload.dist: expected one of") for m in msgs)
    assert any(m.startswith("exp.toml: sweep.grid.foo: not a sweepable key") for m in msgs)


def test_kernel_and_cluster_problems_after_expansion():
    text = ('[workload]\nkernel = "softmax_vexp_row"\nparams = { N = 20 }\n[cluster]\n'
            'preset = "vexp_paper"\nfpu.lat_exp = 0\n[sweep.grid]\n'
            '"workload.params.Q" = [1, 2]\n"cluster.cores" = [0, 4]\n')
    with pytest.raises(UserError) as e:
        load(text)
    msgs = e.value.problems
    assert ("exp.toml: sweep.grid.workload.params.Q: unknown parameter of kernel "
            "softmax_vexp_row; accepted: N") in msgs
    assert any("cluster.cores: expected an integer in [1, 64], got 0 (set by "
               "sweep.grid.cluster.cores[0])" in m for m in msgs)
    assert any("cluster.fpu.lat_exp: expected an integer" in m for m in msgs)
    assert any("workload.params: kernel softmax_vexp_row: N = 20 must be" in m for m in msgs)
    assert len(msgs) == len(set(msgs))  # a problem shared by many points is listed once


def test_unknown_kernel_with_suggestion():
    with pytest.raises(UserError, match=r"sweep.grid.workload.kernel\[1\]: unknown kernel "
                       r"softmax_vexp_rw \(did you mean softmax_vexp_row\?\)"):
        load('[sweep.grid]\n"workload.kernel" = ["softmax_vexp_row", "softmax_vexp_rw"]\n')
    with pytest.raises(UserError, match="workload.kernel: missing"):
        load("[workload]\nseed = 1\n")


def test_reproduce_selectors_are_checked_at_load():
    text = ('[sweep.grid]\n"workload.kernel" = ["softmax_vexp_row", "softmax_baseline_row"]\n'
            '"workload.params.N" = [32, 64]\n'
            '[[reproduce.rows]]\nid = "a"\nat = { "workload.params.N" = 32 }\n'
            '[[reproduce.rows]]\nid = "b"\nat = { "workload.kernel" = "softmax_vexp_row", '
            '"workload.params.N" = 128 }\n'
            '[[reproduce.rows]]\nid = "a"\nat = { "workload.kernel" = "softmax_vexp_row", '
            '"workload.params.N" = "max" }\n')
    with pytest.raises(UserError) as e:
        load(text)
    msgs = e.value.problems
    assert any("reproduce.rows[0].at: selects 2 points (add keys to select one)" in m
               for m in msgs)
    assert any("reproduce.rows[1].at: selects no point" in m for m in msgs)
    assert any("reproduce.rows[2].id: duplicate id 'a'" in m for m in msgs)
    assert not any("rows[2].at" in m for m in msgs)


def test_select_points_max_min():
    exp = load('[sweep.grid]\n"workload.kernel" = ["softmax_vexp_row", "softmax_baseline_row"]'
               '\n"workload.params.N" = [64, 32, 48]\n')
    (p,) = select_points(exp.points, {"workload.kernel": "softmax_baseline_row",
                                      "workload.params.N": "max"})
    assert (p.kernel, p.params["N"]) == ("softmax_baseline_row", 64)
    (p,) = select_points(exp.points, {"workload.kernel": "softmax_vexp_row",
                                      "workload.params.N": "min"})
    assert p.params["N"] == 32
    assert select_points(exp.points, {"workload.params.N": 99}) == []


def test_cli_reports_all_problems_without_traceback(tmp_path, capsys):
    f = tmp_path / "bad.toml"
    f.write_text(HEAD + '[workload]\nkernel = "softmax_vexp_row"\nseed = -1\n[sweep.grid]\n'
                 '"workload.params.Q" = [1]\n')
    assert main(["run", str(f), "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"{f}: workload.seed: expected an integer >= 0, got -1" in err
    assert not (tmp_path / "out").exists()  # nothing ran


def test_cli_bad_toml_syntax_names_line(tmp_path, capsys):
    f = tmp_path / "bad.toml"
    f.write_text('[experiment]\nname = \n')
    assert main(["run", str(f)]) == 1
    err = capsys.readouterr().err
    assert f"{f}:2:" in err and "Traceback" not in err


def test_cli_set_error_names_the_override(tmp_path, capsys):
    f = tmp_path / "e.toml"
    f.write_text(HEAD + '[workload]\nkernel = "softmax_vexp_row"\n')
    assert main(["run", str(f), "--set", "cluster.cores=0"]) == 1
    err = capsys.readouterr().err
    assert "cluster.cores" in err and "set by override 'cluster.cores=0'" in err


def test_set_cluster_without_cluster_table_keeps_the_kernel_preset():
    exp = load('[workload]\nkernel = "softmax_vexp_row"\n', overrides=["cluster.fpu.lat_exp=3"])
    (p,) = exp.points
    assert p.cluster["fpu"]["lat_exp"] == 3 and p.cluster["fpu"]["exp"]["enabled"]
    # with a [cluster] table the override applies to that table
    exp = load('[workload]\nkernel = "softmax_vexp_row"\n[cluster]\npreset = "snitch_default"\n',
               overrides=["cluster.fpu.lat_exp=3"])
    assert not exp.points[0].cluster["fpu"]["exp"]["enabled"]


def test_set_errors_name_the_override():
    with pytest.raises(UserError, match=r"workload.kernel: unknown kernel nope; .* \(set by "
                       r"override 'workload.kernel=nope'\)"):
        load('[workload]\nkernel = "softmax_vexp_row"\n', overrides=["workload.kernel=nope"])


def test_energy_table_key(tmp_path):
    f = tmp_path / "e.toml"
    f.write_text('[experiment]\nname = "e"\n[workload]\nkernel = "softmax_vexp_row"\n')
    assert load_experiment(f).config["energy"]["table"] == "gf12lp_0p8v"  # the default
    f.write_text('[experiment]\nname = "e"\n[workload]\ntype = "system"\nmodel = "vit-b16"\n'
                 'variant = "vexp"\n[energy]\ntable = "gf12lp_0p8v"\n')
    with pytest.raises(UserError, match="energy.table: not used by system workloads"):
        load_experiment(f)


@pytest.mark.parametrize("key,msg", [
    ("cores = 4", "written for 8 compute cores + 1 DMA core (hart 8, kernels/lib/spmd.S); "
                  "the cluster has 4 + 1"),
    ("tcdm.size = 262144", "sizes its buffers for a 128 KiB TCDM; the cluster's tcdm.size is "
                           "262144 B"),
])
def test_spmd_kernel_on_another_cluster_layout_is_refused(tmp_path, key, msg):
    # the SPMD kernels are written for 8 + 1 harts and a 128 KiB TCDM: another layout would
    # run, but not as the kernel intends (hart 4 of a 4-core cluster is its DMA core)
    f = tmp_path / "c.toml"
    f.write_text('[experiment]\nname = "c"\n[workload]\nkernel = "softmax_vexp"\n'
                 f'[cluster]\npreset = "vexp_paper"\n{key}\n')
    with pytest.raises(UserError, match="cluster: kernel softmax_vexp") as e:
        load_experiment(f)
    assert msg in str(e.value)
    # single-core kernels run on any layout
    f.write_text('[experiment]\nname = "c"\n[workload]\nkernel = "softmax_vexp_row"\n'
                 f'[cluster]\npreset = "vexp_paper"\n{key}\n')
    assert load_experiment(f).points


def test_run_kernel_refuses_another_layout():
    from vexpsim.arch.config import load_cluster_config
    from vexpsim.experiments.kernelrun import run_kernel
    c = load_cluster_config(preset="vexp_paper", overrides=["cores=4"])
    with pytest.raises(UserError, match="written for 8 compute cores"):
        run_kernel("residual", {"rows": 8, "cols": 64}, cluster=c)

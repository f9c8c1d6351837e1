"""Workload type "system" (vexpsim/experiments/system_sweep.py): a whole-model prefill per
point with simulated tiles, through the experiment runner (tile stage on the pool or Dask,
then the schedule from the cache), the config checks, rows and plots.

The GEMM and FA-2 tiles of the tiny test model are put into the cache beforehand with the
ANALYTICAL provider (their kernels may not be registered yet); every other tile (LayerNorm,
GELU, residual, softmax) is simulated for real."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vexpsim.arch.tilecost import CachedProvider
from vexpsim.cli import main
from vexpsim.errors import UserError
from vexpsim.experiments.config import load_experiment
from vexpsim.experiments.runner import run_experiment
from vexpsim.experiments.simprovider import SimProvider
from vexpsim.experiments.system_sweep import tile_requests
from vexpsim.experiments.workloads.analytical import AnalyticalCostProvider

MODEL = str(Path(__file__).parent / "data" / "tiny-decoder.toml")

EXP = f"""
[experiment]
name = "tiny_e2e"

[workload]
type = "system"
model = "{MODEL}"
system_set = ["clusters=2", "groups=1"]

[sweep.grid]
"workload.variant" = ["baseline", "vexp"]

[reproduce.plot]

[[reproduce.rows]]
id = "tiny_latency_speedup"
metric = "latency_cycles"
at = {{ "workload.variant" = "baseline" }}
over = {{ "workload.variant" = "vexp" }}
"""


def _prefill_gemm_fa2(exp, cache: Path) -> None:
    sim = SimProvider()
    ana = CachedProvider(AnalyticalCostProvider(), cache)
    for p in exp.points:
        for k, s, v in tile_requests(p.system):
            if k in ("gemm", "fa2"):
                ana.cost(k, s, v, sim.cluster_config_id(v))


@pytest.fixture(scope="module")
def warm(tmp_path_factory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("e2e")
    cfg = d / "tiny.toml"
    cfg.write_text(EXP)
    cache = d / "cache"
    _prefill_gemm_fa2(load_experiment(cfg), cache)
    return cfg, cache


def _strip(res: dict) -> dict:
    res = dict(res)
    res.pop("host")
    return res


def test_system_points_pool_and_cache(warm) -> None:
    cfg, cache = warm
    exp = load_experiment(cfg)
    assert [p.system["variant"] for p in exp.points] == ["baseline", "vexp"]
    cold = run_experiment(exp, jobs=2, progress=False, cache=cache)
    tiles = cold["host"]["tiles"]
    assert tiles["tiles_simulated"] > 0 and not tiles["tile_errors"]
    b, v = cold["points"]
    assert b["check"]["passed"] and v["check"]["passed"]
    assert b["graph_tile_cost_sources"]["simulated"] >= 4  # layernorm, residual, gelu, softmax
    # the software-exp GELU and softmax make the baseline slower; GEMMs are the same tiles
    assert b["latency_cycles"] > v["latency_cycles"]
    assert b["compute_cycles_by_region"]["gemm"] == pytest.approx(
        v["compute_cycles_by_region"]["gemm"])
    assert b["compute_cycles_by_region"]["gelu"] > 10 * v["compute_cycles_by_region"]["gelu"]
    for r in (b, v):
        assert sum(r["shares"]["time"].values()) == pytest.approx(1.0)
        assert sum(r["shares"]["energy"][k] for k in ("gemm", "softmax", "gelu", "rest")) \
            == pytest.approx(1.0)
    from vexpsim.report.tables import results_csv
    lines = results_csv(cold["points"]).splitlines()
    head = lines[0].split(",")
    assert {"model", "variant", "latency_s"} <= set(head)
    row = dict(zip(head, lines[1].split(","), strict=True))
    assert row["variant"] == "baseline"
    assert float(row["energy_pj"]) == pytest.approx(b["energy_pj"]["total"])
    warm_res = run_experiment(exp, jobs=1, progress=False, cache=cache)
    assert warm_res["host"]["tiles"]["tiles_simulated"] == 0
    assert all(h["tile_runs"] == 0 for h in warm_res["host"]["points"])
    assert _strip(warm_res) == _strip(cold)


def test_dask_cold_tiles_same_results(warm, tmp_path) -> None:
    pytest.importorskip("dask.distributed")
    cfg, cache = warm
    exp = load_experiment(cfg)
    fresh = tmp_path / "cache"
    _prefill_gemm_fa2(exp, fresh)
    b = run_experiment(exp, jobs=2, dask="local", progress=False, cache=fresh)
    assert b["host"]["executor"] == "dask local"
    assert b["host"]["tiles"]["tiles_simulated"] > 0
    assert _strip(b) == _strip(run_experiment(exp, jobs=1, progress=False, cache=cache))


def test_reproduce_rows_and_plot(warm, tmp_path, capsys) -> None:
    cfg, cache = warm
    cfgs = tmp_path / "paper"
    cfgs.mkdir()
    (cfgs / "tiny.toml").write_text(cfg.read_text())
    out, js = tmp_path / "out", tmp_path / "rows.json"
    assert main(["reproduce", "--configs", str(cfgs), "-o", str(out), "--json", str(js),
                 "-j", "1", "--no-progress", "--cache", str(cache)]) == 0
    rows = json.loads(js.read_text())["rows"]
    assert rows[0]["id"] == "tiny_latency_speedup" and rows[0]["simulated"] > 1
    assert (out / "tiny_e2e_tiny-decoder.png").stat().st_size > 0


def test_missing_kernel_is_reported(tmp_path, capsys, monkeypatch) -> None:
    """A tile whose kernel is not registered fails the point with a message naming it."""
    from vexpsim.experiments import simprovider as sp
    monkeypatch.setitem(sp.TILE_KERNELS, ("vexp", "layernorm"),
                        sp.TileKernel("no_such_kernel", sp._rows, "layernorm"))
    cfg = tmp_path / "t.toml"
    cfg.write_text(EXP.replace('"workload.variant" = ["baseline", "vexp"]',
                               '"workload.variant" = ["vexp"]').replace(
        'at = { "workload.variant" = "baseline" }', 'at = { "workload.variant" = "vexp" }'))
    _prefill_gemm_fa2(load_experiment(cfg), tmp_path / "c")  # keep the test short
    rc = main(["run", str(cfg), "-o", str(tmp_path / "o"), "-j", "1", "--no-progress",
               "--cache", str(tmp_path / "c")])
    assert rc == 1
    assert "needs the kernel 'no_such_kernel'" in capsys.readouterr().err


@pytest.mark.parametrize("edit,msg", [
    (('model = "', 'model = "gpt2-smal'), "unknown model"),
    (('"workload.variant" = ["baseline", "vexp"]', '"workload.variant" = ["fast"]'),
     "expected baseline or vexp"),
])
def test_config_errors(tmp_path, edit, msg) -> None:
    cfg = tmp_path / "t.toml"
    text = EXP.replace(*edit)
    if "gpt2-smal" in text:
        text = text.replace(f'gpt2-smal{MODEL}"', 'gpt2-smal"')
    cfg.write_text(text)
    with pytest.raises(UserError, match=msg):
        load_experiment(cfg)


def test_run_quick_refuses_skip_quick(tmp_path, capsys) -> None:
    from vexpsim.experiments.run_cli import PAPER_DIR
    assert main(["run", str(PAPER_DIR / "end_to_end.toml"), "--quick"]) == 1
    assert "has no --quick version" in capsys.readouterr().err

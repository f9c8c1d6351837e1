"""`vexpsim bench` and its programs."""

from __future__ import annotations

import json

from vexpsim import cli
from vexpsim.arch.bench import bench


def test_bench_programs_scale_and_frep_ssr_runs_one_fp_instruction_per_cycle():
    s1, s2 = bench("scalar", 10, True, 1), bench("scalar", 20, True, 1)
    assert s2["instructions"] - s1["instructions"] == 7 * 10  # 7 instructions per iteration
    # per iteration: lw, add waits for the load (use at +4, snitch_cluster.md §8), 5 more
    assert s2["cycles"] - s1["cycles"] == (7 + 3) * 10
    f1, f2 = bench("frep_ssr", 2, True, 1), bench("frep_ssr", 4, True, 1)
    assert f2["instructions"] - f1["instructions"] == 2 * (1 + 8 * 64 + 2)
    # steady state: the sequencer issues one FMA per cycle from the streams while the core
    # runs the loop branch ahead (§4.1, §4.2)
    assert f2["cycles"] - f1["cycles"] == 2 * 8 * 64
    off = bench("frep_ssr", 2, False, 1)
    assert off["instructions"] == f1["instructions"] and off["cycles"] == off["instructions"]


def test_spmd_benches_run_every_hart_without_conflicts():
    s = bench("scalar_spmd", 10, True, 1)
    r = bench("frep_ssr_spmd_rand", 1, True, 1)
    assert r["instructions"] == bench("frep_ssr_spmd", 1, True, 1)["instructions"]
    long = bench("frep_ssr_spmd_rand_long", 1, True, 1)  # 2048-element buffers
    # 8 cores x 8 FMAs x L iterations, L = 2048 instead of 64 (+ a few wider constants)
    assert long["instructions"] - r["instructions"] - 8 * 8 * (2048 - 64) in range(0, 17)
    b = bench("frep_bf16_spmd", 2, True, 1)  # 8 cores x one FREP of 64 iterations x 8
    assert b["instructions"] > 8 * 512 and b["cycles"] < 2 * 512 + 100
    assert s["harts"] == 9 and s["instructions"] >= 9 * 70
    f = bench("frep_ssr_spmd", 1, True, 1)
    # 8 cores x one FREP of 64 iterations x 8 FMAs, streams in different banks: about one
    # FMA per cycle per core
    assert f["instructions"] > 8 * 512 and f["cycles"] < 512 + 60


def test_bench_cli(tmp_path, capsys):
    out = tmp_path / "b.json"
    assert cli.main(["bench", "--scale", "0.002", "--repeat", "1", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert [(r["program"], r["timing"]) for r in rows] == [
        ("scalar", False), ("scalar", True), ("frep_ssr", False), ("frep_ssr", True),
        ("scalar_spmd", False), ("scalar_spmd", True),
        ("frep_ssr_spmd", False), ("frep_ssr_spmd", True),
        ("frep_ssr_spmd_rand", False), ("frep_ssr_spmd_rand", True),
        ("frep_ssr_spmd_rand_long", False), ("frep_ssr_spmd_rand_long", True),
        ("frep_bf16_spmd", False), ("frep_bf16_spmd", True)]
    assert all(r["instructions_per_second"] > 0 and r["cpu_seconds_with_setup"] > 0
               for r in rows)
    assert "M instr/s" in capsys.readouterr().out
    assert cli.main(["bench", "--scale", "0"]) == 1
    assert "--scale must be positive" in capsys.readouterr().err
    assert cli.main(["bench", "--program", "nope"]) == 1
    assert "unknown program 'nope'" in capsys.readouterr().err
    assert cli.main(["bench", "--scale", "0.002", "--repeat", "1", "--program", "frep_ssr",
                     "--json", str(out)]) == 0
    assert [r["program"] for r in json.loads(out.read_text())] == ["frep_ssr", "frep_ssr"]

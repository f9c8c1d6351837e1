"""vexpsim.report.tables: CSV of points and the reproduce Markdown table."""

import csv
import io

from vexpsim.report.tables import format_number, reproduce_markdown, results_csv


def test_csv_union_of_params_and_failed_points():
    pts = [{"index": 0, "kernel": "a", "dist": "normal", "seed": 0, "config": "c",
            "params": {"N": 32}, "cycles": 64, "outputs": 32, "energy_pj": 1.5,
            "error": {"max_rel_error": 0.25}, "check": {"passed": True}},
           {"index": 1, "kernel": "b", "dist": "normal", "seed": 0, "config": "c",
            "params": {"N": 8, "M": 2}, "run_error": "boom"}]
    rows = list(csv.DictReader(io.StringIO(results_csv(pts))))
    assert rows[0]["param_N"] == "32" and rows[0]["param_M"] == ""
    assert rows[0]["cycles_per_output"] == "2.0" and rows[0]["max_rel_error"] == "0.25"
    assert rows[0]["check_passed"] == "true"
    assert rows[1]["param_M"] == "2" and rows[1]["cycles"] == ""
    assert rows[1]["check_passed"] == "false" and rows[1]["run_error"] == "boom"


def test_csv_has_swept_cluster_keys():
    pts = [{"index": i, "kernel": "a", "params": {"N": 8}, "point": {"cluster.fpu.lat_exp": v,
            "workload.params.N": 8}, "check": {"passed": True}} for i, v in enumerate((1, 4))]
    rows = list(csv.DictReader(io.StringIO(results_csv(pts))))
    assert [r["cluster.fpu.lat_exp"] for r in rows] == ["1", "4"]
    assert "workload.params.N" not in rows[0]  # already the param_N column


def test_markdown_table():
    md = reproduce_markdown([{"id": "x_speedup", "paper": 162.7, "simulated": 81.35,
                              "ratio": 0.5, "unit": "x", "at": "a / b", "note": "n",
                              "source": "s"},
                             {"id": "y", "paper": None, "simulated": 3.0, "ratio": None,
                              "unit": "", "at": ""}], title="T")
    lines = md.splitlines()
    assert lines[0] == "# T"
    assert "| x_speedup | 162.7 | 81.35 | 0.500 | x | a / b |" in lines
    assert "| y | - | 3 | - |  |  |" in lines
    assert "- `x_speedup`: n; paper: s" in lines


def test_format_number():
    assert format_number(None) == "-"
    assert format_number(2.125) == "2.125"
    assert format_number(32534.0) == "32,534"
    assert format_number(1.5e-5) == "1.5e-05"


def test_markdown_row_not_evaluated():
    md = reproduce_markdown([{"id": "z", "paper": 1.0, "simulated": None, "ratio": None,
                              "unit": "x", "at": "", "error": "point 3 did not run"}])
    assert "| z | 1 | - | - | x |  |" in md
    assert "- `z`: NOT EVALUATED: point 3 did not run" in md

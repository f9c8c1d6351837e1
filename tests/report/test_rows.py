"""vexpsim.report.rows: reproduce rows evaluated on synthetic records."""

import math

import pytest

from vexpsim.errors import UserError
from vexpsim.experiments.config import Point
from vexpsim.report.rows import evaluate_row, evaluate_rows, record_value


def point(i, kernel, n):
    return Point(i, {"workload.kernel": kernel, "workload.params.N": n}, kernel, {"N": n},
                 "normal", 0, {"name": "c", "cores": 8})


def rec(i, kernel, n, cycles, **extra):
    return {"index": i, "kernel": kernel, "params": {"N": n}, "cycles": cycles,
            "outputs": n, "compute_cores": 8, "energy_pj": 10.0 * cycles,
            "phases_cycles": {"exp": cycles // 2}, **extra}


POINTS = [point(0, "base", 32), point(1, "base", 64), point(2, "fast", 32), point(3, "fast", 64)]
RESULTS = {"points": [rec(0, "base", 32, 3200), rec(1, "base", 64, 7000),
                      rec(2, "fast", 32, 100), rec(3, "fast", 64, 140)]}


def row(**kw):
    base = {"id": "r", "paper": None, "unit": "", "metric": "cycles", "at": {}, "over": None,
            "per": [], "times": [], "note": "", "source": ""}
    return {**base, **kw}


def test_ratio_between_two_points_at_max():
    r = row(id="speedup", paper=50.0, unit="x",
            at={"workload.kernel": "base", "workload.params.N": "max"},
            over={"workload.kernel": "fast", "workload.params.N": "max"})
    (out,) = evaluate_rows(RESULTS, POINTS, [r], origin="e.toml")
    assert out["simulated"] == 7000 / 140
    assert out["ratio"] == (7000 / 140) / 50.0
    assert out["id"] == "speedup" and out["unit"] == "x" and out["paper"] == 50.0
    assert out["at"] == "base N=64 / fast N=64"


def test_per_and_times():
    r = row(at={"workload.kernel": "base", "workload.params.N": 32}, per=["outputs"],
            times=["compute_cores"])
    (out,) = evaluate_rows(RESULTS, POINTS, [r], origin="e.toml")
    assert out["simulated"] == 3200 * 8 / 32 and out["ratio"] is None


def test_nested_metric_and_energy_ratio():
    r = row(metric="phases_cycles.exp", at={"workload.kernel": "base", "workload.params.N": 64})
    assert evaluate_rows(RESULTS, POINTS, [r], origin="e")[0]["simulated"] == 3500
    r = row(metric="energy_pj", at={"workload.kernel": "base", "workload.params.N": "min"},
            over={"workload.kernel": "fast", "workload.params.N": "min"})
    assert evaluate_rows(RESULTS, POINTS, [r], origin="e")[0]["simulated"] == 32000 / 1000


def test_missing_metric_names_row_and_point():
    r = row(metric="phases_cycles.nope", at={"workload.kernel": "fast", "workload.params.N": 32})
    (out,) = evaluate_rows(RESULTS, POINTS, [r], origin="e.toml")
    assert out["simulated"] is None
    assert out["error"].startswith("e.toml: reproduce.rows[0].metric: 'phases_cycles.nope' is "
                                   "not in the record of point 2")


def test_failed_run_is_an_error_and_zero_divisor_is_inf():
    bad = {"index": 5, "kernel": "k", "params": {}, "run_error": "boom"}
    with pytest.raises(UserError, match="point 5 did not run: boom"):
        evaluate_row(row(at={"workload.kernel": "k"}), bad, None)
    zero = rec(0, "k", 0, 10)
    assert math.isinf(evaluate_row(row(at={"workload.kernel": "k"}, per=["outputs"]), zero,
                                   None)["simulated"])


def test_unevaluable_row_is_reported_not_raised():
    results = {"points": [dict(RESULTS["points"][0]), {"index": 1, "kernel": "base",
                                                        "params": {"N": 64}, "run_error": "boom"},
                          *RESULTS["points"][2:]]}
    rows = [row(id="a", paper=2.0, at={"workload.kernel": "base", "workload.params.N": 64}),
            row(id="b", at={"workload.kernel": "fast", "workload.params.N": 64})]
    a, b = evaluate_rows(results, POINTS, rows, origin="e.toml")
    assert a["simulated"] is None and a["ratio"] is None
    assert "point 1 did not run: boom" in a["error"]
    assert b["simulated"] == 140 and "error" not in b


def test_record_value():
    assert record_value({"a": {"b": 2}}, "a.b") == 2
    with pytest.raises(KeyError):
        record_value({"a": 1}, "a.b")

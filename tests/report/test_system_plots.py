"""End-to-end plots (vexpsim/report/plots.py): the sequence-length table pairs the variants
of each (model, length) and the plots are written."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from vexpsim.report.plots import seq_sweep_table, system_plots


def _rec(model: str, seq: int, variant: str, cycles: float, energy: float,
         softmax: float) -> dict:
    return {"model": model, "seq_len": seq, "variant": variant, "latency_cycles": cycles,
            "latency_s": cycles * 1e-9, "energy_pj": {"total": energy},
            "shares": {"time": {"gemm": 1 - softmax - 0.1, "softmax": softmax, "gelu": 0.1,
                                "rest": 0.0},
                       "energy": {"gemm": 0.5, "softmax": 0.3, "gelu": 0.1, "rest": 0.1}}}


def test_seq_table_and_plots(tmp_path) -> None:
    recs = [_rec("m", 256, "baseline", 300.0, 90.0, 0.2), _rec("m", 256, "vexp", 200.0, 60.0, 0.0),
            _rec("m", 512, "baseline", 500.0, 120.0, 0.4), _rec("m", 512, "vexp", 250.0, 80.0, 0.0),
            _rec("n", 512, "baseline", 100.0, 10.0, 0.3)]  # no VEXP point: no table row
    rows = seq_sweep_table({(r["model"], r["seq_len"]): [x for x in recs if
                            (x["model"], x["seq_len"]) == (r["model"], r["seq_len"])]
                            for r in recs})
    assert [(r["model"], r["seq"]) for r in rows] == [("m", 256), ("m", 512)]
    assert rows[0]["speedup"] == pytest.approx(1.5) and rows[1]["energy_ratio"] == 1.5
    assert rows[1]["softmax_share"] == 0.4 and rows[1]["gelu_share"] == 0.1
    points = [SimpleNamespace(index=i, system={}) for i in range(len(recs))]
    written = system_plots({"experiment": "e", "points": recs}, points, tmp_path, "e")
    names = sorted(p.name for p in written)
    assert names == ["e_m_256.png", "e_m_512.png", "e_n.png", "e_vs_seq.png"]
    assert all(p.stat().st_size > 0 for p in written)


def test_no_seq_plot_with_one_length_per_model(tmp_path) -> None:
    recs = [_rec("m", 256, "baseline", 300.0, 90.0, 0.2), _rec("n", 512, "vexp", 200.0, 60.0, 0.0)]
    points = [SimpleNamespace(index=i, system={}) for i in range(len(recs))]
    written = system_plots({"experiment": "e", "points": recs}, points, tmp_path, "e")
    assert sorted(p.name for p in written) == ["e_m.png", "e_n.png"]

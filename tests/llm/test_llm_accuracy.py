"""Perplexity over sliding windows, the JSON record and the `accuracy` command."""

import argparse
import json

import numpy as np
import pytest

from vexpsim.errors import UserError
from vexpsim.llm import cli
from vexpsim.llm.accuracy import evaluate, flat_keys, log_softmax, read_text, table, windows
from vexpsim.llm.softmax import make_attention


@pytest.mark.parametrize("n,window,stride", [(1, 4, 2), (10, 4, 2), (11, 4, 4), (100, 32, 7),
                                             (5, 8, 3), (9, 4, 1)])
def test_windows_score_every_target_once_with_enough_context(n, window, stride):
    scored = []
    for b, e, first in windows(n, window, stride):
        assert 0 <= b <= first < e <= n and e - b <= window
        assert first == 0 or first - b >= window - stride  # context of the first scored
        scored.extend(range(first, e))
    assert scored == list(range(n))


def test_windows_reject_bad_sizes():
    for w, s in [(0, 1), (4, 0), (4, 5)]:
        with pytest.raises(ValueError):
            windows(10, w, s)


def test_single_window_equals_one_forward_pass(lm, gpl3_ids):
    ids = gpl3_ids[:41]
    res = evaluate(lm, ids, ["vexp"], window=64, stride=64)
    lp = log_softmax(lm.forward(ids[:40], make_attention("reference")))
    nll = -lp[np.arange(40), ids[1:41]]
    assert res["tokens"] == 40 and res["windows"] == 1
    assert res["variants"]["reference"]["ppl"] == pytest.approx(np.exp(nll.mean()), rel=1e-9)
    top1 = np.argmax(lp, axis=-1)
    assert res["variants"]["reference"]["top1_accuracy"] == pytest.approx(
        np.mean(top1 == np.asarray(ids[1:41])))


def test_sliding_windows_and_variant_metrics(lm, gpl3_ids):
    res = evaluate(lm, gpl3_ids[:65], ["schraudolph", "vexp"], window=32, stride=16)
    v = res["variants"]
    assert list(v) == ["reference", "schraudolph", "vexp"]
    assert res["tokens"] == 64 and res["windows"] == 3
    assert v["reference"]["top1_agreement"] == 1.0
    assert "mean_kl_vs_reference" not in v["reference"]
    for name in ("vexp", "schraudolph"):
        assert v[name]["mean_kl_vs_reference"] > 0
        assert abs(v[name]["ppl"] / v["reference"]["ppl"] - 1) < 0.01
    assert v["vexp"]["mean_kl_vs_reference"] < v["schraudolph"]["mean_kl_vs_reference"]
    flat = flat_keys(res)
    for key in ("ppl_reference", "ppl_vexp", "ppl_schraudolph", "top1_agreement_vexp",
                "top1_agreement_schraudolph"):
        assert flat[key] == pytest.approx(v[key.split("_")[-1]][
            "ppl" if key.startswith("ppl") else "top1_agreement"])
    assert "| vexp |" in table(res) and "| reference |" in table(res)


def test_reference_runs_first_and_once(lm, gpl3_ids):
    res = evaluate(lm, gpl3_ids[:9], ["vexp", "reference", "vexp"], window=8, stride=8)
    assert list(res["variants"]) == ["reference", "vexp"]


def test_unknown_variant_is_a_user_error(lm):
    with pytest.raises(UserError, match="unknown variant 'nope'"):
        evaluate(lm, [1, 2, 3], ["nope"])


def test_missing_text_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="file not found"):
        read_text(tmp_path / "none.txt")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\xfa")
    with pytest.raises(UserError, match="UTF-8"):
        read_text(bad)


def _parse(argv):
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    return parser.parse_args(argv)


def test_accuracy_command_writes_the_json_record(model, tmp_path, capsys):
    out = tmp_path / "sub" / "acc.json"
    args = _parse(["accuracy", "--tokens", "24", "--window", "16", "--stride", "8",
                   "--json", str(out), "--quiet"])
    assert args.func(args) == 0
    data = json.loads(out.read_text())
    for key in ("ppl_reference", "ppl_vexp", "ppl_schraudolph", "ppl_bf16_exact",
                "top1_agreement_vexp", "tokens"):
        assert key in data, key
    assert data["tokens"] == 24 and data["windows"] == 2
    assert data["text"].endswith("GPL-3")
    assert "| vexp |" in capsys.readouterr().out


def test_accuracy_command_reports_all_bad_options(tmp_path):
    args = _parse(["accuracy", "--window", "1", "--stride", "5", "--tokens", "0"])
    with pytest.raises(UserError) as e:
        args.func(args)
    assert len(e.value.problems) == 3
    args = _parse(["accuracy", "--json", str(tmp_path)])
    with pytest.raises(UserError, match="is a directory"):
        args.func(args)


def test_text_too_short_for_tokens(model, tmp_path):
    short = tmp_path / "short.txt"
    short.write_text("Just a few words.")
    args = _parse(["accuracy", "--text", str(short), "--tokens", "100"])
    with pytest.raises(UserError, match="fewer than the 101 needed"):
        args.func(args)


def test_deterministic(lm, gpl3_ids):
    a, b = (evaluate(lm, gpl3_ids[:17], ["vexp"], window=16, stride=8) for _ in range(2))
    for r in (a, b):
        for s in r["variants"].values():
            s.pop("seconds")
    assert a == b


def test_through_the_vexpsim_command(capsys):
    import vexpsim.cli as main_cli

    assert main_cli.main(["accuracy", "--stride", "0"]) == 1
    err = capsys.readouterr().err
    assert "error: --stride must be between 1 and --window (512), got 0" in err
    assert "Traceback" not in err

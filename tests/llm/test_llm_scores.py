"""Real attention inputs exported for the kernel experiments."""

import argparse
import json

import numpy as np
import pytest

from vexpsim.errors import UserError
from vexpsim.llm import cli, scores
from vexpsim.numerics.reference import attention_reference, flash_attention_2, softmax_reference

T = 12


@pytest.fixture(scope="module")
def cap(lm, gpl3_ids):
    return scores.capture(lm, gpl3_ids[:T], layers=[29, 0])


def test_capture_shapes_and_scores(cap):
    assert cap.layers.tolist() == [0, 29]
    assert cap.q.shape == cap.k.shape == cap.v.shape == (2, 9, T, 64)
    assert cap.scores.shape == (2, 9, T, T)
    for li in range(2):
        s = cap.q[li] @ cap.k[li].transpose(0, 2, 1) / 8.0
        mask = np.tril(np.ones((T, T), dtype=bool))
        np.testing.assert_allclose(cap.scores[li][:, mask], s[:, mask], rtol=1e-5, atol=1e-5)
        assert np.all(np.isneginf(cap.scores[li][:, ~mask]))
    # grouped-query attention: query heads 0-2 share KV head 0
    assert np.array_equal(cap.k[0, 0], cap.k[0, 2]) and not np.array_equal(cap.k[0, 0],
                                                                            cap.k[0, 3])


def test_head_inputs_drive_the_kernel_references(cap):
    q, k, v = cap.head_inputs(29, 4)
    ref = attention_reference(q, k, v, causal=True)
    rows = cap.softmax_rows(29, 4)
    assert [len(r) for r in rows] == list(range(1, T + 1))
    np.testing.assert_allclose(ref[5], softmax_reference(rows[5]) @ v[:6], rtol=1e-4,
                               atol=1e-6)
    fa = flash_attention_2(q, k, v, br=4, bc=4, causal=True)
    np.testing.assert_allclose(fa, ref, rtol=1e-9, atol=1e-12)
    with pytest.raises(UserError, match="layer 3 not captured"):
        cap.head_inputs(3, 0)


def test_save_load_round_trip(cap, tmp_path):
    p = tmp_path / "d" / "att.npz"
    scores.save(cap, p)
    back = scores.load(p)
    for name in ("q", "k", "v", "scores", "layers", "tokens"):
        assert np.array_equal(getattr(back, name), getattr(cap, name)), name
    assert back.meta == cap.meta and back.meta["scale"] == 0.125


def test_load_rejects_other_files(tmp_path):
    p = tmp_path / "x.npz"
    np.savez(p, a=np.zeros(2))
    with pytest.raises(UserError, match="not an attention capture"):
        scores.load(p)
    (tmp_path / "y.npz").write_text("nope")
    with pytest.raises(UserError, match="cannot read"):
        scores.load(tmp_path / "y.npz")


def test_exp_input_stats(cap):
    st = scores.exp_input_stats(cap)
    assert st["tokens"] == T and [r["layer"] for r in st["layers"]] == [0, 29]
    for r in st["layers"]:
        assert sum(r["fraction_by_bin"].values()) == pytest.approx(1.0)
        assert r["exp_input_min"] <= r["exp_input_mean"] <= 0
        assert r["fraction_by_bin"]["[0,inf)"] >= T / (T * (T + 1) / 2)  # each row's max


def test_layer_out_of_range(lm):
    with pytest.raises(UserError, match=r"layer\(s\) \[30\] out of range"):
        scores.capture(lm, [1, 2, 3], layers=[30])


def test_attention_scores_command(model, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    out, js = tmp_path / "s.npz", tmp_path / "s.json"
    args = parser.parse_args(["attention-scores", "--out", str(out), "--tokens", "8",
                              "--layers", "1,2", "--json", str(js)])
    assert args.func(args) == 0
    assert scores.load(out).scores.shape == (2, 9, 8, 8)
    assert len(json.loads(js.read_text())["layers"]) == 2
    assert "layer  1" in capsys.readouterr().out
    args = parser.parse_args(["attention-scores", "--out", str(out), "--tokens", "0"])
    with pytest.raises(UserError, match="--tokens must be >= 1"):
        args.func(args)
    args = parser.parse_args(["attention-scores", "--out", str(out), "--layers", "a,b"])
    with pytest.raises(UserError, match="comma-separated integers"):
        args.func(args)


def test_from_model_entry_point(model, gpl3_ids, tmp_path):
    cap = scores.from_model(6, layers=[3])
    assert cap.tokens.tolist() == gpl3_ids[:6] and cap.scores.shape == (1, 9, 6, 6)
    short = tmp_path / "short.txt"
    short.write_text("Two words")
    with pytest.raises(UserError, match="fewer than 50"):
        scores.from_model(50, text=short)


def test_attention_score_rows_are_the_recent_keys_of_consecutive_queries(lm):
    rows = scores.attention_score_rows((3, 8), np.random.default_rng(4), layer=29)
    again = scores.attention_score_rows((3, 8), np.random.default_rng(4), layer=29)
    assert rows.shape == (3, 8) and np.array_equal(rows, again) and np.all(np.isfinite(rows))
    cap = scores._capture_cached(10, 29)
    head = int(np.random.default_rng(4).integers(cap.scores.shape[1]))
    s = cap.scores[0, head]
    for k in range(3):
        np.testing.assert_array_equal(rows[k], s[7 + k, k:8 + k])
    assert scores.attention_score_rows((8,), np.random.default_rng(4), layer=29).shape == (8,)
    with pytest.raises(UserError, match="must be"):
        scores.attention_score_rows((2, 2, 2), np.random.default_rng(0))

from dataclasses import fields
from importlib import resources

import pytest

from vexpsim.errors import UserError
from vexpsim.experiments.workloads.transformer import (
    MODELS,
    ModelConfig,
    attention_pairs,
    build_graph,
    load_model,
    param_count,
)


@pytest.mark.parametrize("name", MODELS)
def test_every_shipped_model_loads_with_a_source_per_value(name):
    m = load_model(name)
    given = {f.name for f in fields(ModelConfig)
             if f.name != "sources" and getattr(m, f.name) is not None}
    assert set(m.sources) == given
    assert m.d_head * m.n_heads == m.d_attn
    assert m.seq_len <= (m.max_seq or m.seq_len)


def test_shipped_list_matches_files():
    files = resources.files("vexpsim.experiments.workloads").joinpath("models").iterdir()
    assert sorted(f.name[:-5] for f in files if f.name.endswith(".toml")) == sorted(MODELS)


def test_gpt2_small_parameters_from_shapes():
    m = load_model("gpt2-small")
    d, V, ctx, L = 768, 50257, 1024, 12
    # per block: qkv 3d^2+3d, proj d^2+d, fc1 4d^2+4d, fc2 4d^2+d, two LayerNorms 4d
    per_block = 12 * d * d + 13 * d
    expected = L * per_block + V * d + ctx * d + 2 * d
    assert param_count(m) == expected
    assert 124e6 < expected < 125e6  # "124M"


def test_vit_b16_parameters_from_shapes():
    m = load_model("vit-b16")
    d, L, P, C = 768, 12, 16 * 16 * 3, 1000
    expected = (L * (12 * d * d + 13 * d) + (P * d + d) + d + 197 * d + 2 * d
                + (d * C + C))
    assert param_count(m) == expected
    assert 86e6 < expected < 87e6  # ViT-B: 86M


def test_gpt2_small_graph_flops_and_bytes_by_hand():
    m = load_model("gpt2-small")
    L, d, H, dh, ff = 128, 768, 12, 64, 3072
    g = build_graph(m, L)
    assert len(g) == 12 * 10 + 3
    by = {op.name: op for op in g}
    assert by["L0.qkv"].flops == 2 * L * d * 3 * d
    assert by["L0.qkv"].bytes == (L * d + d * 3 * d + 3 * d + L * 3 * d) * 2
    assert by["L3.fc2"].dims == {"M": L, "N": d, "K": ff}
    pairs = L * (L + 1) // 2  # causal
    assert attention_pairs(L, L, True) == pairs
    assert by["L0.attn"].flops == H * pairs * (4 * dh + 5)
    assert by["L0.attn"].bytes == H * 4 * L * dh * 2
    assert by["L0.gelu"].flops == 8 * L * ff
    assert by["head"].dims == {"M": 1, "N": 50257, "K": d}
    assert by["softmax"].dims == {"rows": 1, "cols": 50257}
    per_layer = (2 * L * d * (3 * d + d + 2 * ff) + H * pairs * (4 * dh + 5)
                 + 2 * 8 * L * d + 8 * L * ff + 2 * L * d)
    total = 12 * per_layer + 8 * L * d + 2 * d * 50257 + 5 * 50257
    assert sum(op.flops for op in g) == total


def test_graph_is_a_chain_in_dependency_order():
    g = build_graph(load_model("vit-b16"))
    assert g[0].name == "patch_embed" and g[0].dims == {"M": 196, "N": 768, "K": 768}
    assert g[0].deps == ()
    for prev, op in zip(g, g[1:], strict=False):
        assert op.deps == (prev.name,)
    assert [op.kind for op in g[2:12]] == ["layernorm", "gemm", "attention", "gemm",
                                          "residual", "layernorm", "gemm", "gelu", "gemm",
                                          "residual"]
    assert all(op.dims.get("causal") == 0 for op in g if op.kind == "attention")


def test_gpt3_13b_attention_width_differs_from_d_model():
    m = load_model("gpt3-13b")
    assert (m.d_model, m.d_attn) == (5140, 5120)
    g = {op.name: op for op in build_graph(m, 16)}
    assert g["L0.qkv"].dims == {"M": 16, "N": 3 * 5120, "K": 5140}
    assert g["L0.proj"].dims == {"M": 16, "N": 5140, "K": 5120}


def test_non_causal_pairs_and_causal_with_longer_keys():
    assert attention_pairs(5, 7, False) == 35
    assert attention_pairs(2, 5, True) == 4 + 5  # queries aligned to the last keys


def test_bad_inputs_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="sequence length 2048"):
        build_graph(load_model("gpt2-small"), 2048)
    with pytest.raises(UserError, match="unknown model"):
        load_model("gpt-5")
    f = tmp_path / "m.toml"
    f.write_text('name = "x"\narch = "decoder"\nn_layers = 0\nn_heads = 2\nd_model = 8\n'
                 'd_head = 4\nd_ff = "big"\nseq_len = 4\nwings = 2\n'
                 '[sources]\nname = "s"\narch = "s"\nn_layers = "s"\nd_model = "s"\n'
                 'd_head = "s"\nd_ff = "s"\nseq_len = "s"\n')
    with pytest.raises(UserError) as exc:
        load_model(f)
    msgs = "\n".join(exc.value.problems)
    for needle in ("n_layers: expected an integer >= 1, got 0", "d_ff: expected an integer",
                   "wings: unknown key", "sources.n_heads: missing"):
        assert needle in msgs
    g = f.read_text().replace("n_layers = 0", "n_layers = 1").replace('"big"', "16")
    g = g.replace("wings = 2\n", "").replace('d_ff = "s"', 'd_ff = "s"\nn_heads = "s"')
    f.write_text(g)
    with pytest.raises(UserError, match="vocab: missing"):
        load_model(f)

"""Softmax variants: the fast BF16 path equals the emulated reference bit for bit."""

import ml_dtypes
import numpy as np
import pytest

from vexpsim.llm import softmax as S
from vexpsim.numerics.exp import schraudolph_bf16, vexp_bf16
from vexpsim.numerics.formats import BF16, convert, from_bits
from vexpsim.numerics.reference import (
    attention_reference,
    exact_exp,
    softmax_emulated,
    softmax_reference,
)

EXP_FNS = {"vexp": vexp_bf16, "schraudolph": schraudolph_bf16, "bf16_exact": exact_exp(BF16)}


def _bits(a):
    return np.asarray(a).astype(ml_dtypes.bfloat16).view(np.uint16)


def test_round_bf16_single_rounding_from_float64_and_float32():
    rng = np.random.default_rng(1)
    x = np.concatenate([
        rng.standard_normal(20000) * 10.0 ** rng.integers(-45, 39, 20000),
        # halfway cases of BF16 perturbed below float32 resolution: a float32 detour would
        # round them twice
        (1.0 + 2.0 ** -8 + np.array([2.0 ** -30, -(2.0 ** -30)])) * np.array([1, -1]),
        np.array([0.0, -0.0, np.inf, -np.inf, 3e38, 1e-40, 2.0 ** -133, 2.0 ** -134 * 1.5]),
    ])
    assert np.array_equal(_bits(S.round_bf16(x)), convert(x, BF16).view(np.uint16))
    x32 = x.astype(np.float32)
    assert np.array_equal(_bits(S.round_bf16(x32)),
                          convert(x32.astype(np.float64), BF16).view(np.uint16))


@pytest.mark.parametrize("name", sorted(EXP_FNS))
def test_exp_table_is_the_exp_model_on_every_encoding(name):
    bits = np.arange(1 << 16, dtype=np.uint16)
    x = from_bits(bits, BF16)
    ok = ((bits & 0x7F80) != 0x7F80) | ((bits & 0x7F) == 0)  # every non-NaN encoding
    with np.errstate(all="ignore"):
        want = np.asarray(EXP_FNS[name](x)).astype(np.float32)
    got = S.exp_table(name)
    assert np.array_equal(got[ok], want[ok])


@pytest.mark.parametrize("name", sorted(EXP_FNS))
def test_bf16_softmax_equals_softmax_emulated_per_causal_row(name):
    rng = np.random.default_rng(7)
    t = 48
    # three heads: ordinary scores, a wide spread (exp inputs down to about -300, which
    # exercises the exact-rounding fallback), and ties
    s = np.stack([rng.standard_normal((t, t)) * 3,
                  rng.uniform(-300, 40, (t, t)),
                  np.round(rng.standard_normal((t, t)))]).astype(np.float32)
    mask = S.causal_mask(t)
    got = S.softmax_bf16(s, mask, S.exp_table(name))
    for h in range(s.shape[0]):
        for i in range(t):
            want = softmax_emulated(s[h, i, :i + 1], EXP_FNS[name], storage=BF16,
                                    accum="fp32", normalize="recip")
            assert np.array_equal(_bits(got[h, i, :i + 1]), _bits(want)), (h, i)
            assert not got[h, i, i + 1:].any()


def test_vexp_softmax_is_vexp_of_bf16_shifted_scores():
    # the VEXP variant's numerators are exactly vexp_bf16 of the BF16-rounded shifted scores
    rng = np.random.default_rng(3)
    s = (rng.standard_normal((1, 1, 64)) * 4).astype(np.float32)
    mask = np.ones((1, 64), dtype=bool)
    p = S.softmax_bf16(s, mask, S.exp_table("vexp"))[0, 0]
    xs = convert(s[0, 0].astype(np.float64), BF16).astype(np.float64)
    e = vexp_bf16(convert(xs - xs.max(), BF16)).astype(np.float64)
    r = convert(1.0 / np.float64(np.float32(e.sum())), BF16).astype(np.float64)
    assert np.array_equal(_bits(p), _bits(convert(e * r, BF16)))


def test_fp64_softmax_matches_reference_on_causal_rows():
    rng = np.random.default_rng(5)
    s = rng.standard_normal((2, 16, 16)).astype(np.float32) * 5
    p = S.softmax_fp64(s, S.causal_mask(16))
    for i in range(16):
        np.testing.assert_allclose(p[:, i, :i + 1], softmax_reference(s[:, i, :i + 1]),
                                   rtol=1e-14)
        assert not p[:, i, i + 1:].any()


@pytest.mark.parametrize("name", S.ALL_VARIANTS)
def test_every_variant_computes_causal_attention(name):
    rng = np.random.default_rng(11)
    q, k, v = (rng.standard_normal((2, 40, 16)).astype(np.float32) for _ in range(3))
    out = S.make_attention(name)(q, k, v, layer=0)
    assert out.shape == q.shape and out.dtype == np.float32
    tol = 1e-5 if name == "reference" else 0.06  # BF16 storage: relative step 2^-8
    for h in range(2):
        ref = attention_reference(q[h], k[h], v[h], causal=True)
        assert np.max(np.abs(out[h] - ref)) < tol * np.max(np.abs(ref))
    if name != "reference":
        ref = np.stack([attention_reference(q[h], k[h], v[h], causal=True) for h in range(2)])
        assert not np.array_equal(out, ref.astype(np.float32))  # the variant does something


def test_unknown_variant_is_rejected():
    with pytest.raises(ValueError, match="unknown variant"):
        S.make_attention("nope")
    with pytest.raises(ValueError, match="no exp table"):
        S.exp_table("nope")


def test_attention_records_scaled_scores():
    rng = np.random.default_rng(2)
    q, k, v = (rng.standard_normal((3, 8, 4)).astype(np.float32) for _ in range(3))
    seen = {}
    att = S.SoftmaxAttention(S.softmax_fp64, record=lambda layer, *a: seen.update(
        layer=layer, s=a[3]))
    att(q, k, v, layer=7)
    assert seen["layer"] == 7
    np.testing.assert_allclose(seen["s"], q @ k.transpose(0, 2, 1) / 2.0, rtol=1e-6)

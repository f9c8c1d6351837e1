import numpy as np
import pytest

from vexpsim.numerics.exp import expf_libm, schraudolph_bf16, vexp_bf16
from vexpsim.numerics.formats import BF16, convert, to_bits
from vexpsim.numerics.reference import (
    attention_reference,
    error_metrics,
    exact_exp,
    flash_attention_2,
    softmax_emulated,
    softmax_reference,
)


def test_softmax_reference_properties():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 33)) * 4
    y = softmax_reference(x)
    assert np.allclose(y.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    # shift invariance and agreement with a direct formula
    assert np.allclose(softmax_reference(x + 100), y, rtol=1e-12, atol=0)
    assert np.allclose(y, np.exp(x) / np.exp(x).sum(axis=1, keepdims=True), rtol=1e-13)
    big = softmax_reference(np.array([1000.0, 0.0]))  # no overflow
    assert big.tolist() == [1.0, 0.0]


def test_softmax_emulated_exact_exp_is_close_to_float64():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 128))
    out = softmax_emulated(x)  # BF16 storage, exact exp
    assert out.dtype == BF16.dtype
    m = error_metrics(out, softmax_reference(convert(x, BF16).astype(np.float64)))
    # inputs near 0 (|x - max| < 8): BF16 rounding of d and of results, a few ulps
    assert m["max_rel_error"] < 6 * 2.0**-8


def test_softmax_emulated_plugs_the_exp():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 64))
    calls = []

    def spy(d):
        calls.append(d.copy())
        return vexp_bf16(d)

    out = softmax_emulated(x, spy)
    d = calls[0]
    assert d.dtype == BF16.dtype and np.all(d.astype(float) <= 0)
    # the emulation is exactly: e = vexp(d), s = fp32(sum e), out = bf16(e * bf16(1/s))
    e = vexp_bf16(d).astype(np.float64)
    s = np.float32(e.sum(axis=1, keepdims=True)).astype(np.float64)
    expect = convert(e * convert(1.0 / s, BF16).astype(np.float64), BF16)
    assert np.array_equal(to_bits(out), to_bits(expect))
    # the approximation shows: vexp and schraudolph differ from exact and from each other
    exact = softmax_emulated(x)
    schr = softmax_emulated(x, schraudolph_bf16)
    ref = softmax_reference(x)
    e_exact, e_vexp, e_schr = (error_metrics(o, ref)["mean_rel_error"] for o in (exact, out, schr))
    assert e_exact < e_vexp < e_schr


def test_softmax_emulated_fp32_with_libm_expf():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 50)).astype(np.float32)
    out = softmax_emulated(x, expf_libm, storage="fp32", normalize="div")
    m = error_metrics(out, softmax_reference(x))
    assert m["max_rel_error"] < 1e-6


def test_softmax_emulated_bad_normalize():
    with pytest.raises(ValueError, match="normalize"):
        softmax_emulated(np.zeros(4), normalize="mul")


@pytest.mark.parametrize("br,bc", [(16, 16), (8, 32), (64, 64), (5, 7), (1, 64)])
def test_flash_attention_2_equals_naive_in_float64(br, bc):
    rng = np.random.default_rng(4)
    q, k, v = rng.normal(size=(64, 16)), rng.normal(size=(48, 16)), rng.normal(size=(48, 8))
    ref = attention_reference(q, k, v)
    out = flash_attention_2(q, k, v, br=br, bc=bc)
    assert np.max(np.abs(out - ref)) < 1e-14


def test_flash_attention_2_causal():
    rng = np.random.default_rng(5)
    q, k, v = (rng.normal(size=(40, 8)) for _ in range(3))
    ref = attention_reference(q, k, v, causal=True)
    out = flash_attention_2(q, k, v, br=8, bc=16, causal=True)
    assert np.max(np.abs(out - ref)) < 1e-14
    assert np.allclose(ref[0], v[0])  # the first query sees only the first key


def test_flash_attention_2_bf16_vexp_error_is_small_and_reported():
    rng = np.random.default_rng(6)
    q, k, v = (rng.normal(size=(64, 64)) for _ in range(3))
    ref = attention_reference(q, k, v)
    exact = flash_attention_2(q, k, v, br=16, bc=16, storage="bf16", exp_fn=exact_exp("bf16"))
    vexp = flash_attention_2(q, k, v, br=16, bc=16, storage="bf16", exp_fn=vexp_bf16)
    e_exact, e_vexp = error_metrics(exact, ref), error_metrics(vexp, ref)
    assert e_exact["rmse"] < 0.01 and e_vexp["rmse"] < 0.01
    assert not np.array_equal(exact, vexp)


def test_flash_attention_2_rejects_bad_blocks():
    z = np.zeros((4, 4))
    with pytest.raises(ValueError, match="block sizes"):
        flash_attention_2(z, z, z, br=0, bc=4)


def test_error_metrics():
    m = error_metrics(np.array([1.0, 2.0, 0.0]), np.array([1.0, 2.5, 0.0]))
    assert m["max_abs_error"] == 0.5 and m["max_rel_error"] == 0.2
    assert m["rmse"] == pytest.approx(np.sqrt(0.25 / 3))
    bad = error_metrics(np.array([np.nan]), np.array([1.0]))
    assert bad["max_abs_error"] == float("inf")
    with pytest.raises(ValueError, match="shape"):
        error_metrics(np.zeros(2), np.zeros(3))

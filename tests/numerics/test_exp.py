from dataclasses import replace

import ml_dtypes
import numpy as np
import pytest

from vexpsim.numerics.exp import (
    EXPF_TABLE,
    VEXP_HW,
    VexpParams,
    correction_table,
    expf_libm,
    schraudolph_bf16,
    vexp_bf16,
    vexp_bf16_bits,
)
from vexpsim.numerics.formats import BF16, FP32, from_bits, to_bits

ALL_BF16 = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)

pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")

# Golden vectors, vexp_details.md §1.4 (input -> exps -> expp, BF16 hex).
GOLDEN = [
    (0xBDB0, 0x3F70, 0x3F6B),
    (0xBFC0, 0x3E6B, 0x3E65),
    (0xC040, 0x3D56, 0x3D4C),
    (0xC0E8, 0x3A45, 0x3A3A),
    (0xC220, 0x22A5, 0x229C),
    (0xC2AC, 0x0177, 0x0174),
]


@pytest.mark.parametrize("x,exps,expp", GOLDEN, ids=lambda v: hex(v))
def test_golden_vectors(x, exps, expp):
    assert int(vexp_bf16_bits(np.array([x]))[0]) == expp
    noc = replace(VEXP_HW, correction=False)
    assert int(vexp_bf16_bits(np.array([x]), noc)[0]) == exps


def test_log2e_constant_is_the_rtl_rounding():
    # int'(2^14/ln2) = 23637 (SystemVerilog rounds); 23638 misses the 0xc2ac golden vector.
    assert VEXP_HW.log2e_q == 23637
    off = replace(VEXP_HW, a_int=23638)
    assert int(vexp_bf16_bits(np.array([0xC2AC]), off)[0]) == 0x0173


def test_spot_values():
    x = np.array([0.0, 1.0, -1.0], dtype=ml_dtypes.bfloat16)
    assert vexp_bf16(x).astype(float).tolist() == [1.0, 2.71875, 0.3671875]


def test_correction_table():
    t = correction_table()
    assert t.shape == (128,) and int(t.sum()) == 7182  # vexp_details.md §1.4
    assert t[0] == 0 and t[127] == 127
    assert np.all(np.diff(t.astype(int)) >= 0)
    ideal = np.rint(2.0 ** (np.arange(128) / 128) * 128 - 128)
    diff = t.astype(int) - ideal.astype(int)
    assert sorted(np.flatnonzero(diff == -1).tolist()) == [1, 4, 5, 8, 12, 16, 20, 25, 91]
    assert sorted(np.flatnonzero(diff == 1).tolist()) == [107, 111, 121]


def test_special_values():
    bits = np.array([0x0000, 0x8000, 0x0001, 0x8001, 0x7F80, 0xFF80, 0x7FC0, 0xFFC0],
                    dtype=np.uint16)
    out = vexp_bf16_bits(bits).tolist()
    # +-0 and subnormals: exp = 1.0; +inf -> +inf; -inf -> +0;
    # NaN takes the overflow path of the datapath: +NaN -> +inf, -NaN -> +0.
    assert out == [0x3F80, 0x3F80, 0x3F80, 0x3F80, 0x7F80, 0x0000, 0x7F80, 0x0000]
    prop = vexp_bf16_bits(bits, replace(VEXP_HW, nan_result="propagate")).tolist()
    assert prop[6] == BF16.canonical_nan and prop[7] == BF16.canonical_nan


def test_thresholds_and_monotonic():
    x = from_bits(ALL_BF16, BF16).astype(np.float64)
    y = vexp_bf16(from_bits(ALL_BF16, BF16)).astype(np.float64)
    fin = np.isfinite(x)
    order = np.argsort(x[fin], kind="stable")
    ys = y[fin][order]
    assert np.all(ys[1:] >= ys[:-1]), "VEXP must be monotone"
    # Overflow: x >= 89 -> +inf, largest finite input 88.5 (vexp_details.md §1.5)
    assert np.all(np.isinf(y[fin & (x >= 89.0)]))
    assert np.all(np.isfinite(y[fin & (x <= 88.5)]))
    # Underflow: x <= -87.5 -> +0, -87 is the most negative non-zero result
    assert np.all(y[fin & (x <= -87.5)] == 0)
    assert y[np.flatnonzero(x == -87.0)[0]] > 0
    # Never a subnormal output (flushed)
    nz = y[(y > 0) & np.isfinite(y)]
    assert nz.min() >= 2.0**-126
    # Tiny |x| -> exactly 1.0
    assert np.all(y[fin & (np.abs(x) < 2.7e-3)] == 1.0)


def test_rejects_non_bf16():
    with pytest.raises(TypeError, match="bfloat16"):
        vexp_bf16(np.array([1.0]))


def test_schraudolph_is_uncorrected():
    x = from_bits(ALL_BF16, BF16)
    a = to_bits(schraudolph_bf16(x))
    b = vexp_bf16_bits(ALL_BF16, replace(VEXP_HW, correction=False))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, vexp_bf16_bits(ALL_BF16))


def test_matches_real_valued_formula():
    """exps(x) == round_half_away(x*A*2^7) + 127*2^7 wherever no saturation happens
    (vexp_details.md §1.4: 'This equals ...')."""
    x = from_bits(ALL_BF16, BF16).astype(np.float64)
    a = VEXP_HW.log2e_q / 2**14
    fin = np.isfinite(x) & (np.abs(x) < 86) & (np.abs(x) >= 2.0**-126)
    v = x[fin] * a * 128
    # the datapath truncates the product to Q8.8 before rounding half up
    t = np.floor(np.abs(v) * 2) / 2
    r = np.sign(v) * np.floor(t + 0.5)
    expect = (r + 127 * 128).astype(np.int64)
    got = vexp_bf16_bits(ALL_BF16[fin], replace(VEXP_HW, correction=False)).astype(np.int64)
    assert np.array_equal(got, expect)


def test_params_validation():
    with pytest.raises(ValueError, match="a_fraction"):
        VexpParams(a_fraction=0)
    with pytest.raises(ValueError, match="nan_result"):
        VexpParams(nan_result="quiet")
    trunc = vexp_bf16_bits(ALL_BF16, replace(VEXP_HW, rounding=False))
    assert not np.array_equal(trunc, vexp_bf16_bits(ALL_BF16))


def test_expf_table_is_exact():
    from fractions import Fraction

    for i, entry in enumerate(EXPF_TABLE.tolist()):
        # entry + (i << 47) is the double nearest 2^(i/32): check it brackets the true value
        d = float(np.uint64(entry + (i << 47)).view(np.float64))
        lo, hi = np.nextafter(d, 0), np.nextafter(d, 2)
        # 2^(i/32) lies within half an ulp of d: (d - ulp/2)^32 < 2^i < (d + ulp/2)^32
        lo_mid, hi_mid = (Fraction(lo) + Fraction(d)) / 2, (Fraction(hi) + Fraction(d)) / 2
        assert lo_mid**32 < 2**i < hi_mid**32


def test_expf_libm_accuracy_and_specials():
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(-103, 88, 20000), rng.normal(size=2000)]).astype(np.float32)
    y = expf_libm(x).astype(np.float64)
    ref = np.exp(x.astype(np.float64))
    normal = ref >= 2.0**-126
    # ulp error < 0.502 claimed by the routine; allow 0.51 in our measure
    _, e = np.frexp(ref[normal])
    ulp = np.ldexp(1.0, e - 24)
    assert np.max(np.abs(y[normal] - ref[normal]) / ulp) < 0.51
    specials = np.array([np.inf, -np.inf, np.nan, 89.0, -104.0, 0.0, -0.0], dtype=np.float32)
    out = expf_libm(specials)
    assert out[0] == np.inf and out[1] == 0 and np.isnan(out[2])
    assert out[3] == np.inf and out[4] == 0 and out[5] == 1 and out[6] == 1
    assert expf_libm(np.array([1.0], dtype=np.float32))[0] == np.float32(np.e)
    with pytest.raises(TypeError):
        expf_libm(np.array([1.0]))
    assert to_bits(expf_libm(np.array([-1.0], np.float32)), FP32)[0] == 0x3EBC5AB2


def test_vexp_table_is_the_function_on_every_input():
    from vexpsim.numerics.exp import vexp_bf16_table
    t = vexp_bf16_table()
    assert len(t) == 65536
    assert np.array_equal(np.array(t, dtype=np.uint16),
                          vexp_bf16_bits(np.arange(65536, dtype=np.uint16)))
    assert vexp_bf16_table() is t  # built once

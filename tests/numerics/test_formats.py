import ml_dtypes
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vexpsim.numerics.formats import (
    BF16,
    FORMATS,
    FP8,
    FP8ALT,
    FP16,
    FP32,
    FP64,
    convert,
    from_bits,
    get_format,
    is_nan_boxed,
    lanes_per_word,
    nan_box,
    nan_unbox,
    pack_lanes,
    to_bits,
    unpack_lanes,
)

pytestmark = pytest.mark.filterwarnings(
    "ignore:(invalid value|overflow) encountered:RuntimeWarning"
)


def test_layouts():
    for f in FORMATS.values():
        assert 1 + f.exp_bits + f.man_bits == f.width
        assert f.dtype.itemsize * 8 == f.width
    assert BF16.bias == 127 and FP16.bias == 15 and FP8ALT.bias == 7
    assert hex(BF16.canonical_nan) == "0x7fc0"
    assert hex(FP32.canonical_nan) == "0x7fc00000"
    assert hex(FP64.canonical_nan) == "0x7ff8000000000000"


def test_aliases_and_unknown():
    assert get_format("fp16alt") is BF16
    assert get_format("ah") is BF16
    assert get_format(np.dtype(ml_dtypes.bfloat16)) is BF16
    with pytest.raises(ValueError, match="unknown floating-point format"):
        get_format("fp12")


def test_fp8alt_is_ieee_style_e4m3():
    # FPnew's FP8alt has infinities: max finite 240, 0x78 is +inf.
    assert float(from_bits(0x77, FP8ALT)) == 240.0
    assert np.isinf(float(from_bits(0x78, FP8ALT)))


@pytest.mark.parametrize("fmt", list(FORMATS.values()), ids=lambda f: f.name)
def test_bits_round_trip(fmt):
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 1 << min(fmt.width, 63), size=1000, dtype=np.uint64)
    b = bits.astype(fmt.uint)
    v = from_bits(b, fmt)
    assert v.dtype == fmt.dtype
    assert np.array_equal(to_bits(v), b)


def _rne_reference(x: float, fmt) -> float:
    """Brute force: the nearest representable value, ties to even encoding."""
    cands = from_bits(np.arange(1 << fmt.width, dtype=np.uint32).astype(fmt.uint), fmt)
    vals = cands.astype(np.float64)
    ok = np.isfinite(vals)
    vals, enc = vals[ok], np.arange(1 << fmt.width)[ok]
    d = np.abs(vals - x)
    best = np.flatnonzero(d == d.min())
    evens = [i for i in best if enc[i] % 2 == 0]
    return float(vals[(evens or best)[0]])


@pytest.mark.parametrize("fmt", [BF16, FP8, FP8ALT, FP16], ids=lambda f: f.name)
def test_rne_single_rounding_matches_brute_force(fmt):
    rng = np.random.default_rng(1)
    top = float(np.ldexp(2.0 - 2.0 ** -fmt.man_bits, fmt.bias))
    xs = np.concatenate([rng.uniform(-top, top, 200), rng.normal(size=200),
                         rng.normal(size=100) * 2.0 ** (1 - fmt.bias)])
    got = convert(xs, fmt).astype(np.float64)
    for x, g in zip(xs, got, strict=True):
        ref = _rne_reference(x, fmt)
        assert g == ref or (ref == 0 and g == 0), (x, g, ref)


def test_no_double_rounding_through_float32():
    # ml_dtypes' float64 -> bfloat16 cast goes through float32 and returns 1.0 here.
    x = np.array([1 + 2**-8 + 2**-30])
    assert float(convert(x, BF16)[0]) == 1 + 2**-7
    x8 = np.array([1 + 2**-4 + 2**-40])
    assert float(convert(x8, FP8ALT)[0]) == 1.125


@pytest.mark.parametrize(
    "rm,expected",
    [("rne", [1.0, 1.015625, -1.0]), ("rtz", [1.0, 1.0078125, -1.0]),
     ("rdn", [1.0, 1.0078125, -1.0078125]), ("rup", [1.0078125, 1.015625, -1.0]),
     ("rmm", [1.0078125, 1.015625, -1.0078125])],
)
def test_rounding_modes(rm, expected):
    x = np.array([1 + 2**-8, 1 + 3 * 2**-8, -(1 + 2**-8)])
    assert convert(x, BF16, rm).astype(float).tolist() == expected


def test_overflow_by_rounding_mode():
    big = np.array([1e39, -1e39])
    assert np.isinf(convert(big, BF16, "rne").astype(float)).all()
    mx = float(np.ldexp(2 - 2.0**-7, 127))
    assert convert(big, BF16, "rtz").astype(float).tolist() == [mx, -mx]
    assert convert(big, BF16, "rdn").astype(float).tolist() == [mx, -np.inf]
    assert convert(big, BF16, "rup").astype(float).tolist() == [np.inf, -mx]


def test_special_values_convert():
    x = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-300, -1e-300])
    y = convert(x, BF16)
    bits = to_bits(y).tolist()
    assert bits[0] == BF16.canonical_nan
    assert bits[1:] == [0x7F80, 0xFF80, 0x8000, 0x0000, 0x0000, 0x8000]


def test_subnormal_conversion():
    tiny = 2.0**-133  # smallest BF16 subnormal
    assert float(convert(np.array([tiny]), BF16)[0]) == tiny
    assert float(convert(np.array([tiny * 0.5]), BF16)[0]) == 0.0  # tie -> even (zero)
    assert float(convert(np.array([tiny * 0.75]), BF16)[0]) == tiny


@given(st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_fp32_conversion_is_numpy_rne(x):
    assert convert(np.array([x]), FP32)[0] == np.float32(x) or np.isnan(np.float32(x))


def test_nan_boxing():
    assert int(nan_box(0x3F80, BF16)) == 0xFFFFFFFFFFFF3F80
    assert int(nan_box(0x3F800000, FP32)) == 0xFFFFFFFF3F800000
    assert int(nan_box(0x12, FP8)) == 0xFFFFFFFFFFFFFF12
    assert is_nan_boxed(np.uint64(0xFFFFFFFF3F800000), FP32)
    assert not is_nan_boxed(np.uint64(0x000000003F800000), FP32)
    assert int(nan_unbox(np.uint64(0xFFFFFFFF3F800000), FP32)) == 0x3F800000
    # An improperly boxed value reads as the canonical NaN (RISC-V NaN-boxing rule).
    assert int(nan_unbox(np.uint64(0x000000003F800000), FP32)) == FP32.canonical_nan
    assert int(nan_unbox(np.uint64(0x1234), FP64)) == 0x1234


@pytest.mark.parametrize("fmt,lanes", [(FP32, 2), (FP16, 4), (BF16, 4), (FP8, 8), (FP8ALT, 8)],
                         ids=lambda v: getattr(v, "name", str(v)))
def test_lane_packing(fmt, lanes):
    assert lanes_per_word(fmt) == lanes
    rng = np.random.default_rng(2)
    bits = rng.integers(0, 1 << fmt.width, size=(3, 2 * lanes)).astype(fmt.uint)
    vals = from_bits(bits, fmt)
    words = pack_lanes(vals, fmt)
    assert words.shape == (3, 2) and words.dtype == np.uint64
    # lane 0 is the least significant field
    for r in range(3):
        for w in range(2):
            for lane in range(lanes):
                field = (int(words[r, w]) >> (lane * fmt.width)) & ((1 << fmt.width) - 1)
                assert field == int(bits[r, w * lanes + lane])
    assert np.array_equal(to_bits(unpack_lanes(words, fmt)), bits)


def test_pack_rejects_partial_word():
    with pytest.raises(ValueError, match="whole 64-bit words"):
        pack_lanes(np.zeros(3, dtype=ml_dtypes.bfloat16), BF16)

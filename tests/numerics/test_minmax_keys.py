"""fparith._minmax (order keys on the encodings) equals the decoded reference
_minmax_decoded: exhaustively on FP8, on random and special encodings of the wider formats."""

import numpy as np
import pytest

from vexpsim.numerics import fparith as fpa


def _specials(fmt: str) -> list[int]:
    k = fpa._c(fmt)
    s, inf, q, mm = k[fpa._SIGN], k[fpa._INF_BITS], k[fpa._QNAN_BITS], k[fpa._MMASK]
    return [0, s, 1, s | 1, mm, s | mm, inf, s | inf, q, s | q, inf | 1, s | inf | 1,
            k[fpa._MAXF], s | k[fpa._MAXF], inf - 1]


def test_fp8_exhaustive():
    for fmt in ("fp8", "fp8alt"):
        for a in range(256):
            for b in range(256):
                for want in (False, True):
                    assert fpa._minmax(a, b, fmt, want) == \
                        fpa._minmax_decoded(a, b, fmt, want), (fmt, a, b, want)


@pytest.mark.parametrize("fmt", ["bf16", "fp16", "fp32", "fp64"])
def test_random_and_special_pairs(fmt):
    rng = np.random.default_rng(5)
    w = fpa._c(fmt)[fpa._W]
    raw = [int(x) for x in rng.integers(0, 1 << 62, 300)]
    rand = [x >> (62 - w) for x in raw] if w <= 62 else [x << 2 | (x & 3) for x in raw]
    vals = _specials(fmt) + rand
    close = [v ^ 1 for v in vals]  # neighbours: same binade, one ulp apart
    for a in vals:
        for b in vals[:40] + close[:40]:
            for want in (False, True):
                assert fpa._minmax(a, b, fmt, want) == fpa._minmax_decoded(a, b, fmt, want), \
                    (fmt, hex(a), hex(b), want)

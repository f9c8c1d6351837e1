"""Bit-level helpers for the floating-point formats of the Snitch FPU.

Formats (snitch_cluster.md §3.2): FP64, FP32, FP16 (IEEE half), FP16alt = BF16,
FP8 (E5M2) and FP8alt (E4M3). NumPy arrays of these types come from ml_dtypes.

Everything here works on NumPy arrays (scalars are accepted and treated as 0-d arrays):
- bit casts between a float array and its unsigned-integer encoding;
- round-to-nearest-even conversion between formats (ml_dtypes' casts are RNE);
- NaN-boxing of narrow values in 64-bit FP registers (RISC-V F/D spec §"NaN boxing");
- packing and unpacking SIMD lanes into 64-bit words, lane 0 in the least significant bits.
"""

from __future__ import annotations

from dataclasses import dataclass

import ml_dtypes
import numpy as np

__all__ = [
    "FloatFormat",
    "FP64",
    "FP32",
    "FP16",
    "BF16",
    "FP8",
    "FP8ALT",
    "FORMATS",
    "get_format",
    "to_bits",
    "from_bits",
    "convert",
    "ROUNDING_MODES",
    "nan_box",
    "nan_unbox",
    "is_nan_boxed",
    "pack_lanes",
    "unpack_lanes",
    "lanes_per_word",
]


@dataclass(frozen=True)
class FloatFormat:
    """One binary floating-point format: its NumPy dtype and bit layout."""

    name: str
    dtype: np.dtype
    uint: np.dtype
    width: int
    exp_bits: int
    man_bits: int

    @property
    def bias(self) -> int:
        return (1 << (self.exp_bits - 1)) - 1

    @property
    def canonical_nan(self) -> int:
        """RISC-V canonical quiet NaN: sign 0, exponent all ones, MSB of the mantissa set."""
        return ((1 << self.exp_bits) - 1) << self.man_bits | (1 << (self.man_bits - 1))

    def __repr__(self) -> str:  # short, readable in test ids
        return f"FloatFormat({self.name})"


FP64 = FloatFormat("fp64", np.dtype(np.float64), np.dtype(np.uint64), 64, 11, 52)
FP32 = FloatFormat("fp32", np.dtype(np.float32), np.dtype(np.uint32), 32, 8, 23)
FP16 = FloatFormat("fp16", np.dtype(np.float16), np.dtype(np.uint16), 16, 5, 10)
BF16 = FloatFormat("bf16", np.dtype(ml_dtypes.bfloat16), np.dtype(np.uint16), 16, 8, 7)
FP8 = FloatFormat("fp8", np.dtype(ml_dtypes.float8_e5m2), np.dtype(np.uint8), 8, 5, 2)
# FPnew's FP8alt is E4M3 with IEEE semantics (infinities, max 240), not OCP's e4m3fn (max 448):
# ml_dtypes.float8_e4m3 is that IEEE-style type.
FP8ALT = FloatFormat("fp8alt", np.dtype(ml_dtypes.float8_e4m3), np.dtype(np.uint8), 8, 4, 3)

FORMATS: dict[str, FloatFormat] = {
    f.name: f for f in (FP64, FP32, FP16, BF16, FP8, FP8ALT)
}
# Common aliases: the Snitch/FPnew names and the ml_dtypes names.
_ALIASES = {
    "float64": "fp64", "double": "fp64", "d": "fp64",
    "float32": "fp32", "single": "fp32", "s": "fp32",
    "float16": "fp16", "half": "fp16", "h": "fp16",
    "bfloat16": "bf16", "fp16alt": "bf16", "ah": "bf16",
    "e5m2": "fp8", "float8_e5m2": "fp8", "b": "fp8",
    "e4m3": "fp8alt", "float8_e4m3": "fp8alt", "ab": "fp8alt",
}


def get_format(name: str | FloatFormat | np.dtype) -> FloatFormat:
    """Look a format up by name ('bf16', 'fp16alt', 'e4m3', ...) or by NumPy dtype."""
    if isinstance(name, FloatFormat):
        return name
    if isinstance(name, np.dtype) or (isinstance(name, type) and issubclass(name, np.generic)):
        dt = np.dtype(name)
        for f in FORMATS.values():
            if f.dtype == dt:
                return f
        raise ValueError(f"no floating-point format for dtype {dt}")
    key = _ALIASES.get(str(name).lower(), str(name).lower())
    try:
        return FORMATS[key]
    except KeyError:
        known = ", ".join(sorted(set(FORMATS) | set(_ALIASES)))
        raise ValueError(f"unknown floating-point format {name!r}; known: {known}") from None


def to_bits(values: np.ndarray, fmt: str | FloatFormat | None = None) -> np.ndarray:
    """Encoding of `values` as unsigned integers. `fmt` defaults to the array's own format;
    when given, values are first converted to it with round-to-nearest-even."""
    arr = np.asarray(values)
    f = get_format(arr.dtype) if fmt is None else get_format(fmt)
    if arr.dtype != f.dtype:
        arr = convert(arr, f)
    return arr.view(f.uint)


def from_bits(bits: np.ndarray | int, fmt: str | FloatFormat) -> np.ndarray:
    """Values of the given format whose encodings are `bits` (unsigned integers)."""
    f = get_format(fmt)
    b = np.asarray(bits)
    mask = (1 << f.width) - 1
    if b.dtype != f.uint:
        b = (b.astype(np.uint64) & np.uint64(mask)).astype(f.uint)
    return b.view(f.dtype)


ROUNDING_MODES = ("rne", "rtz", "rdn", "rup", "rmm")


def convert(values: np.ndarray, fmt: str | FloatFormat, rm: str = "rne") -> np.ndarray:
    """Convert to `fmt` with ONE correct rounding (default round-to-nearest-even).

    ml_dtypes casts a float64 to bfloat16 or FP8 through float32, which double-rounds
    (1 + 2^-8 + 2^-30 becomes 1.0 instead of 1 + 2^-7), so narrow formats are rounded here
    from the exact float64 value. `rm` is a RISC-V rounding mode: rne, rtz, rdn, rup, rmm.
    Inputs must be exactly representable in float64 (every format here is).
    """
    f = get_format(fmt)
    x = np.asarray(values)
    if x.dtype == f.dtype:
        return x.copy()
    if rm not in ROUNDING_MODES:
        raise ValueError(f"unknown rounding mode {rm!r}; expected one of {ROUNDING_MODES}")
    x = x.astype(np.float64)
    if f is FP64:
        return x
    if f is FP32 and rm == "rne":
        return x.astype(np.float32)  # NumPy's float64 -> float32 is a correct RNE cast
    return _round_to_format(x, f, rm)


def _round_to_format(x: np.ndarray, f: FloatFormat, rm: str) -> np.ndarray:
    emin = 1 - f.bias
    emax = f.bias
    p = f.man_bits
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        finite = np.isfinite(x)
        ax = np.where(finite, np.abs(x), 0.0)
        _, e2 = np.frexp(ax)  # ax = m * 2**e2, m in [0.5, 1): floor(log2 ax) = e2 - 1
        exp = np.maximum(e2 - 1, emin)
        quantum = np.ldexp(1.0, exp - p)  # spacing of the target format around x
        scaled = np.where(finite, x, 0.0) / quantum  # exact: division by a power of two
        if rm == "rne":
            q = np.rint(scaled)
        elif rm == "rtz":
            q = np.trunc(scaled)
        elif rm == "rdn":
            q = np.floor(scaled)
        elif rm == "rup":
            q = np.ceil(scaled)
        else:  # rmm: ties away from zero
            q = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)
        r = q * quantum
        max_finite = np.ldexp(2.0 - 2.0 ** -p, emax)
        over = np.abs(r) > max_finite
        # Overflow goes to infinity, except where the mode rounds toward zero for that sign.
        to_max = (rm == "rtz") | ((rm == "rdn") & (x > 0)) | ((rm == "rup") & (x < 0))
        r = np.where(over, np.where(to_max, np.sign(x) * max_finite, np.sign(x) * np.inf), r)
        r = np.where(finite, r, x)
        # Keep the sign of zero results (e.g. -1e-300 -> -0).
        r = np.where(r == 0, np.copysign(0.0, x), r)
    out = r.astype(f.dtype)  # exact now: r is representable in f
    nan = np.isnan(x)
    if nan.any():
        out = np.where(nan, from_bits(f.uint.type(f.canonical_nan), f), out).astype(f.dtype)
    return out


def nan_box(bits: np.ndarray | int, fmt: str | FloatFormat) -> np.ndarray:
    """The 64-bit register content holding a narrow value: all bits above it set to 1."""
    f = get_format(fmt)
    b = np.asarray(bits, dtype=np.uint64) & np.uint64((1 << f.width) - 1)
    if f.width == 64:
        return b
    return b | np.uint64(((1 << 64) - 1) ^ ((1 << f.width) - 1))


def is_nan_boxed(reg: np.ndarray | int, fmt: str | FloatFormat) -> np.ndarray:
    """True where the upper 64 - width bits of the register are all ones."""
    f = get_format(fmt)
    r = np.asarray(reg, dtype=np.uint64)
    if f.width == 64:
        return np.ones(r.shape, dtype=bool)
    upper = np.uint64(((1 << 64) - 1) ^ ((1 << f.width) - 1))
    return (r & upper) == upper


def nan_unbox(reg: np.ndarray | int, fmt: str | FloatFormat) -> np.ndarray:
    """The narrow encoding read from a 64-bit register: the low bits when properly
    NaN-boxed, the canonical NaN otherwise (RISC-V unprivileged spec, "NaN Boxing")."""
    f = get_format(fmt)
    r = np.asarray(reg, dtype=np.uint64)
    low = (r & np.uint64((1 << f.width) - 1)).astype(f.uint)
    if f.width == 64:
        return low
    return np.where(is_nan_boxed(r, f), low, f.uint.type(f.canonical_nan)).astype(f.uint)


def lanes_per_word(fmt: str | FloatFormat) -> int:
    """SIMD lanes in a 64-bit FP register: FP32 ×2, FP16/BF16 ×4, FP8 ×8.

    Source: snitch_cluster.md §3.2 ("SIMD lanes")."""
    return 64 // get_format(fmt).width


def pack_lanes(values: np.ndarray, fmt: str | FloatFormat) -> np.ndarray:
    """Pack the last axis of `values` (length a multiple of the lane count) into 64-bit words,
    lane 0 in the least significant bits (as `vf*` instructions and little-endian memory)."""
    f = get_format(fmt)
    n = lanes_per_word(f)
    bits = to_bits(np.asarray(values), f)
    if bits.shape[-1] % n:
        raise ValueError(
            f"{bits.shape[-1]} values do not fill whole 64-bit words of {n} {f.name} lanes"
        )
    # Little-endian byte order makes a reinterpretation equal to the shift-and-or packing.
    le = np.ascontiguousarray(bits.astype(f.uint.newbyteorder("<")))
    return le.view(np.dtype("<u8")).astype(np.uint64)


def unpack_lanes(words: np.ndarray | int, fmt: str | FloatFormat) -> np.ndarray:
    """Inverse of `pack_lanes`: 64-bit words → values with a last axis of lanes."""
    f = get_format(fmt)
    w = np.ascontiguousarray(np.asarray(words, dtype=np.uint64).astype("<u8"))
    shape = w.shape
    lanes = w.reshape(-1).view(f.uint.newbyteorder("<")).astype(f.uint)
    return lanes.view(f.dtype).reshape(*shape[:-1], -1) if shape else lanes.view(f.dtype)

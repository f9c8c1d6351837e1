"""Bit-accurate model of one lane of FPnew's DOTP unit (``fpnew_sdotp_multi.sv``).

Used by :mod:`vexpsim.numerics.fparith` for vfdotpex / vfsumex / vfsum (and their negated
forms). FPnew adds the three terms (two products or two addends, and the accumulator) in two
steps on a finite-width datapath with sticky bits and ONE final rounding; that is NOT always
the correctly rounded sum: when two terms fall entirely into the sticky bits of the largest one
the result can be off by one unit in the last place (directed rounding modes) and the inexact
flag can be set for an exact result. To be bit-exact with Snitch this module follows the RTL
step by step (cvfpu commit e5aa6a0, the revision pinned by snitch_cluster's Bender.lock). It
matched a Verilator build of that RTL on 44,000 random lane operations (both lane
configurations, all ops, formats and rounding modes); 3,000 recorded vectors are kept in
tests/numerics/data/fpnew_sdotp_rtl_vectors.txt (recorded from the RTL; the recording harness
builds third-party code and is not part of the repository).

Example (RTL-confirmed): vfdotpex.s.h with acc = 2^30 and products +2^-48, -2^-48 gives
pred(2^30) in RTZ (exact sum: 2^30) and raises NX in every mode.

Lane configurations in Snitch's 64-bit FPU (fpnew_pkg.sv get_dotp_lane_formats): lanes 0 and 1
take FP16/BF16/FP8/FP8alt sources into FP32/FP16/BF16/FP8 destinations (super source format
E8M10, super destination mantissa 23 bits); lanes 2 and 3 take FP8/FP8alt sources into
FP16/BF16/FP8 destinations (super source E5M3, destination mantissa 10 bits). The internal
widths, and so the rare non-IEEE cases, depend on the lane.
"""

from __future__ import annotations

from functools import lru_cache

# (exponent bits, mantissa bits) of the formats the DOTP unit handles
_FMT = {"fp32": (8, 23), "fp16": (5, 10), "bf16": (8, 7), "fp8": (5, 2), "fp8alt": (4, 3)}

SDOTP, EXVSUM, VSUM = 0, 1, 2
_RM = {"rne": 0, "rtz": 1, "rdn": 2, "rup": 3, "rmm": 4}

# Lane configurations: (super source mantissa bits, super destination mantissa bits).
LANE_CFG_WIDE = (10, 23)   # lanes 0 and 1
LANE_CFG_NARROW = (3, 10)  # lanes 2 and 3


def lane_cfg(lane: int) -> tuple[int, int]:
    """Datapath configuration of DOTP lane `lane` (0..3) in Snitch's FPU."""
    return LANE_CFG_WIDE if lane < 2 else LANE_CFG_NARROW


@lru_cache(maxsize=1 << 16)  # pure function of the bits; operands repeat a lot in kernels
def _info(x: int, eb: int, mb: int) -> tuple[int, int, int, int, int, int, int, int]:
    """(sign, exponent field, mantissa field, normal, subnormal, zero, inf, nan, signalling)
    as fpnew_classifier.sv (operands are always NaN-boxed here)."""
    sign = (x >> (eb + mb)) & 1
    e = (x >> mb) & ((1 << eb) - 1)
    m = x & ((1 << mb) - 1)
    allones = (1 << eb) - 1
    normal = int(e != 0 and e != allones)
    zero = int(e == 0 and m == 0)
    sub = int(e == 0 and m != 0)
    inf = int(e == allones and m == 0)
    nan = int(e == allones and m != 0)
    sig = int(nan and not (m >> (mb - 1)) & 1)
    return sign, e, m, normal, sub, zero, inf, nan, sig


def sdotp_lane(op: int, op_mod: bool, rm: str, src: str, dst: str, a: int, b: int, c: int,
               d: int, e: int, cfg: tuple[int, int] = LANE_CFG_WIDE) -> tuple[int, int]:
    """One DOTP lane: SDOTP e + a*b + c*d, EXVSUM e + a + c, VSUM e + a + c (a, c in dst).

    op_mod negates a and c (vfn*). Returns (result bits of dst, fflags)."""
    sm, dm0 = cfg
    P = sm + 1
    dm = max(dm0, 2 * sm + 1)
    DP = dm + 1
    AP = max(DP - 2 * P, 0)
    ebs, mbs = _FMT[src]
    ebd, mbd = _FMT[dst]
    bias_s = (1 << (ebs - 1)) - 1
    bias_d = (1 << (ebd - 1)) - 1
    rmc = _RM[rm]
    mod = 1 if op_mod else 0

    # ---- operand decode (src for a..d; dst for e and for the VSUM addends)
    ie = _info(e, ebd, mbd)
    se, ee = ie[0], ie[1]
    me = (ie[3] << dm) | (ie[2] << (dm - mbd))
    if op == VSUM:  # sources are read in the destination format; src decode unused
        ia = ib = ic = id_ = (0, 0, 0, 1, 0, 0, 0, 0, 0)
    else:
        ia = _info(a, ebs, mbs)
        ib = _info(b, ebs, mbs)
        ic = _info(c, ebs, mbs)
        id_ = _info(d, ebs, mbs)
    sa, sb, sc, sd = ia[0] ^ mod, ib[0], ic[0] ^ mod, id_[0]
    ea, eb_, ec, ed = ia[1], ib[1], ic[1], id_[1]
    if op != VSUM:
        ma = (ia[3] << sm) | (ia[2] << (sm - mbs))
        mb_ = (ib[3] << sm) | (ib[2] << (sm - mbs))
        mc = (ic[3] << sm) | (ic[2] << (sm - mbs))
        md = (id_[3] << sm) | (id_[2] << (sm - mbs))
    info_a, info_b, info_c, info_d = ia, ib, ic, id_
    a_sign, c_sign = sa, sc
    if op == VSUM:
        va = _info(a, ebd, mbd)
        vc = _info(c, ebd, mbd)
        info_a, info_c = va, vc
        a_sign, c_sign = va[0] ^ mod, vc[0] ^ mod
        ma_v = (va[3] << dm) | (va[2] << (dm - mbd))
        mc_v = (vc[3] << dm) | (vc[2] << (dm - mbd))
    if op in (VSUM, EXVSUM):  # multiplicands forced to +1.0
        sb = sd = 0
        eb_ = ed = bias_s
        mb_ = md = 1 << sm
        if op == VSUM:
            ma = mc = 0  # unused: the VSUM addends bypass the multipliers
        one = (0, bias_s, 0, 1, 0, 0, 0, 0, 0)
        info_b = info_d = one

    # ---- special cases (NaN, inf, inf*0)
    any_inf = info_a[6] or info_b[6] or info_c[6] or info_d[6] or ie[6]
    any_nan = info_a[7] or info_b[7] or info_c[7] or info_d[7] or ie[7]
    snan = info_a[8] or info_b[8] or info_c[8] or info_d[8] or ie[8]
    px_sign = a_sign ^ sb
    py_sign = c_sign ^ sd
    eff0 = px_sign ^ se
    eff1 = py_sign ^ se
    eff2 = px_sign ^ py_sign
    qnan = ((1 << ebd) - 1) << mbd | (1 << (mbd - 1))
    inf_bits = ((1 << ebd) - 1) << mbd
    sbit = 1 << (ebd + mbd)
    if ((info_a[6] and info_b[5]) or (info_a[5] and info_b[6])
            or (info_c[6] and info_d[5]) or (info_c[5] and info_d[6])):
        return qnan, 16
    if any_nan:
        return qnan, 16 if snan else 0
    if any_inf:
        x_inf = info_a[6] or info_b[6]
        y_inf = info_c[6] or info_d[6]
        if x_inf and y_inf and eff2:
            return qnan, 16
        if (x_inf and ie[6] and eff0) or (y_inf and ie[6] and eff1):
            return qnan, 16
        if x_inf:
            return (sbit if px_sign else 0) | inf_bits, 0
        if y_inf:
            return (sbit if py_sign else 0) | inf_bits, 0
        return (sbit if se else 0) | inf_bits, 0

    # ---- exponents (biased, internal)
    x_zero = info_a[5] or info_b[5]
    y_zero = info_c[5] or info_d[5]
    if op == VSUM:
        exp_x = info_a[1] + (0 if info_a[3] else 1)
        exp_y = info_c[1] + (0 if info_c[3] else 1)
    else:
        exp_x = (2 - bias_d) if x_zero else (
            ea + info_a[4] + eb_ + info_b[4] - 2 * bias_s + bias_d + 1)
        exp_y = (2 - bias_d) if y_zero else (
            ec + info_c[4] + ed + info_d[4] - 2 * bias_s + bias_d + 1)
    exp_z = ee + (0 if ie[3] else 1)
    cmp = (int(exp_x >= exp_y) << 2) | (int(exp_x >= exp_z) << 1) | int(exp_y >= exp_z)

    # ---- addends
    if op == VSUM:
        add_x, add_y = ma_v, mc_v
        x_is_zero, y_is_zero = info_a[5], info_c[5]
    else:
        add_x = (ma * mb_) << AP
        add_y = (mc * md) << AP
        x_is_zero, y_is_zero = x_zero, y_zero
    add_z = me
    z_is_zero = ie[5]
    # sort: (max, int, min) as (exponent, mantissa, is_zero, sign); the impossible codes
    # 0b010 and 0b101 take the default order (X, Y, Z) as in the RTL case statement
    X = (exp_x, add_x, x_is_zero, px_sign)
    Y = (exp_y, add_y, y_is_zero, py_sign)
    Z = (exp_z, add_z, z_is_zero, se)
    if cmp == 0b000:
        order = (Z, Y, X)
    elif cmp == 0b001:
        order = (Y, Z, X)
    elif cmp == 0b011:
        order = (Y, X, Z)
    elif cmp == 0b100:
        order = (Z, X, Y)
    elif cmp == 0b110:
        order = (X, Z, Y)
    else:
        order = (X, Y, Z)
    (e_max, m_max, max_zero, s_max), (e_int, m_int, int_zero, s_int), \
        (e_min, m_min, min_zero, s_min) = order
    tentative_sign = s_max
    eff_first = s_max ^ s_int

    # ---- first addition: max + int
    W1 = 2 * DP + 3
    diff = e_max - e_int
    shamt = diff if diff <= W1 else W1
    tot = (m_int << W1) >> shamt  # (W1 + DP) bits: after_shift | sticky
    int_after = tot >> DP
    sticky1 = int(tot & ((1 << DP) - 1) != 0)
    max_shifted = m_max << (3 + DP)
    mask1 = (1 << W1) - 1
    int_shifted = (~int_after & mask1) if eff_first else int_after
    inject = int(eff_first and not sticky1)
    sum_raw = (max_shifted + int_shifted + inject) & ((1 << (W1 + 1)) - 1)
    carry = (sum_raw >> W1) & 1
    ssum = (-sum_raw & mask1) if (eff_first and not carry) else (sum_raw & mask1)
    sum_exact_zero = ssum == 0 and carry and not sticky1 and eff_first
    if sum_exact_zero:
        final_sign = int(rmc == 2)
    elif eff_first and carry == tentative_sign:
        final_sign = 1
    else:
        final_sign = 0 if eff_first else tentative_sign

    # ---- second addition: W + min
    W2 = 2 * DP + P + 4
    exp_w = e_max + 1
    diff_z = exp_w - e_min
    shamt_z = diff_z if diff_z <= W2 else W2
    tot_z = (m_min << W2) >> shamt_z
    min_after = tot_z >> DP
    sticky2 = int(tot_z & ((1 << DP) - 1) != 0)

    # sign of an all-cancelled result (final_sign_zero)
    fsz = s_max
    if max_zero and not int_zero and not min_zero:
        if e_int > e_min or m_int > m_min:
            fsz = s_int
        elif m_int == m_min:
            fsz = (s_int | s_min) if s_max else (s_int & s_min)
        else:
            fsz = s_min
    elif max_zero and int_zero and not min_zero:
        fsz = s_min
    elif max_zero and int_zero and min_zero:
        fsz = (s_int | s_min) if s_max else (s_int & s_min)
    elif max_zero and not int_zero and min_zero:
        fsz = s_int

    bypass = sum_exact_zero and not min_zero and sticky2
    mant_w = ((1 if (carry and not eff_first) else 0) << W1) | ssum
    mant_w_shifted = mant_w << P
    fte = (e_min if e_min >= 0 else 0) if bypass else exp_w
    ts_z = s_min if bypass else final_sign
    eff_z = s_min ^ ts_z  # sign of the minimum addend against the tentative sign
    maskz = (1 << W2) - 1
    min_shifted = (~min_after & maskz) if eff_z else min_after
    inject_z = int(eff_z and not sticky2)
    if bypass:
        if e_min > 0:
            sum_raw_z = m_min << (DP + P + 4)
        else:
            sum_raw_z = (m_min << (DP + P + 4)) >> (-e_min + 1)
    else:
        sum_raw_z = mant_w_shifted + min_shifted + inject_z
    sum_raw_z &= (1 << (W2 + 1)) - 1
    carry_z = (sum_raw_z >> W2) & 1
    sum_z = (-sum_raw_z & maskz) if (eff_z and not carry_z) else (sum_raw_z & maskz)
    if eff_z and carry_z == ts_z:
        final_sign_z = 1
    else:
        final_sign_z = 0 if eff_z else ts_z

    # ---- normalization
    LW = W2 + 1  # LZC_SUM_WIDTH
    lower = ((1 if (not eff_z and carry_z) else 0) << W2) | sum_z
    empty = lower == 0
    lzc = LW - lower.bit_length() if not empty else LW - 1
    if fte - lzc + 1 > 0 and not empty:
        if lzc > 0:
            norm_shamt = lzc - 1
            norm_exp = fte - lzc + 1
        else:
            norm_shamt = 0
            norm_exp = fte
    else:
        norm_shamt = fte - 1 if fte > 0 else 0
        norm_exp = 0
    shifted = (lower << norm_shamt) & ((1 << LW) - 1)
    low_mask = (1 << (LW - 1)) - 1  # {final_mantissa, sticky bits}: LW - 1 bits
    SB = DP + P + 3  # sum_sticky_bits width
    fe = norm_exp
    if (shifted >> (LW - 1)) & 1:
        body = (shifted >> 1) & low_mask
        fe = norm_exp + 1
    elif (shifted >> (LW - 2)) & 1:
        body = shifted & low_mask
    elif norm_exp > 1:
        body = (shifted << 1) & low_mask
        fe = norm_exp - 1
    else:
        body = shifted & low_mask
        fe = 0
    fmant = body >> SB  # DP + 1 bits
    ssb = body & ((1 << SB) - 1)
    sticky = int(ssb != 0) | int(sticky2 and not bypass) | sticky1
    if sticky1 and not eff_first and not sticky2 and eff_z and ssb == 0 and not min_zero:
        sticky = 0
    if sticky1 and eff_first and not sticky2 and not eff_z and ssb == 0 and not min_zero:
        sticky = 0

    # ---- rounding (fpnew_rounding.sv)
    of_before = fe >= (1 << ebd) - 1
    if of_before:
        pre_exp = (1 << ebd) - 2
        pre_man = (1 << mbd) - 1
    else:
        pre_exp = fe & ((1 << ebd) - 1)
        pre_man = (fmant >> (dm - mbd + 1)) & ((1 << mbd) - 1)
    rbit = ((fmant >> (dm - mbd)) & 1) | int(of_before)
    if mbd < dm:
        sbit_ = int(fmant & ((1 << (dm - mbd)) - 1) != 0) | sticky | int(of_before)
    else:
        sbit_ = sticky | int(of_before)
    rs = (rbit << 1) | sbit_
    pre_abs = (pre_exp << mbd) | pre_man
    pre_sign = fsz if (max_zero and pre_abs == 0 and rs) else final_sign_z
    if rmc == 0:
        up = (pre_abs & 1) if rs == 2 else int(rs == 3)
    elif rmc == 1:
        up = 0
    elif rmc == 2:
        up = pre_sign if rs else 0
    elif rmc == 3:
        up = (1 - pre_sign) if rs else 0
    else:
        up = rbit
    rabs = pre_abs + up
    exact_zero = pre_abs == 0 and rs == 0
    sign = int(rmc == 2) if (exact_zero and eff_z) else pre_sign
    rexp = (rabs >> mbd) & ((1 << ebd) - 1)
    uf_after = rexp == 0
    of_after = rexp == (1 << ebd) - 1
    nx = int(rs != 0 or of_before or of_after)
    flags = nx | (2 if (uf_after and nx) else 0) | (4 if (of_before or of_after) else 0)
    mask = (1 << (ebd + mbd)) - 1
    return (sbit if sign else 0) | (rabs & mask), flags

"""Short FREP bodies of BF16 dot products (GEMM's and FA-2's MAC8), functional part in one call.

A body of vf[n]dotpex.s.ah `acc_k, ftA, ftB` (both sources streams, each accumulator
its own register, no stagger) is run for a whole iteration range by one generated Python
function instead of per instruction closures: the stream words are read in bulk from the
element addresses the separated path (vexpsim.arch.frep_replay) already took for the banks,
the products of each lane and their sum computed with NumPy for all steps (exact in
binary64: 8 significand bits each), then one loop over the iterations adds each sum to its
accumulator (two Python floats per accumulator) and rounds both lanes to FP32 by one struct
packing, as fparith.dotpex_pair does. That loop is speculative: afterwards NumPy checks
dotpex_pair's conditions on every step (both products nonzero and, with a nonzero
accumulator, the three terms within 2^25 of each other, so the binary64 sum is exact; no
special or subnormal operand; a normal, finite FP32 result). If one fails, the range runs
again step by step with the same test before each step, fparith's exact simd_dotpex for the
steps that fail it: either way the result bits and flags of the per-instruction path
(tests/arch/test_frep_dotp.py). The streams then end in the state the pops leave
(Ssr.advance).
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from ..numerics import fparith as fpa

__all__ = ["DotpBody", "plan_dotp"]

_F32X2 = struct.Struct("<2f")
_U64 = struct.Struct("<Q")
_SPAN = fpa._SPAN  # dotpex_pair's span test: 2^(DP + 1), DP = 24
_MIN = fpa._F32_MIN_NORMAL
_MIN_BELOW = float(np.nextafter(_MIN, 0.0))  # z > this: z >= _MIN
_OVR = (2.0 - 2.0 ** -24) * 2.0 ** 127  # at or above: rounds to infinity (or ties to it)


class DotpBody:
    """One FREP site's DOTP body and what its runs need."""

    def __init__(self, h: Any, rds: list[int], srcs: list[tuple[int, int]],
                 neg: list[bool]) -> None:
        self.h = h
        self.rds = rds
        self.srcs = srcs  # (rs1, rs2) per instruction
        self.neg = neg
        self.table = _table()
        self.streams = sorted({s for p in srcs for s in p})
        # pops of each stream per iteration, and the pop index (within its iteration) of
        # each instruction's two sources
        self.per_it = {s: sum(p.count(s) for p in srcs) for s in self.streams}
        seen = dict.fromkeys(self.streams, 0)
        self.pos = []
        for a, b in srcs:
            self.pos.append((seen[a], seen[b]))
            seen[a] += 1
            seen[b] += 1
        k = len(rds)
        self.spec = _LOOPS.get(k) or _LOOPS.setdefault(k, _speculative(k))
        self._index: dict = {}

    def _gather(self, n: int, shape: tuple) -> tuple[Any, Any, Any]:
        """Indices into the streams' concatenated elements (per stream: the buffered one, then
        the new ones; `shape[i]` = (buffered pops, repeat, elements) of stream
        self.streams[i]) of the two source operands of every step (iteration-major), and the
        sign of every step's products."""
        key = (n, shape)
        got = self._index.get(key)
        if got is None:
            first, off = {}, 0
            for s, (buffered, rep, new) in zip(self.streams, shape, strict=True):
                j = np.arange(n * self.per_it[s], dtype=np.int64)
                first[s] = off + np.where(j < buffered, 0, 1 + (j - buffered) // (rep + 1))
                off += 1 + new
            pairs = list(zip(self.srcs, self.pos, strict=True))
            ix, iy = ([first[p[w]][q[w]::self.per_it[p[w]]] for p, q in pairs] for w in (0, 1))
            sign = None
            if any(self.neg):
                sign = np.tile([-1.0 if x else 1.0 for x in self.neg], n)[:, None]
            got = self._index[key] = (np.stack(ix, axis=1).ravel(),
                                      np.stack(iy, axis=1).ravel(), sign)
        return got

    def run(self, n: int, addrs: list) -> bool:
        """Iterations of the FREP (n of them) from the hart's current state; `addrs[s]`: the
        word addresses of the elements stream s fetches from now on (frep_replay._banks).
        False, nothing changed, when a run-time condition does not hold."""
        h = self.h
        if h.frm or not h.ssr_enabled:
            return False
        where, shape, ends, curs = [], [], [], []
        anywhere = h.mem.regions[0][1]  # a valid address: the buffered element's slot
        for s in self.streams:
            ssr = h.ssrs[s]
            a = addrs[s]
            if a is None or ssr.write:
                return False
            pops = n * self.per_it[s]
            buffered = min(pops, ssr._rep_left)
            new = -(-(pops - buffered) // (ssr.repeat + 1))
            if len(a) < new:
                return False
            curs.append((len(where), ssr._cur))
            where.append(anywhere)
            where += a[:new]
            shape.append((buffered, ssr.repeat, new))
            ends.append((ssr, pops, len(where) - 1 if new else -1))
        el = _load(h.mem, where, h.ssrs[self.streams[0]]._ld8)
        for i, cur in curs:
            el[i] = cur
        ix, iy, sign = self._gather(n, tuple(shape))
        xs, ys = el[ix], el[iy]  # the two source words of every step
        t = self.table
        p = t[xs.view(np.uint16).reshape(-1, 4)] * t[ys.view(np.uint16).reshape(-1, 4)]
        if sign is not None:
            p *= sign
        p = p.reshape(-1, 2, 2)  # step, lane, product
        sums = p[:, :, 0] + p[:, :, 1]  # exact where the step's test passes
        k = len(self.rds)
        f = h.f
        init = [f[rd] for rd in self.rds]
        words = None
        try:
            out = self.spec(sums.reshape(n, 2 * k).tolist(), init)
        except OverflowError:  # a sum rounded to infinity: not the common case
            out = None
        if out is not None:  # the accumulators before the run, then every step's result
            acc = np.frombuffer(out, dtype=np.float32).astype(np.float64).reshape(-1, 2)
            cin, r = acc[:-k], acc[k:]
            tot = cin + sums
            if _exact(p, cin, tot):
                words = np.frombuffer(out, dtype=np.uint64)[-k:].tolist()
                flags = int(bool((r != tot).any()))  # NX
        if words is None:
            words, flags = _checked(n, k, p, sums, xs.tolist(), ys.tolist(), init, self.neg)
        for rd, w in zip(self.rds, words, strict=True):
            f[rd] = w
        h.fflags |= flags
        for ssr, pops, last in ends:
            if last >= 0:
                ssr.advance_taken(pops, where[last], int(el[last]))
            else:
                ssr.advance(pops)
        return True


def _exact(p: Any, cin: Any, tot: Any) -> bool:
    """dotpex_pair's conditions on every step (products p, accumulator in cin, binary64 sum
    tot; NaNs fail every comparison): the two products within 2^25 of each other, a nonzero
    accumulator normal and within 2^25 of both, the sum a normal FP32 magnitude."""
    ap = np.abs(p)
    a0, a1 = ap[..., 0], ap[..., 1]
    hi = np.maximum(a0, a1)
    los = np.minimum(a0, a1)
    los *= _SPAN
    z = np.abs(cin)
    ok = (z * _SPAN > hi) & (z < los) & (z >= _MIN)
    ok |= z == 0
    ok &= los > hi
    at = np.abs(tot)
    ok &= at >= _MIN
    ok &= at < _OVR
    return bool(ok.all())


def _checked(n: int, k: int, p: Any, sums: Any, xl: list, yl: list, init: list,
             neg: list) -> tuple[list[int], int]:
    """The steps one by one, dotpex_pair's test before each (else fparith's exact path):
    the accumulators' final words and the flags."""
    ap = np.abs(p)
    hi = ap.max(axis=2)
    lo = ap.min(axis=2)
    ok = lo * _SPAN > hi  # per step and lane; the accumulator's window: low < |c| < up
    low = np.where(ok, np.maximum(hi / _SPAN, _MIN_BELOW), np.inf).tolist()
    up = np.where(ok, lo * _SPAN, 0.0).tolist()
    ok = ok.tolist()
    sums = sums.tolist()
    pack, unpack = _F32X2.pack, _F32X2.unpack
    upack, uunpack = _U64.pack, _U64.unpack
    dotpex = fpa.simd_dotpex
    acc = list(init)
    flags = 0
    for i in range(n * k):
        j = i % k
        w = acc[j]
        c, d = unpack(upack(w))
        (s0, s1), (l0, l1), (u0, u1), (k0, k1) = sums[i], low[i], up[i], ok[i]
        t, u = s0 + c, s1 + d
        if ((l0 < abs(c) < u0 or (not c and k0)) and (l1 < abs(d) < u1 or (not d and k1))
                and _MIN <= abs(t) < _OVR and _MIN <= abs(u) < _OVR):
            b = pack(t, u)
            if unpack(b) != (t, u):
                flags |= 1  # NX
            acc[j] = uunpack(b)[0]
        else:
            acc[j], fl = dotpex(xl[i], yl[i], w, "bf16", "fp32", "rne", neg[j], False,
                                fast=True)
            flags |= fl
    return acc, flags


_TABLE: list = []
_LOOPS: dict = {}  # body length -> speculative loop
_U64S_CACHE: dict = {}


def _U64S(k: int) -> struct.Struct:  # noqa: N802 - a Struct, named like one
    s = _U64S_CACHE.get(k)
    if s is None:
        s = _U64S_CACHE[k] = struct.Struct(f"<{k}Q")
    return s


def _table() -> Any:
    """dotpex_pair's BF16 lane values as an array (NaN: left to the exact path)."""
    if not _TABLE:
        _TABLE.append(np.array(fpa.dotpex_pair_table("bf16", "fp32"), dtype=np.float64))
    return _TABLE[0]


def _load(mem: Any, addrs: list[int], ld8: Any) -> Any:
    """The 64-bit words at `addrs` (word aligned, as stream addresses are), writable."""
    _, base, size, buf = mem.regions[0]
    a = np.array(addrs, dtype=np.int64)
    if base <= a.min() and a.max() + 8 <= base + size:
        view = getattr(mem, "_words64", None)
        if view is None:
            view = mem._words64 = np.frombuffer(buf, dtype=np.uint64)
        return view[(a - base) >> 3]
    return np.array([ld8(x) for x in addrs], dtype=np.uint64)


def _speculative(k: int) -> Any:
    """The iteration loop of a body of k DOTP instructions, without the exactness test:
    accumulators as two FP32 lanes in floats, each step's two lane sums added and rounded by
    one struct packing; returns the accumulators' words, then the packed result of every step
    (iteration-major), which is its 64-bit result word."""
    cs = ", ".join(f"c{j}, d{j}" for j in range(k))
    xs = ", ".join(f"x{j}, y{j}" for j in range(k))
    bs = ", ".join(f"b{j}" for j in range(k))
    lines = ["def spec(rows, init):",
             "    b = pack_words(*init)",
             f"    {cs}, = unpack_acc(b)",
             "    out = [b]",
             "    put = out.extend",
             "    for row in rows:",
             f"        {xs}, = row"]
    for j in range(k):
        lines += [f"        b{j} = pack(x{j} + c{j}, y{j} + d{j})",
                  f"        c{j}, d{j} = unpack(b{j})"]
    lines += [f"        put(({bs},))", "    return b''.join(out)"]
    ns = {"pack": _F32X2.pack, "unpack": _F32X2.unpack, "pack_words": _U64S(k).pack,
          "unpack_acc": struct.Struct(f"<{2 * k}f").unpack}
    exec(compile("\n".join(lines), f"<vexpsim dotp loop {k}>", "exec"), ns)  # noqa: S102
    return ns["spec"]


def plan_dotp(h: Any, body: list[Any], nvar: int) -> DotpBody | None:
    """The DOTP runner of an FREP body (no stagger), or None when the body is not only
    vf[n]dotpex.s.ah with two distinct stream sources and its own accumulator each."""
    if nvar != 1 or not body:
        return None
    nssr = len(h.ssrs)
    rds, srcs, neg = [], [], []
    for b in body:
        d = b.defn
        a = d.args
        if d.semantics != "simd_dotpex" or a["src"] != "ah" or a["replicate"] \
                or a["dst"] != "fp32":
            return None
        if not (b.rs1 < nssr and b.rs2 < nssr and b.rs1 != b.rs2 and b.rd >= nssr):
            return None
        rds.append(b.rd)
        srcs.append((b.rs1, b.rs2))
        neg.append(bool(a["negate"]))
    if len(set(rds)) != len(rds):
        return None
    return DotpBody(h, rds, srcs, neg)

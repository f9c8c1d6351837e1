"""Short FREP loops in timed runs: the functional part and the timing part run separately.

An FREP body of buffered FP compute instructions (no loads or stores: vexpsim.arch.timed's
_inline_fp closures) has timing that does not depend on any value it computes: only on the
FP-side state, the TCDM reservations of the other cores (fixed while this hart runs its
FREP) and the banks of the stream elements, which the streams' configuration fixes. So
iterations `first..last-1` (the first pass offloaded by the core, the others issued by the
sequencer) can run as
  1. the banks of every stream element they fetch or write, from the functional data
     movers' address sequences before anything runs (Ssr.take_addresses, which leaves the
     sequence as it was, or Ssr.peek_addresses);
  2. the functional closures alone (or the vectorised path, vexpsim.arch.fastfrep);
  3. `replay`: the rules of _inline_fp's sequencer closure and of timing._Stream
     (read_ready, pop, write_ready, push), in one loop over local state, each stream request
     taking its precomputed bank instead of the functional data mover's look-ahead.
The result is the per-instruction path's: the same issue cycles, stalls, events, TCDM
reservations and counters, and the same functional state. Used for loops too short for the
steady-state extrapolation (frep_fast.MIN_ITERATIONS), e.g. GEMM's 16-iteration FREPs.
Pinned by tests/arch/test_frep_replay.py (per-instruction == replay, alone and contended).

Conditions (else the caller keeps the per-instruction path, nothing changed): every body
closure of every stagger step carries its static timing facts; streaming is on or off on
both the timing and the functional side; each stream the body uses is only read or only
written, in the direction it was configured for, has its repeat counters in step on both
sides, and can deliver every element (a loop that runs a stream dry errors on the
per-instruction path, with its message).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..isa.semantics import SimError

__all__ = ["ENABLED", "FpFacts", "run_separated", "replay"]

ENABLED = True  # tests flip it to compare with the per-instruction path
COMPILED = True  # unstaggered bodies: replay() by a function generated for the body

# Static facts of one sequencer-issued FP compute instruction (timed._inline_fp):
# (event counter, latency key, latency, write-FIFO latency, pipelined, FP sources,
#  rd, SSR lanes read (deduplicated), SSR lane written or -1)
FpFacts = tuple[int, str, int, int, bool, tuple[int, ...], int, tuple[int, ...], int]


def _banks(ssr: Any, count: int, tc: Any) -> tuple[list[int], list[int]]:
    """The word addresses of the next `count` elements the data mover fetches or writes (the
    caller checked that it has them) and their TCDM banks (-1: outside the TCDM, or no
    shared TCDM). Short loops: from its address generator (a NumPy window costs more below
    a few hundred elements), which then serves the functional pops from the same list
    (Ssr.take_addresses)."""
    if count <= _PY_ADDRESSES:
        addrs: list[int] = ssr.take_addresses(count)
    else:
        addrs = ssr.peek_addresses(count, fetches=True).tolist()
    if tc is None:
        return [-1] * count, addrs
    lo, hi, sh, nb = tc.base, tc.base + tc.size, tc.shift, tc.nb
    return [((a - lo) >> sh) % nb if lo <= a < hi else -1 for a in addrs], addrs


_PY_ADDRESSES = 512


def run_separated(h: Any, bodies: list[list[FpFacts]], first: int, last: int,
                  functional: Callable[[int, int, list[list[int] | None]], None]) -> bool:
    """Run iterations first..last-1 of an FREP on timed hart `h` (module docstring);
    `functional(first, last, addrs)` executes their functional part, `addrs[s]` the word
    addresses of the elements stream s fetches or writes from now on (None: not used).
    False, with nothing changed, when a condition does not hold."""
    ct = h.tm.ct
    nvar = len(bodies)
    ssr_on = ct.ssr_enabled
    if ssr_on != h.ssr_enabled or any(st.log is not None for st in ct.streams):
        return False
    fetch: list[list[int] | None] = [None] * len(ct.streams)
    addrs: list[list[int] | None] = [None] * len(ct.streams)
    if ssr_on:
        reads = [0] * len(ct.streams)
        writes = [0] * len(ct.streams)
        for it in range(first, min(last, first + nvar)):
            times = len(range(it, last, nvar))  # iterations using this stagger step
            for fa in bodies[it % nvar]:
                for s in fa[7]:
                    reads[s] += times
                if fa[8] >= 0:
                    writes[fa[8]] += times
        for s, st in enumerate(ct.streams):
            if not reads[s] and not writes[s]:
                continue
            if (reads[s] and writes[s]) or s >= len(h.ssrs):
                return False
            ssr = h.ssrs[s]
            if ssr.write != bool(writes[s]) or st.repeat != ssr.repeat or \
                    st.rep_left != ssr._rep_left:
                return False
            try:
                _, new = ssr._plan(writes[s] or reads[s], "write" if writes[s] else "read")
            except SimError:
                return False
            fetch[s], addrs[s] = _banks(ssr, new, ct.tcdm)
    functional(first, last, addrs)
    replay(ct, h.tm.counts, bodies, first, last, fetch)
    return True


def replay(ct: Any, cnt: list[int], bodies: list[list[FpFacts]], first: int, last: int,
           banks: list[list[int] | None]) -> None:
    """The timing of iterations first..last-1 of an FREP whose body instructions have the
    static facts `bodies[it % len(bodies)]`: _inline_fp's f_fp (iteration 0 offloaded by
    the core, the others issued by the sequencer) and the _Stream methods, inlined;
    `banks[s]`: the bank (-1: none) of each element stream s fetches (read) or writes from
    now on. A request whose bank is free in
    its cycle is checked and reserved here in the TCDM ring (TcdmBanks.free_at/grant's
    first probe); any other goes through TcdmBanks."""
    nvar = len(bodies)
    fready, unit_free, tc = ct.fready, ct.unit_free, ct.tcdm
    ssr_on = ct.ssr_enabled
    fp_last, fp_issued, last_done = ct.fp_last, ct.fp_issued, ct.last_fp_done
    if nvar == 1 and COMPILED:
        for fa in bodies[0]:  # the event counts, once per instruction and pass
            cnt[fa[0]] += last - first
        sts = ct.streams
        # the stream registers whose ready time still bounds the issue (see regs below)
        late = tuple(r for r in range(len(sts)) if not ssr_on or fready[r] > fp_last + 1)
        shape = (tuple(bodies[0]), ssr_on, first == 0, late,
                 tuple((st.repeat, not st.rep_left) for st in sts))
        fn = _COMPILED.get(shape)
        if fn is None:
            fn = _COMPILED[shape] = _compile(*shape, len(sts))
        fn(ct, first, last, banks)
        return
    raw = empty = full = busy = 0
    sts = ct.streams
    last_req = [st.last_req for st in sts]
    rep_left = [st.rep_left for st in sts]
    avail = [st.avail for st in sts]
    elements = [st.elements for st in sts]
    repeat = [st.repeat for st in sts]
    consumed = [st.consumed for st in sts]  # deques, updated in place
    depth = [st.depth for st in sts]
    slat = [st.lat for st in sts]
    nxt = [0] * len(sts)  # next index into banks[s]
    reads = writes = 0
    if tc is not None:
        occ, nw, msk, lo, win, word, bit = tc.occ, tc.nw, tc.mask, tc.lo, tc.window, \
            tc.word, tc.bit
    # the registers whose ready times bound the issue: the FP sources and rd (WAW), without
    # the stream registers when streaming (never written then: their ready times are
    # constants) whose ready time is already behind (the issue cycle only grows)
    regs = [[(fa, tuple(r for r in (*fa[5], fa[6])
                        if not (ssr_on and r < len(sts) and fready[r] <= fp_last + 1)))
             for fa in body] for body in bodies]
    for v, body in enumerate(bodies):  # the event counts, once per instruction and pass
        for fa in body:
            cnt[fa[0]] += len(range(first + (v - first) % nvar, last, nvar))
    fpq, qdepth, lat_off = ct.fpq, ct.p.fpq_depth, ct.p.lat_offload
    fpq_full = 0
    for it in range(first, last):
        offload = it == 0  # the first pass: the core offloads it (_inline_fp, seq=False)
        for (_, key, lat, wlat, piped, _, rd, ins, out), srcs in regs[it % nvar]:
            if offload:  # _offload with no integer sources
                t = ct.cycle
                if len(fpq) >= qdepth:
                    free = fpq[-qdepth] + 1
                    if free > t:
                        fpq_full += free - t
                        t = free
                ct.cycle = t + 1
                ct.retired += 1
                need = t + lat_off
                if fp_last + 1 > need:
                    need = fp_last + 1
                base = need
            else:
                need = base = fp_last + 1
            for r in srcs:
                if fready[r] > need:
                    need = fready[r]
            raw += need - base
            if ssr_on:
                for s in ins:  # _Stream.read_ready
                    if rep_left[s]:
                        ready = avail[s]
                    else:
                        req = last_req[s] + 1
                        c, d = consumed[s], depth[s]
                        if len(c) >= d and c[-d] >= req:
                            req = c[-d] + 1
                        b = banks[s][nxt[s]]
                        if b >= 0 and not (lo <= req < lo + win and
                                           not occ[(req & msk) * nw + word[b]] & bit[b]):
                            req = tc.free_at(req, b)
                        ready = req + slat[s]
                    if ready > need:
                        empty += ready - need
                        need = ready
                if out >= 0:  # _Stream.write_ready
                    c, d = consumed[out], depth[out]
                    if len(c) >= d and c[-d] - wlat > need:
                        full += c[-d] - wlat - need
                        need = c[-d] - wlat
            if not piped:
                free = unit_free.get(key, 0)
                if free > need:
                    busy += free - need
                    need = free
                unit_free[key] = need + lat
            if ssr_on:
                for s in ins:  # _Stream.pop
                    if rep_left[s]:
                        rep_left[s] -= 1
                        continue
                    req = last_req[s] + 1
                    c, d = consumed[s], depth[s]
                    n = len(c)
                    if n >= d and c[-d] >= req:
                        req = c[-d] + 1
                    b = banks[s][nxt[s]]
                    nxt[s] += 1
                    if b >= 0:
                        i = (req & msk) * nw + word[b]
                        if lo <= req < lo + win and not occ[i] & bit[b]:
                            occ[i] |= bit[b]
                        else:
                            req = tc.grant(req, b)
                            occ, msk, win = tc.occ, tc.mask, tc.window  # it may grow
                        reads += 1
                    elements[s] += 1
                    last_req[s] = req
                    avail[s] = req + slat[s]
                    rep_left[s] = repeat[s]
                    c.append(need)
                    if n >= 2 * d:
                        c.popleft()
            fp_last = need
            fp_issued += 1
            wb = need + lat
            if ssr_on and out >= 0:  # _Stream.push
                drain = last_req[out] + 1
                if wb + 1 > drain:
                    drain = wb + 1
                b = banks[out][nxt[out]]
                nxt[out] += 1
                if b >= 0:
                    i = (drain & msk) * nw + word[b]
                    if lo <= drain < lo + win and not occ[i] & bit[b]:
                        occ[i] |= bit[b]
                    else:
                        drain = tc.grant(drain, b)
                        occ, msk, win = tc.occ, tc.mask, tc.window
                    writes += 1
                elements[out] += 1
                last_req[out] = drain
                c = consumed[out]
                c.append(drain)
                if len(c) > 2 * depth[out]:
                    c.popleft()
            else:
                fready[rd] = wb + 1
            if wb > last_done:
                last_done = wb
            if offload:
                fpq.append(need)
                if len(fpq) > 2 * qdepth:
                    fpq.popleft()
    ct.fp_last, ct.fp_issued, ct.last_fp_done = fp_last, fp_issued, last_done
    st_ = ct.stalls
    st_.fpq_full += fpq_full
    st_.fp_raw += raw
    st_.ssr_empty += empty
    st_.ssr_full += full
    st_.unit_busy += busy
    for s, st in enumerate(sts):
        st.last_req, st.rep_left, st.avail, st.elements = \
            last_req[s], rep_left[s], avail[s], elements[s]
    if tc is not None:
        tc.reads += reads
        tc.writes += writes


_COMPILED: dict = {}  # body shape -> generated replay


def _compile(facts: tuple, ssr_on: bool, offload: bool, late: tuple, reps: tuple,
             nst: int) -> Callable:
    """replay() for one unstaggered body (`facts`: FpFacts per instruction), generated: the
    loop above unrolled over the body's instructions with their facts as constants, the
    register sources already filtered (`late`: the stream registers among them still to
    check) and each stream's state in locals; the same rules in the same
    order, so the same result. Unlike the loop, a pop reuses the request cycle, the bank and
    (when no other pop of the instruction reserved before it) the bank check its read_ready
    computed (nothing they depend on changes in between); the repeat counter is resolved
    statically for a stream without repeat or whose pops per iteration are whole elements
    from a repeat counter of 0 (`reps[s]`: repeat, counter at 0); and the element and TCDM
    access counts are taken from the bank lists at the end. `offload`: the range starts
    with iteration 0."""
    body = [(key, lat, wlat, piped, tuple(dict.fromkeys(
        r for r in (*fs, rd) if r >= nst or r in late)), rd, ins, out)
        for _, key, lat, wlat, piped, fs, rd, ins, out in facts]
    used = sorted({s for f in body for s in f[6]} | {f[7] for f in body if f[7] >= 0}) \
        if ssr_on else []
    # per stream: "norep" (every pop fetches), "aligned" (each iteration's pops are whole
    # elements: which pops fetch is static) or "dyn" (the repeat counter decides at run time)
    per_it = {t: sum(f[6].count(t) for f in body) for t in used}
    mode = {t: "norep" if not reps[t][0] and reps[t][1] else
            "aligned" if reps[t][1] and per_it[t] and per_it[t] % (reps[t][0] + 1) == 0 else
            "dyn" for t in used}
    pos = dict.fromkeys(used, 0)
    fresh = []  # per instruction: {stream: whether its pop fetches} (aligned streams)
    for f in body:
        got = {}
        for t in f[6]:
            if t in pos:
                got[t] = pos[t] % (reps[t][0] + 1) == 0
                pos[t] += 1
        fresh.append(got)
    # the ready times of the registers the body reads or writes, in locals f<r>
    written = sorted({f[5] for f in body if not (ssr_on and f[7] >= 0)})
    regs = sorted({r for f in body for r in f[4]} | set(written))
    ln = ["def replay_body(ct, first, last, banks):",
          "    fready, unit_free, tc = ct.fready, ct.unit_free, ct.tcdm",
          "    fp_last, fp_issued, last_done = ct.fp_last, ct.fp_issued, ct.last_fp_done",
          "    raw = empty = full = busy = fpq_full = 0",
          "    sts = ct.streams",
          "    if tc is not None:",
          "        occ, nw, msk, lo, win, word, bit = tc.occ, tc.nw, tc.mask, tc.lo, "
          "tc.window, tc.word, tc.bit",
          "    fpq, qdepth, lat_off = ct.fpq, ct.p.fpq_depth, ct.p.lat_offload",
          "    hiw = lo + win if tc is not None else 0"]
    ln += [f"    f{r} = fready[{r}]" for r in regs]
    for s in used:
        ln += [f"    st = sts[{s}]",
               f"    lr{s}, rl{s}, av{s}, rp{s} = st.last_req, st.rep_left, st.avail, st.repeat",
               f"    c{s}, d{s}, sl{s}, bk{s}, nx{s} = st.consumed, st.depth, st.lat, "
               f"banks[{s}], 0"]

    def ready(s: int) -> list[str]:  # _Stream.read_ready of a new element
        return [f"q{s} = lr{s} + 1",
                f"n{s} = len(c{s})",
                f"if n{s} >= d{s} and c{s}[-d{s}] >= q{s}:",
                f"    q{s} = c{s}[-d{s}] + 1",
                f"b{s} = bk{s}[nx{s}]",
                f"if b{s} >= 0:",
                f"    ix{s} = (q{s} & msk) * nw + word[b{s}]",
                f"    if lo <= q{s} < hiw and not occ[ix{s}] & bit[b{s}]:",
                f"        fr{s} = 1",
                f"        ready = q{s} + sl{s}",
                "    else:",
                f"        fr{s} = 0",
                f"        ready = tc.free_at(q{s}, b{s}) + sl{s}",
                "else:",
                f"    ready = q{s} + sl{s}"]

    def pop(s: int, reuse: bool) -> list[str]:  # _Stream.pop of a new element (from ready)
        c = [f"nx{s} += 1", f"if b{s} >= 0:"]
        if reuse:  # no reservation since read_ready: its check holds
            c += [f"    if fr{s}:",
                  f"        occ[ix{s}] |= bit[b{s}]"]
        else:
            c += [f"    i = (q{s} & msk) * nw + word[b{s}]",
                  f"    if lo <= q{s} < hiw and not occ[i] & bit[b{s}]:",
                  f"        occ[i] |= bit[b{s}]"]
        c += ["    else:",
              f"        q{s} = tc.grant(q{s}, b{s})",
              "        occ, msk, hiw = tc.occ, tc.mask, lo + tc.window  # it may grow",
              f"lr{s} = q{s}",
              f"c{s}.append(need)",
              f"if n{s} >= 2 * d{s}:",
              f"    c{s}.popleft()"]
        if mode[s] != "norep":
            c += [f"av{s} = q{s} + sl{s}"]
        if mode[s] == "dyn":
            c += [f"rl{s} = rp{s}"]
        return c

    def indent(c: list[str]) -> list[str]:
        return ["    " + x for x in c]

    def instr(j: int, off: bool, ind: str) -> list[str]:
        key, lat, wlat, piped, srcs, rd, ins, out = body[j]
        new = fresh[j]
        c = []
        if off:  # _offload with no integer sources
            c += ["t = ct.cycle",
                  "if len(fpq) >= qdepth:",
                  "    free = fpq[-qdepth] + 1",
                  "    if free > t:",
                  "        fpq_full += free - t",
                  "        t = free",
                  "ct.cycle = t + 1",
                  "ct.retired += 1",
                  "need = t + lat_off",
                  "if fp_last + 1 > need:",
                  "    need = fp_last + 1",
                  "base = need"]
        else:
            c += ["need = base = fp_last + 1"]
        for r in srcs:
            c += [f"if f{r} > need:", f"    need = f{r}"]
        if srcs:
            c += ["raw += need - base"]
        if ssr_on:
            for s in ins:  # _Stream.read_ready
                if mode[s] == "norep" or mode[s] == "aligned" and new[s]:
                    c += ready(s)
                elif mode[s] == "aligned":  # the buffered element
                    c += [f"ready = av{s}"]
                else:
                    c += [f"if rl{s}:", f"    ready = av{s}", "else:"] + indent(ready(s))
                c += ["if ready > need:",
                      "    empty += ready - need",
                      "    need = ready"]
            if out >= 0:  # _Stream.write_ready
                c += [f"if len(c{out}) >= d{out} and c{out}[-d{out}] - {wlat} > need:",
                      f"    full += c{out}[-d{out}] - {wlat} - need",
                      f"    need = c{out}[-d{out}] - {wlat}"]
        if not piped:
            c += [f"free = unit_free.get({key!r}, 0)",
                  "if free > need:",
                  "    busy += free - need",
                  "    need = free",
                  f"unit_free[{key!r}] = need + {lat}"]
        if ssr_on:
            for k, s in enumerate(ins):  # _Stream.pop
                # reuse read_ready's check when no earlier pop here may have reserved
                reuse = all(mode[t] == "aligned" and not new[t] for t in ins[:k])
                if mode[s] == "norep" or mode[s] == "aligned" and new[s]:
                    c += pop(s, reuse)
                elif mode[s] == "dyn":
                    c += [f"if rl{s}:", f"    rl{s} -= 1", "else:"] + indent(pop(s, reuse))
        c += ["fp_last = need", "fp_issued += 1", f"wb = need + {lat}"]
        if ssr_on and out >= 0:  # _Stream.push
            c += [f"drain = lr{out} + 1",
                  "if wb + 1 > drain:",
                  "    drain = wb + 1",
                  f"b = bk{out}[nx{out}]",
                  f"nx{out} += 1",
                  "if b >= 0:",
                  "    i = (drain & msk) * nw + word[b]",
                  "    if lo <= drain < hiw and not occ[i] & bit[b]:",
                  "        occ[i] |= bit[b]",
                  "    else:",
                  "        drain = tc.grant(drain, b)",
                  "        occ, msk, hiw = tc.occ, tc.mask, lo + tc.window",
                  f"lr{out} = drain",
                  f"c{out}.append(drain)",
                  f"if len(c{out}) > 2 * d{out}:",
                  f"    c{out}.popleft()"]
        else:
            c += [f"f{rd} = wb + 1"]
        c += ["if wb > last_done:", "    last_done = wb"]
        if off:
            c += ["fpq.append(need)", "if len(fpq) > 2 * qdepth:", "    fpq.popleft()"]
        return [ind + x for x in c]

    if offload:  # iteration 0: the core offloads it (_inline_fp, seq=False)
        for j in range(len(body)):
            ln += instr(j, True, "    ")
        ln += ["    first = 1"]
    ln += ["    for _ in range(first, last):"]
    for j in range(len(body)):
        ln += instr(j, False, "        ")
    ln += [f"    fready[{r}] = f{r}" for r in written]
    ln += ["    ct.fp_last, ct.fp_issued, ct.last_fp_done = fp_last, fp_issued, last_done",
           "    st_ = ct.stalls",
           "    st_.fpq_full += fpq_full",
           "    st_.fp_raw += raw",
           "    st_.ssr_empty += empty",
           "    st_.ssr_full += full",
           "    st_.unit_busy += busy",
           "    reads = writes = 0"]
    writes = {f[7] for f in body if f[7] >= 0}
    for s in used:
        ln += [f"    st = sts[{s}]",
               f"    st.elements += nx{s}",  # each fetch or write took one bank
               f"    {'writes' if s in writes else 'reads'} += nx{s} - "
               f"bk{s}[:nx{s}].count(-1)"]
        if mode[s] == "norep" and s not in writes:  # avail: the last fetch's data
            ln += [f"    if nx{s}:", f"        av{s} = lr{s} + sl{s}"]
        ln += [f"    st.last_req, st.rep_left, st.avail = lr{s}, rl{s}, av{s}"]
    ln += ["    if tc is not None:",
           "        tc.reads += reads",
           "        tc.writes += writes"]
    ns: dict = {}
    exec(compile("\n".join(ln), "<vexpsim FREP replay>", "exec"), ns)  # noqa: S102
    return ns["replay_body"]

"""Constant expressions: a property test against Python integer arithmetic."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from vexpsim.asm.expr import evaluate, hi20, lo12, tokenize


def _cdiv(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


leaf = st.integers(min_value=-(2**31), max_value=2**31 - 1).map(lambda v: (str(v), v))


def combine(children):
    def binop(op):
        def make(pair):
            (ta, va), (tb, vb) = pair
            if op == "/":
                if vb == 0:
                    return ta, va
                return f"({ta}) / ({tb})", _cdiv(va, vb)
            if op == "%":
                if vb == 0:
                    return ta, va
                return f"({ta}) % ({tb})", va - vb * _cdiv(va, vb)
            if op in ("<<", ">>"):
                sh = abs(vb) % 8
                return f"({ta}) {op} {sh}", va << sh if op == "<<" else va >> sh
            return f"({ta}) {op} ({tb})", {"+": va + vb, "-": va - vb, "*": va * vb,
                                            "&": va & vb, "|": va | vb, "^": va ^ vb,
                                            "==": -int(va == vb), "<": -int(va < vb)}[op]
        return st.tuples(children, children).map(make)
    unary = children.map(lambda p: (f"-({p[0]})", -p[1])) | children.map(
        lambda p: (f"~({p[0]})", ~p[1]))
    return st.one_of(unary, *[binop(op) for op in
                              ("+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "==", "<")])


exprs = st.recursive(leaf, combine, max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(exprs)
def test_expressions_match_python(e):
    text, value = e
    assert evaluate(tokenize(text), lambda t: 0) == value


def test_precedence_like_c():
    ev = lambda s: evaluate(tokenize(s), lambda t: 0)  # noqa: E731
    assert ev("1 + 2 * 3 << 1") == 14
    assert ev("1 | 2 ^ 3 & 4") == 1 | (2 ^ (3 & 4))
    assert ev("-2 * -3") == 6 and ev("!0 + !5") == 1


def test_hi_lo_reassemble_any_32_bit_value():
    for v in (0, 1, 0x7FF, 0x800, 0xFFF, 0x12345678, 0x7FFFF800, 0xFFFFFFFF, 0x80000000):
        assert ((hi20(v) << 12) + lo12(v)) & 0xFFFFFFFF == v

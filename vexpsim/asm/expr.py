"""Constant expressions of the assembly DSL (GNU as subset).

Integers (decimal, 0x, 0b, 0o and GNU's leading-0 octal), character literals 'c', symbols,
numeric local labels (`1b`, `1f`), `.` (the current address), the relocation operators
`%hi(e)`, `%lo(e)`, `%pcrel_hi(e)`, `%pcrel_lo(label)`, and C operators with C precedence.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Token", "tokenize", "ExprError", "Unresolved", "evaluate", "hi20", "lo12"]


class ExprError(Exception):
    """A malformed expression; `col` is the 0-based column within the tokenized text."""

    def __init__(self, msg: str, col: int = 0) -> None:
        super().__init__(msg)
        self.col = col


class Unresolved(ExprError):
    """The expression names a symbol that has no value (yet)."""


@dataclass(frozen=True)
class Token:
    kind: str  # num, sym, op, reloc, str
    text: str
    col: int
    value: int = 0


_TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|[0-9][0-9_]*[bf]?\b|[0-9][0-9_]*)
  | (?P<chr>'(?:\\.|[^'\\])'?)
  | (?P<str>"(?:\\.|[^"\\])*")
  | (?P<reloc>%[A-Za-z_]+)
  | (?P<sym>[A-Za-z_.$][A-Za-z0-9_.$]*)
  | (?P<op><<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^~!()<>,:=@\\])
""", re.VERBOSE)

_ESCAPES = {"n": 10, "t": 9, "r": 13, "0": 0, "\\": 92, "'": 39, '"': 34}


def tokenize(text: str, base_col: int = 0) -> list[Token]:
    """Split `text` into tokens; columns are offset by `base_col`."""
    out: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m:
            raise ExprError(f"unexpected character {text[pos]!r}", base_col + pos)
        kind = m.lastgroup
        s = m.group()
        col = base_col + pos
        pos = m.end()
        if kind == "ws":
            continue
        if kind == "num":
            if s[-1] in "bf" and not s.lower().startswith(("0x", "0b")):
                out.append(Token("local", s, col, int(s[:-1])))
                continue
            t = s.replace("_", "").lower()
            if t.startswith("0x"):
                v = int(t, 16)
            elif t.startswith("0b"):
                v = int(t[2:], 2)
            elif t.startswith("0o"):
                v = int(t[2:], 8)
            elif len(t) > 1 and t[0] == "0":
                if any(c in "89" for c in t):
                    raise ExprError(f"invalid octal number {s!r}", col)
                v = int(t, 8)
            else:
                v = int(t)
            out.append(Token("num", s, col, v))
        elif kind == "chr":
            body = s[1:-1] if s.endswith("'") and len(s) > 2 else s[1:]
            if body.startswith("\\") and len(body) == 2:
                v = _ESCAPES.get(body[1], ord(body[1]))
            elif len(body) == 1:
                v = ord(body)
            else:
                raise ExprError(f"bad character literal {s}", col)
            out.append(Token("num", s, col, v))
        else:
            out.append(Token(kind, s, col))
    return out


def hi20(v: int) -> int:
    """%hi: upper 20 bits, rounded so that %hi(v) << 12 + %lo(v) == v."""
    return ((v + 0x800) >> 12) & 0xFFFFF


def lo12(v: int) -> int:
    """%lo: the sign-extended low 12 bits."""
    lo = v & 0xFFF
    return lo - 0x1000 if lo & 0x800 else lo


_BINARY = [  # precedence climbing, loosest first
    ("||",), ("&&",), ("|",), ("^",), ("&",), ("==", "!="), ("<", ">", "<=", ">="),
    ("<<", ">>"), ("+", "-"), ("*", "/", "%"),
]


def evaluate(tokens: list[Token], lookup: Callable[[Token], int],
             reloc: Callable[[str, int, Token], int] | None = None,
             end_col: int = 0) -> int:
    """Evaluate a whole token list. `lookup` resolves sym/local tokens (may raise Unresolved);
    `reloc(name, value, token)` applies %name(value)."""
    if not tokens:
        raise ExprError("expected an expression", end_col)
    pos = 0

    def peek() -> Token | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> Token:
        nonlocal pos
        if pos >= len(tokens):
            raise ExprError("unexpected end of expression", end_col)
        pos += 1
        return tokens[pos - 1]

    def expect(text: str) -> None:
        t = peek()
        if t is None or t.text != text:
            raise ExprError(f"expected {text!r}", t.col if t else end_col)
        take()

    def binary(level: int) -> int:
        if level == len(_BINARY):
            return unary()
        v = binary(level + 1)
        while (t := peek()) is not None and t.kind == "op" and t.text in _BINARY[level]:
            take()
            w = binary(level + 1)
            v = _apply(t, v, w)
        return v

    def unary() -> int:
        t = take()
        if t.kind == "op" and t.text in "-+~!":
            v = unary()
            return {"-": -v, "+": v, "~": ~v, "!": int(not v)}[t.text]
        if t.kind == "op" and t.text == "(":
            v = binary(0)
            expect(")")
            return v
        if t.kind == "num":
            return t.value
        if t.kind in ("sym", "local"):
            return lookup(t)
        if t.kind == "reloc":
            expect("(")
            inner_start = pos
            if t.text == "%pcrel_lo":
                target = take()
                v = target.value if target.kind == "num" else lookup(target)
            else:
                v = binary(0)
            expect(")")
            if reloc is None:
                raise ExprError(f"{t.text} is not allowed here", t.col)
            _ = inner_start
            return reloc(t.text, v, t)
        raise ExprError(f"unexpected {t.text!r} in expression", t.col)

    v = binary(0)
    if pos != len(tokens):
        raise ExprError(f"unexpected {tokens[pos].text!r} in expression", tokens[pos].col)
    return v


def _apply(t: Token, a: int, b: int) -> int:
    op = t.text
    if op in ("/", "%") and b == 0:
        raise ExprError("division by zero in expression", t.col)
    if op == "/":
        q = abs(a) // abs(b)
        return q if (a >= 0) == (b >= 0) else -q  # C truncation, as GNU as
    if op == "%":
        return a - b * _apply(Token("op", "/", t.col), a, b)
    if op in ("<<", ">>") and b < 0:
        raise ExprError("negative shift count", t.col)
    return {
        "+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
        "<<": lambda: a << b, ">>": lambda: a >> b, "&": lambda: a & b, "|": lambda: a | b,
        "^": lambda: a ^ b, "==": lambda: -int(a == b), "!=": lambda: -int(a != b),
        "<": lambda: -int(a < b), ">": lambda: -int(a > b), "<=": lambda: -int(a <= b),
        ">=": lambda: -int(a >= b), "&&": lambda: int(bool(a) and bool(b)),
        "||": lambda: int(bool(a) or bool(b)),
    }[op]()

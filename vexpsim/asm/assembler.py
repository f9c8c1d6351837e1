"""Two-pass assembler for the DSL (GNU as subset; design.md "The DSL", docs/dsl.md).

Pass 1 expands macros, `.rept`/`.irp` and conditionals in source order, tracks `.equ/.set`
values (a copy-on-write snapshot is kept with every statement, so `.set i, i+1` in a `.rept`
works as in GNU as), and lays out sections and labels. Pass 2 parses operands, expands
pseudo-instructions and checks every range. All errors of a file are collected and raised
together as one UserError with `file:line:col: message` plus the source line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..isa import ISA, default_isa
from ..isa.encoding import encode
from ..numerics.formats import convert, to_bits
from .expr import ExprError, Token, Unresolved, evaluate, hi20, lo12, tokenize
from .program import SECTION_ALIGN, TCDM_BASE, TEXT_BASE, Instruction, Program, SourceLoc

__all__ = ["assemble", "X_REGS", "F_REGS", "ROUNDING"]

_XABI = ["zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1"] + \
    [f"a{i}" for i in range(8)] + [f"s{i}" for i in range(2, 12)] + [f"t{i}" for i in range(3, 7)]
X_REGS = {f"x{i}": i for i in range(32)} | {n: i for i, n in enumerate(_XABI)} | {"fp": 8}
_FABI = [f"ft{i}" for i in range(8)] + ["fs0", "fs1"] + [f"fa{i}" for i in range(8)] + \
    [f"fs{i}" for i in range(2, 12)] + [f"ft{i}" for i in range(8, 12)]
F_REGS = {f"f{i}": i for i in range(32)} | {n: i for i, n in enumerate(_FABI)}
ROUNDING = {"rne": 0, "rtz": 1, "rdn": 2, "rup": 3, "rmm": 4, "dyn": 7}

_IGNORED = {".globl", ".global", ".type", ".size", ".file", ".ident", ".option", ".attribute",
            ".local", ".weak", ".hidden", ".protected", ".cfi_startproc", ".cfi_endproc",
            ".p2alignw", ".loc", ".func", ".endfunc", ".end_func", ".sleb128_ignored"}
_SECTION_KINDS = ("text", "data", "rodata", "bss", "tcdm")
_NOTE_SECTIONS = (".note.GNU-stack",)
_DATA_SIZES = {".byte": 1, ".half": 2, ".short": 2, ".2byte": 2, ".word": 4, ".long": 4,
               ".4byte": 4, ".int": 4, ".dword": 8, ".quad": 8, ".8byte": 8}
_LABEL_RE = re.compile(r"\s*([A-Za-z_.$][A-Za-z0-9_.$]*|[0-9]+)\s*:(?!=)")
_WORD_RE = re.compile(r"\s*([A-Za-z_.$][A-Za-z0-9_.$]*)")


class _Error(Exception):
    def __init__(self, msg: str, col: int | None = None) -> None:
        super().__init__(msg)
        self.col = col


@dataclass
class _Stmt:
    kind: str  # "instr" | "data"
    name: str
    ops: list[tuple[str, int]]  # operand text and 1-based column
    loc: SourceLoc
    section: str
    offset: int
    size: int
    equs: dict
    index: int
    rest: str = ""
    rest_col: int = 0


@dataclass
class _Macro:
    params: list[tuple[str, str | None]]
    body: list[tuple[str, SourceLoc]]


@dataclass
class _State:
    isa: ISA
    filename: str
    errors: list[tuple[int, int, str]] = field(default_factory=list)
    equs: dict = field(default_factory=dict)
    labels: dict[str, tuple[str, int]] = field(default_factory=dict)
    locals_: dict[int, list[tuple[int, str, int]]] = field(default_factory=dict)
    macros: dict[str, _Macro] = field(default_factory=dict)
    stmts: list[_Stmt] = field(default_factory=list)
    section: str = "text"
    sizes: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys((*_SECTION_KINDS, "note"), 0))
    bases: dict[str, int] = field(default_factory=dict)
    macro_counter: int = 0
    pcrel: dict[int, int] = field(default_factory=dict)
    final_equs: dict = field(default_factory=dict)
    include_dirs: list[str] = field(default_factory=list)
    include_stack: list[str] = field(default_factory=list)
    files: dict[str, int] = field(default_factory=dict)

    def error(self, loc: SourceLoc, msg: str, col: int | None = None) -> None:
        if col is not None:
            loc = SourceLoc(loc.file, loc.line, col, loc.text, loc.context)
        order = self.files.setdefault(loc.file, len(self.files))
        self.errors.append(((order, loc.line), loc.col, loc.render(msg)))


# ---------------------------------------------------------------------------------------------
# Line splitting

def _strip_comment(line: str) -> str:
    out = []
    i = 0
    quote = None
    while i < len(line):
        c = line[i]
        if quote:
            out.append(c)
            if c == "\\" and i + 1 < len(line):
                out.append(line[i + 1])
                i += 1
            elif c == quote:
                quote = None
        elif c in "\"'":
            if c == "'" and i + 2 < len(line) and line[i + 2] == "'" or c == '"':
                quote = c
            out.append(c)
        elif c == "#" or line.startswith("//", i):
            break
        else:
            out.append(c)
        i += 1
    return "".join(out)


def _split_statements(line: str) -> list[tuple[str, int]]:
    """Split a comment-free line at ';' (outside quotes); returns (text, start col 0-based)."""
    parts = []
    start = 0
    quote = None
    for i, c in enumerate(line):
        if quote:
            if c == quote and line[i - 1] != "\\":
                quote = None
        elif c == '"':
            quote = c
        elif c == ";":
            parts.append((line[start:i], start))
            start = i + 1
    parts.append((line[start:], start))
    return parts


def _split_operands(text: str, base: int) -> list[tuple[str, int]]:
    """Top-level comma split; returns (stripped text, 1-based column)."""
    out = []
    depth = 0
    start = 0
    quote = None
    for i, c in enumerate(text + ","):
        if quote:
            if c == quote and text[i - 1] != "\\":
                quote = None
            continue
        if c == '"':
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "," and depth == 0:
            piece = text[start:i]
            lead = len(piece) - len(piece.lstrip())
            out.append((piece.strip(), base + start + lead + 1))
            start = i + 1
    if depth > 0:
        raise _Error("missing ')'", base + len(text) + 1)
    if depth < 0:
        raise _Error("unbalanced ')'", base + text.rindex(")") + 1)
    if len(out) == 1 and not out[0][0]:
        return []
    return out


def _remove_block_comments(source: str) -> str:
    """/* ... */ comments become spaces (newlines kept, so line numbers stay right)."""
    return re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group()), source, flags=re.S)


# ---------------------------------------------------------------------------------------------
# Expressions

def _eval(st: _State, text: str, col: int, equs: dict, *, pc: int | None = None,
          stmt_index: int | None = None, allow_labels: bool = True) -> int:
    try:
        toks = tokenize(text, col - 1)
    except ExprError as e:
        raise _Error(str(e), e.col + 1) from None
    return _eval_tokens(st, toks, col + len(text), equs, pc=pc, stmt_index=stmt_index,
                        allow_labels=allow_labels)


def _eval_tokens(st: _State, toks: list[Token], end_col: int, equs: dict, *, pc: int | None,
                 stmt_index: int | None, allow_labels: bool = True) -> int:
    def lookup(t: Token) -> int:
        if t.kind == "local":
            return _local(st, t, stmt_index)
        name = t.text
        if name == ".":
            if pc is None:
                raise Unresolved("'.' has no value here", t.col)
            return pc
        if name in equs:
            v = equs[name]
            if isinstance(v, tuple):  # lazily evaluated .equ (names a label)
                return _eval_tokens(st, v[0], end_col, v[1], pc=pc, stmt_index=stmt_index,
                                    allow_labels=allow_labels)
            return v
        if name in st.final_equs and name not in st.labels:  # defined later in the file
            v = st.final_equs[name]
            if isinstance(v, tuple):
                return _eval_tokens(st, v[0], end_col, v[1], pc=pc, stmt_index=stmt_index,
                                    allow_labels=allow_labels)
            return v
        if name in st.labels and allow_labels and st.bases:
            sec, off = st.labels[name]
            return st.bases[sec] + off
        if name in st.labels or not st.bases:
            raise Unresolved(f"symbol {name!r} has no value yet", t.col)
        if name in X_REGS or name in F_REGS:
            raise ExprError(f"register {name!r} where a value was expected", t.col)
        raise ExprError(f"undefined symbol {name!r}", t.col)

    def reloc(name: str, v: int, t: Token) -> int:
        if name == "%hi":
            return hi20(v)
        if name == "%lo":
            return lo12(v)
        if name == "%pcrel_hi":
            if pc is None:
                raise ExprError("%pcrel_hi outside an instruction", t.col)
            st.pcrel[pc] = v
            return hi20(v - pc)
        if name == "%pcrel_lo":
            if v not in st.pcrel:
                raise ExprError("%pcrel_lo must name the label of an auipc with %pcrel_hi", t.col)
            return lo12(st.pcrel[v] - v)
        raise ExprError(f"unknown relocation operator {name}", t.col)

    try:
        return evaluate(toks, lookup, reloc, end_col - 1)
    except ExprError as e:
        raise _Error(str(e), e.col + 1) from None


def _local(st: _State, t: Token, stmt_index: int | None) -> int:
    defs = st.locals_.get(t.value, [])
    cur = stmt_index if stmt_index is not None else len(st.stmts)
    if t.text.endswith("b"):
        cands = [d for d in defs if d[0] <= cur]
        d = cands[-1] if cands else None
    else:
        cands = [d for d in defs if d[0] > cur]
        d = cands[0] if cands else None
    if d is None:
        where = "previous" if t.text.endswith("b") else "following"
        raise ExprError(f"local label {t.text!r} has no {where} definition", t.col)
    if not st.bases:
        raise Unresolved("label address not known yet", t.col)
    return st.bases[d[1]] + d[2]


# ---------------------------------------------------------------------------------------------
# Pass 1: expansion and layout

def _pass1(st: _State, lines: list[tuple[str, SourceLoc]]) -> None:
    i = 0
    cond: list[list[bool]] = []  # [active, taken] per open .if
    while i < len(lines):
        raw, loc = lines[i]
        i += 1
        for text, c0 in _split_statements(raw):
            active = all(c[0] for c in cond)
            i = _statement(st, text, c0, loc, lines, i, cond, active)
    for c in cond:
        st.error(c[2], ".if without .endif")


def _collect_block(st: _State, lines: list, i: int, opener: str, loc: SourceLoc,
                   ends: tuple[str, ...]) -> tuple[list, int]:
    depth = 1
    body = []
    openers = {".endr": (".rept", ".irp", ".irpc"), ".endm": (".macro",)}[ends[0]]
    while i < len(lines):
        raw, l2 = lines[i]
        i += 1
        m = _WORD_RE.match(raw)
        word = m.group(1).lower() if m else ""
        if word in openers:
            depth += 1
        elif word in ends:
            depth -= 1
            if depth == 0:
                return body, i
        body.append((raw, l2))
    st.error(loc, f"{opener} without {ends[0]}", 1)
    return body, i


def _statement(st: _State, text: str, c0: int, loc: SourceLoc, lines: list, i: int,
               cond: list, active: bool) -> int:
    pos = 0
    # Directives controlling conditionals are seen even in inactive blocks.
    m = _WORD_RE.match(text)
    word = m.group(1).lower() if m else ""
    if word in (".if", ".ifdef", ".ifndef", ".ifeq", ".ifne", ".else", ".elseif", ".endif"):
        return _conditional(st, word, text[m.end():], c0 + m.end(), loc, cond, active, i)
    if not active:
        return i
    while (lm := _LABEL_RE.match(text, pos)) is not None:
        _define_label(st, lm.group(1), loc, c0 + lm.start(1) + 1)
        pos = lm.end()
    m = _WORD_RE.match(text, pos)
    if not m:
        rest = text[pos:].strip()
        if rest:
            st.error(loc, f"syntax error: unexpected {rest[0]!r}", c0 + text.index(rest) + 1)
        return i
    name = m.group(1)
    col = c0 + m.start(1) + 1
    rest = text[m.end():]
    rest_col = c0 + m.end()
    lname = name.lower()
    if lname.startswith("."):
        try:
            return _directive(st, lname, rest, rest_col, loc, col, lines, i)
        except _Error as e:
            st.error(loc, str(e), e.col if e.col is not None else col)
            return i
    if rest.strip().startswith(("=",)) and not rest.strip().startswith("=="):
        # `sym = expr` is `.set sym, expr`
        eq = rest.index("=")
        _set_symbol(st, name, rest[eq + 1:], rest_col + eq + 2, loc)
        return i
    if name in st.macros:
        _expand_macro(st, name, rest, rest_col, loc)
        return i
    try:
        ops = _split_operands(rest, rest_col)
        size = 4 * _instr_count(st, lname, ops, loc)
    except _Error as e:
        st.error(loc, str(e), e.col if e.col is not None else col)
        return i
    _add_stmt(st, "instr", lname, ops, loc, size, SourceLoc(loc.file, loc.line, col, loc.text,
                                                            loc.context))
    return i


def _add_stmt(st: _State, kind: str, name: str, ops: list, loc: SourceLoc, size: int,
              at: SourceLoc | None = None, rest: str = "", rest_col: int = 0) -> None:
    if st.section == "note":
        st.error(at or loc, "nothing may be placed in a marker section "
                 f"({', '.join(_NOTE_SECTIONS)})")
        return
    if st.section == "text" and kind == "instr" and st.sizes["text"] % 4:
        st.error(at or loc, "instruction at an address that is not a multiple of 4")
    st.stmts.append(_Stmt(kind, name, ops, at or loc, st.section, st.sizes[st.section], size,
                          st.equs, len(st.stmts), rest, rest_col))
    st.sizes[st.section] += size


def _define_label(st: _State, name: str, loc: SourceLoc, col: int) -> None:
    if name.isdigit():
        st.locals_.setdefault(int(name), []).append((len(st.stmts), st.section,
                                                     st.sizes[st.section]))
        return
    if name in st.labels or name in st.equs:
        st.error(loc, f"symbol {name!r} is already defined", col)
        return
    if st.section == "note":
        st.error(loc, f"label {name!r} in a marker section ({', '.join(_NOTE_SECTIONS)})", col)
        return
    st.labels[name] = (st.section, st.sizes[st.section])


def _set_symbol(st: _State, name: str, expr: str, col: int, loc: SourceLoc,
                redefine: bool = True) -> None:
    if name in st.labels:
        st.error(loc, f"symbol {name!r} is already defined as a label", col)
        return
    if not redefine and name in st.equs:
        st.error(loc, f"symbol {name!r} is already defined (.equiv)", col)
        return
    try:
        value: object = _eval(st, expr.strip(), col + len(expr) - len(expr.lstrip()), st.equs)
    except _Error as e:
        if "no value yet" in str(e) or "has no" in str(e):
            value = (tokenize(expr.strip()), st.equs)
        else:
            st.error(loc, str(e), e.col)
            return
    except ExprError as e:
        st.error(loc, str(e), col)
        return
    st.equs = {**st.equs, name: value}


def _conditional(st: _State, word: str, rest: str, col: int, loc: SourceLoc, cond: list,
                 active: bool, i: int) -> int:
    outer = all(c[0] for c in cond[:-1]) if word in (".else", ".elseif", ".endif") else active

    def value() -> bool:
        arg = rest.strip()
        if word in (".ifdef", ".ifndef"):
            d = arg in st.equs or arg in st.labels
            return d if word == ".ifdef" else not d
        try:
            v = _eval(st, arg, col + 1 + len(rest) - len(rest.lstrip()), st.equs,
                      allow_labels=False)
        except _Error as e:
            st.error(loc, str(e), e.col)
            return False
        return (v == 0) if word == ".ifeq" else bool(v)

    if word in (".if", ".ifdef", ".ifndef", ".ifeq", ".ifne"):
        v = value() if active else False
        cond.append([v, v, SourceLoc(loc.file, loc.line, col - len(word) + 1, loc.text,
                                     loc.context)])
    elif not cond:
        st.error(loc, f"{word} without .if", col - len(word) + 1)
    elif word == ".else":
        c = cond[-1]
        c[0] = outer and not c[1]
        c[1] = True
    elif word == ".elseif":
        c = cond[-1]
        v = (not c[1]) and outer and value()
        c[0] = v
        c[1] = c[1] or v
    else:
        cond.pop()
    return i


def _expand_macro(st: _State, name: str, rest: str, col: int, loc: SourceLoc) -> None:
    mac = st.macros[name]
    args = _split_operands(rest, col)
    if len(args) == 1 and not args[0][0]:
        args = []
    # GNU also separates macro arguments with spaces; accept that when there are no commas.
    if len(args) == 1 and len(mac.params) > 1 and " " in args[0][0].strip():
        args = [(a, col) for a in args[0][0].split()]
    values: dict[str, str] = {}
    for k, (pname, default) in enumerate(mac.params):
        if k < len(args) and args[k][0] != "":
            values[pname] = args[k][0]
        elif default is not None:
            values[pname] = default
        else:
            values[pname] = ""
    if len(args) > len(mac.params):
        st.error(loc, f"macro {name!r} takes {len(mac.params)} arguments, got {len(args)}", col)
        return
    st.macro_counter += 1
    body = []
    for raw, l2 in mac.body:
        text = raw.replace("\\@", str(st.macro_counter))
        for pname in sorted(values, key=len, reverse=True):
            text = text.replace("\\" + pname, values[pname])
        text = text.replace("\\()", "")
        ctx = f"in macro {name} used at {loc.file}:{loc.line}"
        body.append((text, SourceLoc(l2.file, l2.line, 1, text, ctx)))
    _pass1(st, body)


def _directive(st: _State, d: str, rest: str, rcol: int, loc: SourceLoc, col: int,
               lines: list, i: int) -> int:
    ops = _split_operands(rest, rcol) if d not in (".macro", ".error", ".print",
                                                   ".warning") else []

    def one(k: int = 0, what: str = "an expression") -> int:
        if len(ops) <= k or not ops[k][0]:
            raise _Error(f"{d} needs {what}", rcol + 1)
        return _eval(st, ops[k][0], ops[k][1], st.equs, allow_labels=False)

    if d in _IGNORED:
        return i
    if d in (".text", ".data", ".rodata", ".bss", ".tcdm"):
        st.section = d[1:]
        return i
    if d == ".section":
        if not ops:
            raise _Error(".section needs a name", rcol + 1)
        nm = ops[0][0].strip('"')
        kind = next((k for k in _SECTION_KINDS if nm == "." + k or nm.startswith(f".{k}.")),
                    None)
        if kind is None and (nm in (".sdata", ".srodata") or
                             nm.startswith((".sdata.", ".srodata."))):
            kind = "data"  # small-data sections (compilers' .srodata.cst4 constants)
        if kind is None and (nm == ".sbss" or nm.startswith(".sbss.")):
            kind = "bss"
        if kind is None and nm in _NOTE_SECTIONS:
            kind = "note"  # marker sections compilers emit; nothing may be placed there
        if kind is None:
            raise _Error(f"unknown section {nm!r} (known: .text .data .rodata .bss .tcdm)",
                         ops[0][1])
        st.section = kind
        return i
    if d in (".equ", ".set", ".equiv"):
        if len(ops) != 2 or not re.fullmatch(r"[A-Za-z_.$][A-Za-z0-9_.$]*", ops[0][0]):
            raise _Error(f"{d} needs a symbol name and a value", rcol + 1)
        _set_symbol(st, ops[0][0], ops[1][0], ops[1][1], loc, redefine=d != ".equiv")
        return i
    if d in (".rept", ".irp", ".irpc"):
        body, i = _collect_block(st, lines, i, d, loc, (".endr",))
        if d == ".rept":
            n = one(0, "a repeat count")
            if n < 0:
                raise _Error(".rept count must not be negative", ops[0][1])
            for _ in range(n):
                _pass1(st, body)
            return i
        if not ops:
            raise _Error(f"{d} needs a symbol", rcol + 1)
        sym = ops[0][0]
        values = [o[0] for o in ops[1:]] if d == ".irp" else list(ops[1][0] if len(ops) > 1
                                                                   else "")
        for v in values:
            _pass1(st, [(raw.replace("\\" + sym, v), l2) for raw, l2 in body])
        return i
    if d == ".macro":
        m = re.match(r"\s*([A-Za-z_.$][A-Za-z0-9_.$]*)\s*,?(.*)", rest)
        if not m:
            raise _Error(".macro needs a name", rcol + 1)
        params = []
        for p in re.split(r"[\s,]+", m.group(2).strip()):
            if not p:
                continue
            pn, _, dflt = p.partition("=")
            pn = pn.split(":")[0]
            params.append((pn, dflt if _ else None))
        body, i = _collect_block(st, lines, i, d, loc, (".endm",))
        st.macros[m.group(1)] = _Macro(params, body)
        return i
    if d in (".endr", ".endm"):
        raise _Error(f"{d} without an opening directive", col)
    if d in (".align", ".p2align", ".balign"):
        n = one(0, "an alignment")
        if d == ".balign":
            if n <= 0 or n & (n - 1):
                raise _Error(".balign needs a power of two", ops[0][1])
            align = n
        else:
            if not 0 <= n <= 16:
                raise _Error(f"{d} exponent must be 0..16", ops[0][1])
            align = 1 << n
        pad = -st.sizes[st.section] % align
        if pad:
            _add_stmt(st, "data", ".zero", [(str(pad), col)], loc, pad)
        return i
    if d in (".zero", ".space", ".skip"):
        n = one(0, "a size")
        if n < 0:
            raise _Error(f"{d} size must not be negative", ops[0][1])
        fill = one(1) if len(ops) > 1 else 0
        _add_stmt(st, "data", ".fill1", [(str(n), col), (str(fill), col)], loc, n)
        return i
    if d in _DATA_SIZES or d in (".float", ".double", ".single"):
        size = _DATA_SIZES.get(d) or (8 if d == ".double" else 4)
        if not ops:
            raise _Error(f"{d} needs at least one value", rcol + 1)
        _add_stmt(st, "data", d, ops, loc, size * len(ops))
        return i
    if d in (".ascii", ".asciz", ".string"):
        data = b""
        for text, c in ops:
            if not (text.startswith('"') and text.endswith('"') and len(text) >= 2):
                raise _Error(f"{d} needs string literals", c)
            b = bytes(text[1:-1], "utf-8").decode("unicode_escape").encode("latin-1")
            data += b + (b"\0" if d != ".ascii" else b"")
        _add_stmt(st, "data", ".bytes", [(data.hex(), col)], loc, len(data))
        return i
    if d in (".error", ".warning", ".print"):
        if d == ".error":
            raise _Error(f".error: {rest.strip()}", col)
        return i
    if d == ".end":
        return len(lines)
    if d == ".include":
        _include(st, ops, rcol, loc)
        return i
    raise _Error(f"unknown directive {d!r}", col)


def _include(st: _State, ops: list, rcol: int, loc: SourceLoc) -> None:
    """`.include "file"`: searched next to the including file, then in the include dirs."""
    if len(ops) != 1 or not (ops[0][0].startswith('"') and ops[0][0].endswith('"')):
        raise _Error('.include needs one quoted file name', rcol + 1)
    name = ops[0][0][1:-1]
    here = Path(loc.file).parent if loc.file not in ("<string>", "") else Path.cwd()
    for cand in [here / name, *(Path(d) / name for d in st.include_dirs)]:
        if cand.is_file():
            break
    else:
        raise _Error(f"cannot find include file {name!r} (searched {here} and "
                     f"{len(st.include_dirs)} include dirs)", ops[0][1])
    if len(st.include_stack) >= 16 or str(cand) in st.include_stack:
        raise _Error(f"recursive .include of {name!r}", ops[0][1])
    st.include_stack.append(str(cand))
    try:
        _pass1(st, _source_lines(cand.read_text(encoding="utf-8"), str(cand)))
    finally:
        st.include_stack.pop()


def _source_lines(source: str, filename: str) -> list[tuple[str, SourceLoc]]:
    text = _remove_block_comments(source)
    orig = source.split("\n")
    return [(_strip_comment(raw), SourceLoc(filename, n, 1, orig[n - 1] if n <= len(orig)
                                            else raw))
            for n, raw in enumerate(text.split("\n"), start=1)]


# ---------------------------------------------------------------------------------------------
# Pseudo-instructions. Each returns a list of (mnemonic, [(operand, col)]) of real instructions.

_BRANCH_SWAP = {"bgt": "blt", "ble": "bge", "bgtu": "bltu", "bleu": "bgeu"}
_BRANCH_Z = {"beqz": ("beq", 0), "bnez": ("bne", 0), "bltz": ("blt", 0), "bgez": ("bge", 0),
             "blez": ("bge", 1), "bgtz": ("blt", 1)}
_CSR_PSEUDO = {"csrw": "csrrw", "csrs": "csrrs", "csrc": "csrrc", "csrwi": "csrrwi",
               "csrsi": "csrrsi", "csrci": "csrrci"}
_FCSR = {"frcsr": ("csrrs", "fcsr", "r"), "frrm": ("csrrs", "frm", "r"),
         "frflags": ("csrrs", "fflags", "r"), "fscsr": ("csrrw", "fcsr", "w"),
         "fsrm": ("csrrw", "frm", "w"), "fsflags": ("csrrw", "fflags", "w"),
         "fsrmi": ("csrrwi", "frm", "w"), "fsflagsi": ("csrrwi", "fflags", "w"),
         "rdcycle": ("csrrs", "cycle", "r"), "rdinstret": ("csrrs", "instret", "r"),
         "rdtime": ("csrrs", "time", "r"), "rdcycleh": ("csrrs", "cycleh", "r"),
         "rdinstreth": ("csrrs", "instreth", "r")}
_FP_MOVE = {"fmv": "fsgnj", "fabs": "fsgnjx", "fneg": "fsgnjn"}
_FMV_ALIASES = {"fmv.x.s": "fmv.x.w", "fmv.s.x": "fmv.w.x"}
_FP_CMP_SWAP = {"fgt": "flt", "fge": "fle"}
_LOADS = ("lb", "lh", "lw", "lbu", "lhu", "flw", "fld", "flh", "flb")
# loads/stores GNU as takes as `op reg, symbol, temp` (auipc temp + the access)
_SYM_MEM = (*_LOADS, "sb", "sh", "sw", "fsw", "fsd", "fsh", "fsb")
# register-register mnemonics GNU as accepts with an immediate last operand (not sub)
_IMM_FORM = {"add": "addi", "and": "andi", "or": "ori", "xor": "xori", "slt": "slti",
             "sltu": "sltiu", "sll": "slli", "srl": "srli", "sra": "srai"}
_PSEUDO_NAMES = {"nop", "li", "la", "lla", "mv", "not", "neg", "seqz", "snez", "sltz", "sgtz",
                 "j", "jr", "ret", "call", "tail", "csrr"} | set(_BRANCH_SWAP) | \
    set(_BRANCH_Z) | set(_CSR_PSEUDO) | set(_FCSR)


def _li_parts(v: int, rd_is_zero: bool = False) -> list[tuple[str, int]]:
    if -2048 <= v < 2048:
        return [("addi", v)]
    parts = [("lui", hi20(v))]
    # GNU as keeps the addi for `li zero, IMM` even when the low 12 bits are 0 (found by the
    # QEMU differential tests, tests/difftest/programs/li_zero.S)
    if lo12(v) or rd_is_zero:
        parts.append(("addi", lo12(v)))
    return parts


def _is_zero_reg(text: str) -> bool:
    return text.strip() in ("zero", "x0")


def _instr_count(st: _State, mn: str, ops: list, loc: SourceLoc) -> int:
    if mn == "li":
        if len(ops) == 2:
            try:
                v = _eval(st, ops[1][0], ops[1][1], st.equs, allow_labels=False)
                return len(_li_parts(_to_i32(v, ops[1][1]), _is_zero_reg(ops[0][0])))
            except _Error as e:
                if "no value yet" not in str(e) and "label" not in str(e):
                    raise
        return 2
    if mn in ("la", "lla", "call", "tail"):
        return 2
    if mn in _LOADS and len(ops) == 2 \
            and "(" not in ops[1][0] and ops[1][0] and ops[1][0].split()[0] not in X_REGS:
        return 2  # `lw rd, symbol`: auipc + load
    if mn in _SYM_MEM and len(ops) == 3:
        return 2  # `flw fd, symbol, rt` / `sw rs, symbol, rt`: auipc rt + access
    return 1


def _to_i32(v: int, col: int) -> int:
    if not -(1 << 31) <= v < (1 << 32):
        raise _Error(f"value {v} does not fit in 32 bits", col)
    return v - (1 << 32) if v >= (1 << 31) else v


def _expand(st: _State, s: _Stmt, pc: int) -> list[tuple[str, list]]:
    mn, ops = s.name, s.ops
    c = s.loc.col

    def need(n: int) -> None:
        if len(ops) != n:
            raise _Error(f"{mn} expects {n} operand{'s' if n != 1 else ''}, got {len(ops)}",
                         ops[min(len(ops), n) - 1][1] if ops and len(ops) > n else c)

    z = ("zero", c)
    if mn in _FMV_ALIASES:
        return [(_FMV_ALIASES[mn], ops)]
    if mn not in _PSEUDO_NAMES:
        fm = mn.split(".", 1)
        if fm[0] in _FP_MOVE and len(fm) == 2 and f"fsgnj.{fm[1]}" in st.isa:
            need(2)
            return [(f"{_FP_MOVE[fm[0]]}.{fm[1]}", [ops[0], ops[1], ops[1]])]
        if fm[0] in _FP_CMP_SWAP and len(fm) == 2 and f"flt.{fm[1]}" in st.isa:
            need(3)  # fgt a, b = flt b, a (as GNU as)
            return [(f"{_FP_CMP_SWAP[fm[0]]}.{fm[1]}", [ops[0], ops[2], ops[1]])]
        if mn == "zext.b":
            need(2)
            return [("andi", [ops[0], ops[1], ("255", c)])]
        if mn in _IMM_FORM and len(ops) == 3 and \
                ops[2][0].strip().lower() not in X_REGS and \
                ops[2][0].strip().lower() not in F_REGS:
            # `add a0, a0, 4` is addi, as GNU as assembles it
            return [(_IMM_FORM[mn], ops)]
        if mn in ("jal", "jalr") and len(ops) == 1:
            if mn == "jal":
                return [("jal", [("ra", c), ops[0]])]
            return [("jalr", [("ra", c), ops[0], ("0", c)])]
        if mn == "jalr" and len(ops) == 2:
            m = re.fullmatch(r"(.*)\(\s*([A-Za-z0-9]+)\s*\)", ops[1][0])
            if m:
                return [("jalr", [ops[0], (m.group(2), ops[1][1]), (m.group(1) or "0",
                                                                     ops[1][1])])]
            return [("jalr", [ops[0], ops[1], ("0", c)])]
        if mn in _SYM_MEM and (len(ops) == 3 or (mn in _LOADS and s.size == 8)):
            # `op reg, symbol, rt`, or `lw rd, symbol` (rd is the temporary)
            tmp = ops[2] if len(ops) == 3 else (ops[0] if mn[0] != "f" else None)
            if tmp is None:
                raise _Error(f"{mn} with a symbol address is not supported; use la + {mn}",
                             ops[1][1])
            sym = ops[1]
            return [("auipc", [tmp, (f"%pcrel_hi({sym[0]})", sym[1])]),
                    (mn, [ops[0], (f"%pcrel_lo({pc})({tmp[0]})", sym[1])])]
        return [(mn, ops)]
    if mn == "nop":
        need(0)
        return [("addi", [z, z, ("0", c)])]
    if mn == "li":
        need(2)
        v = _to_i32(_eval(st, ops[1][0], ops[1][1], s.equs, pc=pc, stmt_index=s.index),
                    ops[1][1])
        parts = _li_parts(v, _is_zero_reg(ops[0][0]))
        if s.size == 8 and len(parts) == 1:  # size fixed in pass 1 (forward reference)
            parts = [("lui", hi20(v)), ("addi", lo12(v))]
        out = []
        for k, (op, val) in enumerate(parts):
            if op == "lui":
                out.append(("lui", [ops[0], (str(val), ops[1][1])]))
            else:
                src = ops[0] if k else z
                out.append(("addi", [ops[0], src, (str(val), ops[1][1])]))
        return out
    if mn in ("la", "lla"):
        need(2)
        return [("auipc", [ops[0], (f"%pcrel_hi({ops[1][0]})", ops[1][1])]),
                ("addi", [ops[0], ops[0], (f"%pcrel_lo({pc})", ops[1][1])])]
    if mn in ("call", "tail"):
        need(1)
        link = ("ra", c) if mn == "call" else ("t1", c)
        rd = ("ra", c) if mn == "call" else z
        return [("auipc", [link, (f"%pcrel_hi({ops[0][0]})", ops[0][1])]),
                ("jalr", [rd, link, (f"%pcrel_lo({pc})", ops[0][1])])]
    if mn == "mv":
        need(2)
        return [("addi", [ops[0], ops[1], ("0", c)])]
    if mn == "not":
        need(2)
        return [("xori", [ops[0], ops[1], ("-1", c)])]
    if mn == "neg":
        need(2)
        return [("sub", [ops[0], z, ops[1]])]
    if mn == "seqz":
        need(2)
        return [("sltiu", [ops[0], ops[1], ("1", c)])]
    if mn == "snez":
        need(2)
        return [("sltu", [ops[0], z, ops[1]])]
    if mn == "sltz":
        need(2)
        return [("slt", [ops[0], ops[1], z])]
    if mn == "sgtz":
        need(2)
        return [("slt", [ops[0], z, ops[1]])]
    if mn in _BRANCH_SWAP:
        need(3)
        return [(_BRANCH_SWAP[mn], [ops[1], ops[0], ops[2]])]
    if mn in _BRANCH_Z:
        need(2)
        real, swap = _BRANCH_Z[mn]
        return [(real, [z, ops[0], ops[1]] if swap else [ops[0], z, ops[1]])]
    if mn == "j":
        need(1)
        return [("jal", [z, ops[0]])]
    if mn == "jr":
        need(1)
        return [("jalr", [z, ops[0], ("0", c)])]
    if mn == "ret":
        need(0)
        return [("jalr", [z, ("ra", c), ("0", c)])]
    if mn == "csrr":
        need(2)
        return [("csrrs", [ops[0], ops[1], z])]
    if mn in _CSR_PSEUDO:
        need(2)
        return [(_CSR_PSEUDO[mn], [z, ops[0], ops[1]])]
    real, csr, kind = _FCSR[mn]
    if kind == "r":
        need(1)
        return [(real, [ops[0], (csr, c), z])]
    if len(ops) == 1:
        return [(real, [z, (csr, c), ops[0]])]
    need(2)
    return [(real, [ops[0], (csr, c), ops[1]])]


# ---------------------------------------------------------------------------------------------
# Pass 2: operands

def _reg(text: str, col: int, table: dict, what: str) -> int:
    r = table.get(text.strip().lower())
    if r is None:
        other = F_REGS if table is X_REGS else X_REGS
        hint = " (that is a floating-point register)" if text.strip().lower() in other and \
            table is X_REGS else (" (that is an integer register)" if text.strip().lower()
                                  in other else "")
        raise _Error(f"expected {what} register, got {text!r}{hint}", col)
    return r


def _imm(st: _State, s: _Stmt, text: str, col: int, pc: int, lo: int, hi: int,
         what: str) -> int:
    if not text:
        raise _Error(f"expected {what}", col)
    v = _eval(st, text, col, s.equs, pc=pc, stmt_index=s.index)
    if not lo <= v <= hi:
        raise _Error(f"{what} {v} out of range [{lo}, {hi}]", col)
    return v


def _build(st: _State, s: _Stmt, mn: str, ops: list, pc: int, source_mn: str) -> Instruction:
    try:
        d = st.isa[mn]
    except KeyError:
        import difflib
        near = difflib.get_close_matches(mn, [*st.isa.instructions, *_PSEUDO_NAMES], n=3)
        hint = f" (did you mean {', '.join(near)}?)" if near else ""
        raise _Error(f"unknown mnemonic {mn!r}{hint}", s.loc.col) from None
    ins = Instruction(mn, d, pc, s.loc, source_mnemonic=source_mn)
    kinds = list(d.operands)
    optional = [k for k in kinds if k in ("rm", "fence")]
    required = [k for k in kinds if k not in optional]
    if not (len(required) <= len(ops) <= len(kinds)):
        n = len(required) if len(required) == len(kinds) else f"{len(required)}-{len(kinds)}"
        col = ops[len(kinds)][1] if len(ops) > len(kinds) else (ops[-1][1] if ops else s.loc.col)
        raise _Error(f"{mn} expects {n} operands ({', '.join(kinds)}), got {len(ops)}", col)
    extra = []
    for k, (text, col) in zip(kinds, ops, strict=False):
        if k in ("xd", "xs1", "xs2"):
            setattr(ins, {"xd": "rd", "xs1": "rs1", "xs2": "rs2"}[k],
                    _reg(text, col, X_REGS, "an integer"))
        elif k in ("fd", "fs1", "fs2", "fs3"):
            setattr(ins, {"fd": "rd", "fs1": "rs1", "fs2": "rs2", "fs3": "rs3"}[k],
                    _reg(text, col, F_REGS, "a floating-point"))
        elif k == "imm12":
            ins.imm = _imm(st, s, text, col, pc, -2048, 2047, "immediate")
        elif k == "uimm20":
            ins.imm = _imm(st, s, text, col, pc, 0, 0xFFFFF, "upper immediate")
        elif k == "shamt":
            ins.imm = _imm(st, s, text, col, pc, 0, 31, "shift amount")
        elif k in ("uimm3", "uimm4", "uimm5", "uimm12"):
            bits = int(k[4:])
            v = _imm(st, s, text, col, pc, 0, (1 << bits) - 1, f"{bits}-bit unsigned immediate")
            if ins.imm is None and k != "uimm3" and k != "uimm4":
                ins.imm = v
            else:
                extra.append(v)
        elif k == "mem":
            m = re.fullmatch(r"(.*?)\(\s*([^()]*?)\s*\)\s*", text)
            if not m:
                raise _Error(f"expected an address operand offset(register), got {text!r}", col)
            ins.rs1 = _reg(m.group(2), col + text.index("(") + 1, X_REGS, "an integer")
            off = m.group(1).strip()
            ins.imm = _imm(st, s, off, col, pc, -2048, 2047, "offset") if off else 0
        elif k in ("jtarget", "btarget"):
            target = _eval(st, text, col, s.equs, pc=pc, stmt_index=s.index)
            off = target - pc
            lim = (1 << 20) if k == "jtarget" else (1 << 12)
            if not -lim <= off < lim or off % 2:
                raise _Error(f"{'jump' if k == 'jtarget' else 'branch'} target {target:#x} out "
                             f"of range (offset {off}, limit +-{lim})", col)
            ins.imm = target & 0xFFFFFFFF
        elif k == "csr":
            name = text.strip().lower()
            if name in st.isa.csrs:
                ins.csr = st.isa.csrs[name]
            else:
                try:
                    ins.csr = _imm(st, s, text, col, pc, 0, 4095, "CSR number")
                except _Error as e:
                    if "undefined symbol" in str(e):
                        raise _Error(f"unknown CSR {text.strip()!r}", col) from None
                    raise
        elif k == "rm":
            r = ROUNDING.get(text.strip().lower())
            if r is None:
                raise _Error(f"unknown rounding mode {text!r} (rne rtz rdn rup rmm dyn)", col)
            ins.rm = None if r == 7 else r
        elif k == "fence":
            t = text.strip().lower()
            if not re.fullmatch(r"[iorw]+", t):
                raise _Error(f"bad fence set {text!r}", col)
            extra.append(sum(8 >> "iorw".index(c) for c in set(t)))
    ins.extra = tuple(extra)
    return ins


def _emit_data(st: _State, s: _Stmt, buf: bytearray, base: int) -> None:
    off = s.offset
    if s.name == ".zero":
        return
    if s.name == ".fill1":
        n = int(s.ops[0][0])
        fill = int(s.ops[1][0]) & 0xFF
        buf[off:off + n] = bytes([fill]) * n
        return
    if s.name == ".bytes":
        b = bytes.fromhex(s.ops[0][0])
        buf[off:off + len(b)] = b
        return
    if s.name in (".float", ".double", ".single"):
        fmt = "fp64" if s.name == ".double" else "fp32"
        size = 8 if fmt == "fp64" else 4
        for k, (text, col) in enumerate(s.ops):
            try:
                v = float(text)
            except ValueError:
                try:
                    v = float(_eval(st, text, col, s.equs, pc=base + off, stmt_index=s.index))
                except _Error:
                    raise _Error(f"expected a floating-point number, got {text!r}", col) \
                        from None
            bits = int(to_bits(convert(np.array(v), fmt)))
            buf[off + k * size: off + (k + 1) * size] = bits.to_bytes(size, "little")
        return
    size = _DATA_SIZES[s.name]
    for k, (text, col) in enumerate(s.ops):
        v = _eval(st, text, col, s.equs, pc=base + off + k * size, stmt_index=s.index)
        if not -(1 << (8 * size - 1)) <= v < (1 << (8 * size)):
            raise _Error(f"value {v} does not fit in {size} byte{'s' if size > 1 else ''}", col)
        buf[off + k * size: off + (k + 1) * size] = (v & ((1 << (8 * size)) - 1)).to_bytes(
            size, "little")


def assemble(source: str, *, filename: str = "<string>", defines: dict[str, int] | None = None,
             isa: ISA | None = None, text_base: int = TEXT_BASE,
             tcdm_base: int = TCDM_BASE, include_dirs: tuple[str | Path, ...] = ()) -> Program:
    """Assemble DSL source into a Program. Raises UserError listing every error.
    `.include "f"` looks next to `filename`, then in `include_dirs`."""
    st = _State(isa or default_isa(), filename)
    for k, v in (defines or {}).items():
        if not re.fullmatch(r"[A-Za-z_.$][A-Za-z0-9_.$]*", k):
            raise UserError(f"-D {k}: not a valid symbol name")
        st.equs[k] = int(v)
    st.include_dirs = [str(d) for d in include_dirs]
    _pass1(st, _source_lines(source, filename))
    st.final_equs = st.equs
    # Layout: text, then data/rodata/bss in main memory; tcdm at the TCDM base.
    st.bases = {"text": text_base}
    addr = text_base + st.sizes["text"]
    for sec in ("data", "rodata", "bss"):
        addr += -addr % SECTION_ALIGN
        st.bases[sec] = addr
        addr += st.sizes[sec]
    st.bases["tcdm"] = tcdm_base
    bufs = {sec: bytearray(st.sizes[sec]) for sec in _SECTION_KINDS}
    instrs: list[Instruction] = []
    for s in st.stmts:
        pc = st.bases[s.section] + s.offset
        try:
            if s.kind == "data":
                if s.section == "bss" and s.name not in (".zero", ".fill1") or (
                        s.name == ".fill1" and s.section == "bss" and int(s.ops[1][0])):
                    raise _Error("only zero-initialised space is allowed in .bss", s.loc.col)
                _emit_data(st, s, bufs[s.section], st.bases[s.section])
                continue
            if s.section != "text":
                raise _Error(f"instruction in section .{s.section} (only .text is executable)",
                             s.loc.col)
            parts = _expand(st, s, pc)
            for k, (mn, ops) in enumerate(parts):
                instrs.append(_build(st, s, mn, ops, pc + 4 * k,
                                     s.name if mn != s.name or len(parts) > 1 else ""))
        except _Error as e:
            st.error(s.loc, str(e), e.col if e.col is not None else s.loc.col)
    symbols = {name: st.bases[sec] + off for name, (sec, off) in st.labels.items()}
    for name, v in st.equs.items():
        if isinstance(v, int):
            symbols.setdefault(name, v)
    entry = symbols.get("_start")
    if entry is None and not st.errors:
        if instrs:
            entry = text_base
        else:
            st.errors.append(((0, 0), 0, f"{filename}: the program has no instructions"))
    if st.errors:
        raise UserError([e[2] for e in sorted(st.errors, key=lambda e: (e[0], e[1]))])
    for ins in instrs:  # the text holds the real machine words (programs may read them)
        off = ins.pc - text_base
        bufs["text"][off:off + 4] = encode(ins).to_bytes(4, "little")
    segments = {st.bases[sec]: bytes(bufs[sec]) for sec in _SECTION_KINDS if st.sizes[sec]}
    return Program(instrs, segments, symbols, entry if entry is not None else text_base,
                   text_base, st.sizes["text"], filename,
                   {sec: (st.bases[sec], st.sizes[sec]) for sec in _SECTION_KINDS})

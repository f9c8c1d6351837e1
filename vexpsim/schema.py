"""A small declarative schema engine for TOML configs (in the style of ZigZag / Snitch clustergen).

A schema is a tree of `Section`s whose leaves are `Field`s (type, default, doc, source, range,
choices, unit); `SectionList` is an array of tables (`[[name]]`) and `MapOf` a table of
user-named entries (`[events.NAME]`). The engine:

- `validate(data, schema, origin=...)` returns the config with every default filled in, or
  raises `UserError` listing EVERY problem at once, each as `origin: key.path: message`
  (wrong types, ranges, choices, unknown keys with a did-you-mean, missing required keys);
- `apply_overrides(data, ["fpu.lat_exp=3"])` sets values parsed as TOML literals;
- `dump_toml(config, schema)` writes the effective config back as commented TOML, and
  `describe(config, schema)` gives each field's value, default, unit, doc and source;
- `freeze(config, schema)` turns a validated dict into a tree of frozen, slotted dataclasses
  (attribute access for simulator set-up code);
- `schema_from_dict` reads a schema written as data (so that hardware constants, which are
  the defaults, live in a TOML file next to their sources).
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import json
import re
import textwrap
import tomllib
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UserError

__all__ = [
    "REQUIRED", "Field", "Section", "SectionList", "MapOf", "validate", "apply_overrides",
    "parse_override", "merge", "read_toml", "load_toml", "dump_toml", "describe", "defaults",
    "freeze", "freeze_class", "thaw", "schema_from_dict", "format_value", "override_notes",
]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
"""Default of a field that must be given."""

_SCALARS = {"int": "an integer", "float": "a number", "bool": "a boolean", "str": "a string",
            "table": "a table"}
_PLURAL = {"int": "integers", "float": "numbers", "bool": "booleans", "str": "strings",
           "table": "tables"}
_PY_KIND = {int: "int", float: "float", bool: "bool", str: "str", dict: "table"}


def _kind_of(t: Any) -> str:
    """Normalise a field type (a kind string, a Python type, or list[T]) to a kind string."""
    if isinstance(t, str):
        base = t[:-2] if t.endswith("[]") else t
        if base not in _SCALARS:
            raise ValueError(f"unknown field type {t!r}; use one of "
                             f"{', '.join(_SCALARS)} (optionally with [])")
        return t
    if t in _PY_KIND:
        return _PY_KIND[t]
    if typing.get_origin(t) in (list, tuple):
        args = typing.get_args(t)
        if args and args[0] in _PY_KIND and args[0] is not dict:
            return _PY_KIND[args[0]] + "[]"
    raise ValueError(f"unsupported field type {t!r}")


@dataclass(frozen=True)
class Field:
    """A leaf value. `type` is int, float, bool, str, dict (a free-form table) or list[T]
    (or the kind strings "int", ..., "int[]"). `min`/`max`/`choices` apply to each element
    of a list. `default=None` makes the field optional (absent from the effective config);
    `display="hex"` prints integers in hex when dumping."""

    type: Any
    default: Any = REQUIRED
    doc: str = ""
    source: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple | None = None
    unit: str = ""
    display: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", _kind_of(self.type))
        if self.choices is not None:
            object.__setattr__(self, "choices", tuple(self.choices))
        if self.default is not REQUIRED and self.default is not None:
            problems: list[tuple[str, str]] = []
            _check_field(self.default, self, "default", problems)
            if problems:
                raise ValueError(f"bad default {self.default!r} for {self}: {problems[0][1]}")

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def is_list(self) -> bool:
        return self.type.endswith("[]")

    @property
    def item_kind(self) -> str:
        return self.type[:-2] if self.is_list else self.type

    def item_expectation(self) -> str:
        """What one valid (element) value looks like, for messages: 'an integer >= 1'."""
        if self.choices is not None:
            return "one of " + ", ".join(format_value(c) for c in self.choices)
        what = _SCALARS[self.item_kind]
        if self.min is not None and self.max is not None:
            what += f" in [{format_value(self.min)}, {format_value(self.max)}]"
        elif self.min is not None:
            what += f" >= {format_value(self.min)}"
        elif self.max is not None:
            what += f" <= {format_value(self.max)}"
        return what

    def expectation(self) -> str:
        """What a valid value looks like: 'an integer >= 1', 'an array of strings'."""
        if not self.is_list:
            return self.item_expectation()
        if self.choices is not None:
            return "an array of values from " + ", ".join(format_value(c)
                                                            for c in self.choices)
        return "an array of " + self.item_expectation().replace(
            _SCALARS[self.item_kind], _PLURAL[self.item_kind], 1)


@dataclass(frozen=True)
class Section:
    """A table of named fields and sub-tables. A missing section is filled with defaults
    unless `required`."""

    fields: Mapping[str, Field | Section | SectionList | MapOf]
    doc: str = ""
    required: bool = False


@dataclass(frozen=True)
class SectionList:
    """An array of tables (`[[name]]`), each validated against `item`."""

    item: Section
    doc: str = ""
    min_items: int = 0
    max_items: int | None = None
    required: bool = False


@dataclass(frozen=True)
class MapOf:
    """A table whose keys are chosen by the user (e.g. `[events.NAME]`); every value is
    validated against `value`. `key_pattern` (a regex) restricts the names."""

    value: Field | Section
    doc: str = ""
    key_pattern: str = r"[A-Za-z0-9_-]+"
    min_items: int = 0
    required: bool = False


Node = Field | Section | SectionList | MapOf


# ---- value rendering ------------------------------------------------------------------------
def format_value(v: Any, *, hex_int: bool = False) -> str:
    """A TOML literal for v (used both in messages and in dumps)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        if hex_int and v >= 0:
            digits = f"{v:X}"
            groups = [digits[max(0, i - 4):i] for i in range(len(digits), 0, -4)][::-1]
            return "0x" + "_".join(groups)
        return f"{v:_d}" if abs(v) >= 100_000 else str(v)
    if isinstance(v, float):
        r = repr(v)
        return r if any(c in r for c in ".eninf") else r + ".0"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(format_value(x, hex_int=hex_int) for x in v) + "]"
    if isinstance(v, Mapping):
        if not v:
            return "{}"
        return "{ " + ", ".join(f"{_key(k)} = {format_value(x)}" for k, x in v.items()) + " }"
    return repr(v)


def _show(v: Any) -> str:
    """A short rendering of a bad value for an error message."""
    if isinstance(v, Mapping):
        return "a table"
    text = format_value(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# ---- validation -----------------------------------------------------------------------------
class _Invalid:
    """Stands in the filled-in config for a value that failed validation, so that a
    cross-field rule reading it fails (and is skipped) instead of reporting a knock-on
    problem elsewhere."""

    __slots__ = ()
    __hash__ = None  # type: ignore[assignment]

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("invalid value")

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _fail  # type: ignore[assignment]
    __bool__ = __int__ = __float__ = __index__ = __format__ = __len__ = __iter__ = _fail
    __contains__ = __getitem__ = __add__ = __radd__ = __sub__ = __rsub__ = _fail
    __mul__ = __rmul__ = __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = _fail
    __mod__ = __rmod__ = __neg__ = __abs__ = _fail

    def __repr__(self) -> str:
        return "<invalid>"


_INVALID: Any = _Invalid()


def _check_scalar(v: Any, kind: str, f: Field) -> tuple[bool, Any]:
    if kind == "int":
        ok = isinstance(v, int) and not isinstance(v, bool)
    elif kind == "float":
        ok = isinstance(v, (int, float)) and not isinstance(v, bool)
        if ok:
            v = float(v)
    elif kind == "bool":
        ok = isinstance(v, bool)
    elif kind == "str":
        ok = isinstance(v, str)
    else:  # table
        ok = isinstance(v, Mapping)
        if ok:
            v = copy.deepcopy(dict(v))
    if not ok:
        return False, v
    if f.choices is not None and v not in f.choices:
        return False, v
    if kind in ("int", "float"):
        if v != v and (f.min is not None or f.max is not None):
            return False, v  # nan is outside every range
        if f.min is not None and v < f.min:
            return False, v
        if f.max is not None and v > f.max:
            return False, v
    return True, v


def _suggest(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def _check_field(v: Any, f: Field, path: str, out: list[tuple[str, str]]) -> Any:
    if f.is_list:
        if not isinstance(v, list):
            out.append((path, f"expected {f.expectation()}, got {_show(v)}"))
            return _INVALID
        items = []
        for i, x in enumerate(v):
            ok, x2 = _check_scalar(x, f.item_kind, f)
            if not ok:
                out.append((f"{path}[{i}]", f"expected {f.item_expectation()}, got {_show(x)}"
                             + _choice_hint(x, f)))
            items.append(x2 if ok else _INVALID)
        return _INVALID if any(x is _INVALID for x in items) else items
    ok, v2 = _check_scalar(v, f.item_kind, f)
    if not ok:
        out.append((path, f"expected {f.expectation()}, got {_show(v)}" + _choice_hint(v, f)))
        return _INVALID
    return v2


def _choice_hint(v: Any, f: Field) -> str:
    if f.choices and isinstance(v, str):
        return _suggest(v, [c for c in f.choices if isinstance(c, str)])
    return ""


def _all_paths(node: Node, path: str = "") -> Iterable[str]:
    if isinstance(node, Section):
        for k, sub in node.fields.items():
            p = _join(path, k)
            yield p
            yield from _all_paths(sub, p)
    elif isinstance(node, SectionList):
        yield from _all_paths(node.item, path)


def _check(v: Any, node: Node, path: str, out: list[tuple[str, str]],
           root: tuple[Section, str]) -> Any:
    """Check v against node at key path `path`; root = (the whole schema, its key path)."""
    if isinstance(node, Field):
        return _check_field(v, node, path, out)
    if isinstance(node, SectionList):
        if not isinstance(v, list) or not all(isinstance(x, Mapping) for x in v):
            out.append((path, f"expected an array of tables ([[{path}]]), got {_show(v)}"))
            return _INVALID
        if len(v) < node.min_items:
            out.append((path, f"expected at least {node.min_items} entries, got {len(v)}"))
        if node.max_items is not None and len(v) > node.max_items:
            out.append((path, f"expected at most {node.max_items} entries, got {len(v)}"))
        return [_check(x, node.item, f"{path}[{i}]", out, root) for i, x in enumerate(v)]
    if not isinstance(v, Mapping):
        out.append((path, f"expected a table, got {_show(v)}"))
        return _INVALID
    if isinstance(node, MapOf):
        if len(v) < node.min_items:
            out.append((path, f"expected at least {node.min_items} entries, got {len(v)}"))
        result = {}
        for k, x in v.items():
            if not re.fullmatch(node.key_pattern, k):
                out.append((_join(path, k), f"invalid name (must match {node.key_pattern})"))
            result[k] = _check(x, node.value, _join(path, k), out, root)
        return result
    result = {}
    for k in v:
        if k not in node.fields:
            hint = _suggest(k, node.fields)
            if not hint:  # the key may belong to another section
                where = [p for p in _all_paths(*root) if p.rsplit(".", 1)[-1] == k]
                hint = f" (did you mean {where[0]}?)" if len(where) == 1 else ""
            out.append((_join(path, k), "unknown key" + hint))
    for k, sub in node.fields.items():
        p = _join(path, k)
        if k in v:
            result[k] = _check(v[k], sub, p, out, root)
        elif isinstance(sub, Field):
            if sub.required:
                out.append((p, f"missing required key ({sub.expectation()})"))
            else:
                result[k] = copy.deepcopy(sub.default)
        elif sub.required:
            out.append((p, "missing required table"))
        elif isinstance(sub, Section):
            result[k] = _check({}, sub, p, out, root)
        else:
            result[k] = [] if isinstance(sub, SectionList) else {}
    return result


def _render(problems: list[tuple[str, str]], origin: str,
            notes: Mapping[str, str] | None = None) -> list[str]:
    lines = []
    for path, msg in problems:
        note = ""
        for p, n in (notes or {}).items():
            if path == p or path.startswith((p + ".", p + "[")):
                note = f" ({n})"
        where = f"{path}: " if path else ""
        lines.append(f"{origin}: {where}{msg}{note}")
    return lines


def validate(data: Mapping[str, Any], schema: Section, *, origin: str, prefix: str = "",
             notes: Mapping[str, str] | None = None,
             checks: Iterable[Callable[[dict], Iterable[tuple[str, str]]]] = ()) -> dict:
    """Validate `data` against `schema`; return a new dict with every default filled in.

    Raises UserError with one line per problem, `origin: key.path: message`, all at once.
    `prefix` is the key path of `data` inside a larger file (e.g. "cluster" for the [cluster]
    table of an experiment), so that messages give full paths.
    `notes` maps key paths to a remark appended to problems at or below that path (used to
    name the override that set a value). `checks` are cross-field rules run on the filled-in
    config; each yields (key path relative to `data`, message). A rule that trips over an
    invalid value is skipped, and its findings on paths already reported are dropped, so
    problems are not reported twice."""
    problems: list[tuple[str, str]] = []
    result = _check(data, schema, prefix, problems, (schema, prefix))
    bad = {p for p, _ in problems}
    for check in checks:
        try:
            found = list(check(result))
        except (KeyError, TypeError, ValueError, AttributeError):
            continue  # it read a value that is already reported as wrong (_INVALID)
        found = [(_join(prefix, p), m) for p, m in found]
        problems.extend(x for x in found if x[0] not in bad)
    if problems:
        raise UserError(_render(problems, origin, notes))
    return result


def defaults(schema: Section) -> dict:
    """The config made of defaults only (raises UserError if a field is required)."""
    return validate({}, schema, origin="<defaults>")


# ---- overrides ------------------------------------------------------------------------------
_PART = re.compile(r"([A-Za-z0-9_-]+)((?:\[\d+\])*)")


def parse_override(text: str) -> tuple[list[str | int], Any]:
    """Parse `a.b[0].c=VALUE` into its key path and value. VALUE is a TOML literal
    (3, 2.5, true, "text", [1, 2], {x = 1}); a bare word such as BEFORE is taken as a string.
    Raises ValueError with a reason."""
    key, sep, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep:
        raise ValueError("expected KEY=VALUE")
    if not key:
        raise ValueError("empty key")
    parts: list[str | int] = []
    for part in key.split("."):
        m = _PART.fullmatch(part.strip())
        if not m:
            raise ValueError(f"bad key {key!r} (keys are dotted names, e.g. fpu.lat_exp)")
        parts.append(m.group(1))
        parts.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
    if not raw:
        raise ValueError("empty value")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError as exc:
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.+-]*", raw):
            value = raw  # a bare word: treat as a string (CLI convenience)
        else:
            msg = re.sub(r" \(at .*\)$", "", str(exc))
            raise ValueError(f"value {raw!r} is not a TOML literal ({msg})") from None
    return parts, value


def _path_str(parts: list[str | int]) -> str:
    s = ""
    for p in parts:
        s = f"{s}[{p}]" if isinstance(p, int) else _join(s, p)
    return s


def apply_overrides(data: Mapping[str, Any], overrides: Iterable[str]) -> dict:
    """Return a deep copy of `data` with each `key.path=VALUE` override applied in order.
    Missing intermediate tables are created. Raises UserError naming every bad override."""
    result = copy.deepcopy(dict(data))
    problems = []
    for text in overrides:
        try:
            parts, value = parse_override(text)
        except ValueError as exc:
            problems.append(f"override {text!r}: {exc}")
            continue
        node: Any = result
        for i, part in enumerate(parts[:-1]):
            nxt = parts[i + 1]
            here = _path_str(parts[:i + 1])
            if isinstance(part, int):
                if not isinstance(node, list) or part >= len(node):
                    problems.append(f"override {text!r}: {here} does not exist")
                    break
                node = node[part]
            else:
                if not isinstance(node, dict):
                    problems.append(f"override {text!r}: {_path_str(parts[:i])} is not a table")
                    break
                if part not in node:
                    if isinstance(nxt, int):
                        problems.append(f"override {text!r}: {here} does not exist")
                        break
                    node[part] = {}
                node = node[part]
        else:
            last = parts[-1]
            if isinstance(last, int):
                if isinstance(node, list) and last < len(node):
                    node[last] = value
                else:
                    problems.append(f"override {text!r}: {_path_str(parts)} does not exist")
            elif isinstance(node, dict):
                node[last] = value
            else:
                problems.append(f"override {text!r}: {_path_str(parts[:-1])} is not a table")
    if problems:
        raise UserError(problems)
    return result


def merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict:
    """Deep merge: tables merge key by key, anything else in `top` replaces `base`."""
    result = copy.deepcopy(dict(base))
    for k, v in top.items():
        if isinstance(v, Mapping) and isinstance(result.get(k), Mapping):
            result[k] = merge(result[k], v)
        else:
            result[k] = copy.deepcopy(v)
    return result


# ---- files ----------------------------------------------------------------------------------
def read_toml(path: str | Path, *, text: str | None = None, origin: str | None = None) -> dict:
    """Parse a TOML file (or `text`), raising UserError with file:line:col on bad syntax."""
    origin = origin or str(path)
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UserError(f"{origin}: no such file") from None
        except IsADirectoryError:
            raise UserError(f"{origin}: is a directory, expected a TOML file") from None
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise UserError(f"{origin}: cannot read: {reason}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r" \(at line (\d+), column (\d+)\)$", msg)
        if m:
            msg = msg[:m.start()]
            raise UserError(f"{origin}:{m.group(1)}:{m.group(2)}: invalid TOML: {msg}") from None
        raise UserError(f"{origin}: invalid TOML: {msg}") from None


def override_notes(overrides: Iterable[str]) -> dict[str, str]:
    """Key path -> 'set by override "..."', for validate(notes=...)."""
    notes = {}
    for text in overrides:
        try:
            parts, _ = parse_override(text)
        except ValueError:
            continue
        notes[_path_str(parts)] = f"set by override {text!r}"
    return notes


def load_toml(path: str | Path, schema: Section, *, overrides: Iterable[str] = (),
              text: str | None = None, origin: str | None = None) -> dict:
    """Read, override and validate a TOML config; problems name the file and key path."""
    origin = origin or str(path)
    overrides = list(overrides)
    data = apply_overrides(read_toml(path, text=text, origin=origin), overrides)
    return validate(data, schema, origin=origin, notes=override_notes(overrides))


# ---- output ---------------------------------------------------------------------------------
def _comment(text: str, width: int = 98) -> list[str]:
    lines = textwrap.wrap(text, width - 2, break_on_hyphens=False, break_long_words=False)
    return ["# " + line for line in lines]


def _field_comments(f: Field | MapOf | SectionList, name: str) -> list[str]:
    doc = f.doc
    if isinstance(f, Field) and f.unit:
        doc = f"{doc} [{f.unit}]" if doc else f"[{f.unit}]"
    lines = _comment(doc)
    if isinstance(f, Field) and f.source:
        lines += _comment(f"source: {f.source}")
    return lines


def dump_toml(config: Mapping[str, Any], schema: Section, *, comments: bool = True,
              header: str = "") -> str:
    """The config as TOML text (every field, in schema order), with each field's doc, unit and
    source as comments. tomllib.loads(dump_toml(c, s)) == c for a validated c."""
    lines: list[str] = _comment(header) + [""] if comments and header else []
    _dump_section(config, schema, [], lines, comments)
    while lines and lines[0] == "":
        lines.pop(0)
    return "\n".join(lines) + "\n"


def _header(parts: list[str], double: bool = False) -> str:
    name = ".".join(_key(p) for p in parts)
    return f"[[{name}]]" if double else f"[{name}]"


def _dump_section(cfg: Mapping[str, Any], sec: Section, parts: list[str], lines: list[str],
                  comments: bool) -> None:
    # TOML needs a table's own keys before any of its sub-tables.
    for k, f in sec.fields.items():
        if isinstance(f, Field) and cfg.get(k) is not None:
            if comments:
                lines.extend(_field_comments(f, k))
            lines.append(f"{_key(k)} = {format_value(cfg[k], hex_int=f.display == 'hex')}")
    for k, f in sec.fields.items():
        if k not in cfg:
            continue
        if isinstance(f, Section):
            lines.append("")
            if comments:
                lines.extend(_comment(f.doc))
            lines.append(_header(parts + [k]))
            _dump_section(cfg[k], f, parts + [k], lines, comments)
        elif isinstance(f, SectionList):
            for item in cfg[k]:
                lines.append("")
                if comments:
                    lines.extend(_comment(f.doc))
                lines.append(_header(parts + [k], double=True))
                _dump_section(item, f.item, parts + [k], lines, comments)
        elif isinstance(f, MapOf) and isinstance(f.value, Field):
            lines.append("")
            if comments:
                lines.extend(_comment(f.doc))
            lines.append(_header(parts + [k]))
            for name, v in cfg[k].items():
                lines.append(f"{_key(name)} = {format_value(v)}")
        elif isinstance(f, MapOf):
            for name, item in cfg[k].items():
                lines.append("")
                if comments:
                    lines.extend(_comment(f.doc))
                lines.append(_header(parts + [k, name]))
                _dump_section(item, f.value, parts + [k, name], lines, comments)


def describe(config: Mapping[str, Any], schema: Section) -> dict[str, dict[str, Any]]:
    """Every leaf field as `{key.path: {value, default, is_default, unit, doc, source}}`, in
    schema order (for reports and provenance records)."""
    out: dict[str, dict[str, Any]] = {}
    _describe(config, schema, "", out)
    return out


def _describe(cfg: Any, node: Node, path: str, out: dict) -> None:
    if isinstance(node, Field):
        default = None if node.required else node.default
        out[path] = {"value": cfg, "default": default, "is_default": cfg == default,
                     "unit": node.unit, "doc": node.doc, "source": node.source}
    elif isinstance(node, Section):
        for k, sub in node.fields.items():
            if k in cfg:
                _describe(cfg[k], sub, _join(path, k), out)
    elif isinstance(node, SectionList):
        for i, item in enumerate(cfg):
            _describe(item, node.item, f"{path}[{i}]", out)
    else:
        for k, item in cfg.items():
            _describe(item, node.value, _join(path, k), out)


# ---- frozen objects -------------------------------------------------------------------------
_CLASSES: dict[tuple[int, str], type] = {}


def _camel(name: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[_\W]+", name) if p)


def freeze_class(schema: Section, name: str, base: type | None = None) -> type:
    """The frozen, slotted dataclass for a section (created once per section and name)."""
    key = (id(schema), name)
    if key in _CLASSES:
        return _CLASSES[key]
    for k in schema.fields:
        if not k.isidentifier() or k.startswith("_"):
            raise ValueError(f"field name {k!r} of {name} is not a Python identifier")
    cls = dataclasses.make_dataclass(
        name, [(k, Any) for k in schema.fields], frozen=True, slots=True,
        bases=(base,) if base else (), namespace={"__schema__": schema})
    _CLASSES[key] = cls
    return cls


def freeze(config: Mapping[str, Any], schema: Section, *, name: str = "Config",
           base: type | None = None) -> Any:
    """A validated config dict as a tree of frozen dataclasses (arrays become tuples, free-form
    tables read-only mappings, absent optional fields None)."""
    cls = freeze_class(schema, name, base)
    values = {}
    for k, node in schema.fields.items():
        v = config.get(k)
        sub = name[:-6] if name.endswith("Config") else name
        child = f"{sub}{_camel(k)}Config"
        if isinstance(node, Section):
            values[k] = freeze(v, node, name=child)
        elif isinstance(node, SectionList):
            values[k] = tuple(freeze(x, node.item, name=child) for x in v)
        elif isinstance(node, MapOf):
            if isinstance(node.value, Section):
                values[k] = types.MappingProxyType(
                    {n: freeze(x, node.value, name=child) for n, x in v.items()})
            else:
                values[k] = types.MappingProxyType(dict(v))
        elif isinstance(v, list):
            values[k] = tuple(v)
        elif isinstance(v, dict):
            values[k] = types.MappingProxyType(v)
        else:
            values[k] = v
    return cls(**values)


def thaw(obj: Any) -> Any:
    """The inverse of freeze: plain dicts and lists."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: thaw(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {k: thaw(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [thaw(v) for v in obj]
    return obj


# ---- schemas written as data ----------------------------------------------------------------
_FIELD_KEYS = {"type", "default", "optional", "doc", "source", "min", "max", "choices", "unit",
               "display"}


def schema_from_dict(data: Mapping[str, Any], *, origin: str = "<schema>",
                     _path: str = "") -> Section:
    """Build a Section from a schema written as data (e.g. a TOML file):

        [fpu]
        _doc = "FPU op groups"
        [fpu.lat_exp]
        type = "int"
        default = 2
        min = 1
        unit = "cycles"
        doc = "..."
        source = "vexp_paper.md 'The hardware'"

    A table with a `type` key is a field (`optional = true` instead of a default makes it
    optional); other tables are sections, with `_doc` and `_required`. Errors in the schema
    itself are programming errors: ValueError naming the path."""
    fields: dict[str, Node] = {}
    doc = data.get("_doc", "")
    for k, v in data.items():
        if k.startswith("_"):
            if k not in ("_doc", "_required"):
                raise ValueError(f"{origin}: {_join(_path, k)}: unknown section attribute")
            continue
        p = _join(_path, k)
        if not isinstance(v, Mapping):
            raise ValueError(f"{origin}: {p}: expected a field or section table")
        if "type" in v:
            extra = set(v) - _FIELD_KEYS
            if extra:
                raise ValueError(f"{origin}: {p}: unknown field attribute(s) {sorted(extra)}")
            if "default" in v and v.get("optional"):
                raise ValueError(f"{origin}: {p}: give either default or optional")
            default = v.get("default", None if v.get("optional") else REQUIRED)
            try:
                fields[k] = Field(v["type"], default, v.get("doc", ""), v.get("source", ""),
                                  v.get("min"), v.get("max"),
                                  tuple(v["choices"]) if "choices" in v else None,
                                  v.get("unit", ""), v.get("display", ""))
            except ValueError as exc:
                raise ValueError(f"{origin}: {p}: {exc}") from None
        else:
            fields[k] = schema_from_dict(v, origin=origin, _path=p)
    return Section(fields, doc, bool(data.get("_required", False)))

"""Small validated loader for "sourced" TOML data files: flat values at top level and a
`[sources]` table naming the source of every value.

Used by the system configuration and the transformer model configurations. All problems are
reported at once, each as `origin: key: message`. (A generic schema engine is being written
on the `config` branch; this stays deliberately small until it lands.)
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UserError

__all__ = ["Field", "load_sourced", "parse_overrides"]


@dataclass(frozen=True)
class Field:
    types: tuple[type, ...]
    check: Callable[[Any], bool] | None = None
    rule: str = ""  # human wording of `check`, used in the error message
    required: bool = True
    default: Any = None


def _type_ok(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in types
    if isinstance(value, int) and float in types:
        return True
    return isinstance(value, types)


def load_sourced(text: str, origin: str, spec: Mapping[str, Field],
                 overrides: Mapping[str, Any] | None = None) -> tuple[dict[str, Any],
                                                                      dict[str, str]]:
    """Parse and validate; return (values, sources). Overrides replace file values (their
    source becomes 'override') and are validated like them."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{origin}: {exc}") from None
    problems: list[str] = []
    sources = data.pop("sources", {})
    if not isinstance(sources, dict):
        problems.append(f"{origin}: sources: expected a table")
        sources = {}
    for key, value in (overrides or {}).items():
        if key not in spec:
            problems.append(f"override {key}: unknown key; known keys: {', '.join(spec)}")
            continue
        data[key] = value
        sources[key] = "override"
    overridden = set(overrides or {})
    values: dict[str, Any] = {}
    for key in data:
        if key not in spec:
            problems.append(f"{origin}: {key}: unknown key")
    for key, f in spec.items():
        if key not in data:
            if f.required:
                problems.append(f"{origin}: {key}: missing")
            else:
                values[key] = f.default
            continue
        value = data[key]
        where = "override" if key in overridden else origin
        if not _type_ok(value, f.types):
            want = " or ".join(t.__name__ for t in f.types)
            problems.append(f"{where}: {key}: expected {want}, got {type(value).__name__} "
                            f"{value!r}")
            continue
        if f.check is not None and not f.check(value):
            problems.append(f"{where}: {key}: must be {f.rule}, got {value!r}")
            continue
        if not isinstance(sources.get(key), str) or not sources[key].strip():
            problems.append(f"{origin}: sources.{key}: missing (every value needs a source)")
        values[key] = value
    for key in sources:
        if key not in spec:
            problems.append(f"{origin}: sources.{key}: source for an unknown key")
    if problems:
        raise UserError(problems)
    return values, {k: v for k, v in sources.items() if k in values}


def read_named(name_or_path: str | Path, package: str, folder: str, names: tuple[str, ...],
               what: str) -> tuple[str, str]:
    """Text and origin of a shipped data file (by name) or of a path."""
    from importlib import resources

    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        try:
            return p.read_text(), str(p)
        except OSError as exc:
            raise UserError(f"{p}: cannot read {what}: {exc.strerror}") from None
    if str(name_or_path) not in names:
        raise UserError(f"unknown {what} {name_or_path!r}; shipped: {', '.join(names)}, "
                        "or give a path to a .toml file")
    res = resources.files(package).joinpath(f"{folder}/{name_or_path}.toml")
    return res.read_text(), f"{package.replace('.', '/')}/{folder}/{name_or_path}.toml"


def parse_overrides(items: list[str] | None) -> dict[str, Any]:
    """`KEY=VALUE` strings (VALUE a TOML literal, or a bare string) -> dict."""
    out: dict[str, Any] = {}
    problems = []
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            problems.append(f"--set {item!r}: expected KEY=VALUE")
            continue
        try:
            out[key.strip()] = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            out[key.strip()] = raw
    if problems:
        raise UserError(problems)
    return out

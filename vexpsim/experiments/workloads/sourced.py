"""Data files whose every value names its own source: flat values at top level and a
`[sources]` table with one entry per value (model shapes, analytical parameters).

Validation goes through the schema engine (`vexpsim.schema`): all problems at once, each as
`file: key: message`; a value without a source, or a source for an unknown key, is a problem
too. An override's source becomes the override itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from ...errors import UserError
from ...schema import (
    Field,
    MapOf,
    Section,
    apply_overrides,
    format_value,
    override_notes,
    parse_override,
    read_toml,
    validate,
)

__all__ = ["load_sourced", "read_named"]


def _sources_check(value_keys: Iterable[str]):
    keys = tuple(value_keys)

    def check(c: dict) -> Iterable[tuple[str, str]]:
        src = c.get("sources", {})
        for k in keys:
            if c.get(k) is not None and not str(src.get(k, "")).strip():
                yield f"sources.{k}", "missing (every value needs a source)"
        for k in src:
            if k not in keys:
                yield f"sources.{k}", "source for an unknown key"
    return check


def load_sourced(data: Mapping[str, Any], origin: str, fields: Mapping[str, Field],
                 overrides: Iterable[str] | Mapping[str, Any] = ()
                 ) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate parsed TOML `data`; return (values, sources) without None values."""
    if isinstance(overrides, Mapping):
        overrides = [f"{k}={format_value(v)}" for k, v in overrides.items()]
    overrides = list(overrides)
    data = apply_overrides(data, overrides)
    if isinstance(data.get("sources"), dict):
        for text in overrides:
            parts, _ = parse_override(text)
            if len(parts) == 1 and isinstance(parts[0], str):
                data["sources"][parts[0]] = f"override {text!r}"
    schema = Section({**fields, "sources": MapOf(Field("str"), doc="source of each value")})
    c = validate(data, schema, origin=origin, notes=override_notes(overrides),
                 checks=(_sources_check(fields),))
    sources = c.pop("sources", {}) or {}
    values = {k: v for k, v in c.items() if v is not None}
    return values, {k: v for k, v in sources.items() if k in values}


def read_named(name_or_path: str | Path, package: str, folder: str, names: tuple[str, ...],
               what: str) -> tuple[dict[str, Any], str]:
    """Parsed TOML and origin of a shipped data file (by name) or of a path."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        return read_toml(p), str(p)
    if str(name_or_path) not in names:
        raise UserError(f"unknown {what} {name_or_path!r}; shipped: {', '.join(names)}, "
                        "or give a path to a .toml file")
    origin = f"{package.replace('.', '/')}/{folder}/{name_or_path}.toml"
    text = resources.files(package).joinpath(f"{folder}/{name_or_path}.toml").read_text()
    return read_toml(origin, text=text, origin=origin), origin

import pytest

from vexpsim.errors import UserError
from vexpsim.sourced_toml import Field, load_sourced, parse_overrides

SPEC = {"a": Field((int,), lambda v: v > 0, "> 0"), "b": Field((float,)),
        "c": Field((str,), required=False, default="dflt")}


def test_values_sources_defaults_and_overrides():
    v, s = load_sourced('a = 1\nb = 2\n[sources]\na = "x"\nb = "y"\n', "f.toml", SPEC)
    assert v == {"a": 1, "b": 2, "c": "dflt"} and s == {"a": "x", "b": "y"}
    v, s = load_sourced('a = 1\nb = 2\n[sources]\na = "x"\nb = "y"\n', "f.toml", SPEC,
                        {"a": 5})
    assert v["a"] == 5 and s["a"] == "override"


def test_all_problems_at_once_with_place():
    with pytest.raises(UserError) as exc:
        load_sourced('a = 0\nb = true\nz = 1\n[sources]\nq = "?"\n', "f.toml", SPEC,
                     {"nope": 1})
    msgs = exc.value.problems
    assert "f.toml: a: must be > 0, got 0" in msgs
    assert any(m.startswith("f.toml: b: expected float") for m in msgs)
    assert "f.toml: z: unknown key" in msgs
    assert "f.toml: sources.q: source for an unknown key" in msgs
    assert any(m.startswith("override nope: unknown key") for m in msgs)
    with pytest.raises(UserError, match="f.toml: a: missing"):
        load_sourced('b = 1.0\n[sources]\nb = "s"\n', "f.toml", SPEC)
    with pytest.raises(UserError, match="sources.a: missing"):
        load_sourced('a = 1\nb = 1.0\n[sources]\nb = "s"\n', "f.toml", SPEC)
    with pytest.raises(UserError, match="f.toml"):
        load_sourced("a = = 1", "f.toml", SPEC)


def test_parse_overrides():
    assert parse_overrides(["clusters=8", "name=abc", "x = 1.5", 'y="q"']) == {
        "clusters": 8, "name": "abc", "x": 1.5, "y": "q"}
    with pytest.raises(UserError, match="expected KEY=VALUE"):
        parse_overrides(["novalue"])

import pytest

from vexpsim.errors import UserError
from vexpsim.experiments.workloads.sourced import load_sourced, read_named
from vexpsim.schema import Field

SPEC = {"a": Field("int", min=1), "b": Field("float"), "c": Field("str", default=None)}


def test_values_sources_optional_and_overrides():
    data = {"a": 1, "b": 2.0, "sources": {"a": "x", "b": "y"}}
    v, s = load_sourced(data, "f.toml", SPEC)
    assert v == {"a": 1, "b": 2.0} and s == {"a": "x", "b": "y"}
    v, s = load_sourced(data, "f.toml", SPEC, {"a": 5})
    assert v["a"] == 5 and s["a"] == "override 'a=5'"
    v, s = load_sourced(data, "f.toml", SPEC, ["c='hi'"])
    assert v["c"] == "hi" and "override" in s["c"]


def test_all_problems_at_once_with_place():
    with pytest.raises(UserError) as exc:
        load_sourced({"a": 0, "b": 1.0, "z": 1, "sources": {"b": "s", "q": "?"}}, "f.toml",
                     SPEC)
    msgs = exc.value.problems
    assert any(m.startswith("f.toml: a: expected an integer >= 1") for m in msgs)
    assert any(m.startswith("f.toml: z: unknown key") for m in msgs)
    assert "f.toml: sources.q: source for an unknown key" in msgs
    with pytest.raises(UserError, match="f.toml: sources.a: missing"):
        load_sourced({"a": 1, "b": 1.0, "sources": {"b": "s"}}, "f.toml", SPEC)


def test_read_named_errors():
    with pytest.raises(UserError, match="unknown thing 'x'"):
        read_named("x", "vexpsim.experiments.workloads", "models", ("a",), "thing")
    with pytest.raises(UserError, match="no such file"):
        read_named("/nonexistent/m.toml", "vexpsim.experiments.workloads", "models", (),
                   "model")

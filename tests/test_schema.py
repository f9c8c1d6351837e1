import dataclasses
import math
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vexpsim.errors import UserError
from vexpsim.schema import (
    Field,
    MapOf,
    Section,
    SectionList,
    apply_overrides,
    defaults,
    describe,
    dump_toml,
    format_value,
    freeze,
    load_toml,
    merge,
    parse_override,
    read_toml,
    schema_from_dict,
    thaw,
    validate,
)

FPU = Section({
    "lat_exp": Field(int, 2, min=1, unit="cycles", doc="EXP latency", source="paper §1"),
    "mode": Field(str, "BEFORE", choices=("BEFORE", "AFTER")),
    "formats": Field(list[str], ["fp32", "fp64"], choices=("fp32", "fp64", "fp16")),
    "scale": Field(float, 1.5, min=0.0, max=10.0),
    "exp": Section({"enabled": Field(bool, False)}),
}, doc="the FPU")
SCHEMA = Section({
    "name": Field(str, "x", doc="label", source="vexpsim"),
    "cluster": Section({
        "cores": Field(int, 8, min=1, doc="compute cores", source="sc.md §1", unit="cores"),
        "base": Field(int, 0x8000_0000, display="hex", doc="base", source="sc.md §1"),
        "fpu": FPU,
    }),
    "runs": SectionList(Section({"n": Field(int, min=1), "tag": Field(str, default=None)}),
                        doc="one run"),
    "events": MapOf(Section({"pj": Field(float, min=0)}), doc="energy events"),
    "extra": MapOf(Field(int), doc="named integers"),
    "meta": Field(dict, {}),
})


def problems(data, schema=SCHEMA, **kw):
    with pytest.raises(UserError) as e:
        validate(data, schema, origin="f.toml", **kw)
    return e.value.problems


# ---- fields -------------------------------------------------------------------------------
def test_field_types_normalise():
    assert Field(int).type == "int"
    assert Field(list[str]).type == "str[]"
    assert Field("float[]").type == "float[]"
    assert Field(dict).type == "table"
    with pytest.raises(ValueError, match="unknown field type"):
        Field("complex")
    with pytest.raises(ValueError, match="unsupported"):
        Field(set)


def test_field_default_is_checked():
    with pytest.raises(ValueError, match="bad default"):
        Field(int, 0, min=1)
    with pytest.raises(ValueError, match="bad default"):
        Field(str, "c", choices=("a", "b"))


# ---- validation ---------------------------------------------------------------------------
def test_defaults_filled_in():
    c = validate({"runs": [{"n": 2}]}, SCHEMA, origin="f")
    assert c["cluster"]["cores"] == 8 and c["cluster"]["fpu"]["lat_exp"] == 2
    assert c["cluster"]["fpu"]["exp"] == {"enabled": False}
    assert c["runs"] == [{"n": 2, "tag": None}]
    assert c["events"] == {} and c["extra"] == {} and c["meta"] == {}
    assert c["name"] == "x"


def test_defaults_are_copies():
    c = validate({}, SCHEMA, origin="f")
    c["cluster"]["fpu"]["formats"].append("fp16")
    assert validate({}, SCHEMA, origin="f")["cluster"]["fpu"]["formats"] == ["fp32", "fp64"]


def test_input_not_mutated_and_ints_become_floats():
    data = {"cluster": {"fpu": {"scale": 3}}}
    c = validate(data, SCHEMA, origin="f")
    assert data == {"cluster": {"fpu": {"scale": 3}}}
    assert c["cluster"]["fpu"]["scale"] == 3.0 and isinstance(c["cluster"]["fpu"]["scale"], float)


@pytest.mark.parametrize("path,value,message", [
    ("cluster.fpu.lat_exp", -2, "expected an integer >= 1, got -2"),
    ("cluster.fpu.lat_exp", 2.0, "expected an integer >= 1, got 2.0"),
    ("cluster.fpu.lat_exp", True, "expected an integer >= 1, got true"),
    ("cluster.fpu.lat_exp", "2", 'expected an integer >= 1, got "2"'),
    ("cluster.fpu.scale", 11, "expected a number in [0.0, 10.0], got 11"),
    ("cluster.fpu.scale", False, "expected a number in [0.0, 10.0], got false"),
    ("cluster.fpu.scale", math.nan, "expected a number in [0.0, 10.0], got nan"),
    ("cluster.fpu.mode", "BEFOR", 'expected one of "BEFORE", "AFTER", got "BEFOR" '
                                  "(did you mean BEFORE?)"),
    ("cluster.fpu.exp.enabled", 1, "expected a boolean, got 1"),
    ("cluster.fpu.formats", "fp32", 'expected an array of values from "fp32", "fp64", "fp16", '
                                    'got "fp32"'),
    ("cluster.fpu.exp", 3, "expected a table, got 3"),
    ("name", {"a": 1}, "expected a string, got a table"),
    ("meta", 3, "expected a table, got 3"),
])
def test_each_error_names_its_key_path(path, value, message):
    data: dict = {}
    node = data
    *parents, leaf = path.split(".")
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = value
    assert problems(data) == [f"f.toml: {path}: {message}"]


def test_list_items_are_checked_one_by_one():
    got = problems({"cluster": {"fpu": {"formats": ["fp32", "fp61", 3]}}})
    assert got == [
        'f.toml: cluster.fpu.formats[1]: expected one of "fp32", "fp64", "fp16", got "fp61" '
        "(did you mean fp64?)",
        'f.toml: cluster.fpu.formats[2]: expected one of "fp32", "fp64", "fp16", got 3',
    ]
    s = Section({"xs": Field(list[int], [], min=0)})
    assert problems({"xs": [1, -1]}, s) == ["f.toml: xs[1]: expected an integer >= 0, got -1"]
    assert problems({"xs": 5}, s) == ["f.toml: xs: expected an array of integers >= 0, got 5"]


def test_unknown_keys_suggest_a_name():
    got = problems({"cluster": {"fpu": {"lat_epx": 3}, "lat_exp": 1}, "bogus": 1})
    assert "f.toml: cluster.fpu.lat_epx: unknown key (did you mean lat_exp?)" in got
    assert "f.toml: cluster.lat_exp: unknown key (did you mean cluster.fpu.lat_exp?)" in got
    assert "f.toml: bogus: unknown key" in got
    assert len(got) == 3


def test_missing_required_keys_and_tables():
    assert problems({"runs": [{}]}) == [
        "f.toml: runs[0].n: missing required key (an integer >= 1)"]
    s = Section({"a": Section({"b": Field(int)}, required=True),
                 "c": SectionList(Section({}), required=True),
                 "d": Section({"e": Field(str)})})
    assert problems({}, s) == ["f.toml: a: missing required table",
                               "f.toml: c: missing required table",
                               "f.toml: d.e: missing required key (a string)"]


def test_section_lists_and_maps():
    got = problems({"runs": [{"n": 0}, 3], "events": {"ok": {"pj": -1}, "bad name": {"pj": 1}},
                    "extra": {"a": "x"}})
    assert got == [
        "f.toml: runs: expected an array of tables ([[runs]]), got [{ n = 0 }, 3]",
        "f.toml: events.ok.pj: expected a number >= 0, got -1",
        "f.toml: events.bad name: invalid name (must match [A-Za-z0-9_-]+)",
        'f.toml: extra.a: expected an integer, got "x"',
    ]
    s = Section({"r": SectionList(Section({"n": Field(int, 1)}), min_items=1, max_items=2),
                 "m": MapOf(Field(int), min_items=1)})
    assert problems({"r": [], "m": {}}, s) == ["f.toml: r: expected at least 1 entries, got 0",
                                              "f.toml: m: expected at least 1 entries, got 0"]
    assert problems({"r": [{}, {}, {}], "m": {"a": 1}}, s) == [
        "f.toml: r: expected at most 2 entries, got 3"]


def test_every_problem_reported_at_once():
    data = {"name": 1, "cluster": {"cores": 0, "fpu": {"lat_exp": -1, "mode": "X",
                                                       "lat_epx": 1}},
            "runs": [{"n": 0}], "zzz": 1}
    got = problems(data)
    assert len(got) == 7
    assert all(p.startswith("f.toml: ") for p in got)
    paths = {p.split(": ")[1] for p in got}
    assert paths == {"name", "cluster.cores", "cluster.fpu.lat_exp", "cluster.fpu.mode",
                     "cluster.fpu.lat_epx", "runs[0].n", "zzz"}


def test_root_must_be_a_table():
    assert problems([1]) == ["f.toml: expected a table, got [1]"]


def test_notes_name_their_cause():
    got = problems({"cluster": {"cores": 0, "fpu": {"lat_exp": 0}}},
                   notes={"cluster.fpu": "set by override 'x'"})
    assert got == ["f.toml: cluster.cores: expected an integer >= 1, got 0",
                   "f.toml: cluster.fpu.lat_exp: expected an integer >= 1, got 0 "
                   "(set by override 'x')"]


def test_cross_checks_run_skip_and_do_not_repeat():
    def same(c):
        if c["cluster"]["cores"] != c["cluster"]["fpu"]["lat_exp"]:
            yield ("cluster.cores", "must equal lat_exp")

    def other(c):
        yield ("name", "always " + c["name"])

    assert problems({"cluster": {"cores": 3}}, checks=[same]) == [
        "f.toml: cluster.cores: must equal lat_exp"]
    # cores is wrong already: the rule's finding on the same path is dropped; a rule that
    # crashes on a wrong value is skipped; the others still run.
    got = problems({"cluster": {"cores": "3"}, "name": 5}, checks=[same, other])
    assert got == ['f.toml: name: expected a string, got 5',
                   'f.toml: cluster.cores: expected an integer >= 1, got "3"']
    assert validate({"cluster": {"cores": 2}}, SCHEMA, origin="f", checks=[same])
    # a wrong value read by a rule reporting on ANOTHER path: no knock-on problem either
    assert problems({"cluster": {"fpu": {"lat_exp": "2"}}}, checks=[same]) == [
        'f.toml: cluster.fpu.lat_exp: expected an integer >= 1, got "2"']
    assert problems({"cluster": {"fpu": []}}, checks=[same]) == [
        "f.toml: cluster.fpu: expected a table, got []"]


def test_defaults_helper():
    assert defaults(FPU)["lat_exp"] == 2
    with pytest.raises(UserError, match="missing required key"):
        defaults(Section({"a": Field(int)}))


# ---- overrides ----------------------------------------------------------------------------
@pytest.mark.parametrize("text,value", [
    ("a.b=3", 3), ("a.b=2.5", 2.5), ("a.b=true", True), ('a.b="x y"', "x y"),
    ("a.b=[1, 2]", [1, 2]), ("a.b={ c = 1 }", {"c": 1}), ("a.b=BEFORE", "BEFORE"),
    ("a.b = 0x10", 16), ("a.b=-inf", -math.inf),
])
def test_override_values_are_toml_literals(text, value):
    parts, v = parse_override(text)
    assert parts == ["a", "b"] and v == value and type(v) is type(value)


def test_overrides_apply_in_order_without_mutating():
    base = {"cluster": {"cores": 8}, "runs": [{"n": 1}, {"n": 2}]}
    out = apply_overrides(base, ["cluster.cores=4", "cluster.fpu.lat_exp=3", "runs[1].n=7",
                                 "cluster.cores=5", 'name="q"'])
    assert out == {"cluster": {"cores": 5, "fpu": {"lat_exp": 3}},
                   "runs": [{"n": 1}, {"n": 7}], "name": "q"}
    assert base == {"cluster": {"cores": 8}, "runs": [{"n": 1}, {"n": 2}]}


def test_bad_overrides_all_named():
    with pytest.raises(UserError) as e:
        apply_overrides({"cores": 8, "runs": []},
                        ["cores", "=1", "a..b=1", "x=", "x=[1,", "cores.x=1", "runs[0].n=1",
                         "cores[0]=1", "ok=1"])
    assert e.value.problems == [
        "override 'cores': expected KEY=VALUE",
        "override '=1': empty key",
        "override 'a..b=1': bad key 'a..b' (keys are dotted names, e.g. fpu.lat_exp)",
        "override 'x=': empty value",
        "override 'x=[1,': value '[1,' is not a TOML literal (Invalid value)",
        "override 'cores.x=1': cores is not a table",
        "override 'runs[0].n=1': runs[0] does not exist",
        "override 'cores[0]=1': cores[0] does not exist",
    ]


def test_load_toml_names_file_and_override(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text("[cluster]\ncores = 2\n")
    c = load_toml(f, SCHEMA, overrides=["cluster.fpu.lat_exp=5"])
    assert c["cluster"]["cores"] == 2 and c["cluster"]["fpu"]["lat_exp"] == 5
    with pytest.raises(UserError) as e:
        load_toml(f, SCHEMA, overrides=["cluster.fpu.lat_exp=0"])
    assert e.value.problems == [
        f"{f}: cluster.fpu.lat_exp: expected an integer >= 1, got 0 "
        "(set by override 'cluster.fpu.lat_exp=0')"]


def test_read_toml_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("a = 1\nb = \n")
    with pytest.raises(UserError, match=r"bad.toml:2:5: invalid TOML: "):
        read_toml(bad)
    with pytest.raises(UserError, match="no such file"):
        read_toml(tmp_path / "nope.toml")
    with pytest.raises(UserError, match="is a directory"):
        read_toml(tmp_path)
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe")
    with pytest.raises(UserError, match="not UTF-8"):
        read_toml(tmp_path / "bin.toml")
    assert read_toml("x", text="a = 1") == {"a": 1}


def test_merge_is_deep():
    assert merge({"a": {"b": 1, "c": [1]}, "d": 1}, {"a": {"c": [2]}, "e": {"f": 1}}) == {
        "a": {"b": 1, "c": [2]}, "d": 1, "e": {"f": 1}}


# ---- output -------------------------------------------------------------------------------
def full_config():
    return validate({
        "name": 'quote " back \\ tab \t newline \n unicode é \x7f',
        "cluster": {"cores": 3, "fpu": {"scale": 1e-5, "formats": ["fp16"]}},
        "runs": [{"n": 1, "tag": "a"}, {"n": 2}],
        "events": {"alu": {"pj": 2.5}, "odd-name": {"pj": 0}},
        "extra": {"k": 7},
        "meta": {"x": [1, 2], "y": {"z": "w"}},
    }, SCHEMA, origin="f")


def test_dump_round_trips():
    c = full_config()
    text = dump_toml(c, SCHEMA)
    back = tomllib.loads(text)
    # None-valued optional fields are left out of the dump
    assert validate(back, SCHEMA, origin="dump") == c


def test_dump_has_comments_in_schema_order():
    text = dump_toml(full_config(), SCHEMA, header="effective config")
    lines = text.splitlines()
    assert lines[0] == "# effective config"
    i = lines.index("cores = 3")
    assert lines[i - 2:i] == ["# compute cores [cores]", "# source: sc.md §1"]
    assert "base = 0x8000_0000" in lines
    assert lines.index("[cluster]") < lines.index("[cluster.fpu]") < lines.index("[[runs]]")
    assert "# EXP latency [cycles]" in lines
    bare = dump_toml(full_config(), SCHEMA, comments=False)
    assert "#" not in bare.replace('"quote', "")
    assert tomllib.loads(bare) == tomllib.loads(text)


@settings(max_examples=60, deadline=None)
@given(st.text(), st.integers(min_value=-(2 ** 63), max_value=2 ** 63 - 1),
       st.floats(allow_nan=False), st.lists(st.integers(0, 2 ** 32), max_size=4))
def test_format_value_is_valid_toml(s, i, x, xs):
    for v in (s, i, x, xs):
        assert tomllib.loads(f"v = {format_value(v)}")["v"] == v
    if i >= 0:
        assert tomllib.loads(f"v = {format_value(i, hex_int=True)}")["v"] == i


def test_format_value_shapes():
    assert format_value(0x1000_0000, hex_int=True) == "0x1000_0000"
    assert format_value(0xABC, hex_int=True) == "0xABC"
    assert format_value(1_000_000_000) == "1_000_000_000"
    assert format_value(3.0) == "3.0"
    assert format_value(math.inf) == "inf"
    assert format_value([True, "a"]) == '[true, "a"]'


def test_describe_lists_every_leaf():
    c = full_config()
    d = describe(c, SCHEMA)
    assert d["cluster.cores"] == {"value": 3, "default": 8, "is_default": False,
                                  "unit": "cores", "doc": "compute cores",
                                  "source": "sc.md §1"}
    assert d["cluster.fpu.lat_exp"]["is_default"] is True
    assert d["runs[1].n"]["value"] == 2 and d["events.alu.pj"]["value"] == 2.5
    assert d["extra.k"]["value"] == 7
    assert list(d)[:3] == ["name", "cluster.cores", "cluster.base"]


# ---- frozen objects -----------------------------------------------------------------------
def test_freeze_gives_frozen_attribute_tree():
    c = full_config()
    f = freeze(c, SCHEMA, name="TestConfig")
    assert f.cluster.fpu.lat_exp == 2 and f.cluster.fpu.formats == ("fp16",)
    assert f.runs[1].n == 2 and f.runs[1].tag is None
    assert f.events["alu"].pj == 2.5 and f.extra["k"] == 7 and f.meta["y"]["z"] == "w"
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.cluster.cores = 1
    with pytest.raises(TypeError):
        f.extra["k"] = 1
    assert type(freeze(c, SCHEMA, name="TestConfig")) is type(f)
    assert freeze(c, SCHEMA, name="TestConfig") == f
    assert thaw(f) == c


def test_freeze_rejects_non_identifiers():
    with pytest.raises(ValueError, match="not a Python identifier"):
        freeze({"a-b": 1}, Section({"a-b": Field(int, 1)}))


# ---- schemas as data ----------------------------------------------------------------------
def test_schema_from_dict():
    s = schema_from_dict(tomllib.loads("""
        [cores]
        type = "int"
        default = 8
        min = 1
        unit = "cores"
        doc = "compute cores"
        source = "here"
        [label]
        type = "str"
        optional = true
        [fpu]
        _doc = "the FPU"
        [fpu.formats]
        type = "str[]"
        default = ["a"]
        choices = ["a", "b"]
        [fpu.exp.on]
        type = "bool"
        default = false
    """))
    assert s.fields["cores"] == Field(int, 8, "compute cores", "here", 1, None, None, "cores")
    assert s.fields["label"].default is None
    assert s.fields["fpu"].doc == "the FPU"
    c = validate({}, s, origin="f")
    assert c == {"cores": 8, "label": None, "fpu": {"formats": ["a"], "exp": {"on": False}}}


@pytest.mark.parametrize("text,message", [
    ('[a]\ntype = "int"\nfoo = 1', r"a: unknown field attribute\(s\) \['foo'\]"),
    ('[a]\ntype = "int"\ndefault = 1\noptional = true', "a: give either default or optional"),
    ('[a]\ntype = "int"\ndefault = 0\nmin = 1', "a: bad default"),
    ('[s]\n_bogus = 1', "s._bogus: unknown section attribute"),
    ("a = 1", "a: expected a field or section table"),
    ('[a]\ntype = "quux"', "a: unknown field type"),
])
def test_schema_from_dict_errors(text, message):
    with pytest.raises(ValueError, match=message):
        schema_from_dict(tomllib.loads(text), origin="s.toml")

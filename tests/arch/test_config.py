import argparse
import dataclasses
import json
import tomllib
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vexpsim.cli as cli
from vexpsim.arch import config_cli
from vexpsim.arch.config import (
    FPU_FORMATS,
    PRESETS,
    SCHEMA,
    cluster_config_dict,
    cluster_config_from_data,
    cluster_describe,
    cluster_to_toml,
    effective_fpu_latency,
    fpu_unit_pipelined,
    load_cluster_config,
    timing_params,
)
from vexpsim.arch.timing import TimingParams
from vexpsim.errors import UserError
from vexpsim.schema import Field, Section, defaults, describe

BF16_ALIASES = ("bf16", "fp16alt", "bfloat16")


@pytest.fixture(scope="module")
def paper():
    return load_cluster_config()


@pytest.fixture(scope="module")
def public():
    return load_cluster_config(preset="snitch_default")


def problems(**kw):
    with pytest.raises(UserError) as e:
        cluster_config_dict(**kw)
    return e.value.problems


# ---- schema and presets -------------------------------------------------------------------
def leaves(section, path=""):
    for k, f in section.fields.items():
        p = f"{path}.{k}" if path else k
        if isinstance(f, Section):
            yield from leaves(f, p)
        else:
            yield p, f


def test_every_field_has_doc_and_source():
    fields = dict(leaves(SCHEMA))
    assert len(fields) > 60
    for path, f in fields.items():
        assert isinstance(f, Field)
        assert f.doc and f.source, path
        if f.type == "int" and f.choices is None and not path.endswith(("base", "size")):
            assert f.min is not None, f"{path}: integer without a lower bound"


def test_sources_name_a_reference_file():
    refs = ("snitch_cluster.md", "vexp_paper.md", "vexp_details.md", "design.md", "vexpsim",
            "assumption", "openC910", "tools_survey.md")
    for path, f in leaves(SCHEMA):
        assert any(r in f.source for r in refs), path
        if "assumption" in f.source:
            assert len(f.source) > len("assumption: ") + 10, path  # says what is assumed


def test_presets_are_package_data():
    names = {p.name for p in resources.files("vexpsim.arch").joinpath("configs").iterdir()}
    assert {f"{p}.toml" for p in PRESETS} | {"cluster_schema.toml"} <= names


def test_public_default_cluster(public):
    # the values the task and snitch_cluster.md §1-§4, §8 prescribe for the public cluster
    assert (public.cores, public.dma_cores, public.harts, public.dma_hart) == (8, 1, 9, 8)
    assert public.frequency_hz == 1_000_000_000
    assert (public.fpss.lat_offload, public.fpss.fpq_depth, public.fpss.wb_to_issue) == (2, 32, 1)
    assert (public.core.lat_mul, public.core.div_extra) == (3, 3)
    assert (public.ssr.count, public.ssr.fifo_depth, public.ssr.dims) == (3, 4, 4)
    assert (public.frep.buffer, public.frep.nesting, public.frep.max_iterations) == (
        32, 2, 1 << 16)
    t = public.tcdm
    assert (t.size, t.banks, t.bank_width, t.superbank_width, t.ports_per_core) == (
        128 * 1024, 32, 8, 64, 3)
    assert (t.base, public.main_memory.base) == (0x1000_0000, 0x8000_0000)
    assert public.dma.width == 64 and public.fpu.lat_exp == 2
    assert public.fpu.formats == FPU_FORMATS
    assert not public.fpu.divsqrt.enabled and not public.fpu.exp.enabled
    assert public.preset is None and public.name == "snitch_default"


def test_vexp_paper_is_default_plus_divsqrt_and_exp(paper, public):
    assert paper.fpu.divsqrt.enabled and paper.fpu.exp.enabled
    assert paper.preset == "snitch_default" and paper.name == "vexp_paper"
    a, b = cluster_describe(paper), cluster_describe(public)
    differ = {k for k in a if a[k]["value"] != b[k]["value"]}
    assert differ == {"preset", "name", "description", "fpu.exp.enabled",
                      "fpu.divsqrt.enabled"}


def test_schema_defaults_are_the_public_cluster(public):
    d = cluster_describe(public)
    assert {k for k, v in d.items() if not v["is_default"]} == {"name", "description"}
    assert defaults(SCHEMA)["fpu"] == public.to_dict()["fpu"]


def test_unknown_preset():
    assert problems(preset="occamy") == [
        "unknown preset 'occamy'; shipped presets: snitch_default, vexp_paper, paper_baseline"]


def test_config_is_frozen(paper):
    with pytest.raises(dataclasses.FrozenInstanceError):
        paper.cores = 4
    with pytest.raises(dataclasses.FrozenInstanceError):
        paper.fpu.lat_exp = 4
    assert load_cluster_config() == paper
    assert hash(load_cluster_config()) == hash(paper)  # usable as a cache key
    assert hash(load_cluster_config(overrides=["cores=4"])) != hash(paper)


# ---- files, presets and overrides ---------------------------------------------------------
def test_file_without_preset_starts_from_public_cluster(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text("cores = 4\n[fpu]\nlat_exp = 3\n")
    c = load_cluster_config(f)
    assert c.cores == 4 and c.fpu.lat_exp == 3 and not c.fpu.exp.enabled
    assert c.name == "custom"


def test_file_with_preset_inherits(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('preset = "vexp_paper"\nname = "mine"\n[fpu.divsqrt]\nlat_fp16alt = 12\n')
    c = load_cluster_config(f, preset="snitch_default")  # the file's own preset wins
    assert c.fpu.exp.enabled and c.fpu.divsqrt.enabled
    assert c.preset == "vexp_paper" and c.name == "mine"
    assert effective_fpu_latency(c, "divsqrt", "bf16") == 12


def test_overrides(tmp_path):
    c = load_cluster_config(overrides=["cluster.cores=4", "fpu.lat_exp=3",
                                       "fpu.addmul_unit=PARALLEL", "preset=snitch_default"])
    assert (c.cores, c.fpu.lat_exp, c.fpu.addmul_unit) == (4, 3, "PARALLEL")
    f = tmp_path / "c.toml"
    f.write_text("cores = 2\n")
    assert load_cluster_config(f, overrides=["cores=6"]).cores == 6
    # the preset of an override is resolved too
    assert load_cluster_config(text="", overrides=['preset="vexp_paper"']).fpu.exp.enabled


def test_errors_name_file_key_and_override(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text('preset = "vexp_paper"\ncores = 0\n[fpu]\nlat_exp = -2\nlat_epx = 3\n'
                 '[fpu.divsqrt]\nenabled = "yes"\n[tcdm]\nbanks = 32.0\n[dmaa]\nwidth = 1\n')
    got = problems(path=f, overrides=["ssr.count=4"])
    assert got == [
        f"{f}: dmaa: unknown key (did you mean dma?)",
        f"{f}: cores: expected an integer in [1, 64], got 0",
        f"{f}: fpu.lat_epx: unknown key (did you mean lat_exp?)",
        f"{f}: fpu.lat_exp: expected an integer in [1, 16], got -2",
        f'{f}: fpu.divsqrt.enabled: expected a boolean, got "yes"',
        f"{f}: ssr.count: expected an integer in [0, 3], got 4 (set by override 'ssr.count=4')",
        f"{f}: tcdm.banks: expected an integer in [1, 1024], got 32.0",
    ]


def test_bad_preset_value_and_bad_toml(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text('preset = "vexp_papr"\n')
    assert problems(path=f) == [
        f'{f}: preset: expected one of "snitch_default", "vexp_paper", "paper_baseline", '
        'got "vexp_papr" (did you mean vexp_paper?)']
    f.write_text("cores = = 3\n")
    assert problems(path=f) == [f"{f}:1:9: invalid TOML: Invalid value"]
    assert problems(overrides=["cores"]) == ["override 'cores': expected KEY=VALUE"]
    assert problems(overrides=["cluster.fpu.lat_exp=0"]) == [
        "vexpsim/arch/configs/vexp_paper.toml: fpu.lat_exp: expected an integer in [1, 16], "
        "got 0 (set by override 'cluster.fpu.lat_exp=0')"]


@pytest.mark.parametrize("overrides,path,message", [
    (["frep.buffer=16"], "frep.buffer", "must equal fpss.fpq_depth"),
    (["tcdm.size=1000"], "tcdm.size", "must be a multiple of banks x bank_width = 256 bytes"),
    (["tcdm.superbank_width=512", "dma.width=512"], "tcdm.superbank_width",
     "must be a multiple of bank_width"),
    (["dma.width=128"], "dma.width", "must equal tcdm.superbank_width"),
    (["main_memory.size=0x9000_0000"], "main_memory.size", "exceeds the 32-bit address space"),
    (["tcdm.base=0x8000_0000"], "tcdm.base", "overlaps main memory"),
    (['fpu.formats=["fp32"]'], "fpu.exp.enabled", 'fpu.formats must include "fp16alt"'),
    (['fpu.formats=["fp32", "fp16alt", "fp32"]'], "fpu.formats", "duplicate format(s) fp32"),
    (["fpu.formats=[]", "fpu.exp.enabled=false"], "fpu.formats", "at least one format"),
])
def test_cross_field_rules(overrides, path, message):
    got = problems(overrides=overrides)
    assert len(got) == 1
    assert got[0].startswith(f"vexpsim/arch/configs/vexp_paper.toml: {path}: ")
    assert message in got[0]


def test_cross_rules_and_field_errors_together():
    got = problems(overrides=["frep.buffer=16", "cores=0"])
    assert [p.split(": ")[1] for p in got] == ["cores", "frep.buffer"]


def test_consistent_changes_pass():
    c = load_cluster_config(overrides=["frep.buffer=16", "fpss.fpq_depth=16", "dma.width=128",
                                       "tcdm.superbank_width=128"])
    assert c.frep.buffer == c.fpss.fpq_depth == 16


# ---- the merged-FMA rule and the other latencies ------------------------------------------
def test_merged_fma_takes_the_max_over_formats(paper):
    slowest = max(getattr(paper.fpu, f"lat_comp_{f}") for f in FPU_FORMATS)
    assert slowest == paper.fpu.lat_comp_fp64 > paper.fpu.lat_comp_fp16alt
    for fmt in ("fp64", "fp32", "fp16", "e5m2", "e4m3", *BF16_ALIASES):
        assert effective_fpu_latency(paper, "addmul", fmt) == slowest
        assert effective_fpu_latency(paper, "fma", fmt) == slowest


def test_merged_fma_follows_the_slowest_enabled_format():
    c = load_cluster_config(overrides=["fpu.lat_comp_fp64=1", "fpu.lat_comp_fp8=5"])
    assert {effective_fpu_latency(c, "addmul", f) for f in FPU_FORMATS} == {5}
    c = load_cluster_config(overrides=['fpu.formats=["fp32", "fp16alt"]'])
    assert effective_fpu_latency(c, "addmul", "bf16") == c.fpu.lat_comp_fp32


def test_parallel_fma_uses_each_format_latency():
    c = load_cluster_config(overrides=["fpu.addmul_unit=PARALLEL"])
    for f in FPU_FORMATS:
        assert effective_fpu_latency(c, "addmul", f) == getattr(c.fpu, f"lat_comp_{f}")


def test_other_groups(paper):
    for fmt in ("fp64", "bf16", "fp8"):
        assert effective_fpu_latency(paper, "noncomp", fmt) == paper.fpu.lat_noncomp
        assert effective_fpu_latency(paper, "conv", fmt) == paper.fpu.lat_conv
        assert effective_fpu_latency(paper, "dotp", fmt) == paper.fpu.lat_sdotp
    assert effective_fpu_latency(paper, "exp", "bf16") == paper.fpu.lat_exp
    d = paper.fpu.divsqrt
    for f in FPU_FORMATS:
        assert effective_fpu_latency(paper, "div", f) == getattr(d, f"lat_{f}")
        assert effective_fpu_latency(paper, "sqrt", f) == getattr(d, f"lat_{f}") + d.sqrt_extra
    assert d.lat_fp64 > d.lat_fp32 > d.lat_fp16  # fewer SRT iterations for narrower formats
    assert paper.fpu_latency("exp", "bf16") == paper.fpu.lat_exp


def test_latency_errors(paper, public):
    with pytest.raises(UserError, match="no EXP op group"):
        effective_fpu_latency(public, "exp", "bf16")
    with pytest.raises(UserError, match="BF16 \\(fp16alt\\) only, not fp32"):
        effective_fpu_latency(paper, "exp", "fp32")
    with pytest.raises(UserError, match="division and square root are illegal"):
        effective_fpu_latency(public, "sqrt", "fp32")
    with pytest.raises(UserError, match="unknown FPU op group 'mac'"):
        effective_fpu_latency(paper, "mac", "fp32")
    with pytest.raises(UserError, match="unknown floating-point format 'fp12'"):
        effective_fpu_latency(paper, "addmul", "fp12")
    c = load_cluster_config(overrides=['fpu.formats=["fp32", "fp16alt"]'])
    with pytest.raises(UserError, match="fpu.formats: format fp64 is not enabled"):
        effective_fpu_latency(c, "addmul", "fp64")


def test_pipelining(paper):
    assert fpu_unit_pipelined(paper, "addmul") and fpu_unit_pipelined(paper, "exp")
    assert not fpu_unit_pipelined(paper, "divsqrt") and not fpu_unit_pipelined(paper, "sqrt")
    assert not fpu_unit_pipelined(load_cluster_config(overrides=["fpu.exp.pipelined=false"]),
                                  "exp")
    with pytest.raises(UserError):
        fpu_unit_pipelined(paper, "nope")


def test_timing_params_follow_the_config(paper, public):
    c = load_cluster_config(overrides=["fpss.lat_offload=5", "core.lat_mul=4", "fpu.lat_exp=3",
                                       "ssr.fifo_depth=8", "fpu.addmul_unit=PARALLEL"])
    t = timing_params(c, "bf16")
    assert isinstance(t, TimingParams)
    assert (t.lat_offload, t.lat_mul, t.ssr_fifo_depth) == (5, 4, 8)
    assert t.lat_fpu["exp"] == 3 and t.lat_fpu["addmul"] == c.fpu.lat_comp_fp16alt
    assert t.lat_fpu["divsqrt"] == c.fpu.divsqrt.lat_fp16alt and not t.pipelined["divsqrt"]
    assert timing_params(paper, "fp64").lat_fpu["addmul"] == paper.fpu.lat_comp_fp64
    tp = timing_params(public)
    assert "exp" not in tp.lat_fpu and "divsqrt" not in tp.lat_fpu


# ---- output -------------------------------------------------------------------------------
@pytest.mark.parametrize("preset", PRESETS)
def test_toml_dump_round_trips(preset, tmp_path):
    c = load_cluster_config(preset=preset, overrides=["cores=3"])
    text = cluster_to_toml(c)
    assert "# source: snitch_cluster.md §1 'Cores'" in text
    assert "base = 0x1000_0000" in text
    f = tmp_path / "dump.toml"
    f.write_text(text)
    assert load_cluster_config(f) == c
    assert tomllib.loads(cluster_to_toml(c, comments=False)) == tomllib.loads(text)


def test_describe_has_every_field(paper):
    d = cluster_describe(paper)
    assert list(d) == [p for p, _ in leaves(SCHEMA)]
    assert d["fpu.lat_exp"]["source"].startswith("vexp_paper.md")
    assert d["tcdm.size"]["unit"] == "bytes"
    assert describe(paper.to_dict(), SCHEMA) == d


# ---- command line -------------------------------------------------------------------------
def run_cli(argv, monkeypatch):
    return cli.main(argv)


def test_cli_check(tmp_path, capsys, monkeypatch):
    good, bad = tmp_path / "good.toml", tmp_path / "bad.toml"
    good.write_text("cores = 4\n")
    bad.write_text("[fpu]\nlat_exp = -2\nlat_epx = 3\n")
    assert run_cli(["config", "check", str(good)], monkeypatch) == 0
    assert capsys.readouterr().out == (f"{good}: ok (custom: {len(list(leaves(SCHEMA)))} "
                                       "fields, 1 differ from the public default Snitch "
                                       "cluster)\n")
    assert run_cli(["config", "check", str(bad), str(good), str(tmp_path / "none.toml")],
                   monkeypatch) == 1
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    assert out.err.splitlines() == [
        f"error: {bad}: fpu.lat_epx: unknown key (did you mean lat_exp?)",
        f"error: {bad}: fpu.lat_exp: expected an integer in [1, 16], got -2",
        f"error: {tmp_path / 'none.toml'}: no such file",
    ]
    assert out.out == f"{good}: ok (custom: {len(list(leaves(SCHEMA)))} fields, 1 differ from " \
                      "the public default Snitch cluster)\n"


def test_cli_show(tmp_path, capsys, monkeypatch, paper):
    assert run_cli(["config", "show"], monkeypatch) == 0
    text = capsys.readouterr().out
    f = tmp_path / "shown.toml"
    f.write_text(text)
    assert load_cluster_config(f) == paper
    assert run_cli(["config", "show", "--preset", "snitch_default", "--set", "cores=2",
                    "--format", "json", "--changed"], monkeypatch) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["name"] == "snitch_default"
    assert set(data["fields"]) == {"name", "description", "cores"}
    assert data["fields"]["cores"]["value"] == 2 and data["fields"]["cores"]["default"] == 8
    assert run_cli(["config", "show", "--changed", "--no-comments"], monkeypatch) == 0
    sparse = capsys.readouterr().out
    assert not [line for line in sparse.splitlines() if line.startswith("#")]
    f.write_text(sparse)
    assert load_cluster_config(f) == paper


def test_cli_show_errors(tmp_path, capsys, monkeypatch):
    f = tmp_path / "c.toml"
    f.write_text("cores = 4\n")
    assert run_cli(["config", "show", str(f), "--preset", "vexp_paper"], monkeypatch) == 1
    assert "give either FILE or --preset" in capsys.readouterr().err
    assert run_cli(["config", "show", "--set", "fpu.lat_exp=0"], monkeypatch) == 1
    err = capsys.readouterr().err
    assert "fpu.lat_exp: expected an integer in [1, 16], got 0 (set by override " in err
    assert "Traceback" not in err


def test_register_adds_config_command():
    p = argparse.ArgumentParser()
    config_cli.register(p.add_subparsers())
    args = p.parse_args(["config", "check", "a.toml", "--set", "cores=2"])
    assert args.func is config_cli.run_check and args.overrides == ["cores=2"]


def test_config_from_an_experiment_table():
    exp = tomllib.loads('[cluster]\npreset = "vexp_paper"\ncores = 4\n'
                        '[cluster.fpu]\nlat_exp = 3\n')
    c = cluster_config_from_data(exp["cluster"], origin="exp.toml")
    assert (c.cores, c.fpu.lat_exp, c.fpu.exp.enabled) == (4, 3, True)
    bad = {"fpu": {"lat_exp": -2, "lat_epx": 3}, "frep": {"buffer": 8}}
    with pytest.raises(UserError) as e:
        cluster_config_from_data(bad, origin="exp.toml", overrides=["cluster.cores=0"])
    assert e.value.problems == [
        "exp.toml: cluster.cores: expected an integer in [1, 64], got 0 "
        "(set by override 'cluster.cores=0')",
        "exp.toml: cluster.fpu.lat_epx: unknown key (did you mean lat_exp?)",
        "exp.toml: cluster.fpu.lat_exp: expected an integer in [1, 16], got -2",
        "exp.toml: cluster.frep.buffer: must equal fpss.fpq_depth (the sequencer ring buffer "
        "is the FP queue, snitch_cluster.md §3.1), got 8 and 32",
    ]
    assert bad == {"fpu": {"lat_exp": -2, "lat_epx": 3}, "frep": {"buffer": 8}}
    with pytest.raises(UserError) as e:
        cluster_config_from_data(3, origin="exp.toml")
    assert e.value.problems == ["exp.toml: cluster: expected a table, got 3"]


def test_cli_show_markdown(capsys, monkeypatch):
    assert run_cli(["config", "show", "--format", "markdown"], monkeypatch) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "| key | value | default | unit | meaning | source |"
    assert len(lines) == 2 + len(list(leaves(SCHEMA)))
    row = next(line for line in lines if line.startswith("| `fpu.exp.enabled`"))
    assert row.startswith("| `fpu.exp.enabled` | true | false |  | ")
    assert all(line.count(" | ") == 5 for line in lines[2:])


ALL_LEAVES = [p for p, _ in leaves(SCHEMA)]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(ALL_LEAVES), min_size=1, max_size=8, unique=True))
def test_every_wrong_field_is_reported_once(paths):
    # no knock-on problems: cross-field rules that read a wrong value are skipped
    overrides = [f"{p}={{ x = 1 }}" for p in paths]
    got = problems(overrides=overrides)
    assert sorted(g.split(": ")[1] for g in got) == sorted(paths)
    assert all(", got a table (set by override '" in g for g in got)


def test_paper_baseline_preset_is_the_paper_cluster_without_exp():
    from vexpsim.arch.config import cluster_describe
    base = load_cluster_config(preset="paper_baseline")
    paper = load_cluster_config(preset="vexp_paper")
    assert base.fpu.divsqrt.enabled and not base.fpu.exp.enabled
    a, b = cluster_describe(base), cluster_describe(paper)
    differ = {k for k in a if a[k]["value"] != b[k]["value"]}
    assert differ == {"name", "description", "fpu.exp.enabled"}

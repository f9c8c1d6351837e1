"""The cluster configuration: schema, shipped presets, loading, and the FPU latency rule.

The schema and every hardware default live in `configs/cluster_schema.toml`, each field with
its source. Presets are TOML files in `configs/` that state only what differs:
`snitch_default` (the public default Snitch cluster: no DIVSQRT, no EXP) and `vexp_paper`
(`preset = "snitch_default"` + DIVSQRT + the EXP op group). A user's file has the same shape;
`preset = "NAME"` at its top starts it from a shipped preset, otherwise it starts from the
schema defaults (the public default cluster).

    cfg = load_cluster_config()                                   # the vexp_paper preset
    cfg = load_cluster_config("my.toml", overrides=["cores=4"])   # a file, plus overrides
    cfg.fpu.lat_exp, cfg.tcdm.banks                               # frozen attribute access
    effective_fpu_latency(cfg, "addmul", "bf16")                  # 3: merged-FMA rule
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..numerics.formats import get_format
from ..schema import (
    Section,
    apply_overrides,
    describe,
    dump_toml,
    freeze,
    freeze_class,
    merge,
    override_notes,
    read_toml,
    schema_from_dict,
    thaw,
    validate,
)

__all__ = [
    "PRESETS", "FPU_FORMATS", "OP_GROUPS", "SCHEMA", "ClusterConfig", "load_cluster_config",
    "cluster_config_dict", "cluster_config_from_data", "effective_fpu_latency",
    "fpu_unit_pipelined", "timing_params", "cluster_describe", "cluster_to_toml",
]

PRESETS: tuple[str, ...] = ("snitch_default", "vexp_paper", "paper_baseline")
DEFAULT_PRESET = "vexp_paper"
# FPnew format names, in the order of the config's lat_comp_* fields.
FPU_FORMATS: tuple[str, ...] = ("fp64", "fp32", "fp16", "fp16alt", "fp8", "fp8alt")
OP_GROUPS: tuple[str, ...] = ("addmul", "noncomp", "conv", "sdotp", "exp", "divsqrt", "sqrt")
_GROUP_ALIASES = {"comp": "addmul", "fma": "addmul", "dotp": "sdotp", "div": "divsqrt"}
_SCHEMA_FILE = "cluster_schema.toml"


def _config_text(name: str) -> str:
    return resources.files("vexpsim.arch").joinpath("configs", name).read_text(encoding="utf-8")


SCHEMA: Section = schema_from_dict(tomllib.loads(_config_text(_SCHEMA_FILE)),
                                   origin=f"vexpsim/arch/configs/{_SCHEMA_FILE}")


class _ClusterMethods:
    """Convenience methods of ClusterConfig (the fields themselves come from the schema)."""

    __slots__ = ()

    @property
    def harts(self) -> int:
        """All harts: the compute cores and the DMA core."""
        return self.cores + self.dma_cores  # type: ignore[attr-defined]

    @property
    def dma_hart(self) -> int:
        """Hart id of the DMA core (the last hart)."""
        return self.cores  # type: ignore[attr-defined]

    def to_dict(self) -> dict:
        return thaw(self)

    def fpu_latency(self, op_group: str, fmt: Any = "fp64") -> int:
        return effective_fpu_latency(self, op_group, fmt)


# A frozen, slotted dataclass tree generated from the schema: cfg.fpu.divsqrt.lat_fp32, ...
ClusterConfig: type = freeze_class(SCHEMA, "ClusterConfig", base=_ClusterMethods)


# ---- loading --------------------------------------------------------------------------------
def _strip_cluster(overrides: Iterable[str]) -> list[str]:
    """Accept `cluster.cores=4` as well as `cores=4` (experiment configs nest the cluster
    under [cluster])."""
    return [o.strip()[len("cluster."):] if o.strip().startswith("cluster.") else o.strip()
            for o in overrides]


def _notes(overrides: list[str], prefix: str = "") -> dict[str, str]:
    """Key path (with prefix) -> remark naming the override as the user wrote it."""
    notes = {}
    for text in overrides:
        for path in override_notes(_strip_cluster([text])):
            notes[f"{prefix}.{path}" if prefix else path] = f"set by override {text!r}"
    return notes


def _resolve_preset(data: dict, seen: tuple[str, ...] = ()) -> dict:
    """Merge `data` over the shipped preset it names (recursively). A bad preset value is
    left in place for validate() to report."""
    name = data.get("preset")
    if not isinstance(name, str) or name not in PRESETS:
        return data
    if name in seen:
        raise ValueError(f"preset cycle: {' -> '.join(seen + (name,))}")
    base = read_toml(f"{name}.toml", text=_config_text(f"{name}.toml"),
                     origin=f"vexpsim/arch/configs/{name}.toml")
    base = _resolve_preset(base, seen + (name,))
    top = dict(data)
    if "preset" in base:  # record the nearest preset, not the chain's root
        base = dict(base, preset=name)
    return merge(base, top)


def _check_frep(c: dict) -> Iterable[tuple[str, str]]:
    if c["frep"]["buffer"] != c["fpss"]["fpq_depth"]:
        yield ("frep.buffer", f"must equal fpss.fpq_depth (the sequencer ring buffer is the FP "
               f"queue, snitch_cluster.md §3.1), got {c['frep']['buffer']} and "
               f"{c['fpss']['fpq_depth']}")


def _check_tcdm(c: dict) -> Iterable[tuple[str, str]]:
    t = c["tcdm"]
    row = t["banks"] * t["bank_width"]
    if t["size"] % row:
        yield ("tcdm.size", f"must be a multiple of banks x bank_width = {row} bytes, "
               f"got {t['size']}")
    sb = t["superbank_width"]
    if sb % t["bank_width"] or row % sb:
        yield ("tcdm.superbank_width", f"must be a multiple of bank_width ({t['bank_width']}) "
               f"dividing banks x bank_width ({row}), got {sb}")


def _check_dma(c: dict) -> Iterable[tuple[str, str]]:
    sb, w = c["tcdm"]["superbank_width"], c["dma"]["width"]
    if sb != w:
        yield ("dma.width", f"must equal tcdm.superbank_width (a DMA beat fills one "
               f"superbank, snitch_cluster.md §1), got {w} and {sb}")


def _check_memory_map(c: dict) -> Iterable[tuple[str, str]]:
    a, b = c["tcdm"], c["main_memory"]
    for name, r in (("tcdm", a), ("main_memory", b)):
        if r["base"] + r["size"] > 1 << 32:
            yield (f"{name}.size", f"region {r['base']:#x} + {r['size']:#x} exceeds the 32-bit "
                   f"address space")
    if a["base"] < b["base"] + b["size"] and b["base"] < a["base"] + a["size"]:
        yield ("tcdm.base", f"TCDM [{a['base']:#x}, {a['base'] + a['size']:#x}) overlaps main "
               f"memory [{b['base']:#x}, {b['base'] + b['size']:#x})")


def _check_formats(c: dict) -> Iterable[tuple[str, str]]:
    fmts = c["fpu"]["formats"]
    if not fmts:
        yield ("fpu.formats", "must name at least one format")
    dup = sorted({f for f in fmts if fmts.count(f) > 1})
    if dup:
        yield ("fpu.formats", f"duplicate format(s) {', '.join(dup)}")
    if c["fpu"]["exp"]["enabled"] and "fp16alt" not in fmts:
        yield ("fpu.exp.enabled", "the EXP op group works on BF16: fpu.formats must include "
               "\"fp16alt\"")


# Rules between fields (each run only when the fields it reads are individually valid).
CROSS_CHECKS = (_check_frep, _check_tcdm, _check_dma, _check_memory_map, _check_formats)


def cluster_config_dict(path: str | Path | None = None, *, preset: str | None = DEFAULT_PRESET,
                        overrides: Iterable[str] = (), text: str | None = None) -> dict:
    """The validated effective configuration as a plain dict (every field filled in).

    With `path` (or `text`), the file is the configuration and `preset` is ignored: the file
    names its own starting point with a top-level `preset = "NAME"`. Without, the shipped
    preset `preset` is loaded. `overrides` are `key.path=VALUE` (TOML literal) applied last;
    a leading `cluster.` is accepted. Every problem is reported at once (UserError)."""
    overrides = list(overrides)
    if path is None and text is None:
        if preset not in PRESETS:
            raise UserError(f"unknown preset {preset!r}; shipped presets: {', '.join(PRESETS)}")
        origin = f"vexpsim/arch/configs/{preset}.toml"
        data = read_toml(origin, text=_config_text(f"{preset}.toml"), origin=origin)
    else:
        origin = str(path) if path is not None else "<text>"
        data = read_toml(origin, text=text, origin=origin)
    data = _resolve_preset(apply_overrides(data, _strip_cluster(overrides)))
    return validate(data, SCHEMA, origin=origin, notes=_notes(overrides),
                    checks=CROSS_CHECKS)


def cluster_config_from_data(data: dict, *, origin: str, prefix: str = "cluster",
                             overrides: Iterable[str] = ()) -> ClusterConfig:
    """A ClusterConfig from an already parsed table, e.g. the [cluster] table of an experiment
    config: problems are reported as `origin: cluster.fpu.lat_exp: ...` (`prefix` is the
    table's key path in its file). The table may name a `preset`; overrides are relative to
    the table (a leading `cluster.` is accepted)."""
    overrides = list(overrides)
    if isinstance(data, dict):  # else validate() reports "cluster: expected a table"
        data = _resolve_preset(apply_overrides(data, _strip_cluster(overrides)))
    cfg = validate(data, SCHEMA, origin=origin, prefix=prefix,
                   notes=_notes(overrides, prefix), checks=CROSS_CHECKS)
    return freeze(cfg, SCHEMA, name="ClusterConfig", base=_ClusterMethods)


def load_cluster_config(path: str | Path | None = None, *, preset: str | None = DEFAULT_PRESET,
                        overrides: Iterable[str] = (), text: str | None = None) -> ClusterConfig:
    """Load a cluster configuration as a frozen ClusterConfig (see cluster_config_dict for
    the meaning of the arguments)."""
    cfg = cluster_config_dict(path, preset=preset, overrides=overrides, text=text)
    return freeze(cfg, SCHEMA, name="ClusterConfig", base=_ClusterMethods)


def cluster_describe(cfg: Any) -> dict[str, dict[str, Any]]:
    """Each field's value, default, unit, doc and source (key path -> dict), for reports."""
    return describe(cfg if isinstance(cfg, dict) else thaw(cfg), SCHEMA)


def cluster_to_toml(cfg: Any, *, comments: bool = True) -> str:
    """The effective configuration as TOML (with each field's doc and source as comments);
    loading the text back gives the same configuration."""
    d = cfg if isinstance(cfg, dict) else thaw(cfg)
    head = (f"Effective vexpsim cluster configuration '{d.get('name', '')}'. Each value with "
            f"its source; defaults come from vexpsim/arch/configs/{_SCHEMA_FILE}.")
    return dump_toml(d, SCHEMA, comments=comments, header=head)


# ---- FPU latency rules ----------------------------------------------------------------------
def _fpu_format(fmt: Any) -> str:
    try:
        name = get_format(fmt).name
    except ValueError as exc:
        raise UserError(str(exc)) from None
    return "fp16alt" if name == "bf16" else name


def effective_fpu_latency(cfg: Any, op_group: str, fmt: Any = "fp64") -> int:
    """Cycles from FPSS issue to writeback of an FPU operation of `op_group` on format `fmt`
    (a dependent instruction issues `cfg.fpss.wb_to_issue` cycles later).

    op_group: "addmul" (alias "fma", "comp"), "noncomp", "conv", "sdotp" (alias "dotp"),
    "exp", "divsqrt" (alias "div"; a division) or "sqrt" (a square root). fmt: a format name
    as vexpsim.numerics.formats knows it ("fp32", "bf16"/"fp16alt", "e4m3"/"fp8alt", ...).

    The merged-FMA rule (snitch_cluster.md §3.2): the ADDMUL group of the Snitch FPU is ONE
    MERGED multi-format slice, and "merged slices are bound to have the largest latency of the
    included formats" (cvfpu docs/README.md 'Pipelining'; fpnew_pkg get_num_regs_multi takes
    the maximum). So with `fpu.addmul_unit = "MERGED"` every format takes
    max(lat_comp_<f> for f in fpu.formats): 3 cycles in the default cluster, because FP64 has
    3, even for BF16 whose own setting is 1. With "PARALLEL" each format has its own slice and
    latency. NONCOMP, CONV and DOTP have one latency for every format (lat_noncomp, lat_conv,
    lat_sdotp); EXP is BF16 only (lat_exp); DIVSQRT is per format (divsqrt.lat_<f>, plus
    divsqrt.sqrt_extra for a square root) and not pipelined.

    Raises UserError when the op group or the format is absent from this configuration."""
    group = _GROUP_ALIASES.get(op_group, op_group)
    if group not in OP_GROUPS:
        raise UserError(f"unknown FPU op group {op_group!r}; known: {', '.join(OP_GROUPS)}")
    f = _fpu_format(fmt)
    fpu = cfg.fpu
    if f not in fpu.formats:
        raise UserError(f"fpu.formats: format {f} is not enabled in configuration "
                        f"{cfg.name!r} (enabled: {', '.join(fpu.formats)})")
    if group == "addmul":
        if fpu.addmul_unit == "MERGED":
            return max(getattr(fpu, f"lat_comp_{g}") for g in fpu.formats)
        return getattr(fpu, f"lat_comp_{f}")
    if group in ("noncomp", "conv", "sdotp"):
        return getattr(fpu, f"lat_{group}")
    if group == "exp":
        if not fpu.exp.enabled:
            raise UserError(f"fpu.exp.enabled is false in configuration {cfg.name!r}: there "
                            f"is no EXP op group (use the vexp_paper preset)")
        if f != "fp16alt":
            raise UserError(f"the EXP op group computes BF16 (fp16alt) only, not {f}")
        return fpu.lat_exp
    if not fpu.divsqrt.enabled:
        raise UserError(f"fpu.divsqrt.enabled is false in configuration {cfg.name!r}: "
                        f"division and square root are illegal instructions")
    lat = getattr(fpu.divsqrt, f"lat_{f}")
    return lat + fpu.divsqrt.sqrt_extra if group == "sqrt" else lat


def fpu_unit_pipelined(cfg: Any, op_group: str) -> bool:
    """Whether the op group accepts a new operation every cycle (DIVSQRT never does; EXP as
    configured; the others always: snitch_cluster.md §3.2 'fully pipelined')."""
    group = _GROUP_ALIASES.get(op_group, op_group)
    if group not in OP_GROUPS:
        raise UserError(f"unknown FPU op group {op_group!r}; known: {', '.join(OP_GROUPS)}")
    if group in ("divsqrt", "sqrt"):
        return False
    if group == "exp":
        return bool(cfg.fpu.exp.pipelined)
    return True


def timing_params(cfg: Any, fmt: Any = "bf16") -> Any:
    """The core timing constants of vexpsim.arch.timing for this configuration, with FPU
    latencies for format `fmt` (TimingParams has one latency per op group). Op groups absent
    from the configuration are left out, so using them fails loudly."""
    from .timing import TimingParams

    lat = {g: effective_fpu_latency(cfg, g, fmt) for g in ("addmul", "noncomp", "conv")}
    lat["dotp"] = effective_fpu_latency(cfg, "sdotp", fmt)
    piped = {g: True for g in lat}
    if cfg.fpu.exp.enabled:
        lat["exp"] = cfg.fpu.lat_exp
        piped["exp"] = bool(cfg.fpu.exp.pipelined)
    if cfg.fpu.divsqrt.enabled:
        lat["divsqrt"] = effective_fpu_latency(cfg, "divsqrt", fmt)
        piped["divsqrt"] = False
    return TimingParams(
        lat_offload=cfg.fpss.lat_offload, fpq_depth=cfg.fpss.fpq_depth,
        lat_load_tcdm=cfg.core.lat_load_tcdm, lat_load_main=cfg.core.lat_load_main,
        lat_fp_load_tcdm=cfg.fpss.lat_fp_load_tcdm, lat_fp_load_main=cfg.fpss.lat_fp_load_main,
        lat_mul=cfg.core.lat_mul,
        div_extra=cfg.core.div_extra, lat_f2i_resp=cfg.fpss.lat_f2i_resp,
        ssr_fifo_depth=cfg.ssr.fifo_depth, lat_ssr=cfg.tcdm.latency,
        lat_fpu=lat, pipelined=piped,
    )

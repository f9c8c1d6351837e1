"""`vexpsim config check FILE...` and `vexpsim config show [--preset NAME] [FILE] [--set K=V]`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import UserError
from ..schema import dump_toml, format_value
from .config import (
    DEFAULT_PRESET,
    PRESETS,
    SCHEMA,
    cluster_config_dict,
    cluster_describe,
    cluster_to_toml,
)

_SET_HELP = ("override one field, KEY=VALUE with VALUE a TOML literal (cores=4, "
             "fpu.divsqrt.enabled=false, fpu.addmul_unit=PARALLEL); repeatable; a leading "
             "'cluster.' is accepted")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "config", help="check and show cluster configurations",
        description="Validate cluster configuration files and print effective configurations "
        "(every field with its value, unit and source). Shipped presets: "
        f"{', '.join(PRESETS)}. A file starts from the public default Snitch cluster, or from "
        "a preset named by a top-level `preset = \"NAME\"`.")
    actions = p.add_subparsers(dest="config_action", metavar="ACTION")
    actions.required = True

    c = actions.add_parser(
        "check", help="validate configuration files (exit 1 listing every problem)",
        description="Validate each FILE; print one line per valid file, or every problem of "
        "every file (file, key path, what was expected) and exit with status 1.")
    c.add_argument("files", nargs="+", type=Path, metavar="FILE")
    c.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="KEY=VALUE", help=_SET_HELP)
    c.set_defaults(func=run_check)

    s = actions.add_parser(
        "show", help="print an effective configuration (defaults filled in)",
        description="Print the effective configuration of FILE, or of a shipped preset "
        f"(default {DEFAULT_PRESET}), as commented TOML that loads back to the same "
        "configuration, or as JSON with each field's value, default, unit, doc and source.")
    s.add_argument("file", nargs="?", type=Path, metavar="FILE")
    s.add_argument("--preset", choices=PRESETS, help=f"a shipped preset (default "
                   f"{DEFAULT_PRESET} when no FILE is given)")
    s.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="KEY=VALUE", help=_SET_HELP)
    s.add_argument("--format", choices=("toml", "json", "markdown"), default="toml",
                   help="output format (default toml; markdown: a reference table)")
    s.add_argument("--no-comments", action="store_true", help="TOML without doc/source comments")
    s.add_argument("--changed", action="store_true",
                   help="only the fields that differ from the public default Snitch cluster")
    s.set_defaults(func=run_show)


def run_check(args: argparse.Namespace) -> int:
    problems: list[str] = []
    for path in args.files:
        try:
            cfg = cluster_config_dict(path, overrides=args.overrides)
        except UserError as exc:
            problems.extend(exc.problems)
            continue
        fields = cluster_describe(cfg)
        changed = sum(not f["is_default"] for f in fields.values())
        print(f"{path}: ok ({cfg['name']}: {len(fields)} fields, {changed} differ from the "
              f"public default Snitch cluster)")
    if problems:
        raise UserError(problems)
    return 0


def run_show(args: argparse.Namespace) -> int:
    if args.file is not None and args.preset is not None:
        raise UserError("give either FILE or --preset, not both (a file names its base preset "
                        "with a top-level `preset = \"NAME\"`)")
    cfg = cluster_config_dict(args.file, preset=args.preset or DEFAULT_PRESET,
                              overrides=args.overrides)
    if args.format in ("json", "markdown"):
        fields = cluster_describe(cfg)
        if args.changed:
            fields = {k: v for k, v in fields.items() if not v["is_default"]}
        if args.format == "json":
            json.dump({"name": cfg["name"], "fields": fields}, sys.stdout, indent=2,
                      ensure_ascii=False)
            print()
        else:
            print(_markdown(fields), end="")
        return 0
    if args.changed:
        fields = cluster_describe(cfg)
        sparse: dict = {}
        for path, f in fields.items():
            if f["is_default"]:
                continue
            *parents, leaf = path.split(".")
            node = sparse
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = f["value"]
        # dump_toml writes only the keys present: the changed fields, in schema order
        print(dump_toml(sparse, SCHEMA, comments=not args.no_comments), end="")
        return 0
    print(cluster_to_toml(cfg, comments=not args.no_comments), end="")
    return 0



def _markdown(fields: dict) -> str:
    """A reference table: key, value, default, unit, meaning and source of every field."""
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| key | value | default | unit | meaning | source |",
             "|---|---|---|---|---|---|"]
    for path, f in fields.items():
        value = format_value(f["value"]) if f["value"] is not None else ""
        default = format_value(f["default"]) if f["default"] is not None else ""
        lines.append(f"| `{path}` | {cell(value)} | {cell(default)} | {cell(f['unit'])} | "
                     f"{cell(f['doc'])} | {cell(f['source'])} |")
    return "\n".join(lines) + "\n"

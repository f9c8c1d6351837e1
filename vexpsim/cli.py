"""The `vexpsim` command.

Each subcommand lives in its own module, which defines `register(subparsers)`; the modules
listed in `COMMAND_MODULES` are imported lazily so that `vexpsim --help` stays fast.
User errors (`vexpsim.errors.UserError`) are printed without a traceback, exit status 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .errors import UserError

# One entry per subcommand module; each module's register() adds its parser(s).
COMMAND_MODULES: tuple[str, ...] = (
    "vexpsim.report.exp_accuracy",
    "vexpsim.arch.config_cli",
    "vexpsim.arch.exec_cli",
    "vexpsim.arch.energy_cli",
    "vexpsim.experiments.system_cli",
    "vexpsim.llm.cli",
    "vexpsim.experiments.run_cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vexpsim",
        description="Cycle-approximate simulator of a Snitch RISC-V cluster with the VEXP "
        "BF16 exponential extension.",
    )
    parser.add_argument("--version", action="version", version=f"vexpsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(exc.render(), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""`vexpsim exec PROGRAM.S`: run a program on the ISS and report the final state and timing.

Every hart starts at `_start`; `ecall` ends a hart with exit code a0. `cycles` comes from the
cycle-approximate core model (vexpsim.arch.timed; one clock per hart, no contention between
harts yet); with --no-timing it is the retired-instruction count of the longest hart.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from ..energy.accounting import add_energy  # priced in vexpsim.energy (issue 8)
from ..errors import UserError

__all__ = ["register", "parse_defines"]


def parse_defines(items: list[str] | None) -> dict[str, int]:
    """`-D NAME=VALUE` options (VALUE an integer literal: 256, 0x100, -3); all problems at once."""
    out: dict[str, int] = {}
    problems = []
    for item in items or []:
        name, eq, value = item.partition("=")
        name = name.strip()
        if not re.fullmatch(r"[A-Za-z_.$][A-Za-z0-9_.$]*", name):
            problems.append(f"-D {item}: {name!r} is not a symbol name")
            continue
        if not eq:
            value = "1"  # like GNU --defsym-style flags: -D NAME means NAME=1
        try:
            out[name] = int(value.strip().replace("_", ""), 0)
        except ValueError:
            problems.append(f"-D {item}: value {value!r} is not an integer")
    if problems:
        raise UserError(problems)
    return out


def _run(args: argparse.Namespace) -> int:
    from ..asm import assemble
    from .config import load_cluster_config
    from .functional import (
        StepLimitExceeded,
        format_trace,
        iss_config,
        perfetto_trace,
        run_program,
    )

    path = Path(args.program)
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as e:
        raise UserError(f"{path}: cannot read: {e.strerror}") from None
    defines = parse_defines(args.define)
    cluster = load_cluster_config(args.config) if args.config else load_cluster_config()
    cfg = iss_config(cluster)
    if args.max_cycles < 1:
        raise UserError(f"--max-cycles must be at least 1, got {args.max_cycles}")
    program = assemble(source, filename=str(path), defines=defines, tcdm_base=cfg.tcdm_base,
                       text_base=cfg.main_base, include_dirs=tuple(args.include or ()))
    if args.perfetto and args.no_timing:
        raise UserError("--perfetto needs the timing model; drop --no-timing")
    energy = None
    if not args.no_timing:  # load (and check) the energy table before a long run
        from ..energy.model import load_energy_table

        energy = load_energy_table(args.energy_table)
    trace: list | None = [] if args.trace or args.perfetto else None
    result = None
    try:
        try:
            result = run_program(program, harts=args.harts, max_steps=args.max_cycles,
                                 config=cfg, trace=trace, timing=not args.no_timing)
            status = 0
        except StepLimitExceeded as e:
            result = e.result
            status = 1
            message = e.render()
    finally:
        # also after a run-time error: the trace shows how it came
        if args.trace:
            Path(args.trace).write_text(format_trace(trace), encoding="utf-8")
        if args.perfetto:
            dma = (result.cluster or {}).get("dma_transfers") if result is not None else None
            Path(args.perfetto).write_text(json.dumps(perfetto_trace(trace, dma)) + "\n",
                                           encoding="utf-8")
    data = result.to_json()
    if energy is not None:
        from ..energy.accounting import default_instances
        # the EXP block's static power only when the configuration has the unit
        add_energy(data, energy, default_instances(
            data, frozenset({"exp"} if cluster.fpu.exp.enabled else ())))
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    _print_summary(data)
    if status:
        import sys
        print(message, file=sys.stderr)
    return status


def _print_summary(data: dict) -> None:
    sim = data["sim"]
    timed = any("timing" in h for h in data["harts"])
    what = ("timing model, slowest hart" if timed else
            "retired instructions of the longest hart; --no-timing")
    print(f"cycles {data['cycles']} ({what})")
    print(f"instructions {sim['instructions']}  host {sim['host_seconds']:.3f} s  "
          f"{sim['instructions_per_second'] / 1e6:.2f} M instr/s")
    if "energy_pj" in data:
        print(f"energy {data['energy_pj']:.1f} pJ  average power {data['average_power_mw']:.2f} mW"
              f"  ({data['energy_table']}; {data['energy_note']})")
    for h in data["harts"]:
        ec = "running" if h["exit_code"] is None else h["exit_code"]
        nz = " ".join(f"x{i}={v:#x}" for i, v in enumerate(h["x"]) if v)
        print(f"hart {h['hart']}: exit {ec}, retired {h['retired']}; {nz}")
        t = h.get("timing")
        if t:
            st = " ".join(f"{k}={v}" for k, v in t["stalls"].items() if v) or "none"
            print(f"  cycles {t['cycles']}  IPC {t['ipc']:.2f}  FPU utilisation "
                  f"{t['fpu_utilisation']:.2f}  stalls: {st}")
            for i, g in enumerate(t["regions"]):
                print(f"  region {i}: cycles {g['cycles']}  retired {g['retired']}  "
                      f"IPC {g['ipc']:.2f}  FPU {g['fpu_utilisation']:.2f}")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("exec", help="run an assembly program on the ISS with timing",
                       description=__doc__)
    p.add_argument("program", help="assembly source (.S)")
    p.add_argument("--harts", type=int, default=None,
                   help="number of harts (default: the cluster's, 9)")
    p.add_argument("-D", "--define", action="append", metavar="NAME=VALUE",
                   help="define an assembler symbol (repeatable)")
    p.add_argument("-I", "--include", action="append", metavar="DIR",
                   help="search DIR for .include files (after the program's own directory)")
    p.add_argument("--config", metavar="FILE", help="cluster configuration TOML")
    p.add_argument("--json", metavar="OUT", help="write the final state as JSON")
    p.add_argument("--trace", metavar="OUT",
                   help="write an instruction trace to OUT (issue cycle, hart, pc, word, "
                   "source line, register written; no cycle with --no-timing)")
    p.add_argument("--perfetto", metavar="OUT",
                   help="write a Chrome/Perfetto trace-event JSON (open in ui.perfetto.dev)")
    p.add_argument("--energy-table", default="gf12lp_0p8v", metavar="NAME|FILE",
                   help="energy table: a shipped name or a TOML file (default gf12lp_0p8v)")
    p.add_argument("--no-timing", action="store_true",
                   help="functional simulation only (faster; cycles = retired instructions)")
    p.add_argument("--max-cycles", type=int, default=10**7,
                   help="stop a hart after this many instructions (default 10M)")
    p.set_defaults(func=_run)
    from .bench import register as register_bench
    register_bench(sub)  # `vexpsim bench`: lives with exec, registered by this module

"""Replay one differential test case for debugging.

    python tests/difftest/replay.py SEED [--out DIR]
    python tests/difftest/replay.py --program tests/difftest/programs/muldiv.S [--out DIR]

Writes into DIR (default ./difftest-replay/seed-SEED or .../NAME): prog.S (the program),
prog.elf + prog.qemu.log (GNU as/ld, QEMU's log), qemu.txt and vexpsim.txt (final registers,
one per line: name, hex, signed/float view) and diff.txt; prints the differences and exits 1
when there are any (2 when a tool fails)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import progen  # noqa: E402
import qemu_oracle as qo  # noqa: E402
import vexpsim_side  # noqa: E402


def dump(x: list[int], f: list[int], exit_code: int | None) -> str:
    lines = [f"exit_code {exit_code}"]
    for i in range(32):
        v = x[i] & 0xFFFF_FFFF
        lines.append(f"x{i:<2} {qo.ABI_X[i]:>4} {v:#010x} {qo._s32(v)}")
    for i in range(32):
        lines.append(f"f{i:<2} {qo.ABI_F[i]:>4} {qo._fmt_f(f[i])}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("seed", nargs="?", type=int, help="random program seed (progen.generate)")
    ap.add_argument("--program", type=Path, help="a .S file instead of a seed")
    ap.add_argument("--out", type=Path, help="output directory")
    args = ap.parse_args(argv)
    if (args.seed is None) == (args.program is None):
        ap.error("give either SEED or --program FILE")
    if args.program is not None:
        if not args.program.is_file():
            ap.error(f"{args.program}: no such file")
        source = args.program.read_text()
        out = args.out or Path("difftest-replay") / args.program.stem
    else:
        source = progen.generate(args.seed)
        out = args.out or Path("difftest-replay") / f"seed-{args.seed}"
    out.mkdir(parents=True, exist_ok=True)
    try:
        elf = qo.assemble_and_link(source, out)
        oracle = qo.run_qemu(elf)
    except qo.ToolError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    (out / "qemu.txt").write_text(dump(oracle.x, oracle.f, oracle.exit_code))
    print(f"program: {out / 'prog.S'}\nqemu:    {out / 'qemu.txt'}")
    functional = vexpsim_side.functional_module()
    if functional is None:
        print("vexpsim.arch.functional does not exist yet: no vexpsim side")
        return 0
    filename = str(out / "prog.S")
    try:
        x, f, exit_code = vexpsim_side.run_vexpsim(functional, source, filename)
    except Exception as exc:  # report vexpsim's error like a tool error
        print(f"vexpsim failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    (out / "vexpsim.txt").write_text(dump(x, f, exit_code))
    diffs = qo.compare_states(oracle, x, f, exit_code)
    if exit_code is None:
        diffs.append("exit code: vexpsim's hart did not exit")
    if diffs:
        hints = vexpsim_side.layout_hints(source, elf, filename)
        diffs = ([hints.rstrip()] if hints else []) + diffs
    (out / "diff.txt").write_text("\n".join(diffs) + ("\n" if diffs else ""))
    print(f"vexpsim: {out / 'vexpsim.txt'}")
    print("\n".join(diffs) if diffs else "no differences")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())

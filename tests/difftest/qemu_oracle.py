"""Reference oracle: GNU binutils + QEMU user mode run a RV32IMAFD program and report the final
architectural state (x and f registers) for comparison with vexpsim's functional ISS.

Toolchain (Debian packages `binutils-riscv64-unknown-elf` and `qemu-user`):
  riscv64-unknown-elf-as -march=rv32imafd -mabi=ilp32d -mno-relax
  riscv64-unknown-elf-ld -m elf32lriscv --no-relax -T <LINKER_SCRIPT>
  qemu-riscv32 -singlestep (or -one-insn-per-tb, QEMU >= 8.1) -d cpu,fpu,nochain
               -dfilter <each ecall address>+4 -D <log>

QEMU's `-d cpu` dumps the registers before every translation block; with one instruction per
block and no chaining (`nochain`, else chained blocks skip the dump) that is before every
instruction, and `-dfilter` keeps only the dumps before ecalls, so the last dump is the state
just before the final `li a7, 93; ecall` (Linux exit) executes — the state vexpsim reports
when its hart ends on that `ecall`.

Memory layout (must agree with vexpsim's assembler, else `la`/`auipc` values differ):
`.text` at 0x8000_0000 (design.md memory map), then `.data`, `.rodata`, `.bss`, each starting at
the end of the previous one rounded up to DATA_ALIGN (64) bytes — vexpsim.asm's SECTION_ALIGN
and section order. Linker relaxation is off on both
sides so every pseudo-instruction keeps its full expansion (`call` stays auipc+jalr).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

AS = "riscv64-unknown-elf-as"
LD = "riscv64-unknown-elf-ld"
OBJDUMP = "riscv64-unknown-elf-objdump"
NM = "riscv64-unknown-elf-nm"
QEMU = "qemu-riscv32"
AS_FLAGS = ("-march=rv32imafd", "-mabi=ilp32d", "-mno-relax")
LD_FLAGS = ("-m", "elf32lriscv", "--no-relax")

TEXT_BASE = 0x8000_0000  # main memory base, design.md "The DSL" memory map
DATA_ALIGN = 64  # section start alignment after .text: vexpsim/asm/program.py SECTION_ALIGN
EXIT_SYSCALL = 93  # Linux riscv `exit`; a7 holds it at the final ecall
QEMU_TIMEOUT_S = 20.0

LINKER_SCRIPT = f"""\
ENTRY(_start)
SECTIONS
{{
  . = {TEXT_BASE:#x};
  .text : {{ *(.text .text.*) }}
  . = ALIGN({DATA_ALIGN});
  .data : {{ *(.data .data.* .sdata .sdata.*) }}
  . = ALIGN({DATA_ALIGN});
  .rodata : {{ *(.rodata .rodata.* .srodata .srodata.*) }}
  . = ALIGN({DATA_ALIGN});
  .bss : {{ *(.sbss .sbss.* .bss .bss.* COMMON) }}
  /DISCARD/ : {{ *(.riscv.attributes) *(.comment) }}
}}
"""

ABI_X = (
    "zero ra sp gp tp t0 t1 t2 s0 s1 a0 a1 a2 a3 a4 a5 a6 a7 "
    "s2 s3 s4 s5 s6 s7 s8 s9 s10 s11 t3 t4 t5 t6"
).split()
ABI_F = (
    "ft0 ft1 ft2 ft3 ft4 ft5 ft6 ft7 fs0 fs1 fa0 fa1 fa2 fa3 fa4 fa5 fa6 fa7 "
    "fs2 fs3 fs4 fs5 fs6 fs7 fs8 fs9 fs10 fs11 ft8 ft9 ft10 ft11"
).split()


class ToolError(RuntimeError):
    """An external tool (as, ld, qemu) failed; the message carries its command and stderr."""


@dataclass(frozen=True)
class OracleState:
    """Final architectural state of hart 0 as QEMU reports it."""

    x: list[int]  # 32 unsigned 32-bit values, x[0] == 0
    f: list[int]  # 32 unsigned 64-bit values (narrow values NaN-boxed as QEMU holds them)
    exit_code: int  # process exit status (a0 & 0xff)
    fcsr: int | None  # None when this QEMU version does not dump fcsr (7.2 user mode does not)
    pc: int  # address of the final ecall


def have_toolchain() -> bool:
    """True when GNU as/ld for RISC-V and qemu-riscv32 are on PATH."""
    return all(shutil.which(tool) for tool in (AS, LD, QEMU))


def missing_tools() -> list[str]:
    return [tool for tool in (AS, LD, QEMU) if shutil.which(tool) is None]


def _run(cmd: list[str], *, timeout: float = 60.0, extra_env: dict[str, str] | None = None):
    env = _clean_env() | (extra_env or {})
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except FileNotFoundError as exc:
        raise ToolError(f"{cmd[0]} not found on PATH ({exc})") from None
    except subprocess.TimeoutExpired:
        raise ToolError(f"{' '.join(cmd)} timed out after {timeout:g} s") from None
    return proc


def _clean_env() -> dict[str, str]:
    # QEMU_* variables (QEMU_LOG, QEMU_CPU, ...) would change what qemu does and logs.
    return {k: v for k, v in os.environ.items() if not k.startswith("QEMU_")}


def assemble_and_link(source: str, workdir: Path | str, name: str = "prog") -> Path:
    """Assemble `source` with GNU as (RV32IMAFD, ilp32d) and link it with LINKER_SCRIPT.

    Writes NAME.S, NAME.o, NAME.elf (and link.ld) in `workdir`; returns the ELF path.
    Raises ToolError with the tool's stderr (file:line messages refer to NAME.S)."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    src = workdir / f"{name}.S"
    obj = workdir / f"{name}.o"
    elf = workdir / f"{name}.elf"
    script = workdir / "link.ld"
    src.write_text(source)
    if not script.exists() or script.read_text() != LINKER_SCRIPT:
        script.write_text(LINKER_SCRIPT)
    proc = _run([AS, *AS_FLAGS, "-o", str(obj), str(src)])
    if proc.returncode != 0:
        raise ToolError(f"{AS} failed on {src}:\n{proc.stderr.strip()}")
    proc = _run([LD, *LD_FLAGS, *_ld_quiet_flags(), "-T", str(script), "-o", str(elf), str(obj)])
    if proc.returncode != 0:
        raise ToolError(f"{LD} failed on {obj}:\n{proc.stderr.strip()}")
    return elf


@functools.cache
def _ld_quiet_flags() -> tuple[str, ...]:
    # One RWX LOAD segment is intended here; binutils >= 2.39 warns about it unless told not to.
    proc = _run([LD, "--help"])
    return ("--no-warn-rwx-segments",) if "--no-warn-rwx-segments" in proc.stdout else ()


@functools.cache
def _single_step_flag() -> str:
    # QEMU 8.1 renamed -singlestep to -one-insn-per-tb (and later dropped the old name).
    proc = _run([QEMU, "-h"])
    return "-one-insn-per-tb" if "-one-insn-per-tb" in proc.stdout else "-singlestep"


_PC_RE = re.compile(r"^\s*pc\s+([0-9a-fA-F]+)\s*$", re.MULTILINE)
_X_RE = re.compile(r"\bx(\d+)/\w+\s+([0-9a-fA-F]+)")
_F_RE = re.compile(r"\bf(\d+)/\w+\s+([0-9a-fA-F]+)")
_FCSR_RE = re.compile(r"\bfcsr\s+([0-9a-fA-F]+)")


def parse_last_dump(log: str) -> tuple[int, list[int], list[int], int | None]:
    """(pc, x, f, fcsr) of the last register dump in a QEMU `-d cpu,fpu` log."""
    starts = [m.start() for m in _PC_RE.finditer(log)]
    if not starts:
        raise ToolError("QEMU log has no register dump (was -d cpu,fpu honoured?)")
    block = log[starts[-1] :]
    pc = int(_PC_RE.search(block).group(1), 16)  # type: ignore[union-attr]
    x: list[int | None] = [None] * 32
    f: list[int | None] = [None] * 32
    for idx, val in _X_RE.findall(block):
        x[int(idx)] = int(val, 16)
    for idx, val in _F_RE.findall(block):
        f[int(idx)] = int(val, 16)
    if None in x or None in f:
        missing = [f"x{i}" for i, v in enumerate(x) if v is None]
        missing += [f"f{i}" for i, v in enumerate(f) if v is None]
        raise ToolError(f"QEMU register dump is incomplete, missing {', '.join(missing)}")
    fm = _FCSR_RE.search(block)
    return pc, x, f, (int(fm.group(1), 16) if fm else None)  # type: ignore[return-value]


def run_qemu(
    elf: Path | str,
    *,
    timeout: float = QEMU_TIMEOUT_S,
    extra_env: dict[str, str] | None = None,
) -> OracleState:
    """Run `elf` under qemu-riscv32 one instruction per block and return the final state.

    The program must end with `li a7, 93; ecall`. Raises ToolError when QEMU fails, the
    program dies on a signal (illegal instruction, bad access) or does not exit via a7 = 93.
    `extra_env` adds variables to the guest environment (this moves QEMU's initial sp)."""
    elf = Path(elf)
    log = elf.with_suffix(".qemu.log")
    log.unlink(missing_ok=True)
    ecalls = ecall_addresses(elf)
    if not ecalls:
        raise ToolError(f"{elf} has no ecall: end programs with `li a7, 93; ecall`")
    # Dump only before ecalls: small logs, and a runaway program cannot fill the disk.
    dfilter = ",".join(f"{a:#x}+4" for a in ecalls)
    cmd = [QEMU, _single_step_flag(), "-d", "cpu,fpu,nochain", "-dfilter", dfilter]
    cmd += ["-D", str(log), str(elf)]
    proc = _run(cmd, timeout=timeout, extra_env=extra_env)
    stderr = proc.stderr.strip()
    if proc.returncode < 0 or "uncaught target signal" in stderr:
        raise ToolError(
            f"{QEMU} on {elf} ended abnormally (status {proc.returncode}):\n{stderr}"
        )
    if not log.exists():
        raise ToolError(f"{QEMU} wrote no log for {elf}:\n{stderr}")
    pc, x, f, fcsr = parse_last_dump(log.read_text())
    if x[17] != EXIT_SYSCALL:
        raise ToolError(
            f"{elf}: the last instruction executed (pc {pc:#x}) is not the exit ecall "
            f"(a7 = {x[17]:#x}, expected {EXIT_SYSCALL}); end programs with `li a7, 93; ecall`"
        )
    return OracleState(x=x, f=f, exit_code=proc.returncode, fcsr=fcsr, pc=pc)


def ecall_addresses(elf: Path | str) -> list[int]:
    """Addresses of the ecall instructions in .text."""
    return [addr for addr, mnem, _ in disassemble(elf) if mnem == "ecall"]


def run_source(source: str, workdir: Path | str, name: str = "prog") -> OracleState:
    """assemble_and_link + run_qemu."""
    return run_qemu(assemble_and_link(source, workdir, name))


def symbols(elf: Path | str) -> dict[str, int]:
    """Symbol name -> address of an ELF (via nm), for layout cross-checks."""
    proc = _run([NM, "-n", str(elf)])
    if proc.returncode != 0:
        raise ToolError(f"{NM} failed on {elf}:\n{proc.stderr.strip()}")
    out: dict[str, int] = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3:
            out[parts[2]] = int(parts[0], 16)
    return out


def text_instruction_count(elf: Path | str) -> int:
    """Number of 32-bit instructions in .text (no compressed instructions in rv32imafd)."""
    proc = _run([OBJDUMP, "-h", str(elf)])
    if proc.returncode != 0:
        raise ToolError(f"{OBJDUMP} failed on {elf}:\n{proc.stderr.strip()}")
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] == ".text":
            return int(parts[2], 16) // 4
    return 0


# --- comparison -----------------------------------------------------------------------------

RV32IMAFD_MNEMONICS = frozenset(
    """
    lui auipc jal jalr beq bne blt bge bltu bgeu lb lh lw lbu lhu sb sh sw
    addi slti sltiu xori ori andi slli srli srai add sub sll slt sltu xor srl sra or and
    fence ecall csrrw csrrs csrrc csrrwi csrrsi csrrci
    mul mulh mulhsu mulhu div divu rem remu
    flw fsw fmadd.s fmsub.s fnmsub.s fnmadd.s fadd.s fsub.s fmul.s fdiv.s fsqrt.s
    fsgnj.s fsgnjn.s fsgnjx.s fmin.s fmax.s fcvt.w.s fcvt.wu.s fmv.x.w feq.s flt.s fle.s
    fclass.s fcvt.s.w fcvt.s.wu fmv.w.x
    fld fsd fmadd.d fmsub.d fnmsub.d fnmadd.d fadd.d fsub.d fmul.d fdiv.d fsqrt.d
    fsgnj.d fsgnjn.d fsgnjx.d fmin.d fmax.d fcvt.s.d fcvt.d.s feq.d flt.d fle.d fclass.d
    fcvt.w.d fcvt.wu.d fcvt.d.w fcvt.d.wu
    """.split()
)  # RV32IMAFD + Zicsr as the unprivileged spec lists them (ebreak, fence.i left out)


def disassemble(elf: Path | str) -> list[tuple[int, str, str]]:
    """(address, mnemonic, text) of every .text instruction, real mnemonics (no aliases)."""
    proc = _run([OBJDUMP, "-d", "-M", "no-aliases", "-j", ".text", str(elf)])
    if proc.returncode != 0:
        raise ToolError(f"{OBJDUMP} failed on {elf}:\n{proc.stderr.strip()}")
    out = []
    for line in proc.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and parts[0].strip().endswith(":"):
            text = " ".join(p.strip() for p in parts[2:]).split("#")[0].strip()
            out.append((int(parts[0].strip()[:-1], 16), parts[2].split()[0], text))
    return out


def used_mnemonics(elf: Path | str) -> set[str]:
    """Real (not pseudo) mnemonics in the .text of an ELF."""
    return {mnem for _, mnem, _ in disassemble(elf)}


def _fmt_f(bits: int) -> str:
    as_d = struct.unpack("<d", struct.pack("<Q", bits))[0]
    text = f"{bits:#018x} (d {as_d!r}"
    if bits >> 32 == 0xFFFF_FFFF:
        as_s = struct.unpack("<f", struct.pack("<I", bits & 0xFFFF_FFFF))[0]
        text += f", boxed s {as_s!r}"
    return text + ")"


def compare_states(
    oracle: OracleState, x: list[int], f: list[int], exit_code: int | None = None
) -> list[str]:
    """One readable line per differing register (and the exit code), empty when equal.
    `x`/`f` are the other side's registers (32 unsigned ints each)."""
    lines: list[str] = []
    for i in range(32):
        a, b = oracle.x[i], x[i] & 0xFFFF_FFFF
        if a != b:
            lines.append(
                f"x{i:<2} ({ABI_X[i]:>4}): qemu {a:#010x} ({_s32(a)})"
                f"  vexpsim {b:#010x} ({_s32(b)})"
            )
    for i in range(32):
        a, b = oracle.f[i], f[i] & 0xFFFF_FFFF_FFFF_FFFF
        if a != b:
            lines.append(f"f{i:<2} ({ABI_F[i]:>4}): qemu {_fmt_f(a)}  vexpsim {_fmt_f(b)}")
    if exit_code is not None and (exit_code & 0xFF) != oracle.exit_code:
        lines.append(f"exit code: qemu {oracle.exit_code}  vexpsim {exit_code} (& 0xff)")
    return lines


def _s32(v: int) -> int:
    return v - (1 << 32) if v & 0x8000_0000 else v

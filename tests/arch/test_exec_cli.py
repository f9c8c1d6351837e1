"""`vexpsim exec`: options, JSON output, exit statuses, one-line errors."""

from __future__ import annotations

import json

import pytest

from vexpsim import cli

PROG = """
    .text
_start:
    csrr a0, mhartid
    li t0, N
    add a0, a0, t0
    ecall
"""


def write(tmp_path, text, name="p.S"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_exec_default_harts_defines_and_json(tmp_path, capsys):
    out = tmp_path / "o.json"
    rc = cli.main(["exec", write(tmp_path, PROG), "-D", "N=0x10", "--json", str(out)])
    assert rc == 0
    data = json.loads(out.read_text())
    assert len(data["harts"]) == 9  # the cluster's harts: 8 compute + 1 DMA core
    assert [h["exit_code"] for h in data["harts"]] == [16 + i for i in range(9)]
    assert data["cycles"] == 4 and data["sim"]["instructions"] == 36
    h = data["harts"][3]
    assert set(h) >= {"hart", "exit_code", "retired", "x", "f"}
    assert len(h["x"]) == 32 and len(h["f"]) == 32 and h["x"][10] == 19
    assert "cycles 4" in capsys.readouterr().out


def test_exec_harts_option_and_config_file(tmp_path):
    cfg = write(tmp_path, 'preset = "snitch_default"\ncores = 3\n', "c.toml")
    out = tmp_path / "o.json"
    assert cli.main(["exec", write(tmp_path, PROG), "-D", "N=1", "--config", cfg,
                     "--json", str(out)]) == 0
    assert len(json.loads(out.read_text())["harts"]) == 4
    assert cli.main(["exec", write(tmp_path, PROG), "-D", "N=1", "--harts", "2",
                     "--json", str(out)]) == 0
    assert len(json.loads(out.read_text())["harts"]) == 2


def test_exec_config_without_divsqrt_makes_fdiv_illegal(tmp_path, capsys):
    cfg = write(tmp_path, 'preset = "snitch_default"\n', "c.toml")
    prog = write(tmp_path, "_start:\n fdiv.d fa0, fa1, fa2\n ecall\n")
    assert cli.main(["exec", prog, "--config", cfg, "--harts", "1"]) == 1
    err = capsys.readouterr().err
    assert "p.S:2:2" in err and "no DIVSQRT unit" in err and "Traceback" not in err


def test_exec_never_ending_program_stops_at_max_cycles(tmp_path, capsys):
    out = tmp_path / "o.json"
    rc = cli.main(["exec", write(tmp_path, "_start:\n j _start\n"), "--harts", "1",
                   "--max-cycles", "50", "--json", str(out)])
    assert rc == 1
    assert "did not end within 50 instructions" in capsys.readouterr().err
    data = json.loads(out.read_text())
    assert data["harts"][0]["exit_code"] is None and data["harts"][0]["retired"] == 50


@pytest.mark.parametrize("line,msg", [
    ("  addi a0, a0, (1", "p.S:2:18: missing ')'"),              # syntax error
    ("  fmul.q a0, a0, a0", "p.S:2:3: unknown mnemonic 'fmul.q'"),  # unknown mnemonic
    ("  sub a0, a1, 5", "p.S:2:15: expected an integer register, got '5'"),  # wrong operand
    ("  addi a0, a0, 4096", "p.S:2:16: immediate 4096 out of range"),  # out-of-range imm
])
def test_exec_source_errors_are_one_line_with_source(tmp_path, capsys, line, msg):
    rc = cli.main(["exec", write(tmp_path, f"_start:\n{line}\n  ecall\n")])
    assert rc == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("error: ") and msg in err[0]
    assert err[1].strip() == line.strip() and err[2].strip() == "^"


@pytest.mark.parametrize("args,msg", [
    (["-D", "1N=3"], "not a symbol name"),
    (["-D", "N=abc"], "is not an integer"),
    (["--max-cycles", "0"], "--max-cycles must be at least 1"),
    (["--harts", "0"], "--harts must be at least 1"),
])
def test_exec_bad_options(tmp_path, capsys, args, msg):
    assert cli.main(["exec", write(tmp_path, PROG), "-D", "N=1", *args]) == 1
    assert msg in capsys.readouterr().err


def test_exec_missing_file(tmp_path, capsys):
    assert cli.main(["exec", str(tmp_path / "nope.S")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_exec_trace_lists_every_executed_instruction(tmp_path):
    prog = write(tmp_path, "_start:\n li t0, 2\n1: addi t0, t0, -1\n bnez t0, 1b\n ecall\n")
    tr = tmp_path / "t.txt"
    assert cli.main(["exec", prog, "--harts", "2", "--trace", str(tr)]) == 0
    lines = tr.read_text().splitlines()
    assert len(lines) == 2 * 6
    first = lines[0].split()
    # issue cycle, hart, pc, word, source, register written
    assert first[:5] == ["0", "0", "0x80000000", "00200293", "li"]  # addi t0, zero, 2
    assert first[7] == "x5=0x00000002"
    assert lines[6].split()[:3] == ["0", "1", "0x80000000"]  # grouped by hart
    assert [int(ln.split()[0]) for ln in lines[:6]] == list(range(6))  # 1 per cycle
    assert [int(ln.split()[0]) for ln in lines[6:]] == list(range(6))
    assert "ecall" in lines[-1] and lines[-1].endswith("# " + prog + ":5:2")


def test_exec_trace_is_written_on_runtime_error(tmp_path):
    prog = write(tmp_path, "_start:\n li a0, 4\n lw a0, 0(zero)\n ecall\n")
    tr = tmp_path / "t.txt"
    assert cli.main(["exec", prog, "--harts", "1", "--trace", str(tr)]) == 1
    assert len(tr.read_text().splitlines()) == 2


def test_exec_include_dir_option(tmp_path):
    inc = tmp_path / "inc"
    inc.mkdir()
    (inc / "n.S").write_text(".equ N, 7\n")
    prog = write(tmp_path, '.include "n.S"\n' + PROG)
    out = tmp_path / "o.json"
    assert cli.main(["exec", prog, "-I", str(inc), "--harts", "1", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["harts"][0]["exit_code"] == 7


def test_exec_energy_is_events_times_table(tmp_path):
    # hand-countable: 6 ALU instructions (li x4, mv... are addi), 4 vfexp.ah, the ecall;
    # energy = sum(count x pJ) from the table + one L0 fetch per issued instruction + static
    # power of the 1-hart cluster x time (vexpsim/energy/accounting.py)
    from vexpsim.energy.model import Instances, load_energy_table

    prog = """_start:
    li a0, 1
    li a1, 2
    li a2, 3
    li a3, 4
    addi a0, a0, 1
    addi a1, a1, 1
    vfexp.ah ft3, ft4
    vfexp.ah ft5, ft6
    vfexp.ah ft7, ft8
    vfexp.ah ft9, ft10
    li a0, 0
    ecall
"""
    out = tmp_path / "o.json"
    assert cli.main(["exec", write(tmp_path, prog), "--harts", "1", "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    t = d["harts"][0]["timing"]
    m = load_energy_table()
    ev = t["events"]
    assert ev["fpu_exp_bf16x4"] == 4
    dyn = sum(n * m.events[k].pj for k, n in ev.items()) + 12 * m.events["l0_fetch"].pj
    from vexpsim.energy.accounting import CLUSTER_EVENTS
    cl = sum(n * m.events[e].pj for k, n in d["cluster_events"].items()
             for e in CLUSTER_EVENTS[k])
    static_mw = sum(m.static_power_mw(Instances(compute_cores=1, dma_cores=0)).values())
    assert t["energy"]["energy_pj"] == pytest.approx(dyn)
    assert d["energy_pj"] == pytest.approx(dyn + cl + static_mw * d["cycles"])  # 1 GHz: mW=pJ/cyc
    assert t["energy"]["energy_by_event_pj"]["fpu_exp_bf16x4"] == pytest.approx(4 * 7.8)
    assert d["energy_by_event_pj"]["fpu_exp_bf16x4"] == pytest.approx(4 * 7.8)
    assert d["average_power_mw"] == pytest.approx(d["energy_pj"] / d["cycles"])
    assert "no cluster_events" not in d["energy_note"]


def test_exec_bad_energy_table(tmp_path, capsys):
    rc = cli.main(["exec", write(tmp_path, PROG), "-D", "N=1", "--energy-table", "tsmc3"])
    assert rc == 1
    assert "unknown energy table" in capsys.readouterr().err


def test_exec_charges_the_exp_blocks_static_power_only_when_configured(tmp_path):
    import json
    prog = write(tmp_path, "_start:\n li a0, 0\n ecall\n")
    out = {}
    for preset in ("snitch_default", "vexp_paper"):
        cfg = tmp_path / f"{preset}.toml"
        cfg.write_text(f'preset = "{preset}"\n')
        js = tmp_path / f"{preset}.json"
        assert cli.main(["exec", prog, "--config", str(cfg), "--json", str(js)]) == 0
        out[preset] = json.loads(js.read_text())
    assert out["snitch_default"]["energy_instances"]["features"] == []
    assert out["vexp_paper"]["energy_instances"]["features"] == ["exp"]
    assert "leakage.exp" not in out["snitch_default"]["energy_by_event_pj"]
    assert out["vexp_paper"]["energy_pj"] > out["snitch_default"]["energy_pj"]

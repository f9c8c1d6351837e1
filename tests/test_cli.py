import json

import pytest

from vexpsim import __version__
from vexpsim.cli import main


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_exp_accuracy_writes_json_and_plot(tmp_path, capsys):
    j, p = tmp_path / "acc.json", tmp_path / "acc.png"
    assert main(["exp-accuracy", "--variant", "vexp", "--json", str(j), "--plot", str(p)]) == 0
    data = json.loads(j.read_text())
    soft = data["variants"][0]["domains"]["softmax"]
    assert data["variants"][0]["variant"] == "vexp"
    assert soft["max_rel_error"] < 0.012
    assert p.stat().st_size > 10_000 and p.read_bytes()[:4] == b"\x89PNG"
    assert "softmax" in capsys.readouterr().out


def test_output_directories_are_created(tmp_path):
    target = tmp_path / "new" / "dir" / "acc.json"
    assert main(["exp-accuracy", "--variant", "vexp", "--json", str(target)]) == 0
    assert target.exists()


def test_user_error_has_no_traceback(tmp_path, capsys):
    assert main(["exp-accuracy", "--variant", "vexp", "--json", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "is a directory" in err and "Traceback" not in err

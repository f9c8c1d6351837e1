"""The example in docs/dsl.md runs and does what the text says."""

from __future__ import annotations

import re
from pathlib import Path

from vexpsim.arch.functional import iss_config, run_source

DOC = Path(__file__).parents[2] / "docs" / "dsl.md"


def test_doc_example_runs():
    text = DOC.read_text()
    src = re.search(r"```asm\n(.*?)```", text, re.S).group(1)
    r = run_source(src, harts=9, config=iss_config())
    assert r.harts[0].exit_code == 16
    assert all(h.exit_code == 0 for h in r.harts[1:])
    assert f"cycles {r.cycles} " in text and f"retired {r.harts[0].retired};" in text

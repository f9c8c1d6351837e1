"""The README's examples run and say what the README says."""

import re
from pathlib import Path

import ml_dtypes
import numpy as np

from vexpsim.arch.functional import run_source
from vexpsim.numerics.exp import vexp_bf16

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_readme_asm_example_computes_vexp():
    src = re.search(r"```asm\n(.*?)```", README, re.S).group(1)
    res = run_source(src, filename="README.md")
    h = res.harts[0]
    assert h.exit_code == 0
    x = np.array([0, -1, -10, 1], dtype=ml_dtypes.bfloat16)
    lanes = [(h.f[3] >> (16 * i)) & 0xFFFF for i in range(4)]
    assert lanes == vexp_bf16(x).view(np.uint16).tolist()


def test_readme_python_example():
    x = np.array([0, -1, -10], dtype=ml_dtypes.bfloat16)
    printed = str(vexp_bf16(x))
    assert printed in README

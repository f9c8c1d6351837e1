"""Fixtures for the LLM tests: the real SmolLM2 model, loaded once per session.

Tests that need the model or the optional packages skip when they are absent locally, but
fail under CI (CI=true), so that CI really runs them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from llm_support import require

from vexpsim.errors import UserError

TESTS_DIR = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(str(item.fspath)).parent == TESTS_DIR:
            item.add_marker(pytest.mark.llm)


@pytest.fixture(scope="session")
def model():
    from vexpsim.llm.loader import load_model

    try:
        return load_model()
    except UserError as exc:
        require("SmolLM2 model or gguf", exc)


@pytest.fixture(scope="session")
def lm(model):
    from vexpsim.llm.model import Llama

    return Llama(model)


@pytest.fixture(scope="session")
def tok(model):
    from vexpsim.llm.tokenizer import BPETokenizer

    return BPETokenizer(model.tokenizer)


@pytest.fixture(scope="session")
def gpl3_ids(tok):
    from vexpsim.llm.accuracy import read_text

    try:
        _, text = read_text(None)
    except UserError as exc:
        require("the GPL-3 text of Debian's base-files", exc)
    return tok.encode(text)

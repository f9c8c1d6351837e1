"""The byte-level BPE tokenizer: pinned ids, round trips, and agreement with `tokenizers`."""

import pytest

from vexpsim.llm.tokenizer import bytes_to_unicode, chat_prompt, pretokenize

# Ids established with this tokenizer and cross-checked against the `tokenizers` package
# configured as SmolLM2's tokenizer.json (below); the chat prompt's greedy answer in
# test_llm_model.py confirms the ids mean what they should.
PINNED = {
    "Hello, world!": [19556, 28, 905, 17],
    "The capital of France is": [504, 3575, 282, 4649, 314],
    "It's 2024, x=3.14": [1589, 506, 216, 34, 32, 34, 36, 28, 1792, 45, 35, 30, 33, 36],
}
SAMPLES = [
    "Hello world! It's 2024, x=3.14 café  naïve\n\n  end",
    "日本語のテキスト ½ ² Ⅻ",
    "   leading\t\ttabs \r\n",
    "emoji 🤖🚀 and don't we'll I'M",
]


def test_pretokenizer_isolates_digits_and_follows_gpt2_rules():
    assert pretokenize("It's 2024,  ok\n\n x") == [
        "It", "'s", " ", "2", "0", "2", "4", ",", " ", " ok", "\n\n", " x"]


def test_byte_alphabet_is_a_bijection_on_printable_characters():
    m = bytes_to_unicode()
    assert sorted(m) == list(range(256)) and len(set(m.values())) == 256
    assert m[ord("A")] == "A" and m[ord(" ")] == "Ġ" and m[ord("\n")] == "Ċ"


@pytest.mark.parametrize("text", sorted(PINNED))
def test_pinned_ids(tok, text):
    assert tok.encode(text) == PINNED[text]
    assert tok.decode(PINNED[text]) == text


def test_special_tokens_only_when_asked(tok):
    ids = tok.encode("<|im_start|>user\nhi<|im_end|>", special=True)
    assert ids[0] == 1 and ids[-1] == 2 and tok.bos_id == 1 and tok.eos_id == 2
    plain = tok.encode("<|im_start|>")
    assert 1 not in plain and tok.decode(plain) == "<|im_start|>"
    assert tok.decode(tok.encode(chat_prompt("hi"), special=True)) == chat_prompt("hi")


@pytest.mark.parametrize("text", SAMPLES)
def test_round_trip(tok, text):
    assert tok.decode(tok.encode(text)) == text


def test_matches_huggingface_tokenizers(tok, gpl3_ids, model):
    try:
        from tokenizers import Tokenizer, models, pre_tokenizers
    except ImportError as exc:
        from llm_support import require
        require("the tokenizers package", exc)
    data = model.tokenizer
    hf = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(data.tokens)},
                              merges=[tuple(m.split(" ", 1)) for m in data.merges]))
    # SmolLM2's tokenizer.json: Digits(individual) then ByteLevel(no prefix space, regex)
    hf.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    from vexpsim.llm.accuracy import read_text
    assert hf.encode(read_text(None)[1]).ids == gpl3_ids
    for text in [*SAMPLES, *PINNED]:
        assert hf.encode(text).ids == tok.encode(text), text

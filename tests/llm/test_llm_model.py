"""The NumPy Llama forward pass on the real SmolLM2-135M-Instruct weights."""

import numpy as np

from vexpsim.llm.model import apply_rope, rms_norm, rope_tables
from vexpsim.llm.softmax import make_attention
from vexpsim.llm.tokenizer import chat_prompt

PROMPT = [504, 3575, 282, 4649, 314]  # "The capital of France is"
# Established with this implementation (float32, reference softmax); the top token being
# " Paris" and the chat answer below are the independent sanity check.
TOP5 = [7042, 260, 4528, 2250, 1315]  # " Paris", " the", " London", " Le", " New"
TOP5_LOGITS = [17.371265, 14.888604, 13.244987, 13.009472, 12.951524]
FIRST_LOGITS = [[15.655308, 6.824537, 10.591284, 5.109510],
                [8.750686, -4.300524, -1.370192, -3.660326]]
# Greedy answer to "What is the capital of France?": "The capital of France is Paris."
ANSWER = [504, 3575, 282, 4649, 314, 7042, 30, 2]


def test_config_from_metadata(model):
    c = model.config
    assert (c.n_layer, c.d_model, c.n_head, c.n_kv_head, c.head_dim, c.d_ff) == \
        (30, 576, 9, 3, 64, 1536)
    assert c.vocab_size == 49152 and c.rope_base == 100000.0
    assert all(w.dtype == np.float32 for w in model.weights.values())
    assert "output.weight" not in model.weights  # tied head


def test_rope_rotates_adjacent_pairs_like_complex_multiplication(model):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 7, 64)).astype(np.float32)
    cos, sin = rope_tables(model.config, np.arange(3, 10))
    z = (x[..., 0::2] + 1j * x[..., 1::2]) * (cos + 1j * sin)
    y = apply_rope(x, cos, sin)
    np.testing.assert_allclose(y[..., 0::2], z.real, atol=1e-5)
    np.testing.assert_allclose(y[..., 1::2], z.imag, atol=1e-5)
    theta = 100000.0 ** (-2 * np.arange(32) / 64)
    np.testing.assert_allclose(np.arccos(np.clip(cos[1], -1, 1)),
                               np.arccos(np.cos(4 * theta)), atol=1e-3)


def test_rms_norm():
    x = np.array([[3.0, 4.0]], dtype=np.float32)
    np.testing.assert_allclose(rms_norm(x, np.array([1.0, 2.0], np.float32), 0.0),
                               [[3 / np.sqrt(12.5), 8 / np.sqrt(12.5)]], rtol=1e-6)


def test_pinned_logits(lm):
    logits = lm.forward(PROMPT, make_attention("reference"))
    assert logits.shape == (5, 49152)
    top = np.argsort(-logits[-1])[:5]
    assert top.tolist() == TOP5
    np.testing.assert_allclose(logits[-1][top], TOP5_LOGITS, atol=2e-3)
    np.testing.assert_allclose(logits[:2, :4], FIRST_LOGITS, atol=2e-3)
    tail = lm.forward(PROMPT, make_attention("reference"), logits_from=3)
    np.testing.assert_allclose(tail, logits[3:], atol=1e-4)


def test_attention_is_relative_in_position(lm):
    ref = make_attention("reference")
    a = lm.forward(PROMPT, ref)
    b = lm.forward(PROMPT, ref, start_pos=1000)
    assert np.max(np.abs(a - b)) < 1e-2 * np.max(np.abs(a))


def test_greedy_chat_completion(lm, tok):
    prompt = tok.encode(chat_prompt("What is the capital of France?"), special=True)
    out = lm.generate(prompt, 10, make_attention("reference"), stop=tok.eos_id)
    assert out == ANSWER
    assert tok.decode(out) == "The capital of France is Paris.<|im_end|>"


def _mean_kl(lm, variant):
    from vexpsim.llm.accuracy import log_softmax

    ref = log_softmax(lm.forward(PROMPT, make_attention("reference")))
    got = log_softmax(lm.forward(PROMPT, make_attention(variant)))
    assert int(np.argmax(got[-1])) == TOP5[0]
    return float(np.mean(np.sum(np.exp(ref) * (ref - got), axis=-1)))


def test_vexp_is_closer_to_the_reference_than_uncorrected_schraudolph(lm):
    kl = {v: _mean_kl(lm, v) for v in ("vexp", "schraudolph")}
    assert 0 < kl["vexp"] < kl["schraudolph"] < 0.05, kl

"""The model's byte-level BPE tokenizer (GPT-2 style), from the GGUF vocabulary and merges.

Pre-tokenisation for SmolLM2 (GGUF `tokenizer.ggml.pre = "smollm"`, as in its HF
tokenizer.json): every numeric character is its own piece, then the GPT-2 regex
`'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+`
splits the rest. Python's `re` has no \\p{..}, so the letter and number classes are built
once from `unicodedata` (categories L* and N*). Each piece's UTF-8 bytes are mapped to the
GPT-2 byte alphabet and merged by rank. Tests cross-check against the `tokenizers` package.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata

from .loader import TokenizerData

SUPPORTED_PRE = ("smollm",)
CONTROL = 3  # llama.cpp token type of special tokens such as <|im_start|>
USER_DEFINED = 4


@functools.lru_cache(maxsize=1)
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from bytes to printable characters."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
            *range(ord("®"), ord("ÿ") + 1)]
    out = {b: chr(b) for b in keep}
    n = 0
    for b in range(256):
        if b not in out:
            out[b] = chr(256 + n)
            n += 1
    return out


def _class_ranges(prefix: str) -> str:
    """A regex character-class body for all code points whose category starts with prefix."""
    parts: list[str] = []
    start = None
    for cp in range(sys.maxunicode + 2):
        inside = cp <= sys.maxunicode and unicodedata.category(chr(cp)).startswith(prefix)
        if inside and start is None:
            start = cp
        elif not inside and start is not None:
            a, b = re.escape(chr(start)), re.escape(chr(cp - 1))
            parts.append(a if start == cp - 1 else f"{a}-{b}")
            start = None
    return "".join(parts)


@functools.lru_cache(maxsize=1)
def _patterns() -> tuple[re.Pattern, re.Pattern]:
    letters, numbers = _class_ranges("L"), _class_ranges("N")
    digit = re.compile(f"([{numbers}])")
    gpt2 = re.compile(
        rf"'s|'t|'re|'ve|'m|'ll|'d| ?[{letters}]+| ?[{numbers}]+"
        rf"| ?[^\s{letters}{numbers}]+|\s+(?!\S)|\s+"
    )
    return digit, gpt2


def pretokenize(text: str) -> list[str]:
    """Split text into the pieces BPE merges within (SmolLM2 / "smollm" rules)."""
    digit, gpt2 = _patterns()
    pieces: list[str] = []
    for chunk in digit.split(text):
        if chunk:
            pieces.extend(gpt2.findall(chunk))
    return pieces


class BPETokenizer:
    """Encode text to token ids and back with the model's own vocabulary and merges."""

    def __init__(self, data: TokenizerData) -> None:
        if data.pre not in SUPPORTED_PRE:
            raise ValueError(f"pre-tokenizer {data.pre!r} not supported (only {SUPPORTED_PRE})")
        self.data = data
        self.vocab = {t: i for i, t in enumerate(data.tokens)}
        self.ranks = {tuple(m.split(" ", 1)): r for r, m in enumerate(data.merges)}
        self.byte_map = bytes_to_unicode()
        self.byte_unmap = {c: b for b, c in self.byte_map.items()}
        self.special = {t: i for i, t in enumerate(data.tokens)
                        if data.token_types[i] in (CONTROL, USER_DEFINED)}
        self._special_ids = set(self.special.values())
        # longest first, so that a special token is never split by a shorter one
        alts = sorted(self.special, key=len, reverse=True)
        self._special_re = re.compile("(" + "|".join(map(re.escape, alts)) + ")") if alts else None
        self._cache: dict[str, list[int]] = {}

    @property
    def bos_id(self) -> int:
        return self.data.bos_id

    @property
    def eos_id(self) -> int:
        return self.data.eos_id

    def _bpe(self, piece: str) -> list[int]:
        cached = self._cache.get(piece)
        if cached is not None:
            return cached
        word = [self.byte_map[b] for b in piece.encode("utf-8")]
        while len(word) > 1:
            best, best_rank = -1, None
            for i in range(len(word) - 1):
                r = self.ranks.get((word[i], word[i + 1]))
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = i, r
            if best_rank is None:
                break
            a, b = word[best], word[best + 1]
            merged: list[str] = []
            i = 0
            while i < len(word):  # merge every occurrence of the pair, left to right
                if i < len(word) - 1 and word[i] == a and word[i + 1] == b:
                    merged.append(a + b)
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = merged
        ids = [self.vocab[w] for w in word]
        self._cache[piece] = ids
        return ids

    def encode(self, text: str, *, special: bool = False) -> list[int]:
        """Token ids of `text`; with special=True, control-token strings map to their ids."""
        chunks = (self._special_re.split(text) if special and self._special_re else [text])
        ids: list[int] = []
        for chunk in chunks:
            if special and chunk in self.special:
                ids.append(self.special[chunk])
            elif chunk:
                for piece in pretokenize(chunk):
                    ids.extend(self._bpe(piece))
        return ids

    def decode(self, ids: list[int]) -> str:
        """Text of token ids (invalid UTF-8 from a partial sequence becomes U+FFFD)."""
        out = bytearray()
        for i in ids:
            tok = self.data.tokens[int(i)]
            if int(i) in self._special_ids:
                out += tok.encode("utf-8")
            else:
                out += bytes(self.byte_unmap[c] for c in tok)
        return out.decode("utf-8", errors="replace")


def chat_prompt(user: str, system: str = "You are a helpful AI assistant named SmolLM, "
                "trained by Hugging Face") -> str:
    """The model's chat template (from its GGUF metadata) for one user turn."""
    return (f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n"
            "<|im_start|>assistant\n")

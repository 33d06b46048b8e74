"""Tokenizers for the questions a transformer reads.

Every tokenizer is a ``transformers.PreTrainedTokenizerFast`` backed by the ``tokenizers``
library, so the project's own tokenizers and a checkpoint's (e.g. LLaMA 3.2's) share one
code path:

* ``char``: one token per character over a fixed vocabulary (the specials, then printable
  ASCII 32..126); anything else is ``<unk>``. Independent of any training text.
* ``bpe``: a byte-level BPE trained on the given texts, so that a quoted string such as
  ``"dlifdbabejld"`` splits into multi-character pieces, the tokenization the paper blames
  for its sorting results. Byte-level, so it has no unknown characters.
* ``bpe-numbers``: ``bpe`` with LLaMA 3's treatment of numbers: a run of digits is cut,
  left to right, into groups of at most three, and every 1-3 digit group ("0".."999",
  "00".."099", "000".."099") is a token of its own whether or not the training text
  holds it. So "200" is one token, known to the model, even if training only asked
  about numbers below 128 (arithmetic out of distribution, docs/RESULTS.md).

Both carry the specials ``<pad>``, ``<unk>`` and ``<s>`` (bos); calling the tokenizer
directly adds ``<s>`` like LLaMA's does, and :func:`encode` adds it explicitly.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterable

import torch
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from .errors import InputError

TOKENIZER_KINDS = ("char", "bpe", "bpe-numbers")
PAD, UNK, BOS = "<pad>", "<unk>", "<s>"
SPECIALS = (PAD, UNK, BOS)  # ids 0, 1, 2 in both kinds
CHARS = tuple(chr(c) for c in range(32, 127))
MIN_BPE_VOCAB = 256 + len(SPECIALS)  # the byte alphabet and the specials, before any merge
NUMBER_GROUPS = tuple(str(i).zfill(w) for w in (1, 2, 3) for i in range(10 ** w))  # "0".."999", "00", "000"...


def build_tokenizer(kind: str, texts: Iterable[str] | None = None,
                    vocab_size: int = 512) -> PreTrainedTokenizerFast:
    """A new tokenizer of ``kind`` ("char" or "bpe").

    ``char`` ignores ``texts`` and ``vocab_size`` (its vocabulary is fixed, 98 tokens);
    ``bpe`` is trained on ``texts`` (required) up to ``vocab_size`` tokens,
    deterministically for the same texts; ``bpe-numbers`` is that BPE trained on the
    texts' words, plus the 1,110 number groups (:data:`NUMBER_GROUPS`).
    """
    if kind == "char":
        tok = _char_tokenizer()
    elif kind == "bpe":
        tok = _bpe_tokenizer(texts, vocab_size)
    elif kind == "bpe-numbers":
        tok = _bpe_tokenizer(texts, vocab_size, numbers=True)
    else:
        raise InputError(f"unknown tokenizer kind {kind!r}; expected one of {', '.join(TOKENIZER_KINDS)}")
    bos_id = tok.token_to_id(BOS)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A $B", special_tokens=[(BOS, bos_id)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token=PAD, unk_token=UNK,
                                   bos_token=BOS, clean_up_tokenization_spaces=False)


def _char_tokenizer() -> Tokenizer:
    vocab = {t: i for i, t in enumerate(SPECIALS + CHARS)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token=UNK))
    # Every character, newlines included, is its own pre-token (so its own token).
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    tok.decoder = decoders.Fuse()
    tok.add_special_tokens(list(SPECIALS))
    return tok


def _bpe_tokenizer(texts: Iterable[str] | None, vocab_size: int, numbers: bool = False) -> Tokenizer:
    if texts is None or isinstance(texts, str):
        raise InputError("a bpe tokenizer needs texts to train on (a list of strings)")
    texts = list(texts)
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise InputError(f"bpe training text {bad} is a {type(texts[bad]).__name__}, not a string")
    if not any(texts):
        raise InputError("a bpe tokenizer needs texts to train on; got none (or only empty ones)")
    if vocab_size < MIN_BPE_VOCAB:
        raise InputError(f"bpe vocab_size must be at least {MIN_BPE_VOCAB} "
                         f"(256 bytes + {len(SPECIALS)} specials), got {vocab_size}")
    tok = Tokenizer(models.BPE(unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    if numbers:  # digit groups are words of their own, so no merge joins one to a letter or space
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(r"[0-9]{1,3}"), behavior="isolated"), tok.pre_tokenizer])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIALS),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(texts, trainer)
    if numbers:  # matched before the BPE runs, longest first: "1234" -> "123", "4"
        tok.add_tokens([AddedToken(g, normalized=False) for g in NUMBER_GROUPS])
    return tok


def save_tokenizer(tokenizer: PreTrainedTokenizerFast, path: str | Path) -> None:
    """Write ``tokenizer.json`` and the HF config files into directory ``path``.

    Files are written to a scratch directory inside ``path`` and moved into place one by
    one, so a reader never sees a half-written file.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=path, prefix=".tokenizer-") as tmp:
            tokenizer.save_pretrained(tmp)
            for f in Path(tmp).iterdir():
                os.replace(f, path / f.name)
    except OSError as err:
        raise InputError(f"cannot save the tokenizer to {path}: {err.strerror or err}") from err


def load_tokenizer(path: str | Path) -> PreTrainedTokenizerFast:
    """Load the tokenizer saved in directory ``path`` (a run dir or an HF checkpoint dir).

    Offline only. A tokenizer without a pad token (LLaMA's) gets its eos token as pad.
    """
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"no tokenizer directory at {path}")
    if not any((path / f).is_file() for f in ("tokenizer.json", "tokenizer_config.json")):
        raise InputError(f"no tokenizer in {path} (neither tokenizer.json nor tokenizer_config.json)")
    try:
        tok = AutoTokenizer.from_pretrained(path, local_files_only=True, trust_remote_code=False)
    except Exception as err:  # OSError, ValueError, or a bare Exception from the Rust side
        msg = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise InputError(f"cannot load a tokenizer from {path}: {msg}") from err
    if not isinstance(tok, PreTrainedTokenizerFast):
        raise InputError(f"cannot load a tokenizer from {path}: {type(tok).__name__} "
                         "is not backed by the tokenizers library (no tokenizer.json?)")
    if tok.pad_token is None and tok.eos_token is not None:
        tok.pad_token = tok.eos_token
    return tok


def pad_id(tokenizer: PreTrainedTokenizerFast) -> int:
    """The id :func:`encode` pads with: the pad token's, else the eos token's."""
    for tid in (tokenizer.pad_token_id, tokenizer.eos_token_id):
        if tid is not None:
            return tid
    raise InputError("the tokenizer has neither a pad nor an eos token to pad with")


def encode(tokenizer: PreTrainedTokenizerFast, texts: list[str],
           max_length: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Tokenize ``texts`` into ``(input_ids, attention_mask)``, both (B, T) long.

    Each row starts with bos (if the tokenizer has one) and is right-padded to the longest
    row. Special-token text inside a question (a literal "<s>") is tokenized as plain text.
    A row longer than ``max_length`` raises :class:`InputError` rather than being cut.
    """
    if isinstance(texts, str):
        raise InputError("encode takes a list of texts, not a single string")
    texts = list(texts)
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise InputError(f"text {bad} is a {type(texts[bad]).__name__}, not a string")
    pad = pad_id(tokenizer)
    rows = tokenizer(texts, add_special_tokens=False, split_special_tokens=True)["input_ids"] if texts else []
    if tokenizer.bos_token_id is not None:
        rows = [[tokenizer.bos_token_id, *r] for r in rows]
    if max_length is not None:
        long = next((i for i, r in enumerate(rows) if len(r) > max_length), None)
        if long is not None:
            raise InputError(f"text {long} is {len(rows[long])} tokens long, "
                             f"more than max_length {max_length}")
    T = max((len(r) for r in rows), default=0)
    ids = torch.full((len(rows), T), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), T), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(r, dtype=torch.long)
        mask[i, :len(r)] = 1
    return ids, mask


def token_chars(tokenizer: PreTrainedTokenizerFast, base: int, width: int) -> torch.Tensor:
    """(vocab, width) long: the character codes of each token's text, 0-padded, i.e.
    what memory cells hold when they copy the token: one cell for a character token,
    several for the multi-character pieces a BPE cuts a string into. A token has no
    characters (a row of 0s) when it is special, longer than ``width``, or holds a
    character whose code is 0 or not below ``base``."""
    chars = torch.zeros(len(tokenizer), width, dtype=torch.long)
    specials = set(tokenizer.all_special_ids)
    for i in range(len(tokenizer)):
        codes = [] if i in specials else [ord(ch) for ch in tokenizer.decode([i])]
        if 0 < len(codes) <= width and all(0 < c < base for c in codes):
            chars[i, :len(codes)] = torch.tensor(codes)
    return chars


def token_copies(tokenizer: PreTrainedTokenizerFast, base: int) -> torch.Tensor:
    """(vocab, 2) long: what an argument register copies from each token: the number its
    text spells (ASCII digits, surrounding spaces ignored) and the code of its one
    character (below ``base``); -1 where it has none. Special tokens have neither. A
    number is kept whatever its size, so that a model widened to a larger base
    (``Answerer.widen``) reads it; the parser ignores numbers its base cannot hold."""
    char = token_chars(tokenizer, base, 1)[:, 0]  # 0 where a token is not one character
    out = torch.stack([torch.full_like(char, -1), torch.where(char > 0, char, -1)], 1)
    specials = set(tokenizer.all_special_ids)
    for i in range(len(tokenizer)):
        digits = "" if i in specials else tokenizer.decode([i]).strip(" ")
        if digits and all("0" <= ch <= "9" for ch in digits) and len(digits) <= 18:  # fits int64
            out[i, 0] = int(digits)
    return out

"""The LLaMA backbone: built from scratch or loaded from a local checkpoint, its last
layer dropped (nothing reads it), and the pooled ``z`` the heads read."""

from __future__ import annotations

import math
import pickle
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import InputError


@dataclass
class BackboneConfig:
    """A LLaMA built from scratch (defaults: the paper's §4.2 sizes), or ``model_path``,
    a local Hugging Face checkpoint directory."""

    model_path: str | None = None
    vocab_size: int = 128
    dim: int = 128
    heads: int = 4
    kv_heads: int = 2
    layers: int = 4
    intermediate: int | None = None  # default 2 * dim
    max_positions: int = 512
    # Token embeddings of a model built from scratch start at N(0, embedding_std^2).
    # Hugging Face's default (0.02) leaves the residual stream dominated by what all
    # tokens share (the number tokens' z have cosine 0.8 at init), so no head can tell
    # the numbers apart and answer-only training never starts.
    embedding_std: float = 1.0

    def __post_init__(self) -> None:
        """A shape LLaMA can build, checked here so a bad one is one line naming its
        fields, not an error from inside the model. A checkpoint's own shape is its own."""
        if not (isinstance(self.embedding_std, (int, float)) and math.isfinite(self.embedding_std)
                and self.embedding_std >= 0):
            raise InputError(f"embedding_std {self.embedding_std}: expected a finite number >= 0")
        if self.model_path is not None:
            return
        sizes = {"dim": self.dim, "heads": self.heads, "kv_heads": self.kv_heads, "layers": self.layers,
                 "vocab_size": self.vocab_size, "max_positions": self.max_positions,
                 "intermediate": 1 if self.intermediate is None else self.intermediate}
        for flag, v in sizes.items():
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InputError(f"{flag} {v}: expected a positive integer")
        if self.layers < 2:
            raise InputError(f"layers {self.layers}: expected at least 2 (the last layer is dropped)")
        if self.dim % self.heads:
            raise InputError(f"heads {self.heads}, dim {self.dim}: the width must be a multiple of the "
                             f"number of heads (e.g. heads {_divisor(self.dim, self.heads)})")
        if self.heads % self.kv_heads:
            raise InputError(f"kv_heads {self.kv_heads}, heads {self.heads}: the heads must be a multiple "
                             f"of the key-value heads (e.g. kv_heads {_divisor(self.heads, self.kv_heads)})")
        if (self.dim // self.heads) % 2:
            raise InputError(f"heads {self.heads}, dim {self.dim}: each head is {self.dim // self.heads} "
                             f"wide, but rotary positions need an even head width (e.g. dim "
                             f"{2 * self.heads * -(-self.dim // (2 * self.heads))})")


def _divisor(n: int, near: int) -> int:
    """The divisor of ``n`` closest to ``near`` (a suggestion for an error message)."""
    return min((d for d in range(1, n + 1) if n % d == 0), key=lambda d: (abs(d - near), d))


def llama_config(cfg: BackboneConfig):
    """The ``LlamaConfig`` of a model built from scratch with these sizes."""
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=cfg.vocab_size, hidden_size=cfg.dim, num_attention_heads=cfg.heads,
                       num_key_value_heads=cfg.kv_heads, num_hidden_layers=cfg.layers,
                       intermediate_size=cfg.intermediate or 2 * cfg.dim, max_position_embeddings=cfg.max_positions)


# What loading a damaged checkpoint raises: a truncated or garbage pytorch_model.bin
# (EOFError, RuntimeError from the zip reader, OSError, UnpicklingError; TypeError for a
# pickle that is not a state dict), a bad model.safetensors (SafetensorError, an
# Exception), shapes that are not the config's (RuntimeError), a bad config (ValueError,
# ZeroDivisionError for 0 heads).
_LOAD_ERRORS: tuple[type[BaseException], ...] = (OSError, ValueError, EOFError, RuntimeError, TypeError,
                                                 KeyError, ZeroDivisionError, pickle.UnpicklingError)


def load_pretrained(auto, path: str) -> nn.Module:
    """``auto.from_pretrained(path)``, local files only and no remote code; a checkpoint
    that does not load, or that lacks some of the model's weights (they would be
    initialised at random, silently), is an :class:`InputError`."""
    from safetensors import SafetensorError
    from transformers.utils import logging as hf_logging

    verbosity, bar = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()  # its progress bar and load report would be more lines;
    hf_logging.disable_progress_bar()  # what matters in them is checked below
    try:
        model, info = auto.from_pretrained(path, trust_remote_code=False, local_files_only=True,
                                           output_loading_info=True)
    except (*_LOAD_ERRORS, SafetensorError) as exc:
        reason = type(exc).__name__ + "".join(f": {line.split('. ')[0].rstrip('.')[:200]}"
                                              for line in str(exc).strip().splitlines()[:1])
        raise InputError(f"--model {path}: not a loadable local checkpoint ({reason}; "
                         f"give a directory saved by save_pretrained, with its config and weights)") from None
    finally:
        hf_logging.set_verbosity(verbosity)
        if bar:
            hf_logging.enable_progress_bar()
    missing = sorted(info.get("missing_keys") or ())
    if missing:
        raise InputError(f"--model {path}: the checkpoint lacks {len(missing)} of the model's weights "
                         f"(e.g. {missing[0]}); give a complete checkpoint of this architecture")
    return model


def build_backbone(cfg: BackboneConfig) -> nn.Module:
    """A ``LlamaModel``: loaded from ``cfg.model_path`` (local files only, no remote
    code), or built from the config. Its last layer is dropped (see module doc)."""
    from transformers import AutoModel, LlamaModel

    if cfg.model_path is not None:
        model = load_pretrained(AutoModel, cfg.model_path)
    else:
        model = LlamaModel(llama_config(cfg))
        nn.init.normal_(model.embed_tokens.weight, std=cfg.embedding_std)
    if not hasattr(model, "layers") or len(model.layers) < 2:
        raise InputError("the backbone must be a decoder (e.g. LLaMA) with at least 2 layers")
    model.layers = model.layers[:-1]
    model.config.num_hidden_layers = len(model.layers)
    return model


def pool(z: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of the hidden states over the real (unpadded) tokens: (B, T, d) -> (B, d)."""
    m = mask.to(z.dtype)[..., None]
    return (z * m).sum(1) / m.sum(1).clamp_min(1)

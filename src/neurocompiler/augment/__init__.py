"""A language model augmented with the differentiable library (§3.4).

``question -> tokenizer -> LLaMA backbone -> z -> heads -> Library -> answer head``

* ``z`` is taken from all but the last layer: the backbone's last decoder layer is
  dropped, since nothing reads it, and ``z`` is the (normed) output of the one before.
* **Selection head**: a softmax over the library's functions, from the pooled ``z``.
* **Parsing heads**: the initial argument registers r1..r3 and memory cells
  ``0..cells-1``, each a one-hot classification over values 0..n-1. Two options:

  - ``pooled`` (the paper's): one linear map from the pooled ``z`` to every slot;
  - ``slots`` (ours): pointers into the question (:class:`SlotParser`): registers
    attend over the tokens; memory cell i copies the token i + 1 places after a
    learned start anchor, so it holds the i-th character of a quoted string; r1 may
    take that span's length.

* **Library**: every function runs from that state, batched, and the final states are
  mixed by the selection (issue #4).
* **Answer head**: ``scale * log(p)`` on the mixed r0 for integer answers and on
  the mixed cells for string answers (one value per cell, terminated by a 0 cell). A
  prediction's kind follows the selected function's convention (``#@ outputs``).

The compiled library is frozen unless ``trainable_library``.

The package, one module per part: :mod:`.backbone`, :mod:`.config` (with the earlier
parses' switches in :class:`SlotsConfig`), :mod:`.slots`
(the pointer parses), :mod:`.outputs` (what a parse returns; the answer head's targets,
loss and decoding), :mod:`.answerer` (what training needs from any model), :mod:`.model`.
"""

from .backbone import BackboneConfig, _divisor, llama_config, _LOAD_ERRORS, load_pretrained, build_backbone, pool  # noqa: F401
from .config import ARG_REGISTERS, PARSINGS, CELL_VALUES, LIST_LENGTHS, REGISTER_VALUES, RANKS_FROM_END, OFFSETS_FROM, OFFSET_PRIOR, RANKS, MOVED, AugmentConfig, SelectionConfig, SlotsConfig  # noqa: F401
from .outputs import IGNORE, _zero, Span, _FirstSpan, Slots, Parse, AugmentedOutput, Batch, Prediction, answer_targets, answer_loss, _answer_ce, decode_answers, answer_confidence  # noqa: F401
from .answerer import _fill, UNSEEN, widen_values, widen_state, _full_precision, Answerer  # noqa: F401
from .slots import PooledParser, SlotParser, BLANKS, _word_before, _characters  # noqa: F401
from .model import AugmentedLM  # noqa: F401

"""Seeded natural-language task generators and the JSONL dataset format.

``generate(name, count, seed, base, **options)`` draws examples from a registered task
(:data:`TASKS`: arithmetic, fib, sort, count, reverse, mixed); every answer is computed
by the library's pure-Python references (``library/reference.py``) under the library
calling convention, so an example's answer is what its ``function`` returns.
``split`` makes the paper's 70/30 train/test split; ``load_jsonl`` and
``save_jsonl`` read and write datasets.
"""

from .arithmetic import arithmetic
from .example import Example, TaskSpec
from .fib import fib
from .jsonl import load_jsonl, save_jsonl
from .registry import MIXABLE, TASKS, generate, mixed, split
from .strings import count_letters, reverse_string, sort_string

__all__ = [
    "Example", "TaskSpec", "TASKS", "MIXABLE", "generate", "split", "load_jsonl", "save_jsonl",
    "arithmetic", "fib", "sort_string", "count_letters", "reverse_string", "mixed",
]

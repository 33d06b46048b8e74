"""Character-level string tasks (§4.3: 'Sort the string "dlifdbabejld"'): sort, count,
reverse. A string of length L is the library's list argument: r1 = L and
M[0..L-1] = the characters' codes (``ord``)."""

from __future__ import annotations

import random
import string

from ..errors import InputError
from ..library.reference import REFERENCES
from .example import Example
from .options import int_tuple

LENGTHS = (8, 10, 12)
ALPHABET = string.ascii_lowercase

SORT_TEMPLATES = (
    'Sort the string "{s}"',
    'Put the letters of "{s}" in alphabetical order.',
    'Arrange the characters of "{s}" from smallest to largest.',
    'What is "{s}" with its letters sorted?',
)
COUNT_TEMPLATES = (
    'How many times does "{c}" appear in "{s}"?',
    'Count the occurrences of "{c}" in "{s}".',
    'In the string "{s}", how often does the letter "{c}" occur?',
    'How many "{c}" characters are there in "{s}"?',
)
REVERSE_TEMPLATES = (
    'Reverse the string "{s}"',
    'Write "{s}" backwards.',
    'What is "{s}" spelled backwards?',
    'Reverse the order of the letters in "{s}".',
)


SORT_EQUIVALENTS = ("string_sort",)  # sorts a 0-terminated string as insertion_sort sorts M[0..r1-1]


def _setup(task: str, base: int, lengths: object, alphabet: object) -> tuple[tuple[int, ...], str]:
    """Validated lengths (1..base-1: r1 holds the length) and alphabet (distinct
    printable characters, no whitespace, quote or backslash, every code < base)."""
    if not isinstance(alphabet, str) or not alphabet:
        raise InputError(f"{task}: option 'alphabet' must be a non-empty string")
    if len(set(alphabet)) != len(alphabet):
        raise InputError(f"{task}: option 'alphabet' repeats a character")
    for ch in alphabet:
        if ord(ch) >= base:
            raise InputError(f"{task}: character {ch!r} has code {ord(ch)}, "
                             f"which does not fit base {base}")
        if not ch.isprintable() or ch.isspace() or ch in '"\\':
            raise InputError(f"{task}: option 'alphabet' may not contain {ch!r}")
    why = f" (a string's length sits in r1, base {base})"
    return int_tuple(task, "lengths", lengths, 1, base - 1, why), alphabet


def _string(rng: random.Random, lengths: tuple[int, ...], alphabet: str) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.choice(lengths)))


def _in_place(function: str, s: str, base: int) -> str:
    """The string the list function ``function`` leaves in M[0..len-1]."""
    _, memory = REFERENCES[function]({1: len(s)}, [ord(c) for c in s], base)
    return "".join(map(chr, memory[:len(s)]))


def sort_string(count: int, rng: random.Random, base: int, *, lengths: object = LENGTHS,
         alphabet: object = ALPHABET) -> list[Example]:
    """Sorting questions; options ``lengths`` (each 1..base-1) and ``alphabet``.

    The string s has a length drawn uniformly from ``lengths`` and characters drawn
    uniformly from ``alphabet`` (default a-z). The question is one of
    :data:`SORT_TEMPLATES`, chosen uniformly: 'Sort the string "{s}"' (the paper's
    form), 'Put the letters of "{s}" in alphabetical order.', 'Arrange the characters
    of "{s}" from smallest to largest.', 'What is "{s}" with its letters sorted?'. The
    answer is the string ``insertion_sort`` leaves in M[0..r1-1] (r1 = len(s), M = the
    codes of s): s's characters in ascending code order. ``string_sort`` (s as a
    0-terminated string) gives the same answer, so it is listed as an equivalent.
    """
    sizes, letters = _setup("sort", base, lengths, alphabet)
    out = []
    for _ in range(count):
        s = _string(rng, sizes, letters)
        out.append(Example(rng.choice(SORT_TEMPLATES).format(s=s), _in_place("insertion_sort", s, base),
                           "sort", "insertion_sort", equivalents=SORT_EQUIVALENTS))
    return out


def reverse_string(count: int, rng: random.Random, base: int, *, lengths: object = LENGTHS,
            alphabet: object = ALPHABET) -> list[Example]:
    """Reversal questions; options ``lengths`` (each 1..base-1) and ``alphabet``.

    The string s is drawn as for :func:`sort_string`. The question is one of
    :data:`REVERSE_TEMPLATES`, chosen uniformly: 'Reverse the string "{s}"', 'Write "{s}"
    backwards.', 'What is "{s}" spelled backwards?', 'Reverse the order of the letters
    in "{s}".'. The answer is the string ``reverse`` leaves in M[0..r1-1] (r1 = len(s),
    M = the codes of s).
    """
    sizes, letters = _setup("reverse", base, lengths, alphabet)
    out = []
    for _ in range(count):
        s = _string(rng, sizes, letters)
        out.append(Example(rng.choice(REVERSE_TEMPLATES).format(s=s),
                           _in_place("reverse", s, base), "reverse", "reverse"))
    return out


def count_letters(count: int, rng: random.Random, base: int, *, lengths: object = LENGTHS,
          alphabet: object = ALPHABET) -> list[Example]:
    """Letter-counting questions; options ``lengths`` (each 1..base-1) and ``alphabet``.

    So that counts spread beyond 0-2, the string s (length uniform over ``lengths``)
    draws its characters uniformly from a random subset of ``alphabet`` whose size is
    uniform in 2..len(alphabet) (1 for a one-letter alphabet). The letter c is, with
    probability 1/2, a uniform character of s, otherwise a uniform letter of
    ``alphabet`` (which may or may not occur). The question is one of
    :data:`COUNT_TEMPLATES`, chosen uniformly: 'How many times does "{c}" appear in
    "{s}"?', 'Count the occurrences of "{c}" in "{s}".', 'In the string "{s}", how
    often does the letter "{c}" occur?', 'How many "{c}" characters are there in
    "{s}"?'. The answer is ``count``'s r0 with r1 = len(s), r2 = ord(c), M = the codes
    of s.
    """
    sizes, letters = _setup("count", base, lengths, alphabet)
    out = []
    for _ in range(count):
        pool = "".join(rng.sample(letters, rng.randint(min(2, len(letters)), len(letters))))
        s = _string(rng, sizes, pool)
        c = rng.choice(s) if rng.random() < 0.5 else rng.choice(letters)
        registers, _ = REFERENCES["count"]({1: len(s), 2: ord(c)}, [ord(x) for x in s], base)
        out.append(Example(rng.choice(COUNT_TEMPLATES).format(s=s, c=c),
                           registers[0], "count", "count"))
    return out

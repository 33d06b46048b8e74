"""Outside-style questions: phrasings deliberately unlike our own generators'.

The generators in ``arithmetic.py``, ``fib.py`` and ``strings.py`` write every question
in a few fixed forms (quoted strings, operator words). This module writes the same
kinds of questions the way outside data does: symbols (``97-64=?``), lead-ins with a
distractor number (``Problem 7: ...``), operands named out of order (``remove 5 from
20``), unquoted words and multi-word texts, worked examples beside the real argument.
It is a test bank: a model trained on our phrasings should still answer these.

Templates are data, ``TEMPLATES[task] = ((phrasing id, template), ...)``, filled by
``str.format``. Placeholders:

* arith: {a} = r1, {b} = r2 (whatever their order in the sentence), {sym} one of
  ``+ - * /``, {word} one of plus, minus, times, "divided by", {p} a distractor number
  (never an operand). Templates with {sym} or {word} take every op; the others take
  the ops :data:`ARITH_ONLY` names. Operands keep results natural: a + b < base,
  a >= b for sub, a * b < base, 1 <= b <= 20 for div (integer division).
* count: {c} the letter, {text} 2-8 words of :data:`WORDS` (at most 60 characters,
  spaces included: r1 = len(text), M = its codes), {p} a distractor number.
* reverse / sort: {w} the argument (a word of :data:`WORDS` or 3-8 / 3-10 random
  letters), {x} a different example word with {xr} its reversal / {xs} its sorting.
* fib: x_0 = {a} (r1), x_1 = {b} (r2), library ``fib`` with r3 = d answers x_{d+1}.
  How each template names x_{d+1}: "sum-of-two-before", "exercise-distractor" by the
  ordinal {tth} of t = d + 2 (1-based, x_0 the 1st term); "counting-first" and "days"
  by {t} = d + 2; "appends" after d appends ({repeat}: once, twice, "3 times", ...);
  "places-after" as {dterms} ("1 term", "2 terms", ...) after x_1; "f-notation" as
  F({n}), n = d + 1; "continue-list" shows {terms} = x_0..x_d and asks for the next.

Every answer is the library reference (``REFERENCES``) at ``base`` on the inputs the
question states. A record's ``"function"`` is the function the filler used or, where
another library function answers every question of that kind too, a list of both
(:func:`equivalents`): selecting either is right. A record's integer answer is written
as a JSON number or, about half the time, as a digit string (``"17"``), as public data
sets do.
"""

from __future__ import annotations

import json
import os
import random
import string
from pathlib import Path
from typing import Callable, Sequence

from ..errors import InputError
from ..files import atomic_write
from ..library.reference import REFERENCES
from .example import Example
from .jsonl import record_functions
from .options import int_tuple
from .strings import SORT_EQUIVALENTS

OUTSIDE_TASKS = ("outside-arith", "outside-count", "outside-reverse", "outside-sort", "outside-fib")
OUTSIDE_MIXTURE = "outside-mixed"
OUTSIDE_FUNCTIONS: dict[str, tuple[str, ...]] = {
    "outside-arith": ("add", "sub", "mul", "div"),
    "outside-count": ("count",),
    "outside-reverse": ("reverse",),
    "outside-sort": ("insertion_sort",),
    "outside-fib": ("fib",),
}
OUTSIDE_FUNCTIONS[OUTSIDE_MIXTURE] = tuple(f for t in OUTSIDE_TASKS for f in OUTSIDE_FUNCTIONS[t])
INT_TASKS = ("outside-arith", "outside-count", "outside-fib")  # the others answer strings
FIB_DEPTHS = (1, 2, 3, 4)
MAX_TEXT = 60  # count texts, spaces included

Templates = tuple[tuple[str, str], ...]
TEMPLATES: dict[str, Templates] = {
    "outside-arith": (
        ("symbol-calc", "Calculate {a} {sym} {b}."),
        ("symbol-equals", "{a}{sym}{b}=?"),
        ("what-is-symbol", "What is {a} {sym} {b}?"),
        ("q-word", "Q: {a} {word} {b} = ?"),
        ("problem-number", "Problem {p}: work out {a} {word} {b}."),
        ("difference-of", "Find the difference of {a} and {b}."),
        ("remove-from", "If you remove {b} from {a}, how many are left?"),
        ("groups-of", "How many whole groups of {b} can be made from {a}?"),
        ("story-add", "Tom has {a} marbles and wins {b} more. How many marbles does he have now?"),
        ("rows-of", "There are {b} rows with {a} seats each. How many seats in total?"),
    ),
    "outside-count": (
        ("letter-appear", "How many times does the letter {c} appear in {text}?"),
        ("count-the-s", "Count the {c}'s: {text}"),
        ("single-quoted", "In the sentence '{text}', how often do you see '{c}'?"),
        ("text-first", "{text} -- how many {c} letters?"),
        ("puzzle-distractor", 'Puzzle {p}: in "{text}", count the letter {c}.'),
        ("tally", 'Tally the letter "{c}" in: {text}'),
        ("frequency", "What's the frequency of {c} in the words {text}?"),
        ("label-text", "Text: {text}. Letter: {c}. Occurrences?"),
    ),
    "outside-reverse": (
        ("reverse-the-word", "Reverse the word {w}"),
        ("spell-backwards", "spell backwards: {w}"),
        ("example-first", "Example: {x} -> {xr}. Now do: {w}"),
        ("write-backwards", "What do you get if you write {w} backwards?"),
        ("right-to-left", "Task {p}: read {w} from right to left."),
        ("single-quoted", "Flip '{w}' end to end."),
        ("mirror", "Mirror the letters of {w}, please."),
        ("backwards-is", "{w} backwards is what?"),
    ),
    "outside-sort": (
        ("alphabetize", "Alphabetize the letters in {w}"),
        ("sort-colon", "sort: {w}"),
        ("abc-order", "Rearrange {w} into ABC order."),
        ("a-to-z", 'Give the letters of "{w}" in a-to-z order.'),
        ("example-first", "e.g. {x} -> {xs}. Your turn: {w}"),
        ("q-lead-in", "Q: what is {w} with its letters in order?"),
        ("smallest-first", "Order the characters of {w} smallest first."),
        ("bracketed", "Sort [{w}] alphabetically."),
    ),
    "outside-fib": (
        ("sum-of-two-before", "Sequence: {a}, {b}, ... each term is the sum of the two before. "
                              "Give the {tth} term."),
        ("counting-first", "Start: {a}, {b}. Rule: next = last + the one before it. "
                           "What is term {t}, counting {a} as term 1?"),
        ("appends", "Begin with {a} and {b}. Append the sum of the last two numbers {repeat}. "
                    "What was the last number added?"),
        ("places-after", "Fibonacci-style: first {a}, then {b}. Which number comes {dterms} after {b}?"),
        ("f-notation", "F(0)={a}, F(1)={b}, F(k)=F(k-1)+F(k-2). F({n})=?"),
        ("exercise-distractor", "Exercise {p}. Seeds {a} and {b}; each new term adds the previous two. "
                                "Report the {tth} term."),
        ("days", "Day 1: {a}. Day 2: {b}. Each day's count is the sum of the previous two days. "
                 "What is the count on day {t}?"),
        ("continue-list", "Continue by one term: {terms}, ... (each term is the sum of the previous two)."),
    ),
}
PHRASINGS: dict[str, tuple[str, ...]] = {task: tuple(i for i, _ in ts) for task, ts in TEMPLATES.items()}
ARITH_OPS = ("add", "sub", "mul", "div")
ARITH_ONLY: dict[str, tuple[str, ...]] = {
    "difference-of": ("sub",), "remove-from": ("sub",), "groups-of": ("div",),
    "story-add": ("add",), "rows-of": ("mul",),
}
SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/"}
WORDS_FOR = {"add": "plus", "sub": "minus", "mul": "times", "div": "divided by"}
WORDS = tuple("""
the cat sat on mat dog ran far sun hot red big box fox jumps over lazy green trees see
bees apple banana lemon planet stone river house garden window paper pencil yellow
purple orange silver music dance happy quiet little bread water cloud storm winter
summer rabbit monkey tiger zebra kettle pepper coffee butter candle ladder basket rocket
school friend mirror yogurt jacket violin puzzle wizard quartz oxygen
""".split())

Fields = dict[str, object]
Filler = Callable[[str, random.Random, int, tuple[int, ...]], tuple[Fields, str, int | str]]


def _distractor(rng: random.Random, avoid: Sequence[int]) -> int:
    """A number 1..99 that is none of ``avoid``."""
    return rng.choice([p for p in range(1, 100) if p not in avoid])


def _operands(op: str, rng: random.Random, base: int) -> tuple[int, int]:
    """(a, b) with a natural result: a + b < base, a >= b, a * b < base, b >= 1."""
    if op == "add":
        a = rng.randrange(base)
        return a, rng.randint(0, base - 1 - a)
    if op == "sub":
        a = rng.randrange(base)
        return a, rng.randint(0, a)
    if op == "mul":
        a = rng.randrange(base)
        b = rng.randint(0, (base - 1) // max(a, 1))
        return (a, b) if rng.random() < 0.5 else (b, a)
    return rng.randrange(base), rng.randint(1, min(base - 1, 20))


def _arith(pid: str, rng: random.Random, base: int, depths: tuple[int, ...]) -> tuple[Fields, str, int]:
    op = rng.choice(ARITH_ONLY.get(pid, ARITH_OPS))
    a, b = _operands(op, rng, base)
    answer = REFERENCES[op]({1: a, 2: b}, [], base)[0][0]
    return {"a": a, "b": b, "sym": SYMBOLS[op], "word": WORDS_FOR[op], "p": _distractor(rng, (a, b))}, op, answer


def _text(rng: random.Random) -> str:
    """2-8 words of :data:`WORDS` joined by spaces, at most :data:`MAX_TEXT` characters."""
    words: list[str] = []
    for _ in range(rng.randint(2, 8)):
        word = rng.choice(WORDS)
        if len(" ".join(words + [word])) > MAX_TEXT:
            break
        words.append(word)
    return " ".join(words)


def _codes(s: str) -> list[int]:
    return [ord(ch) for ch in s]


def _count(pid: str, rng: random.Random, base: int, depths: tuple[int, ...]) -> tuple[Fields, str, int]:
    text = _text(rng)
    c = rng.choice(text.replace(" ", "")) if rng.random() < 0.7 else rng.choice(string.ascii_lowercase)
    answer = REFERENCES["count"]({1: len(text), 2: ord(c)}, _codes(text), base)[0][0]
    return {"c": c, "text": text, "p": _distractor(rng, ())}, "count", answer


def _word(rng: random.Random, longest: int) -> str:
    """A word of :data:`WORDS` (3+ letters) or, half the time, 3..``longest`` random letters."""
    if rng.random() < 0.5:
        return rng.choice([w for w in WORDS if len(w) >= 3])
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, longest)))


def _in_place(function: str, s: str, base: int) -> str:
    """The string the list function ``function`` leaves in M[0..len(s)-1]."""
    memory = REFERENCES[function]({1: len(s)}, _codes(s), base)[1]
    return "".join(map(chr, memory[:len(s)]))


def _list_task(function: str, longest: int, key: str) -> Filler:
    def fill(pid: str, rng: random.Random, base: int, depths: tuple[int, ...]) -> tuple[Fields, str, str]:
        w = _word(rng, longest)
        x = _word(rng, longest)
        while x == w:
            x = _word(rng, longest)
        fields = {"w": w, "x": x, key: _in_place(function, x, base), "p": _distractor(rng, ())}
        return fields, function, _in_place(function, w, base)
    return fill


def ordinal(k: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``4th``, ..., ``11th``, ``21st``."""
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def _fib(pid: str, rng: random.Random, base: int, depths: tuple[int, ...]) -> tuple[Fields, str, int]:
    a, b, d = rng.randrange(base), rng.randrange(base), rng.choice(depths)
    terms = [a, b]
    while len(terms) < d + 1:
        terms.append((terms[-1] + terms[-2]) % base)
    answer = REFERENCES["fib"]({1: a, 2: b, 3: d}, [], base)[0][0]
    fields = {"a": a, "b": b, "d": d, "n": d + 1, "t": d + 2, "tth": ordinal(d + 2),
              "repeat": {1: "once", 2: "twice"}.get(d, f"{d} times"), "dterms": f"{d} term" + "s" * (d != 1),
              "terms": ", ".join(map(str, terms[:d + 1])), "p": _distractor(rng, (a, b))}
    return fields, "fib", answer


def equivalents(task: str, pid: str, fields: Fields) -> tuple[str, ...]:
    """The library functions other than the filler's that answer this question for
    every value of its operands: ``string_sort`` sorts a word's letters as
    ``insertion_sort`` does (a 0-terminated string instead of a length), and ``add``
    answers a Fibonacci question whose answer is the sum of two numbers it states (the
    last two terms shown by ``continue-list``, or x_0 and x_1 at depth 1)."""
    if task == "outside-sort":
        return SORT_EQUIVALENTS
    if task == "outside-fib" and (pid == "continue-list" or fields["d"] == 1):
        return ("add",)
    return ()


_FILLERS: dict[str, Filler] = {
    "outside-arith": _arith, "outside-count": _count, "outside-fib": _fib,
    "outside-reverse": _list_task("reverse", 8, "xr"),
    "outside-sort": _list_task("insertion_sort", 10, "xs"),
}


def _task_name(task: str) -> str:
    """``task`` as a full name: "arith" and "outside-arith" both name outside-arith."""
    name = task if task.startswith("outside-") else f"outside-{task}"
    if name not in OUTSIDE_TASKS and name != OUTSIDE_MIXTURE:
        raise InputError(f"unknown outside task {task!r} (known: {', '.join(OUTSIDE_TASKS + (OUTSIDE_MIXTURE,))})")
    return name


def _check_base(name: str, base: int) -> None:
    if not isinstance(base, int) or isinstance(base, bool) or base < 2:
        raise InputError(f"{name}: base must be an integer >= 2, got {base!r}")
    if name in ("outside-count", "outside-reverse", "outside-sort", OUTSIDE_MIXTURE) and base <= ord("z"):
        raise InputError(f"{name}: letters have codes up to {ord('z')}, which do not fit base {base}")


def outside_records(task: str, count: int, rng: random.Random, base: int = 128, *,
                    depths: object = FIB_DEPTHS) -> list[dict[str, object]]:
    """``count`` JSONL records ``{"question", "answer", "task", "function", "phrasing"}``
    of outside task ``task`` (a name of :data:`OUTSIDE_TASKS`, its short form such as
    "arith", or :data:`OUTSIDE_MIXTURE`), all with distinct questions. Each picks a
    template of ``TEMPLATES[task]`` uniformly. Integer answers are JSON numbers or, with
    probability 1/2, digit strings; string answers are strings. The mixture splits
    ``count`` evenly over the five tasks (the remainder to random ones), each drawn from
    its own seed, shuffled; records keep their own task. ``depths``: fib depths, 1..base-1."""
    name = _task_name(task)
    _check_base(name, base)
    chosen = int_tuple(name, "depths", depths, 1, base - 1, f" (the depth sits in r3, base {base})")
    if name == OUTSIDE_MIXTURE:
        share, extra = divmod(count, len(OUTSIDE_TASKS))
        lucky = set(rng.sample(range(len(OUTSIDE_TASKS)), extra))
        seeds = [rng.getrandbits(64) for _ in OUTSIDE_TASKS]
        out = [r for i, t in enumerate(OUTSIDE_TASKS)
               for r in outside_records(t, share + (i in lucky), random.Random(seeds[i]), base, depths=chosen)]
        rng.shuffle(out)
        return out
    out, seen = [], set()
    for _ in range(50 * count + 1000):
        if len(out) == count:
            break
        pid, template = rng.choice(TEMPLATES[name])
        fields, function, answer = _FILLERS[name](pid, rng, base, chosen)
        question = template.format(**fields)
        if question in seen:
            continue
        seen.add(question)
        written = str(answer) if isinstance(answer, int) and rng.random() < 0.5 else answer
        also = equivalents(name, pid, fields)
        out.append({"question": question, "answer": written, "task": name,
                    "function": [function, *also] if also else function, "phrasing": pid})
    if len(out) < count:
        raise InputError(f"{name}: found only {len(out)} distinct questions of the {count} asked for")
    return out


def outside_examples(task: str, count: int, rng: random.Random, base: int = 128, *,
                     depths: object = FIB_DEPTHS) -> list[Example]:
    """:func:`outside_records` as :class:`Example` objects, answers typed (``int`` for
    arith, count and fib; ``str`` for reverse and sort). The phrasing id is dropped."""
    return [to_example(r) for r in outside_records(task, count, rng, base, depths=depths)]


def to_example(record: dict[str, object]) -> Example:
    """One record as an :class:`Example` (a digit-string integer answer becomes an int)."""
    answer = record["answer"]
    typed = int(answer) if record["task"] in INT_TASKS else answer  # type: ignore[call-overload]
    function, equivalents = record_functions(record)
    return Example(str(record["question"]), typed, str(record["task"]), function,  # type: ignore[arg-type]
                   equivalents=equivalents)


def _write(path: Path, records: list[dict[str, object]]) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
            f.flush()
            os.fsync(f.fileno())
    atomic_write(path, write, parents=True)


def write_outside(directory: str | os.PathLike[str], tasks: Sequence[str] = OUTSIDE_TASKS,
                  train: int = 1000, test: int = 300, seed: int = 0, base: int = 128, *,
                  depths: object = FIB_DEPTHS) -> dict[str, tuple[Path, Path]]:
    """Write ``TASK-train.jsonl`` and ``TASK-test.jsonl`` under ``directory`` for every
    task of ``tasks``, and ``outside-mixed-{train,test}.jsonl``: the union of the
    tasks' files, shuffled. Train and test of a task are drawn together with distinct
    questions, so they share none. Each task draws from its own seed, a function of
    ``seed`` and its name only. Every file is written atomically. Returns
    ``{task: (train path, test path)}``, the mixture included."""
    names = tuple(dict.fromkeys(_task_name(t) for t in tasks if _task_name(t) != OUTSIDE_MIXTURE))
    if not names:
        raise InputError("write_outside: no tasks")
    folder = Path(directory)
    paths: dict[str, tuple[Path, Path]] = {}
    mixed: tuple[list[dict[str, object]], list[dict[str, object]]] = ([], [])
    for name in names:
        records = outside_records(name, train + test, random.Random(f"outside:{seed}:{name}"), base, depths=depths)
        parts = (records[:train], records[train:])
        paths[name] = (folder / f"{name}-train.jsonl", folder / f"{name}-test.jsonl")
        for path, part, pool in zip(paths[name], parts, mixed):
            _write(path, part)
            pool.extend(part)
    shuffle = random.Random(f"outside:{seed}:{OUTSIDE_MIXTURE}")
    paths[OUTSIDE_MIXTURE] = (folder / f"{OUTSIDE_MIXTURE}-train.jsonl", folder / f"{OUTSIDE_MIXTURE}-test.jsonl")
    for path, pool in zip(paths[OUTSIDE_MIXTURE], mixed):
        shuffle.shuffle(pool)
        _write(path, pool)
    return paths

"""Task generators and the JSONL format: every answer is re-derived from the question
text by an independent parser, so phrasing and answer must agree."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from neurocompiler.errors import InputError
from neurocompiler.library.reference import REFERENCES
from neurocompiler.tasks import TASKS, Example, generate, load_jsonl, save_jsonl, split

NUM = r"(\d+)"
STR = r'"([^"]+)"'

# (regex, op, order): order "ab" when the sentence names r1 first, "ba" when r2 first.
ARITHMETIC = [
    (rf"Add {NUM} and {NUM}", "add", "ab"),
    (rf"What is {NUM} plus {NUM}\?", "add", "ab"),
    (rf"What is the sum of {NUM} and {NUM}\?", "add", "ab"),
    (rf"Add {NUM} to {NUM}", "add", "ba"),
    (rf"What is {NUM} minus {NUM}\?", "sub", "ab"),
    (rf"Subtract {NUM} from {NUM}", "sub", "ba"),
    (rf"Take {NUM} away from {NUM}", "sub", "ba"),
    (rf"What is the difference of {NUM} and {NUM}\?", "sub", "ab"),
    (rf"Multiply {NUM} by {NUM}", "mul", "ab"),
    (rf"What is {NUM} times {NUM}\?", "mul", "ab"),
    (rf"What is the product of {NUM} and {NUM}\?", "mul", "ab"),
    (rf"Multiply {NUM} and {NUM}", "mul", "ab"),
    (rf"Divide {NUM} by {NUM}", "div", "ab"),
    (rf"What is {NUM} divided by {NUM}\?", "div", "ab"),
    (rf"How many times does {NUM} go into {NUM}\?", "div", "ba"),
    (rf"What is the quotient of {NUM} and {NUM}\?", "div", "ab"),
]
# (regex, how the third number names the answer: "depth" d -> x_{d+1}, "index" n -> x_n,
# "position" t -> x_{t-1})
FIB = [
    (rf"Start a Fibonacci sequence with {NUM} and {NUM}; what is the term after {NUM} "
     r"additions?\?", "depth"),
    (rf"A sequence begins {NUM}, {NUM} and each further term is the sum of the two before it\. "
     rf"What is term number {NUM}\?", "position"),
    (rf"If x0 = {NUM}, x1 = {NUM} and each term is the sum of the previous two, what is x{NUM}\?",
     "index"),
    (rf"Run the Fibonacci recurrence from {NUM} and {NUM} to depth {NUM}\.", "depth"),
]
SORT = [rf"Sort the string {STR}", rf"Put the letters of {STR} in alphabetical order\.",
        rf"Arrange the characters of {STR} from smallest to largest\.",
        rf"What is {STR} with its letters sorted\?"]
REVERSE = [rf"Reverse the string {STR}", rf"Write {STR} backwards\.",
           rf"What is {STR} spelled backwards\?", rf"Reverse the order of the letters in {STR}\."]
COUNT = [(rf"How many times does {STR} appear in {STR}\?", "cs"),
         (rf"Count the occurrences of {STR} in {STR}\.", "cs"),
         (rf"In the string {STR}, how often does the letter {STR} occur\?", "sc"),
         (rf"How many {STR} characters are there in {STR}\?", "cs")]


def only_match(patterns: list[str], question: str) -> tuple[int, tuple[str, ...]]:
    """The index of the one pattern that matches the whole question, and its groups."""
    hits = [(i, m.groups()) for i, p in enumerate(patterns) if (m := re.fullmatch(p, question))]
    assert len(hits) == 1, (question, hits)
    return hits[0]


def derive(ex: Example, base: int) -> tuple[int, str, object, tuple]:
    """(phrasing index, function, answer, parsed arguments) from the question alone."""
    if ex.task == "arithmetic":
        i, (x, y) = only_match([p for p, _, _ in ARITHMETIC], ex.question)
        _, op, order = ARITHMETIC[i]
        a, b = (int(x), int(y)) if order == "ab" else (int(y), int(x))
        assert op != "div" or b != 0, ex
        value = {"add": a + b, "sub": a - b, "mul": a * b, "div": a // max(b, 1)}[op] % base
        return i, op, value, (op, a, b)
    if ex.task == "fib":
        i, groups = only_match([p for p, _ in FIB], ex.question)
        a, b, k = map(int, groups)
        index = {"depth": k + 1, "index": k, "position": k - 1}[FIB[i][1]]
        xs = [a, b]
        while len(xs) <= index:
            xs.append((xs[-1] + xs[-2]) % base)
        return i, "fib", xs[index], (a, b, index - 1)
    if ex.task == "sort":
        i, (s,) = only_match(SORT, ex.question)
        return i, "insertion_sort", "".join(sorted(s)), (s,)
    if ex.task == "reverse":
        i, (s,) = only_match(REVERSE, ex.question)
        return i, "reverse", s[::-1], (s,)
    assert ex.task == "count"
    i, (x, y) = only_match([p for p, _ in COUNT], ex.question)
    c, s = (x, y) if COUNT[i][1] == "cs" else (y, x)
    assert len(c) == 1
    return i, "count", s.count(c), (c, s)


@pytest.mark.parametrize("name", sorted(TASKS))
def test_same_seed_same_examples(name):
    first = generate(name, 200, seed=7)
    assert first == generate(name, 200, seed=7)
    assert first != generate(name, 200, seed=8)
    assert len(first) == 200 and generate(name, 0, seed=7) == []


@pytest.mark.parametrize("name", sorted(TASKS))
@pytest.mark.parametrize("base", [128, 256])
def test_answers_agree_with_the_question(name, base):
    examples = generate(name, 600, seed=1, base=base)
    for ex in examples:
        _, function, answer, _ = derive(ex, base)
        assert (ex.function, ex.answer) == (function, answer), ex
        for other in ex.equivalents:  # string_sort for sorting: the same answer, by reference
            s = derive(ex, base)[3][-1]
            assert (ex.task, other) == ("sort", "string_sort"), ex
            memory = REFERENCES[other]({}, [ord(ch) for ch in s], base)[1]
            assert "".join(map(chr, memory[:len(s)])) == ex.answer, ex
        assert bool(ex.equivalents) == (ex.task == "sort"), ex
        kind = TASKS[ex.task].answer_kind
        assert isinstance(ex.answer, int if kind == "int" else str)
        if isinstance(ex.answer, int):
            assert 0 <= ex.answer < base


@pytest.mark.parametrize("name, count", [("arithmetic", 500), ("fib", 400), ("sort", 200),
                                         ("count", 200), ("reverse", 200)])
def test_every_phrasing_occurs(name, count):
    examples = generate(name, count, seed=3)
    used = Counter(derive(ex, 128)[0] for ex in examples)
    patterns = {"arithmetic": ARITHMETIC, "fib": FIB, "sort": SORT, "count": COUNT,
                "reverse": REVERSE}[name]
    assert set(used) == set(range(len(patterns)))
    if name == "arithmetic":  # at least three phrasings per op, all used
        per_op = Counter(ARITHMETIC[i][1] for i in used)
        assert per_op == {"add": 4, "sub": 4, "mul": 4, "div": 4}


def test_paper_sized_arithmetic_has_distinct_triples():
    examples = generate("arithmetic", 45151, seed=0)
    triples = [derive(ex, 128)[3] for ex in examples]
    assert len(set(triples)) == 45151
    assert all(b != 0 for op, _, b in triples if op == "div")
    assert set(Counter(op for op, _, _ in triples)) == {"add", "sub", "mul", "div"}


def test_arithmetic_covers_every_triple_then_repeats():
    total = 3 * 16 * 16 + 16 * 15  # add, sub, mul over 0..15; div without a zero divisor
    exact = {derive(ex, 16)[3] for ex in generate("arithmetic", total, seed=2, base=16)}
    assert len(exact) == total
    more = [derive(ex, 16)[3] for ex in generate("arithmetic", total + 50, seed=2, base=16)]
    assert set(more) == exact and max(Counter(more).values()) == 2


def test_arithmetic_ops_and_fib_depths_options():
    subs = generate("arithmetic", 100, seed=0, ops=("sub",))
    assert {ex.function for ex in subs} == {"sub"}
    assert {ex.function for ex in generate("arithmetic", 200, seed=0, ops=["mul", "div"])} == {"mul", "div"}
    depths = Counter(derive(ex, 128)[3][2] for ex in generate("fib", 300, seed=0))
    assert set(depths) == {1, 2, 3, 4}
    assert {derive(ex, 128)[3][2] for ex in generate("fib", 50, seed=0, depths=(9, 12))} == {9, 12}


@pytest.mark.parametrize("name", ["sort", "count", "reverse"])
def test_string_lengths_honoured_and_codes_fit(name):
    examples = generate(name, 300, seed=4, lengths=(5, 17))
    strings = [derive(ex, 128)[3][-1] for ex in examples]
    assert Counter(map(len, strings)).keys() == {5, 17}
    assert set("".join(strings)) <= set("abcdefghijklmnopqrstuvwxyz")
    defaults = {len(derive(ex, 128)[3][-1]) for ex in generate(name, 300, seed=4)}
    assert defaults == {8, 10, 12}
    long = generate(name, 3, seed=4, base=128, lengths=(127,))
    assert all(len(derive(ex, 128)[3][-1]) == 127 for ex in long)


def test_count_answers_are_spread_out():
    answers = Counter(ex.answer for ex in generate("count", 1000, seed=5))
    assert answers[0] > 50 and sum(v for k, v in answers.items() if k >= 3) > 50
    assert len(answers) >= 6


def test_mixed_is_an_even_mixture_keeping_each_task():
    examples = generate("mixed", 1003, seed=6)
    per_task = Counter(ex.task for ex in examples)
    assert set(per_task) == {"arithmetic", "fib", "sort", "count", "reverse"}
    assert max(per_task.values()) - min(per_task.values()) <= 1
    assert {ex.function for ex in examples} == {"add", "sub", "mul", "div", "fib",
                                               "insertion_sort", "count", "reverse"}
    assert [ex.task for ex in examples[:20]] != sorted(ex.task for ex in examples[:20])
    for ex in examples:
        assert derive(ex, 128)[2] == ex.answer


def test_mixed_passes_options_to_its_tasks():
    examples = generate("mixed", 300, seed=6, tasks=("arithmetic", "sort", "count"),
                        lengths=(6,), per_task={"arithmetic": {"ops": ["div"]},
                                                "count": {"lengths": (9,)}})
    assert Counter(ex.task for ex in examples) == {"arithmetic": 100, "sort": 100, "count": 100}
    for ex in examples:
        _, function, answer, args = derive(ex, 128)
        assert answer == ex.answer
        if ex.task == "arithmetic":
            assert function == "div"
        else:
            assert len(args[-1]) == {"sort": 6, "count": 9}[ex.task]


@pytest.mark.parametrize("call, fragment", [
    (lambda: generate("poetry", 3, 0), "unknown task 'poetry'"),
    (lambda: generate("sort", 3, 0, colour=1), "colour"),
    (lambda: generate("arithmetic", 3, 0, ops=("pow",)), "'pow'"),
    (lambda: generate("arithmetic", 3, 0, ops=()), "empty"),
    (lambda: generate("fib", 3, 0, depths=(0,)), "depths"),
    (lambda: generate("fib", 3, 0, base=16, depths=(16,)), "16"),
    (lambda: generate("sort", 3, 0, lengths=(128,)), "128"),
    (lambda: generate("reverse", 3, 0, lengths="8"), "lengths"),
    (lambda: generate("count", 3, 0, base=64), "base 64"),
    (lambda: generate("sort", 3, 0, alphabet='ab"'), "alphabet"),
    (lambda: generate("sort", -1, 0), "count"),
    (lambda: generate("sort", 3, 0, base=1), "base"),
    (lambda: generate("sort", 3, 1.5), "seed"),
    (lambda: generate("mixed", 3, 0, per_task={"fib": {"lengths": (3,)}}), "fib"),
    (lambda: generate("mixed", 3, 0, tasks=("fib",), lengths=(3,)), "lengths"),
    (lambda: generate("mixed", 3, 0, tasks=("mixed",)), "'mixed'"),
    (lambda: split([], 1.5), "train_fraction"),
])
def test_bad_requests_raise_input_error(call, fragment):
    with pytest.raises(InputError, match=re.escape(fragment)):
        call()


def test_split_is_seeded_70_30_and_disjoint():
    examples = generate("mixed", 1000, seed=0)
    train, test = split(examples)
    assert (len(train), len(test)) == (700, 300)
    assert sorted(map(id, train + test)) == sorted(map(id, examples))
    assert (train, test) == split(examples)
    assert split(examples, seed=1)[0] != train
    assert [len(part) for part in split(examples[:10], 0.75)] == [8, 2]


def test_jsonl_round_trip(tmp_path):
    path = tmp_path / "data.jsonl"
    examples = generate("mixed", 100, seed=9) + [Example("Was ist 2 plus 3?", 5)]
    save_jsonl(path, examples)
    assert load_jsonl(path) == examples
    assert load_jsonl(str(path)) == examples
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 101 and set(json.loads(lines[0])) == {"question", "answer", "task", "function"}
    save_jsonl(path, examples[:3])  # replaces, leaving no temporary file behind
    assert load_jsonl(path) == examples[:3]
    assert [p.name for p in tmp_path.iterdir()] == ["data.jsonl"]


def test_jsonl_minimal_records_and_blank_lines(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text('\n{"question": "Add 1 and 2", "answer": 3}\n   \n'
                    '{"question": "Sort the string \\"ba\\"", "answer": "ab", "task": "sort", '
                    '"function": "insertion_sort", "source": "hand"}\n', encoding="utf-8")
    assert load_jsonl(path) == [Example("Add 1 and 2", 3, "jsonl", ""),
                                Example('Sort the string "ba"', "ab", "sort", "insertion_sort")]


def test_jsonl_function_lists_name_every_right_function(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text('{"question": "Continue: 5, 7, 12", "answer": "19", "function": ["fib", "add", "fib"]}\n'
                    '{"question": "Add 1 and 2", "answer": 3, "function": "add"}\n', encoding="utf-8")
    listed, single = load_jsonl(path)
    assert (listed.function, listed.equivalents, listed.functions) == ("fib", ("add",), ["fib", "add"])
    assert listed.answered_by("fib") and listed.answered_by("add") and not listed.answered_by("sub")
    assert not listed.answered_by("") and (single.equivalents, single.functions) == ((), ["add"])
    save_jsonl(tmp_path / "copy.jsonl", [listed, single])
    assert load_jsonl(tmp_path / "copy.jsonl") == [listed, single]
    assert '"function": ["fib", "add"]' in (tmp_path / "copy.jsonl").read_text()


def test_save_rejects_what_load_would_reject(tmp_path):
    with pytest.raises(InputError, match="example 1"):
        save_jsonl(tmp_path / "x.jsonl", [Example("q", 1), Example("q", -1)])
    assert not list(tmp_path.iterdir())


GOOD = '{"question": "Add 1 and 2", "answer": 3}'


@pytest.mark.parametrize("lines, line, fragment", [
    ([GOOD, "", "{not json"], 3, "invalid JSON"),
    ([GOOD, "[1, 2]"], 2, "expected a JSON object, got array"),
    (['{"answer": 3}'], 1, 'missing "question"'),
    ([GOOD, GOOD, '{"question": "Add 1 and 2"}'], 3, 'missing "answer"'),
    ([GOOD, "", "", '{"question": "q", "answer": [1]}'], 4,
     '"answer" must be an integer or a string, got array'),
    (['{"question": "q", "answer": 2.5}'], 1, "is a fraction"),
    (['{"question": "q", "answer": true}'], 1, "got boolean"),
    (['{"question": "q", "answer": null}'], 1, "got null"),
    ([GOOD, '{"question": "q", "answer": -3}'], 2, "is negative"),
    (['{"question": 7, "answer": 3}'], 1, '"question" must be a non-empty string'),
    (['{"question": "", "answer": 3}'], 1, '"question" must be a non-empty string'),
    ([GOOD, '{"question": "q", "answer": 3, "task": 5}'], 2, '"task" must be a string'),
    (['{"question": "q", "answer": 3, "function": null}'], 1, '"function" must be a string'),
    (['{"question": "q", "answer": 3, "function": []}'], 1, '"function" must be a string or a non-empty array'),
    ([GOOD, '{"question": "q", "answer": 3, "function": ["add", 2]}'], 2, "non-empty strings, got"),
])
def test_jsonl_errors_name_file_and_line(tmp_path, lines, line, fragment):
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_jsonl(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: ") and fragment in message
    assert "\n" not in message


def test_jsonl_empty_unreadable_and_undecodable_files(tmp_path):
    for content in (b"", b"\n  \n"):
        (tmp_path / "empty.jsonl").write_bytes(content)
        with pytest.raises(InputError, match=r"empty\.jsonl: no examples"):
            load_jsonl(tmp_path / "empty.jsonl")
    with pytest.raises(InputError, match=r"missing\.jsonl: cannot read"):
        load_jsonl(tmp_path / "missing.jsonl")
    (tmp_path / "bad.jsonl").write_bytes(GOOD.encode() + b'\n{"question": "\xff", "answer": 1}\n')
    with pytest.raises(InputError, match=r"bad\.jsonl:2: not valid UTF-8"):
        load_jsonl(tmp_path / "bad.jsonl")


def test_selection_accuracy_counts_every_right_function():
    from types import SimpleNamespace

    from torch import nn

    from neurocompiler.evaluation import evaluate

    class Picks(nn.Linear):  # answers 0 and picks the function its table gives
        def __init__(self, picks):
            super().__init__(1, 1)
            self.picks = picks

        def predict(self, tokenizer, questions):
            return SimpleNamespace(answers=[0] * len(questions), confidence=[1.0] * len(questions),
                                   chosen=[self.picks[q] for q in questions])

    examples = [Example("a", 0, function="fib", equivalents=("add",)), Example("b", 0, function="fib"),
                Example("c", 0, function="sub"), Example("d", 0)]
    ev = evaluate(Picks({"a": "add", "b": "add", "c": "sub", "d": "mul"}), None, examples)
    assert ev.accuracy == 1.0 and ev.selection_accuracy == 2 / 3  # "d" names no function

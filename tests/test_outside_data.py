"""The outside-style question bank (``tasks/outside.py``): each question is parsed back
by a regex built from its own template, and the inputs it states must give its answer,
both by the library's references and, for a sample, by the exact interpreter running
the shipped library. The bank must use no phrasing of our own generators."""

from __future__ import annotations

import json
import random
import re
import string as strings_module
from collections import Counter

import pytest

from neurocompiler.config import MachineConfig
from neurocompiler.errors import InputError
from neurocompiler.interpreter import run
from neurocompiler.library import function_program
from neurocompiler.library.reference import REFERENCES
from neurocompiler.tasks import generate, load_jsonl
from neurocompiler.tasks.arithmetic import TEMPLATES as ARITH_GEN
from neurocompiler.tasks.fib import TEMPLATES as FIB_GEN
from neurocompiler.tasks.outside import (ARITH_ONLY, INT_TASKS, OUTSIDE_FUNCTIONS, OUTSIDE_MIXTURE,
                                         OUTSIDE_TASKS, TEMPLATES, outside_examples, outside_records,
                                         write_outside)
from neurocompiler.tasks.strings import COUNT_TEMPLATES, REVERSE_TEMPLATES, SORT_TEMPLATES

BASE = 128
SAMPLE = 500
GENERATOR_TEMPLATES = [t for ts in ARITH_GEN.values() for t in ts] + list(FIB_GEN) + list(
    SORT_TEMPLATES + COUNT_TEMPLATES + REVERSE_TEMPLATES)
NUM = r"\d+"
FIELD = {  # placeholder -> what it may hold
    "a": NUM, "b": NUM, "p": NUM, "d": NUM, "n": NUM, "t": NUM,
    "sym": r"[-+*/]", "word": "plus|minus|times|divided by", "c": "[a-z]",
    "text": "[a-z]+(?: [a-z]+)+", "w": "[a-z]+", "x": "[a-z]+", "xr": "[a-z]+", "xs": "[a-z]+",
    "tth": r"\d+(?:st|nd|rd|th)", "repeat": r"once|twice|\d+ times", "dterms": r"\d+ terms?",
    "terms": r"\d+(?:, \d+)+",
}
OPS = {"+": "add", "-": "sub", "*": "mul", "/": "div",
       "plus": "add", "minus": "sub", "times": "mul", "divided by": "div"}


def template_regex(template: str) -> re.Pattern[str]:
    """``template`` as a regex with a named group per placeholder (a repeat must match
    the first occurrence)."""
    out, seen = [], set()
    for literal, name, _, _ in strings_module.Formatter().parse(template):
        out.append(re.escape(literal))
        if name is not None:
            out.append(f"(?P={name})" if name in seen else f"(?P<{name}>{FIELD[name]})")
            seen.add(name)
    return re.compile("".join(out))


def loose_regex(template: str) -> re.Pattern[str]:
    """``template`` with every placeholder matching anything: what it could produce."""
    parts = [re.escape(lit) + (".+" if name is not None else "")
             for lit, name, _, _ in strings_module.Formatter().parse(template)]
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def stated_inputs(record: dict) -> tuple[str, dict[int, int], list[int], int]:
    """(function, registers, memory, list length or -1 for a scalar answer) read from
    the question alone, by the phrasing's template; checks the template's side facts."""
    task, pid, question = record["task"], record["phrasing"], record["question"]
    m = template_regex(dict(TEMPLATES[task])[pid]).fullmatch(question)
    assert m, (pid, question)
    g = m.groupdict()
    if "p" in g and "a" in g:
        assert int(g["p"]) not in (int(g["a"]), int(g["b"])), question  # a distractor, not an operand
    if task == "outside-arith":
        op = OPS[g["sym"]] if "sym" in g else OPS[g["word"]] if "word" in g else ARITH_ONLY[pid][0]
        a, b = int(g["a"]), int(g["b"])
        natural = {"add": a + b < BASE, "sub": a >= b, "mul": a * b < BASE, "div": b >= 1}
        assert natural[op], question
        return op, {1: a, 2: b}, [], -1
    if task == "outside-count":
        assert len(g["text"]) <= 60 and 2 <= len(g["text"].split()) <= 8
        return "count", {1: len(g["text"]), 2: ord(g["c"])}, [ord(ch) for ch in g["text"]], -1
    if task in ("outside-reverse", "outside-sort"):
        w = g["w"]
        if "x" in g:
            assert g["x"] != w
            assert (g.get("xr") or g["xs"]) == (g["x"][::-1] if "xr" in g else "".join(sorted(g["x"])))
        return main(record), {1: len(w)}, [ord(ch) for ch in w], len(w)
    assert task == "outside-fib"
    if "terms" in g:  # x_0..x_d shown: the answer is the next term
        terms = [int(v) for v in g["terms"].split(", ")]
        assert all(terms[i] == (terms[i - 1] + terms[i - 2]) % BASE for i in range(2, len(terms)))
        a, b, d = terms[0], terms[1], len(terms) - 1
    else:
        a, b = int(g["a"]), int(g["b"])
        if "tth" in g or "t" in g:  # 1-based position t of x_{d+1}: d = t - 2
            d = int(re.match(NUM, g.get("tth") or g["t"]).group()) - 2
        elif "n" in g:  # F(n) = x_n: d = n - 1
            d = int(g["n"]) - 1
        elif "repeat" in g:
            d = {"once": 1, "twice": 2}.get(g["repeat"]) or int(g["repeat"].split()[0])
        else:  # "k terms after" x_1 is x_{1+k}
            d = int(g["dterms"].split()[0])
    return "fib", {1: a, 2: b, 3: d}, [], -1


def main(record: dict) -> str:
    """The record's main function: its "function", or the first of a list."""
    return record["function"][0] if isinstance(record["function"], list) else record["function"]


def equivalent_inputs(record: dict) -> list[tuple[str, dict[int, int], list[int], int]]:
    """(function, registers, memory, length) for each equivalent the record lists, its
    inputs read from the question as a user would: string_sort takes the word as a
    0-terminated string; add takes the last two terms shown, or x_0 and x_1."""
    function, registers, memory, length = stated_inputs(record)
    out = []
    for other in (record["function"][1:] if isinstance(record["function"], list) else []):
        if other == "string_sort":
            out.append((other, {}, memory, length))
        else:
            assert other == "add" and function == "fib", record
            terms = re.findall(NUM, record["question"].split(":")[1]) if record["phrasing"] == "continue-list" else []
            a, b = (int(terms[-2]), int(terms[-1])) if terms else (registers[1], registers[2])
            out.append((other, {1: a, 2: b}, [], -1))
    return out


def expected(function: str, registers: dict[int, int], memory: list[int], length: int) -> int | str:
    out_registers, out_memory = REFERENCES[function](registers, memory, BASE)
    return out_registers[0] if length < 0 else "".join(map(chr, out_memory[:length]))


def naive(function: str, registers: dict[int, int], memory: list[int]) -> int | str:
    """The same answers without the library: plain Python on the stated inputs."""
    a, b = registers.get(1, 0), registers.get(2, 0)
    text = "".join(map(chr, memory))
    if function == "fib":
        for _ in range(registers[3]):
            a, b = b, (a + b) % BASE
        return b
    return {"add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b, "div": lambda: a // b,
            "count": lambda: text.count(chr(b)), "reverse": lambda: text[::-1],
            "insertion_sort": lambda: "".join(sorted(text))}[function]()


@pytest.fixture(scope="module")
def samples() -> dict[str, list[dict]]:
    return {task: outside_records(task, SAMPLE, random.Random(7), BASE) for task in OUTSIDE_TASKS}


def test_templates_are_data() -> None:
    assert set(TEMPLATES) == set(OUTSIDE_TASKS) == set(INT_TASKS) | {"outside-reverse", "outside-sort"}
    for task, templates in TEMPLATES.items():
        ids = [pid for pid, _ in templates]
        assert 6 <= len(ids) <= 10 and len(set(ids)) == len(ids), task
        assert all(re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", pid) for pid in ids)
    assert set(ARITH_ONLY) <= {pid for pid, _ in TEMPLATES["outside-arith"]}
    arith = dict(TEMPLATES["outside-arith"])
    assert any("{p}" in t for t in arith.values())  # a distractor number
    assert any(t.index("{b}") < t.index("{a}") for t in arith.values())  # operands out of order


def test_answers_are_the_references_on_the_stated_inputs(samples: dict[str, list[dict]]) -> None:
    for task, records in samples.items():
        assert len(records) == SAMPLE and len({r["question"] for r in records}) == SAMPLE
        for r in records:
            assert set(r) == {"question", "answer", "task", "function", "phrasing"} and r["task"] == task
            function, registers, memory, length = stated_inputs(r)
            assert function == main(r) and function in OUTSIDE_FUNCTIONS[task]
            want = expected(function, registers, memory, length)
            assert want == naive(function, registers, memory), r
            if task in INT_TASKS:
                assert isinstance(r["answer"], (int, str)) and int(r["answer"]) == want, r
                assert 0 <= want < BASE
            else:
                assert r["answer"] == want and isinstance(want, str) and 3 <= len(want) <= 16, r


def test_equivalents_answer_every_question_they_are_listed_for(samples: dict[str, list[dict]]) -> None:
    config = MachineConfig(base=BASE)
    listed = Counter()
    for task, records in samples.items():
        for r in records:
            for function, registers, memory, length in equivalent_inputs(r):
                listed[(task, function)] += 1
                assert str(expected(function, registers, memory, length)) == str(r["answer"]), (r, function)
                if listed[(task, function)] <= 12:  # and the shipped library, on a sample
                    result = run(function_program(function, config), {**registers, 15: BASE - 1}, memory,
                                 max_steps=20_000)
                    got = result.registers[0] if length < 0 else "".join(map(chr, result.memory[:length]))
                    assert result.halted and str(got) == str(r["answer"]), (r, function, got)
    assert listed[("outside-sort", "string_sort")] == SAMPLE  # every sort question
    fib = samples["outside-fib"]
    assert listed[("outside-fib", "add")] == sum(r["phrasing"] == "continue-list" or stated_inputs(r)[1][3] == 1
                                                 for r in fib) > 0
    assert not any(isinstance(r["function"], list) for t in ("outside-arith", "outside-count", "outside-reverse")
                   for r in samples[t])


def test_the_library_itself_agrees_on_a_sample(samples: dict[str, list[dict]]) -> None:
    config = MachineConfig(base=BASE)
    programs = {f: function_program(f, config) for fs in OUTSIDE_FUNCTIONS.values() for f in fs}
    for task, records in samples.items():
        for r in records[:12] + [r for r in records if r["function"] in ("sub", "div")][:6]:
            function, registers, memory, length = stated_inputs(r)
            result = run(programs[function], {**registers, 15: BASE - 1}, memory, max_steps=20_000)
            assert result.halted, r
            got = result.registers[0] if length < 0 else "".join(map(chr, result.memory[:length]))
            assert str(got) == str(r["answer"]), (r, got)


def test_every_phrasing_and_both_answer_forms_appear(samples: dict[str, list[dict]]) -> None:
    for task, records in samples.items():
        assert Counter(r["phrasing"] for r in records).keys() == {pid for pid, _ in TEMPLATES[task]}
        kinds = Counter(type(r["answer"]) for r in records)
        if task in INT_TASKS:
            assert kinds[int] > SAMPLE / 4 and kinds[str] > SAMPLE / 4, (task, kinds)
            assert all(not isinstance(r["answer"], str) or r["answer"].isdigit() for r in records)
        else:
            assert set(kinds) == {str}
    assert {r["function"] for r in samples["outside-arith"]} == {"add", "sub", "mul", "div"}


def test_no_question_is_one_of_our_generators() -> None:
    ours = [loose_regex(t) for t in GENERATOR_TEMPLATES]
    for task, templates in TEMPLATES.items():
        for pid, template in templates:
            skeleton = re.sub(r"\{\w+\}", "{}", template).lower()
            assert all(skeleton != re.sub(r"\{\w+\}", "{}", t).lower() for t in GENERATOR_TEMPLATES)
    bank = outside_records(OUTSIDE_MIXTURE, 1500, random.Random(3), BASE)
    for r in bank:
        assert not any(p.fullmatch(r["question"]) for p in ours), r
    theirs = [template_regex(t) for ts in TEMPLATES.values() for _, t in ts]
    for name in ("arithmetic", "fib", "sort", "count", "reverse"):
        for ex in generate(name, 200, seed=1, base=BASE):
            assert not any(p.fullmatch(ex.question) for p in theirs), ex


def test_deterministic_mixture_and_examples() -> None:
    one = outside_records("outside-mixed", 103, random.Random(5), BASE)
    assert one == outside_records("mixed", 103, random.Random(5), BASE)
    assert Counter(r["task"] for r in one).keys() == set(OUTSIDE_TASKS)
    assert max(Counter(r["task"] for r in one).values()) - min(Counter(r["task"] for r in one).values()) <= 1
    examples = outside_examples("arith", 50, random.Random(5), BASE)
    assert all(isinstance(e.answer, int) and e.task == "outside-arith" for e in examples)
    assert [e.question for e in examples] == [r["question"] for r in outside_records("arith", 50, random.Random(5))]
    assert all(isinstance(e.answer, str) for e in outside_examples("sort", 20, random.Random(5)))
    deep = outside_records("fib", 60, random.Random(5), BASE, depths=(7,))
    assert all(stated_inputs(r)[1][3] == 7 for r in deep)


def test_bad_requests() -> None:
    with pytest.raises(InputError, match="unknown outside task"):
        outside_records("outside-nope", 3, random.Random(0))
    with pytest.raises(InputError, match="base 64"):
        outside_records("reverse", 3, random.Random(0), 64)
    assert len(outside_records("arith", 5, random.Random(0), 64)) == 5


def test_written_files_load_and_split_cleanly(tmp_path) -> None:
    paths = write_outside(tmp_path / "out", train=60, test=25, seed=11)
    assert set(paths) == set(OUTSIDE_TASKS) | {OUTSIDE_MIXTURE}
    union: dict[str, set[str]] = {"train": set(), "test": set()}
    for task, (train_path, test_path) in paths.items():
        train, test = load_jsonl(train_path), load_jsonl(test_path)
        size = (60 * len(OUTSIDE_TASKS), 25 * len(OUTSIDE_TASKS)) if task == OUTSIDE_MIXTURE else (60, 25)
        assert (len(train), len(test)) == size
        assert not {e.question for e in train} & {e.question for e in test}
        for ex in train + test:
            assert ex.task in OUTSIDE_TASKS and (task == OUTSIDE_MIXTURE or ex.task == task)
            assert ex.function in OUTSIDE_FUNCTIONS[ex.task]
            assert isinstance(ex.answer, int if ex.task in INT_TASKS else str), ex
        raw = [json.loads(line) for line in train_path.read_text().splitlines()]
        assert all(r["phrasing"] in dict(TEMPLATES[r["task"]]) for r in raw)
        if task == "outside-arith":
            assert {type(r["answer"]) for r in raw} == {int, str}
        if task != OUTSIDE_MIXTURE:
            union["train"] |= {e.question for e in train}
            union["test"] |= {e.question for e in test}
    mixed_train, mixed_test = (load_jsonl(p) for p in paths[OUTSIDE_MIXTURE])
    assert {e.question for e in mixed_train} == union["train"]
    assert {e.question for e in mixed_test} == union["test"]
    again = write_outside(tmp_path / "again", train=60, test=25, seed=11)
    for task in paths:
        for first, second in zip(paths[task], again[task]):
            assert first.read_bytes() == second.read_bytes()
    assert not list((tmp_path / "out").glob(".*.tmp"))

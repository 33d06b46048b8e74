"""JSONL answers as public data sets write them: a string of digits is an integer
(``--answers auto``), ``--answers int|str`` override, and what the machine cannot
represent is one line naming the file and the line."""

import json

import pytest

from neurocompiler.cli import main
from neurocompiler.errors import InputError
from neurocompiler.tasks import load_jsonl
from neurocompiler.tasks.jsonl import read_answer

# (JSON answer, --answers, the answer read, or a fragment of the error)
CASES = [
    (17, "auto", 17), ("17", "auto", 17), ("+5", "auto", 5), (" 42 ", "auto", 42), ("0", "auto", 0),
    ("abc", "auto", "abc"), ("17a", "auto", "17a"), ("dl if", "auto", "dl if"),
    ("-3", "auto", "is negative"), (-3, "auto", "is negative"), ("", "auto", "is empty"),
    (17.5, "auto", "is a fraction"), (17.0, "auto", "write it as 17"), (True, "auto", "got boolean"),
    (None, "auto", "got null"), ([1], "auto", "got array"), ({"a": 1}, "auto", "got object"),
    ("17", "int", 17), (17, "int", 17), ("abc", "int", "is not an integer (--answers int)"),
    (17, "str", "17"), ("17", "str", "17"), ("-3", "str", "-3"), ("", "str", "is empty"),
    (2.5, "str", "is a fraction"),
]


@pytest.mark.parametrize("value, kind, expected", CASES)
def test_read_answer(value, kind, expected):
    answer, why = read_answer(value, kind)
    if isinstance(expected, str) and why is not None:
        assert answer is None and expected in why, why
    else:
        assert why is None and answer == expected and type(answer) is type(expected), (answer, why)


def test_load_jsonl_types_answers_and_names_the_bad_line(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text('{"question": "Calculate 97 - 64.", "answer": "33"}\n'
                    '{"question": "Reverse dlif", "answer": "fild"}\n\n'
                    '{"question": "What is 1.5 + 1?", "answer": 2.5}\n')
    with pytest.raises(InputError, match=r"data.jsonl:4: \"answer\" 2.5 is a fraction"):
        load_jsonl(path)
    path.write_text('{"question": "Calculate 97 - 64.", "answer": "33"}\n{"question": "Reverse dlif", "answer": "fild"}\n')
    assert [e.answer for e in load_jsonl(path)] == [33, "fild"]
    assert [e.answer for e in load_jsonl(path, "str")] == ["33", "fild"]
    with pytest.raises(InputError, match=r"data.jsonl:2: .* is not an integer"):
        load_jsonl(path, "int")


def _files(tmp_path, rows):
    for name, part in (("train", rows[:30]), ("test", rows[30:])):
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in part))


def test_string_answers_train_as_integers_and_the_run_keeps_their_type(tmp_path, capsys):
    """Before: "answer": "17" was the 2-character string 17 (with --cells 2 an error,
    in a test file 0% without a word)."""
    rows = [{"question": f"Add {a} and {b}", "answer": str((a + b) % 16)} for a in range(8) for b in range(5)]
    _files(tmp_path, rows)
    small = ["--base", "16", "--cells", "2", "--set", "dim=16", "--set", "heads=2", "--set", "kv_heads=1",
             "--set", "layers=2", "--functions", "add,sub", "--epochs", "1"]
    run = tmp_path / "run"
    assert main(["train", "--task", "jsonl", "--train", str(tmp_path / "train.jsonl"), "--test",
                 str(tmp_path / "test.jsonl"), "--out", str(run), *small]) == 0
    out = capsys.readouterr()
    assert "warning" not in out.err, out.err
    saved = [json.loads(line)["answer"] for line in (run / "data" / "test.jsonl").read_text().splitlines()]
    assert saved == [(a + b) % 16 for a in range(8) for b in range(5)][30:]
    assert main(["eval", str(run), "--test", str(tmp_path / "test.jsonl"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 10
    # read as text, the same answers cannot be given by add and sub: one line, at the first
    assert main(["train", "--task", "jsonl", "--train", str(tmp_path / "train.jsonl"), "--test",
                 str(tmp_path / "test.jsonl"), "--answers", "str", "--out", str(tmp_path / "run2"), *small]) == 2
    err = capsys.readouterr().err
    assert "train.jsonl:1: " in err and len(err.splitlines()) == 1 and not (tmp_path / "run2").exists()


@pytest.mark.parametrize("rows, functions, base, why", [
    ([("Calculate 97 - 64.", 33)], ("add", "sub"), 128, "the number 97 in the question ("),
    ([("What is 3 + 4?", 7), ("What is 9 + 6?", 15)], ("add", "sub"), 16, "the answer 15 ("),
    ([("What is 3 + 4?", 7)], ("add", "sub"), 8, "the answer 7"),
    ([("Reverse the word ab", "ba")], ("reverse",), 128, "the character 'b' (code 98)"),
    ([("Reverse café", "éfac")], ("reverse",), 256, "(code 233)"),
    ([("Add 1 and 2", 3)], None, 128, "the library's length"),  # every function: over 64 instructions
])
def test_the_base_fits_the_data(tmp_path, rows, functions, base, why):
    from neurocompiler.library import load_specs
    from neurocompiler.runconfig import fit_base

    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps({"question": q, "answer": a}) + "\n" for q, a in rows))
    got, reason = fit_base(load_jsonl(path), functions or tuple(load_specs()))
    assert got == base and why in reason and reason.startswith(f"base {base}: "), reason
    if "(" in why:  # where the value is: its file and line
        assert f"{path}:" in reason, reason


def test_train_without_base_fits_it_says_why_and_saves_it(tmp_path, capsys):
    rows = [{"question": f"What is {a} + {b}?", "answer": a + b} for a in range(6) for b in range(6)]
    _files(tmp_path, rows)
    run = tmp_path / "run"
    assert main(["train", "--task", "jsonl", "--train", str(tmp_path / "train.jsonl"), "--test",
                 str(tmp_path / "test.jsonl"), "--functions", "add,sub", "--cells", "2", "--set", "dim=16",
                 "--set", "heads=2", "--set", "kv_heads=1", "--set", "layers=2", "--epochs", "1", "--out", str(run)]) == 0
    out = capsys.readouterr().out
    assert "base 16: the least power of two above 9, the answer 9 (" in out, out
    assert json.loads((run / "config.json").read_text())["model"]["base"] == 16

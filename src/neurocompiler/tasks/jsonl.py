"""Question/answer datasets as JSON Lines: one object per line,
``{"question": str, "answer": int | str, "task"?: str, "function"?: str | [str, ...]}``;
a list of functions names every library function that answers the question, the
main one first (:attr:`Example.equivalents`)."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Iterable

from ..errors import InputError
from ..files import file_mode
from ..resources import JSONL_LIMIT, read_limited
from .example import Example


def _check(obj: object) -> str | None:
    """Why ``obj`` is not a valid record, or None."""
    if not isinstance(obj, dict):
        return f"expected a JSON object, got {_kind(obj)}"
    for key in ("question", "answer"):
        if key not in obj:
            return f'missing "{key}"'
    question = obj["question"]
    if not isinstance(question, str) or not question.strip():
        return f'"question" must be a non-empty string, got {_kind(question)}'
    if "task" in obj and not isinstance(obj["task"], str):
        return f'"task" must be a string, got {_kind(obj["task"])}'
    function = obj.get("function", "")
    if isinstance(function, list):
        if not function or not all(isinstance(f, str) and f for f in function):
            return f'"function" must be a string or a non-empty array of non-empty strings, got {json.dumps(function)}'
    elif not isinstance(function, str):
        return f'"function" must be a string or an array of strings, got {_kind(function)}'
    return None


def record_functions(obj: dict) -> tuple[str, tuple[str, ...]]:
    """A checked record's main function and its equivalents (``"function"`` a string
    or a list, the main one first)."""
    function = obj.get("function", "")
    if isinstance(function, list):
        return function[0], tuple(dict.fromkeys(f for f in function[1:] if f != function[0]))
    return function, ()


ANSWER_KINDS = ("auto", "int", "str")
_INTEGER = re.compile(r"[+-]?[0-9]+")


def read_answer(value: object, kind: str = "auto") -> tuple[int | str | None, str | None]:
    """``(answer, None)``, or ``(None, why it is not one)``. A JSON integer, or with
    ``kind`` "auto" or "int" a string of digits (optionally signed, as public data sets
    write numbers: ``"17"``), is an integer answer; any other string is a string answer
    ("int": an error); with "str" every answer is a string (``17`` reads as ``"17"``).
    Integers must be >= 0 (the machine's values are 0..base-1); an empty answer, a
    fraction, a boolean, null, an array or an object is refused."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None, f'"answer" must be an integer or a string, got {_kind(value)}'
    if isinstance(value, float):
        whole = value.is_integer() and f" (write it as {int(value)})" or \
            ' (the machine answers integers 0..base-1 or strings; quote it, "%s", to train on its text)' % value
        return None, f'"answer" {value!r} is a fraction, not an integer{whole}'
    if kind == "str":
        return (str(value), None) if str(value) else (None, '"answer" is empty (write the answer, or drop the line)')
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, int):
        if value < 0:
            return None, (f'"answer" {value} is negative, but the machine\'s values are 0..base-1 (shift or drop '
                          f'these answers, or --answers str to train on their text)')
        return value, None
    if not value:
        return None, '"answer" is empty (write the answer, or drop the line)'
    if kind == "int":
        return None, f'"answer" {json.dumps(value, ensure_ascii=False)} is not an integer (--answers int)'
    return value, None


def _kind(value: object) -> str:
    names = {dict: "object", list: "array", str: "string" if value else "empty string",
             bool: "boolean", type(None): "null", float: "number"}
    return names.get(type(value), type(value).__name__)


def load_jsonl(path: str | os.PathLike[str], answers: str = "auto") -> list[Example]:
    """The examples in ``path``, their answers read as ``answers`` says
    (:func:`read_answer`). Blank lines are skipped; keys other than question, answer,
    task and function are ignored; a missing task reads as ``"jsonl"``. Any bad line
    raises ``InputError("FILE:LINE: why")``; so does a file with no examples."""
    if answers not in ANSWER_KINDS:
        raise InputError(f"--answers {answers}: expected one of {', '.join(ANSWER_KINDS)}")
    name = os.fspath(path)
    try:
        data = read_limited(path, JSONL_LIMIT, "a JSONL file")
    except OSError as e:
        raise InputError(f"{name}: cannot read file: {e.strerror or e}") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    out = []
    for number, raw in enumerate(data.splitlines(), 1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{name}:{number}: not valid UTF-8") from None
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{name}:{number}: invalid JSON: {e.msg} (column {e.colno})") from None
        problem = _check(obj)
        answer, why = read_answer(obj["answer"], answers) if problem is None else (None, problem)
        if why:
            raise InputError(f"{name}:{number}: {why}")
        function, equivalents = record_functions(obj)
        out.append(Example(obj["question"], answer, obj.get("task", "jsonl"), function,
                           source=f"{name}:{number}", equivalents=equivalents))
    if not out:
        raise InputError(f"{name}: no examples (the file is empty)")
    return out


def save_jsonl(path: str | os.PathLike[str], examples: Iterable[Example]) -> None:
    """Write ``examples`` to ``path``, one object per line with all four fields,
    atomically: a temporary file in the same folder replaces ``path`` at the end.
    An example :func:`load_jsonl` would reject raises ``InputError`` before writing."""
    lines = []
    for i, ex in enumerate(examples):
        record = {"question": ex.question, "answer": ex.answer, "task": ex.task,
                  "function": ex.functions if ex.equivalents else ex.function}
        problem = _check(record) or read_answer(ex.answer, "str" if isinstance(ex.answer, str) else "auto")[1]
        if problem:
            raise InputError(f"example {i}: {problem}")
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
    target = Path(path)
    try:
        mode = file_mode(target)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as e:
        raise InputError(f"{os.fspath(path)}: cannot write file: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.writelines(lines)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise InputError(f"{os.fspath(path)}: cannot write file: {e.strerror or e}") from None
        raise

"""What `neurocompiler ask` prints of a parse: the registers, and memory as codes and,
where every code is printable, as the text it read."""

from __future__ import annotations

import pytest

from neurocompiler import train
from neurocompiler.cli import main


def _answer(memory):
    return {"answer": 5, "program": "count", "p_program": 0.99, "registers": {"r1": len(memory), "r2": 111},
            "memory": memory, "confidence": 0.98, "p_halted": 1.0}


@pytest.mark.parametrize("memory,shown", [
    ([103, 111, 111, 100], "memory=[103, 111, 111, 100] ('good')"),
    ([3, 4], "memory=[3, 4]\n"),  # not text: the codes alone
    ([], "memory=[]\n"),
])
def test_ask_prints_the_text_a_parse_read(monkeypatch, capsys, memory, shown):
    monkeypatch.setattr(train, "ask", lambda run, question, device: _answer(memory))
    assert main(["ask", "somewhere", "Count the o's in good"]) == 0
    out = capsys.readouterr().out
    assert shown in out and "r1=" in out and "program: count (p = 0.990)" in out

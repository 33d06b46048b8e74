"""The benchmark generators at tiny sizes: row schema and sane values (no timing bars)."""

from __future__ import annotations

import math

import pytest

from neurocompiler import bench


def _positive(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0


def test_alu_rows_schema():
    rows = list(bench.alu_rows(sizes=[16], batch=2, repeats=1, circuit_bits=()))
    assert [r["method"] for r in rows] == list(bench.ALU_METHODS)
    for r in rows:
        assert {"method", "n", "batch", "fwd_bwd_ms", "table_bytes"} <= r.keys()
        assert r["n"] == 16 and r["batch"] == 2 and r["n_ops"] == 8
        assert "skipped" not in r
        assert _positive(r["fwd_bwd_ms"]) and _positive(r["table_bytes"])
    by = {r["method"]: r for r in rows}
    dense = 8 * 16 ** 3 * 4
    assert by["dense_einsum"]["table_bytes"] == by["dense_best"]["table_bytes"] == dense
    assert by["table"]["table_bytes"] < dense


def test_alu_rows_skip_over_budget():
    rows = list(bench.alu_rows(sizes=[16], batch=2, repeats=1, budget=1, circuit_bits=()))
    assert all(r["fwd_bwd_ms"] is None and r["skipped"] for r in rows)
    assert all(_positive(r["table_bytes"]) for r in rows if r["method"] != "table")


def test_circuit_rows_schema():
    rows = list(bench.circuit_rows(bits=[4, 20], batch=2, repeats=1))
    assert [(r["method"], r["bits"]) for r in rows] == [
        ("circuit", 4), ("circuit_bits", 4), ("circuit", 20), ("circuit_bits", 20)]
    assert rows[2]["skipped"] and rows[2]["fwd_bwd_ms"] is None  # 2^20-wide one-hot
    for r in (rows[0], rows[1], rows[3]):
        assert "skipped" not in r and _positive(r["fwd_bwd_ms"])


def test_machine_rows_schema():
    # The Figure 4 sort has 34 instructions, so the base must be at least 34.
    rows = list(bench.machine_rows(batches=[2], base=40, repeats=1, steps=4))
    assert [r["alu"] for r in rows] == list(bench.MACHINE_ALUS)
    for r in rows:
        assert {"alu", "batch", "base", "steps_per_s", "fwd_bwd_steps_per_s"} <= r.keys()
        assert r["batch"] == 2 and r["base"] == 40
        assert "skipped" not in r
        assert _positive(r["steps_per_s"]) and _positive(r["fwd_bwd_steps_per_s"])
        assert r["steps"] == r["fwd_bwd_steps"] == 4


def test_machine_rows_skip_over_budget():
    (row,) = bench.machine_rows(batches=[2], base=40, repeats=1, steps=4, alus=["dense"], budget=1)
    assert row["skipped"] and row["steps_per_s"] is None and row["fwd_bwd_steps_per_s"] is None


def test_size_rows_subprocess():
    (row,) = bench.size_rows(bases=[40])
    assert "skipped" not in row, row.get("skipped")
    assert row["halted"] and row["correct"] and row["ok"]
    assert _positive(row["peak_rss_bytes"]) and row["peak_rss_bytes"] < bench.SIZE_LIMIT


def test_summary_ratios():
    alu = [{"method": "dense_einsum", "n": 256, "n_ops": 8, "fwd_bwd_ms": 1000.0},
           {"method": "dense_best", "n": 256, "n_ops": 8, "fwd_bwd_ms": 40.0},
           {"method": "table", "n": 256, "n_ops": 8, "fwd_bwd_ms": 10.0, "table_bytes": 2 ** 20}]
    machine = [{"alu": "table", "batch": 32, "fwd_bwd_steps_per_s": 100.0},
               {"alu": "dense", "batch": 32, "fwd_bwd_steps_per_s": 1.0}]
    out = bench.summary(alu, machine, [{"peak_rss_bytes": 2 ** 29}])
    assert out["alu_speedup_vs_dense_einsum"]["value"] == pytest.approx(100)
    assert out["alu_speedup_vs_dense_best"]["value"] == pytest.approx(4)
    assert out["alu_table_bytes_ratio"]["value"] == pytest.approx(2 ** 20 / (8 * 256 ** 3 * 4))
    assert all(r["met"] for r in out.values())
    assert bench.summary()["machine_fwd_bwd_speedup"]["met"] is None


def test_train_rows_time_the_lm_with_and_without_the_computer():
    from neurocompiler.bench import train_rows

    rows = list(train_rows(batch=4, repeats=1, base=16))
    assert [r["model"] for r in rows] == ["augmented", "augmented_copies", "no_computer"]
    for r in rows:
        assert r["train_examples_per_s"] > 0 and r["infer_examples_per_s"] > 0 and r["params"] > 0

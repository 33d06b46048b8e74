"""Training runs of the augmented LM, scaled down: the run directory, exact resume,
bring-your-own JSONL data, a two-process (gloo) run equal to one process, eval and ask,
and non-finite losses stopped rather than trained through."""

import json
import math
import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from neurocompiler.augment import AugmentConfig, BackboneConfig
from neurocompiler.cli import main
from neurocompiler.train import NonFiniteLossError, TrainConfig, train

SMALL = ["--base", "16", "--cells", "2", "--set", "dim=32", "--set", "layers=2"]


def tiny(out, **kw) -> TrainConfig:
    model = AugmentConfig(parsing="slots", base=16, cells=2, backbone=BackboneConfig(dim=32, layers=2))
    args = dict(task="arithmetic", examples=120, epochs=2, batch_size=16, out=str(out), model=model)
    args.update(kw)
    return TrainConfig(**args)


def weights(run):
    return load_file(str(run / "checkpoint" / "model.safetensors"))


def test_run_directory_holds_everything_to_evaluate_ask_and_resume(tmp_path, capsys):
    run = tmp_path / "run"
    metrics = train(tiny(run), progress=False, log=lambda s: None)
    for name in ("config.json", "backbone/config.json", "tokenizer/tokenizer.json", "data/train.jsonl",
                 "data/test.jsonl", "checkpoint/model.safetensors", "checkpoint/optimizer.safetensors",
                 "checkpoint/state.json", "metrics.jsonl", "metrics.csv", "curves.png"):
        assert (run / name).is_file(), name
    state = json.loads((run / "checkpoint" / "state.json").read_text())
    assert (state["epoch"], state["step"]) == (2, 12)
    assert [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()] == state["metrics"]
    assert [row["epoch"] for row in state["metrics"]] == [1, 2]
    assert (run / "checkpoint").is_symlink() and (run / "checkpoint" / "manifest.json").is_file()
    assert sorted(p.name for p in run.iterdir() if p.name.startswith("checkpoint")) == ["checkpoint",
                                                                                  (run / "checkpoint").resolve().name]
    assert len((run / "data" / "train.jsonl").read_text().splitlines()) == 84  # 70/30
    assert main(["eval", str(run), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result == {"accuracy": pytest.approx(metrics["test_accuracy"]), "n": 36}
    assert main(["ask", str(run), "Add 3 and 4", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["program"] in ("add", "sub", "mul", "div") and 0 <= out["confidence"] <= 1
    assert set(out["registers"]) == {"r1", "r2", "r3"} and isinstance(out["answer"], int)


def test_resume_after_a_stop_equals_an_uninterrupted_run(tmp_path):
    train(tiny(tmp_path / "whole", epochs=3), progress=False, log=lambda s: None)
    train(tiny(tmp_path / "parts", epochs=1), progress=False, log=lambda s: None)
    train(tiny(tmp_path / "parts", epochs=3), resume=True, progress=False, log=lambda s: None)
    a, b = weights(tmp_path / "whole"), weights(tmp_path / "parts")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    rows = lambda run: [{k: v for k, v in json.loads(l).items() if k != "epoch_seconds"}  # noqa: E731
                        for l in (run / "metrics.jsonl").read_text().splitlines()]
    assert rows(tmp_path / "whole") == rows(tmp_path / "parts")


def test_jsonl_task_and_its_errors(tmp_path, capsys):
    rows = [{"question": f"Add {a} and {b}", "answer": (a + b) % 16} for a in range(8) for b in range(4)]
    (tmp_path / "train.jsonl").write_text("\n".join(json.dumps(r) for r in rows[:24]) + "\n")
    (tmp_path / "test.jsonl").write_text("\n".join(json.dumps(r) for r in rows[24:]) + "\n")
    code = main(["train", "--task", "jsonl", "--train", str(tmp_path / "train.jsonl"), "--test",
                 str(tmp_path / "test.jsonl"), "--functions", "add,sub", "--epochs", "1",
                 "--out", str(tmp_path / "run"), *SMALL])
    assert code == 0 and len((tmp_path / "run" / "data" / "test.jsonl").read_text().splitlines()) == 8
    capsys.readouterr()
    (tmp_path / "bad.jsonl").write_text('{"question": "Add 1 and 2", "answer": 3}\n{"question": "x"}\n')
    code = main(["train", "--task", "jsonl", "--train", str(tmp_path / "bad.jsonl"), "--test",
                 str(tmp_path / "test.jsonl"), "--out", str(tmp_path / "run2"), *SMALL])
    err = capsys.readouterr().err
    assert code == 2 and "bad.jsonl:2" in err and "Traceback" not in err
    assert main(["eval", str(tmp_path / "nowhere")]) == 2
    assert main(["train", "--resume", "--out", str(tmp_path / "nowhere"), *SMALL]) == 2


def test_non_finite_loss_stops_the_run(tmp_path, monkeypatch):
    import neurocompiler.augment.model as A  # where the model looks the loss up

    monkeypatch.setattr(A, "answer_loss", lambda out, targets: out.int_logits.sum() * float("nan"))
    with pytest.raises(NonFiniteLossError, match="non-finite loss"):
        train(tiny(tmp_path / "run"), progress=False, log=lambda s: None)


def test_two_gloo_processes_train_the_same_model_as_one(tmp_path):
    """With a parse that draws no noise (``slots``), two processes train exactly the model
    one does. The default general parse trains across processes too (its heads need not
    all be touched by every batch, so DDP is told so); its two-process run is checked to
    train, not to equal the one-process run: its selection of input kinds still ends a
    little apart (a known gap, not yet understood)."""
    args = ["train", "--set", "examples=120", "--epochs", "2", "--batch-size", "16", "--device", "cpu", *SMALL]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    for port, preset in ((29517, "slots"), (29518, "general")):
        subprocess.run([torchrun, "--nproc_per_node", "2", "--master_port", str(port), "-m", "neurocompiler",
                        *args, "--preset", preset, "--out", str(tmp_path / f"two-{preset}")], check=True, env=env,
                       capture_output=True)
    assert main([*args, "--preset", "slots", "--out", str(tmp_path / "one")]) == 0
    a, b = weights(tmp_path / "one"), weights(tmp_path / "two-slots")
    assert a.keys() == b.keys()
    assert [k for k in a if not torch.allclose(a[k], b[k], atol=1e-5, rtol=1e-4)] == []
    general = json.loads((tmp_path / "two-general" / "config.json").read_text())["model"]
    assert general["parsing"] == "general"
    trained = [json.loads(line) for line in (tmp_path / "two-general" / "metrics.jsonl").read_text().splitlines()]
    assert len(trained) == 2 and all(math.isfinite(m["train_loss"]) for m in trained)


def test_string_reversal_is_learned_from_answers_far_above_chance(tmp_path):
    """Reverse a 3-letter string: chance of an exact answer is 26**-3 < 0.01%. (Whether
    the model uses the computer or parses the answer itself is not asserted: runs do
    both, see docs/RESULTS.md.) This budget is only 264 steps: the backbone trains at the
    heads' rate, from Hugging Face's embedding init, unlike the §4.2 defaults."""
    run = tmp_path / "run"
    cfg = TrainConfig(task="reverse", task_options={"lengths": (3,)}, examples=1000, epochs=12,
                      lr=5e-3, backbone_lr_scale=1.0, out=str(run),
                      model=AugmentConfig(parsing="slots", base=128, cells=4, functions=("reverse",), max_steps=40,
                                          backbone=BackboneConfig(dim=32, layers=2, embedding_std=0.02)))
    metrics = train(cfg, progress=False, log=lambda s: None)
    assert metrics["test_accuracy"] >= 0.3


def test_natural_language_arithmetic_is_learned_from_answers_with_the_default_recipe(tmp_path):
    """§4.2 scaled down to base 64 and 700 steps, on the defaults (BPE, heads at 3e-3,
    backbone at a tenth, no warm-up, N(0, 1) embeddings). Always answering the commonest
    value (0) scores 17%; the tuned recipe reaches >= 99.5% on every seed tried."""
    model = AugmentConfig(parsing="slots", base=64, cells=2, functions=("add", "sub", "mul", "div"),
                          backbone=BackboneConfig(dim=64, heads=4, kv_heads=2, layers=3))
    metrics = train(TrainConfig(task="arithmetic", examples=8000, epochs=4, tokenizer="bpe",
                                out=str(tmp_path / "run"), model=model), progress=False, log=lambda s: None)
    assert metrics["test_accuracy"] >= 0.9
    assert metrics["selection_accuracy"] >= 0.95


def test_the_backbone_learns_at_a_fraction_of_the_heads_rate(tmp_path):
    from neurocompiler.train import build

    cfg = tiny(tmp_path / "run")
    _, model = build(cfg, tmp_path / "run", [])
    backbone, heads = model.param_groups(0.1)
    assert backbone["lr_scale"] == 0.1 and heads["lr_scale"] == 1.0
    every = {id(p) for p in model.parameters() if p.requires_grad}
    assert {id(p) for p in backbone["params"]} == {id(p) for p in model.backbone.parameters()}
    assert {id(p) for p in backbone["params"]} | {id(p) for p in heads["params"]} == every
    assert not {id(p) for p in backbone["params"]} & {id(p) for p in heads["params"]}


def test_a_backbone_built_from_scratch_has_unit_scale_token_embeddings():
    from neurocompiler.augment import build_backbone

    for std in (1.0, 0.02):
        emb = build_backbone(BackboneConfig(vocab_size=400, dim=64, layers=2, embedding_std=std)).embed_tokens.weight
        assert abs(emb.std().item() - std) < 0.1 * std


def test_bf16_autocast_covers_the_backbone_and_not_the_computer():
    """``--bf16`` autocasts the forward pass; the backbone's matmuls run in bf16 and the
    parse and the machine in float32, so a compiled program stays exact: the answer's
    logits under autocast match the float32 ones (they differed by ~28 when the machine
    ran in bf16)."""
    from neurocompiler.augment import AugmentedLM
    from neurocompiler.presets import preset_model
    from neurocompiler.tasks import generate
    from neurocompiler.tokenizer import build_tokenizer, encode

    tok = build_tokenizer("char")
    cfg = AugmentConfig.from_dict({"base": 128, "cells": 4, "functions": ("insertion_sort", "add"),
                                   **preset_model("spans"),
                                   "backbone": BackboneConfig(vocab_size=len(tok), dim=32, heads=2, kv_heads=1,
                                                              layers=2)})
    torch.manual_seed(0)
    model = AugmentedLM(cfg).eval()
    model.use_tokenizer(tok)
    ids, mask = encode(tok, [e.question for e in generate("sort", 8, 0, base=128, lengths=(4,))])
    seen = []
    model.backbone.layers[0].mlp.register_forward_hook(lambda m, a, out: seen.append(out.dtype))
    with torch.no_grad():
        full = model(ids, mask)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            mixed = model(ids, mask)
    assert seen == [torch.float32, torch.bfloat16]
    assert mixed.str_logits.dtype == mixed.parse.memory.dtype == torch.float32
    assert torch.allclose(mixed.str_logits, full.str_logits, atol=1e-3)


def test_a_bf16_run_learns(tmp_path):
    """The §4.3 recipe's ``--bf16``, on CPU: Fibonacci with register copies, scaled down
    (base 32, depths 1-2); chance is 1/32."""
    from neurocompiler.presets import preset_model

    cfg = AugmentConfig.from_dict({"base": 32, "cells": 2, "functions": ("fib",), **preset_model("copies"),
                                   "max_steps": 20, "backbone": BackboneConfig(dim=32, heads=4, kv_heads=2, layers=2)})
    metrics = train(TrainConfig(task="fib", task_options={"depths": (1, 2)}, examples=1500, epochs=3,
                                batch_size=16, lr=3e-3, tokenizer="bpe", out=str(tmp_path / "run"), model=cfg,
                                device="cpu", bf16=True), progress=False, log=lambda *_: None)
    assert metrics["test_accuracy"] >= 0.5  # 16x chance

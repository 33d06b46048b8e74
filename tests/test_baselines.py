"""The baseline without the computer (issue #6): heads straight on z. It shares the
augmented model's training loop, run directory, evaluation and ``ask``."""

import json
import random

import torch

from neurocompiler.augment import AugmentConfig, BackboneConfig, answer_targets, decode_answers
from neurocompiler.baselines import DirectLM
from neurocompiler.cli import main
from neurocompiler.train import TrainConfig, ask, evaluate_run, load_run, train


def train_on_say(tmp_path, architecture: str, epochs: int) -> dict:
    """Train ``architecture`` on 'Say 5' -> 5 (16 values, varied phrasings, JSONL)."""
    rng = random.Random(0)
    fillers = ["Say", "Please say", "Just say", "Now say", "Say the number", "Repeat"]
    rows = [{"question": f"{rng.choice(fillers)} {a}{rng.choice(['', '.', '!'])}", "answer": a}
            for a in range(16) for _ in range(25)]
    rng.shuffle(rows)
    for name, part in (("train", rows[:300]), ("test", rows[300:])):
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in part))
    cfg = TrainConfig(task="jsonl", train_file=str(tmp_path / "train.jsonl"), test_file=str(tmp_path / "test.jsonl"),
                      epochs=epochs, architecture=architecture, out=str(tmp_path / "run"),
                      model=AugmentConfig(parsing="slots", base=16, cells=2, backbone=BackboneConfig(dim=32, layers=2)))
    return train(cfg, progress=False, log=lambda s: None)

def test_direct_heads_decode_integers_and_strings_by_their_predicted_kind():
    torch.manual_seed(0)
    model = DirectLM(AugmentConfig(parsing="slots", base=16, cells=3, backbone=BackboneConfig(vocab_size=40, dim=16, layers=2)))
    ids, mask = torch.randint(3, 40, (2, 5)), torch.ones(2, 5, dtype=torch.long)
    out = model(ids, mask)
    assert out.int_logits.shape == (2, 16) and out.str_logits.shape == (2, 3, 16)
    with torch.no_grad():
        out.kind_logits[:] = torch.tensor([[5.0, 0.0], [0.0, 5.0]])
        out.int_logits[:] = -9
        out.int_logits[0, 7] = 9
        out.str_logits[:] = -9
        for i, v in enumerate((8, 9, 0)):
            out.str_logits[1, i, v] = 9
    assert decode_answers(model, out) == [7, "\b\t"]
    targets = answer_targets([7, "\b\t"], 16, 3)
    loss = model.loss(out, targets)
    assert torch.isfinite(loss) and loss.item() < 0.02  # the kind head at logits 5 vs 0: 0.0067


def test_direct_baseline_learns_an_answer_it_can_read_off_the_question(tmp_path):
    """'Say 5' -> 5 over 16 values, in varied phrasings: chance is 1/16."""
    metrics = train_on_say(tmp_path, "direct", epochs=40)
    assert metrics["test_accuracy"] >= 0.5 and metrics["selection_accuracy"] is None  # 8x chance; 0.73 seen
    assert evaluate_run(tmp_path / "run")["accuracy"] == metrics["test_accuracy"]
    _, model, _ = load_run(tmp_path / "run")
    assert isinstance(model, DirectLM)
    answer = ask(tmp_path / "run", "Say 11")
    assert set(answer) == {"question", "answer", "confidence"}


def test_train_command_takes_the_architecture(tmp_path, capsys):
    args = ["train", "--set", "architecture=direct", "--set", "examples=80", "--epochs", "1", "--base", "16",
            "--cells", "2", "--set", "dim=32", "--set", "layers=2", "--out", str(tmp_path / "run")]
    assert main(args) == 0
    assert json.loads((tmp_path / "run" / "config.json").read_text())["architecture"] == "direct"
    capsys.readouterr()
    assert main(["ask", str(tmp_path / "run"), "Add 1 and 2"]) == 0
    assert "(no computer)" in capsys.readouterr().out
    assert main([*args[:2], "oracle", *args[3:]]) == 2




def test_autoregressive_batches_predict_exactly_the_answer_and_its_end():
    from neurocompiler.baselines import CausalLM
    from neurocompiler.tasks import Example
    from neurocompiler.tokenizer import build_tokenizer

    tok = build_tokenizer("char")
    model = CausalLM(AugmentConfig(parsing="slots", base=16, cells=2, backbone=BackboneConfig(vocab_size=len(tok), dim=16,
                                                                              layers=2)))
    batch = model.make_batch(tok, [Example("Add 1 and 2", 3), Example("Reverse \"ab\"", "ba")])
    for row, ids, e in zip(batch.targets, batch.input_ids, batch.examples):
        wanted = row[row != -100].tolist()
        assert tok.decode(wanted[:-1]) == f" {e.answer}" and wanted[-1] == tok.pad_token_id
        first = int((row != -100).nonzero()[0])
        assert tok.decode(ids[1:first + 1].tolist()) == f"{e.question} ="  # what it reads first
    logits = model(batch.input_ids, batch.attention_mask)
    assert logits.shape == (*batch.input_ids.shape, len(tok)) and torch.isfinite(model.loss(logits, batch.targets))


def test_autoregressive_baseline_learns_to_write_the_answer(tmp_path):
    """'Say 5' -> '5' over 16 values: chance is 1/16."""
    metrics = train_on_say(tmp_path, "autoregressive", epochs=20)
    assert metrics["test_accuracy"] >= 0.5  # 8x chance
    assert evaluate_run(tmp_path / "run")["accuracy"] == metrics["test_accuracy"]
    answer = ask(tmp_path / "run", "Say 11")
    assert set(answer) == {"question", "answer", "confidence"} and 0 <= answer["confidence"] <= 1

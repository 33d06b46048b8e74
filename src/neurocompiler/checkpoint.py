"""Checkpoints as one atomic unit, verified on load.

A run's ``checkpoint`` is a symbolic link to a directory ``checkpoint.eNNNN-XXXX``
that holds ``model.safetensors``, ``optimizer.safetensors``, ``state.json`` (epoch,
step and the metrics of every epoch so far) and ``manifest.json`` (every other file's
size and SHA-256). A checkpoint is written into a fresh scratch directory
(``checkpoint.tmp-*``), each file flushed to disk, then made current by replacing the
link in one ``rename``; the previous checkpoint is removed only after that. A kill at
any point leaves either the old checkpoint or the new one current, never a mixture,
and its scratch is removed by the next :func:`remove_scratch`.

:func:`load` verifies the manifest before reading anything: a damaged or swapped file
is a one-line :class:`~neurocompiler.errors.InputError` that names it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Callable

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from .errors import InputError

LINK = "checkpoint"
MANIFEST = "manifest.json"
FILES = ("model.safetensors", "optimizer.safetensors", "state.json")


def crash_point(name: str) -> None:
    """Called between the steps of a checkpoint write; the fault-injection tests
    replace it to stop the write there, as a kill would."""


# ---------------------------------------------------------------- writing


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - a platform without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write(path: Path, write: Callable[[str], object]) -> None:
    write(str(path))
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())
    crash_point(f"wrote {path.name}")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def optimizer_tensors(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """An optimizer's state as flat tensors plus JSON metadata (no pickle)."""
    sd = opt.state_dict()
    tensors = {f"{i}.{k}": v if torch.is_tensor(v) else torch.tensor(v)
               for i, st in sd["state"].items() for k, v in st.items()}
    return tensors, {"param_groups": json.dumps(sd["param_groups"])}


def save(run_dir: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, state: dict) -> Path:
    """Write a checkpoint of ``model``, ``opt`` and ``state`` (JSON: epoch, step,
    metrics) and make it the run's current one; returns its directory."""
    run_dir = Path(run_dir)
    meta = {"epoch": str(state["epoch"]), "step": str(state["step"])}
    tmp = Path(tempfile.mkdtemp(dir=run_dir, prefix=f"{LINK}.tmp-"))
    crash_point("made scratch directory")
    weights = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    _write(tmp / FILES[0], lambda p: save_file(weights, p, metadata=meta))
    tensors, opt_meta = optimizer_tensors(opt)
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    _write(tmp / FILES[1], lambda p: save_file(tensors, p, metadata={**meta, **opt_meta}))
    _write(tmp / FILES[2], lambda p: Path(p).write_text(json.dumps(state, indent=2) + "\n"))
    manifest = {name: {"bytes": (tmp / name).stat().st_size, "sha256": _sha256(tmp / name)} for name in FILES}
    _write(tmp / MANIFEST, lambda p: Path(p).write_text(json.dumps(manifest, indent=2) + "\n"))
    final = run_dir / f"{LINK}.e{state['epoch']:04d}-{tmp.name.rsplit('-', 1)[-1]}"
    os.rename(tmp, final)
    _fsync_dir(run_dir)
    crash_point("renamed checkpoint directory")
    link = run_dir / LINK
    if link.is_dir() and not link.is_symlink():  # a run written before checkpoints were links
        os.rename(link, run_dir / f"{LINK}.legacy")
        crash_point("moved the old checkpoint directory aside")
    new_link = run_dir / f"{LINK}.tmp-link"
    new_link.unlink(missing_ok=True)
    os.symlink(final.name, new_link)
    crash_point("made the new link")
    os.replace(new_link, link)  # the commit
    _fsync_dir(run_dir)
    crash_point("replaced the link")
    remove_scratch(run_dir)
    return final


# what save() names: scratch (directory, link), checkpoints, a pre-link run's moved aside
_OURS = re.compile(rf"{LINK}\.(tmp-.+|e[0-9]{{4,}}-[^/]+|legacy)")
_SCRATCH = re.compile(r"\..+\.[A-Za-z0-9_]{8}\.tmp")  # files.atomic_write's: mkstemp(".NAME.", ".tmp")


def remove_scratch(run_dir: Path) -> None:
    """Remove what a killed write left in ``run_dir``: checkpoint directories that are
    not current, scratch links, and atomic writes' scratch files (``.NAME.*.tmp``).
    Anything else (a user's own ``checkpoint.backup``) is left alone."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return
    current = current_dir(run_dir)
    for path in run_dir.iterdir():
        name = path.name
        if _OURS.fullmatch(name) and (current is None or path.resolve() != current.resolve()):
            if path.is_symlink() or not path.is_dir():
                path.unlink(missing_ok=True)
            else:
                shutil.rmtree(path, ignore_errors=True)
            crash_point(f"removed {name}")
        elif _SCRATCH.fullmatch(name) and path.is_file():
            path.unlink(missing_ok=True)


# ---------------------------------------------------------------- reading


def current_dir(run_dir: Path) -> Path | None:
    """The run's current checkpoint directory, or None if it has none."""
    link = Path(run_dir) / LINK
    if link.is_dir():
        return link
    legacy = Path(run_dir) / f"{LINK}.legacy"  # a kill while a pre-link run got its first link
    return legacy if legacy.is_dir() else None


def verify(ckpt: Path, names: tuple[str, ...] = FILES) -> None:
    """Check the files ``names`` against the manifest; a mismatch is an InputError
    naming the file. A checkpoint written before manifests existed is accepted as it is."""
    manifest_path = ckpt / MANIFEST
    if not manifest_path.is_file():
        return
    try:
        manifest = json.loads(manifest_path.read_text())
        entries = {name: (int(e["bytes"]), str(e["sha256"])) for name, e in manifest.items()}
    except (ValueError, TypeError, KeyError, AttributeError):
        raise InputError(f"{manifest_path}: damaged manifest (restore the run from a copy, or retrain)") from None
    for name in names:
        path = ckpt / name
        if name not in entries:
            raise InputError(f"{path}: not listed in the checkpoint's manifest (restore the run from a copy, "
                             f"or retrain)")
        size, digest = entries[name]
        if not path.is_file():
            raise InputError(f"{path}: missing from the checkpoint (restore the run from a copy, or retrain)")
        actual = path.stat().st_size
        if actual != size:
            raise InputError(f"{path}: {actual} bytes, but the checkpoint's manifest says {size}; the file is "
                             f"damaged (restore the run from a copy, or retrain)")
        if _sha256(path) != digest:
            raise InputError(f"{path}: its SHA-256 does not match the checkpoint's manifest; the file is "
                             f"damaged or was replaced (restore the run from a copy, or retrain)")


def _require(run_dir: Path, name: str) -> Path:
    """The current checkpoint's file ``name``, verified against the manifest."""
    ckpt = current_dir(run_dir)
    if ckpt is None:
        raise InputError(f"{run_dir}: no checkpoint yet ({Path(run_dir) / LINK} is missing; train first)")
    if not (ckpt / name).is_file():
        raise InputError(f"{ckpt / name}: missing from the checkpoint (restore the run from a copy, or retrain)")
    verify(ckpt, (name,))
    return ckpt / name


def load_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    """The current checkpoint's model weights, verified."""
    path = _require(run_dir, FILES[0])
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable safetensors file ({str(exc).splitlines()[0]})") from None


def load_state(run_dir: Path) -> dict:
    """The current checkpoint's ``state.json`` (epoch, step, metrics), verified."""
    path = _require(run_dir, FILES[2])
    try:
        state = json.loads(path.read_text())
        int(state["epoch"]), int(state["step"])
    except (OSError, ValueError, TypeError, KeyError):
        raise InputError(f"{path}: damaged training state (restore the run from a copy, or retrain)") from None
    return state


def load_optimizer(opt: torch.optim.Optimizer, run_dir: Path) -> None:
    """Load the current checkpoint's optimizer state into ``opt``, verified."""
    path = _require(run_dir, FILES[1])
    try:
        with safe_open(str(path), "pt") as fh:
            groups = json.loads(fh.metadata()["param_groups"])
            state: dict[int, dict[str, torch.Tensor]] = {}
            for key in fh.keys():
                i, name = key.split(".", 1)
                state.setdefault(int(i), {})[name] = fh.get_tensor(key)
        opt.load_state_dict({"state": state, "param_groups": groups})
    except (SafetensorError, OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not this run's optimizer state ({str(exc).splitlines()[0]})") from None

"""Bad input gives one clear error and leaves nothing half-written behind."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from nas.errors import CheckpointError, InvalidInput, RunDirectoryError, UnknownName
from nas.train import train
from supernets import create_supernet
from supernets.checkpoint import save_checkpoint

from .conftest import TINY

ONE_STEP = {"batch_size": 8, "steps_per_epoch": 1, "eval_every": 0}


def _snapshot(root) -> dict:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One-step runs: deps on the space, sandwich on the space, deps on a restriction of the space."""
    root = tmp_path_factory.mktemp("runs")
    out = {}
    for name, space, strategy in (("deps", "ofa-mbv3-cifar", "deps"), ("sandwich", "ofa-mbv3-cifar", "sandwich"),
                                  ("r32", "ofa-mbv3-cifar[r=32]", "deps")):
        out[name] = train(space, strategy, TINY, epochs=1, out=root / name, **ONE_STEP).run_dir
    return out


@pytest.mark.parametrize("data,match", [
    ("missing-dir", "does not exist"),
    ("empty-dir", "no images found"),
    ("labels.npz", "label 12 is out of range; space ofa-mbv3-cifar has 10 classes"),
    ("synthetic:n_train=4", "--batch-size 8 exceeds"),
    ("synthetic:bogus=1", "synthetic data option"),
])
def test_bad_data_is_refused_before_the_run_directory_exists(tmp_path, data, match):
    if data == "empty-dir":
        (tmp_path / "empty-dir" / "cat").mkdir(parents=True)
    if data == "labels.npz":
        rng = np.random.default_rng(0)
        np.savez(tmp_path / data, x_train=rng.integers(0, 255, (40, 32, 32, 3), dtype=np.uint8),
                 y_train=np.full(40, 12, dtype=np.int64))
    source = data if data.startswith("synthetic") else str(tmp_path / data)
    with pytest.raises(InvalidInput, match=match):
        train("ofa-mbv3-cifar", "deps", source, epochs=1, out=tmp_path / "run", **ONE_STEP)
    assert not (tmp_path / "run").exists()


def test_bad_settings_are_refused(tmp_path):
    with pytest.raises(UnknownName, match="known"):
        train("ofa-mbv3-cifar", "bogus", TINY, epochs=1, out=tmp_path / "a")
    with pytest.raises(InvalidInput, match="unknown option 'bogus' for strategy deps"):
        train("ofa-mbv3-cifar", "deps", TINY, epochs=1, out=tmp_path / "a", strategy_options={"bogus": 1})
    with pytest.raises(InvalidInput, match="divisible by the 3 workers"):
        train("ofa-mbv3-cifar", "deps", TINY, epochs=1, out=tmp_path / "a", workers=3, **ONE_STEP)
    foreign = tmp_path / "imagenet.pt"
    save_checkpoint(create_supernet("ofa-mbv3"), foreign)
    with pytest.raises(CheckpointError, match="made for space ofa-mbv3, not ofa-mbv3-cifar"):
        train("ofa-mbv3-cifar", "deps", TINY, epochs=1, out=tmp_path / "a", init=str(foreign), **ONE_STEP)
    assert not (tmp_path / "a").exists()


def test_an_existing_run_is_never_overwritten(runs):
    before = _snapshot(runs["deps"])
    with pytest.raises(RunDirectoryError, match="pass --resume"):
        train("ofa-mbv3-cifar", "deps", TINY, epochs=1, out=runs["deps"], **ONE_STEP)
    with pytest.raises(RunDirectoryError, match="trained with strategy 'deps', not 'sandwich'"):
        train(strategy="sandwich", resume=runs["deps"])
    assert _snapshot(runs["deps"]) == before


@pytest.mark.parametrize("source,match", [
    ("sandwich", "written by a run with strategy sandwich, not deps"),
    ("r32", "written by a run with space ofa-mbv3-cifar\\[r=32\\], not ofa-mbv3-cifar"),
    ("corrupt", "corrupt or not a torch file"),
    ("weights-only", "not a training checkpoint"),
])
def test_foreign_or_corrupt_checkpoints_are_refused_on_resume(runs, tmp_path, source, match):
    run = tmp_path / "run"
    shutil.copytree(runs["deps"], run)
    target = run / "checkpoints" / "last.pt"
    if source == "corrupt":
        target.write_bytes(target.read_bytes()[:1000])
    elif source == "weights-only":
        shutil.copy(run / "supernet.pt", target)
    else:
        shutil.copy(runs[source] / "checkpoints" / "last.pt", target)
    before = _snapshot(run)
    with pytest.raises(CheckpointError, match=match):
        train(resume=run)
    assert _snapshot(run) == before


def test_cli_reports_one_line_and_exit_code_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "nas", "train", "--space", "ofa-mbv3-cifar", "--strategy", "deps",
                           "--epochs", "1", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: data path") and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("settings,match", [
    ({"seed": -1}, "--seed must be an integer from 0 to"),
    ({"holdout": 1.5}, "--holdout is a share in \\(0, 1\\) or a whole number"),
    ({"holdout": 0}, "--holdout is a share"),
    ({"threads": 0}, "--threads must be >= 1"),
    ({"workers": 0}, "--workers must be >= 1"),
    ({"workers": 2, "ray_address": "no-port"}, "--ray-address must be 'local', 'auto', HOST:PORT"),
    ({"workers": 2, "ray_address": "127.0.0.1:1"}, "cannot reach the Ray cluster at 127.0.0.1:1"),
])
def test_bad_execution_settings_are_refused_before_anything_is_written(tmp_path, settings, match):
    with pytest.raises(InvalidInput, match=match):
        train("ofa-mbv3-cifar", "deps", TINY, epochs=1, out=tmp_path / "run", **ONE_STEP, **settings)
    assert not (tmp_path / "run").exists()


def test_gpu_without_cuda_is_one_clear_error(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(InvalidInput, match="--gpu needs CUDA"):
        train("ofa-mbv3-cifar", "deps", TINY, epochs=1, out=tmp_path / "run", use_gpu=True, device="cuda", **ONE_STEP)
    assert not (tmp_path / "run").exists()


def test_data_is_recorded_as_an_absolute_path_and_checked_on_resume(runs, tmp_path, monkeypatch):
    images = tmp_path / "images.npz"
    rng = np.random.default_rng(0)
    np.savez(images, x_train=rng.integers(0, 255, (40, 32, 32, 3), dtype=np.uint8),
             y_train=rng.integers(0, 10, 40))
    monkeypatch.chdir(tmp_path)
    run = train("ofa-mbv3-cifar", "deps", "images.npz", epochs=1, out="run", **ONE_STEP).run_dir
    assert json.loads((run / "config.json").read_text())["train"]["data"] == str(images.resolve())
    with pytest.raises(RunDirectoryError, match="trained with data"):
        train(data=TINY, resume=run)


def test_resuming_a_search_run_as_training_says_what_it_is(tmp_path):
    from nas.api import search

    search("ofa-mbv3", "macs", budget=20, out=tmp_path / "search")
    with pytest.raises(RunDirectoryError, match="no 'train' settings \\(it is a search run: use nas search --resume"):
        train(resume=tmp_path / "search")


@pytest.mark.parametrize("damage,match", [
    ("config", "config.json is damaged"),
    ("metrics", "metrics.csv is damaged: it needs an integer 'epoch' column"),
])
def test_damaged_run_files_are_one_clear_error(runs, tmp_path, damage, match):
    run = tmp_path / "run"
    shutil.copytree(runs["deps"], run)
    if damage == "config":
        cfg = json.loads((run / "config.json").read_text())
        cfg["train"]["epochs"] = "two"
        (run / "config.json").write_text(json.dumps(cfg))
    else:
        (run / "metrics.csv").write_text("loss,val_acc_max\n1.0,20.0\n")
    with pytest.raises(RunDirectoryError, match=match):
        train(resume=run)


def test_stale_temp_files_of_a_killed_run_are_removed_on_resume(runs, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(runs["deps"], run)
    (run / ".summary.json.abc123.tmp.json").write_text("{")
    (run / "checkpoints" / ".last.pt.abc123.tmp.pt").write_bytes(b"x")
    train(resume=run, epochs=1)
    assert not list(run.rglob(".*.tmp*"))


@pytest.mark.parametrize("settings,match", [
    ({"lr": float("inf")}, r"--lr must be a number in \(0, 10\], got inf"),
    ({"lr": 1e300}, r"--lr must be a number in \(0, 10\], got 1e\+300"),
    ({"epochs": 10**12}, "--epochs must be a whole number from 1 to 100000, got 1000000000000"),
    ({"weight_decay": float("inf")}, "--weight-decay must be a finite number >= 0"),
    ({"ray_address": "head:6379"}, "--ray-address head:6379 needs --workers"),
    ({"pad_mode": "edge"}, "--pad-mode 'edge' is not known; allowed: zeros, reflect"),
])
def test_nonsense_that_would_train_anyway_is_refused(tmp_path, settings, match):
    with pytest.raises(InvalidInput, match=match):
        train("ofa-mbv3-cifar", "deps", TINY, out=tmp_path / "run", **{"epochs": 1, **ONE_STEP, **settings})
    assert not (tmp_path / "run").exists()


def test_resume_refuses_another_out(runs, tmp_path):
    with pytest.raises(InvalidInput, match="differs from the run being resumed"):
        train(resume=runs["deps"], out=tmp_path / "elsewhere")
    assert not (tmp_path / "elsewhere").exists()


def test_an_empty_npz_is_one_clear_error(tmp_path):
    (tmp_path / "empty.npz").touch()
    with pytest.raises(InvalidInput, match="empty.npz is not a readable .npz file \\(it is empty\\)"):
        train("ofa-mbv3-cifar", "deps", str(tmp_path / "empty.npz"), epochs=1, out=tmp_path / "run", **ONE_STEP)


@pytest.mark.parametrize("options,match", [
    ({"kd_weight": float("inf")}, "kd_weight=inf must be a finite number"),
    ({"n_random": 1.5}, "n_random=1.5 must be a whole number"),
])
def test_strategy_option_types_are_named(tmp_path, options, match):
    with pytest.raises(InvalidInput, match=match):
        train("ofa-mbv3-cifar", "deps", TINY, epochs=1, out=tmp_path / "run", strategy_options=options, **ONE_STEP)


# --------------------------------------------------------------------------------- issue 17
def test_a_new_run_that_fails_before_its_first_checkpoint_leaves_nothing(tmp_path, monkeypatch):
    from nas.train.loop import TrainingLoop

    def boom(self):
        (self.files.root / "metrics.csv").write_text("epoch\n")  # as a loop that failed mid-epoch would
        raise RuntimeError("value cannot be converted to type float without overflow")

    monkeypatch.setattr(TrainingLoop, "run", boom)
    with pytest.raises(RuntimeError, match="overflow"):
        train("ofa-mbv3-cifar", "deps", TINY, epochs=1, out=tmp_path / "run", **ONE_STEP)
    assert not (tmp_path / "run").exists()
    (tmp_path / "mine").mkdir()  # the user's empty folder stays, empty
    with pytest.raises(RuntimeError):
        train("ofa-mbv3-cifar", "deps", TINY, epochs=1, out=tmp_path / "mine", **ONE_STEP)
    assert (tmp_path / "mine").is_dir() and not any((tmp_path / "mine").iterdir())


def test_an_unreachable_ray_address_is_one_line_before_ray_or_the_run_directory(tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = ("import sys; from typer.testing import CliRunner; from nas.cli import app; "
            f"r = CliRunner().invoke(app, ['train', '--space', 'ofa-mbv3-cifar', '--strategy', 'deps', '--data', "
            f"'{TINY}', '--epochs', '1', '--workers', '2', '--ray-address', '127.0.0.1:{port}', '--out', "
            f"{str(tmp_path / 'run')!r}]); print(r.exit_code, 'ray' in sys.modules); print(r.output, end='')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    first, *output = proc.stdout.splitlines()
    assert first == "2 False", proc.stdout + proc.stderr
    assert len(output) == 1 and output[0].startswith(f"error: cannot reach the Ray cluster at 127.0.0.1:{port}")
    assert not (tmp_path / "run").exists()

"""``nas train --init CKPT``: the supernet a fine-tune builds has the checkpoint's build options. Left out,
they are the checkpoint's; given and different, the run is refused in one line (a plain-reduction ViT-ResNAS
checkpoint has the same state dict keys as a residual one, so it would load silently into the other)."""

from __future__ import annotations

import json

import torch
from typer.testing import CliRunner

from nas.cli import app
from supernets import create_supernet
from supernets.checkpoint import save_checkpoint

from .conftest import TINY

SPACE = "vit-resnas-cifar"


def _checkpoint(path, **options):
    save_checkpoint(create_supernet(SPACE, **options), path)
    return str(path)


def _train(tmp_path, init: str, *options: str):
    flags = [f for option in options for f in ("--supernet-option", option)]
    return CliRunner().invoke(app, ["train", "--space", SPACE, "--strategy", "spos", "--data", TINY, "--epochs", "1",
                                    "--batch-size", "8", "--steps-per-epoch", "1", "--eval-every", "0", "--init",
                                    init, *flags, "--out", str(tmp_path / "run"), "--no-progress"])


def test_a_fine_tune_takes_the_checkpoints_options_when_none_are_given(tmp_path):
    result = _train(tmp_path, _checkpoint(tmp_path / "plain.pt", residual_reduction=False, drop_path=0.0))
    assert result.exit_code == 0, result.output
    trained = torch.load(tmp_path / "run" / "supernet.pt", weights_only=True)["options"]
    assert trained == {"drop_path": 0.0, "residual_reduction": False}
    recorded = json.loads((tmp_path / "run" / "config.json").read_text())["train"]["supernet_options"]
    assert recorded == trained  # a resume rebuilds the same supernet


def test_a_conflicting_option_is_refused_naming_both(tmp_path):
    for ckpt, option, theirs, mine in (({"residual_reduction": False}, "residual_reduction=true", "False", "True"),
                                       ({"residual_reduction": True}, "residual_reduction=false", "True", "False")):
        result = _train(tmp_path, _checkpoint(tmp_path / "ckpt.pt", **ckpt), option)
        message = " ".join(result.output.split())
        assert result.exit_code == 2, result.output
        assert f"was trained with supernet option residual_reduction={theirs}, not residual_reduction={mine}" \
            in message, message
        assert "Traceback" not in result.output and not (tmp_path / "run").exists()


def test_a_training_only_option_may_differ(tmp_path):
    # stochastic depth regularizes training; it does not change what the trained weights compute
    result = _train(tmp_path, _checkpoint(tmp_path / "ckpt.pt", drop_path=0.0), "drop_path=0.2")
    assert result.exit_code == 0, result.output
    trained = torch.load(tmp_path / "run" / "supernet.pt", weights_only=True)["options"]
    assert trained == {"drop_path": 0.2, "residual_reduction": True}

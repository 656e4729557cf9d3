"""``nas train --init CKPT``: the supernet a fine-tune builds has the checkpoint's build options. Left out,
they are the checkpoint's; given and different, the run is refused in one line (a plain-reduction ViT-ResNAS
checkpoint has the same state dict keys as a residual one, so it would load silently into the other). A
checkpoint of the plain net written before it had its own space (``vit-resnas-cifar`` with the build option
``residual_reduction=False``) fine-tunes and evaluates as the plain space's."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from nas.cli import app
from nas.evaluate import evaluate_checkpoint
from search_spaces import get_space
from search_spaces.errors import CheckpointError
from supernets import create_supernet
from supernets.checkpoint import fine_tune_options, read_checkpoint, save_checkpoint

from .conftest import TINY

SPACE, PLAIN = "vit-resnas-cifar", "vit-resnas-cifar-plain"


def _checkpoint(path, space: str = SPACE, **options):
    save_checkpoint(create_supernet(space, **options), path)
    return str(path)


def _as_written_before_the_plain_space(path, out):
    """``path`` (a plain space's checkpoint) as the old way wrote it: the residual space's name and layout, the
    plain reduction recorded only as the build option."""
    ckpt = torch.load(path, weights_only=True)
    assert ckpt["options"]["residual_reduction"] is False
    torch.save(ckpt | {"space": SPACE, "layout": get_space(SPACE).layout_signature()}, out)
    return str(out)


def _train(tmp_path, init: str, *options: str, space: str = SPACE, run: str = "run"):
    flags = [f for option in options for f in ("--supernet-option", option)]
    return CliRunner().invoke(app, ["train", "--space", space, "--strategy", "spos", "--data", TINY, "--epochs", "1",
                                    "--batch-size", "8", "--steps-per-epoch", "1", "--eval-every", "0", "--init",
                                    init, *flags, "--out", str(tmp_path / run), "--no-progress"])


def test_a_fine_tune_takes_the_checkpoints_options_when_none_are_given(tmp_path):
    result = _train(tmp_path, _checkpoint(tmp_path / "plain.pt", PLAIN, drop_path=0.0), space=PLAIN)
    assert result.exit_code == 0, result.output
    trained = torch.load(tmp_path / "run" / "supernet.pt", weights_only=True)["options"]
    assert trained == {"drop_path": 0.0, "residual_reduction": False}
    recorded = json.loads((tmp_path / "run" / "config.json").read_text())["train"]["supernet_options"]
    assert recorded == trained  # a resume rebuilds the same supernet


def test_a_reduction_that_is_not_the_spaces_is_refused_naming_the_space(tmp_path):
    for space, option, other in ((PLAIN, "residual_reduction=true", SPACE), (SPACE, "residual_reduction=false", PLAIN)):
        result = _train(tmp_path, _checkpoint(tmp_path / "ckpt.pt", space), option, space=space)
        message = " ".join(result.output.split())
        assert result.exit_code == 2, result.output
        assert f"builds the network of space {other}, not {space}: use space {other}" in message, message
        assert "Traceback" not in result.output and not (tmp_path / "run").exists()


def test_a_conflicting_option_is_refused_naming_both(tmp_path):
    # below the space check: an option that differs from the checkpoint's (on a family whose options the space
    # does not fix, this is the only check)
    ckpt = read_checkpoint(_checkpoint(tmp_path / "plain.pt", PLAIN))
    with pytest.raises(CheckpointError, match="was trained with supernet option residual_reduction=False, not "
                                              "residual_reduction=True; leave the option out"):
        fine_tune_options(ckpt, get_space(PLAIN), {"residual_reduction": True}, "plain.pt")


def test_a_training_only_option_may_differ(tmp_path):
    # stochastic depth regularizes training; it does not change what the trained weights compute
    result = _train(tmp_path, _checkpoint(tmp_path / "ckpt.pt", drop_path=0.0), "drop_path=0.2")
    assert result.exit_code == 0, result.output
    trained = torch.load(tmp_path / "run" / "supernet.pt", weights_only=True)["options"]
    assert trained == {"drop_path": 0.2, "residual_reduction": True}


def test_an_old_plain_checkpoint_fine_tunes_and_evaluates_as_the_plain_space(tmp_path):
    new = _checkpoint(tmp_path / "plain.pt", PLAIN, drop_path=0.0)
    result = _train(tmp_path, new, space=PLAIN, run="trained")  # a trained one: BN statistics and data info
    assert result.exit_code == 0, result.output
    trained = tmp_path / "trained" / "supernet.pt"
    old = _as_written_before_the_plain_space(trained, tmp_path / "old.pt")
    result = _train(tmp_path, old, space=PLAIN)
    assert result.exit_code == 0, result.output
    ckpt = torch.load(tmp_path / "run" / "supernet.pt", weights_only=True)
    assert ckpt["space"] == PLAIN and ckpt["options"]["residual_reduction"] is False
    refused = _train(tmp_path, old, space=SPACE, run="other")
    message = " ".join(refused.output.split())
    assert refused.exit_code == 2 and f"made for space {PLAIN} (it records space {SPACE} with supernet options" \
        in message, refused.output
    assert "Traceback" not in refused.output and not (tmp_path / "other").exists()
    archs = [get_space(PLAIN).extremes()[1]]
    then, now = (evaluate_checkpoint(c, TINY, archs=archs, extremes=True, bn_images=16) for c in (old, trained))
    assert then.space == now.space == PLAIN
    assert then.table["accuracy"].tolist() == now.table["accuracy"].tolist()  # the network that was trained

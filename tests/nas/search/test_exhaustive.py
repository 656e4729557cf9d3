"""A space within the budget is exhausted, once each, and says so: ResNet20's 36 pooling placements on a
latency target, with a mixture's measured accuracy, then the chosen placement exported."""

from __future__ import annotations

import json

import torch

from nas.api import export, search
from supernets import create_supernet
from supernets.checkpoint import save_checkpoint

TINY = "synthetic:n_train=48,n_test=16,classes=10,size=32,seed=0"


def test_cheap_objectives_over_all_36_placements(tmp_path):
    result = search(space="resnet20-pooling", target="jetson", objectives=["latency", "macs"], out=tmp_path / "run")
    assert len(result.results) == 36 and result.searcher == "random" and result.stopped == "budget"
    assert any("every one is evaluated once (exhaustive" in n for n in result.notes)
    assert result.results["arch_id"].nunique() == 36
    assert (result.run_dir / "config.json").is_file()
    assert json.loads((result.run_dir / "config.json").read_text())["budget"] == 36


def test_mixture_accuracy_front_and_export(tmp_path):
    torch.manual_seed(0)
    mix = create_supernet("resnet20-pooling[pool=4-3-3/5-3-2/7-1-2]", members=2)
    save_checkpoint(mix, tmp_path / "mix.pt")
    result = search(target="jetson", checkpoint=tmp_path / "mix.pt", data=TINY, out=tmp_path / "run",
                    measure_options={"bn_images": 16, "eval_images": 16, "batch_size": 16})
    assert result.space == "resnet20-pooling[pool=4-3-3/5-3-2/7-1-2]" and len(result.results) == 3
    assert result.searcher == "random" and len(result.pareto) >= 1
    files = export(tmp_path / "best.pt", run=result.run_dir, checkpoint=tmp_path / "mix.pt")
    bms = json.loads(files.files["bms.json"].read_text())
    assert bms["format"] == "bms-resnet20-pooling" and [bms["block1"], bms["block2"], bms["block3"]] in (
        [4, 3, 3], [5, 3, 2], [7, 1, 2])
    assert torch.jit.load(str(files.files["torchscript"]))(torch.randn(2, 3, 32, 32)).shape == (2, 10)

"""A mixture of supernets: the balanced assignment, the scores' update, and checkpoints that say how
many members they hold."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from search_spaces import CheckpointError, get_space
from supernets import create_supernet
from supernets.checkpoint import load_supernet, load_weights, save_checkpoint
from supernets.mixture import BALANCE_TOL, MixtureSupernet, apply_marginals, balanced_probabilities

SPACE = "resnet20-pooling"


def _kl_to_uniform(p: np.ndarray) -> float:
    m = p.mean(axis=0)
    return float(np.sum(m * np.log(m * len(m))))


def test_balancing_spreads_architectures_over_members():
    rng = np.random.default_rng(0)
    scores = rng.random((36, 4)) * 0.2
    scores[:, 0] += 0.5  # member 0 scores best everywhere: unbalanced, it would take every architecture
    raw = balanced_probabilities(scores, 1.0, tol=np.inf)[0]
    prob, marginals = balanced_probabilities(scores, 100.0)
    assert raw.mean(axis=0)[0] > 0.3 and marginals
    assert abs(_kl_to_uniform(prob)) <= BALANCE_TOL
    np.testing.assert_allclose(prob.sum(axis=1), 1.0)
    assert len(set(prob.argmax(axis=1).tolist())) == 4  # every member is some architecture's best
    np.testing.assert_allclose(apply_marginals(scores, 100.0, marginals), prob)


def test_balanced_scores_need_no_rebalancing():
    prob, marginals = balanced_probabilities(np.ones((36, 3)), 50.0)
    assert marginals == [] and np.allclose(prob, 1 / 3)


def test_members_are_independent_and_the_assigned_one_runs():
    torch.manual_seed(0)
    mix = create_supernet(SPACE, members=3)
    assert isinstance(mix, MixtureSupernet) and mix.n_archs == 36 and mix.build_options() == {"members": 3}
    w = [m.stem.conv.weight for m in mix.members]
    assert not torch.equal(w[0], w[1])
    arch = {"pool": [5, 3, 2]}
    mix.record_score(arch, 2, 1.0, decay=0.0)  # member 2 is perfect on this arch, the others keep 1.0 ...
    for m in (0, 1):
        mix.record_score(arch, m, 0.0, decay=0.5)  # ... minus half
    mix.temperature.fill_(100.0)
    assert mix.assigned_member(arch) == 2
    mix.eval()
    x = torch.randn(4, 3, 32, 32)
    mix.set_active(arch)
    with torch.no_grad():
        mix.members[2].set_active(arch)
        torch.testing.assert_close(mix(x), mix.members[2](x))
        mix.set_active(arch, member=0)
        torch.testing.assert_close(mix(x), mix.members[0](x))


def test_record_is_an_exponential_moving_average():
    mix = create_supernet(SPACE, members=2)
    arch = {"config": 1}
    row = int(mix.arch_rows([arch])[0])
    mix.record_score(arch, 1, 0.5, decay=0.9)
    assert float(mix.scores[row, 1]) == pytest.approx(0.9 + 0.05)
    assert float(mix.scores[row, 0]) == 1.0


def test_checkpoint_rebuilds_the_mixture(tmp_path):
    mix = create_supernet(SPACE, members=2)
    mix.record_score({"config": 3}, 1, 0.25, decay=0.0)
    save_checkpoint(mix, tmp_path / "mix.pt")
    loaded, meta = load_supernet(tmp_path / "mix.pt")
    assert isinstance(loaded, MixtureSupernet) and meta["options"] == {"members": 2}
    assert torch.equal(loaded.scores, mix.scores)


def test_member_counts_must_agree(tmp_path):
    mix = create_supernet(SPACE, members=2)
    save_checkpoint(mix, tmp_path / "mix.pt")
    save_checkpoint(create_supernet(SPACE), tmp_path / "one.pt")
    with pytest.raises(CheckpointError, match="mixture of 2 supernets, and this is a single supernet"):
        load_weights(create_supernet(SPACE), tmp_path / "mix.pt")
    with pytest.raises(CheckpointError, match="holds a single supernet, and this is a mixture of 3"):
        load_weights(create_supernet(SPACE, members=3), tmp_path / "one.pt")
    with pytest.raises(CheckpointError, match="mixture of 2 supernets, not 3"):
        load_weights(create_supernet(SPACE, members=3), tmp_path / "mix.pt")


def test_a_single_supernet_takes_the_member_an_arch_is_assigned_to(tmp_path):
    mix = create_supernet(SPACE, members=2)
    arch = {"pool": [7, 1, 2]}
    mix.record_score(arch, 0, 0.0, decay=0.0)
    mix.temperature.fill_(100.0)
    save_checkpoint(mix, tmp_path / "mix.pt")
    single = create_supernet(SPACE)
    meta = load_weights(single, tmp_path / "mix.pt", arch=arch)
    assert meta["member"] == 1
    assert torch.equal(single.stem.conv.weight, mix.members[1].stem.conv.weight)


def test_bad_member_counts_and_spaces_too_large():
    with pytest.raises(Exception, match="members >= 1"):
        create_supernet(SPACE, members=0)
    with pytest.raises(Exception, match="exceed"):
        MixtureSupernet(get_space("ofa-mbv3-cifar"), [None, None])

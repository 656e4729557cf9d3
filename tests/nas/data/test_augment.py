"""Batch augmentation: seeded random crops (zero or reflect padding) and flips; mixup and cutmix as seeded batch
ops (DeiT's batch mode): soft targets that match the pixels mixed."""

from __future__ import annotations

import pytest
import torch

from nas.data import normalize
from nas.data.augment import Mixing, augment, mix_batch, one_hot

MEAN, STD = [0.5, 0.4, 0.3], [0.2, 0.25, 0.3]


def _batch(n: int = 8, size: int = 16):
    g = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (n, 3, size, size), generator=g, dtype=torch.uint8), torch.randint(0, 10, (n,),
                                                                                                     generator=g)


def _mix(images, labels, mixing, seed=1):
    return mix_batch(images, labels, 10, mixing, torch.Generator().manual_seed(seed))


def test_mixup_blends_each_image_with_the_reversed_batch_and_its_targets_alike():
    x, y = _batch()
    x = x.float()
    mixed, targets = _mix(x, y, Mixing(mixup=0.8))
    lam = next(float(targets[i, y[i]]) for i in range(8) if y[i] != y.flip(0)[i])
    torch.testing.assert_close(mixed, lam * x + (1 - lam) * x.flip(0))
    torch.testing.assert_close(targets, lam * one_hot(y, 10) + (1 - lam) * one_hot(y.flip(0), 10))
    assert torch.allclose(targets.sum(1), torch.ones(8))


def test_cutmix_pastes_a_box_and_weighs_targets_by_the_area_left():
    x, y = _batch()
    x = x.float()
    i = next(i for i in range(8) if y[i] != y.flip(0)[i])
    for seed in range(6):
        mixed, targets = _mix(x, y, Mixing(cutmix=1.0), seed)
        taken = (mixed != x).any(1)  # [B, H, W]: pixels pasted from the partner
        assert torch.equal(torch.where(taken[:, None], x.flip(0), x), mixed)
        assert torch.equal(taken, taken[:1].expand_as(taken))  # one box for the batch
        rows, cols = taken[0].any(1).nonzero(), taken[0].any(0).nonzero()
        if len(rows):
            assert int(taken[0].sum()) == len(rows) * len(cols)  # a rectangle
        assert float(targets[i, y.flip(0)[i]]) == pytest.approx(float(taken[0].float().mean()), abs=1e-6)


def test_mixing_is_seeded_commutes_with_normalization_and_slices_by_rank():
    x, y = _batch()
    mixing = Mixing(mixup=0.8, cutmix=1.0, switch_prob=0.5)
    a = _mix(normalize(x, MEAN, STD), y, mixing)
    b = _mix(normalize(x, MEAN, STD), y, mixing)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    c = _mix(x.float(), y, mixing)
    torch.testing.assert_close(normalize(c[0], MEAN, STD), a[0], rtol=1e-5, atol=1e-5)  # normalize(x) of floats
    kinds = set()
    for seed in range(20):
        mixed, _ = _mix(x.float(), y, mixing, seed)
        kinds.add("cutmix" if bool(((mixed == x) | (mixed == x.flip(0))).all()) else "mixup")
    assert kinds == {"mixup", "cutmix"}  # the switch picks either


def test_no_mixing_gives_one_hot_targets_and_the_images_unchanged():
    x, y = _batch()
    for mixing in (Mixing(), Mixing(mixup=0.8, prob=0.0)):
        mixed, targets = _mix(x.float(), y, mixing)
        assert not mixing.active and torch.equal(mixed, x.float()) and torch.equal(targets, one_hot(y, 10))


@pytest.mark.parametrize("pad_mode", ["zeros", "reflect"])
def test_each_image_is_its_padded_self_cropped_at_the_drawn_shift_and_flipped(pad_mode):
    """Output i is numpy's constant (or reflect) 4-pixel padding of image i, cropped at the shift drawn for
    it and mirrored when drawn: both modes draw the same shifts and flips from one seed."""
    import numpy as np

    images, _ = _batch(n=12)
    out = augment(images, torch.Generator().manual_seed(3), pad_mode=pad_mode)
    g = torch.Generator().manual_seed(3)  # the draws augment makes, in its order
    dy, dx = torch.randint(0, 9, (12,), generator=g), torch.randint(0, 9, (12,), generator=g)
    mirror = torch.rand(12, generator=g) < 0.5
    for i, image in enumerate(images.numpy()):
        padded = np.pad(image, ((0, 0), (4, 4), (4, 4)), mode="constant" if pad_mode == "zeros" else "reflect")
        crop = padded[:, dy[i]:dy[i] + 16, dx[i]:dx[i] + 16]
        np.testing.assert_array_equal(out[i].numpy(), crop[..., ::-1] if mirror[i] else crop)


def test_reflect_padding_leaves_no_black_band():
    white = torch.full((64, 3, 16, 16), 255, dtype=torch.uint8)
    assert (augment(white, torch.Generator().manual_seed(0), pad_mode="reflect") == 255).all()
    assert (augment(white, torch.Generator().manual_seed(0)) == 0).any()  # zeros: shifted images have a band


def test_an_unknown_pad_mode_names_the_allowed_ones_and_reflect_needs_room():
    with pytest.raises(ValueError, match="allowed: zeros, reflect"):
        augment(_batch()[0], torch.Generator().manual_seed(0), pad_mode="edge")
    with pytest.raises(ValueError, match="reflect padding of 4 needs images larger than that, got 4x4"):
        augment(_batch(size=4)[0], torch.Generator().manual_seed(0), pad_mode="reflect")

"""IGDEConfig.flip_average: the select head's scores and gate averaged with a run on the left-right
mirrored frame, checked against the two runs made by hand."""

from __future__ import annotations

import pytest
import torch

from conftest import random_frames as _inputs, random_select_model as _model
from igde_stream.models import create_model


def test_logits_are_the_mean_of_the_frame_and_its_mirror_by_hand():
    """The mirrored run's logits, flipped back, give offset (dy, dx) the channel of (dy, -dx): built
    here from two plain runs and the offsets themselves, not from the head's own row table."""
    plain = _model(seed=1)
    both = _model(seed=1, flip_average=True)
    color, depth = _inputs()
    with torch.no_grad():
        a = plain.select_logits(color, depth)
        b = plain.select_logits(color.flip(-1), depth.flip(-1)).flip(-1)
        offsets = plain.head.offsets
        rows = [offsets.index((dy, -dx)) for dy, dx in offsets] + [len(offsets)]
        want = 0.5 * (a + b[:, rows])
        got = both.select_logits(color, depth)
    assert torch.allclose(got, want, atol=1e-5)
    # the reordering matters: without it the scores of the rays to the left and right swap
    assert not torch.allclose(got, 0.5 * (a + b), atol=1e-2)


@pytest.mark.parametrize("pick", [0.0, 0.3])
def test_mirrored_input_gives_the_mirrored_output(pick):
    """An even width, so the half-resolution grid mirrors onto itself: the flip-averaged model is
    exactly left-right equivariant, which neither of its runs is alone."""
    model = _model(seed=2, flip_average=True, pick_temperature=pick)
    plain = _model(seed=2, pick_temperature=pick)
    color, depth = _inputs(h=20, w=28, seed=3)
    with torch.no_grad():
        model.head.conv.bias[-1] -= model.select_logits(color, depth)[:, -1].median()  # half the gate open
        plain.head.conv.bias[-1] = model.head.conv.bias[-1]
        out = model(color, depth)
        mirrored = model(color.flip(-1), depth.flip(-1)).flip(-1)
        p_out = plain(color, depth)
        p_mirrored = plain(color.flip(-1), depth.flip(-1)).flip(-1)
    assert not torch.equal(out, depth)
    assert torch.equal(out, mirrored)
    assert not torch.equal(p_out, p_mirrored)


def test_fresh_flip_averaged_model_returns_its_input():
    model = create_model("igde-small", flip_average=True).eval()
    color, depth = _inputs(h=23, w=31)
    with torch.no_grad():
        assert torch.equal(model(color, depth), depth)


def test_flip_average_needs_a_selection_head():
    with pytest.raises(ValueError, match="flip_average"):
        create_model("igde-tiny", flip_average=True)


def test_training_runs_once_per_crop():
    """In train mode the flip average is off (as ``passes``): training's cost and soft output are
    the plain model's, whatever the flag."""
    plain, both = _model(seed=4).train(), _model(seed=4, flip_average=True).train()
    color, depth = _inputs()
    assert torch.equal(both(color, depth), plain(color, depth))
    both.eval()
    plain.eval()
    with torch.no_grad():
        assert not torch.allclose(both.select_logits(color, depth), plain.select_logits(color, depth))


@pytest.mark.parametrize("vertical", [False, True])
def test_second_pass_reuses_each_run_its_own_image_branch(vertical):
    """Two passes with the flip average (and with the vertical flip: four runs): the second pass
    reads the first pass's output, and each of its runs reuses the image branch of its own
    orientation (a swapped cache would pair the mirrored depth with the unmirrored colour features)."""
    two = _model(seed=5, flip_average=True, flip_vertical=vertical, passes=2)
    one = _model(seed=5, flip_average=True, flip_vertical=vertical)
    color, depth = _inputs(h=20, w=28, seed=6)
    with torch.no_grad():
        shift = one.select_logits(color, depth)[:, -1].median()  # half the gate open
        for m in (one, two):
            m.head.conv.bias[-1] -= shift
        first = one(color, depth)
        want = one(color, first)
        got = two(color, depth)
    assert not torch.equal(want, first)
    assert torch.equal(got, want)


def test_flip_train_trains_the_averaged_scores():
    """``flip_train``: in train mode the logits are the by-hand mean of both runs (what ships), and
    the loss's gradient reaches the weights through the mirrored run too."""
    plain, both = _model(seed=6), _model(seed=6, flip_average=True)
    color, depth = _inputs(seed=5)
    with torch.no_grad():
        a = plain.select_logits(color, depth)
        b = plain.select_logits(color.flip(-1), depth.flip(-1)).flip(-1)
        rows = [plain.head.offsets.index((dy, -dx)) for dy, dx in plain.head.offsets] + [len(plain.head.offsets)]
    both.train()
    once = both.select_logits(color, depth)
    assert torch.allclose(once, a, atol=1e-5)  # the flag off: one run per crop
    both.flip_train = True
    got = both.select_logits(color, depth)
    assert torch.allclose(got, 0.5 * (a + b[:, rows]), atol=1e-5)
    grads = []
    for logits in (once, got):
        both.zero_grad()
        logits[:, :, :, :5].sum().backward()  # the left edge only: its mirror is the right edge
        grads.append(both.head.conv.weight.grad.clone())
    assert not torch.allclose(grads[0], grads[1], atol=1e-4)


def test_flip_train_needs_the_flip_average(tmp_path):
    from igde_stream.training import TrainConfig, train

    cfg = TrainConfig(model="igde-tiny", overrides={"head": "select"}, steps=1, flip_train=True,
                      out=str(tmp_path / "run"), progress=False)
    with pytest.raises(ValueError, match="flip_train needs a model with flip_average=True"):
        train(cfg)
    assert not (tmp_path / "run").exists()  # refused before anything is written

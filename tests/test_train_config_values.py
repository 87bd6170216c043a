"""TrainConfig's defaults and bounds by hand (fast: no training): the Python API's defaults are the
training command's (tools/train.py) but for ``mix``, and the documented validation crops; each bound
takes its edge value (batch 1, workers 0, every count 1, hard_share 0 and 1) and refuses the next one
out (minutes 0, a temperature 0)."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import pytest

import igde_stream.training as training
from igde_stream.train_config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]


def _command_fields(monkeypatch, *argv):
    """The TrainConfig fields tools/train.py builds from ``argv`` (its argparse defaults for the rest)."""
    seen = {}

    class Built(Exception):
        pass

    def capture(**fields):
        seen.update(fields)
        raise Built

    monkeypatch.setattr(training, "TrainConfig", capture)
    spec = importlib.util.spec_from_file_location("train_tool_for_defaults", ROOT / "tools" / "train.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    with pytest.raises(Built):
        tool.main(list(argv))
    return seen


def test_the_api_defaults_are_the_commands_but_for_mix(monkeypatch):
    """Every setting the command passes has the command's default in the API too (loss weights 1,1,1,
    crops 256x256, 2 workers, the select head's schedule ...), except ``mix`` (the command's default
    is the real-world mix, ``--no-mix`` turns it off; the API's is off) and the command line record."""
    cli = _command_fields(monkeypatch, "--steps", "1")
    api = dataclasses.asdict(TrainConfig(steps=1))
    plain = {k: (list(v) if isinstance(v, tuple) else v) for k, v in api.items()}
    differ = {k for k in cli if (list(cli[k]) if isinstance(cli[k], tuple) else cli[k]) != plain[k]}
    assert differ == {"mix", "command"}, {k: (cli[k], api[k]) for k in differ}
    assert (cli["mix"], api["mix"]) == (True, False)
    assert len(cli) >= 55  # the command passes (nearly) every field


def test_the_defaults_the_command_does_not_pass_are_the_documented_ones():
    """docs/training.md: validation on 8 crops of 256x384 (h x w), from 960x540 scenes."""
    cfg = TrainConfig(steps=1)
    assert (cfg.val_samples, cfg.val_size, cfg.scene_size) == (8, (256, 384), (960, 540))
    assert cfg.degradation == {} and cfg.log_every == 10


@pytest.mark.parametrize("kw", [
    {"batch": 1}, {"workers": 0}, {"val_every": 1}, {"ckpt_every": 1}, {"val_samples": 1},
    {"frames_per_scene": 1}, {"crops_per_frame": 1}, {"hard_share": 0.0}, {"hard_share": 1.0},
    {"minutes": 0.01, "steps": None}, {"temperature_start": 0.01, "temperature_end": 0.01},
    {"refine_share": 1.0}, {"refine_share": 0.0}, {"lr": 1e-9},
])
def test_each_bound_takes_its_edge_value(kw):
    cfg = TrainConfig(**{"steps": 1, **kw})
    assert all(getattr(cfg, k) == v for k, v in kw.items())


@pytest.mark.parametrize("kw, said", [
    ({"batch": 0}, "batch must be >= 1"), ({"lr": 0.0}, "lr must be > 0"),
    ({"refine_share": 1.01}, "refine_share must be in"), ({"workers": -1}, "workers >= 0"),
    ({"minutes": 0.0, "steps": None}, "minutes must be > 0"), ({"temperature_start": 0.0}, "temperatures must be > 0"),
    ({"temperature_end": 0.0}, "temperatures must be > 0"), ({"hard_share": 1.01}, "hard_share must be in"),
    ({"hard_share": -0.01}, "hard_share must be in"),
])
def test_the_next_value_out_is_refused(kw, said):
    with pytest.raises(ValueError, match=said):
        TrainConfig(**{"steps": 1, **kw})


def test_validation_keeps_none_of_the_training_only_options():
    """The docstring: steep planes and limbs never reach the validation scenes; with ``mix`` the
    validation uses the fixed "mix" preset, and the colour blur is for training crops only. The
    validation seeds are the first ``val_samples`` of the val split."""
    from igde_stream.data import SPLITS
    from igde_stream.data.error_types import error_type_config

    cfg = TrainConfig(steps=1, steep_planes=2, limbs=3, mix=True, color_blur=0.8, val_samples=5)
    val = cfg.val_crop_config()
    assert (val.scene.steep_planes, val.scene.limbs, val.mix, val.color_blur) == ((0, 0), (0, 0), False, 0.0)
    assert val.degradation == error_type_config("mix")
    train = cfg.crop_config()
    assert (train.scene.limbs, train.mix, train.color_blur) == ((0, 3), True, 0.8)
    assert cfg.data_params()["val_seeds"] == [SPLITS["val"].start, SPLITS["val"].start + 5]

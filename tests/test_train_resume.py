"""A training run cut off and resumed goes on as the same run: its own settings (not the resume
command's defaults), its schedules from where they were, its learning curve without repeated or
restarting rows, its best checkpoint kept; Ctrl-C saves the steps made; settings that cannot train
are refused before anything is written; a damaged crop cache is rendered again."""

from __future__ import annotations

import csv
import json
import time

import pytest
import torch

from igde_stream import training
from igde_stream.run_log import best_of, cut_log
from igde_stream.train_config import TrainConfig, resumed_config
from igde_stream.training import train

pytest.importorskip("torch")


def _cfg(tmp_path, **kw):
    base = dict(model="igde-tiny", steps=10, batch=2, crop=(32, 32), workers=0, val_every=5, val_samples=2,
                val_size=(48, 64), ckpt_every=5, log_every=5, out=str(tmp_path / "run"), scene_size=(128, 96),
                textures="procedural", threads=1, progress=False, lr=5e-4, lr_schedule="cosine", seed=7)
    base.update(kw)
    return TrainConfig(**base)


def _steps(path):
    with open(path) as f:
        return [int(r["step"]) for r in csv.DictReader(f)]


def test_resume_takes_the_runs_own_settings_and_records_the_command(tmp_path):
    from conftest import load_tool

    first = _cfg(tmp_path, command="python tools/train.py (the run's own command)")
    train(first)
    tool = load_tool("train")
    assert tool.main(["--out", first.out, "--resume", "--steps", "15", "--workers", "0", "--quiet"]) == 0
    record = json.loads((tmp_path / "run" / "config.json").read_text())
    tc = record["train_config"]
    assert (tc["model"], tc["seed"], tc["crop"], tc["lr"], tc["lr_schedule"], tc["steps"]) == \
        ("igde-tiny", 7, [32, 32], 5e-4, "cosine", 15)
    assert record["command"] == "python tools/train.py (the run's own command)"
    assert len(record["resumed_with"]) == 1 and record["resumed_with"][0].startswith("python tools/train.py --out")
    assert torch.load(tmp_path / "run" / "last.pt", weights_only=True)["step"] == 15


def test_resumed_config_keeps_the_run_and_takes_what_is_given():
    saved = {"model": "igde-tiny", "seed": 7, "crop": [32, 32], "lr": 5e-4, "steps": 10, "out": "old",
             "command": "first", "val_every": 5}
    import dataclasses

    # the resume command's fields, defaults elsewhere (checked only once merged)
    cli = dataclasses.asdict(TrainConfig(steps=40, lr=1e-3, out="run", resume="auto", command="resume"))
    cfg, changed = resumed_config(cli, {"steps", "lr", "out", "resume"}, saved)
    assert (cfg.model, cfg.seed, cfg.crop, cfg.val_every) == ("igde-tiny", 7, (32, 32), 5)  # the run's
    assert (cfg.steps, cfg.lr, cfg.out, cfg.command) == (40, 1e-3, "run", "first")
    assert changed == ["lr: 0.0005 -> 0.001"]
    assert resumed_config(cli, set(), None) == (TrainConfig(**cli), [])  # an old checkpoint without its settings


def test_a_resume_may_change_a_cache_option_of_a_run_with_a_cache(tmp_path):
    """The command line alone (cache_scenes 0 by default) would refuse --color-codec; merged with the
    run's settings (a crop cache) it is a valid change, said as such."""
    import dataclasses

    saved = dataclasses.asdict(TrainConfig(steps=10, cache_scenes=4, crop=(32, 32)))
    cli = {**dataclasses.asdict(TrainConfig(steps=20)), "color_codec": 0.3}
    cfg, changed = resumed_config(cli, {"steps", "color_codec"}, saved)
    assert (cfg.cache_scenes, cfg.color_codec, cfg.steps) == (4, 0.3, 20) and changed == ["color_codec: 0.0 -> 0.3"]


def test_abbreviated_options_count_as_given_on_resume(tmp_path, capsys):
    from conftest import load_tool

    first = _cfg(tmp_path)
    train(first)
    tool = load_tool("train")
    assert tool.main(["--out", first.out, "--resume", "--steps", "12", "--workers", "0", "--quiet",
                      "--lr-sched", "constant"]) == 0
    tc = json.loads((tmp_path / "run" / "config.json").read_text())["train_config"]
    assert tc["lr_schedule"] == "constant" and "resume changes lr_schedule: 'cosine' -> 'constant'" in \
        capsys.readouterr().err


def test_a_time_budget_goes_on_from_the_seconds_already_trained():
    cfg = TrainConfig(minutes=1)
    now = time.perf_counter()
    # 60 s trained before, a fresh minute now: half way at the start of the resumed invocation
    assert training._progress(cfg, 0, now, prior_s=60.0) == pytest.approx(0.5, abs=1e-3)
    assert training._progress(cfg, 0, now) == pytest.approx(0.0, abs=1e-3)
    assert training._l2(TrainConfig(minutes=1, l2_weight=1.0, l2_warmup=0.5), 0.25) == pytest.approx(0.5)


def test_the_log_drops_rows_after_the_checkpoint_and_a_better_best_stays(tmp_path):
    cfg = _cfg(tmp_path, ckpt_every=5, steps=10)
    train(cfg)
    run = tmp_path / "run"
    # as if the run had logged steps 15 and 20 and saved a better best.pt after last.pt, then died
    with open(run / "log.csv", "a", newline="") as f:
        csv.writer(f).writerows([[15, "9.0", "", "", "0.1", "1"] + [""] * 5, [20, "9.5", "", "", "0.1", "1"] + [""] * 5])
    best = torch.load(run / "best.pt", weights_only=True)
    best["val"] = {**best["val"], "psnr": 1e9}
    torch.save(best, run / "best.pt")
    assert best_of(run / "best.pt") == 1e9
    train(_cfg(tmp_path, steps=20, resume="auto"))
    steps = _steps(run / "log.csv")
    assert steps == [5, 10, 15, 20]  # 15 and 20 trained again, not logged twice
    with open(run / "log.csv") as f:
        times = [float(r["time_s"]) for r in csv.DictReader(f)]
    assert times == sorted(times)  # counted on from the seconds already trained
    assert best_of(run / "best.pt") == 1e9  # not replaced by a worse model


def test_cut_log_keeps_the_header_and_the_rows_up_to_the_step(tmp_path):
    p = tmp_path / "log.csv"
    p.write_text("step,time_s\n5,1\n10,2\n15,3\n")
    cut_log(p, 10)
    assert p.read_text().splitlines() == ["step,time_s", "5,1", "10,2"]


def test_ctrl_c_saves_the_steps_made(tmp_path, monkeypatch):
    calls = []
    real = training.validate

    def validate(*a, **k):
        calls.append(1)
        if len(calls) == 3:  # steps 5 and 10 validate; Ctrl-C at the validation of step 15
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(training, "validate", validate)
    with pytest.raises(KeyboardInterrupt) as e:
        train(_cfg(tmp_path, steps=100, ckpt_every=1000, val_every=5))
    assert torch.load(tmp_path / "run" / "last.pt", weights_only=True)["step"] == 15 == e.value.saved_step


@pytest.mark.parametrize("kw, said", [
    ({"val_every": 0}, "val_every must be >= 1"), ({"ckpt_every": 0}, "ckpt_every must be >= 1"),
    ({"val_samples": 0}, "val_samples must be >= 1"), ({"crops_per_frame": 0}, "crops_per_frame must be >= 1"),
    ({"frames_per_scene": 0}, "frames_per_scene must be >= 1"), ({"lr": -1.0}, "lr must be > 0"),
    ({"cache_scenes": -1}, "cache_scenes must be >= 0"), ({"minutes": -1.0, "steps": None}, "minutes must be > 0"),
    ({"device": "gpu"}, "device must be cpu, cuda or cuda:N"), ({"crop": (2000, 2000)}, "larger than the scene"),
])
def test_settings_that_cannot_train_are_refused_before_anything_is_written(tmp_path, kw, said):
    with pytest.raises(ValueError, match=said):
        _cfg(tmp_path, **kw)
    assert not (tmp_path / "run").exists()


def test_a_damaged_crop_cache_is_rendered_again(tmp_path, capsys):
    from igde_stream.data.cache import CacheConfig, load_or_build_cache
    from igde_stream.data import SceneConfig

    cfg = CacheConfig(scenes=1, frames_per_scene=1, crops_per_frame=2, crop=(32, 32),
                      scene=SceneConfig(width=96, height=64, textures="procedural"))
    first = load_or_build_cache(cfg, tmp_path, workers=1, progress=False)
    (path,) = tmp_path.glob("crops-*.npz")
    path.write_bytes(path.read_bytes()[:200])  # a killed copy, a full disk
    again = load_or_build_cache(cfg, tmp_path, workers=1, progress=False)
    assert "cannot be read" in capsys.readouterr().out
    assert all((first[k] == again[k]).all() for k in ("color", "depth", "gt"))


@pytest.mark.parametrize("budget, cut_s, resume", [
    (["--steps", "30"], 3.0, ["--steps", "30"]),
    (["--minutes", "2"], 30.0, ["--minutes", "1.5"]),  # a minute and a half of the invocation's two left
])
def test_the_command_an_interrupt_names_continues_the_run(tmp_path, monkeypatch, capsys, budget, cut_s, resume):
    """Ctrl-C names the options that continue the run: a bare --resume is refused ("give --steps
    and/or --minutes"), so they carry the run's budget, and the tool takes them as they are said."""
    import dataclasses
    import shlex

    from conftest import load_tool

    tool = load_tool("train")
    out = tmp_path / "run"
    runs = []

    def cut_off(cfg, invocation=None):  # the first run is cut after 9 steps and cut_s seconds
        runs.append(cfg)
        if len(runs) > 1:
            return out / "last.pt"
        out.mkdir()
        torch.save({"train_config": dataclasses.asdict(cfg), "step": 9}, out / "last.pt")
        exc = KeyboardInterrupt()
        exc.saved_step, exc.saved_seconds = 9, cut_s
        raise exc

    monkeypatch.setattr(training, "train", cut_off)
    argv = ["--model", "igde-tiny", *budget, "--crop", "32x32", "--workers", "0", "--quiet", "--out", str(out)]
    assert tool.main(argv) == 130
    said = capsys.readouterr().err.strip().splitlines()[-1]
    assert said.startswith(f"train.py: interrupted; {out}/last.pt holds step 9: continue with ")
    options = shlex.split(said.split("continue with ", 1)[1])
    assert options == ["--out", str(out), "--resume", *resume]
    assert tool.main([*options, "--workers", "0", "--quiet"]) == 0
    assert (runs[1].resume, runs[1].model, runs[1].crop) == ("auto", "igde-tiny", (32, 32))
    assert (runs[1].steps, runs[1].minutes) == ((30, None) if "--steps" in budget else (None, 1.5))


def test_shipped_weights_record_the_commands_that_resumed_their_run(tmp_path):
    """The run's own command stops at its first budget (20 steps here); a run resumed to 40 steps is
    remade only with the resume command too, so the .json of its weights carries ``resumed_with``,
    as config.json does: when exported, in the lineage of a fine-tune of it, and in a re-release."""
    import dataclasses

    from igde_stream.models import create_model, save_checkpoint
    from igde_stream.shipping import export_weights

    model = create_model("igde-tiny")
    tc = dataclasses.asdict(TrainConfig(model="igde-tiny", steps=40, seed=7))
    first = "python tools/train.py --model igde-tiny --steps 20 --seed 7 --out run"
    again = "python tools/train.py --out run --resume --steps 40"
    save_checkpoint(tmp_path / "last.pt", model, step=40, train_config=tc, command=first, resumed_with=[again])
    export_weights(tmp_path / "last.pt", tmp_path / "a.pt")
    record = json.loads((tmp_path / "a.json").read_text())
    assert (record["command"], record["seed"], record["steps"], record["resumed_with"]) == (first, 7, 40, [again])
    save_checkpoint(tmp_path / "ft.pt", model, step=5, command="fine-tune",
                    train_config={**tc, "model": str(tmp_path / "last.pt"), "steps": 5})
    export_weights(tmp_path / "ft.pt", tmp_path / "b.pt")
    record = json.loads((tmp_path / "b.json").read_text())
    assert "resumed_with" not in record  # the fine-tune ran once
    assert record["starts_from"][0]["resumed_with"] == [again]
    export_weights(tmp_path / "a.pt", tmp_path / "c.pt")  # shipped weights again: a re-release
    assert json.loads((tmp_path / "c.json").read_text())["resumed_with"] == [again]

import csv
import math

import pytest
import torch

from igde_stream.models import load_checkpoint
from igde_stream.shipping import export_weights
from igde_stream.training import LOG_COLUMNS, TrainConfig, train


def _cfg(tmp_path, **kw):
    base = dict(model="igde-tiny", steps=20, batch=2, crop=(48, 48), workers=0, val_every=10,
                val_samples=2, val_size=(48, 64), ckpt_every=10, log_every=5, out=str(tmp_path / "run"),
                scene_size=(128, 96), textures="procedural", threads=1, progress=False, lr=1e-3)
    base.update(kw)
    return TrainConfig(**base)


def _log(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_smoke_run_resume_and_export(tmp_path):
    final = train(_cfg(tmp_path))
    assert final.is_file() and (final.parent / "best.pt").is_file()
    model = load_checkpoint(final)
    assert model.config.g0 == 8  # igde-tiny's config travelled with the weights
    payload = torch.load(final, weights_only=True)
    assert payload["step"] == 20 and "optimizer" in payload
    rows = _log(final.parent / "log.csv")
    assert list(rows[0]) == list(LOG_COLUMNS)
    assert [int(r["step"]) for r in rows] == [5, 10, 15, 20]
    assert all(math.isfinite(float(r["loss"])) for r in rows)
    assert rows[1]["val_psnr"] != "" and rows[0]["val_psnr"] == ""

    train(_cfg(tmp_path, steps=30, resume="auto"))
    payload = torch.load(final, weights_only=True)
    assert payload["step"] == 30
    assert [int(r["step"]) for r in _log(final.parent / "log.csv")][-2:] == [25, 30]

    meta = export_weights(final, tmp_path / "ship" / "igde-tiny.pt")
    shipped = torch.load(tmp_path / "ship" / "igde-tiny.pt", weights_only=True)
    assert "optimizer" not in shipped and meta["steps"] == 30 and meta["seed"] == 0
    assert (tmp_path / "ship" / "igde-tiny.json").is_file()
    a, b = load_checkpoint(final), load_checkpoint(tmp_path / "ship" / "igde-tiny.pt")
    for (k, v), (_, w) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(v, w), k


def test_overrides_loss_weights_and_workers(tmp_path):
    final = train(_cfg(tmp_path, steps=4, overrides={"color_taps": 0}, loss_weights=(1.0, 0.0, 0.0),
                       workers=1, val_every=4, log_every=2))
    assert load_checkpoint(final).config.color_taps == 0


def test_config_errors():
    with pytest.raises(ValueError, match="steps and/or minutes"):
        TrainConfig()
    with pytest.raises(ValueError, match="unknown TrainConfig keys"):
        TrainConfig.from_dict({"steps": 1, "learning_rate": 1})
    with pytest.raises(ValueError, match="unknown model"):
        train(TrainConfig(model="nope", steps=1, progress=False))


def test_training_path_imports_without_pyav():
    # the GPU machine has no PyAV: nothing on the training path may import it
    import subprocess
    import sys

    code = ("import sys; sys.modules['av'] = None; import igde_stream.training, igde_stream.evaluation, "
            "igde_stream.data.dataset")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_training_loss_follows_the_loss_weights(tmp_path):
    # with no MSE warm-up the loss is exactly (5) = a L_depth + b L_focal + c L_sobel; on the same first
    # batch from the same start, the loss of (1, 1, 1) is the sum of the three single-term losses
    first = {}
    for i, w in enumerate([(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0), (1.0, 1.0, 1.0), (2.0, 0.0, 0.0)]):
        out = train(_cfg(tmp_path / str(i), steps=1, log_every=1, val_every=100, loss_weights=w, l2_weight=0.0))
        first[w] = float(_log(out.parent / "log.csv")[0]["loss"])
    singles = first[(1.0, 0.0, 0.0)] + first[(0.0, 1.0, 0.0)] + first[(0.0, 0.0, 1.0)]
    assert first[(1.0, 1.0, 1.0)] == pytest.approx(singles, rel=1e-4)
    assert first[(2.0, 0.0, 0.0)] == pytest.approx(2 * first[(1.0, 0.0, 0.0)], rel=1e-4)
    assert len({round(v, 6) for v in first.values()}) == 5


def test_select_head_trains_from_a_crop_cache_and_calibrates_its_gate(tmp_path):
    out = train(_cfg(tmp_path, model=str("igde-tiny"), overrides={"head": "select", "radius": 3, "candidates": "star"},
                     steps=6, cache_scenes=2, cache_dir=str(tmp_path / "cache"), mix=True, crop=(32, 32),
                     temperature_end=0.3, hard_start=0.5, val_every=3, log_every=3))
    model = load_checkpoint(out)
    assert model.config.head == "select" and model.config.gate_threshold in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
    assert model.head.gate_threshold == model.config.gate_threshold
    assert list((tmp_path / "cache").glob("crops-*.npz"))
    rows = _log(out.parent / "log.csv")
    # steps 3 and 6, then the validation after the gate's calibration, in a row with no loss
    assert [int(r["step"]) for r in rows] == [3, 6, 6] and all(math.isfinite(float(r["loss"])) for r in rows[:2])
    assert rows[2]["loss"] == "" and rows[2]["val_psnr"] != ""


# ------------------------------------------------------------------ the MSE warm-up (l2_weight / l2_warmup)


@pytest.mark.parametrize("kw, resumed, expected", [
    # w = max(0, 1 - progress / l2_warmup): from 1 at the start, linearly to 0 at l2_warmup, then 0
    (dict(), False, {0.0: 1.0, 0.25: 0.75, 0.5: 0.5, 0.9: 0.1, 1.0: 0.0}),
    (dict(l2_warmup=0.4), False, {0.0: 1.0, 0.1: 0.75, 0.2: 0.5, 0.3: 0.25, 0.4: 0.0, 0.7: 0.0, 1.0: 0.0}),
    (dict(l2_warmup=2.0), False, {0.0: 1.0, 0.5: 0.75, 1.0: 0.5}),
    (dict(l2_warmup=0.5), False, {0.0: 1.0, 0.25: 0.5, 0.5: 0.0}),
    # no warm-up at all
    (dict(l2_weight=0.0), False, {0.0: 0.0, 0.5: 0.0}),
    (dict(l2_weight=-1.0), False, {0.0: 0.0}),
    (dict(l2_warmup=0.0), False, {0.0: 0.0, 0.5: 0.0}),
    (dict(l2_warmup=-0.5), False, {0.0: 0.0, 0.5: 0.0}),
    (dict(steps=None, minutes=1.0), False, {0.0: 1.0, 0.5: 0.5}),
])
def test_mse_warmup_share_by_hand(kw, resumed, expected):
    from igde_stream.training import _l2

    cfg = TrainConfig(**{"steps": 100, **kw})
    got = {p: _l2(cfg, p) for p in expected}  # resumed or not: progress carries the run's history
    assert got == pytest.approx(expected, abs=1e-12)


def test_mse_warmup_share_is_logged_per_step(tmp_path):
    # the logged share is that of the last step of each interval: step s (1-based) ran at progress (s-1)/steps
    out = train(_cfg(tmp_path, steps=8, log_every=2, val_every=100, l2_warmup=0.5))
    rows = _log(out.parent / "log.csv")
    assert [int(r["step"]) for r in rows] == [2, 4, 6, 8, 8]  # the last: the final validation (none at 8)
    assert [float(r["l2_share"]) for r in rows[:4]] == pytest.approx([0.75, 0.25, 0.0, 0.0])


def test_training_loss_blends_mse_by_the_share(tmp_path, monkeypatch):
    # same start, same first batch: loss(w) = (1 - w) loss(0) + w l2_weight MSE, and loss(1) = l2_weight MSE
    import igde_stream.training as T

    def first_loss(name, w, **kw):
        monkeypatch.setattr(T, "_l2", lambda cfg, progress: w)
        out = train(_cfg(tmp_path / name, steps=1, log_every=1, val_every=100, **kw))
        return float(_log(out.parent / "log.csv")[0]["loss"])

    l5, mse10, mix = first_loss("a", 0.0), first_loss("b", 1.0), first_loss("c", 0.3)
    mse20 = first_loss("d", 1.0, l2_weight=20.0)
    assert mse20 == pytest.approx(2 * mse10, rel=1e-4)
    assert mix == pytest.approx(0.7 * l5 + 0.3 * mse10, rel=1e-4)
    assert len({round(v, 6) for v in (l5, mse10, mix)}) == 3


# ------------------------------------------------------------------ best.pt


def _scripted_validation(monkeypatch, psnrs):
    """Replace validation by a script: the n-th call returns the n-th PSNR. Returns the list of calls."""
    import igde_stream.training as T

    calls = []

    def fake(model, batch, device, amp=None, chunk=4):
        v = psnrs[len(calls)]
        calls.append(v)
        return {"psnr": v, "psnr_t": v + 1, "psnr_f": v - 1, "ssim": 0.5, "rmse": 1.0}

    monkeypatch.setattr(T, "validate", fake)
    return calls


def test_best_checkpoint_holds_the_best_validation_psnr(tmp_path, monkeypatch):
    # validations at steps 5, 10, 15 and the final one (also at 15); a tie does not replace the best
    calls = _scripted_validation(monkeypatch, [10.0, 30.0, 30.0, 12.0])
    final = train(_cfg(tmp_path, steps=15, val_every=5, log_every=5, ckpt_every=100))
    assert calls == [10.0, 30.0, 30.0, 12.0]
    best = torch.load(final.parent / "best.pt", weights_only=True)
    assert best["step"] == 10 and best["best_val_psnr"] == 30.0 and best["val"]["psnr"] == 30.0
    last = torch.load(final, weights_only=True)
    assert last["step"] == 15 and last["best_val_psnr"] == 30.0 and last["val"]["psnr"] == 12.0
    assert any(not torch.equal(best["state_dict"][k], last["state_dict"][k]) for k in best["state_dict"])  # an earlier model
    assert [r["val_psnr"] for r in _log(final.parent / "log.csv")] == ["10.0000", "30.0000", "30.0000"]


def test_best_checkpoint_takes_the_final_validation_and_survives_a_resume(tmp_path, monkeypatch):
    _scripted_validation(monkeypatch, [10.0, 20.0, 15.0, 40.0])
    final = train(_cfg(tmp_path, steps=15, val_every=5, log_every=5, ckpt_every=100))
    best = torch.load(final.parent / "best.pt", weights_only=True)
    assert best["step"] == 15 and best["val"]["psnr"] == 40.0
    # resumed: the earlier best (40) still counts, so 35 and 38 do not replace it; 45 then does
    calls = _scripted_validation(monkeypatch, [35.0, 38.0])
    train(_cfg(tmp_path, steps=20, val_every=5, log_every=5, ckpt_every=100, resume="auto"))
    assert calls == [35.0, 38.0]
    best = torch.load(final.parent / "best.pt", weights_only=True)
    assert best["step"] == 15 and best["best_val_psnr"] == 40.0
    _scripted_validation(monkeypatch, [45.0, 41.0])
    train(_cfg(tmp_path, steps=25, val_every=5, log_every=5, ckpt_every=100, resume="auto"))
    best = torch.load(final.parent / "best.pt", weights_only=True)
    assert best["step"] == 25 and best["best_val_psnr"] == 45.0 and best["val"]["psnr"] == 45.0


# ------------------------------------------------------------------ refine_share: training later passes


def test_refine_share_trains_on_the_models_own_hard_output(tmp_path, monkeypatch):
    """With refine_share 0.5 of a batch of 2, the logits of each step are computed on [the model's
    own hard output of sample 0, sample 1 as degraded]; with 0, on the degraded batch itself."""
    from igde_stream.models.igde import IGDE, SelectionHead

    seen = []
    original = IGDE.select_logits

    def recording(self, color, depth):
        seen.append((depth.detach().clone(), torch.is_grad_enabled()))
        return original(self, color, depth)

    monkeypatch.setattr(IGDE, "select_logits", recording)
    monkeypatch.setattr(SelectionHead, "hard", lambda self, logits, depth, threshold=None: depth + 0.25)  # a marker
    sel = {"head": "select", "radius": 3, "candidates": "star"}
    train(_cfg(tmp_path, overrides=sel, steps=1, refine_share=0.5, val_every=100, crop=(32, 32)))
    (refine_in, refine_grad), (train_in, train_grad) = seen[0], seen[1]
    assert not refine_grad and train_grad and refine_in.shape[0] == 1 and train_in.shape[0] == 2
    # the refined sample is the head's hard output (here: the marker)
    assert torch.equal(train_in[0:1], refine_in + 0.25)
    seen.clear()
    train(_cfg(tmp_path / "b", overrides=sel, steps=1, refine_share=0.0, val_every=100, crop=(32, 32)))
    assert len(seen) >= 1 and seen[0][1] and seen[0][0].shape[0] == 2
    with pytest.raises(ValueError, match="refine_share"):
        TrainConfig(steps=1, refine_share=1.5)


def test_checkpoint_overrides_keep_weights_and_refuse_shape_changes(tmp_path):
    from igde_stream.models import create_model, save_checkpoint
    from igde_stream.training import _build

    base = create_model("igde-tiny", head="select", radius=3, candidates="star")
    save_checkpoint(tmp_path / "m.pt", base)
    model, _ = _build(_cfg(tmp_path, model=str(tmp_path / "m.pt"), overrides={"passes": 2}))
    assert model.config.passes == 2
    for (k, v), (_, w) in zip(base.state_dict().items(), model.state_dict().items()):
        assert torch.equal(v, w), k
    with pytest.raises(ValueError, match="change the weights"):
        _build(_cfg(tmp_path, model=str(tmp_path / "m.pt"), overrides={"g0": 12}))


def test_export_with_an_inference_override(tmp_path):
    import json

    from igde_stream.models import create_model, save_checkpoint

    base = create_model("igde-tiny", head="select", radius=3, candidates="star")
    (tmp_path / "run").mkdir()
    save_checkpoint(tmp_path / "run" / "last.pt", base)
    meta = export_weights(tmp_path / "run" / "last.pt", tmp_path / "ship" / "m.pt", overrides={"passes": 2})
    shipped = load_checkpoint(tmp_path / "ship" / "m.pt")
    assert shipped.config.passes == 2 and meta["config"]["passes"] == 2
    assert json.loads((tmp_path / "ship" / "m.json").read_text())["export_overrides"] == {"passes": 2}
    for (k, v), (_, w) in zip(base.state_dict().items(), shipped.state_dict().items()):
        assert torch.equal(v, w), k
    with pytest.raises(ValueError, match="change the weights"):
        export_weights(tmp_path / "run" / "last.pt", tmp_path / "ship" / "n.pt", overrides={"g": 4})


def test_lineage_lists_the_runs_a_fine_tune_started_from(tmp_path):
    """A fine-tune of a fine-tune: the export's starts_from names both parents, nearest first, with
    their commands and seeds; a run from a registered name ends the chain."""
    from igde_stream.shipping import _lineage

    def run(name, model, seed):
        path = tmp_path / f"{name}.pt"
        torch.save({"train_config": {"model": model, "seed": seed, "command": f"train {name}"},
                    "step": 10 * seed, "elapsed_s": 1.5}, path)
        return str(path)

    a = run("a", "igde-small", 0)
    b = run("b", a, 1)
    chain = _lineage(b)
    assert [e["checkpoint"] for e in chain] == [b, a]
    assert [e["command"] for e in chain] == ["train b", "train a"] and [e["seed"] for e in chain] == [1, 0]
    assert chain[0]["steps"] == 10
    assert _lineage("igde-small") == [] and _lineage(str(tmp_path / "missing.pt")) == []


def test_lineage_of_a_long_chain_and_of_a_checkpoint_that_names_itself(tmp_path):
    """Six fine-tunes, each from the one before (the shipped igde-small's first parent records 14
    runs): all six, nearest first. A checkpoint whose start is its own path (a fine-tune that wrote
    over the file it started from) is listed once (it was 8 times), not a RecursionError; so is a
    checkpoint that two names in a chain reach."""
    from igde_stream.shipping import _lineage

    start = "igde-small"
    for i in range(6):
        path = tmp_path / f"f{i}.pt"
        torch.save({"train_config": {"model": start, "seed": i, "command": f"train f{i}"}, "step": i}, path)
        start = str(path)
    chain = _lineage(start)
    assert [e["seed"] for e in chain] == [5, 4, 3, 2, 1, 0]
    assert [e["checkpoint"] for e in chain] == [str(tmp_path / f"f{i}.pt") for i in (5, 4, 3, 2, 1, 0)]
    loop = tmp_path / "loop.pt"
    torch.save({"train_config": {"model": str(loop), "seed": 9, "command": "train loop"}, "step": 1}, loop)
    chain = _lineage(str(loop))
    assert [e["checkpoint"] for e in chain] == [str(loop)]
    a, b = tmp_path / "a.pt", tmp_path / "b.pt"  # a -> b -> a again (by another spelling of its path)
    torch.save({"train_config": {"model": str(b), "seed": 1}, "step": 1}, a)
    torch.save({"train_config": {"model": str(tmp_path / "." / "a.pt"), "seed": 2}, "step": 1}, b)
    assert [e["seed"] for e in _lineage(str(a))] == [1, 2]


def test_lineage_of_a_fine_tune_of_shipped_weights_survives_their_replacement(tmp_path):
    """A run fine-tuned from shipped weights (weights-only .pt + .json record) and exported over them:
    starts_from takes the shipped run's command and seed from its record, continues with that
    record's own starts_from, and is read before the export replaces the file."""
    import json

    from igde_stream.models import create_model, save_checkpoint

    ship = tmp_path / "weights" / "m.pt"
    ship.parent.mkdir()
    save_checkpoint(ship, create_model("igde-tiny"))
    older = [{"checkpoint": "runs/old/last.pt", "command": "train old", "seed": 4}]
    ship.with_suffix(".json").write_text(json.dumps(
        {"weights_hash": "abc", "command": "train shipped", "seed": 5, "steps": 7, "train_seconds": 2.0,
         "export_command": "export shipped", "starts_from": older}))
    run = tmp_path / "run" / "last.pt"
    run.parent.mkdir()
    save_checkpoint(run, create_model("igde-tiny"), train_config={"model": str(ship), "seed": 6}, step=3)
    meta = export_weights(run, ship)
    chain = meta["starts_from"]
    assert chain[0]["command"] == "train shipped" and chain[0]["seed"] == 5 and chain[0]["weights_hash"] == "abc"
    assert chain[1:] == older
    assert json.loads(ship.with_suffix(".json").read_text())["seed"] == 6  # the new record replaced it


def test_re_release_of_shipped_weights_keeps_their_training_record(tmp_path):
    """Shipped weights exported again in place with an inference override: the weights are the same,
    the config has the override, and the record still names the training run that made them (its
    command, seed and lineage), with the earlier overrides kept and the earlier release named."""
    import json

    from igde_stream.models import create_model, save_checkpoint

    ship = tmp_path / "weights" / "m.pt"
    ship.parent.mkdir()
    base = create_model("igde-tiny", head="select", radius=3, candidates="star", pick_temperature=0.3)
    save_checkpoint(ship, base)
    older = [{"checkpoint": "runs/old/last.pt", "command": "train old", "seed": 4}]
    ship.with_suffix(".json").write_text(json.dumps(
        {"weights_hash": "abc", "command": "train shipped", "seed": 5, "steps": 7, "train_seconds": 2.0,
         "export_command": "export shipped", "export_overrides": {"pick_temperature": 0.3},
         "starts_from": older, "evaluation": {"rows": []}}))
    meta = export_weights(ship, ship, overrides={"flip_average": True}, extra={"export_command": "re-export"})
    again = load_checkpoint(ship)
    assert again.config.flip_average and again.config.pick_temperature == 0.3
    for (k, v), (_, w) in zip(base.state_dict().items(), again.state_dict().items()):
        assert torch.equal(v, w), k
    record = json.loads(ship.with_suffix(".json").read_text())
    assert record == json.loads(json.dumps(meta))
    assert (record["command"], record["seed"], record["steps"], record["starts_from"]) == ("train shipped", 5, 7, older)
    assert record["export_overrides"] == {"pick_temperature": 0.3, "flip_average": True}
    assert record["re_released_from"]["weights_hash"] == "abc" and record["export_command"] == "re-export"
    assert record["weights_hash"] != "abc" and "evaluation" not in record  # a new release is scored anew


def test_export_of_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys):
    """tools/train.py --export: a missing checkpoint, a broken record beside shipped weights and an
    override that is not a bool each end in argparse's usage and one error line, exit status 2, and
    no file written."""
    import importlib.util
    from pathlib import Path

    from igde_stream.models import create_model, save_checkpoint

    path = Path(__file__).resolve().parent.parent / "tools" / "train.py"
    spec = importlib.util.spec_from_file_location("train_tool", path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    ship = tmp_path / "m.pt"
    save_checkpoint(ship, create_model("igde-tiny", head="select", radius=3, candidates="star"))
    ship.with_suffix(".json").write_text("{broken")
    cases = [(["--export", str(tmp_path / "none.pt")], "no such checkpoint"),
             (["--export", str(ship)], "not a JSON record"),
             (["--export", str(ship), "--override", "flip_average=false"], "True or False")]
    for args, why in cases:
        with pytest.raises(SystemExit) as exit_info:
            tool.main(args + ["--to", str(tmp_path / "out" / "o.pt")])
        err = capsys.readouterr().err.strip().splitlines()
        assert exit_info.value.code == 2 and why in err[-1] and "error:" in err[-1], err
        assert not (tmp_path / "out").exists()


def test_export_without_to_is_refused_and_writes_nothing(tmp_path, capsys, monkeypatch):
    """tools/train.py --export without --to: one line, exit 2, as --average without --to; no file is
    guessed (it was igde_stream/weights/<run folder>.pt under the working folder, where a run folder
    named like a shipped model would replace its weights)."""
    import importlib.util
    from pathlib import Path

    from igde_stream.models import create_model, save_checkpoint

    path = Path(__file__).resolve().parent.parent / "tools" / "train.py"
    spec = importlib.util.spec_from_file_location("train_tool_to", path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    (tmp_path / "igde-small").mkdir()
    save_checkpoint(tmp_path / "igde-small" / "best.pt", create_model("igde-tiny"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        tool.main(["--export", "igde-small/best.pt"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and "--export needs --to" in err[-1], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["igde-small"]


def test_training_that_cannot_start_is_one_line_and_writes_nothing(tmp_path, capsys):
    """tools/train.py: an unknown model, a missing checkpoint to fine-tune and --flip-train on a model
    without the flip average end in one error line, exit status 2, before the run folder exists."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "tools" / "train.py"
    spec = importlib.util.spec_from_file_location("train_tool_start", path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    cases = [(["--model", "nope"], "unknown model"),
             (["--model", str(tmp_path / "none.pt")], "no such checkpoint"),
             (["--model", "igde-tiny", "--override", "head=select", "--flip-train"], "flip_average=True")]
    for args, why in cases:
        with pytest.raises(SystemExit) as exit_info:
            tool.main(args + ["--steps", "1", "--workers", "0", "--quiet", "--out", str(tmp_path / "run")])
        err = capsys.readouterr().err.strip().splitlines()
        assert exit_info.value.code == 2 and why in err[-1] and "error:" in err[-1], err
        assert not (tmp_path / "run").exists()


def _grown_as_the_identity(tmp_path, override: dict):
    """A perturbed tiny select checkpoint rebuilt with ``override`` (new zero-initialised layers): the
    grown model, after checking that its scores equal the checkpoint's and that setting the
    override back to 0 on the grown checkpoint is refused."""
    from igde_stream.models import create_model, save_checkpoint
    from igde_stream.training import _build

    base = create_model("igde-tiny", head="select", radius=3, candidates="star", scale=2).eval()
    with torch.no_grad():
        for i, p in enumerate(base.parameters()):
            p.add_(torch.randn(p.shape, generator=torch.Generator().manual_seed(i)) * 0.05)
    save_checkpoint(tmp_path / "m.pt", base)
    grown, _ = _build(_cfg(tmp_path, model=str(tmp_path / "m.pt"), overrides=override))
    grown.eval()
    color = torch.rand(1, 3, 20, 26, generator=torch.Generator().manual_seed(7))
    depth = torch.rand(1, 1, 20, 26, generator=torch.Generator().manual_seed(8))
    with torch.no_grad():
        assert torch.equal(grown.select_logits(color, depth), base.select_logits(color, depth))
    save_checkpoint(tmp_path / "g.pt", grown)
    with pytest.raises(ValueError, match="change the weights"):
        _build(_cfg(tmp_path, model=str(tmp_path / "g.pt"), overrides=dict.fromkeys(override, 0)))
    return grown


def test_a_global_context_joins_a_checkpoint_as_the_identity(tmp_path):
    """``--override global_context=C`` on a checkpoint without it: its weights load, the context's last
    layer starts at zero, the scores are unchanged; dropping a trained context is refused."""
    grown = _grown_as_the_identity(tmp_path, {"global_context": 4})
    assert grown.config.global_context == 4 and not grown.context[2].weight.any()


def test_full_resolution_layers_join_a_checkpoint_as_the_identity(tmp_path):
    """``--override full_convs=N`` on a checkpoint: its weights load, the new layers start at zero,
    the model's output is unchanged; dropping layers a checkpoint has is refused."""
    grown = _grown_as_the_identity(tmp_path, {"full_convs": 2})
    assert grown.config.full_convs == 2 and len(grown.full_res) == 2
    assert all(not p.any() for p in grown.full_res.parameters())

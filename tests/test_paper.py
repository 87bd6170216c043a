import json

import pytest

from igde_stream import paper
from igde_stream.models import create_model, list_models, save_checkpoint


def test_suite_rows_are_consistent():
    names = set(list_models())
    for key, spec in paper.LEARNED.items():
        assert f"{spec.arch}-small" in names and f"{spec.arch}-tiny" in names, key
    used = {key for rows in paper.TABLES.values() for _, key in rows}
    assert set(paper.LEARNED) <= used  # nothing is trained that no table shows
    for _, key in paper.TABLES["table1"]:
        assert key == "input" or key.startswith("filter:") or key in paper.LEARNED
    assert [paper.LEARNED[k].loss_weights for _, k in paper.TABLES["table2"]] == [
        (1, 0, 0), (1, 1, 0), (1, 0, 1), (1, 1, 1)]
    taps = [paper.LEARNED[k].overrides.get("color_taps", 3) for _, k in paper.TABLES["table3"]]
    assert taps == [0, 1, 2, 3]
    # one IGDE row serves all three tables: trained once
    assert {k for _, k in paper.TABLES["table1"]} & {k for _, k in paper.TABLES["table2"]} == {"igde"}


def _fake_run(out, key, steps_done, snapshots):
    model = create_model("igde-tiny")
    for s in snapshots:
        (out / "snapshots" / key).mkdir(parents=True, exist_ok=True)
        save_checkpoint(out / "snapshots" / key / f"{s}.pt", model)
        (out / "snapshots" / key / f"{s}.json").write_text(json.dumps({"steps": s, "seed": 0}))
    save_checkpoint(out / f"{key}.pt", model)
    (out / f"{key}.json").write_text(json.dumps({"steps": steps_done, "seed": 0}))


def test_equalize_sets_every_row_to_the_common_snapshot(tmp_path):
    _fake_run(tmp_path, "igde", 100, [25, 50, 75, 100])
    _fake_run(tmp_path, "decnn", 63, [25, 50])  # stopped by the time cap
    assert paper.equalize(tmp_path, ["igde", "decnn"]) == 50
    for key, was in (("igde", 100), ("decnn", 63)):
        rec = json.loads((tmp_path / f"{key}.json").read_text())
        assert rec["steps"] == 50 and rec["equalized_from_steps"] == was


def test_equalize_without_common_snapshot_changes_nothing(tmp_path):
    _fake_run(tmp_path, "igde", 100, [50, 100])
    _fake_run(tmp_path, "decnn", 20, [])
    assert paper.equalize(tmp_path, ["igde", "decnn"]) is None
    assert json.loads((tmp_path / "igde.json").read_text())["steps"] == 100


def test_train_and_evaluate_end_to_end(tmp_path):
    ck = tmp_path / "ck"
    rows = ["igde", "rdn-depth"]
    recs = paper.train_suite(ck, steps=2, jobs=2, keys=rows, crop=(32, 32), batch=1, scale="tiny",
                             workers=0, threads=1, scene_size=(96, 64), val_samples=1, chunks=2,
                             keep_snapshots=True, log=lambda _: None)
    assert set(recs) == set(rows) and all(r["steps"] == 2 and r["seed"] == 0 for r in recs.values())
    assert all((ck / "snapshots" / k / "1.pt").is_file() for k in rows)
    assert not list((ck / "runs").rglob("*.pt"))  # full checkpoints (with optimizer) removed

    res = tmp_path / "res"
    # networks first (as on a GPU machine), then the filters elsewhere: the tables merge
    first = paper.evaluate_suite(ck, res, sequences=1, frames=2, size=(64, 48), icl=None, figures=1,
                                 datasets=["synthetic"], methods=["input", "learned"], log=lambda _: None)
    assert {r["key"]: r for r in first["table1"]}["filter:guided"]["psnr"] is None
    with pytest.raises(ValueError, match="other data"):
        paper.evaluate_suite(ck, res, sequences=1, frames=3, size=(64, 48), icl=None, figures=0,
                             datasets=["synthetic"], methods=["filters"], log=lambda _: None)
    obj = paper.evaluate_suite(ck, res, sequences=1, frames=2, size=(64, 48), icl=None, figures=0,
                               datasets=["synthetic"], methods=["filters"], log=lambda _: None)
    assert {r["key"]: r for r in obj["table1"]}["igde"] == {r["key"]: r for r in first["table1"]}["igde"]
    for table in ("table1", "table2", "table3"):
        for row in obj[table]:
            assert {"method", "psnr", "psnr_t", "psnr_f", "ssim", "rmse", "steps", "seed"} <= set(row)
    t1 = {r["key"]: r for r in obj["table1"]}
    assert t1["igde"]["steps"] == 2 and t1["igde"]["seed"] == 0 and t1["igde"]["psnr"] is not None
    assert t1["decnn"]["trained"] is False and t1["decnn"]["psnr"] is None  # no checkpoint: empty row
    assert t1["filter:guided"]["steps"] == 0 and t1["input"]["temporal"] is not None
    assert (res / "paper_tables.md").read_text().count("## Table") == 3
    assert (res / "fig10_synthetic_test_0.png").stat().st_size > 0
    saved = json.loads((res / "paper_tables.json").read_text())
    assert saved["table1"][0]["method"] == "degraded input"

    # the networks again on ONNX Runtime: same numbers (within rounding), and the tables say where they ran
    ort = paper.evaluate_suite(ck, res, sequences=1, frames=2, size=(64, 48), icl=None, figures=0,
                               datasets=["synthetic"], methods=["learned"], backend="onnxruntime", threads=1,
                               log=lambda _: None)
    assert {r["key"]: r for r in ort["table1"]}["igde"]["psnr"] == pytest.approx(t1["igde"]["psnr"], abs=0.05)
    devices = ort["meta"]["datasets"]["synthetic-test"]["devices"]
    assert devices["igde@0"] == "cpu (onnxruntime)" and devices["filter:guided"] == "cpu"
    saved = json.loads((res / "paper_tables.json").read_text())

    # a later run on other data keeps the synthetic results from paper_raw.json
    again = paper.evaluate_suite(ck, res, icl=tmp_path / "missing", figures=0, datasets=["icl"],
                                 log=lambda _: None)
    assert again["table1"] == saved["table1"]


def test_unknown_rows_raise(tmp_path):
    with pytest.raises(ValueError, match="unknown suite rows"):
        paper.train_suite(tmp_path, steps=1, keys=["igde-huge"])
    with pytest.raises(ValueError, match="steps and/or minutes"):
        paper.train_suite(tmp_path, steps=None)


@pytest.mark.parametrize("kwargs, message", [
    ({"steps": 0}, "steps must be >= 1, got 0"),  # trained 1 step and exited 0
    ({"steps": -5}, "steps must be >= 1, got -5"),
    ({"steps": 1, "jobs": 0}, "jobs must be >= 1, got 0"),  # waited forever, no row ever started
    ({"steps": 1, "batch": 0}, "batch must be >= 1, got 0"),  # every row failed, a traceback in its log
    ({"steps": 1, "chunks": 0}, "chunks must be >= 1, got 0"),
    ({"steps": 1, "workers": -1}, "workers must be >= 0, got -1"),
    ({"steps": None, "minutes": -1.0}, "minutes must be a number > 0, got -1"),
    ({"steps": 1, "minutes": float("nan")}, "minutes must be a number > 0, got nan"),
])
def test_bad_budgets_raise_before_anything_is_written(tmp_path, kwargs, message):
    """Checked before the output folder is made and a row is started (paper_suite.py train --jobs 0 hung)."""
    with pytest.raises(ValueError, match=message):
        paper.train_suite(tmp_path / "suite", keys=["igde"], **kwargs)
    assert not (tmp_path / "suite").exists()


@pytest.mark.parametrize("kwargs, message", [
    ({"sequences": 0}, "sequences must be >= 1, got 0"),  # was an IndexError traceback
    ({"batch": 0}, "batch must be >= 1, got 0"),  # was "range() arg 3 must not be zero"
    ({"frames": 0}, "frames must be >= 1, got 0"),
    ({"figures": -1}, "figures must be >= 0, got -1"),
])
def test_bad_evaluation_sizes_raise_before_the_output_folder_is_made(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        paper.evaluate_suite(tmp_path, tmp_path / "res", datasets=["synthetic"], methods=["input"], size=(64, 48),
                             log=lambda _: None, **{"sequences": 1, "frames": 1, **kwargs})
    assert not (tmp_path / "res").exists()


def test_real_pictures_skip_missing_frames(tmp_path):
    import cv2
    import numpy as np

    ck = tmp_path / "igde.pt"
    save_checkpoint(ck, create_model("igde-tiny"))
    (tmp_path / "tum_rgbd").mkdir()
    cv2.imwrite(str(tmp_path / "tum_rgbd/slambook_fr1_1.png"), np.full((24, 32, 3), 90, np.uint8))
    z = np.full((24, 32), 10000, np.uint16)
    z[:, :5] = 0  # missing depth stays 0
    cv2.imwrite(str(tmp_path / "tum_rgbd/slambook_fr1_1_depth.png"), z)
    written = paper.real_pictures(ck, tmp_path, tmp_path / "out", log=lambda _: None)
    assert [p.name for p in written] == ["real_tum_fr1_1.png"]


def test_real_pictures_without_any_frame_is_an_error_and_writes_nothing(tmp_path):
    """`paper_suite.py real --real WRONG_FOLDER` exited 0 with an empty output folder: none of the
    frames there is a mistake to name, in one line (FileNotFoundError: run_tool's exit 2)."""
    ck = tmp_path / "igde.pt"
    save_checkpoint(ck, create_model("igde-tiny"))
    with pytest.raises(FileNotFoundError, match="none of the TUM / HoloLens frames"):
        paper.real_pictures(ck, tmp_path / "no_such_folder", tmp_path / "out", log=lambda _: None)
    assert not (tmp_path / "out").exists()


def test_rows_of_several_seeds_are_averaged(tmp_path):
    import torch

    folders = []
    for seed in (0, 1):
        folder = tmp_path / f"seed{seed}"
        folder.mkdir()
        torch.manual_seed(seed)
        save_checkpoint(folder / "igde.pt", create_model("igde-tiny"))
        (folder / "igde.json").write_text(json.dumps({"steps": 3, "seed": seed}))
        folders.append(folder)
    kw = dict(sequences=1, frames=2, size=(64, 48), icl=None, figures=0, datasets=["synthetic"],
              methods=["input", "learned"], log=lambda _: None)
    obj = paper.evaluate_suite(folders, tmp_path / "res", **kw)
    igde = {r["key"]: r for r in obj["table1"]}["igde"]
    per = igde["psnr_per_seed"]
    assert igde["seed"] == [0, 1] and igde["steps"] == 3 and set(per) == {"0", "1"}
    assert igde["psnr"] == pytest.approx((per["0"] + per["1"]) / 2)
    assert igde["psnr_seed_spread"] == pytest.approx(abs(per["0"] - per["1"]))
    md = (tmp_path / "res" / "paper_tables.md").read_text()
    assert "PSNR per seed" in md and "trained once per seed (seeds 0, 1: igde;" in md
    # one seed folder alone replaces the learned rows (no stale seed 1 left in the tables)
    one = paper.evaluate_suite(folders[:1], tmp_path / "res", **kw)
    assert {r["key"]: r for r in one["table1"]}["igde"]["seed"] == 0
    with pytest.raises(ValueError, match="one folder per seed"):
        paper.evaluate_suite([folders[0], folders[0]], tmp_path / "res", **kw)


def test_claims_call_differences_within_seed_spread_undecided():
    def row(key, psnr, spread=None):
        return {"key": key, "method": key, "psnr": psnr, "psnr_seed_spread": spread}

    t2 = [row("igde-l1", 25.0, 0.4), row("igde-l1-focal", 25.1, 0.1), row("igde-l1-sobel", 24.9, 0.2),
          row("igde", 25.2, 0.3)]
    (line,) = paper.claims({"table2": t2})
    assert "undecided" in line and "0.40 dB" in line
    t2[3]["psnr"] = 25.45  # 0.35 above the next row, less than the 0.4 dB spread
    assert "within noise" in paper.claims({"table2": t2})[0]
    t2[3]["psnr"] = 26.0
    assert "holds here" in paper.claims({"table2": t2})[0]


def test_claim1_names_rows_above_below_and_at_the_identity():
    def row(key, psnr):
        return {"key": key, "method": key, "psnr": psnr, "psnr_seed_spread": None}

    t1 = [row("input", 20.0), row("decnn", 20.01), row("drecnn", 26.0), row("dencbpn", 21.0), row("igde", 23.0)]
    (line,) = paper.claims({"table1": t1})
    assert "does not hold" in line and "drecnn (26.00)" in line
    assert "clearly below IGDE: decnn (20.01), dencbpn (21.00)" in line
    assert "input: decnn: at this training budget it has barely moved" in line

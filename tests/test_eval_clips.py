"""Your own frames in tools/evaluate.py (``--clip COLOR DEPTH GT``, ``eval_clips.clip_sequence``):
colour, degraded depth and ground truth as image folders, scored as they are. Every figure is checked
against NumPy and scikit-image on the same files, and against what ``igde-stream --gt --report``
says of the same frames."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from conftest import load_tool

from igde_stream.eval_clips import clip_sequence
from igde_stream.evaluation import standard_evaluation


def _write_clip(root, n=3, bits=8, names=None):
    """n frames of 24 x 32: a near square over a ramp (ground truth), its left edge inflated by 2 px
    in the depth, the square moving 1 px a frame; files named ``names`` (default 0.png ...)."""
    peak, dtype = (255, np.uint8) if bits == 8 else (65535, np.uint16)
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[:24, :32]
    frames = []
    for k, name in enumerate(names or [f"{i}.png" for i in range(n)]):
        x0 = 10 + k
        square = (xx >= x0) & (xx < x0 + 12) & (yy >= 6) & (yy < 18)
        gt = np.where(square, 0.8 * peak, (0.1 + 0.01 * xx) * peak).round().astype(dtype)
        depth = np.where((xx >= x0 - 2) & (xx < x0) & (yy >= 6) & (yy < 18), gt.max(), gt).astype(dtype)
        color = np.where(square[..., None], [30, 200, 90], rng.integers(0, 256, (24, 32, 3))).astype(np.uint8)
        for sub, img in (("color", color[..., ::-1]), ("depth", depth), ("gt", gt)):
            (root / sub).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / sub / name), img)
        frames.append((color, depth, gt))
    return [str(root / s) for s in ("color", "depth", "gt")], frames, float(peak)


def _shift(color, depth):  # a method that moves every depth 1 px right: wrong on right pixels too
    out = depth.copy()
    out[:, :, 1:] = depth[:, :, :-1]
    return out


def _expected(frames, peak, method=None):
    """PSNR / PSNRt / PSNRf from the mean of the per-frame MSEs, SSIM and RMSE per-frame means,
    temporal stability, by NumPy and scikit-image."""
    from skimage.metrics import structural_similarity

    gts = [g.astype(np.float64) for _, _, g in frames]
    ins = [d for _, d, _ in frames]
    outs = [o.astype(np.float64) for o in (method(np.stack([c for c, _, _ in frames]), np.stack(ins))
                                           if method else ins)]
    sq = [(o - g) ** 2 for o, g in zip(outs, gts)]
    wrong = [d != g for d, g in zip(ins, gts)]
    db = lambda mses: 10 * np.log10(peak ** 2 / np.mean(mses)) if np.mean(mses) else np.inf  # noqa: E731
    return {
        "psnr": db([e.mean() for e in sq]),
        "psnr_t": db([e[~w].mean() for e, w in zip(sq, wrong)]),
        "psnr_f": db([e[w].mean() for e, w in zip(sq, wrong)]),
        "ssim": np.mean([structural_similarity(g, o, data_range=peak, gaussian_weights=True, sigma=1.5,
                                               use_sample_covariance=False) for o, g in zip(outs, gts)]),
        "rmse": np.mean([np.sqrt(e.mean()) for e in sq]),
        "temporal": np.mean([np.abs((outs[t] - outs[t - 1]) - (gts[t] - gts[t - 1])).mean()
                             for t in range(1, len(outs))]),
    }


@pytest.mark.parametrize("bits", [8, 16])
def test_a_clip_is_scored_as_it_is_on_its_own_peak(tmp_path, bits):
    paths, frames, peak = _write_clip(tmp_path, bits=bits)
    seq = clip_sequence(*paths)
    assert (seq.peak, seq.consecutive, seq.valid, len(seq)) == (peak, True, None, 3)
    rows, meta = standard_evaluation([], sequences=0, icl=None, guided=False, extra_methods={"shift": _shift},
                                     progress=False, clips=[seq], errors=("paper", "mix"))
    assert [(r["dataset"], r["method"]) for r in rows] == [(f"clip {paths[1]} (32x24)", "degraded input"),
                                                            (f"clip {paths[1]} (32x24)", "shift")]
    for row, method in zip(rows, (None, _shift)):
        want = _expected(frames, peak, method)
        for key, value in want.items():
            assert row[key] == pytest.approx(value, rel=1e-9), (row["method"], key)
    assert rows[0]["psnr_t"] == np.inf  # the input's right pixels are right
    assert meta["clips"][paths[1]]["bits"] == bits


def test_frames_go_in_the_order_of_their_numbers(tmp_path):
    paths, frames, _ = _write_clip(tmp_path, names=["f2.png", "f10.png", "f1.png"])
    seq = clip_sequence(*paths)
    assert [np.array_equal(seq.gt[k], frames[i][2]) for k, i in enumerate((2, 0, 1))] == [True] * 3


def test_the_tool_scores_a_clip_as_the_stream_report_does(tmp_path, tiny_model):
    """evaluate.py --clip and igde-stream --gt --report on the same folders and model: one PSNR, and
    the input's the NumPy figure."""
    from igde_stream.cli import main as stream

    paths, frames, peak = _write_clip(tmp_path, n=3)
    out = tmp_path / "eval"
    assert load_tool("evaluate").main(["--sequences", "0", "--no-icl", "--no-middlebury", "--clip", *paths,
                                       "--model", str(tiny_model), "--filters", "none", "--no-guided",
                                       "--views", "0", "--out", str(out)]) == 0
    rows = {r["method"]: r for r in json.loads((out / "eval.json").read_text())["rows"]}
    assert rows["degraded input"]["psnr"] == pytest.approx(_expected(frames, peak)["psnr"], rel=1e-9)
    report = tmp_path / "r.json"
    assert stream([paths[0], paths[1], "-o", str(tmp_path / "o" / "%d.png"), "--fps", "25", "--gt", paths[2],
                   "--report", str(report), "--model", str(tiny_model), "--backend", "torch", "-q"]) == 0
    summary = json.loads(report.read_text())["summary"]
    model_row = rows[f"{tiny_model.parent.name}/{tiny_model.name}"]
    for key, ours in (("mean_psnr", "psnr"), ("mean_psnr_t", "psnr_t"), ("mean_psnr_f", "psnr_f")):
        assert summary[key] == pytest.approx(model_row[ours], rel=1e-9), key
    assert summary["mean_psnr_input"] == pytest.approx(rows["degraded input"]["psnr"], rel=1e-9)


@pytest.mark.parametrize("spoil, said", [
    (lambda root: (root / "gt" / "2.png").unlink(), "gt: 2 frames; a clip needs as many of each"),
    (lambda root: cv2.imwrite(str(root / "gt" / "1.png"), np.zeros((24, 32), np.uint16)),
     "1.png: uint16, where the depth"),
    (lambda root: cv2.imwrite(str(root / "depth" / "2.png"), np.zeros((20, 32), np.uint8)),
     "2.png: 32x20 uint8, where"),
    (lambda root: cv2.imwrite(str(root / "depth" / "0.png"), np.zeros((24, 32, 3), np.uint8)),
     "depth must be one channel of uint8 or uint16, this one has 3 channels"),
    (lambda root: (root / "gt" / "1.png").write_bytes(b"not a picture"), "1.png: cannot read it as an image"),
])
def test_a_clip_that_cannot_be_scored_is_one_line_before_anything_runs(tmp_path, capsys, spoil, said):
    paths, _, _ = _write_clip(tmp_path)
    spoil(tmp_path)
    out = tmp_path / "eval"
    with pytest.raises(SystemExit) as e:
        load_tool("evaluate").main(["--sequences", "0", "--no-icl", "--no-middlebury", "--clip", *paths,
                                    "--model", "none", "--views", "0", "--out", str(out)])
    assert e.value.code == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert ": error: --clip: " in line and said in line
    assert not out.exists()


def test_nothing_to_evaluate_is_said_before_any_model_is_built(tmp_path, monkeypatch):
    """--sequences 0 with the ICL-NUIM folder missing (a checkout elsewhere) and no other data: said at
    once, not after the models were exported to ONNX (half a minute for igde-small)."""
    from igde_stream import evaluation

    built = []
    monkeypatch.setattr(evaluation, "model_method", lambda *a, **k: built.append(a))
    with pytest.raises(ValueError, match=f"nothing to evaluate: .* ICL-NUIM not found at {tmp_path / 'icl'}"):
        standard_evaluation(["igde-small"], sequences=0, icl=tmp_path / "icl", middlebury=False, progress=False)
    assert built == []


def test_measured_only_leaves_the_ground_truths_zeros_out(tmp_path):
    """``--clip-measured``: a sensor's ground truth with unmeasured pixels (0) is scored on the others,
    SSIM too (the mean of scikit-image's SSIM map, 5-px border off, over them); temporal stability reads
    every pixel, as for the stereo scenes."""
    from skimage.metrics import structural_similarity

    paths, frames, peak = _write_clip(tmp_path)
    for k, (c, d, g) in enumerate(frames):  # a 4 x 6 unmeasured patch in the ground truth
        g[2:6, 20:26] = 0
        cv2.imwrite(str(tmp_path / "gt" / f"{k}.png"), g)
    seq = clip_sequence(*paths, measured_only=True)
    assert seq.valid is not None and int((~seq.valid).sum()) == 3 * 24
    (row,) = standard_evaluation([], sequences=0, icl=None, guided=False, progress=False, clips=[seq],
                                 extra_methods={"shift": _shift})[0][1:]
    outs = _shift(np.stack([c for c, _, _ in frames]), np.stack([d for _, d, _ in frames])).astype(np.float64)
    gts = [g.astype(np.float64) for _, _, g in frames]
    ok = [g > 0 for g in gts]
    wrong = [d != g for (_, d, _), g in zip(frames, gts)]
    sq = [(o - g) ** 2 for o, g in zip(outs, gts)]
    db = lambda mses: 10 * np.log10(peak ** 2 / np.mean(mses))  # noqa: E731
    maps = [structural_similarity(g, o, data_range=peak, gaussian_weights=True, sigma=1.5,
                                  use_sample_covariance=False, full=True)[1] for o, g in zip(outs, gts)]
    want = {"psnr": db([e[m].mean() for e, m in zip(sq, ok)]),
            "psnr_t": db([e[m & ~w].mean() for e, m, w in zip(sq, ok, wrong)]),
            "psnr_f": db([e[m & w].mean() for e, m, w in zip(sq, ok, wrong)]),
            "rmse": np.mean([np.sqrt(e[m].mean()) for e, m in zip(sq, ok)]),
            "ssim": np.mean([s[5:-5, 5:-5][m[5:-5, 5:-5]].mean() for s, m in zip(maps, ok)]),
            "temporal": np.mean([np.abs((outs[t] - outs[t - 1]) - (gts[t] - gts[t - 1])).mean() for t in (1, 2)])}
    for key, value in want.items():
        assert row[key] == pytest.approx(value, rel=1e-9), key
    assert row["psnr"] != pytest.approx(_expected(frames, peak, _shift)["psnr"], rel=1e-3)  # the zeros mattered


def test_the_tool_passes_clip_measured_and_refuses_it_alone(tmp_path, capsys):
    paths, frames, peak = _write_clip(tmp_path)
    for k, (c, d, g) in enumerate(frames):
        g[:4] = 0
        cv2.imwrite(str(tmp_path / "gt" / f"{k}.png"), g)
    out = tmp_path / "eval"
    argv = ["--sequences", "0", "--no-icl", "--no-middlebury", "--model", "none", "--filters", "none", "--no-guided",
            "--views", "0", "--out", str(out)]
    assert load_tool("evaluate").main([*argv, "--clip", *paths, "--clip-measured"]) == 0
    (row,) = json.loads((out / "eval.json").read_text())["rows"]
    mses = [((d.astype(np.float64) - g) ** 2)[g > 0].mean() for _, d, g in frames]
    assert row["psnr"] == pytest.approx(10 * np.log10(peak ** 2 / np.mean(mses)), rel=1e-9)
    with pytest.raises(SystemExit) as e:
        load_tool("evaluate").main([*argv, "--clip-measured"])
    assert e.value.code == 2 and "--clip-measured applies to --clip" in capsys.readouterr().err


@pytest.mark.parametrize("ref, label", [("m.pt", "m.pt"), ("runs/m.pt", "runs/m.pt"), ("/x/y/m.pt", "y/m.pt")])
def test_a_model_file_is_named_by_its_folder_and_name(tmp_path, monkeypatch, ref, label):
    """A checkpoint in the working folder was labelled "/m.pt", which reads as a file at the root."""
    from igde_stream import evaluation

    paths, _, _ = _write_clip(tmp_path)
    monkeypatch.setattr(evaluation, "model_method", lambda *a, **k: lambda c, d: d.copy())
    rows, _ = standard_evaluation([ref], sequences=0, icl=None, guided=False, progress=False,
                                  clips=[clip_sequence(*paths)])
    assert [r["method"] for r in rows] == ["degraded input", label]

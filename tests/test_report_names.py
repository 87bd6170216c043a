"""The worst frames named by the images a user opens: with an image-sequence output numbered as the
depth's images (depth/00003.png -> out/00003.png), the summary's "worst frames" line gives each
frame's output file beside its index, since frame 0 of the run is not out/00000.png there; the
summary says the first number (``first_number``). Video outputs keep the index alone."""

from __future__ import annotations

import cv2
import numpy as np

from conftest import scene
from igde_stream import enhance_file
from igde_stream.run_summary import format_summary


def _summary(**extra):
    s = {"output": "out/%05d.png", "frames": 3, "width": 32, "height": 24, "pix_fmt": "gray", "codec": "png",
         "lossless": True, "fps": 1.0, "backend": "cpu", "mean_psnr": 40.0, "mean_psnr_input": 30.0,
         "mean_gain_db": 10.0, "min_psnr": 35.0, "median_psnr": 40.0, "max_psnr": 45.0, "matched_frames": 3,
         "unmatched_frames": 0, "worst_frames": [{"index": 2, "psnr": 35.0}, {"index": 0, "psnr": 40.0}]}
    s.update(extra)
    return s


def test_worst_frames_name_their_output_images():
    lines = format_summary(_summary(first_number=3)).splitlines()
    # frame 2 of a run whose first image is number 3 is 00005.png (%05d: five digits)
    assert lines[-1] == "worst frames: 2 (00005.png, 35.00 dB), 0 (00003.png, 40.00 dB)"
    lines = format_summary(_summary(output="out.mkv")).splitlines()
    assert lines[-1] == "worst frames: 2 (35.00 dB), 0 (40.00 dB)"


def test_a_run_on_numbered_images_says_its_first_number(tmp_path, enhancer):
    colors, depths, gts = scene(3, (32, 24), bits=8)
    for sub, frames in (("rgb", colors), ("d", depths), ("gt", gts)):
        (tmp_path / sub).mkdir()
        for k, img in enumerate(frames):
            assert cv2.imwrite(str(tmp_path / sub / f"{k + 3:05d}.png"), img[..., ::-1] if img.ndim == 3 else img)
    s = enhance_file(tmp_path / "rgb", tmp_path / "d", tmp_path / "out" / "%05d.png", gt_path=tmp_path / "gt",
                     enhancer=enhancer)
    assert s["first_number"] == 3
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["00003.png", "00004.png", "00005.png"]
    worst = s["worst_frames"][0]
    name = f"{worst['index'] + 3:05d}.png"
    assert f"{worst['index']} ({name}, " in format_summary(s)
    # that file holds that frame: its PSNR against the ground truth, by hand
    out = cv2.imread(str(tmp_path / "out" / name), cv2.IMREAD_UNCHANGED).astype(float)
    mse = np.mean((out - gts[worst["index"]].astype(float)) ** 2)
    assert np.isclose(10 * np.log10(255 ** 2 / mse), worst["psnr"]) if mse else worst["psnr"] == float("inf")


def test_the_preview_line_names_its_images_too():
    s = _summary(first_number=3, preview="p.png", preview_ranked_by="psnr", preview_frames={"worst": 2, "median": 0})
    assert format_summary(s).splitlines()[-1] == "wrote p.png (frames by psnr: worst 2 (00005.png), median 0 (00003.png))"
    s.update(output="o.mkv", first_number=None)
    assert format_summary(s).splitlines()[-1] == "wrote p.png (frames by psnr: worst 2, median 0)"


def test_the_preview_picture_is_told_the_image_names(tmp_path, enhancer, monkeypatch):
    """The picture's row labels ("frame 2, 00005.png"): the drawing is handed the name of each frame."""
    from igde_stream.stream import outputs, preview

    seen = {}

    def spy(path, picks, *args, names=None, **kwargs):
        seen.update({f.index: names(f.index) for _, f in picks})
        return preview.write_preview(path, picks, *args, names=names, **kwargs)

    monkeypatch.setattr(outputs, "write_preview", spy)
    colors, depths, _ = scene(3, (32, 24), bits=8)
    for sub, frames in (("rgb", colors), ("d", depths)):
        (tmp_path / sub).mkdir()
        for k, img in enumerate(frames):
            assert cv2.imwrite(str(tmp_path / sub / f"{k + 7:03d}.png"), img[..., ::-1] if img.ndim == 3 else img)
    enhance_file(tmp_path / "rgb", tmp_path / "d", tmp_path / "out" / "%04d.png", enhancer=enhancer,
                 preview_path=tmp_path / "p.png")
    assert seen and all(name == f"{k + 7:04d}.png" for k, name in seen.items()), seen
    assert preview.row_label("worst", 2, 0.08, "0009.png") == "worst\nframe 2, 0009.png (0.080 s)"
    assert preview.row_label("worst", 2, 0.08, None) == "worst\nframe 2 (0.080 s)"


def test_a_run_to_stdout_says_stdout_not_a_dash():
    assert format_summary(_summary(output="-")).splitlines()[0].startswith("wrote stdout: 3 frames, 32x24 gray")
    assert format_summary(_summary(output="o.mkv", frames=1)).splitlines()[0].startswith("wrote o.mkv: 1 frame, ")

"""``igde-stream ... --max-frames N`` (``enhance_file(max_frames=N)``): the first N frames of a clip,
the same frames a whole run gives, compared with the ground truth over those frames only; the
readers stop (a long clip is not decoded to its end), and lengths that differ after frame N do not
matter."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from conftest import read_video, scene
from igde_stream.cli import main
from igde_stream.stream import enhance_file
from igde_stream.stream.reader import VideoReader

cv2 = pytest.importorskip("cv2")


def _in_time(fn, seconds: float = 120.0):
    """``fn()`` on a thread, failing (not hanging) when it does not return in time: a reader left
    blocked on a full queue would hang the run."""
    box: dict = {}
    t = threading.Thread(target=lambda: box.update(result=fn()), daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "the run did not end: a stage is still blocked"
    return box.get("result")


@pytest.fixture
def counted(monkeypatch):
    """Frames each role's reader yielded."""
    seen: dict[str, int] = {}
    real = VideoReader.frames

    def frames(self, stop=None):
        for f in real(self, stop):
            seen[self.role] = seen.get(self.role, 0) + 1
            yield f

    monkeypatch.setattr(VideoReader, "frames", frames)
    return seen


def test_the_first_frames_are_those_of_the_whole_run_and_the_report_covers_them(make_clip, tmp_path, tiny_model,
                                                                                 counted):
    from igde_stream import Enhancer

    clip = make_clip(n=40, size=(48, 32))
    one = Enhancer(model=tiny_model, backend="torch", batch=1)  # queues of 3 frames: they fill at once
    whole = enhance_file(clip["color"], clip["depth"], tmp_path / "all.mkv", gt_path=clip["gt"],
                         report_path=tmp_path / "all.json", enhancer=one)
    assert whole["frames"] == 40 and counted["depth"] == 40
    counted.clear()
    s = _in_time(lambda: enhance_file(clip["color"], clip["depth"], tmp_path / "five.mkv", gt_path=clip["gt"],
                                      report_path=tmp_path / "five.json", enhancer=one, max_frames=5))
    assert s["frames"] == 5 and s["max_frames"] == 5
    got, pts, _ = read_video(tmp_path / "five.mkv")
    want, want_pts, _ = read_video(tmp_path / "all.mkv")
    assert len(got) == 5
    np.testing.assert_array_equal(np.stack(got), np.stack(want[:5]))
    assert pts == want_pts[:5]
    # the readers stopped: at most the queues' few frames beyond the fifth were decoded, not all 40
    assert all(n <= 12 for n in counted.values()), counted
    five, full = json.loads((tmp_path / "five.json").read_text()), json.loads((tmp_path / "all.json").read_text())
    assert [r["index"] for r in five["frames"]] == [0, 1, 2, 3, 4]
    assert [r["psnr"] for r in five["frames"]] == [r["psnr"] for r in full["frames"][:5]]
    # the ground truth's 35 later frames are not "unmatched": the run stopped before them
    assert five["summary"]["unmatched_frames"] == 0
    mse = np.mean([10 ** (-r["psnr"] / 10) * 255.0 ** 2 for r in full["frames"][:5]])  # averaged over MSE
    mean = 10 * np.log10(255.0 ** 2 / mse)
    assert five["summary"]["mean_psnr"] == pytest.approx(mean, abs=1e-3)


def test_more_frames_than_the_clip_has_is_the_whole_clip(make_clip, tmp_path, enhancer):
    clip = make_clip(n=6)
    a = enhance_file(clip["color"], clip["depth"], tmp_path / "a.mkv", gt_path=clip["gt"],
                     report_path=tmp_path / "a.json", enhancer=enhancer, max_frames=50)
    b = enhance_file(clip["color"], clip["depth"], tmp_path / "b.mkv", gt_path=clip["gt"],
                     report_path=tmp_path / "b.json", enhancer=enhancer)
    assert a["frames"] == b["frames"] == 6
    np.testing.assert_array_equal(np.stack(read_video(tmp_path / "a.mkv")[0]), np.stack(read_video(tmp_path / "b.mkv")[0]))
    ra, rb = (json.loads((tmp_path / f"{x}.json").read_text())["summary"] for x in "ab")
    assert ra["mean_psnr"] == rb["mean_psnr"]


def test_one_frame_of_a_clip_into_one_image(make_clip, tmp_path, tiny_model, capsys):
    """A clip into one picture is refused; with --max-frames 1 it is the whole run's first frame."""
    clip = make_clip(n=6)
    run = [str(clip["color"]), str(clip["depth"]), "--model", str(tiny_model), "--backend", "torch", "-q"]
    assert main([*run, "-o", str(tmp_path / "all.mkv")]) == 0
    assert main([*run, "-o", str(tmp_path / "first.png")]) == 2
    assert capsys.readouterr().err.strip().endswith("or add --max-frames 1 for the first frame's")
    assert not (tmp_path / "first.png").exists()
    assert main([*run, "-o", str(tmp_path / "first.png"), "--max-frames", "1"]) == 0
    got = cv2.imread(str(tmp_path / "first.png"), cv2.IMREAD_UNCHANGED)  # read by OpenCV
    np.testing.assert_array_equal(got, read_video(tmp_path / "all.mkv")[0][0])


def test_sequences_of_other_lengths_pair_when_the_run_stops_before_the_shorter_ends(tmp_path, enhancer):
    colors, depths, _ = scene(6, (48, 32), bits=8)
    (tmp_path / "c").mkdir()
    (tmp_path / "d").mkdir()
    for k in range(6):
        assert cv2.imwrite(str(tmp_path / "c" / f"{k:03d}.png"), colors[k][..., ::-1])
        if k < 5:
            assert cv2.imwrite(str(tmp_path / "d" / f"{k:03d}.png"), depths[k])
    from igde_stream.errors import PairingError

    with pytest.raises(PairingError, match="6 frames and the depth sequence 5"):
        enhance_file(tmp_path / "c", tmp_path / "d", tmp_path / "x.mkv", enhancer=enhancer)
    with pytest.raises(PairingError):  # the run would reach the shorter one's end
        enhance_file(tmp_path / "c", tmp_path / "d", tmp_path / "x.mkv", enhancer=enhancer, max_frames=6)
    s = enhance_file(tmp_path / "c", tmp_path / "d", tmp_path / "x.mkv", enhancer=enhancer, max_frames=5)
    assert s["frames"] == 5
    got = np.stack(read_video(tmp_path / "x.mkv")[0])
    want = enhancer.enhance(np.stack(colors[:5]), np.stack(depths[:5]))
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("bad", [-1, True, 2.0, "3"])
def test_a_bad_count_is_refused_before_anything(make_clip, tmp_path, enhancer, bad):
    clip = make_clip(n=2)
    with pytest.raises(ValueError, match="max_frames must be a whole number"):
        enhance_file(clip["color"], clip["depth"], tmp_path / "x.mkv", enhancer=enhancer, max_frames=bad)
    assert not (tmp_path / "x.mkv").exists()


def test_the_command_line_refuses_a_negative_count_in_one_line(make_clip, tmp_path, capsys):
    clip = make_clip(n=2)
    with pytest.raises(SystemExit) as exc:
        main([str(clip["color"]), str(clip["depth"]), "-o", str(tmp_path / "x.mkv"), "--max-frames", "-2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1 and "--max-frames" in err[-1] and ">= 0" in err[-1]
    assert not (tmp_path / "x.mkv").exists()

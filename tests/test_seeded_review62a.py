"""Seeded-bug review 62a (results/mutation.md): checks that the suite lacked for session 62's changes
(bench exit statuses, strip margins, image outputs numbered as the depth's, frame sizes known at
opening, one depth image or one PNG of views, the Enhancer's input errors). Expected values are
worked out by hand from the documented rules, or read back through OpenCV / PyAV."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from conftest import scene
from igde_stream.errors import EnhancerError, IGDEError

cv2 = pytest.importorskip("cv2")


def _clip(path: Path, w: int, h: int, fmt: str, n: int = 1, values=None) -> None:
    """An FFV1 clip of n frames (rgb24 colour or gray depth)."""
    with av.open(str(path), "w") as out:
        s = out.add_stream("ffv1", rate=25)
        s.width, s.height, s.pix_fmt = w, h, "bgr0" if fmt == "rgb24" else "gray"
        for k in range(n):
            a = np.zeros((h, w, 3) if fmt == "rgb24" else (h, w), np.uint8) if values is None else values[k]
            for p in s.encode(av.VideoFrame.from_ndarray(a, format=fmt)):
                out.mux(p)
        for p in s.encode(None):
            out.mux(p)


def _no_model(*args, **kwargs):
    raise AssertionError("the model ran")


# ---------------------------------------------------------------- bench: exit statuses

def test_an_igde_error_that_is_also_a_value_error_goes_on_to_run_tool():
    """EnhancerError is an IGDEError and a ValueError: run_or_status passes it on (run_tool says it in
    the commands' words), it is not turned into 'bench KIND: ...' with its own status."""
    from igde_stream.bench import common

    def run():
        raise EnhancerError("depth must be uint8 or uint16, got float32")

    with pytest.raises(EnhancerError):
        common.run_or_status("x", run)


@pytest.mark.parametrize("module, attr", [("views", "run"), ("stream", "run"), ("infer", "run_benchmark")])
def test_each_bench_command_gives_the_shared_rules_status(module, attr, monkeypatch, capsys):
    """bench views / stream / infer: a ValueError exits 2, a RuntimeError 1, each in one line."""
    import importlib

    mod = importlib.import_module(f"igde_stream.bench.{module}")
    for exc, status in [(ValueError("bad size"), 2), (RuntimeError("worker died"), 1)]:
        def fails(*args, exc=exc, **kwargs):
            raise exc
        monkeypatch.setattr(mod, attr, fails)
        assert mod.main([]) == status, (module, exc)
        assert capsys.readouterr().err == f"bench {module}: {exc}\n"


# ---------------------------------------------------------------- frame sizes known at opening

def test_the_one_pass_rgbd_output_refuses_its_size_before_the_model(tmp_path, monkeypatch, capsys):
    """--rgbd-out puts colour and depth side by side: an 8200 x 16 clip gives 16400 x 16 frames, over
    x264's 16384 px side (1025 x 1 = 1,025 macroblocks, far under H.264's 139,264): refused when the
    outputs open, before any frame is enhanced, and nothing is left."""
    from igde_stream import cli
    from igde_stream.enhancer import Enhancer

    _clip(tmp_path / "c.mkv", 8200, 16, "rgb24")
    _clip(tmp_path / "d.mkv", 8200, 16, "gray")
    monkeypatch.setattr(Enhancer, "enhance", _no_model)
    rc = cli.main([str(tmp_path / "c.mkv"), str(tmp_path / "d.mkv"), "-o", str(tmp_path / "o.mkv"), "--rgbd-out",
                   str(tmp_path / "r.mp4"), "--views-codec", "h264"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and err[-1].endswith("r.mp4: 16400x16 is beyond H.264 (1,025 macroblocks a frame, its highest "
                                        "level holds 139,264; x264 codes sides up to 16384); use the hevc or ffv1 codec")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.mkv", "d.mkv"]


# ---------------------------------------------------------------- one depth image

def _pngs(folder: Path, images) -> None:
    folder.mkdir()
    for k, img in enumerate(images):
        assert cv2.imwrite(str(folder / f"{k}.png"), img)


def test_two_frames_into_one_image_are_refused_before_the_model(tmp_path, monkeypatch, capsys):
    """The edge of 'more than one frame': two frames are refused when the input opens, naming 2."""
    from igde_stream import cli
    from igde_stream.enhancer import Enhancer
    from igde_stream.stream.imageseq import check_one_frame

    colors, depths, _ = scene(2, (48, 32), bits=8)
    _pngs(tmp_path / "c", [c[..., ::-1] for c in colors])
    _pngs(tmp_path / "d", depths)
    monkeypatch.setattr(Enhancer, "enhance", _no_model)
    rc = cli.main([str(tmp_path / "c"), str(tmp_path / "d"), "-o", str(tmp_path / "out.png")])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert rc == 2 and "out.png: one image, of an input of 2 frames" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c", "d"]
    check_one_frame(tmp_path / "out.png", 1)  # one frame, or a count not known: taken
    check_one_frame(tmp_path / "out.png", None)


def test_a_depth_writer_of_one_image_refuses_a_known_clip_when_it_opens(tmp_path):
    """DepthWriter itself (the library's way in, not only enhance_file) refuses one image of an input
    of 3 frames when it opens: no frame written, no file or temporary file made."""
    from igde_stream.stream.info import VideoInfo
    from igde_stream.stream.writer import DepthWriter

    info = VideoInfo(path="d.mkv", codec="ffv1", width=8, height=4, pix_fmt="gray", time_base=Fraction(1, 25),
                     rate=Fraction(25), start_pts=0, frames=3, duration=None)
    with pytest.raises(IGDEError, match="one image, of an input of 3 frames: write a pattern such as"):
        DepthWriter(tmp_path / "out.png", info)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- outputs numbered as the depth's images

@pytest.mark.parametrize("names, want", [
    (["d0009.png", "d0010.png", "d0011.png"], 9),  # across a decade: the number is every digit before .png
    (["a_0001.png", "a_0002.png", "b_0003.png"], None),  # consecutive, but of two prefixes: no one sequence
    (["d_0004.png", "d_0005.tif"], None),  # two suffixes (the reader refuses the folder anyway)
])
def test_first_number_of_a_folder_of_images(tmp_path, names, want):
    from igde_stream.stream.imageseq import first_number

    for n in names:
        assert cv2.imwrite(str(tmp_path / n), np.zeros((2, 2), np.uint8))
    assert first_number(str(tmp_path)) == want


def test_first_number_of_a_folder_of_npy_files_counts_the_files_read(tmp_path):
    """A folder of .npy depth is read in name order without hidden files and with upper-case .NPY
    names (arrays._listing): its first number is that of the files it reads."""
    from igde_stream.stream.imageseq import first_number

    for n in ("d_0004.NPY", "d_0005.NPY", "d_0006.NPY"):
        with open(tmp_path / n, "wb") as f:  # np.save would add .npy to the name
            np.save(f, np.zeros((2, 2), np.uint16))
    assert first_number(str(tmp_path)) == 4
    np.save(tmp_path / ".d_0001.npy", np.zeros((2, 2), np.uint16))  # hidden: not read, not counted
    assert first_number(str(tmp_path)) == 4


def test_more_than_one_frame_into_one_image_is_refused_before_the_model_loads(tmp_path, monkeypatch, capsys):
    """The frame count is checked before the model is even loaded (a large model's load takes
    seconds), not only when the depth writer opens after it."""
    from igde_stream import cli
    from igde_stream.stream import pipeline

    colors, depths, _ = scene(3, (48, 32), bits=8)
    _pngs(tmp_path / "c", [c[..., ::-1] for c in colors])
    _pngs(tmp_path / "d", depths)
    monkeypatch.setattr(pipeline, "_make_enhancer", _no_model)
    rc = cli.main([str(tmp_path / "c"), str(tmp_path / "d"), "-o", str(tmp_path / "out.png")])
    assert rc == 2 and "out.png: one image, of an input of 3 frames" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c", "d"]


@pytest.mark.parametrize("out", ["rtmp://127.0.0.1/live/d.png", "srt://127.0.0.1:9000/d.tif"])
def test_a_url_is_no_image_output(out):
    from igde_stream.stream.imageseq import image_codec, is_single_image

    assert not is_single_image(out) and image_codec(out) is None
    assert is_single_image("depth.png") and image_codec("depth.png") == "png"  # the same name as a file is one


# ---------------------------------------------------------------- strip margins

def test_rows_read_counts_the_full_resolution_convs():
    """Each full-resolution 3 x 3 conv (IGDEConfig.full_convs) reads one more row on either side: the
    bound is what a NaN probe of such a model reaches, exactly (IGDE's bounds are exact)."""
    import dataclasses

    from test_strips import _rows_reached
    from igde_stream.models import create_model
    from igde_stream.strips import rows_read

    for convs in (0, 3):
        model = create_model("igde-tiny", full_convs=convs, head="select", radius=2, scale=2).eval()
        assert rows_read(dataclasses.asdict(model.config)) == _rows_reached(model, h=200), convs


def test_integer_depth_into_one_float_image_is_refused_before_the_model_loads(tmp_path, monkeypatch, capsys):
    """-o out.pfm of 8-bit depth: a float output needs float depth in; said before the model loads, as
    for a .pfm pattern."""
    from igde_stream import cli
    from igde_stream.stream import pipeline

    colors, depths, _ = scene(1, (48, 32), bits=8)
    assert cv2.imwrite(str(tmp_path / "c.png"), colors[0][..., ::-1])
    assert cv2.imwrite(str(tmp_path / "d.png"), depths[0])
    monkeypatch.setattr(pipeline, "_make_enhancer", _no_model)
    rc = cli.main([str(tmp_path / "c.png"), str(tmp_path / "d.png"), "-o", str(tmp_path / "out.pfm")])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert rc == 2 and "out.pfm: a .pfm output writes float depth, for float depth in" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.png", "d.png"]


# ---------------------------------------------------------------- views of one photograph as one PNG

def test_views_render_into_an_upper_case_png_name_writes_one_png(tmp_path):
    """v.PNG is a PNG name as v.png is (the suffix's case does not count): one picture of the grid."""
    from igde_stream import display, multiview as mv
    from igde_stream.views_cli import main as views_main

    colors, depths, _ = scene(1, (48, 32), bits=8)
    assert cv2.imwrite(str(tmp_path / "c.png"), colors[0][..., ::-1])
    assert cv2.imwrite(str(tmp_path / "d.png"), depths[0])
    assert views_main(["render", str(tmp_path / "c.png"), str(tmp_path / "d.png"), "-o", str(tmp_path / "v.PNG")]) == 0
    assert (tmp_path / "v.PNG").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    want = display.make_layout("grid", mv.ViewConfig(8)).frames(colors[0], depths[0])[0]
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "v.PNG"), cv2.IMREAD_COLOR)[..., ::-1], want)


def test_a_png_pattern_is_no_one_picture_of_views(tmp_path):
    """Only a .png name without % is one picture; views into a pattern are refused as before (views
    are video), whatever the input's length, and nothing is left."""
    from igde_stream.stream.view_writers import ColorWriter

    for frames in (1, None):
        with pytest.raises(IGDEError, match=r"cannot hold ffv1 video \(format image2\); use \.mkv or \.mp4"):
            ColorWriter(tmp_path / "v_%04d.png", "ffv1", Fraction(25), Fraction(1, 25), size=(16, 8), frames=frames)
    assert list(tmp_path.iterdir()) == []


def test_one_picture_of_views_refuses_a_second_frame(tmp_path):
    """A stream of unknown length into one PNG: the second frame is refused, and nothing is left."""
    from igde_stream.stream.view_writers import ColorWriter

    w = ColorWriter(tmp_path / "v.png", "ffv1", Fraction(25), Fraction(1, 25), size=(16, 8), frames=None)
    w.write(np.zeros((8, 16, 3), np.uint8), 0)
    with pytest.raises(IGDEError, match="one picture, of an input of more than one frame: write a video"):
        w.write(np.zeros((8, 16, 3), np.uint8), 1)
    w.abort()
    assert list(tmp_path.iterdir()) == []


def test_one_picture_of_views_is_not_held_to_a_video_codecs_limits(tmp_path):
    """A PNG is no H.264 stream: 16400 x 16 (over x264's 16384 px side) is one picture whatever
    --codec, written and read back as given."""
    from igde_stream.stream.view_writers import ColorWriter

    img = np.random.default_rng(0).integers(0, 256, (16, 16400, 3), np.uint8)
    w = ColorWriter(tmp_path / "v.png", "h264", Fraction(25), Fraction(1, 25), size=(16400, 16), frames=1)
    w.write(img, 0)
    w.commit()
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "v.png"), cv2.IMREAD_COLOR)[..., ::-1], img)


@pytest.mark.parametrize("option", ["--views-out", "--rgbd-out"])
def test_the_one_pass_views_of_a_clip_into_one_png_are_refused_before_the_model(tmp_path, monkeypatch, capsys,
                                                                               option):
    from igde_stream import cli
    from igde_stream.enhancer import Enhancer

    colors, depths, _ = scene(3, (48, 32), bits=8)
    _clip(tmp_path / "c.mkv", 48, 32, "rgb24", 3, colors)
    _clip(tmp_path / "d.mkv", 48, 32, "gray", 3, depths)
    monkeypatch.setattr(Enhancer, "enhance", _no_model)
    rc = cli.main([str(tmp_path / "c.mkv"), str(tmp_path / "d.mkv"), "-o", str(tmp_path / "o.mkv"), option,
                   str(tmp_path / "v.png")])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert rc == 2 and err.endswith("v.png: one image, of an input of 3 frames: write a video (v.mkv: .mkv or .mp4), "
                                    "or add --max-frames 1 for the first frame's")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.mkv", "d.mkv"]


def test_one_picture_of_views_is_8_bit_rgb(tmp_path):
    """The PNG holds the layout's RGB as it is: IHDR (PNG spec 11.2.2) bit depth 8, colour type 2
    (truecolour, no alpha channel added)."""
    from igde_stream.stream.view_writers import ColorWriter

    w = ColorWriter(tmp_path / "v.png", "ffv1", Fraction(25), Fraction(1, 25), size=(16, 8), frames=1)
    w.write(np.full((8, 16, 3), 7, np.uint8), 0)
    w.commit()
    data = (tmp_path / "v.png").read_bytes()
    assert data[12:16] == b"IHDR" and int.from_bytes(data[16:20], "big") == 16 and int.from_bytes(data[20:24], "big") == 8
    assert (data[24], data[25]) == (8, 2)


# ---------------------------------------------------------------- a commit of no frame

def test_a_commit_of_no_frame_called_directly_leaves_no_temporary_file(tmp_path):
    """commit() itself (not only the with block, which aborts when its commit fails) removes the
    temporary file it refuses to commit."""
    from test_stream_roundtrip import depth_info
    from igde_stream.errors import OutputError
    from igde_stream.stream import DepthWriter

    w = DepthWriter(tmp_path / "out.mkv", depth_info(Fraction(25)))
    with pytest.raises(OutputError, match="no frame was written: nothing to commit"):
        w.commit()
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- rows_read of a config it does not know

@pytest.mark.parametrize("config", [{"depth": 100}, {"depth": 100, "layers": 3}, {"width": 8}])
def test_rows_read_of_no_registered_architecture_is_none(config):
    """A config with a 'depth' key but not DE-CNN's pair (depth and width) is no architecture the bound
    knows: None, and the default margin."""
    from igde_stream.strips import STRIP_MARGIN, margin_for, rows_read

    assert rows_read(config) is None and margin_for(config) == STRIP_MARGIN
    assert rows_read({"depth": 100, "width": 8}) == 101  # DE-CNN: its 100 3x3 layers and the 3x3 head


# ---------------------------------------------------------------- the Enhancer's input errors

class _Identity:
    name = "identity"

    def run(self, color, depth):
        return depth.copy()


@pytest.fixture
def stage(monkeypatch):
    import igde_stream.enhancer as enh

    monkeypatch.setattr(enh, "create_backend", lambda *a, **k: _Identity())
    return enh.Enhancer("igde-small", backend="torch", quiet=True, hole_fill=False)


def test_a_channels_first_batch_gets_the_hint(stage):
    """N x 3 x H x W (a batch laid out as PyTorch's): the 3 is the third axis from the end, as in a single
    frame's 3 x H x W."""
    with pytest.raises(EnhancerError) as info:
        stage.enhance(np.zeros((2, 3, 5, 7), np.uint8), np.zeros((2, 5, 7), np.uint8))
    assert str(info.value) == ("colour is 2 x 3 x 5 x 7: 7 channels (channels first? move them last); wanted "
                               "H x W x 3 uint8 RGB (one frame) or N x H x W x 3 (a batch)")


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.uint32])
def test_integer_depth_of_another_type_gets_no_float_hint(stage, dtype):
    with pytest.raises(EnhancerError) as info:
        stage.enhance(np.zeros((5, 7, 3), np.uint8), np.zeros((5, 7), dtype))
    # the cast the command advises for such NumPy arrays (a PIL "I" image, a PyTorch int64 tensor), not a FloatMap
    assert str(info.value) == (f"depth must be uint8 or uint16, got {np.dtype(dtype)} (integer depth: cast it first, "
                               "depth.astype(np.uint16), where its values fit 0..65535)")

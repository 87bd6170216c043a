"""The Python API as an embedding developer calls it: keyword typos, and errors in the API's words
(the commands print the same errors in their option names, through ``errors.cli_message``)."""

from __future__ import annotations

import numpy as np
import pytest

from igde_stream import Enhancer, enhance_file
from igde_stream.enhancer import EnhancerError
from igde_stream.errors import IGDEError, cli_message


@pytest.mark.parametrize("with_enhancer", [False, True])
def test_enhance_file_keyword_typo_is_a_type_error_naming_it(tmp_path, enhancer, with_enhancer):
    """``gt=`` for ``gt_path=`` is neither an enhance_file keyword nor an Enhancer option: a TypeError
    that names it, as Python says for any unknown keyword, not "cannot load the model" (the typo
    taken for a backend option) nor "pass either enhancer= or enhancer options"."""
    given = {"enhancer": enhancer} if with_enhancer else {}
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) \['gt'\]") as info:
        enhance_file(tmp_path / "c.mkv", tmp_path / "d.mkv", tmp_path / "o.mkv", gt=tmp_path / "g.mkv", **given)
    assert "pass either" not in str(info.value) and "\n" not in str(info.value)
    assert not list(tmp_path.iterdir())


def test_enhance_file_enhancer_and_its_options_together_are_still_refused(tmp_path, enhancer):
    with pytest.raises(TypeError, match=r"pass either enhancer= or enhancer options, not both \(got \['max_depth'\]\)"):
        enhance_file(tmp_path / "c.mkv", tmp_path / "d.mkv", tmp_path / "o.mkv", enhancer=enhancer, max_depth=1000)


def test_backend_options_are_no_typos(tmp_path):
    """A backend's own option (``threads``) passes the keyword check and reaches the Enhancer: here
    ``batch=0`` is refused as itself, which only happens after the keywords are accepted."""
    with pytest.raises(EnhancerError, match="batch must be an integer >= 1, got 0"):
        enhance_file(tmp_path / "c.mkv", tmp_path / "d.mkv", tmp_path / "o.mkv", threads=1, precision="fp32",
                     batch=0, quiet=True)


def test_one_pixel_frame_on_onnxruntime_says_the_api_backend_and_the_command_option():
    e = Enhancer("igde-small", backend="onnxruntime", quiet=True)
    with pytest.raises(EnhancerError) as info:
        e.enhance(np.zeros((1, 5, 3), np.uint8), np.ones((1, 5), np.uint8))
    assert str(info.value) == ("frames of 5x1 pixels: the onnxruntime model needs at least 2x2 "
                               "(backend=\"torch\" runs smaller frames)")
    assert cli_message(info.value) == ("frames of 5x1 pixels: the onnxruntime model needs at least 2x2 "
                                       "(--backend torch runs smaller frames)")


def test_report_without_ground_truth_names_the_keyword_and_the_option(tmp_path, enhancer):
    with pytest.raises(IGDEError) as info:
        enhance_file(tmp_path / "c.mkv", tmp_path / "d.mkv", tmp_path / "o.mkv", enhancer=enhancer,
                     report_path=tmp_path / "r.json")
    assert str(info.value) == "a report or plot needs the ground-truth depth (gt_path)"
    assert cli_message(info.value) == "a report or plot needs the ground-truth depth (--gt)"


def test_warp_views_takes_array_likes_as_the_enhancer_does():
    """One row of 5 pixels, colour = column index x 10, depth 255 at column 2 and 0 elsewhere; 2 views,
    baseline 4, zero parallax 0.5. By hand: t = -1/2 (left view) moves depth 1 by -(-1/2)*4*(1-1/2)
    = +1 and depth 0 by -1; targets: 0 <- x1, 2 <- x3, 3 <- x2 (the near pixel wins over x4), holes at
    1 and 4; hole 1 takes the farther of its neighbours (a tie of depth 0: target 0, the left), hole 4
    only has its left one (target 3, x2). Nested lists and a PyTorch tensor give those views."""
    from igde_stream import multiview as mv

    color = [[[10 * x, 0, 0] for x in range(5)]]
    depth = [[0, 0, 255, 0, 0]]
    cfg = mv.ViewConfig(2, baseline=4, zero_parallax=0.5)
    expect_left = np.array([1, 1, 3, 2, 2]) * 10
    rv = mv.warp_views(np.asarray(color, np.uint8), np.asarray(depth, np.uint8), cfg)
    assert np.array_equal(rv.views[0, 0, :, 0], expect_left)
    assert np.array_equal(rv.holes[0, 0], [False, True, False, False, True])
    # depth as nested lists of floats (float depth is taken as normalised: 1.0 = 255 / 255)
    as_lists = mv.warp_views(np.asarray(color, np.uint8), [[0.0, 0.0, 1.0, 0.0, 0.0]], cfg)
    assert np.array_equal(as_lists.views, rv.views)
    torch = pytest.importorskip("torch")
    tensors = mv.warp_views(torch.tensor(color, dtype=torch.uint8), torch.tensor(depth, dtype=torch.uint8), cfg)
    assert np.array_equal(tensors.views, rv.views)
    assert np.array_equal(mv.render_views(torch.tensor(color, dtype=torch.uint8), torch.tensor(depth, dtype=torch.uint8),
                                          2, 4, 0.5), rv.views)


def test_rgbd_layout_and_writer_take_what_warp_views_takes(tmp_path):
    """colour 1 x 2 (red, green), depth 0 and 65535 (16-bit): by hand the RGB-D frame is 1 x 4, colour
    then gray 0 and 255 (round(d * 255 / 65535)). The RGB-D layout, ``rgbd_frame`` and
    ``RGBDWriter.write`` take CPU tensors and nested lists as ``warp_views`` does (they refused a
    tensor as "need colour H x W x 3 uint8", and a list failed with AttributeError)."""
    from fractions import Fraction

    import av
    from igde_stream import display, multiview as mv
    from igde_stream.stream.views import RGBDWriter

    torch = pytest.importorskip("torch")
    color = [[[255, 0, 0], [0, 255, 0]]]
    expect = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 0], [255, 255, 255]]], np.uint8)
    tensors = (torch.tensor(color, dtype=torch.uint8), torch.tensor([[0, 65535]], dtype=torch.uint16))
    lists = (np.asarray(color, np.uint8), [[0.0, 1.0]])  # float depth: already normalised
    layout = display.make_layout("rgbd", mv.ViewConfig(8))
    for given in (tensors, lists):
        assert np.array_equal(display.rgbd_frame(*given), expect)
        assert np.array_equal(layout.frames(*given)[0], expect)
    out = tmp_path / "rgbd.mkv"
    with RGBDWriter(out, "ffv1", Fraction(25), Fraction(1, 25), size=(2, 1)) as w:
        w.write(*tensors, 0)
        w.write(*lists, 1)
    with av.open(str(out)) as f:
        frames = [fr.to_ndarray(format="rgb24") for fr in f.decode(video=0)]
    assert len(frames) == 2 and all(np.array_equal(fr, expect) for fr in frames)


def test_views_stage_names_colour_and_depth_swapped():
    """warp_views(depth, color), rgbd_frame(depth, color) and the PyTorch renderer said "colour must be
    H x W x 3 uint8" about the depth map: now they say the two look swapped."""
    from igde_stream import display, multiview as mv

    color, depth = np.zeros((5, 7, 3), np.uint8), np.zeros((5, 7), np.uint16)
    said = "colour is 5 x 7 and depth 5 x 7 x 3: the two look swapped; colour comes first, then depth"
    calls = [lambda: mv.warp_views(depth, color), lambda: display.rgbd_frame(depth, color)]
    if __import__("importlib").util.find_spec("torch"):
        from igde_stream.multiview_torch import TorchRenderer

        calls.append(lambda: TorchRenderer("cpu").render(depth, color))
    for call in calls:
        with pytest.raises(ValueError) as info:
            call()
        assert str(info.value) == said


def test_float_depth_misuse_names_the_keywords_and_the_options(tmp_path, enhancer):
    """``enhance_file(max_depth=...)`` on float depth and ``float_range=`` on integer depth said
    ``--max-depth`` / ``--float-range``, options the Python caller never gave: now the keywords, and
    the command's words through ``cli_message``. A PFM (``Pf``, little-endian, rows bottom up) and a
    16-bit PNG written here, 8 x 6."""
    import cv2

    from igde_stream.errors import InputError

    color = tmp_path / "c.png"
    cv2.imwrite(str(color), np.zeros((6, 8, 3), np.uint8))
    pfm = tmp_path / "d.pfm"
    pfm.write_bytes(b"Pf\n8 6\n-1.0\n" + np.full((6, 8), 2.5, "<f4").tobytes())
    png = tmp_path / "d.png"
    cv2.imwrite(str(png), np.full((6, 8), 1000, np.uint16))
    cases = [
        ({"max_depth": 5000}, pfm, "max_depth is for integer depth; float depth (grayf32le) is mapped by float_range=(LO, HI)",
         "--max-depth is for integer depth; float depth (grayf32le) is mapped by --float-range LO:HI"),
        ({"float_range": (0, 5)}, png, "float_range is for float depth (PFM, EXR, grayf32le); this depth is gray16be",
         "--float-range is for float depth (PFM, EXR, grayf32le); this depth is gray16be"),
    ]
    for kw, depth, said, cli in cases:
        options = {"enhancer": enhancer} if "max_depth" not in kw else {"model": "igde-small", "backend": "onnxruntime",
                                                                         "quiet": True}
        with pytest.raises(InputError) as info:
            enhance_file(color, depth, tmp_path / "o.png", **options, **kw)
        assert str(info.value) == f"{depth}: {said}"
        assert cli_message(info.value) == f"{depth}: {cli}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.png", "d.pfm", "d.png"]


def test_view_quality_sequence_takes_lists_and_refuses_a_short_colour_clip():
    """Frames as a pipeline collects them (lists of arrays) are taken, as warp_views takes them (a
    list of depth frames failed with AttributeError on ``.shape``); depth equal to the ground truth
    gives identical views, PSNR inf (by definition). Fewer colour frames than ground-truth frames
    failed with IndexError after rendering the first ones; now one ValueError naming both shapes."""
    from igde_stream import multiview as mv

    rng = np.random.default_rng(3)
    colors = [rng.integers(0, 256, (6, 8, 3), dtype=np.uint8) for _ in range(2)]
    gt = [rng.integers(0, 256, (6, 8), dtype=np.uint8) for _ in range(2)]
    out = mv.view_quality_sequence(colors, gt, {"same": list(gt)}, n_views=2)
    assert out["frames"] == 2 and out["depths"]["same"]["mean"]["psnr"] == float("inf")
    with pytest.raises(ValueError) as info:
        mv.view_quality_sequence(np.stack(colors)[:1], np.stack(gt), {"same": np.stack(gt)}, n_views=2)
    assert str(info.value) == ("need colour T x H x W x 3 and ground truth T x H x W of as many frames, got "
                               "(1, 6, 8, 3) and (2, 6, 8)")


def test_backend_refusals_name_the_keyword_in_python_and_the_option_on_the_command_line(tmp_path, capsys):
    """A .pt checkpoint given to ONNX Runtime, and device cuda on an ONNX Runtime without CUDA, told
    the Python caller to "use --backend torch": now ``backend="torch"``, while the command still says
    ``--backend torch`` (``cli_message``, and the command's one error line through enhance_file's
    model loading)."""
    from igde_stream.backends import resolve_model_file
    from igde_stream.cli import main

    import cv2

    pt = resolve_model_file("igde-small", ".pt")
    cv2.imwrite(str(tmp_path / "c.png"), np.zeros((6, 8, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "d.png"), np.full((6, 8), 100, np.uint8))
    with pytest.raises(EnhancerError) as info:
        Enhancer(str(pt), backend="onnxruntime", quiet=True)
    assert str(info.value).endswith('or use backend="torch"')
    assert cli_message(info.value).endswith("or use --backend torch")
    code = main([str(tmp_path / "c.png"), str(tmp_path / "d.png"), "-o", str(tmp_path / "o.png"), "--model", str(pt),
                 "--backend", "onnxruntime", "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.endswith("or use --backend torch") and len(err.splitlines()) == 1
    ort = pytest.importorskip("onnxruntime")
    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime has CUDA: device cuda is no error here")
    with pytest.raises(EnhancerError) as info:
        Enhancer(backend="onnxruntime", device="cuda", quiet=True)
    assert str(info.value).endswith('or use backend="torch" / "tensorrt")')
    assert cli_message(info.value).endswith("or use --backend torch / tensorrt)")


def test_view_quality_names_the_depth_map_it_refuses():
    """The ground truth and each depth map were refused with one message, "depth must be H x W like the
    colour (6, 8), got (5, 8)", whichever was wrong: now the map is named."""
    from igde_stream import multiview as mv

    color, gt = np.zeros((6, 8, 3), np.uint8), np.zeros((6, 8), np.uint8)
    cases = [((color, gt[:5], {"enhanced": gt}), "ground truth: depth must be H x W like the colour (6, 8), got (5, 8)"),
             ((color, gt, {"enhanced": gt[:5]}), "'enhanced': depth must be H x W like the colour (6, 8), got (5, 8)"),
             ((color, gt, {"degraded": gt.astype(np.int32)}), "'degraded': depth must be uint8, uint16 or float, got int32")]
    for args, said in cases:
        with pytest.raises(ValueError) as info:
            mv.view_quality(*args, n_views=2)
        assert str(info.value) == said
    with pytest.raises(ValueError, match=r"^colour must be H x W x 3 uint8"):  # the colour is not a depth map
        mv.view_quality(color[..., 0], gt, {"enhanced": gt}, n_views=2)


def test_preview_without_matplotlib_names_the_keyword(tmp_path, enhancer, monkeypatch):
    """enhance_file(preview_path=...) without matplotlib said "--preview needs matplotlib": now the
    keyword; the command's words stay in cli_message. Refused before any file is read."""
    import sys

    from igde_stream.errors import OutputError

    # import matplotlib now raises ImportError, also where an earlier test imported the modules the
    # preview takes (a module in sys.modules is imported without its package)
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(OutputError) as info:
        enhance_file(tmp_path / "c.mkv", tmp_path / "d.mkv", tmp_path / "o.mkv", preview_path=tmp_path / "p.png",
                     enhancer=enhancer)
    assert str(info.value) == f"{tmp_path / 'p.png'}: preview_path needs matplotlib (pip install matplotlib)"
    assert cli_message(info.value) == f"{tmp_path / 'p.png'}: --preview needs matplotlib (pip install matplotlib)"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("given, api, cli", [
    ({"packed": "rgbdx"}, "packed='rgbdx': use one of rgbd, rgbd-tb", "--packed rgbdx: use one of rgbd, rgbd-tb"),
    ({"packed": "rgbd", "depth_stream": 1}, "packed='rgbd': colour and depth share one stream; pick it with "
     "color_stream, not depth_stream", "--packed rgbd: colour and depth share one stream; pick it with "
     "--color-stream, not --depth-stream"),
    ({"depth_near": "grey"}, "depth_near='grey': use 'white' or 'black'", "--depth-near grey: use white or black"),
    ({"packed": "rgbd", "depth_range": "full"}, "depth_range='full': applies to YUV depth streams",
     "--depth-range full: applies to YUV depth streams"),
    ({"packed": "rgbd", "depth_colormap": "turbo"}, "depth_colormap='turbo' with packed='rgbd': packed RGB-D depth "
     "is gray", "--depth-colormap turbo with --packed rgbd: packed RGB-D depth is gray"),
    ({"depth_range": "limited", "depth_colormap": "turbo"}, "depth_range='limited' with depth_colormap='turbo': ",
     "--depth-range limited with --depth-colormap turbo: "),
])
def test_input_options_refusals_name_the_keywords(given, api, cli):
    """InputOptions(...) from Python said "--packed rgbdx: ...", options no caller gave: now its keywords,
    the command's words kept for the command line (cli_message)."""
    from igde_stream.errors import InputError
    from igde_stream.stream.sources import InputOptions

    with pytest.raises(InputError) as info:
        InputOptions(**given)
    assert str(info.value).startswith(api) and "--" not in str(info.value)
    assert cli_message(info.value).startswith(cli)


def test_raw_depth_refusals_name_the_keywords(tmp_path, enhancer):
    from igde_stream.errors import InputError
    from igde_stream.stream.sources import InputOptions

    (tmp_path / "d.raw").write_bytes(bytes(7 * 32 * 24))
    for options, api, cli in (
            (None, "raw video needs InputOptions(size=(W, H), pix_fmt=NAME) (and fps=R, default 25)",
             "raw video needs --size WxH and --pix-fmt NAME (and --fps R, default 25)"),
            (InputOptions(size=(32, 24), pix_fmt="nonsense"), "pix_fmt='nonsense': not a supported raw depth format",
             "--pix-fmt nonsense: not a supported raw depth format"),
            (InputOptions(size=(32, 24), pix_fmt="gray16le"), "truncated, or another size / pix_fmt",
             "truncated, or another --size / --pix-fmt")):
        with pytest.raises(InputError) as info:
            enhance_file(tmp_path / "c.mkv", tmp_path / "d.raw", tmp_path / "o.mkv", inputs=options, enhancer=enhancer)
        assert api in str(info.value) and "--" not in str(info.value)
        assert cli in cli_message(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.raw"]  # 7 x 768 bytes: 3.5 gray16le frames


def test_unknown_container_format_names_the_keyword(tmp_path, enhancer):
    """DepthWriter(format="xyz") and enhance_file(out_format="xyz") said "no container format for --format
    xyz"; enhance_file now refuses it before any input is opened (no such files here)."""
    from fractions import Fraction

    from igde_stream.errors import OutputError
    from igde_stream.stream import DepthWriter
    from test_stream_roundtrip import depth_info

    with pytest.raises(OutputError) as info:
        enhance_file(tmp_path / "c.mkv", tmp_path / "d.mkv", tmp_path / "o.mkv", out_format="xyz", enhancer=enhancer)
    assert str(info.value) == (f"{tmp_path / 'o.mkv'}: out_format='xyz': no such container format in FFmpeg (use .mkv, "
                               "or out_format='nut' / 'matroska')")
    assert cli_message(info.value) == (f"{tmp_path / 'o.mkv'}: --format xyz: no such container format in FFmpeg (use "
                                       ".mkv, or --format nut / matroska)")
    with pytest.raises(OutputError) as info:
        DepthWriter(tmp_path / "o.mkv", depth_info(Fraction(25), "gray"), format="xyz")
    assert "format='xyz': no such container format" in str(info.value) and "--" not in str(info.value)
    with pytest.raises(OutputError) as info:
        DepthWriter(tmp_path / "o.xyz", depth_info(Fraction(25), "gray"))
    assert str(info.value).endswith("no container format for the suffix '.xyz' (use .mkv, or name one: 'nut' / "
                                    "'matroska')")
    assert cli_message(info.value).endswith("(use .mkv, or --format nut / matroska)")
    assert list(tmp_path.iterdir()) == []


def test_the_enhancers_exceptions_are_importable_where_the_others_are():
    """``EnhancerBusyError`` sits in ``igde_stream.errors`` beside ``IGDEError`` and ``EnhancerError``
    (it was defined in ``igde_stream.enhancer`` only), and the three are exported by the package; each
    name is the one class the Enhancer raises, so ``except igde_stream.errors.EnhancerBusyError`` catches
    a call made while another thread is inside the Enhancer."""
    import igde_stream
    import igde_stream.enhancer
    from igde_stream import errors

    assert errors.EnhancerBusyError is igde_stream.enhancer.EnhancerBusyError is igde_stream.EnhancerBusyError
    assert errors.EnhancerError is igde_stream.EnhancerError and errors.IGDEError is igde_stream.IGDEError
    assert issubclass(errors.EnhancerBusyError, errors.EnhancerError) and issubclass(errors.EnhancerBusyError, RuntimeError)
    assert {"IGDEError", "EnhancerError", "EnhancerBusyError"} <= set(igde_stream.__all__)
    e = Enhancer("igde-small", backend="onnxruntime", quiet=True)
    assert e._busy.acquire(blocking=False)  # as another thread inside enhance() holds it
    try:
        with pytest.raises(errors.EnhancerBusyError, match="one Enhancer per thread"):
            e.enhance(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.uint8))
    finally:
        e._busy.release()
    assert e.enhance(np.zeros((4, 4, 3), np.uint8), np.full((4, 4), 9, np.uint8)).shape == (4, 4)


def test_sixteen_bit_colour_is_refused_with_a_conversion_that_matches_the_command(tmp_path):
    """16-bit colour (a 16-bit PNG read by OpenCV with IMREAD_UNCHANGED) is refused with the conversion
    to use, and that conversion is within one level of the 8-bit RGB the command reads from the same
    file (``VideoReader``, swscale), on every sample of a random 16-bit picture."""
    import cv2

    from igde_stream.stream import VideoReader

    rgb16 = np.random.default_rng(0).integers(0, 65536, (24, 40, 3)).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "c16.png"), rgb16[..., ::-1])
    color = cv2.imread(str(tmp_path / "c16.png"), cv2.IMREAD_UNCHANGED)[..., ::-1]
    e = Enhancer("igde-small", backend="onnxruntime", quiet=True)
    with pytest.raises(EnhancerError) as info:
        e.enhance(color, np.zeros((24, 40), np.uint8))
    assert str(info.value) == ("colour must be uint8 RGB, got uint16 (16-bit colour, as cv2.imread(path, "
                               "cv2.IMREAD_UNCHANGED) gives a 16-bit PNG or TIFF: (color >> 8).astype(np.uint8), "
                               "within one level of the command's conversion)")
    with VideoReader(tmp_path / "c16.png", "color") as r:
        command = next(iter(r.frames())).data
    ours = (color >> 8).astype(np.uint8)
    assert np.abs(ours.astype(int) - command).max() <= 1  # rounding, never more
    with pytest.raises(EnhancerError, match=r"^colour must be uint8 RGB, got float32$"):  # no hint that would be wrong
        e.enhance(color.astype(np.float32) / 65535, np.zeros((24, 40), np.uint8))


@pytest.mark.parametrize("shape, said", [((21600,), "colour is 21600: 1 axis; "),
                                         ((2, 3, 4, 5, 3), "colour is 2 x 3 x 4 x 5 x 3: 5 axes; ")])
def test_colour_of_another_number_of_axes_is_counted_in_words(shape, said):
    """A flattened frame (``frame.ravel()``, a buffer not yet reshaped) is "1 axis", not "1 axes"."""
    from igde_stream.enhancer_inputs import check_layout

    with pytest.raises(EnhancerError) as info:
        check_layout(np.zeros(shape, np.uint8), np.zeros((7200,), np.uint8))
    assert str(info.value) == said + "wanted H x W x 3 uint8 RGB (one frame) or N x H x W x 3 (a batch)"

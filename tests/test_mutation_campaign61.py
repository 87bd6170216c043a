"""Mutation campaign 61: the gaps its survivors showed in the network (``models/igde.py``), the PyTorch
backend, training, the views' writers and the paper's evaluation. Expected values come from the
documented definitions written out here (``F.conv2d`` over the modules' weights, NumPy pixel
(un)shuffles and paddings), by hand, or from another library; never from the function under test."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from igde_stream.models import create_model
from igde_stream.models.igde import IGDEConfig


# ---- models/igde.py: the network's forward pass, written out from docs/models.md ------------------

def _conv(x, conv):
    """A stride-1 "same" convolution with the module's weights (every conv of the network is one)."""
    k = conv.weight.shape[-1]
    return F.conv2d(x, conv.weight, conv.bias, padding=k // 2)


def _rdb(x, block):
    """Residual dense block: L densely connected conv3x3 + ReLU, a 1x1 fusion + ReLU, plus its input."""
    feats = [x]
    for conv in block.convs:
        feats.append(torch.relu(_conv(torch.cat(feats, 1), conv)))
    return x + torch.relu(_conv(torch.cat(feats, 1), block.fuse))


def _rdn(x, net, taps=()):
    """RDN: conv3x3 + ReLU, conv3x3 + ReLU, D RDBs, concatenation of the RDB outputs, 1x1 + ReLU,
    conv3x3 + ReLU, plus the first shallow feature; tap i (after sfe1, sfe2, then each RDB) is
    concatenated and fused back by a 1x1 conv + ReLU. Returns (output, low-level features)."""
    taps = list(taps)

    def tap(i, h):
        return torch.relu(_conv(torch.cat([h, taps[i]], 1), net.tap_fuse[i])) if i < len(taps) else h

    f1 = tap(0, torch.relu(_conv(x, net.sfe1)))
    h = tap(1, torch.relu(_conv(f1, net.sfe2)))
    low, outs = [f1, h], []
    for i, block in enumerate(net.blocks):
        h = tap(2 + i, _rdb(h, block))
        outs.append(h)
        low.append(h)
    g = torch.relu(_conv(torch.relu(_conv(torch.cat(outs, 1), net.gff[0])), net.gff[2]))
    return g + f1, low


def _unshuffle(a, s):
    """NumPy: N x C x H x W (H, W multiples of s) -> N x C s^2 x H/s x W/s, channel c s^2 + i s + j
    holding pixel (s y + i, s x + j)."""
    n, c, h, w = a.shape
    return a.reshape(n, c, h // s, s, w // s, s).transpose(0, 1, 3, 5, 2, 4).reshape(n, c * s * s, h // s, w // s)


def _shuffle(a, s):
    n, cs, h, w = a.shape
    c = cs // (s * s)
    return a.reshape(n, c, s, s, h, w).transpose(0, 1, 4, 2, 5, 3).reshape(n, c, h * s, w * s)


def _features(model, color, depth):
    """The head's input features, from the documented architecture (IGDEConfig's docstring)."""
    c = model.config
    s = c.scale
    h, w = depth.shape[-2:]
    cn, dn = color.numpy(), depth.numpy()
    if s > 1:  # replicate-padded at the right and bottom to a multiple of s, then pixel-unshuffled
        pad = ((0, 0), (0, 0), (0, -h % s), (0, -w % s))
        cn = _unshuffle(np.pad(cn, pad, mode="edge"), s)
        dn = _unshuffle(np.pad(dn, pad, mode="edge"), s)
    img, low = _rdn(torch.from_numpy(np.ascontiguousarray(cn)), model.image_branch)
    dep, _ = _rdn(torch.from_numpy(np.ascontiguousarray(dn)), model.depth_branch, low[: c.color_taps])
    f = _rdn(torch.relu(_conv(torch.cat([img, dep], 1), model.fusion)), model.refine)[0]
    if c.global_context:
        m = f.mean(dim=(2, 3), keepdim=True)
        ab = _conv(torch.relu(_conv(m, model.context[0])), model.context[2])
        f = f * (1 + ab[:, : c.g0]) + ab[:, c.g0:]
    if s > 1:
        up = torch.relu(_conv(f, model.up)).numpy()
        f = torch.from_numpy(np.ascontiguousarray(_shuffle(up, s)[..., :h, :w]))
        f = torch.relu(_conv(torch.cat([f, color, depth], 1), model.full))
    for conv in model.full_res:
        f = f + torch.relu(_conv(torch.cat([f, color, depth], 1), conv))
    return f


def _randomise(model, seed):
    """Every parameter random (the zero-initialised context and full-resolution convs too), biases
    slightly positive so that most ReLUs pass."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3 + (0.05 if name.endswith("bias") else 0.0))
    return model.eval()


@pytest.mark.parametrize("taps", [0, 3])
def test_residual_network_output_follows_the_layer_list(taps):
    """igde-tiny (residual head): depth + the 1x1 head of the features, clamped to [0, 1]; the RDB's
    local residual adds its input, the RDN's global residual its first shallow feature."""
    model = _randomise(create_model("igde-tiny", color_taps=taps), seed=1 + taps)
    g = torch.Generator().manual_seed(7)
    color, depth = torch.rand(2, 3, 13, 17, generator=g), torch.rand(2, 1, 13, 17, generator=g)
    with torch.no_grad():
        f = _features(model, color, depth)
        model.head.weight.mul_(0.3 / f.std())  # a residual of about +-0.3: some outputs clamp, most not
        model.head.bias.zero_()
        want = (_conv(f, model.head) + depth).clamp(0, 1)
        torch.testing.assert_close(model.features(color, depth), f, rtol=1e-5, atol=1e-5)
        got = model(color, depth)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    assert 0 < float((got == 0).float().mean() + (got == 1).float().mean()) < 1  # not clamped flat


@pytest.mark.parametrize("hw", [(12, 16), (13, 17)])
def test_half_resolution_features_with_context_and_full_resolution_layers(hw):
    """scale 2: colour and depth replicate-padded to even sizes and pixel-unshuffled, the features
    pixel-shuffled back and cropped, a 3x3 conv over [features, colour, depth]; then the frame-wide
    context's (1 + a) f + b (before the upsampling) and the full-resolution residual convs."""
    model = _randomise(create_model("igde-tiny", head="select", radius=2, scale=2, global_context=3,
                                    full_convs=2, color_taps=2), seed=11)
    h, w = hw
    g = torch.Generator().manual_seed(3)
    color, depth = torch.rand(1, 3, h, w, generator=g), torch.rand(1, 1, h, w, generator=g)
    with torch.no_grad():
        torch.testing.assert_close(model.features(color, depth), _features(model, color, depth),
                                   rtol=1e-4, atol=1e-5)


# ---- models/igde.py: IGDEConfig's documented bounds, at both edges -----------------------------------

def test_config_bounds_are_inclusive_where_the_messages_say_so():
    """radius 1..16, pick_temperature [0, 10], global_context 0..64, color_taps 0..2 + blocks: the
    limits themselves are taken, one past them refused."""
    IGDEConfig(head="select", radius=16)
    with pytest.raises(ValueError, match=r"radius must be in 1\.\.16, got 17"):
        IGDEConfig(head="select", radius=17)
    IGDEConfig(head="select", pick_temperature=10.0)
    with pytest.raises(ValueError, match=r"pick_temperature must be in \[0, 10\], got 10.5"):
        IGDEConfig(head="select", pick_temperature=10.5)
    IGDEConfig(global_context=64)
    with pytest.raises(ValueError, match="global_context must be in 0..64, got 65"):
        IGDEConfig(global_context=65)
    IGDEConfig(extractor_blocks=1, color_taps=3)
    for blocks in (1, 2):
        with pytest.raises(ValueError, match=rf"color_taps must be in 0\.\.{2 + blocks}, got {3 + blocks}"):
            IGDEConfig(extractor_blocks=blocks, color_taps=3 + blocks)
    IGDEConfig(head="select", radius=1)
    with pytest.raises(ValueError, match="radius must be in 1..16, got 0"):
        IGDEConfig(head="select", radius=0)
    IGDEConfig(head="select", gate_threshold=0.999)
    with pytest.raises(ValueError, match=r"gate_threshold must be in \(0, 1\), got 1.0"):
        IGDEConfig(head="select", gate_threshold=1.0)
    IGDEConfig(head="soft", scale=2)
    with pytest.raises(ValueError, match="scale 2 needs a soft or select head"):
        IGDEConfig(head="residual", scale=2)


def test_gathers_input_is_true_for_the_soft_and_select_heads_only():
    assert create_model("igde-tiny").gathers_input is False
    assert create_model("igde-tiny", head="soft", radius=2).gathers_input is True
    assert create_model("igde-tiny", head="select", radius=2).gathers_input is True


def test_fresh_global_context_and_full_resolution_layers_start_as_the_identity():
    """IGDEConfig: the context's second 1x1 conv and the full-resolution convs are zero-initialised,
    so a fresh model with them computes what the same weights compute without them."""
    torch.manual_seed(0)
    grown = create_model("igde-tiny", head="select", radius=2, scale=2, global_context=4, full_convs=1).eval()
    plain = create_model("igde-tiny", head="select", radius=2, scale=2).eval()
    plain.load_state_dict({k: v for k, v in grown.state_dict().items()
                           if not k.startswith(("context.", "full_res."))})
    with torch.no_grad():  # the first context conv is random: only the zeroed second one makes it the identity
        grown.context[0].bias.fill_(0.5)
        g = torch.Generator().manual_seed(2)
        color, depth = torch.rand(1, 3, 10, 14, generator=g), torch.rand(1, 1, 10, 14, generator=g)
        torch.testing.assert_close(grown.features(color, depth), plain.features(color, depth), rtol=0, atol=0)


# ---- backends/torch_backend.py ----------------------------------------------------------------------

def test_torch_backend_gives_a_batch_of_no_frames_as_0_x_1_x_h_x_w_float32():
    """backends.empty_batch: every backend answers a batch of no frames without running its runtime."""
    from igde_stream.backends.torch_backend import TorchBackend

    b = TorchBackend(model=create_model("igde-tiny"))
    out = b.run(np.zeros((0, 3, 5, 7), np.float32), np.zeros((0, 1, 5, 7), np.float32))
    assert isinstance(out, np.ndarray) and out.shape == (0, 1, 5, 7) and out.dtype == np.float32


def test_host_staging_reuses_one_buffer_per_tag_and_shape(monkeypatch):
    """HostStaging: pinned buffers reused per (tag, shape), eight kept by default (no CUDA here: the
    pinned allocation is stood in by a plain one)."""
    from igde_stream.backends import torch_backend

    empty = torch.empty
    monkeypatch.setattr(torch_backend.torch, "empty", lambda *a, pin_memory=False, **kw: empty(*a, **kw))
    st = torch_backend.HostStaging()
    keys = [("color", (1, 3, 4, k)) for k in range(1, 5)] + [("depth", (1, 1, 4, k)) for k in range(1, 5)]
    first = {key: st._buffer(*key) for key in keys}
    assert all(st._buffer(*key) is buf for key, buf in first.items())  # eight shapes, each kept
    a = np.arange(12, dtype=np.float32).reshape(1, 3, 2, 2)
    t = st.to_device("color", a, torch.device("cpu"))
    np.testing.assert_array_equal(t.numpy(), a)


# ---- training.py ------------------------------------------------------------------------------------

def _train_cfg(tmp_path, **kw):
    from igde_stream.training import TrainConfig

    base = dict(model="igde-tiny", steps=3, batch=2, crop=(32, 32), workers=0, val_every=100, val_samples=2,
                val_size=(32, 32), ckpt_every=100, log_every=1, out=str(tmp_path / "run"), scene_size=(96, 64),
                textures="procedural", threads=1, progress=False, lr=1e-3)
    base.update(kw)
    return TrainConfig(**base)


def _logged_steps(out):
    import csv

    with open(out / "log.csv") as f:
        return [int(r["step"]) for r in csv.DictReader(f)]


def test_a_time_budget_stops_the_steps_once_its_minutes_have_passed(tmp_path, monkeypatch, capsys):
    """minutes=1 alone: a stand-in clock moves 15 s each step, so steps start at 0, 15, 30 and 45 s
    of the run and the check at 60 s (>= 60 x minutes) stops it: four steps."""
    from types import SimpleNamespace

    import igde_stream.training as training

    now = [1000.0]
    monkeypatch.setattr(training, "time", SimpleNamespace(perf_counter=lambda: now[0]))
    progress = training._progress

    def step_clock(*a, **kw):
        p = progress(*a, **kw)
        now[0] += 15.0
        return p

    monkeypatch.setattr(training, "_progress", step_clock)
    out = tmp_path / "run"
    training.train(_train_cfg(tmp_path, steps=None, minutes=1.0))
    import csv

    with open(out / "log.csv") as f:  # every step's row, then the run's last validation on a row of its own
        rows = [(int(r["step"]), r["time_s"]) for r in csv.DictReader(f)]
    assert rows == [(1, "15.0"), (2, "30.0"), (3, "45.0"), (4, "60.0"), (4, "60.0")]
    assert "trained 4 steps (4 total) in 60 s" in capsys.readouterr().out


def test_training_reads_input_depth_on_the_ground_truths_scale(tmp_path, monkeypatch):
    """The crops' uint8 colour, input depth and ground truth all become value / 255: where the
    degradation left a pixel alone, the loss sees input depth equal to the ground truth."""
    import igde_stream.training as training

    seen = []

    def loss(pred, gt, dep, *weights):
        seen.append((gt.clone(), dep.clone()))
        return (pred - gt).abs().mean()

    monkeypatch.setattr(training, "igde_loss", loss)
    training.train(_train_cfg(tmp_path, steps=2, l2_weight=0.0))
    assert len(seen) == 2
    for gt, dep in seen:
        assert float(dep.min()) >= 0 and float(dep.max()) <= 1
        np.testing.assert_allclose((dep * 255).numpy(), np.round((dep * 255).numpy()), atol=1e-3)
        assert float((dep == gt).float().mean()) > 0.5


def test_the_crop_caches_sampler_depends_on_the_seed(tmp_path, monkeypatch):
    """cache_scenes: runs of seeds 0 and 1 draw other batches from the same cache (their samplers'
    seeds differ), and a run resumed at a later step other batches than its start."""
    import igde_stream.training as training

    seeds = []

    class Stop(Exception):
        pass

    def crops(arrays, batch, seed=0):
        seeds.append(seed)
        raise Stop

    monkeypatch.setattr(training, "load_or_build_cache", lambda *a, **k: {})
    monkeypatch.setattr(training, "CachedCrops", crops)
    for seed in (0, 1):
        with pytest.raises(Stop):
            training.train(_train_cfg(tmp_path, seed=seed, cache_scenes=2, out=str(tmp_path / f"s{seed}")))
    assert seeds[0] != seeds[1]


def test_last_pt_is_saved_every_ckpt_every_steps_and_at_the_end(tmp_path, monkeypatch):
    """ckpt_every=2 over 5 steps: last.pt after steps 2 and 4, and once more at the end (step 5)."""
    import igde_stream.training as training

    saved = []
    monkeypatch.setattr(training, "save_checkpoint", lambda path, model, **kw: saved.append((path.name, kw["step"])))
    training.train(_train_cfg(tmp_path, steps=5, ckpt_every=2))
    assert [s for name, s in saved if name == "last.pt"] == [2, 4, 5]


def test_a_resumed_run_says_the_steps_it_made_and_its_total(tmp_path, capsys):
    """Three steps, then resumed to five: this invocation trained 2 steps, 5 in all."""
    import igde_stream.training as training

    training.train(_train_cfg(tmp_path, steps=3))
    assert "trained 3 steps (3 total)" in capsys.readouterr().out
    training.train(_train_cfg(tmp_path, steps=5, resume="auto"))
    assert "trained 2 steps (5 total)" in capsys.readouterr().out


@pytest.mark.parametrize("peak", [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
def test_gate_calibration_can_pick_each_threshold_from_0_2_to_0_8(monkeypatch, peak):
    """calibrate_gate's candidates are 0.2, 0.3, ..., 0.8: a validation PSNR that peaks at any one of
    them picks it."""
    import dataclasses
    from types import SimpleNamespace

    import igde_stream.training as training

    @dataclasses.dataclass
    class Config:
        gate_threshold: float = 0.5

    model = SimpleNamespace(head=SimpleNamespace(gate_threshold=0.5), config=Config())
    tried = []

    def validate(m, *a):
        tried.append(m.head.gate_threshold)
        return {"psnr": 30.0 - abs(m.head.gate_threshold - peak)}

    monkeypatch.setattr(training, "validate", validate)
    assert training.calibrate_gate(model, None, torch.device("cpu")) == peak
    assert sorted(tried) == [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]


# ---- stream/view_writers.py -------------------------------------------------------------------------

def _ebml_children(buf, start, end):
    """(id, payload start, payload end) of the EBML elements in buf[start:end] (Matroska's encoding:
    an ID of 1-4 bytes with its length marker kept, then a size as a variable-length integer)."""
    i = start
    while i < end:
        n = 8 - buf[i].bit_length() + 1  # the ID's length: the first set bit of its first byte
        eid = int.from_bytes(buf[i:i + n], "big")
        i += n
        m = 8 - buf[i].bit_length() + 1
        size = int.from_bytes(buf[i:i + m], "big") & ((1 << (7 * m)) - 1)
        i += m
        yield eid, i, i + size
        i += size


def _matroska_colour(path):
    """The Colour element (0x55B0) of a Matroska file's video track, as {element id: value}."""
    buf = open(path, "rb").read()
    at = buf.find(bytes.fromhex("55B0"))
    assert at > 0, "no Colour element"
    eid, s, e = next(_ebml_children(buf, at, len(buf)))
    assert eid == 0x55B0
    return {cid: int.from_bytes(buf[cs:ce], "big") for cid, cs, ce in _ebml_children(buf, s, e)}


def test_h264_views_in_matroska_carry_bt709_and_the_limited_range_in_the_container(tmp_path):
    """Matroska's Colour element: MatrixCoefficients (0x55B1), TransferCharacteristics (0x55BA),
    Primaries (0x55BB) 1 = BT.709 and Range (0x55B9) 1 = broadcast (limited) range, as the file says
    (a player that reads the container's tags, not the bitstream's, sees the range too)."""
    from fractions import Fraction

    from igde_stream.stream.view_writers import ColorWriter

    w = ColorWriter(tmp_path / "v.mkv", "h264", Fraction(25), Fraction(1, 1000))
    w.write(np.full((32, 64, 3), 90, np.uint8), 0)
    w.commit()
    colour = _matroska_colour(tmp_path / "v.mkv")
    assert {k: colour.get(k) for k in (0x55B1, 0x55BA, 0x55BB, 0x55B9)} == {0x55B1: 1, 0x55BA: 1, 0x55BB: 1,
                                                                          0x55B9: 1}


def test_h264_frame_size_limit_is_its_highest_levels_macroblocks(tmp_path):
    """H.264 levels 6-6.2: at most 139,264 macroblocks (16 x 16) a frame: 8192 x 4352 is exactly that
    (512 x 272) and taken; one more macroblock row is refused; HEVC has no such check."""
    from igde_stream.errors import OutputError
    from igde_stream.stream.view_writers import _check_size

    _check_size("h264", 8192, 4352, tmp_path / "v.mkv")
    for w, h, mbs in ((8192, 4354, "139,776"), (8176, 4368, "139,503")):  # 512 x 273, 511 x 273
        with pytest.raises(OutputError, match=f"{w}x{h} is beyond H.264 \\({mbs} macroblocks a frame, its highest "
                                              "level holds 139,264;"):
            _check_size("h264", w, h, tmp_path / "v.mkv")
    _check_size("hevc", 8192, 4368, tmp_path / "v.mkv")


def test_views_writers_leave_the_thread_count_to_ffmpeg_unless_told(tmp_path):
    """threads 0 (FFmpeg's choice, which FFmpeg resolves once the encoder opens) by default, as the
    depth writer; a count given is the encoder's."""
    from fractions import Fraction

    from igde_stream.stream.view_writers import ColorWriter, RGBDWriter

    img = np.full((16, 16, 3), 90, np.uint8)
    for threads, kw in ((0, {}), (3, {"threads": 3})):
        w = ColorWriter(tmp_path / f"c{threads}.mkv", "ffv1", Fraction(25), Fraction(1, 1000), **kw)
        assert w.threads == threads
        w.write(img, 0)
        if threads:
            assert w.stream.thread_count == threads
        w.abort()
        r = RGBDWriter(tmp_path / f"r{threads}.mkv", "ffv1", Fraction(25), Fraction(1, 1000), **kw)
        assert r.writer.threads == threads
        r.write(img, np.full((16, 16), 100, np.uint8), 0)
        if threads:
            assert r.writer.stream.thread_count == threads
        r.abort()


def test_frames_without_pts_are_placed_at_k_over_rate_rounded_half_up(tmp_path):
    """pts None: frame k at k / rate in the time base, rounded half up. Rate 3 in tenths of a second:
    k x 10 / 3 = 0, 3.33, 6.67, 10, 13.33 -> 0, 3, 7, 10, 13 tenths; read back as times by PyAV. The
    first frame's pts is given (0), so that a muxer's shift of a negative start cannot hide a
    constant offset of the others."""
    from fractions import Fraction

    import av

    from igde_stream.stream.view_writers import ColorWriter

    w = ColorWriter(tmp_path / "v.mkv", "ffv1", Fraction(3), Fraction(1, 10))
    for k in range(5):
        w.write(np.full((16, 16, 3), 40 * k, np.uint8), None if k else 0)
    w.commit()
    with av.open(str(tmp_path / "v.mkv")) as c:
        times = [f.pts * f.time_base for f in c.decode(video=0)]
    assert times == [Fraction(t, 10) for t in (0, 3, 7, 10, 13)]


# ---- paper/evaluate.py ------------------------------------------------------------------------------

def test_evaluate_suite_figures_of_two_sequences_take_the_first_frame_of_each(monkeypatch, tmp_path):
    """Fig. 10 pictures: the first frame of the first sequences when there are several (here two),
    the first frames of a single sequence only when there is one."""
    from test_paper_values import _suite

    from igde_stream.paper import evaluate

    ck, out, seen = _suite(monkeypatch, tmp_path)
    evaluate.evaluate_suite(ck, out, sequences=2, figures=2, icl=None, datasets=["synthetic"], log=lambda s: None)
    assert [f[5].split(" (480x270")[0] for f in seen["fig"]] == ["IGDE (seed 0) on test-0 frame 0",
                                                                "IGDE (seed 0) on test-1 frame 0"]


def test_budget_note_counts_a_record_without_a_seed_as_seed_0():
    """A training record with no seed is seed 0 (as its row's tag ``<key>@0``), also in the note's
    grouping of rows by their seeds."""
    from igde_stream.paper.evaluate import _budget_note

    note = _budget_note({"igde@0": {"steps": 800}, "igde@1": {"steps": 800, "seed": 1}})
    assert "trained once per seed (seeds 0, 1: igde; the seed sets" in note

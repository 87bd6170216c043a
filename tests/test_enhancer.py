"""Enhancer: frame / batch API, dtypes, errors, backend choice and its message."""

from __future__ import annotations

import numpy as np
import pytest

from igde_stream.enhancer import Enhancer, EnhancerError
from igde_stream.errors import IGDEError


def _frames(n, h=21, w=34, dtype=np.uint8, seed=0):
    rng = np.random.default_rng(seed)
    peak = np.iinfo(dtype).max
    return rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8), rng.integers(0, peak, (n, h, w), dtype=dtype)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_single_frame_and_batch_keep_shape_and_dtype(tiny, dtype):
    e = Enhancer(str(tiny[2]), batch=3, quiet=True)
    color, depth = _frames(7, dtype=dtype)  # 7 = 3 + 3 + 1: a short last batch
    out = e.enhance(color, depth)
    assert out.shape == depth.shape and out.dtype == dtype
    one = e.enhance(color[4], depth[4])
    assert one.shape == depth[4].shape and np.array_equal(one, out[4])


def test_onnxruntime_and_torch_agree_on_quantised_depth(tiny):
    color, depth = _frames(5, dtype=np.uint16)
    a = Enhancer(str(tiny[2]), backend="onnxruntime", quiet=True).enhance(color, depth)
    b = Enhancer(str(tiny[1]), backend="torch", quiet=True).enhance(color, depth)
    assert np.abs(a.astype(np.int64) - b).max() <= 7  # 1e-4 of 65535 is 6.6 levels


def test_max_depth_normalises(tiny):
    e = Enhancer(str(tiny[2]), max_depth=1000, quiet=True)
    color, depth = _frames(2, dtype=np.uint16)
    depth = depth % 1000
    assert e.enhance(color, depth).max() <= 1000


def test_choice_is_announced_unless_quiet(tiny, capsys):
    e = Enhancer(str(tiny[2]))
    err = capsys.readouterr().err
    assert e.backend_name == "onnxruntime" and "backend onnxruntime" in err and "auto" in err
    Enhancer(str(tiny[2]), quiet=True)
    assert capsys.readouterr().err == ""


def test_bad_inputs_are_clear_errors(tiny):
    e = Enhancer(str(tiny[2]), quiet=True)
    color, depth = _frames(2)
    with pytest.raises(EnhancerError, match="same size"):
        e.enhance(color[:, :-1], depth)
    with pytest.raises(EnhancerError, match="uint8 RGB"):
        e.enhance(color.astype(np.float32), depth)
    with pytest.raises(EnhancerError, match="uint8 or uint16"):
        e.enhance(color, depth.astype(np.float32))


def test_bad_model_backend_and_options_are_clear_errors(tiny, tmp_path):
    with pytest.raises(IGDEError, match="no such model file"):
        Enhancer(str(tmp_path / "missing.onnx"), quiet=True)
    with pytest.raises(ValueError, match="no shipped"):
        Enhancer("igde-nope", quiet=True)
    with pytest.raises(EnhancerError, match="unknown backend"):
        Enhancer(str(tiny[2]), backend="openvino", quiet=True)
    with pytest.raises(EnhancerError, match="does not take"):
        Enhancer(str(tiny[2]), backend="onnxruntime", cuda_graph=True, quiet=True)
    with pytest.raises(EnhancerError, match="batch"):
        Enhancer(str(tiny[2]), batch=0)
    (tmp_path / "bad.pt").write_text("nope")
    with pytest.raises(EnhancerError, match="not an igde-stream checkpoint"):
        Enhancer(str(tmp_path / "bad.pt"), backend="torch", quiet=True)


def test_auto_drops_options_meant_for_other_backends(tiny):
    e = Enhancer(str(tiny[2]), threads=1, cuda_graph=False, quiet=True)
    assert e.backend_name == "onnxruntime" and e.backend.options.threads == 1

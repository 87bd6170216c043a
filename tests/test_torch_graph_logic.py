"""The CUDA-graph bookkeeping of the PyTorch backend, run on the CPU with torch.cuda's stream and
graph calls replaced by stand-ins: which stream a graph is captured on, and how a stream's last,
partial batch runs (padded in the graph of its full batches, not captured again)."""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from igde_stream import create_model
from igde_stream.backends import torch_backend
from igde_stream.backends.torch_backend import TorchBackend, _Graph, fitting_batch, resolve_device

FAKE_CURRENT = torch.device("cuda", 0)  # the device current in the process (a graph's may be another)


class _Stream:
    def __init__(self, device=None):
        self.device = FAKE_CURRENT if device is None else torch.device(device)

    def wait_stream(self, other):
        pass


class _CUDAGraph:
    def __init__(self):
        self.ops = []

    def replay(self):
        for op in self.ops:
            op()


@pytest.fixture
def fake_cuda(monkeypatch):
    """torch.cuda's streams and graphs as stand-ins; a graph records the calls of a function
    wrapped by ``record`` made while it is captured, and replay runs them again."""
    state = SimpleNamespace(capturing=None, captures=[], default_stream=None)

    @contextmanager
    def graph(cuda_graph, pool=None, stream=None, capture_error_mode="global"):
        if stream is None:  # as torch.cuda.graph: one default capture stream per process, made on first use
            state.default_stream = state.default_stream or _Stream()
            stream = state.default_stream
        state.captures.append(stream.device)
        state.capturing = cuda_graph
        try:
            yield
        finally:
            state.capturing = None

    def record(fn):
        def wrapped(c, d):
            out = fn(c, d)
            if state.capturing is not None:
                state.capturing.ops.append(lambda: out.copy_(fn(c, d)))
            return out
        return wrapped

    state.record = record
    monkeypatch.setattr(torch.cuda, "Stream", _Stream)
    monkeypatch.setattr(torch.cuda, "stream", lambda s: nullcontext())
    monkeypatch.setattr(torch.cuda, "current_stream", lambda device=None: _Stream(device))
    monkeypatch.setattr(torch.cuda, "CUDAGraph", _CUDAGraph)
    monkeypatch.setattr(torch.cuda, "graph", graph)
    return state


def test_a_graph_is_captured_on_a_stream_of_its_own_device(fake_cuda):
    """torch.cuda.graph's default capture stream lives on the device current at the process's first
    capture, and entering it makes that device current: a graph for another GPU must bring its own
    stream. ``cpu`` stands in for that other GPU here (the fake's current device is cuda:0)."""
    g = _Graph(fake_cuda.record(lambda c, d: d * 2), (1, 4, 5), torch.device("cpu"))
    assert fake_cuda.captures == [torch.device("cpu")]
    d = torch.rand(1, 1, 4, 5)
    assert torch.equal(g(torch.rand(1, 3, 4, 5), d), d * 2)  # replays the new input


def _graph_backend(fake_cuda):
    torch.manual_seed(0)
    b = TorchBackend(create_model("igde-tiny").eval(), "cpu")
    b.options.cuda_graph = True  # the graph path, with the stand-in graphs
    b._forward = fake_cuda.record(b._forward)
    return b


def test_last_partial_batch_runs_padded_in_the_full_batches_graph(fake_cuda):
    b = _graph_backend(fake_cuda)
    ref = TorchBackend(create_model("igde-tiny").eval(), "cpu")
    ref.model.load_state_dict(b.model.state_dict())
    rng = np.random.default_rng(0)
    c, d = rng.random((7, 3, 12, 16), dtype=np.float32), rng.random((7, 1, 12, 16), dtype=np.float32)
    outs = [b.run(c[s:s + 4], d[s:s + 4]) for s in (0, 4)]  # 4 frames, then the last 3
    assert [o.shape for o in outs] == [(4, 1, 12, 16), (3, 1, 12, 16)]
    assert list(b._graphs) == [(4, 12, 16)] and len(fake_cuda.captures) == 1  # no second capture for 3 frames
    np.testing.assert_allclose(np.concatenate(outs), ref.run(c, d), atol=1e-5)
    assert b.run(c[:2, :, :8], d[:2, :, :8]).shape == (2, 1, 8, 16)  # another size: its own graph
    assert sorted(b._graphs) == [(2, 8, 16), (4, 12, 16)]


def test_fitting_batch():
    shapes = {(4, 12, 16), (8, 12, 16), (2, 8, 16)}
    assert fitting_batch(3, 12, 16, shapes) == 4
    assert fitting_batch(5, 12, 16, shapes) == 8
    assert fitting_batch(9, 12, 16, shapes) == 9  # larger than any: its own
    assert fitting_batch(1, 9, 16, shapes) == 1  # another size: its own
    assert fitting_batch(4, 12, 16, shapes) == 4


def test_a_bare_cuda_device_keeps_the_gpu_current_when_it_was_made(monkeypatch):
    """``cuda`` without an index followed the current device at every call: weights moved to cuda:1
    (made inside ``torch.cuda.device(1)``), inputs later staged to cuda:0."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 1)
    assert resolve_device("cuda") == torch.device("cuda", 1)
    assert resolve_device("cuda:0") == torch.device("cuda", 0)
    assert resolve_device(None) == torch.device("cpu")
    assert torch_backend.resolve_device("cpu") == torch.device("cpu")


def test_a_graph_is_warmed_up_outside_the_capture(fake_cuda):
    """PyTorch's CUDA graphs guide: run the function a few times on a side stream before capturing it
    (cuDNN's autotuning and the allocator's first allocations cannot happen inside a capture)."""
    calls = []
    _Graph(lambda c, d: calls.append(fake_cuda.capturing is None) or d * 2, (1, 4, 5), torch.device("cpu"))
    assert len(calls) >= 2 and calls[0] and not calls[-1]  # warm-up call(s) first, then the captured one


def test_graphs_kept_are_at_most_max_graphs_least_recently_used_dropped(fake_cuda):
    """As tests/test_gpu.py's eviction test (max_graphs=2) on stand-in graphs, by hand: graphs at
    (1, 12, 16), (2, 12, 16), then (1, 8, 8) drops the least recently used (1, 12, 16); one frame of
    12 x 16 then runs padded in (2, 12, 16), no new capture. max_graphs=0 still keeps the one in use."""
    b = _graph_backend(fake_cuda)
    b.options.max_graphs = 2
    rng = np.random.default_rng(0)
    for n, h, w in ((1, 12, 16), (2, 12, 16), (1, 8, 8), (1, 12, 16)):
        c, d = rng.random((n, 3, h, w), dtype=np.float32), rng.random((n, 1, h, w), dtype=np.float32)
        assert b.run(c, d).shape == (n, 1, h, w)
    assert list(b._graphs) == [(1, 8, 8), (2, 12, 16)] and len(fake_cuda.captures) == 3
    b.options.max_graphs = 0  # a new size: the others go, the new one is kept
    c, d = rng.random((1, 3, 8, 12), dtype=np.float32), rng.random((1, 1, 8, 12), dtype=np.float32)
    assert b.run(c, d).shape == (1, 1, 8, 12) and list(b._graphs) == [(1, 8, 12)]


def test_a_partial_batch_as_large_as_the_frame_height_runs_padded(fake_cuda):
    """The graph's batch size, not the frame height, says whether a batch needs padding: 13 frames of
    12 x 16, then the last 12 run padded in the graph of 13."""
    b = _graph_backend(fake_cuda)
    ref = TorchBackend(create_model("igde-tiny").eval(), "cpu")
    ref.model.load_state_dict(b.model.state_dict())
    rng = np.random.default_rng(1)
    c, d = rng.random((25, 3, 12, 16), dtype=np.float32), rng.random((25, 1, 12, 16), dtype=np.float32)
    outs = [b.run(c[:13], d[:13]), b.run(c[13:], d[13:])]
    assert [o.shape[0] for o in outs] == [13, 12] and list(b._graphs) == [(13, 12, 16)]
    np.testing.assert_allclose(np.concatenate(outs), ref.run(c, d), atol=1e-5)


def test_a_compiled_forward_runs_a_last_partial_batch_padded():
    """With ``compile`` (no graph) a smaller last batch runs at the compiled batch size (no second
    compile) and comes back with its own frames only; the compiled function is a stand-in here."""
    torch.manual_seed(0)
    b = TorchBackend(create_model("igde-tiny").eval(), "cpu")
    ref = TorchBackend(create_model("igde-tiny").eval(), "cpu")
    ref.model.load_state_dict(b.model.state_dict())
    sizes = []
    b._compiled = lambda c, d: sizes.append(c.shape[0]) or b._run_model(c, d)
    rng = np.random.default_rng(2)
    c, d = rng.random((7, 3, 12, 16), dtype=np.float32), rng.random((7, 1, 12, 16), dtype=np.float32)
    outs = [b.run(c[:4], d[:4]), b.run(c[4:], d[4:])]
    assert [o.shape[0] for o in outs] == [4, 3] and sizes == [4, 4] and b._compiled_shapes == {(4, 12, 16)}
    np.testing.assert_allclose(np.concatenate(outs), ref.run(c, d), atol=1e-5)


def test_the_cuda_path_returns_what_comes_back_from_the_device(monkeypatch):
    """``run`` on a CUDA device stages the inputs, runs, and returns the host copy of the output
    (pinned buffers and device replaced by stand-ins: the CPU does the work)."""
    torch.manual_seed(0)
    b = TorchBackend(create_model("igde-tiny").eval(), "cpu")
    rng = np.random.default_rng(3)
    c, d = rng.random((2, 3, 12, 16), dtype=np.float32), rng.random((2, 1, 12, 16), dtype=np.float32)
    want = b.run(c, d)
    monkeypatch.setattr(torch.cuda, "device", lambda device: nullcontext())
    b.device = torch.device("cuda", 0)
    b._staging = SimpleNamespace(to_device=lambda tag, a, device: torch.from_numpy(np.array(a)),
                                 to_host=lambda t: t.numpy().copy())
    got = b.run(c, d)
    assert isinstance(got, np.ndarray) and got.shape == (2, 1, 12, 16)
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_a_registered_name_loads_its_shipped_weights():
    """``igde-small`` by name: the shipped weights, whose hash the record beside them gives."""
    import json

    from igde_stream.backends import WEIGHTS_DIR
    from igde_stream.backends.torch_backend import load_torch_model
    from igde_stream.models import weights_hash

    model = load_torch_model("igde-small")
    assert isinstance(model, torch.nn.Module)
    assert weights_hash(model) == json.loads((WEIGHTS_DIR / "igde-small.json").read_text())["weights_hash"]

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

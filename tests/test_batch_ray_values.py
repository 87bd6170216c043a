"""``igde-stream batch --ray`` (``igde_stream.batch_ray``) against a stand-in ``ray`` module: the
address forms and ports of docs/batch.md, the 5 s reachability check, how Ray is started or joined,
rows in job order, a failed task's row, Ctrl-C cancelling (mutation campaign 59b). Ray itself is not
needed (it is an optional dependency)."""

from __future__ import annotations

import logging
import socket
import sys
import types

import pytest

from igde_stream import batch_ray
from igde_stream.batch import summary_row
from igde_stream.batch_jobs import Job
from igde_stream.errors import IGDEError


@pytest.mark.parametrize("address, want", [
    ("ray://head:10002", ("head", 10002)), ("ray://head", ("head", 10001)), ("head", ("head", 6379)),
    ("head:1", ("head", 1)), ("10.0.0.2:65535", ("10.0.0.2", 65535)), ("[::1]:6380", ("::1", 6380)),
])
def test_host_port_of_each_address_form(address, want):
    assert batch_ray._host_port(address) == want


@pytest.mark.parametrize("address", ["head:0", "head:65536", "head:131071", "ray://head:70000", ":6379", "head:x",
                                     "ray://:1"])
def test_host_port_refuses_ports_out_of_range_and_no_host(address):
    with pytest.raises(IGDEError, match=r"write the address as local, auto, HOST:PORT or ray://HOST:PORT$"):
        batch_ray._host_port(address)


def test_check_reachable_opens_a_connection_within_5_s(monkeypatch):
    """docs/batch.md: an address that cannot be reached fails in at most 5 s."""
    assert batch_ray.CONNECT_TIMEOUT == 5.0
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        port = srv.getsockname()[1]
        batch_ray.check_reachable(f"127.0.0.1:{port}")  # a listener: no error
    tried = []

    def slow(addr, timeout):
        tried.append((addr, timeout))
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket, "create_connection", slow)
    with pytest.raises(IGDEError) as exc:
        batch_ray.check_reachable("ray://head")
    assert tried == [(("head", 10001), 5.0)]
    assert str(exc.value) == "--ray ray://head: cannot reach the Ray cluster (head:10001: timed out, waited up to 5 s)"


class _Ref:
    def __init__(self, i):
        self.i = i


class _FakeRay(types.ModuleType):
    """The parts of Ray that batch_ray calls, recording them; tasks finish in reverse order."""

    class RayError(Exception):
        pass

    def __init__(self, initialized=False, cpus=6.0, fail_init=None, results=None):
        super().__init__("ray")
        self.calls: list = []
        self.initialized = initialized
        self.cpus, self.fail_init, self.results = cpus, fail_init, results or {}
        self.exceptions = types.SimpleNamespace(RayError=_FakeRay.RayError)
        self.interrupt_after: int | None = None

    def is_initialized(self):
        return self.initialized

    def init(self, **kw):
        self.calls.append(("init", kw))
        if self.fail_init is not None:
            raise self.fail_init

    def shutdown(self):
        self.calls.append(("shutdown",))

    def cluster_resources(self):
        return {} if self.cpus is None else {"CPU": self.cpus}

    def remote(self, **kw):
        self.calls.append(("remote", kw))

        def wrap(fn):
            return types.SimpleNamespace(remote=lambda job, options, threads: self._submit(fn, job, options, threads))

        return wrap

    def _submit(self, fn, job, options, threads):
        self.calls.append(("submit", job.clip, threads))
        return _Ref(int(job.clip))

    def wait(self, pending, num_returns=1, timeout=None):
        if num_returns != 1:
            self.calls.append(("wait all", len(pending), timeout))
            return pending, []
        if self.interrupt_after is not None and len(pending) <= self.interrupt_after:
            raise KeyboardInterrupt
        return [pending[-1]], pending[:-1]

    def get(self, ref):
        r = self.results.get(ref.i, {"clip": str(ref.i), "status": "ok"})
        if isinstance(r, Exception):
            raise r
        return r

    def cancel(self, ref):
        self.calls.append(("cancel", ref.i))


def _use(monkeypatch, fake):
    monkeypatch.setitem(sys.modules, "ray", fake)
    return fake


def test_connect_local_starts_ray_with_the_jobs_cpus(monkeypatch):
    ray = _use(monkeypatch, _FakeRay())
    assert batch_ray.connect("local", 3) is True
    assert ray.calls == [("init", dict(num_cpus=3, include_dashboard=False, logging_level=logging.WARNING,
                                       log_to_driver=False))]
    ray.calls.clear()
    assert batch_ray.connect("local", 2, quiet=True) is True
    assert ray.calls[0][1]["logging_level"] == logging.ERROR


def test_connect_auto_joins_without_a_tcp_check_and_a_remote_address_with_one(monkeypatch):
    ray = _use(monkeypatch, _FakeRay())
    checked = []
    monkeypatch.setattr(batch_ray, "check_reachable", checked.append)
    assert batch_ray.connect("auto", 3) is True and checked == []
    assert ray.calls == [("init", dict(address="auto", logging_level=logging.WARNING, log_to_driver=False))]
    assert batch_ray.connect("ray://head:10001", 3) is True and checked == ["ray://head:10001"]


def test_connect_keeps_a_ray_the_program_started(monkeypatch):
    ray = _use(monkeypatch, _FakeRay(initialized=True))
    assert batch_ray.connect("local", 3) is False and ray.calls == []


def test_connect_failures_are_one_line_and_stop_what_started(monkeypatch):
    ray = _use(monkeypatch, _FakeRay(fail_init=RuntimeError("node did not start\nlong log")))
    with pytest.raises(IGDEError, match=r"^--ray local: Ray did not start: node did not start$"):
        batch_ray.connect("local", 2)
    assert ray.calls[-1] == ("shutdown",)
    ray.fail_init = ConnectionError("")
    with pytest.raises(IGDEError, match=r"^--ray auto: cannot connect to Ray: ConnectionError$"):
        batch_ray.connect("auto", 2)


def _jobs(n):
    return [Job(clip=str(i), color=f"c{i}.mp4", depth=f"d{i}.mkv", output=f"o{i}.mkv") for i in range(n)]


def test_run_ray_rows_in_job_order_and_the_engine_line(monkeypatch):
    ray = _use(monkeypatch, _FakeRay(cpus=6.0))
    seen = []
    rows, engine = batch_ray.run_ray(_jobs(3), {}, "local", 2, 0.5, 0.25,
                                     lambda r, k, n: seen.append((r["clip"], k, n)))
    assert engine == "Ray at local (6 CPUs)"
    assert [r["clip"] for r in rows] == ["0", "1", "2"]
    assert seen == [("2", 1, 3), ("1", 2, 3), ("0", 3, 3)]  # as they finish: counts 1..3 of 3
    assert ("remote", {"num_cpus": 0.5, "num_gpus": 0.25}) in ray.calls
    assert [c for c in ray.calls if c[0] == "submit"] == [("submit", str(i), 1) for i in range(3)]  # >= 1 thread
    assert ray.calls[-1] == ("shutdown",)


def test_run_ray_threads_per_clip_and_a_cluster_without_cpus(monkeypatch):
    ray = _use(monkeypatch, _FakeRay(cpus=None, initialized=True))
    rows, engine = batch_ray.run_ray(_jobs(1), {}, "auto", 2, 2.5, 0, lambda *a: None)
    assert engine == "Ray at auto (0 CPUs)" and [c for c in ray.calls if c[0] == "submit"] == [("submit", "0", 2)]
    assert ("shutdown",) not in ray.calls  # not started here: not stopped


def test_run_ray_a_failed_task_is_a_failed_row_with_the_first_line(monkeypatch):
    jobs = _jobs(2)
    failures = {0: _FakeRay.RayError("worker died\ntraceback"), 1: _FakeRay.RayError(" ")}
    ray = _use(monkeypatch, _FakeRay(results=failures))
    rows, _ = batch_ray.run_ray(jobs, {}, "local", 2, 1, 0, lambda *a: None)
    assert rows[0] == {**summary_row(jobs[0], "failed"), "error": "Ray task failed: worker died"}
    assert rows[1]["error"] == "Ray task failed: RayError" and ray.calls[-1] == ("shutdown",)


def test_run_ray_ctrl_c_cancels_the_pending_tasks_and_gives_them_time(monkeypatch):
    """Each pending task is cancelled, then they get CANCEL_WAIT seconds (some time: not 0) to remove
    their temporary outputs (docs/batch.md: the clips in progress remove their temporary files)."""
    ray = _use(monkeypatch, _FakeRay())
    ray.interrupt_after = 2  # the first of three finishes, then Ctrl-C
    with pytest.raises(KeyboardInterrupt):
        batch_ray.run_ray(_jobs(3), {}, "local", 2, 1, 0, lambda *a: None)
    assert batch_ray.CANCEL_WAIT > 0
    assert ray.calls[-4:] == [("cancel", 0), ("cancel", 1), ("wait all", 2, batch_ray.CANCEL_WAIT), ("shutdown",)]

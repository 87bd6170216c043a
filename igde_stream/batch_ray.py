"""The clips of ``igde-stream batch`` as Ray tasks, one task per whole clip (``batch.run_clip``).

Ray is an optional dependency (``pip install "igde-stream[ray]"``), imported here only. The address:
``local`` starts a private Ray on this machine (``--jobs`` CPUs) and stops it at the end; ``auto``
joins the cluster that ``ray start`` runs on this machine; ``HOST:PORT`` joins a cluster's head
(GCS port, 6379 by default); ``ray://HOST:PORT`` connects through Ray Client (port 10001 by default).
A program that has already called ``ray.init`` keeps its Ray: the tasks run there and it is not
stopped. Before ``ray.init`` meets a remote address, a plain TCP connection to it must succeed within
``CONNECT_TIMEOUT`` seconds; otherwise the batch stops with one line and nothing has been written.
"""

from __future__ import annotations

import logging
import socket
from typing import Any, Sequence

from .batch import Job, OnRow, run_clip, summary_row
from .errors import IGDEError

CONNECT_TIMEOUT = 5.0  # seconds for the TCP check of a remote address
CANCEL_WAIT = 30.0  # seconds a cancelled task gets to remove its temporary output


def _host_port(address: str) -> tuple[str, int]:
    rest = address[len("ray://"):] if address.startswith("ray://") else address
    host, sep, port = rest.rpartition(":")
    if not sep:
        host, port = rest, ("10001" if address.startswith("ray://") else "6379")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise IGDEError(f"--ray {address}: write the address as local, auto, HOST:PORT or ray://HOST:PORT")
    return host.strip("[]"), int(port)


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Raise ``IGDEError`` when no TCP connection to ``address`` opens within ``timeout`` seconds."""
    host, port = _host_port(address)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        why = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise IGDEError(f"--ray {address}: cannot reach the Ray cluster ({host}:{port}: {why}, "
                        f"waited up to {timeout:g} s)") from None


def connect(address: str, cpus: int, quiet: bool = False) -> bool:
    """Start or join Ray; True when this call started it (the caller then shuts it down)."""
    try:
        import ray
    except ImportError:
        raise IGDEError("--ray needs Ray: pip install \"igde-stream[ray]\"") from None
    if ray.is_initialized():
        return False
    level = logging.ERROR if quiet else logging.WARNING
    try:
        if address == "local":
            ray.init(num_cpus=cpus, include_dashboard=False, logging_level=level, log_to_driver=False)
        else:
            if address != "auto":
                check_reachable(address)
            ray.init(address=address, logging_level=level, log_to_driver=False)
    except IGDEError:
        raise
    except Exception as exc:  # noqa: BLE001 - Ray raises bare Exception too (a local node that did not start)
        ray.shutdown()  # whatever part of a local Ray did start
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        what = "Ray did not start" if address == "local" else "cannot connect to Ray"
        raise IGDEError(f"--ray {address}: {what}: {first}") from None
    return True


def run_ray(
    jobs: Sequence[Job], options: dict[str, Any], address: str, workers: int, cpus_per_clip: float,
    gpus_per_clip: float, on_row: OnRow,
) -> tuple[list[dict[str, Any]], str]:
    """Run ``jobs`` as Ray tasks (``cpus_per_clip`` CPUs and ``gpus_per_clip`` GPUs each); rows in job
    order and a line naming the engine. Ctrl-C cancels the tasks (each removes its temporary output)."""
    started = connect(address, workers, quiet=bool(options.get("quiet")))
    import ray

    try:
        cpus = ray.cluster_resources().get("CPU", 0)
        engine = f"Ray at {address} ({cpus:g} CPUs)"
        threads = max(1, int(cpus_per_clip))
        task = ray.remote(num_cpus=cpus_per_clip, num_gpus=gpus_per_clip)(run_clip)
        refs = {task.remote(job, options, threads): i for i, job in enumerate(jobs)}
        rows: dict[int, dict[str, Any]] = {}
        pending = list(refs)
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    i = refs[ref]
                    try:
                        rows[i] = ray.get(ref)
                    except ray.exceptions.RayError as exc:  # the task's worker died, or a node was lost
                        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                        rows[i] = {**summary_row(jobs[i], "failed"), "error": f"Ray task failed: {first}"}
                    on_row(rows[i], len(rows), len(jobs))
        except BaseException:
            for ref in pending:
                ray.cancel(ref)  # KeyboardInterrupt inside the task: enhance_file cleans up
            if pending:
                ray.wait(pending, num_returns=len(pending), timeout=CANCEL_WAIT)
            raise
    finally:
        if started:
            ray.shutdown()
    return [rows[i] for i in range(len(jobs))], engine

"""What the benchmarks share: the stamp and machine facts of a result, the log line, the JSON file."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable


def parse_size(text: str) -> tuple[int, int]:
    """``WxH`` (``X`` too) -> (width, height), both >= 1; ``IGDEError`` (one line) otherwise."""
    from ..errors import IGDEError

    w, sep, h = text.strip().lower().partition("x")
    if not (sep and w.isdigit() and h.isdigit() and int(w) > 0 and int(h) > 0):
        raise IGDEError(f"size {text!r}: use WIDTHxHEIGHT, e.g. 960x540")
    return int(w), int(h)


def counts(text: str, what: str) -> list[int]:
    """A comma-separated list of whole numbers >= 1 (``--batch 1,4``); ``IGDEError`` (one line) otherwise."""
    from ..errors import IGDEError

    items = [t.strip() for t in str(text).split(",")]
    if not all(t.isdigit() and int(t) > 0 for t in items):
        raise IGDEError(f"{what} {text!r}: use whole numbers >= 1, comma-separated, e.g. 1,4")
    return [int(t) for t in items]


def stamp(kind: str, argv: list[str]) -> dict[str, str]:
    """The first keys of a result: ``kind``, ``date`` (local, to the second) and the ``command`` that ran
    (quoted as a shell reads it, so that it runs again as it is)."""
    return {
        "kind": kind,
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": shlex.join(["python", "tools/bench.py", kind, *argv]),
    }


def device_name(device: str | None) -> str:
    """The GPU's name for a ``cuda`` device, else ``CPU <model name>``."""
    if device and device.startswith("cuda"):
        import torch

        return torch.cuda.get_device_name()
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            name = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"CPU {name}"


def versions() -> dict[str, str]:
    """Python's version and those of the installed torch / onnxruntime / onnx / tensorrt / numpy."""
    out = {"python": platform.python_version()}
    for mod in ("torch", "onnxruntime", "onnx", "tensorrt", "numpy"):
        try:
            out[mod] = __import__(mod).__version__
        except Exception:  # not installed or broken: just not listed
            pass
    return out


def loadavg_before_after(before: tuple[float, float, float]) -> list[float]:
    """1-minute load average: ``before`` (``os.getloadavg()`` at the start) and now, rounded."""
    return [round(before[0], 2), round(os.getloadavg()[0], 2)]


def log(s: str) -> None:
    """A progress line, to stderr (stdout carries the table)."""
    print(s, file=sys.stderr, flush=True)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` (folders made) through a temporary file beside it and a rename: a run
    cut short (killed, disk full) leaves the earlier file as it was, never half of the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def save_json(path: str | Path, result: dict[str, Any]) -> None:
    """Write ``result`` as indented JSON to ``path`` (folders made, atomically) and say so."""
    write_text_atomic(path, json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")


def run_or_status(kind: str, run: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any] | None, int]:
    """``run()`` -> (its result, 0); or None and an exit status, the error in one line on stderr
    (``bench KIND: ...``): 2 for the user's mistake (a bad value, a model or file that is not there:
    ``ValueError``, ``FileNotFoundError``), as the commands give it; 1 for a run that failed on its way
    (``RuntimeError``, a timed-out worker; an ``IGDEError`` that is one too: TensorRT's
    ``EngineBuildError``). Any other ``IGDEError`` goes on to ``tools/bench.py``'s ``run_tool``, which
    says it in the commands' words with exit 2; anything else is a bug and keeps its traceback."""
    from ..errors import IGDEError

    try:
        return run(), 0
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"bench {kind}: {exc}", file=sys.stderr)
        return None, 1
    except IGDEError:
        raise
    except (ValueError, FileNotFoundError) as exc:
        print(f"bench {kind}: {exc}", file=sys.stderr)
        return None, 2

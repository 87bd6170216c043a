"""Fuzz the ``igde-stream`` command with mutated copies of a small valid colour / depth pair.

Each case copies a pristine clip (H.264 colour, FFV1 depth, FFV1 ground truth; 8- or 16-bit depth)
into its own folder, damages one of the files (truncated at a random offset, random bytes flipped,
a random run of bytes overwritten, the header cut off, or a tail of bytes appended) and runs the
command on it. Every run must end in one of two ways:

- ``ok``: exit 0, the output is complete (every frame decodes) and holds as many frames as the
  summary says and as FFmpeg decodes from the (damaged) depth file: frames in == frames out;
- ``error``: exit 2 and a one-line message ``igde-stream: error: ...`` as the last line of stderr;

and leave nothing behind: after ``ok`` the folder holds the inputs and the requested outputs, after
``error`` the inputs only (no output, report, ``.igde-part`` / ``.igde-old`` / spool / temp file).
Anything else is a finding: ``traceback`` (an exception escaped, or another exit status), ``hang``
(past the per-run timeout), ``leftover`` (a file the run should not have left), ``partial`` (an
output after a failure, or an output with the wrong frame count or that does not decode).

Cases run in-process through ``igde_stream.cli.main`` (tens of ms each with ``igde-tiny`` on the
PyTorch backend), the timeout raised by SIGALRM in the main thread (which cannot interrupt a wait
inside C code that never returns); ``--subprocess-every K`` also runs every K-th case as a real
``python -m igde_stream`` process, killed at ``--subprocess-timeout``.

    python tools/fuzz.py                        # 1000 cases, seed 0, JSON to results/fuzz.json
    python tools/fuzz.py -n 200 --seed 3 --subprocess-every 50 --out /tmp/fuzz.json
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("truncate", "flip", "overwrite", "cut_header", "append")
TARGETS = ("color", "depth", "gt")
GOOD = ("ok", "error")


class RunTimeout(Exception):
    """Raised in the main thread when an in-process run passes its timeout."""


# ------------------------------------------------------------------------------------------ inputs


def make_base(folder: Path, *, bits: int = 8, frames: int = 6, size: tuple[int, int] = (32, 24)) -> dict[str, Path]:
    """A valid clip (``color.mp4``, ``depth.mkv``, ``gt.mkv``) and an ``igde-tiny`` checkpoint in ``folder``."""
    import torch

    from igde_stream.data import write_clip
    from igde_stream.models import create_model, save_checkpoint

    folder.mkdir(parents=True, exist_ok=True)
    clip = write_clip(folder, frames=frames, size=size, bits=bits)
    (folder / "data.json").unlink(missing_ok=True)
    torch.manual_seed(0)
    model = folder.parent / "igde-tiny.pt"
    if not model.exists():
        save_checkpoint(model, create_model("igde-tiny"))
    return {"color": clip["color"], "depth": clip["depth"], "gt": clip["gt"], "model": model}


def mutate(data: bytes, kind: str, rng: random.Random) -> tuple[bytes, dict[str, Any]]:
    """``data`` damaged one way; the second item says how (offsets, counts) for the record."""
    n = len(data)
    if kind == "truncate":
        k = rng.randrange(0, n)
        return data[:k], {"keep": k}
    if kind == "flip":
        buf = bytearray(data)
        where = sorted(rng.randrange(n) for _ in range(rng.randint(1, 8)))
        for i in where:
            buf[i] ^= rng.randint(1, 255)
        return bytes(buf), {"at": where}
    if kind == "overwrite":
        length = rng.randint(8, 256)
        at = rng.randrange(0, max(1, n - length))
        return data[:at] + rng.randbytes(length) + data[at + length:], {"at": at, "length": length}
    if kind == "cut_header":
        k = rng.randint(1, min(n - 1, 1024))
        return data[k:], {"cut": k}
    if kind == "append":
        length = rng.randint(1, 512)
        return data + rng.randbytes(length), {"length": length}
    raise ValueError(f"unknown mutation {kind!r}")


# ------------------------------------------------------------------------------------------ checks


def decodable_frames(path: Path) -> tuple[int, str | None]:
    """(frames FFmpeg decodes from the first video stream, the error that stopped it or None)."""
    import av

    n = 0
    try:
        with av.open(str(path)) as c:
            for _ in c.decode(c.streams.video[0]):
                n += 1
    except Exception as exc:  # noqa: BLE001 - any failure of a damaged file is an answer here
        return n, f"{type(exc).__name__}: {exc}"
    return n, None


def _argv(case_dir: Path, base: dict[str, Path], with_gt: bool) -> list[str]:
    argv = [str(case_dir / "color.mp4"), str(case_dir / "depth.mkv"), "-o", str(case_dir / "out.mkv"),
            "--model", str(base["model"]), "--backend", "torch", "--device", "cpu", "--batch", "4", "-q"]
    if with_gt:
        argv += ["--gt", str(case_dir / "gt.mkv"), "--report", str(case_dir / "report.json")]
    return argv


def _run_inprocess(argv: list[str], timeout: float) -> tuple[int | None, str, str | None]:
    """(exit status or None, stderr, traceback text or None) of ``igde_stream.cli.main(argv)``."""
    from igde_stream.cli import main

    def on_alarm(signum: int, frame: Any) -> None:
        raise RunTimeout

    err = io.StringIO()
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            rc: int | None = main(argv)
    except RunTimeout:
        return None, err.getvalue(), None
    except SystemExit as exc:  # argparse
        rc = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - an escaped exception is the finding
        return 1, err.getvalue(), traceback.format_exc()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return rc, err.getvalue(), None


def _run_subprocess(argv: list[str], timeout: float) -> tuple[int | None, str, str | None]:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.Popen([sys.executable, "-m", "igde_stream", *argv], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
        return None, err, None
    return proc.returncode, err, ("Traceback" in err) and err or None


def classify(rc: int | None, stderr: str, tb: str | None, case_dir: Path, inputs: set[str],
             outputs: set[str]) -> tuple[str, str]:
    """(outcome, detail) of one finished run; see the module docstring."""
    if rc is None:
        return "hang", "timeout"
    if tb is not None or "Traceback (most recent call last)" in stderr:
        return "traceback", (tb or stderr).strip().splitlines()[-1]
    present = {p.name for p in case_dir.iterdir()}
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    if rc == 2:
        if present - inputs & outputs:
            return "partial", f"failed but left {sorted(present - inputs & outputs)}"
        if present != inputs:
            return "leftover", f"left {sorted(present - inputs)}, missing {sorted(inputs - present)}"
        if not lines or not lines[-1].startswith("igde-stream: error: "):
            return "traceback", f"exit 2 without a one-line error: {lines[-1:] or 'no stderr'}"
        return "error", lines[-1]
    if rc != 0:
        return "traceback", f"exit {rc}: {lines[-1:] or 'no stderr'}"
    if present != inputs | outputs:
        return "leftover", f"left {sorted(present - inputs - outputs)}, missing {sorted(inputs | outputs - present)}"
    n_out, out_err = decodable_frames(case_dir / "out.mkv")
    n_in, in_err = decodable_frames(case_dir / "depth.mkv")
    if out_err is not None:
        return "partial", f"output does not decode after {n_out} frames: {out_err}"
    if n_out != n_in:
        return "partial", f"{n_in} depth frames decode but the output holds {n_out}"
    return "ok", f"{n_out} frames" + (f" (FFmpeg stops on the depth input: {in_err})" if in_err else "")


def run_case(i: int, seed: int, bases: dict[int, dict[str, Path]], work: Path, *, timeout: float,
             subprocess_run: bool = False, subprocess_timeout: float = 180.0,
             keep_failures: Path | None = None) -> dict[str, Any]:
    """Case ``i`` of the seeded sequence: pick a clip, a file and a mutation, run, classify."""
    rng = random.Random(f"igde-fuzz:{seed}:{i}")
    bits = rng.choice(sorted(bases))
    target = rng.choice(TARGETS)
    kind = rng.choice(KINDS)
    with_gt = target == "gt" or rng.random() < 0.3
    rec = run_one(work / f"case{i:05d}", bases[bits], target, kind, rng, with_gt=with_gt,
                  timeout=subprocess_timeout if subprocess_run else timeout, subprocess_run=subprocess_run,
                  keep_failures=keep_failures)
    return {"case": i, "bits": bits, **rec}


def run_one(case_dir: Path, base: dict[str, Path], target: str, kind: str, rng: random.Random, *,
            with_gt: bool, timeout: float, subprocess_run: bool = False,
            keep_failures: Path | None = None) -> dict[str, Any]:
    """Copy ``base`` into the new folder ``case_dir``, damage ``target`` with mutation ``kind``, run the
    command there, classify the run and remove the folder (copied to ``keep_failures`` on a finding)."""
    case_dir.mkdir()
    names = {"color": "color.mp4", "depth": "depth.mkv", "gt": "gt.mkv"}
    for role, name in names.items():
        if role != "gt" or with_gt:
            shutil.copyfile(base[role], case_dir / name)
    damaged, how = mutate(base[target].read_bytes(), kind, rng)
    (case_dir / names[target]).write_bytes(damaged)
    inputs = {p.name for p in case_dir.iterdir()}
    outputs = {"out.mkv"} | ({"report.json"} if with_gt else set())
    argv = _argv(case_dir, base, with_gt)
    t0 = time.monotonic()
    rc, stderr, tb = (_run_subprocess if subprocess_run else _run_inprocess)(argv, timeout)
    seconds = time.monotonic() - t0
    outcome, detail = classify(rc, stderr, tb, case_dir, inputs, outputs)
    detail = detail.replace(f"{case_dir}{os.sep}", "")  # file names only: the folder is temporary
    record = {"target": target, "mutation": kind, "how": how, "with_gt": with_gt,
              "subprocess": subprocess_run, "exit": rc, "outcome": outcome, "detail": detail,
              "seconds": round(seconds, 3)}
    if outcome not in GOOD:
        record["stderr"] = stderr[-4000:]
        if tb:
            record["traceback"] = tb[-4000:]
        if keep_failures is not None:
            shutil.copytree(case_dir, keep_failures / case_dir.name, dirs_exist_ok=True)
    shutil.rmtree(case_dir, ignore_errors=True)
    return record


def fuzz(n: int, seed: int = 0, *, timeout: float = 30.0, subprocess_every: int = 0,
         subprocess_timeout: float = 180.0, work: Path | None = None, keep_failures: Path | None = None,
         log=None) -> dict[str, Any]:
    """Run ``n`` cases; returns the record (every case, counts by outcome / mutation / target)."""
    t0 = time.monotonic()
    own = work is None
    work = Path(tempfile.mkdtemp(prefix="igde-fuzz-")) if own else Path(work)
    try:
        bases = {bits: make_base(work / f"base{bits}", bits=bits) for bits in (8, 16)}
        cases = []
        for i in range(n):
            sub = bool(subprocess_every) and i % subprocess_every == subprocess_every - 1
            rec = run_case(i, seed, bases, work, timeout=timeout, subprocess_run=sub,
                           subprocess_timeout=subprocess_timeout, keep_failures=keep_failures)
            cases.append(rec)
            if log is not None and (rec["outcome"] not in GOOD or (i + 1) % 100 == 0):
                log(f"[{i + 1}/{n}] {rec['target']} {rec['mutation']}: {rec['outcome']}: {rec['detail']}")
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)
    counts: dict[str, dict[str, int]] = {"outcome": {}, "by_mutation": {}, "by_target": {}}
    for rec in cases:
        counts["outcome"][rec["outcome"]] = counts["outcome"].get(rec["outcome"], 0) + 1
        for key, field in (("by_mutation", "mutation"), ("by_target", "target")):
            row = counts[key].setdefault(rec[field], {})
            row[rec["outcome"]] = row.get(rec["outcome"], 0) + 1
    return {"n": n, "seed": seed, "timeout_s": timeout, "subprocess_every": subprocess_every,
            "subprocess_timeout_s": subprocess_timeout,
            "elapsed_s": round(time.monotonic() - t0, 1), "max_case_s": max((c["seconds"] for c in cases), default=0),
            "counts": counts, "findings": [c for c in cases if c["outcome"] not in GOOD], "cases": cases}


def summary_text(rec: dict[str, Any]) -> str:
    lines = [f"{rec['n']} cases, seed {rec['seed']}, {rec['elapsed_s']} s (slowest case {rec['max_case_s']} s)",
             "outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(rec["counts"]["outcome"].items()))]
    for key in ("by_mutation", "by_target"):
        for name, row in sorted(rec["counts"][key].items()):
            lines.append(f"  {name:>10}: " + ", ".join(f"{k} {v}" for k, v in sorted(row.items())))
    errors: dict[str, int] = {}
    for c in rec["cases"]:
        if c["outcome"] == "error":
            msg = c["detail"].split(": ", 3)[-1][:70]
            errors[msg] = errors.get(msg, 0) + 1
    lines.append("most common errors:")
    lines += [f"  {v:4d}  {k}" for k, v in sorted(errors.items(), key=lambda kv: -kv[1])[:8]]
    for f in rec["findings"][:20]:
        lines.append(f"FINDING case {f['case']} ({f['target']} {f['mutation']} {f['how']}): {f['outcome']}: {f['detail']}")
    return "\n".join(lines)


def to_json(rec: dict[str, Any]) -> str:
    """The record as JSON, one line per case (a thousand cases stay readable and small)."""
    head = json.dumps({k: v for k, v in rec.items() if k != "cases"}, indent=1)
    cases = ",\n  ".join(json.dumps(c) for c in rec["cases"])
    return head[:-2] + ',\n "cases": [\n  ' + cases + "\n ]\n}\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python tools/fuzz.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-n", type=int, default=1000, help="cases (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the case sequence (default: %(default)s)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per run (default: %(default)s)")
    p.add_argument("--subprocess-every", type=int, default=0, metavar="K",
                   help="also run every K-th case as a real process (default: 0, none)")
    p.add_argument("--subprocess-timeout", type=float, default=180.0,
                   help="seconds per real process, start-up included (default: %(default)s; a loaded machine "
                        "can take a minute just to import PyTorch)")
    p.add_argument("--out", default=str(ROOT / "results" / "fuzz.json"), help="JSON record (default: %(default)s)")
    p.add_argument("--keep-failures", metavar="DIR", help="copy the folder of every finding here")
    args = p.parse_args(argv)
    keep = Path(args.keep_failures) if args.keep_failures else None
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    rec = fuzz(args.n, args.seed, timeout=args.timeout, subprocess_every=args.subprocess_every,
               subprocess_timeout=args.subprocess_timeout,
               keep_failures=keep, log=lambda s: print(s, flush=True))
    rec["command"] = "python tools/fuzz.py " + " ".join(sys.argv[1:] if argv is None else argv)
    rec["date"] = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    print(summary_text(rec))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(to_json(rec))
    print(f"wrote {out}")
    return 1 if rec["findings"] else 0


if __name__ == "__main__":
    sys.exit(main())

"""A small mutation tester: do the tests notice a wrong number? (no dependency beyond the standard library)

For a module file it parses the source with ``ast`` and makes mutants of the kinds that hide wrong
numbers, one change each:

- arithmetic operator swaps ``+ <-> -`` and ``* <-> /`` (also in ``+=`` ...),
- comparison swaps ``< <-> <=``, ``> <-> >=``, ``== <-> !=``,
- numeric constants ``c -> c + 1``, ``c -> c * 2``, ``c -> 0``,
- ``return x -> return None``

(the mutants are listed by tools/mutants.py).

Each mutant is applied alone to a scratch copy of the repository (a temporary folder; the working tree
is never written), the given test files run there (``python -m pytest -q -x -p no:cacheprovider
FILES``, single-threaded, no bytecode cache, with a timeout), and the mutant counts as killed when
the tests fail or time out, survived when they pass. A baseline run of the unmutated copy must pass
first. Output: a per-module table (module, mutants, killed, survived, kill rate) and, with ``--out``,
a JSON file listing every survivor (line, original, mutant) for the next round of tests.

    python tools/mutate.py --module igde_stream/metrics.py --tests tests/test_metrics.py --max 8 --out /tmp/m.json
    python tools/mutate.py --module igde_stream/metrics.py --list      # the mutants, without running anything

``--fork`` runs each mutant's tests in a forked child of one warm worker process, which imported the
third-party modules (torch, OpenCV, PyAV, ...) once: on a loaded 2-core machine that start-up was most
of a run's time (40 s of a 50 s baseline). The worker's child drops every module of the scratch copy
before it runs pytest in-process, and a second baseline run in a child must pass before any mutant
runs. ``--survivors-of OLD.json`` reruns only the survivors of an earlier run of the same sample
(same ``--max`` / ``--seed``), after tests were added; the killed ones of that run stay killed. The
scratch copy goes where ``tempfile`` puts it: set ``TMPDIR`` to keep it elsewhere than /tmp.

``--module`` and ``--tests`` come in pairs and may repeat (one table row per module). A module may
name the functions / classes to mutate after ``::`` (comma-separated qualified-name prefixes), e.g.
``igde_stream/models/igde.py::SelectionHead,candidate_offsets``. ``--max N`` samples N mutants per
module with a fixed seed (``--seed``), so a run can be repeated exactly.

The campaign (one run, niced, when the machine is free; a few hours on 2 cores):

    nice -n 15 python tools/mutate.py --max 60 --out results/mutation.json \\
        --module igde_stream/losses.py --tests tests/test_losses.py tests/test_select_head.py \\
        --module igde_stream/metrics.py --tests tests/test_metrics.py \\
        --module igde_stream/filters.py --tests tests/test_filters.py \\
        --module igde_stream/multiview.py --tests tests/test_multiview.py \\
        --module igde_stream/enhancer.py --tests tests/test_enhancer.py \\
        --module igde_stream/data/degrade.py --tests tests/test_data.py tests/test_boundary_errors.py \\
        --module igde_stream/data/error_types.py --tests tests/test_boundary_errors.py \\
        --module igde_stream/stream/report.py --tests tests/test_report.py \\
        --module igde_stream/models/igde.py::SelectionHead,candidate_offsets \\
            --tests tests/test_select_head.py tests/test_models.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from mutants import find_mutants  # noqa: E402

COPY_IGNORE = (".git", ".venv", "venv", "runs", "__pycache__", ".pytest_cache", ".benchmarks", "*.pyc", "*.part")

def make_scratch(root: Path) -> Path:
    """A copy of the repository in a new temporary folder (without .git, virtual envs, runs, caches)."""
    scratch = Path(tempfile.mkdtemp(prefix="igde-mutate-"))
    shutil.copytree(root, scratch / "repo", ignore=shutil.ignore_patterns(*COPY_IGNORE), symlinks=True)
    return scratch / "repo"

def _env(scratch: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(PYTHONPATH=str(scratch), PYTHONDONTWRITEBYTECODE="1",  # no stale .pyc of an earlier mutant
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    return env

def run_tests(scratch: Path, tests: list[str], timeout: float) -> tuple[str, float, str]:
    """("passed" | "failed" | "timeout", seconds, last output line) of the tests in the scratch copy."""
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests]
    t0 = time.monotonic()
    # own process group, so that a timeout also ends what the tests started (and nothing else)
    proc = subprocess.Popen(cmd, cwd=scratch, env=_env(scratch), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, 9)
        except ProcessLookupError:
            pass
        proc.communicate()
        return "timeout", time.monotonic() - t0, ""
    lines = (out.strip() or err.strip() or "?").splitlines()
    return ("passed" if proc.returncode == 0 else "failed"), time.monotonic() - t0, lines[-1]

_WORKER = r"""
import json, os, signal, sys, time

scratch = os.path.realpath(sys.argv[1])
os.chdir(scratch)

def ours(mod):
    f = getattr(mod, "__file__", None) or ""
    return os.path.realpath(f).startswith(scratch + os.sep) if f else False

def run(req):
    out = os.path.join(req["tmp"], "worker-%d.log" % os.getpid())
    pid = os.fork()
    if pid == 0:  # child: fresh project modules over the parent's warm third-party imports
        os.setsid()
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        code = 1
        try:
            for name, mod in list(sys.modules.items()):
                if ours(mod):
                    del sys.modules[name]
            import pytest

            code = int(pytest.main(["-q", "-x", "-p", "no:cacheprovider", *req["tests"]]))
            if req.get("warm"):
                with open(req["warm"], "w") as f:
                    json.dump([n for n, m in sys.modules.items() if m is not None and not ours(m)
                               and not n.startswith(("conftest", "test_"))], f)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    t0 = time.monotonic()
    status = None
    while status is None:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = "passed" if os.waitstatus_to_exitcode(st) == 0 else "failed"
        elif time.monotonic() - t0 > req["timeout"]:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
            status = "timeout"
        else:
            time.sleep(0.05)
    try:
        with open(out, errors="replace") as f:
            lines = f.read().strip().splitlines() or ["?"]
        os.unlink(out)
    except OSError:
        lines = ["?"]
    return {"status": status, "seconds": time.monotonic() - t0, "last": lines[-1]}

for line in sys.stdin:
    req = json.loads(line)
    res = run(req)
    if req.get("warm") and res["status"] == "passed":
        for name in json.load(open(req["warm"])):
            try:
                __import__(name)
            except BaseException:
                pass
    print(json.dumps(res), flush=True)
"""

class ForkRunner:
    """``run_tests`` without the interpreter start-up per mutant: one worker process (in the scratch
    copy's environment) imports the third-party modules the tests use once (from a first, baseline
    run in a child), then forks a child per run, which drops every module of the scratch copy and runs
    pytest in-process. A child is its own process group, killed at the timeout. POSIX only."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.tmp = Path(tempfile.mkdtemp(prefix="igde-mutate-worker-"))
        self.proc = subprocess.Popen([sys.executable, "-c", _WORKER, str(scratch)], cwd=scratch, env=_env(scratch),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.warmed = False

    def __call__(self, scratch: Path, tests: list[str], timeout: float) -> tuple[str, float, str]:
        req = {"tests": tests, "timeout": timeout, "tmp": str(self.tmp)}
        if not self.warmed:
            req["warm"] = str(self.tmp / "modules.json")
            self.warmed = True
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        res = json.loads(self.proc.stdout.readline())
        return res["status"], res["seconds"], res["last"]

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

def check_scratch_imports(scratch: Path) -> None:
    code = "import igde_stream, sys; print(igde_stream.__file__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=scratch, env=_env(scratch), capture_output=True,
                         text=True, check=True).stdout.strip()
    if not Path(out).resolve().is_relative_to(scratch.resolve()):
        raise SystemExit(f"mutate: the scratch copy imports igde_stream from {out}, not from {scratch}")

def mutate_module(spec: str, tests: list[str], scratch: Path, args: argparse.Namespace,
                  log=print) -> dict:
    path, _, only = spec.partition("::")
    target = (scratch / path).resolve()
    if not target.is_relative_to(scratch.resolve()) or not target.is_file():
        raise SystemExit(f"mutate: {path}: no such module in the repository")
    src = target.read_bytes()
    mutants = find_mutants(src, tuple(o for o in only.split(",") if o))
    generated = len(mutants)
    if args.max and len(mutants) > args.max:
        mutants = sorted(random.Random(args.seed).sample(mutants, args.max), key=lambda m: m.start)
    result = dict(module=spec, tests=tests, generated=generated, mutants=len(mutants), killed=0, survived=0,
                  timeouts=0, survivors=[], killed_by_kind={}, survived_by_kind={})
    if args.survivors_of:
        # only the survivors of an earlier run of the same sample (after new tests): its killed stay killed
        prev = next((r for r in json.loads(Path(args.survivors_of).read_text())["modules"] if r["module"] == spec), None)
        if prev is None or prev["mutants"] != len(mutants):
            raise SystemExit(f"mutate: {args.survivors_of} has no run of {spec} with this sample (--max / --seed)")
        keys = {(v["line"], v["col"], v["original"], v["mutant"]) for v in prev["survivors"]}
        mutants = [m for m in mutants if (m.line, m.col, m.original, m.mutant) in keys]
        result.update(killed=prev["killed"], timeouts=prev["timeouts"], killed_by_kind=dict(prev["killed_by_kind"]),
                      rerun_of=dict(file=args.survivors_of, killed=prev["killed"], survived=prev["survived"]))
    if args.list:
        for m in mutants:
            log(f"{path}:{m.line}:{m.col} [{m.kind}] {m.describe()}  ({m.where or 'module'})")
        return result
    runner = ForkRunner(scratch) if args.fork else None
    run = runner or run_tests
    try:
        return _mutate_run(run, mutants, result, spec, path, target, src, generated, tests, scratch, args, log)
    finally:
        if runner is not None:
            runner.close()

def _mutate_run(run, mutants, result, spec, path, target, src, generated, tests, scratch, args, log) -> dict:
    status, base_s, last = run(scratch, tests, timeout=args.baseline_timeout)
    if status != "passed":
        raise SystemExit(f"mutate: the tests do not pass on the unmutated code ({status}: {last}); fix that first")
    if isinstance(run, ForkRunner):  # the warm worker must not change the outcome (e.g. a module pre-imported)
        status, base_s, last = run(scratch, tests, timeout=args.baseline_timeout)
        if status != "passed":
            raise SystemExit(f"mutate: the tests fail in a forked child of the warm worker ({status}: {last}); "
                             "run without --fork")
    timeout = args.timeout or max(60.0, 5 * base_s)
    log(f"# {spec}: {generated} mutants, running {len(mutants)}; baseline {base_s:.1f} s, timeout {timeout:.0f} s")
    lines = src.decode().split("\n")
    try:
        for i, m in enumerate(mutants, 1):
            target.write_bytes(m.apply(src))
            status, secs, last = run(scratch, tests, timeout)
            killed = status != "passed"
            kind_counts = result["killed_by_kind" if killed else "survived_by_kind"]
            kind_counts[m.kind] = kind_counts.get(m.kind, 0) + 1
            result["killed" if killed else "survived"] += 1
            result["timeouts"] += status == "timeout"
            if not killed:
                mutated_line = m.apply(src).decode().split("\n")[m.line - 1]
                result["survivors"].append(dict(line=m.line, col=m.col, kind=m.kind, where=m.where,
                                                original=m.original, mutant=m.mutant,
                                                source=lines[m.line - 1].strip(), mutated=mutated_line.strip()))
            log(f"  [{i}/{len(mutants)}] {path}:{m.line} {m.kind} {m.describe()}: "
                f"{'KILLED' if killed else 'survived'} ({status}, {secs:.1f} s)")
    finally:
        target.write_bytes(src)
    result["kill_rate"] = round(result["killed"] / result["mutants"], 3) if result["mutants"] else None
    return result

def table(results: list[dict]) -> str:
    rows = ["| module | mutants | killed | survived | kill rate |", "|---|---|---|---|---|"]
    for r in results:
        rate = "" if r.get("kill_rate") is None else f"{100 * r['kill_rate']:.0f} %"
        rows.append(f"| {r['module']} | {r['mutants']} of {r['generated']} | {r['killed']} | {r['survived']} | {rate} |")
    return "\n".join(rows)

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python tools/mutate.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--module", action="append", required=True,
                   help="module file relative to the repository root, optionally PATH::Qual.Name,other (repeatable)")
    p.add_argument("--tests", action="append", nargs="+", default=[],
                   help="test files for the preceding --module (repeatable, one group per --module)")
    p.add_argument("--max", type=int, default=0, help="sample at most N mutants per module (fixed seed; 0: all)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed (default: %(default)s)")
    p.add_argument("--timeout", type=float, default=0.0,
                   help="seconds per mutant's test run (default: max(60, 5 x the baseline run))")
    p.add_argument("--baseline-timeout", type=float, default=1800.0, help=argparse.SUPPRESS)
    p.add_argument("--out", help="write the results (with every survivor) as JSON here")
    p.add_argument("--label", default="", help="a note stored in the JSON (e.g. 'trial')")
    p.add_argument("--list", action="store_true", help="list the (sampled) mutants and exit; runs nothing")
    p.add_argument("--root", default=str(ROOT), help="repository to copy (default: this one)")
    p.add_argument("--keep", action="store_true", help="keep the scratch copy (its path is printed)")
    p.add_argument("--survivors-of", metavar="JSON",
                   help="rerun only the survivors recorded in JSON (same --max / --seed sample), e.g. after new tests")
    p.add_argument("--fork", action="store_true",
                   help="run the tests in forked children of one warm worker (POSIX; saves the start-up per mutant)")
    return p

def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.list and len(args.tests) != len(args.module):
        print("mutate: give one --tests group per --module", file=sys.stderr)
        return 2
    root = Path(args.root).resolve()
    if args.list:
        for spec in args.module:
            mutate_module(spec, [], root, args)
        return 0
    scratch = make_scratch(root)
    print(f"# scratch copy: {scratch}", flush=True)
    t0 = time.monotonic()
    results = []
    try:
        check_scratch_imports(scratch)
        for spec, tests in zip(args.module, args.tests):
            results.append(mutate_module(spec, tests, scratch, args, log=lambda s: print(s, flush=True)))
    finally:
        if not args.keep:
            shutil.rmtree(scratch.parent, ignore_errors=True)
    print()
    print(table(results))
    if args.out:
        record = dict(label=args.label, command="python tools/mutate.py " + shlex.join(sys.argv[1:] if argv is None else argv),
                      date=dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                      seed=args.seed, max=args.max, elapsed_s=round(time.monotonic() - t0, 1),
                      python=sys.version.split()[0], modules=results)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(record, indent=2) + "\n")
        print(f"wrote {args.out}")
    return 0

if __name__ == "__main__":
    sys.exit(main())

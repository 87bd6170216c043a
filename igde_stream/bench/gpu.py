"""GPU checks for the PyTorch CUDA backend: correctness, speed, FP16 accuracy (``tools/gpu_checks.py``,
``tools/bench.py gpu``).

    PYTHONPATH=. python tools/gpu_checks.py --out "$OUT"            # on the GPU machine (~3-4 min)
    PYTHONPATH=. python tools/gpu_checks.py --device cpu --quick --out /tmp/gc   # smoke run anywhere

1. correctness: CUDA FP32 (TF32 off), FP16 + channels_last and FP16 + CUDA graph (a selection head
   scoring every pixel: the dense form) and, for a selection head, FP16 + channels_last scoring the
   gated pixels only (``sparse``) against the CPU FP32 reference at an odd size and batch 3,
   igde-small and igde-base; max abs difference on [0, 1] depth. A selection head's output is a
   choice among input values, and a near-tie may fall the other way at another precision or
   summation order: there the check is the share of differing pixels (at most 0.1 % in FP32, 1 % in
   FP16) and that every output value is one of the frame's input values. And what
   Enhancer(backend="auto") picks for a checkpoint (PyTorch CUDA expected).
2. FP16 accuracy: per-frame PSNR of FP16 (+ CUDA graph) output against FP32 (TF32 off) output on
   ~40 test frames at 960x540 (igde_stream.data's test split when it exists, else structured random
   frames), min / mean, target >= 50 dB.
3. speed: igde-small and igde-base at 960x540, igde-small at 1920x1080; FP32 (PyTorch default:
   cuDNN may use TF32) vs FP16 + channels_last vs FP16 + channels_last + CUDA graph (+ the sparse
   form for a selection head); batch 1 / 4 / 8; device-resident structured frames (edges and
   textures, not noise: the sparse form's cost follows its share of gated pixels), CUDA events,
   warm-up, median. Plus host-to-host (pinned, non-blocking) for igde-small FP16 + graph and sparse.
4. profile: igde-small at 960x540, batch 4, FP16 dense (candidate by candidate, and "stacked":
   ``TorchOptions(stacked=True)``) and sparse: the operators with the most CUDA time
   (torch.profiler), where a selection head's time goes.
5. compiled: igde-small FP16 + channels_last, ``torch.compile`` + CUDA graph, at 960x540 batch 8
   only (one compile, about a minute): compile time, speed, and the FP16 PSNR step's rows against
   FP32 on the same frames.

Results go to OUT/gpu_checks.json and OUT/gpu_checks.md, rewritten after every step, so a run cut
short still leaves what it measured. Weights: the shipped ones where present, else a seeded random
init (stated in the output); the modes, models and frames: ``gpu_setup``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import platform
import statistics
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import torch

from igde_stream.backends.torch_backend import TorchBackend
from igde_stream.bench.gpu_report import Report, fmt
from igde_stream.bench.gpu_setup import MODES, device_frames, load, run_frames, set_tf32, test_frames
from igde_stream.bench.infer import structured_frames, time_cuda, time_host, to_inputs
from igde_stream.metrics import psnr
from igde_stream.models import weights_hash
from igde_stream.models.selection import chooses_input

SELECT_ONLY = ("fp16+cl+sparse",)  # modes that differ from another only for a selection head
COMPILED = dict(precision="fp16", channels_last=True, compile=True, cuda_graph=True)
PROFILED = ("fp16+cl", "fp16+cl stacked", "fp16+cl+sparse")


def modes_for(model: torch.nn.Module, device: str) -> dict[str, dict[str, Any]]:
    """The modes worth running for ``model`` on ``device`` (FP32 alone on the CPU)."""
    if device != "cuda":
        return {"fp32": MODES["fp32"]}
    return {k: v for k, v in MODES.items() if chooses_input(model) or k not in SELECT_ONLY}


def picked_check(out: np.ndarray, ref: np.ndarray, depth: np.ndarray) -> tuple[float, bool]:
    """(share of pixels that differ from ``ref``, whether every output value is one of its frame's
    input depth values): the checks of an output chosen among input values."""
    differ = float(np.mean(out != ref))
    inputs = all(np.isin(out[i], depth[i]).all() for i in range(len(out)))
    return differ, bool(inputs)


TARGETS = {("igde-small", 960, 540): 200.0, ("igde-base", 960, 540): 30.0}


def correctness(rep: Report, models: dict[str, torch.nn.Module], device: str, n: int, h: int, w: int) -> None:
    color, depth = to_inputs(*structured_frames(n, h, w, seed=7))
    for name, model in models.items():
        with torch.inference_mode():
            ref = model(torch.from_numpy(color), torch.from_numpy(depth)).numpy()
        for mode, opts in modes_for(model, device).items():
            set_tf32(False)
            b = TorchBackend(model=model, device=device, **opts)
            out = b.run(color, depth)
            out2 = b.run(color, depth)  # second call: graph replay
            diff = float(np.abs(out - ref).max())
            row = dict(model=name, mode=mode, size=f"{w}x{h}x{n}", max_abs_diff=diff,
                       replay_identical=bool(np.array_equal(out, out2)))
            if chooses_input(model):
                row["differ"], row["from_input"] = picked_check(out, ref, depth)
                row["limit"] = 1e-3 if opts["precision"] == "fp32" else 1e-2
                row["ok"] = row["differ"] <= row["limit"] and row["from_input"] and row["replay_identical"]
                print(f"correctness {name} {mode}: {row['differ']:.3%} of pixels differ (limit {row['limit']:.1%}), "
                      f"values from the input: {row['from_input']}, max abs diff {diff:.2e}", flush=True)
            else:
                row["limit"] = 1e-4 if opts["precision"] == "fp32" else 2e-2
                row["ok"] = bool(diff <= row["limit"])
                print(f"correctness {name} {mode}: max abs diff {diff:.2e} (limit {row['limit']:.0e})", flush=True)
            rep.data["correctness"].append(row)
            del b
    set_tf32(True)
    rep.save()


def auto_choice(rep: Report, model: torch.nn.Module, device: str) -> None:
    """Enhancer(backend="auto") on a checkpoint: which backend it takes here, and that it runs."""
    import tempfile

    from igde_stream.enhancer import Enhancer
    from igde_stream.models import save_checkpoint

    with tempfile.TemporaryDirectory() as tmp:
        save_checkpoint(Path(tmp) / "m.pt", model)
        e = Enhancer(str(Path(tmp) / "m.pt"), batch=2, quiet=True)
        color, depth = structured_frames(3, 45, 61, seed=5)
        out = e.enhance(color, depth)
    rep.data["auto"] = dict(backend=e.backend_name, description=e.backend_description, reason=e.backend_reason,
                            ok=bool(out.shape == depth.shape and (device != "cuda" or e.backend_name == "torch")))
    print(f"auto: {e.backend_description} ({e.backend_reason})", flush=True)
    rep.save()


def fp16_psnr(rep: Report, models: dict[str, torch.nn.Module], device: str, frames: int, h: int, w: int, batch: int) -> None:
    color, depth, source = test_frames(frames, h, w)
    rep.data["meta"]["frames"] = source
    def run_all(model: torch.nn.Module, mode: str) -> np.ndarray:
        return run_frames(TorchBackend(model=model, device=device, **MODES[mode]), color, depth, batch)

    for name, model in models.items():
        set_tf32(False)
        ref = run_all(model, "fp32")
        set_tf32(True)
        for mode in [m for m in modes_for(model, device) if m in ("fp16+cl+graph", "fp16+cl+sparse")] or ["fp32"]:
            psnr_row(rep, name, mode, run_all(model, mode), ref, chooses_input(model))


def psnr_row(rep: Report, name: str, mode: str, out: np.ndarray, ref: np.ndarray, chosen: bool) -> None:
    """One row of FP16 (or another mode) output ``out`` against the FP32 reference ``ref``."""
    frames = len(out)
    p = [psnr(out[i], ref[i], 1.0) for i in range(frames)]
    q = lambda x: np.rint(np.clip(x, 0, 1) * 255)  # noqa: E731  what Enhancer writes for 8-bit depth
    p8 = [psnr(q(out[i]), q(ref[i]), 255.0) for i in range(frames)]
    mse = statistics.fmean(10 ** (-v / 10) for v in p)
    mse8 = statistics.fmean(255.0**2 * 10 ** (-v / 10) if math.isfinite(v) else 0.0 for v in p8)
    row = dict(model=name, mode=mode, frames=frames, size=f"{out.shape[-1]}x{out.shape[-2]}", min_db=min(p),
               mean_db=10 * math.log10(1 / mse) if mse > 0 else math.inf,
               min_db_u8=min(p8), mean_db_u8=10 * math.log10(255.0**2 / mse8) if mse8 > 0 else math.inf,
               per_frame_db=p, ok=bool(min(p) >= 50.0))
    if chosen:  # an output chosen among input values: the share of pixels chosen otherwise
        row["differ"] = float(np.mean(out != ref))
    rep.data["psnr"].append(row)
    print(f"psnr {name} {mode} vs fp32: min {row['min_db']:.1f} dB, mean {row['mean_db']:.1f} dB "
          f"(8-bit: min {fmt(row['min_db_u8'])}, mean {fmt(row['mean_db_u8'])})"
          + (f", {row['differ']:.3%} of pixels differ" if chosen else ""), flush=True)
    rep.save()


def speed(rep: Report, models: dict[str, torch.nn.Module], device: str, plan: list[tuple[str, int, int]],
          batches: list[int], iters: int, warmup: int, deadline: float) -> None:
    for name, w, h in plan:
        model = models[name]
        fp32_fps: dict[int, float] = {}
        for mode, opts in modes_for(model, device).items():
            if time.monotonic() > deadline:
                rep.data["skipped"].append(f"{name} {w}x{h} {mode}: time budget spent")
                continue
            if device == "cuda":
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
            b = TorchBackend(model=model, device=device, **opts)
            for n in batches:
                if time.monotonic() > deadline:
                    rep.data["skipped"].append(f"{name} {w}x{h} {mode} b{n}: time budget spent")
                    continue
                try:
                    c, d = device_frames(n, h, w, device)
                    fn = lambda b=b: b.forward(c, d)  # noqa: E731
                    if device == "cuda":
                        times = time_cuda(fn, warmup=warmup, iters=iters, max_time=15)
                        peak = torch.cuda.max_memory_allocated() / 2**20
                    else:
                        times = time_host(fn, warmup=warmup, iters=iters)
                        peak = float("nan")
                except torch.cuda.OutOfMemoryError as exc:
                    rep.data["errors"].append(f"{name} {w}x{h} {mode} b{n}: out of memory ({exc})")
                    torch.cuda.empty_cache()
                    continue
                med = statistics.median(times)
                fps = n / med
                if mode == "fp32":
                    fp32_fps[n] = fps
                row = dict(model=name, size=f"{w}x{h}", mode=mode, batch=n, ms_per_frame=1000 * med / n, fps=fps,
                           x_fp32=fps / fp32_fps[n] if n in fp32_fps else None, peak_mb=peak, iters=len(times),
                           target_fps=TARGETS.get((name, w, h)))
                rep.data["speed"].append(row)
                print(f"speed {name} {w}x{h} {mode} b{n}: {row['ms_per_frame']:.2f} ms/frame, {fps:.1f} fps", flush=True)
            if mode in ("fp16+cl+graph", "fp16+cl+sparse") and name == "igde-small" and (w, h) == (960, 540) and time.monotonic() < deadline:
                for n in (4, 8) if 8 in batches else batches[-1:]:  # host to host: pinned buffers, non-blocking copies
                    cn, dn = to_inputs(*structured_frames(n, h, w, seed=3))
                    times = time_host(lambda b=b: b.run(cn, dn), warmup=warmup, iters=iters)
                    med = statistics.median(times)
                    rep.data["speed"].append(dict(model=name, size=f"{w}x{h}", mode=mode + " host", batch=n,
                                                  ms_per_frame=1000 * med / n, fps=n / med, x_fp32=None,
                                                  peak_mb=float("nan"), iters=len(times), target_fps=None))
                    print(f"speed {name} {w}x{h} {mode} host b{n}: {1000 * med / n:.2f} ms/frame", flush=True)
            del b
            rep.save()


def profile(rep: Report, model: torch.nn.Module, name: str, device: str, w: int, h: int, n: int, top: int = 12) -> None:
    """The operators with the most CUDA (or CPU) self time in ``model``'s forward pass, per mode, on
    structured frames. Only the operator entries count: a CUDA kernel also has an entry of its own,
    whose time its operator already holds."""
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    cuda = device == "cuda"
    modes = {"fp16+cl stacked": dict(MODES["fp16+cl"], stacked=True), **MODES}
    for mode in [m for m in PROFILED if cuda and (chooses_input(model) or m == "fp16+cl")] or ["fp32"]:
        b = TorchBackend(model=model, device=device, **modes[mode])
        c, d = device_frames(n, h, w, device)
        reps = 3
        for _ in range(2):
            b.forward(c, d)
        acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
        with torch_profile(activities=acts) as prof:
            for _ in range(reps):
                b.forward(c, d)
            if cuda:
                torch.cuda.synchronize()
        del b
        key = "self_device_time_total" if cuda else "self_cpu_time_total"
        events = [e for e in prof.key_averages() if e.device_type == DeviceType.CPU and getattr(e, key, 0) > 0]
        total = sum(getattr(e, key) for e in events) or 1.0
        frames = reps * n
        ops = [dict(name=e.key, calls_per_frame=e.count / frames, ms_per_frame=getattr(e, key) / 1000 / frames,
                    share=getattr(e, key) / total) for e in sorted(events, key=lambda e: -getattr(e, key))[:top]]
        rep.data.setdefault("profile", []).append(dict(model=name, size=f"{w}x{h}", mode=mode, batch=n,
                                                       clock="CUDA" if cuda else "CPU",
                                                       ms_per_frame=total / 1000 / frames, ops=ops))
        print(f"profile {name} {mode} b{n}: {total / 1000 / frames:.2f} ms per frame; top: "
              + ", ".join(f"{o['name']} {o['share']:.0%}" for o in ops[:4]), flush=True)
        rep.save()


def compiled(rep: Report, model: torch.nn.Module, name: str, device: str, frames: int, h: int, w: int, n: int,
             iters: int, warmup: int) -> None:
    """The ``compile`` option at one shape: the first call's time (the compile), speed on structured
    frames, and accuracy against FP32 on the FP16 PSNR step's frames."""
    color, depth, _ = test_frames(frames - frames % n or n, h, w)
    if device == "cuda":  # its own peak, as every speed row's (not the largest of the steps before)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    b = TorchBackend(model=model, device=device, **COMPILED)
    t0 = time.monotonic()
    b.run(*to_inputs(color[:n], depth[:n]))
    rep.data["compile"] = dict(model=name, size=f"{w}x{h}", batch=n, first_call_s=time.monotonic() - t0,
                               description=b.description)
    print(f"compiled {name}: first call (compile + capture) {rep.data['compile']['first_call_s']:.1f} s", flush=True)
    c, d = device_frames(n, h, w, device)
    times = time_cuda(lambda: b.forward(c, d), warmup=warmup, iters=iters, max_time=15)
    med = statistics.median(times)
    rep.data["speed"].append(dict(model=name, size=f"{w}x{h}", mode="fp16+cl+compile+graph", batch=n,
                                  ms_per_frame=1000 * med / n, fps=n / med, x_fp32=None,
                                  peak_mb=torch.cuda.max_memory_allocated() / 2**20, iters=len(times),
                                  target_fps=TARGETS.get((name, w, h))))
    print(f"speed {name} {w}x{h} compiled b{n}: {1000 * med / n:.2f} ms/frame, {n / med:.1f} fps", flush=True)
    out = run_frames(b, color, depth, n)
    set_tf32(False)
    ref = run_frames(TorchBackend(model=model, device=device, **MODES["fp32"]), color, depth, n)
    set_tf32(True)
    psnr_row(rep, name, "fp16+cl+compile+graph", out, ref, chooses_input(model))
    if chooses_input(model):
        rep.data["psnr"][-1]["from_input"] = picked_check(out, ref, to_inputs(color, depth)[1])[1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="directory for gpu_checks.json / gpu_checks.md")
    p.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    p.add_argument("--quick", action="store_true", help="smoke run: tiny sizes on CPU, few iterations")
    p.add_argument("--budget-s", type=float, default=150.0, help="stop starting new speed rows after this (default: %(default)s)")
    args = p.parse_args(argv)
    t0 = time.monotonic()
    if args.device == "cuda" and not torch.cuda.is_available():
        print("gpu_checks: PyTorch sees no CUDA GPU (use --device cpu for a smoke run)", file=sys.stderr)
        return 2
    cuda = args.device == "cuda"
    if cuda:
        torch.backends.cudnn.benchmark = True
    notes: list[str] = []
    models = {name: load(name, notes) for name in ("igde-small", "igde-base")}
    meta = dict(
        command="PYTHONPATH=. python tools/gpu_checks.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        date=dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        device_name=torch.cuda.get_device_name() if cuda else f"CPU ({platform.machine()})",
        torch=torch.__version__, cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version() if cuda else None,
        python=platform.python_version(), quick=args.quick, notes=notes,
        weights_hash={k: weights_hash(m) for k, m in models.items()},
    )
    rep = Report(Path(args.out), meta)
    if args.quick and not cuda:
        corr, ps, plan, batches, iters, warm = (3, 29, 37), (4, 48, 64, 2), [("igde-small", 64, 48)], [1, 2], 2, 1
    elif args.quick:
        corr, ps, plan, batches, iters, warm = (3, 67, 93), (8, 540, 960, 4), [("igde-small", 960, 540)], [1, 4], 5, 2
    else:
        corr, ps = (3, 67, 93), (40, 540, 960, 4)
        plan, batches, iters, warm = [("igde-small", 960, 540), ("igde-base", 960, 540), ("igde-small", 1920, 1080)], [1, 4, 8], 20, 3
    deadline = t0 + args.budget_s
    steps = [
        ("correctness", lambda: correctness(rep, models, args.device, *corr)),
        ("auto", lambda: auto_choice(rep, models["igde-small"], args.device)),
        ("fp16 psnr", lambda: fp16_psnr(rep, models if not args.quick else {"igde-small": models["igde-small"]},
                                         args.device, *ps)),
        ("speed", lambda: speed(rep, models, args.device, plan, batches, iters, warm, deadline)),
        ("profile", lambda: profile(rep, models["igde-small"], "igde-small", args.device,
                                    *((960, 540, 4) if cuda else (64, 48, 1)))),
    ]
    if cuda:
        steps.append(("compiled", lambda: compiled(rep, models["igde-small"], "igde-small", args.device,
                                                   ps[0], ps[1], ps[2], 8 if not args.quick else 4, iters, warm)))
    for label, step in steps:
        try:
            step()
        except Exception as exc:  # keep going: later steps still produce figures
            rep.data["errors"].append(f"{label}: {exc!r}")
            traceback.print_exc()
        rep.save()
    rep.data["meta"]["elapsed_s"] = round(time.monotonic() - t0, 1)
    rep.save()
    print(rep.markdown())
    ok = all(r["ok"] for r in rep.data["correctness"] + rep.data["psnr"] + [rep.data.get("auto", {"ok": False})])
    ok = ok and not rep.data["errors"]
    print(f"gpu_checks: {'all checks passed' if ok else 'SOME CHECKS FAILED'} in {rep.data['meta']['elapsed_s']} s; "
          f"wrote {args.out}/gpu_checks.json and .md")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

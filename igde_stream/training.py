"""Training recipe (paper section 4): Adam, lr 1e-4, random crops of synthetic scenes, inputs / 255,
total loss (5) = a L_depth + b L_focal + c L_sobel.

``train(TrainConfig(...))`` is the library entry point (``tools/train.py`` only parses arguments); it
accepts any registered model name, since every registered model has ``forward(color, depth)`` with
both in [0, 1]. Crops come from scenes generated in DataLoader worker processes (train split seeds);
validation runs on a fixed batch from the validation split. The run folder gets ``config.json``,
``log.csv`` (one row per log interval, validation columns filled when validated), ``last.pt``
(every ``ckpt_every`` steps and at the end: config + weights + optimizer state + step) and
``best.pt`` (best validation PSNR). All files are written atomically.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import shlex
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch

from .data.cache import CachedCrops, load_or_build_cache
from .data.dataset import SyntheticCrops, validation_set
from .evaluation import score_frames, summarize
from .losses import distill_loss, igde_loss, selection_loss
from .models import build_model, create_model, load_checkpoint, read_checkpoint, save_checkpoint
from .models.layout import grow_growth_channels, grow_radius
from .models.igde import SelectionHead
from .run_log import LOG_COLUMNS, best_of, cut_log, log_final, progress_bar
from .train_config import TrainConfig

__all__ = ["TrainConfig", "TrainSetupError", "train", "validate", "calibrate_gate", "LOG_COLUMNS"]


class TrainSetupError(ValueError):
    """The run cannot start: the model to train or fine-tune cannot be had, or a setting does not fit
    it. Raised before anything is written."""


def _amp_dtype(cfg: TrainConfig, device: torch.device) -> torch.dtype | None:
    if cfg.amp == "none" or (cfg.amp == "auto" and device.type != "cuda"):
        return None
    if cfg.amp == "fp16":
        return torch.float16
    return torch.bfloat16


@torch.no_grad()
def validate(model: torch.nn.Module, batch: tuple[torch.Tensor, ...], device: torch.device,
             amp: torch.dtype | None = None, chunk: int = 4) -> dict[str, float]:
    """PSNR, PSNRt, PSNRf, SSIM, RMSE of ``model`` on a uint8 validation batch (8-bit rounded)."""
    was_training = model.training
    model.eval()
    color, dep, gt = batch
    preds = []
    for s in range(0, len(gt), chunk):
        c = color[s:s + chunk].to(device).float() / 255.0
        d = dep[s:s + chunk].to(device).float() / 255.0
        ctx = torch.autocast(device.type, dtype=amp) if amp is not None else nullcontext()
        with ctx:
            y = model(c, d)
        preds.append(torch.round(y.float().clamp(0, 1) * 255).to(torch.uint8).cpu())
    model.train(was_training)
    p = torch.cat(preds)[:, 0].numpy()
    row = summarize([score_frames(list(p), list(gt[:, 0].numpy()), list(dep[:, 0].numpy()), 255.0, False)])
    return {k: row[k] for k in ("psnr", "psnr_t", "psnr_f", "ssim", "rmse")}


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n")
    tmp.replace(path)


def _worker_init(_: int) -> None:
    torch.set_num_threads(1)


def _progress(cfg: TrainConfig, step: int, start_time: float, prior_s: float = 0.0) -> float:
    """Fraction of the budget used: steps (total) or time, whichever is further. The time budget is
    this invocation's (``minutes``) on top of the ``prior_s`` seconds a resumed run had trained: the
    schedules (learning rate, MSE warm-up, temperature, hard start) go on from where they were and
    end with this invocation, instead of starting over."""
    progress = 0.0
    if cfg.steps is not None:
        progress = step / cfg.steps
    if cfg.minutes is not None:
        progress = max(progress, (prior_s + time.perf_counter() - start_time) / (prior_s + 60 * cfg.minutes))
    return min(1.0, progress)


def _lr(cfg: TrainConfig, progress: float) -> float:
    if cfg.lr_schedule == "constant":
        return cfg.lr
    return cfg.lr * 0.5 * (1 + math.cos(math.pi * progress))


def _l2(cfg: TrainConfig, progress: float) -> float:
    """Share w of the MSE warm-up term (1 at the start, 0 after ``l2_warmup``)."""
    if cfg.l2_weight <= 0 or cfg.l2_warmup <= 0:
        return 0.0
    return max(0.0, 1.0 - progress / cfg.l2_warmup)


def _build(cfg: TrainConfig) -> tuple[torch.nn.Module, dict[str, Any] | None]:
    """The model (fresh, from a checkpoint file to fine-tune, or resumed) and the resume payload."""
    if cfg.resume:
        path = Path(cfg.out) / "last.pt" if cfg.resume == "auto" else Path(cfg.resume)
        model, payload = read_checkpoint(path)
        if "optimizer" not in payload or "step" not in payload:
            raise ValueError(f"{path}: has no optimizer state / step; cannot resume from it")
        return model, payload
    if Path(cfg.model).suffix == ".pt":
        model = load_checkpoint(cfg.model)
        if cfg.overrides:  # settings that keep the weights' shapes, e.g. passes or gate_threshold
            model = _with_settings(model, cfg.overrides, cfg.model, "; start from the model name instead", grow=True)
        return model, None
    model = create_model(cfg.model, **cfg.overrides)
    head = getattr(model, "head", None)
    if isinstance(head, torch.nn.Conv2d) and getattr(model.config, "residual", False):
        with torch.no_grad():
            head.weight.mul_(cfg.head_init_scale)
            if head.bias is not None:
                head.bias.mul_(cfg.head_init_scale)
    return model, None


def _with_settings(model: torch.nn.Module, overrides: dict[str, Any], source: Any, hint: str = "",
                   grow: bool = False) -> torch.nn.Module:
    """``model`` rebuilt with config ``overrides`` that keep its weights (passes, gate_threshold, ...);
    ``ValueError`` naming ``source`` when they change their shapes, except: ``full_convs`` may grow
    and ``global_context`` may be set on a model without it (new layers zero), and with ``grow`` (to
    train on, not to ship) ``g`` and a select head's ``radius`` (``models.layout.grow_growth_channels``,
    ``grow_radius``)."""
    if grow:
        overrides = dict(overrides)
        if overrides.get("radius", model.config.radius) != model.config.radius:
            model = grow_radius(model, int(overrides.pop("radius")))
        if overrides.get("g", model.config.g) != model.config.g:
            g = int(overrides.pop("g"))
            if g < model.config.g:
                raise ValueError(f"overrides: g {model.config.g} -> {g} would drop trained channels of {source}")
            model = grow_growth_channels(model, g)
        if not overrides:
            return model
    tuned = build_model(dataclasses.replace(model.config, **overrides))
    changed = ValueError(f"overrides {sorted(overrides)} change the weights of {source}{hint}")
    try:
        missing, unexpected = tuned.load_state_dict(model.state_dict(), strict=False)
    except RuntimeError:  # a shape differs
        raise changed from None
    # only new zero-initialised layers (full_convs, global_context) may be missing
    if unexpected or any(not k.startswith(("full_res.", "context.")) for k in missing):
        raise changed
    tuned.variant = getattr(model, "variant", None)
    return tuned


def _teacher(cfg: TrainConfig, model: torch.nn.Module) -> torch.nn.Module | None:
    """The frozen teacher of ``cfg.distill`` in eval mode, or None; ``ValueError`` when it is not a model
    with ``model``'s selection head (candidates, gate or none)."""
    if not cfg.distill:
        return None
    if not isinstance(getattr(model, "head", None), SelectionHead):
        raise ValueError("distill needs a soft or select model to train")
    path = Path(cfg.distill)
    teacher = load_checkpoint(path) if path.suffix == ".pt" else create_model(cfg.distill, pretrained=True)
    head = getattr(teacher, "head", None)
    if not isinstance(head, SelectionHead) or head.offsets != model.head.offsets or head.gate != model.head.gate:
        raise ValueError(f"distill: {cfg.distill} is not a select model with the candidates of the model trained")
    for prm in teacher.parameters():
        prm.requires_grad_(False)
    return teacher.eval()


def train(cfg: TrainConfig, invocation: str | None = None) -> Path:
    """Train per ``cfg``; returns the path of the final checkpoint (``<out>/last.pt``).
    ``invocation``: this command line, recorded under ``resumed_with`` when it resumes a run (the
    run's own command stays ``command``). A KeyboardInterrupt in the steps saves ``last.pt`` and
    carries its step as ``saved_step`` and the seconds this invocation trained as ``saved_seconds``."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = torch.device(cfg.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TrainSetupError(f"device {cfg.device} asked for, but PyTorch sees no CUDA GPU (use --device cpu)")
    torch.manual_seed(cfg.seed)
    try:
        model, payload = _build(cfg)
    except (ValueError, FileNotFoundError) as e:
        raise TrainSetupError(str(e)) from e
    try:
        teacher = _teacher(cfg, model)
    except (ValueError, FileNotFoundError) as e:
        raise TrainSetupError(str(e)) from e
    if cfg.flip_train:
        if not getattr(model.config, "flip_average", False):
            raise TrainSetupError(f"flip_train needs a model with flip_average=True ({cfg.model} has none; "
                                  "add --override flip_average=True)")
        model.flip_train = True
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    step = int(payload["step"]) if payload else 0
    prior_s = float(payload.get("elapsed_s", 0.0)) if payload else 0.0
    best = float(payload.get("best_val_psnr", -math.inf)) if payload else -math.inf
    if payload and (out / "best.pt").is_file():  # saved after last.pt, before the run stopped: it counts
        best = max(best, best_of(out / "best.pt"))
    model = model.to(device).train()
    if teacher is not None:
        teacher = teacher.to(device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    if payload:
        opt.load_state_dict(payload["optimizer"])
    amp = _amp_dtype(cfg, device)
    scaler = torch.amp.GradScaler("cuda") if amp == torch.float16 else None
    a, b, c = cfg.loss_weights

    record = {"train_config": dataclasses.asdict(cfg), "data": cfg.data_params(),
              "command": cfg.command or " ".join(sys.argv)}
    if payload:  # the commands that resumed the run, after its own
        record["resumed_with"] = [*payload.get("resumed_with", []), invocation or "python " + shlex.join(sys.argv)]
    _write_json(out / "config.json", record)
    cc = cfg.crop_config()
    val = validation_set(cfg.val_crop_config(), cfg.val_samples, cfg.val_size)
    if cfg.cache_scenes:
        loader = CachedCrops(load_or_build_cache(cfg.cache_config(), cfg.cache_dir, max(cfg.workers, 1),
                                                 cfg.progress), cfg.batch, seed=cfg.seed * 1_000_003 + step)
    else:
        # epoch = starting step: a resumed run draws new scenes instead of repeating the first ones
        loader = torch.utils.data.DataLoader(
            SyntheticCrops(cc, seed=cfg.seed, epoch=step), batch_size=cfg.batch, num_workers=cfg.workers,
            pin_memory=device.type == "cuda", worker_init_fn=_worker_init if cfg.workers else None,
            prefetch_factor=4 if cfg.workers else None, persistent_workers=False,
        )
    selecting = isinstance(getattr(model, "head", None), SelectionHead)
    gated = selecting and bool(getattr(model.head, "gate", False))

    log_path = out / "log.csv"
    new_log = not (log_path.exists() and payload)
    if not new_log:  # rows logged after the checkpoint are trained again: drop them, not log them twice
        cut_log(log_path, step)
    log_f = open(log_path, "w" if new_log else "a", newline="")
    log = csv.writer(log_f)
    if new_log:
        log.writerow(LOG_COLUMNS)

    def save(path: Path, val_metrics: dict[str, float] | None) -> None:
        save_checkpoint(path, model, optimizer=opt.state_dict(), step=step, best_val_psnr=best,
                        val=val_metrics or {}, elapsed_s=prior_s + time.perf_counter() - t_start, **record)

    start_step = step
    t_start = time.perf_counter()
    t_log, n_log, loss_acc = t_start, 0, torch.zeros((), device=device)
    last_val: dict[str, float] | None = None
    bar = progress_bar(cfg.steps, step, cfg.progress)
    try:
        it = iter(loader)
        while True:
            if cfg.steps is not None and step >= cfg.steps:
                break
            if cfg.minutes is not None and time.perf_counter() - t_start >= 60 * cfg.minutes:
                break
            col, dep, gt = (x.to(device, non_blocking=True) for x in next(it))
            col = col.float().div_(255.0)
            dep = dep.float().div_(255.0)
            gt = gt.float().div_(255.0)
            if device.type == "cuda":
                col = col.contiguous(memory_format=torch.channels_last)
            progress = _progress(cfg, step, t_start, prior_s)
            lr = _lr(cfg, progress)
            l2w = _l2(cfg, progress)
            for g in opt.param_groups:
                g["lr"] = lr
            ctx = torch.autocast(device.type, dtype=amp) if amp is not None else nullcontext()

            def out_loss(pred: torch.Tensor) -> torch.Tensor:
                pred = pred.float()
                if l2w >= 1.0:
                    return cfg.l2_weight * (pred - gt).pow(2).mean()
                loss = igde_loss(pred, gt, dep, a, b, c)
                if l2w > 0:
                    loss = (1.0 - l2w) * loss + l2w * cfg.l2_weight * (pred - gt).pow(2).mean()
                return loss

            if selecting:
                k = int(round(cfg.refine_share * dep.shape[0])) if gated else 0
                if k:  # the first k samples start from the model's own hard output: what pass 2 sees
                    with torch.no_grad(), ctx:
                        dep = torch.cat([model.head.hard(model.select_logits(col[:k], dep[:k]), dep[:k]).float(),
                                         dep[k:]])
                with ctx:
                    logits = model.select_logits(col, dep)
                hard = cfg.hard_share if progress >= cfg.hard_start else 0.0
                temp = cfg.temperature_start * (cfg.temperature_end / cfg.temperature_start) ** progress
                loss = logits.sum() * 0.0 if not cfg.supervised_weight else cfg.supervised_weight * selection_loss(
                    model.head, logits.float(), dep, gt, out_loss, temperature=temp, hard_share=hard,
                    gate_weight=cfg.gate_weight, ce_weight=cfg.ce_weight, gate_target=cfg.gate_target)
                if teacher is not None:
                    with torch.no_grad(), ctx:
                        target = teacher.select_logits(col, dep)
                    loss = loss + cfg.distill_weight * distill_loss(model.head, logits, target, dep, temp)
            else:
                with ctx:
                    pred = model(col, dep)
                loss = out_loss(pred)
            opt.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
            else:
                loss.backward()
                opt.step()
            step += 1
            n_log += 1
            loss_acc += loss.detach()
            bar.update(1)
            do_val = step % cfg.val_every == 0
            if do_val or step % cfg.log_every == 0:
                mean_loss = float(loss_acc) / n_log
                if not math.isfinite(mean_loss):
                    raise FloatingPointError(f"loss is {mean_loss} at step {step}")
                now = time.perf_counter()
                row: list[Any] = [step, f"{prior_s + now - t_start:.1f}", f"{lr:.3g}", f"{l2w:.3g}", f"{mean_loss:.6f}",
                                  f"{n_log * cfg.batch / (now - t_log):.1f}"]
                t_log, n_log, loss_acc = now, 0, torch.zeros((), device=device)
                if do_val:
                    last_val = validate(model, val, device, amp)
                    row += [f"{last_val[k]:.4f}" for k in ("psnr", "psnr_t", "psnr_f", "ssim", "rmse")]
                    bar.write(f"step {step}: loss {mean_loss:.4f}  val PSNR {last_val['psnr']:.2f}  "
                              f"PSNRt {last_val['psnr_t']:.2f}  PSNRf {last_val['psnr_f']:.2f}  "
                              f"SSIM {last_val['ssim']:.4f}  RMSE {last_val['rmse']:.3f}")
                    if last_val["psnr"] > best:
                        best = last_val["psnr"]
                        save(out / "best.pt", last_val)
                else:
                    row += [""] * 5
                bar.set_postfix(loss=f"{mean_loss:.4f}")
                log.writerow(row)
                log_f.flush()
            if step % cfg.ckpt_every == 0:
                save(out / "last.pt", last_val)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM where the caller raises it: keep the steps made
        save(out / "last.pt", last_val)
        exc.saved_step = step  # type: ignore[attr-defined]
        exc.saved_seconds = time.perf_counter() - t_start  # type: ignore[attr-defined]
        raise
    finally:
        bar.close()
        log_f.close()
    elapsed = time.perf_counter() - t_start
    calibrated = selecting and bool(getattr(model.head, "gate", False))
    if calibrated:
        thr = calibrate_gate(model, val, device, amp)
        print(f"gate threshold set to {thr:.2f} (best validation PSNR)", flush=True)
    final_val = validate(model, val, device, amp)
    if calibrated or step % cfg.val_every:  # the curve's last point, where the log has none like it
        log_final(log_path, step, prior_s + time.perf_counter() - t_start, final_val)
    if final_val["psnr"] > best:
        best = final_val["psnr"]
        save(out / "best.pt", final_val)
    save(out / "last.pt", final_val)
    done = step - start_step
    print(f"trained {done} steps ({step} total) in {elapsed:.0f} s: "
          f"{done * cfg.batch / max(elapsed, 1e-9):.1f} samples/s, {done / max(elapsed, 1e-9):.2f} steps/s; "
          f"val PSNR {final_val['psnr']:.2f} PSNRt {final_val['psnr_t']:.2f} PSNRf {final_val['psnr_f']:.2f} "
          f"SSIM {final_val['ssim']:.4f} RMSE {final_val['rmse']:.3f}; best val PSNR {best:.2f}; "
          f"checkpoint {out / 'last.pt'}", flush=True)
    return out / "last.pt"


def calibrate_gate(model: torch.nn.Module, val: tuple[torch.Tensor, ...], device: torch.device,
                   amp: torch.dtype | None = None,
                   candidates: tuple[float, ...] = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)) -> float:
    """Set a select head's gate threshold (config and head) to the candidate with the best PSNR on
    the validation batch ``val``; returns it."""
    scores = {}
    for thr in candidates:
        model.head.gate_threshold = thr
        scores[thr] = validate(model, val, device, amp)["psnr"]
    best = max(scores, key=lambda t: (scores[t], -abs(t - 0.5)))
    model.head.gate_threshold = best
    model.config = dataclasses.replace(model.config, gate_threshold=best)
    return best


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use tools/train.py")

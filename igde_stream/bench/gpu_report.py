"""The report of ``tools/gpu_checks.py`` (``igde_stream.bench.gpu``): JSON and Markdown, rewritten
after every step so that a run cut short still leaves what it measured."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ..eval_report import json_ready
from .common import write_text_atomic


class Report:
    def __init__(self, out: Path, meta: dict[str, Any]) -> None:
        self.out = out
        self.data: dict[str, Any] = {"meta": meta, "correctness": [], "psnr": [], "speed": [], "skipped": [], "errors": []}
        out.mkdir(parents=True, exist_ok=True)

    def save(self) -> None:
        write_text_atomic(self.out / "gpu_checks.json", json.dumps(json_ready(self.data), indent=2) + "\n")
        write_text_atomic(self.out / "gpu_checks.md", self.markdown())

    def markdown(self) -> str:
        d = self.data
        m = d["meta"]
        s = [f"# GPU checks ({m['device_name']}, {m['date']})", "",
             f"`{m['command']}`; torch {m['torch']}, CUDA {m['cuda']}, cuDNN {m['cudnn']}; frames: {m.get('frames', '?')}", ""]
        s += [f"- {n}" for n in m["notes"]] + [""]
        s += ["## Correctness vs CPU FP32", "",
              "| model | mode | size | max abs diff | differing pixels | values from input | limit | ok |",
              "|---|---|---|---|---|---|---|---|"]
        s += [f"| {r['model']} | {r['mode']} | {r['size']} | {r['max_abs_diff']:.2e} | {fmt(r.get('differ'), '.3%')} | "
              f"{fmt(r.get('from_input'), '')} | {r['limit']:.0e}{' of pixels' if 'differ' in r else ''} | {r['ok']} |"
              for r in d["correctness"]]
        if "auto" in d:
            a = d["auto"]
            s += ["", f"Enhancer(backend='auto') on a .pt: **{a['description']}** ({a['reason']}), ok: {a['ok']}"]
        if "compile" in d:
            k = d["compile"]
            s += ["", f"compile: {k['model']} at {k['size']} batch {k['batch']} ({k['description']}): first call "
                      f"(compile + graph capture) {k['first_call_s']:.1f} s"]
        s += ["", "## FP16 vs FP32 per-frame PSNR (target >= 50 dB)", "",
              "| model | mode | frames | size | min dB (float) | mean dB (float) | min dB (8-bit) | mean dB (8-bit) "
              "| differing pixels | ok |", "|---|---|---|---|---|---|---|---|---|---|"]
        for r in d["psnr"]:
            s.append(f"| {r['model']} | {r['mode']} | {r['frames']} | {r['size']} | {r['min_db']:.1f} | {r['mean_db']:.1f} | "
                     f"{fmt(r['min_db_u8'])} | {fmt(r['mean_db_u8'])} | {fmt(r.get('differ'), '.3%')} | {r['ok']} |")
        s += ["", "## Speed (median; device-resident unless 'host')", "",
              "| model | size | mode | batch | ms/frame | frames/s | x fp32 | peak MB | target fps |",
              "|---|---|---|---|---|---|---|---|---|"]
        for r in d["speed"]:
            s.append(f"| {r['model']} | {r['size']} | {r['mode']} | {r['batch']} | {r['ms_per_frame']:.2f} | "
                     f"{r['fps']:.1f} | {fmt(r.get('x_fp32'), '.2f')} | {r['peak_mb']:.0f} | {r.get('target_fps') or ''} |")
        for p in d.get("profile", []):
            s += ["", f"## Profile: {p['model']} {p['size']} {p['mode']} batch {p['batch']} "
                      f"({p['ms_per_frame']:.2f} ms of {p['clock']} time per frame)", "",
                  f"| operator | calls per frame | {p['clock']} ms per frame | share |", "|---|---|---|---|"]
            s += [f"| `{o['name']}` | {o['calls_per_frame']:.1f} | {o['ms_per_frame']:.3f} | {o['share']:.1%} |"
                  for o in p["ops"]]
        if d["skipped"]:
            s += ["", "Skipped: " + "; ".join(d["skipped"])]
        if d["errors"]:
            s += ["", "## Errors", ""] + [f"- {e}" for e in d["errors"]]
        return "\n".join(s) + "\n"


def fmt(v: Any, spec: str = ".1f") -> str:
    if v is None:
        return ""
    return "inf" if isinstance(v, float) and math.isinf(v) else format(v, spec)

"""Tables I-III from measured metrics (``build_tables``), the paper's claims read off them (``claims``)
and their Markdown (``tables_markdown``)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..eval_report import _fmt as _fmt_value
from .suite import LEARNED, TABLE_TITLES, TABLES


def _tags(key: str, *maps: dict[str, Any]) -> list[str]:
    """Entries of a learned row: ``key@<seed>`` per trained seed (plain ``key`` from older results)."""
    found = {t for m in maps for t in m if t == key or t.startswith(key + "@")}
    return sorted(found, key=lambda t: (t != key, int(t.split("@")[1]) if "@" in t else -1))


def _row(label: str, key: str, results: dict[str, dict[str, Any]], records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    metric_keys = ("psnr", "psnr_t", "psnr_f", "ssim", "rmse", "temporal", "ms_per_frame")
    if key not in LEARNED:
        m = results.get(key) or {}
        return {"method": label, **{k: m.get(k, math.nan) for k in metric_keys[:-1]}, "key": key,
                "frames": m.get("frames", 0), "steps": 0, "seed": None, "ms_per_frame": m.get("ms_per_frame", math.nan)}
    tags = _tags(key, results, records)
    done = [t for t in tags if t in results]
    # several seeds: every metric is the mean over seeds (PSNR of each seed from its frame-averaged MSE)
    mean = {k: (float(np.mean([results[t].get(k, math.nan) for t in done])) if done else math.nan)
            for k in metric_keys}
    recs = [records.get(t) or {} for t in tags]
    seeds = [r.get("seed", int(t.split("@")[1]) if "@" in t else None) for r, t in zip(recs, tags)]
    steps = sorted({r.get("steps") for r in recs if r.get("steps") is not None})
    per_seed = {str(sd): results[t]["psnr"] for sd, t in zip(seeds, tags) if t in results}
    row = {"method": label, **{k: mean[k] for k in metric_keys[:-1]}, "key": key,
           "frames": results[done[0]].get("frames", 0) if done else 0,
           "steps": steps[0] if len(steps) == 1 else (steps or None),
           "seed": seeds[0] if len(seeds) == 1 else (seeds or None),
           "psnr_per_seed": per_seed,
           "psnr_seed_spread": (max(per_seed.values()) - min(per_seed.values())) if len(per_seed) > 1 else None,
           "model": recs[0].get("model") if recs else None,
           "loss_weights": recs[0].get("loss_weights") if recs else None,
           "trained": bool(any(recs)), "ms_per_frame": mean["ms_per_frame"]}
    return row


def build_tables(results: dict[str, dict[str, dict[str, Any]]], records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Tables from per-dataset method metrics ``results[dataset][key]`` and training ``records``.

    ``table1/2/3`` use the synthetic test split; ``<table>_icl_nuim`` the ICL-NUIM frames when
    evaluated. Learned rows are stored per seed as ``<key>@<seed>`` (in both ``results`` and
    ``records``); a row trained with several seeds shows the mean of each metric over them, the
    seeds, and ``psnr_per_seed``. Rows whose checkpoint is missing are kept with null metrics and
    ``trained: false``.
    """
    tables: dict[str, Any] = {}
    for ds, suffix in (("synthetic-test", ""), ("icl_nuim_clean5", "_icl_nuim")):
        if ds not in results:
            continue
        for name, rows in TABLES.items():
            tables[name + suffix] = [_row(label, key, results[ds], records) for label, key in rows]
    return tables


def _fmt(v: Any, digits: int = 2) -> str:
    return "-" if v is None else _fmt_value(v, digits)


def _best(rows: list[dict[str, Any]], key: str = "psnr") -> dict[str, Any] | None:
    ok = [r for r in rows if isinstance(r.get(key), float) and not math.isnan(r[key])]
    return max(ok, key=lambda r: (r[key], r["key"] == "igde")) if ok else None  # a tie goes to IGDE


TIE_DB = 0.05  # PSNR differences below this are called ties (8-bit rounding)


def _noise(rows: list[dict[str, Any]]) -> tuple[float, str]:
    """The PSNR difference below which rows are not told apart: ``TIE_DB``, or the largest
    seed-to-seed spread of a row when rows were trained with several seeds (rows trained with one
    seed are taken to vary as much)."""
    spreads = [r["psnr_seed_spread"] for r in rows if r.get("psnr_seed_spread") is not None]
    if spreads and max(spreads) > TIE_DB:
        return max(spreads), f"the largest seed-to-seed spread of a row in these tables, {max(spreads):.2f} dB"
    return TIE_DB, f"{TIE_DB} dB"


def claims(tables: dict[str, Any], suffix: str = "") -> list[str]:
    """One sentence per claim of the paper, read off the tables (PSNR over all pixels decides, the
    mean over seeds when rows have several; differences under ``_noise`` are reported as
    undecided)."""
    def ok(r: dict[str, Any]) -> bool:
        return isinstance(r.get("psnr"), float) and not math.isnan(r["psnr"])

    out = []
    t1, t2, t3 = (tables.get(n + suffix) for n in ("table1", "table2", "table3"))
    # one noise level for the three claims: the largest seed-to-seed spread of any row in these tables
    noise, noise_text = _noise([r for t in (t1, t2, t3) if t for r in t if ok(r)])

    def ablation(rows: list[dict[str, Any]], claim: str) -> str | None:
        done = [r for r in rows if ok(r)]
        if not done or not any(r["key"] == "igde" for r in done):
            return None
        ranked = sorted(done, key=lambda r: (r["psnr"], r["key"] == "igde"), reverse=True)
        best, second = ranked[0], ranked[1] if len(ranked) > 1 else None
        full = next(r for r in done if r["key"] == "igde")
        spread = best["psnr"] - ranked[-1]["psnr"]
        if spread < noise:
            return f"{claim}: undecided here: all rows within {spread:.2f} dB of each other (noise: {noise_text})."
        if best["key"] == "igde":
            margin = full["psnr"] - second["psnr"]
            verdict = "holds here" if margin >= noise else "leans towards holding, within noise"
            return (f"{claim}: {verdict} ({full['psnr']:.2f} dB; next best {second['method']} "
                    f"{second['psnr']:.2f} dB; noise: {noise_text}).")
        margin = best["psnr"] - full["psnr"]
        verdict = "does not hold here" if margin >= noise else "leans against, within noise"
        return (f"{claim}: {verdict}: {best['method']} has the best PSNR ({best['psnr']:.2f} dB vs "
                f"{full['psnr']:.2f} dB; noise: {noise_text}).")

    if t1:
        igde = next(r for r in t1 if r["key"] == "igde")
        inp = next(r for r in t1 if r["key"] == "input")
        if ok(igde):
            best = _best([r for r in t1 if ok(r)])
            above = [f"{r['method']} ({r['psnr']:.2f})" for r in t1 if r["key"] != "igde" and ok(r)
                     and r["psnr"] >= igde["psnr"] + noise]
            below = [f"{r['method']} ({r['psnr']:.2f})" for r in t1 if r["key"] in LEARNED and r["key"] != "igde"
                     and ok(r) and r["psnr"] <= igde["psnr"] - noise]
            line = "Claim 1 (IGDE beats DE-CNN, DRECNN, DEN+CBPN): "
            if best["key"] == "igde" or not above:
                line += f"holds here: no method is clearly above IGDE's {igde['psnr']:.2f} dB (noise: {noise_text})."
            else:
                line += (f"does not hold here: clearly higher PSNR than IGDE's {igde['psnr']:.2f} dB "
                         f"(by more than {noise_text}): {', '.join(above)}.")
            if below:
                line += f" Learned rows clearly below IGDE: {', '.join(below)}."
            idle = [r["method"] for r in t1 if r["key"] in LEARNED and ok(r) and ok(inp)
                    and abs(r["psnr"] - inp["psnr"]) < TIE_DB]
            if idle:
                line += (f" Within {TIE_DB} dB of the degraded input: {', '.join(idle)}: at this training budget "
                         f"{'it has' if len(idle) == 1 else 'they have'} barely moved from the identity "
                         f"{'it starts' if len(idle) == 1 else 'they start'} at.")
            out.append(line)
    for rows, claim in ((t2, "Claim 2 (focal and Sobel losses help)"),
                        (t3, "Claim 3 (three colour taps are best)")):
        line = ablation(rows, claim) if rows else None
        if line:
            out.append(line)
    return out


def tables_markdown(tables: dict[str, Any], meta: dict[str, Any]) -> str:
    """The tables as Markdown: one section per table, the best learned / any value in bold."""
    lines = ["# Paper tables (IGDE, EURASIP JIVP 2022) reproduced on igde-stream's data", ""]
    lines += [f"- {k}: {v}" for k, v in meta.get("notes", {}).items()]
    lines.append("")
    for suffix, where in (("", "synthetic test split"), ("_icl_nuim", "ICL-NUIM")):
        found = claims(tables, suffix)
        if found:
            lines += [f"What the tables say about the paper's claims ({where}; a difference smaller than "
                      "the noise named in a line does not tell rows apart):", ""]
            lines += [f"- {c}" for c in found] + [""]
    for name, rows in tables.items():
        base = name.split("_")[0]
        where = "ICL-NUIM clean5 (real rendered living room, same degradation)" if name.endswith("icl_nuim") \
            else "synthetic test split"
        lines += [f"## {TABLE_TITLES[base]} - {where}", ""]
        cols = [("PSNR", "psnr", 2, 1), ("PSNRt", "psnr_t", 2, 1), ("PSNRf", "psnr_f", 2, 1),
                ("SSIM", "ssim", 4, 1), ("RMSE", "rmse", 3, -1)]
        temporal = not name.endswith("icl_nuim")
        if temporal:
            cols.append(("temporal", "temporal", 3, -1))
        best = {}
        for _, k, _, sign in cols:
            vals = [r[k] for r in rows if isinstance(r[k], float) and not math.isnan(r[k])]
            best[k] = (max(vals) if sign > 0 else min(vals)) if vals else None
        multi = any(len(r.get("psnr_per_seed") or {}) > 1 for r in rows)
        lines.append("| method | " + " | ".join(c[0] for c in cols) + " | steps | seed |"
                     + (" PSNR per seed |" if multi else ""))
        lines.append("|---" * (len(cols) + 3 + multi) + "|")
        for r in rows:
            cells = []
            for _, k, d, _ in cols:
                s = _fmt(r[k], d)
                cells.append(f"**{s}**" if best[k] is not None and r[k] == best[k] else s)
            steps = r.get("steps")
            steps_s = "not trained" if r["key"] in LEARNED and not r.get("trained") else (
                "-" if not steps else ", ".join(map(str, steps)) if isinstance(steps, list) else str(steps))
            seed = r.get("seed")
            seed_s = ", ".join(map(str, seed)) if isinstance(seed, list) else _fmt(seed)
            extra = ""
            if multi:
                per = r.get("psnr_per_seed") or {}
                extra = " " + (" / ".join(f"{v:.2f}" for v in per.values()) if per else "-") + " |"
            lines.append(f"| {r['method']} | " + " | ".join(cells) + f" | {steps_s} | {seed_s} |" + extra)
        lines.append("")
    lines.append("PSNR / PSNRt / PSNRf in dB from the frame-averaged MSE; PSNRt over pixels the degraded input "
                 "had right (damage), PSNRf over its error pixels (repair); SSIM and RMSE are per-frame means; "
                 "temporal = mean |(p_t - p_t-1) - (g_t - g_t-1)| over consecutive frames (lower is better). "
                 "Bold: best in column.")
    return "\n".join(lines) + "\n"

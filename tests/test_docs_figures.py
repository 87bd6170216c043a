"""Figures the results pages quote from stored files match those files: the main PSNR table (README
and docs/results.md) against results/eval_igde_small.md, the "best filter" tables of docs/results.md
against the eval.md each one links, the CPU inference tables of benchmarks/RESULTS.md against the
JSON their paragraph names, and every relative link of these pages leads to a file. Parsing only:
no model runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["README.md", "docs/results.md", "docs/models.md", "docs/backends.md", "benchmarks/RESULTS.md"]
ERRORS = {"paper": "paper", "real-world mix": "mix", "inflate / reduce 1-6 px": "inflate-reduce",
          "inflate / reduce": "inflate-reduce", "soft ramps": "soft", "misregistration": "misregistration",
          "holes": "holes", "low-resolution depth (x4)": "lowres", "low-resolution depth": "lowres"}
FILTERS = {"global smoother": "filter:global-smoother", "joint bilateral": "filter:joint-bilateral",
           "weighted median": "filter:weighted-median", "guided": "filter:guided",
           **{f"{n}, photo": f"filter:{n.replace(' ', '-')}-photo"
              for n in ("global smoother", "joint bilateral", "weighted median", "guided")}}
MAIN_COLUMNS = ["degraded input", "filter:global-smoother", "filter:joint-bilateral", "filter:weighted-median",
                "filter:guided", "igde-small", "runs/prev27-igde-small.pt"]


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def psnr_table(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    """(first word of the data set, error type) -> {method: PSNR as printed}, from the first table of an
    eval.md that tools/evaluate.py wrote."""
    out: dict[tuple[str, str], dict[str, str]] = {}
    header = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            if header:
                break
            continue
        row = cells(line)
        if header is None:
            header = row
            continue
        if set("".join(row)) <= set("-: "):
            continue
        r = dict(zip(header, row))
        m = re.match(r"(\S+).*\(.*?, (.*)\)$", r["dataset"])
        out.setdefault((m.group(1), m.group(2)), {})[r["method"]] = r["PSNR"]
    return out


def page_tables(text: str, first_cell: str) -> list[tuple[int, list[str], list[list[str]]]]:
    """(line index of the header, header cells, rows) of each table whose header starts with ``first_cell``."""
    lines = text.splitlines()
    found = []
    for i, line in enumerate(lines):
        if line.startswith("|") and cells(line)[0] == first_cell:
            rows, j = [], i + 2
            while j < len(lines) and lines[j].startswith("|"):
                rows.append(cells(lines[j]))
                j += 1
            found.append((i, cells(line), rows))
    return found


def plain(cell: str) -> str:
    return cell.replace("*", "").strip()


@pytest.mark.parametrize("page", ["README.md", "docs/results.md"])
def test_main_table_is_the_stored_evaluation(page):
    stored = psnr_table(ROOT / "results/eval_igde_small.md")
    tables = [t for t in page_tables((ROOT / page).read_text(encoding="utf-8"), "data, errors") if len(t[1]) == 8]
    assert tables, f"{page}: no main table"
    checked = 0
    for _, _, rows in tables[:1]:
        for row in rows:
            data, errors = row[0].split(", ", 1)
            want = stored[(data.split()[0], ERRORS[errors])]
            assert [plain(c) for c in row[1:]] == [want[m] for m in MAIN_COLUMNS], f"{page}: {row[0]}"
            checked += 1
    assert checked == 21


def linked_eval(text: str, upto: int) -> Path:
    """The last results/.../eval*.md named before line ``upto``."""
    names = re.findall(r"(results/[\w/]*?eval[\w]*(?:/eval)?\.md)", "\n".join(text.splitlines()[:upto]))
    return ROOT / names[-1]


def test_best_filter_tables_are_their_stored_evaluations():
    text = (ROOT / "docs/results.md").read_text(encoding="utf-8")
    checked = 0
    for at, header, rows in page_tables(text, "data, errors"):
        if "best filter" not in header:
            continue
        stored = psnr_table(linked_eval(text, at))
        for row in rows:
            data, errors = row[0].split(", ", 1)
            want = stored[(data.split()[0], ERRORS.get(errors, errors))]
            filters = {m: v for m, v in want.items() if m.startswith("filter:")}
            best = max(filters, key=lambda m: float(filters[m]))
            value, name = re.match(r"([\d.]+) \((.*)\)", plain(row[2])).groups()
            assert (value, FILTERS[name]) == (filters[best], best), row[0]
            assert plain(row[1]) == want["degraded input"], row[0]
            assert plain(row[3]) == want["igde-small"], row[0]
            if header[4] == "previous release (run 27)":
                assert plain(row[4]) == want["runs/prev27-igde-small.pt"], row[0]
            checked += 1
    assert checked >= 30


def close(printed: str, value: float) -> bool:
    """``printed`` is ``value`` rounded to the printed digits (either way at a half)."""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return abs(float(printed) - value) <= 0.5 * 10 ** -decimals + 1e-9


def test_cpu_inference_tables_are_their_stored_runs():
    text = (ROOT / "benchmarks/RESULTS.md").read_text(encoding="utf-8")
    lines = text.splitlines()
    tables = page_tables(text, "setup")
    assert tables
    start = 0
    for at, header, rows in tables:
        named = sorted(set(re.findall(r"(infer-[\w-]+\.json)", "\n".join(lines[start:at]))))
        start = at
        stored = [r for name in named for r in json.loads((ROOT / "benchmarks" / name).read_text())["rows"]]
        assert header[3:] == ["ms/frame", "frames/s", "x torch", "CPU s/frame", "peak RSS MB"]
        for row in rows:
            setup, size, batch = row[0], row[1], int(row[2])
            match = [r for r in stored if r["setup"] == setup and f"{r['width']}x{r['height']}" == size
                     and r["batch"] == batch]
            assert len(match) == 1, f"line {at}: {row[:3]} in {named}"
            r = match[0]
            for printed, value in zip([plain(c) for c in row[3:]], [r["ms_per_frame"], r["fps"], r["ratio"],
                                                                     r["extra"]["cpu_s_per_frame"], r["peak_mem_mb"]]):
                assert close(printed, value), f"{row[:3]}: {printed} against {value}"


@pytest.mark.parametrize("page", PAGES)
def test_relative_links_lead_to_files(page):
    path = ROOT / page
    for target in re.findall(r"\]\(([^)\s]+)\)", path.read_text(encoding="utf-8")):
        if target.startswith(("http://", "https://", "#", "mailto:")):
            continue
        assert (path.parent / target.split("#")[0]).exists(), f"{page}: {target}"


def view_table(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    """(first word of the data set, error type) -> {method: view PSNR as printed}, from the view table
    of an eval.md that tools/evaluate.py wrote."""
    out: dict[tuple[str, str], dict[str, str]] = {}
    header = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("|") and "view PSNR" in cells(line):
            header = cells(line)
            continue
        if header is None or not line.startswith("|"):
            if header is not None and out:
                break
            continue
        row = cells(line)
        if set("".join(row)) <= set("-: "):
            continue
        r = dict(zip(header, row))
        m = re.match(r"(\S+).*\(.*?, (.*)\)$", r["dataset"])
        out.setdefault((m.group(1), m.group(2)), {})[r["method"]] = r["view PSNR"]
    return out


def test_hole_fill_table_is_its_stored_evaluations():
    """docs/results.md, "The hole fill over its whole window": each row's depth and views PSNR before,
    at sigma 16 and now are the stored runs' (before: the commit before the change; the dropouts'
    before: the held-out table's run); the photo-tuned filter column is the photo-tuned runs' best."""
    text = (ROOT / "docs/results.md").read_text(encoding="utf-8")
    [(_, header, rows)] = page_tables(text, "data, errors, fill")
    assert header[1:4] == ["before", "sigma 16", "**now**"] and header[6:] == [
        "views before", "views sigma 16", "**views now**"]
    res = ROOT / "results"
    before = {**psnr_table(res / "eval_fill72_before/eval.md"), **psnr_table(res / "eval_fill72_before/eval_icl.md"),
              **{k: v for k, v in psnr_table(res / "eval_held_out/eval.md").items() if k[1] == "dropouts"}}
    s16 = {**psnr_table(res / "eval_fill72/eval.md"), **psnr_table(res / "eval_fill72_dropouts/eval.md")}
    now = {**psnr_table(res / "eval_fill72b/eval.md"), **psnr_table(res / "eval_fill72b_dropouts/eval.md")}
    views = [{**view_table(res / "eval_fill72_before/eval.md"), **view_table(res / "eval_fill72_before/eval_icl.md")},
             view_table(res / "eval_fill72/eval.md"), view_table(res / "eval_fill72b/eval.md")]
    photo = {**psnr_table(res / "eval_photo_filters/eval.md"), **psnr_table(res / "eval_photo_filters_synthetic/eval.md")}
    for row in rows:
        data, errors = row[0].split(", ", 1)
        key = (data.split()[0], ERRORS.get(errors, errors))
        assert [plain(c) for c in row[1:4]] == [t[key]["igde-small"] for t in (before, s16, now)], row[0]
        if key[1] != "dropouts":
            assert [plain(c) for c in row[6:]] == [t[key]["igde-small"] for t in views], row[0]
            best = max(float(v) for m, v in photo[key].items() if m.endswith("-photo"))
            assert float(plain(row[5])) == best, row[0]
    assert len(rows) == 9

"""The documentation's runnable examples run: every ```bash / ```sh block that follows a
``<!-- runnable -->`` line in README.md or docs/*.md runs in a fresh folder holding the demo clip
(as ``igde-stream --demo demo/`` writes it, shorter and smaller, plus the names the docs use for
it) and must exit 0. The convention is written down in docs/runnable.md."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MARKER = "<!-- runnable -->"
SHELLS = ("bash", "sh")
BLOCK_TIMEOUT = 600  # seconds: a guard against a hanging block, not a speed test
DEMO_FRAMES, DEMO_SIZE = 12, (160, 96)  # the demo clip is 48 frames of 320x180
# names the docs give the demo clip's files (docs/runnable.md lists them)
ALIASES = {"in_color.mp4": "color.mp4", "C.mp4": "color.mp4", "in_depth.mkv": "depth.mkv", "D.mkv": "depth.mkv",
           "gt_depth.mkv": "gt.mkv", "gt.mkv": "gt.mkv", "E.mkv": "depth_enhanced.mkv"}
_FENCE = re.compile(r"^(`{3,}|~{3,})\s*([\w+-]*)")


def doc_files(root: Path = ROOT) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def runnable_blocks(path: Path) -> list[tuple[int, str]]:
    """(line of the opening fence, code) of each block marked runnable in ``path``. A marker that is
    not followed, on the next line, by a bash / sh fence that closes is a ``ValueError``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks = []
    inside: str | None = None  # the fence of the block being skipped (a marker shown inside one is text)
    for i, line in enumerate(lines):
        m = _FENCE.match(line.strip())
        if inside is not None:
            if m is not None and m.group(1)[0] == inside[0] and len(m.group(1)) >= len(inside) and not m.group(2):
                inside = None
            continue
        if m is not None:
            inside = m.group(1)
            continue
        if line.strip() != MARKER:
            continue
        m = _FENCE.match(lines[i + 1].strip()) if i + 1 < len(lines) else None
        if m is None or m.group(2) not in SHELLS:
            raise ValueError(f"{path.name}:{i + 1}: {MARKER} must be followed by a ```bash or ```sh block")
        fence = m.group(1)
        end = next((j for j in range(i + 2, len(lines)) if lines[j].strip() == fence), None)
        if end is None:
            raise ValueError(f"{path.name}:{i + 2}: the runnable block is not closed")
        blocks.append((i + 2, "\n".join(lines[i + 2:end]) + "\n"))
    return blocks


def _all_blocks() -> list:
    return [pytest.param(code, id=f"{path.relative_to(ROOT)}:{line}")
            for path in doc_files() for line, code in runnable_blocks(path)]


def test_marker_rules(tmp_path):
    good = tmp_path / "good.md"
    good.write_text(f"text\n{MARKER}\n```bash\necho one\n```\n\n```bash\necho not marked\n```\n"
                    f"{MARKER}\n~~~sh\necho two\n~~~\n"
                    f"````markdown\n{MARKER}\n```bash\necho shown, not run\n```\n````\n")
    assert runnable_blocks(good) == [(3, "echo one\n"), (11, "echo two\n")]
    for text in (f"{MARKER}\n```python\nprint()\n```\n", f"{MARKER}\n\n```bash\necho\n```\n", f"{MARKER}\n```bash\necho\n"):
        bad = tmp_path / "bad.md"
        bad.write_text(text)
        with pytest.raises(ValueError):
            runnable_blocks(bad)


def test_the_docs_mark_runnable_blocks():
    marked = {path.name for path in doc_files() if runnable_blocks(path)}
    assert {"stream.md", "multiview.md", "batch.md"} <= marked


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory) -> Path:
    """``demo/`` as ``igde-stream --demo demo/`` fills it, from the same generator but a shorter, smaller
    clip (DEMO_FRAMES frames of DEMO_SIZE, so that the blocks stay fast), and the docs' names for its files."""
    from igde_stream.data import write_clip

    folder = tmp_path_factory.mktemp("docs-demo")
    demo = folder / "demo"
    write_clip(demo, frames=DEMO_FRAMES, size=DEMO_SIZE)
    done = subprocess.run(
        ["igde-stream", "demo/color.mp4", "demo/depth.mkv", "-o", "demo/depth_enhanced.mkv", "--gt", "demo/gt.mkv",
         "--report", "demo/report.json", "--report", "demo/report.csv", "-q"],
        cwd=folder, env=_env(), capture_output=True, text=True, timeout=BLOCK_TIMEOUT)
    assert done.returncode == 0, done.stderr
    for alias, name in ALIASES.items():
        os.link(demo / name, folder / alias)
    _first_frames_as_photo(demo, folder)
    return folder


def _first_frames_as_photo(demo: Path, folder: Path) -> None:
    """``photo.png`` and ``depth.png``: the clip's first colour and depth frames, the docs' photograph."""
    import av
    import cv2

    with av.open(str(demo / "color.mp4")) as c:
        rgb = next(c.decode(video=0)).to_ndarray(format="rgb24")
    with av.open(str(demo / "depth.mkv")) as d:
        gray = next(d.decode(video=0)).to_ndarray(format="gray")
    cv2.imwrite(str(folder / "photo.png"), rgb[..., ::-1])
    cv2.imwrite(str(folder / "depth.png"), gray)


def _env() -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)  # igde-stream and python of this environment first
    return {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}


@pytest.mark.parametrize("code", _all_blocks())
def test_runnable_block(code, demo_folder, tmp_path):
    work = tmp_path / "work"
    shutil.copytree(demo_folder, work, copy_function=os.link)  # inputs shared read-only, outputs per block
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", code], cwd=work, env=_env(), capture_output=True,
                          text=True, timeout=BLOCK_TIMEOUT)
    assert done.returncode == 0, f"exit {done.returncode}\n--- block\n{code}--- stderr\n{done.stderr[-4000:]}"
    assert "Traceback" not in done.stderr, done.stderr[-4000:]


def python_blocks(path: Path) -> list[tuple[int, str]]:
    """(line of the opening fence, code) of each ```python block in ``path``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        m = _FENCE.match(lines[i].strip())
        if m is None:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == m.group(1)), len(lines))
        if m.group(2) == "python":
            blocks.append((i + 1, "\n".join(lines[i + 1:end]) + "\n"))
        i = end + 1
    return blocks


@pytest.mark.parametrize("code", [pytest.param(code, id=f"{path.relative_to(ROOT)}:{line}")
                                  for path in doc_files() for line, code in python_blocks(path)])
def test_python_examples_compile_and_name_what_exists(code):
    """The Python API examples (stream.md, multiview.md, formats.md) need files and minutes of CPU, so
    they are not run here; each compiles, its imports import, every ``module.name`` it reads from an
    imported module exists, and each keyword it passes to a function or class of those is a parameter
    of it (a renamed function, class or keyword fails here, not in a reader's hands)."""
    import ast
    import importlib
    import importlib.util
    import inspect
    import types

    tree = ast.parse(code)
    compile(tree, "<doc>", "exec")
    names: dict[str, object] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = importlib.import_module(
                    alias.name if alias.asname else alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name) or importlib.util.find_spec(f"{node.module}.{alias.name}"), \
                    f"from {node.module} import {alias.name}"
                names[alias.asname or alias.name] = getattr(module, alias.name, None) or importlib.import_module(
                    f"{node.module}.{alias.name}")
    def resolve(func: ast.expr) -> object:
        if isinstance(func, ast.Name):
            return names.get(func.id)
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            owner = names.get(func.value.id)
            if isinstance(owner, (types.ModuleType, type)):
                assert hasattr(owner, func.attr), f"{func.value.id}.{func.attr}"
                return getattr(owner, func.attr)
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            resolve(node)
        if isinstance(node, ast.Call) and callable(target := resolve(node.func)):
            params = inspect.signature(target).parameters
            if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
                for kw in node.keywords:
                    assert kw.arg is None or kw.arg in params, f"{ast.unparse(node.func)}(..., {kw.arg}=...)"

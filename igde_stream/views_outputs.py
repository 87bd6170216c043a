"""The files ``igde-stream views quality`` writes: the JSON report (``--report R.json``), its Markdown
table beside it (``R.md``) and the boundary figure (``--figure F.png``).

They are refused up front, before any frame is read, with the main command's checks
(``stream.parts.check_outputs``): a name with the wrong suffix, one that is one of the inputs, an
existing file without ``-y`` / ``--overwrite``, a missing folder. They are written under temporary
names and renamed together when all are complete (``stream.parts.commit``: all or nothing, a file
being replaced comes back on failure).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from . import multiview as mv
from .errors import OutputError
from .stream.parts import check_outputs, commit, remove_output
from .stream.writer import temp_path

__all__ = ["QualityOutputs", "check_quality_outputs"]


@dataclass
class QualityOutputs:
    """The report (and its ``.md``) and the figure of one ``views quality`` run; None: not asked for."""

    report: Path | None = None
    figure: Path | None = None

    @property
    def markdown(self) -> Path | None:
        return None if self.report is None else self.report.with_suffix(".md")

    def write(self, summary: dict[str, Any], md: str, fig_frame: tuple[int, np.ndarray, np.ndarray, dict] | None,
              cfg: mv.ViewConfig, view: int) -> list[str]:
        """Write the report and its table (from ``summary`` and ``md``) and the figure of view ``view``
        of ``fig_frame`` (``stream.views.view_quality_files``'s; None: no figure), all renamed into
        place together. Returns the lines that say what was written."""
        said: list[str] = []
        files: list[tuple[Path, Callable[[Path], Any]]] = []
        if self.report is not None and self.markdown is not None:
            text = json.dumps(mv.jsonable(summary), indent=2) + "\n"
            files.append((self.report, lambda p: p.write_text(text, encoding="utf-8")))
            files.append((self.markdown, lambda p: p.write_text(md + "\n", encoding="utf-8")))
            said.append(f"wrote {self.report} and {self.markdown}")
        if self.figure is not None and fig_frame is not None:
            i, color, gt, depths = fig_frame

            def draw(path: Path) -> None:
                from .multiview_figure import boundary_figure

                y, x = boundary_figure(color, gt, depths, str(path), view=view, n_views=cfg.n_views,
                                       baseline=cfg.baseline, zero_parallax=cfg.zero_parallax,
                                       max_depth=cfg.max_depth, depth_order=cfg.depth_order)
                said.append(f"wrote {self.figure} (frame {i}, view {view}, patch at y={y}, x={x})")
            files.append((self.figure, draw))
        moves = [(temp_path(final), final) for final, _ in files]  # the suffix stays (savefig reads it)
        try:
            for (tmp, final), (_, write) in zip(moves, files):
                try:
                    write(tmp)
                except OSError as exc:
                    raise OutputError(f"cannot write: {exc.strerror or exc}", final) from None
        except BaseException:
            for tmp, _ in moves:
                remove_output(tmp)
            raise
        commit(moves)
        return said


def check_quality_outputs(report: str | None, figure: str | None, inputs: Mapping[str, str | Path],
                          overwrite: bool) -> QualityOutputs:
    """``QualityOutputs`` for ``--report`` and ``--figure``, or ``OutputError`` (one line) before
    any work: the report must end in .json, the figure in .png (and matplotlib must be there);
    neither (nor the report's .md) may be an input, or exist without ``overwrite``."""
    outs = QualityOutputs(None if report is None else Path(report), None if figure is None else Path(figure))
    if outs.report is not None and outs.report.suffix.lower() != ".json":
        raise OutputError("report must end in .json (a Markdown table is written beside it, .md)", outs.report)
    if outs.figure is not None:
        if outs.figure.suffix.lower() != ".png":
            raise OutputError("figure must end in .png", outs.figure)
        try:  # imported, not only looked for: a broken install fails here, not after the measurement
            import matplotlib  # noqa: F401
            import matplotlib.figure  # noqa: F401
        except ImportError:
            raise OutputError("--figure needs matplotlib (pip install matplotlib)", outs.figure) from None
    paths = [p for p in (outs.report, outs.markdown, outs.figure) if p is not None]
    check_outputs(paths, {role: Path(p) for role, p in inputs.items() if str(p) != "-"}, overwrite)
    return outs

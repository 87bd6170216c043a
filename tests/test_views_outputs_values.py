"""Values of ``views_outputs.py`` (mutation campaign 58c): ``views quality --report`` writes its JSON
and Markdown table byte for byte as the committed reports of docs/multiview.md's runs
(``results/views_synthetic.json`` / ``.md``, ``results/views_icl.json`` / ``.md``, made by the
command itself): two-space indents, one newline at the end of each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from igde_stream import multiview as mv
from igde_stream.views_outputs import QualityOutputs, check_quality_outputs

RESULTS = Path(__file__).resolve().parent.parent / "results"


@pytest.mark.parametrize("name", ["views_synthetic", "views_icl"])
def test_the_report_and_its_table_are_written_as_the_committed_ones(tmp_path, name):
    summary = json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8"))
    md = (RESULTS / f"{name}.md").read_text(encoding="utf-8")
    outs = check_quality_outputs(str(tmp_path / "r.json"), None, {}, overwrite=False)
    said = outs.write(summary, md.rstrip("\n"), None, mv.ViewConfig(), 0)
    assert said == [f"wrote {tmp_path / 'r.json'} and {tmp_path / 'r.md'}"]
    assert (tmp_path / "r.json").read_bytes() == (RESULTS / f"{name}.json").read_bytes()
    assert (tmp_path / "r.md").read_bytes() == (RESULTS / f"{name}.md").read_bytes()


def test_the_tables_name_is_the_reports_with_md_and_nothing_is_written_unasked(tmp_path):
    assert QualityOutputs(Path("out/R.JSON")).markdown == Path("out/R.md")
    assert QualityOutputs().markdown is None
    assert QualityOutputs().write({}, "", None, mv.ViewConfig(), 0) == []
    assert list(tmp_path.iterdir()) == []

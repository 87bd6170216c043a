"""``igde-stream views quality -q``: docs/multiview.md says "-q / --quiet: no summary line and no
warnings (views quality -q: the table still goes to stdout, nothing else to stderr)". The lines
that say which files were written ("wrote R.json and R.md", "wrote F.png ...") are summary lines:
with -q stdout is the Markdown table alone, so ``views quality ... -q > table.md`` is the table."""

from __future__ import annotations

from conftest import scene, write_video

from igde_stream import views_cli


def _clip(tmp_path):
    colors, depths, gts = scene(2, (48, 32))
    return (write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1"),
            write_video(tmp_path / "d.mkv", depths, fmt="gray"), write_video(tmp_path / "g.mkv", gts, fmt="gray"))


def test_quiet_quality_prints_the_table_alone(tmp_path, capsys):
    c, d, g = _clip(tmp_path)
    report = tmp_path / "r.json"
    assert views_cli.main(["quality", str(c), "--gt", str(g), "--depth", f"degraded={d}", "--report", str(report),
                           "--views", "4", "-q"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert report.exists() and out == report.with_suffix(".md").read_text(encoding="utf-8")  # the table, nothing more
    assert "wrote" not in out


def test_quality_without_quiet_says_what_it_wrote(tmp_path, capsys):
    c, d, g = _clip(tmp_path)
    report = tmp_path / "r.json"
    assert views_cli.main(["quality", str(c), "--gt", str(g), "--depth", f"degraded={d}", "--report", str(report),
                           "--views", "4"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(report.with_suffix(".md").read_text(encoding="utf-8"))
    assert out.rstrip().endswith(f"wrote {report} and {report.with_suffix('.md')}")

"""The one-pass run's log line about its views says what is rendered: a stereo layout (sbs, tab,
anaglyph) renders the two extreme views only, not ``--views`` of them; other layouts their count."""

from __future__ import annotations

import logging

import pytest

from conftest import scene, write_video
from igde_stream import display, enhance_file
from igde_stream.multiview import ViewConfig
from igde_stream.stream.outputs import ViewsOptions


@pytest.mark.parametrize("layout, said, unsaid", [
    ("sbs", "views: stereo pair of the extreme views (of 8), sbs layout", "views: 8 views"),
    ("anaglyph", "views: stereo pair of the extreme views (of 8), anaglyph layout", "views: 8 views"),
    ("grid", "views: 8 views, grid layout", "stereo pair"),
    ("tab-object", "views: stereo pair of the extreme views (of 8), tab layout", "topandbottom"),  # as the CLI
])
def test_the_views_line_says_what_is_rendered(tmp_path, enhancer, caplog, layout, said, unsaid):
    colors, depths, _ = scene(2, (32, 24))
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1")
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray")
    cfg = ViewConfig(n_views=8)
    if layout.endswith("-object"):  # the command hands over a made layout, not its name
        layout = display.make_layout(layout.removesuffix("-object"), cfg, squeeze=True)
    with caplog.at_level(logging.INFO, logger="igde_stream"):
        enhance_file(c, d, tmp_path / "o.mkv", enhancer=enhancer, views_path=tmp_path / "v.mkv",
                     views=ViewsOptions(config=cfg, layout=layout))
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("views:")]
    assert len(lines) == 1 and lines[0].startswith(said) and unsaid not in lines[0], lines

"""views_options' refusals by hand (fast, nothing run): docs/stream.md gives ``--views-codec`` to both
``--views-out`` and ``--rgbd-out``, the geometry and layout options to ``--views-out`` only, so the
refusal offers ``--rgbd-out`` for the codec alone, never for a views option."""

from __future__ import annotations

import pytest

from igde_stream import cli
from igde_stream.errors import IGDEError
from igde_stream.views_options import check_onepass_options


def _check(*extra: str) -> None:
    check_onepass_options(cli.build_parser().parse_args(["c.mp4", "d.mkv", "-o", "o.mkv", *extra]))


@pytest.mark.parametrize("extra, said", [
    (["--views-codec", "h264"], "--views-codec: needs --views-out (or --rgbd-out)"),
    (["--baseline", "10"], "--baseline: needs --views-out"),
    (["--layout", "sbs"], "--layout: needs --views-out"),
    (["--baseline", "10", "--views-codec", "h264"], "--baseline, --views-codec: needs --views-out"),
])
def test_what_each_option_without_its_output_needs(extra, said):
    with pytest.raises(IGDEError) as e:
        _check(*extra)
    assert str(e.value) == said


def test_the_views_codec_with_rgbd_out_alone_is_that_outputs_codec():
    _check("--views-codec", "h264", "--rgbd-out", "r.mkv")
    with pytest.raises(IGDEError, match="^--baseline: needs --views-out$"):
        _check("--baseline", "10", "--rgbd-out", "r.mkv")

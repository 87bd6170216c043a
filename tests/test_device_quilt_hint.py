"""``--device portrait`` on the main command: there ``--device`` is the compute device, while ``views
render --device portrait`` names a Looking Glass display. The one-line refusal says which option
gives the quilt in the one-pass run (``--quilt portrait``); another bad device keeps the plain line."""

from __future__ import annotations

import pytest

from igde_stream.cli import main


def _err(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize("name", ["portrait", "go", "16in", "32in", "65in"])
def test_a_display_name_as_device_points_to_quilt(capsys, name):
    err = _err(["c.mp4", "d.mkv", "-o", "o.mkv", "--views-out", "q.mp4", "--device", name], capsys)
    assert err.startswith("igde-stream: error: --device must be cpu, cuda or cuda:N"), err
    assert f"--quilt {name}" in err, err


def test_another_bad_device_keeps_the_plain_line(capsys):
    err = _err(["c.mp4", "d.mkv", "-o", "o.mkv", "--device", "gpu0"], capsys)
    assert err == "igde-stream: error: --device must be cpu, cuda or cuda:N, got 'gpu0'"


def test_a_quilt_preset_beside_another_layout_is_named_as_given(tmp_path, capsys):
    """--quilt portrait with --layout grid: the refusal names --quilt, the option given, in views
    render and in the one-pass run (where --device is the compute device, never a display)."""
    from igde_stream.views_cli import main as views_main

    assert views_main(["render", "c.mp4", "d.mkv", "-o", str(tmp_path / "v.mkv"), "--layout", "grid",
                       "--quilt", "portrait"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "igde-stream views: error: --quilt: not an option of --layout grid", err
    assert main(["c.mp4", "d.mkv", "-o", str(tmp_path / "o.mkv"), "--views-out", str(tmp_path / "v.mkv"),
                 "--layout", "grid", "--quilt", "portrait"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.endswith("--quilt: not an option of --layout grid"), err
    assert list(tmp_path.iterdir()) == []

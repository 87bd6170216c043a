"""``igde_stream/demo.py``: what ``igde-stream --demo DIR`` may replace without -y. An earlier demo's
folder is known by write_clip's data.json (its generator and its three clip files); a link of one of
the demo's names counts as the user's file even when it points nowhere (writing would follow it)."""

from __future__ import annotations

import json

import pytest

from igde_stream.demo import earlier_demo

RECORD = {"generator": "igde_stream.data.synthetic",
          "files": {"color": "color.mp4", "depth": "depth.mkv", "gt": "gt.mkv"}}


@pytest.mark.parametrize("text, expected", [
    (json.dumps(RECORD), True),
    (json.dumps({**RECORD, "seed": 3, "bits": 16}), True),  # other keys of the record: still the demo's
    (json.dumps({**RECORD, "files": {"color": "mine.mp4", "depth": "depth.mkv", "gt": "gt.mkv"}}), False),
    (json.dumps({**RECORD, "files": None}), False),
    (json.dumps({"files": RECORD["files"]}), False),  # no generator
    (json.dumps({**RECORD, "generator": "my.recorder"}), False),
    (json.dumps([RECORD]), False),
    ("{not json", False),
    (None, False),  # no data.json
])
def test_earlier_demo_is_write_clips_record(tmp_path, text, expected):
    if text is not None:
        (tmp_path / "data.json").write_text(text)
    assert earlier_demo(tmp_path) is expected


def test_a_dangling_link_of_a_demo_name_is_refused(tmp_path, tiny_model, monkeypatch, capsys):
    import igde_stream.data as igde_stream_data
    from igde_stream.cli import main

    real = igde_stream_data.write_clip
    monkeypatch.setattr(igde_stream_data, "write_clip", lambda d, **kw: real(d, **{**kw, "frames": 3, "size": (64, 48)}))
    folder, target = tmp_path / "videos", tmp_path / "elsewhere" / "take1.mp4"
    folder.mkdir()
    target.parent.mkdir()
    (folder / "color.mp4").symlink_to(target)  # points at a file not yet there
    assert main(["--demo", str(folder), "--model", str(tiny_model), "--backend", "torch", "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "color.mp4: already exists" in err
    assert not target.exists() and [p.name for p in folder.iterdir()] == ["color.mp4"]


def test_preview_elsewhere_still_refuses_the_users_files_in_the_folder(tmp_path, tiny_model, monkeypatch, capsys):
    """--preview P names the picture elsewhere, so only preview.png of the folder is not the demo's:
    the user's color.mp4 there is still refused without -y, in one line, before anything is written."""
    import igde_stream.data as igde_stream_data
    from igde_stream.cli import main

    real = igde_stream_data.write_clip
    monkeypatch.setattr(igde_stream_data, "write_clip", lambda d, **kw: real(d, **{**kw, "frames": 3, "size": (64, 48)}))
    folder = tmp_path / "videos"
    folder.mkdir()
    (folder / "color.mp4").write_bytes(b"the user's own file")
    preview = tmp_path / "p.png"
    assert main(["--demo", str(folder), "--model", str(tiny_model), "--backend", "torch", "-q",
                 "--preview", str(preview)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{folder / 'color.mp4'}: already exists" in err
    assert (folder / "color.mp4").read_bytes() == b"the user's own file" and not preview.exists()
    assert [p.name for p in folder.iterdir()] == ["color.mp4"]

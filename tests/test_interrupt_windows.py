"""An interrupt at the moment the depth output's hidden partial file has just been made (Ctrl-C,
SIGTERM; in a batch worker SIGTERM arrives as SystemExit) leaves no partial file. A scheduler that
stops a job as its writer opens hit this window: the writer's constructor had made the file and was
still setting up the encoder, so no handle existed yet to remove it. The interrupt is raised,
deterministically, from inside the constructor after the file is made (``container_problem`` is
the first check it makes after opening the container)."""

from __future__ import annotations

import os

import pytest

from igde_stream import enhance_file
import igde_stream.stream.writer as writer_module


@pytest.mark.parametrize("stop", [KeyboardInterrupt, SystemExit])
@pytest.mark.parametrize("pattern", [False, True])
def test_an_interrupt_inside_the_writers_setup_leaves_no_partial_file(make_clip, enhancer, monkeypatch, stop, pattern):
    clip = make_clip(n=2)
    folder = clip["out"].parent
    out = folder / "seq" / "%04d.png" if pattern else clip["out"]
    before = sorted(os.listdir(folder))
    made = []
    real = writer_module.container_problem

    def interrupted(*args, **kwargs):
        made.extend(n for n in os.listdir(folder) if "igde-part" in n)  # the file (folder) is there by now
        raise stop()

    monkeypatch.setattr(writer_module, "container_problem", interrupted)
    with pytest.raises(stop):
        enhance_file(clip["color"], clip["depth"], out, enhancer=enhancer)
    assert made  # the window was reached: its partial file existed
    assert sorted(os.listdir(folder)) == before  # and is gone, nothing else written
    monkeypatch.setattr(writer_module, "container_problem", real)
    enhance_file(clip["color"], clip["depth"], out, enhancer=enhancer)  # the same output runs afterwards
    assert (folder / "seq").is_dir() if pattern else clip["out"].is_file()


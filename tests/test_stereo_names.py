"""A stereo pair's file name against the words players take the 3D layout from (RAD: "sbs", "lr",
"rl"; "tb", "bt", "ou"; Commedia: "SBS", "LR", "3Dh"; "TB", "3Dv"; separated by _ - . or a space,
any case). Expected lines are written out by hand for each name."""

from __future__ import annotations

import pytest

from igde_stream import views_cli
from igde_stream.stream.stereo_names import name_note


@pytest.mark.parametrize("name, mode", [
    ("movie_SBS.mp4", "left_right"), ("Movie.LR.mkv", "left_right"), ("clip-3DH.mp4", "left_right"),
    ("my film sbs.mkv", "left_right"), ("film_ou.mkv", "top_bottom"), ("film-TB.mp4", "top_bottom"),
    ("movie.mp4", "anaglyph_cyan_red"), ("movie_TB.mp4", None)])
def test_names_that_say_the_packing_need_nothing(name, mode):
    assert name_note(name, mode) == ("", False)


@pytest.mark.parametrize("name, mode, line", [
    ("movie.mp4", "left_right", "movie.mp4: no word in the name says side by side, which VR players that take the "
     "3D layout from the file name look for (SBS or LR): e.g. movie_SBS.mp4"),
    ("stbx_sbsx.mkv", "top_bottom", "stbx_sbsx.mkv: no word in the name says top and bottom, which VR players that "
     "take the 3D layout from the file name look for (TB or OU): e.g. stbx_sbsx_TB.mkv")])
def test_a_name_without_the_word_gets_advice(name, mode, line):
    assert name_note(name, mode) == (line, False)


@pytest.mark.parametrize("name, mode, said, better", [
    ("movie_TB.mp4", "left_right", "'tb'", "movie_SBS.mp4"),
    ("x_RL_final.mkv", "left_right", "'rl'", "x_final_SBS.mkv"),
    ("a.cross.sbs.mkv", "left_right", "'cross'", "a.sbs_SBS.mkv"),
    ("film_sbs.mkv", "top_bottom", "'sbs'", "film_TB.mkv"),
    ("film_BT.mkv", "top_bottom", "'bt'", "film_TB.mkv")])
def test_a_name_for_another_packing_or_right_eye_first_is_a_warning(name, mode, said, better):
    what = "side by side" if mode == "left_right" else "top and bottom"
    assert name_note(name, mode) == (
        f"{name}: its name says {said}, but it is {what}, left eye first: players that take the 3D layout from the "
        f"name would show it wrong; rename it (e.g. {better})", True)


@pytest.fixture()
def clip(make_clip):
    return make_clip(n=1, color_ext=".mkv")


def test_views_render_says_it(clip, capsys):
    out = clip["out"].parent / "movie_TB.mkv"
    args = ["render", str(clip["color"]), str(clip["depth"]), "--layout", "sbs", "--squeeze"]
    assert views_cli.main(args + ["-o", str(out)]) == 0
    assert [ln for ln in capsys.readouterr().err.splitlines() if "its name says" in ln] == [
        f"igde-stream views: {out}: its name says 'tb', but it is side by side, left eye first: players that take "
        "the 3D layout from the name would show it wrong; rename it (e.g. movie_SBS.mkv)"]
    plain = clip["out"].parent / "movie.mkv"
    assert views_cli.main(args + ["-o", str(plain)]) == 0
    assert f"{plain}: no word in the name says side by side" in capsys.readouterr().out
    assert views_cli.main(args + ["-o", str(plain), "-y", "-q"]) == 0
    assert capsys.readouterr().out == ""


def test_one_pass_views_out_says_it(clip, tiny_model, capsys):
    from igde_stream import cli

    out = clip["out"].parent / "v.mkv"
    assert cli.main([str(clip["color"]), str(clip["depth"]), "-o", str(clip["out"]), "--views-out", str(out),
                     "--layout", "tab", "--model", str(tiny_model), "--backend", "torch"]) == 0
    said = [ln for ln in capsys.readouterr().out.splitlines() if "no word in the name" in ln]
    assert said == [f"{out}: no word in the name says top and bottom, which VR players that take the 3D layout "
                    "from the file name look for (TB or OU): e.g. v_TB.mkv"]

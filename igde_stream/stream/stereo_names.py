"""What a stereo pair's file name tells players that pick the 3D layout from it.

Many VR and media players (on Meta Quest, PS VR2, phones) learn a file's packing from words in its
name, not from its metadata: documented, e.g., by RAD ("sbs", "lr" or "rl"; "tb", "bt" or "ou") and
Commedia ("SBS", "LR", "3Dh"; "TB", "3Dv"), words separated by ``_``, ``-``, ``.`` or a space, any
case. ``name_note`` says, after a run, when a side-by-side or top-and-bottom output's name has no
such word (the player shows the two views flat, side by side, until the user picks the layout), and
warns when it has a word for another packing or for right eye first (``rl``, ``bt``, ``cross``:
the player would show the pair inside out, or cut it the wrong way).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

#: words for a packing, left eye first: side by side (half: 3dh, hsbs) and top and bottom (half: 3dv, htb, hou)
SIDE_BY_SIDE = ("sbs", "lr", "3dh", "hsbs", "fsbs")
TOP_BOTTOM = ("tb", "ou", "tab", "3dv", "htb", "hou", "ftb", "fou")
#: words for right eye first (cross-eyed free viewing), which igde-stream never writes
RIGHT_FIRST = ("rl", "bt", "cross")
_WORDS = {"left_right": (SIDE_BY_SIDE, "side by side", "_SBS"), "top_bottom": (TOP_BOTTOM, "top and bottom", "_TB")}


def _words(path: str | Path) -> set[str]:
    return {w.lower() for w in re.split(r"[_\-. ]+", Path(path).stem) if w}


def name_note(path: str | Path, stereo_mode: str | None) -> tuple[str, bool]:
    """(line, is_warning) for the output ``path`` of a stereo pair packed as ``stereo_mode`` (a
    layout's: ``left_right``, ``top_bottom``); ("", False) where the name says the packing, or for
    another layout (an anaglyph needs no 3D mode)."""
    if stereo_mode not in _WORDS:
        return "", False
    ours, what, tag = _WORDS[stereo_mode]
    words = _words(path)
    other = TOP_BOTTOM if stereo_mode == "left_right" else SIDE_BY_SIDE
    wrong = sorted(words & set(other + RIGHT_FIRST))
    if wrong:
        return (f"{path}: its name says {', '.join(repr(w) for w in wrong)}, but it is {what}, left eye first: players "
                f"that take the 3D layout from the name would show it wrong; rename it (e.g. "
                f"{_suggest(path, tag, wrong)})", True)
    if words & set(ours):
        return "", False
    return (f"{path}: no word in the name says {what}, which VR players that take the 3D layout from the file "
            f"name look for ({' or '.join(w.upper() for w in ours[:2])}): e.g. {_suggest(path, tag, [])}"), False


def _suggest(path: str | Path, tag: str, wrong: list[str]) -> str:
    p = Path(path)
    words = [w for w in re.split(r"([_\-. ]+)", p.stem)]
    kept = re.sub(r"([_\-. ])[_\-. ]+", r"\1", "".join(w for w in words if w.lower() not in wrong)).strip("_-. ")
    return p.with_name(f"{kept or 'views'}{tag}{p.suffix}").name


def say_name(path: str | Path | None, layout: str | None, quiet: bool = False, err: bool = False) -> None:
    """After a run: ``name_note`` of its first views output ``path`` of the layout named ``layout``
    (``display.LAYOUT_CLASSES``; None: grid): a name for another packing is a warning (log
    ``igde_stream.stream``), a name without a word a line of advice on stdout (``err``: stderr), not
    with ``quiet``."""
    from .. import display
    from ..signals import say

    mode = getattr(display.LAYOUT_CLASSES.get(layout or "grid"), "stereo_mode", None)
    line, wrong = name_note(path, mode) if path is not None else ("", False)
    if wrong:
        logging.getLogger("igde_stream.stream").warning(line)
    elif line and not quiet:
        say(line, err=err)


__all__ = ["RIGHT_FIRST", "SIDE_BY_SIDE", "TOP_BOTTOM", "name_note", "say_name"]

"""Image sequences: the files a folder or a printf pattern (``depth/%06d.png``) stands for as an input,
and depth written as an image sequence: ``-o out/%06d.png`` (or ``.tif``, ``.pgm``).

The pattern's folder is the output: frames are written by FFmpeg's image2 muxer, numbered from 0,
into a hidden temporary folder beside it, which is renamed to the pattern's folder when the run is
complete. Depth of more than 8 bits goes into 16-bit images holding the same values (a 10-bit
sample 0..1023 stays 0..1023); 8-bit depth into 8-bit images. ``.pfm`` and ``.exr`` write 32-bit float
(grayf32le), for float depth in: the codes mapped back to the input's units (``floatdepth``). The
folder must be new or empty; with ``-y`` an existing folder that holds nothing but names this pattern
writes (an earlier run's frames: ``%06d.png`` writes 000000.png, ``%d.png`` 0.png, never 000000.png)
is replaced. Anything else in it is refused, so ``-y`` never deletes a file of another name. The files
an OS leaves in a folder it shows (``OS_FILES``: Finder's ``.DS_Store``, Windows' ``Thumbs.db`` and
``desktop.ini``) are no frames and no reason to refuse it: they are moved into the new folder when it
replaces the old (``parts.commit``), never deleted.
An input sequence that changes size or format is refused before any frame (``imagehead``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Iterable

from ..errors import InputError, OutputError

#: Image formats a depth sequence can be written in, by suffix: encoder.
#: ``.ppm`` holds depth as 8 / 16-bit RGB of three equal channels (P6: PPM has no gray; ``.pgm`` is P5 gray),
#: ``.jp2`` as lossless JPEG 2000 (``codecs.CODEC_OPTIONS``), gray of the depth's bits.
SEQUENCE_CODECS = {".png": "png", ".tif": "tiff", ".tiff": "tiff", ".pgm": "pgm", ".ppm": "ppm", ".jp2": "jpeg2000",
                   ".pfm": "pfm", ".exr": "exr"}
#: The encoders among them that write float depth (FFmpeg's TIFF encoder takes no float format).
FLOAT_CODECS = ("pfm", "exr")


def is_pattern(out: str | os.PathLike[str]) -> bool:
    """True for an output such as ``out/%06d.png``: a ``%`` in the name and an image suffix."""
    name = os.path.basename(os.fspath(out))
    return "%" in name and os.path.splitext(name)[1].lower() in SEQUENCE_CODECS


def is_single_image(out: str | os.PathLike[str]) -> bool:
    """True for an output such as ``depth.png``: one image (no ``%``) of a suffix the depth is written
    in exactly (``SEQUENCE_CODECS``), for an input of one frame (a photograph and its depth map)."""
    name = os.path.basename(os.fspath(out))
    return "%" not in name and "://" not in os.fspath(out) and os.path.splitext(name)[1].lower() in SEQUENCE_CODECS


def image_codec(out: str | os.PathLike[str]) -> str | None:
    """The encoder of an image output, a pattern (``out/%06d.png``) or one image (``depth.png``), by
    its suffix; None for a video, a stream or a URL."""
    return sequence_codec(Path(out)) if is_pattern(out) or is_single_image(out) else None


#: a frame number as VFX tools write it: ``####`` (Nuke, Shake: one ``#`` a digit), ``$F4`` (Houdini)
_VFX_PADDING = re.compile(r"#+|\$F(\d?)")


def printf_name(path: str | os.PathLike[str]) -> str | None:
    """``path`` with its VFX frame number (``plate.####.exr``, ``plate.$F4.exr``) as the printf pattern
    FFmpeg reads (``plate.%04d.exr``); None for a name without one or with a ``%`` already."""
    folder, name = os.path.split(os.fspath(path))
    if "%" in name or not _VFX_PADDING.search(name):
        return None

    def printf(m: re.Match[str]) -> str:
        digits = len(m.group(0)) if m.group(0).startswith("#") else int(m.group(1) or 1)
        return "%d" if digits < 2 else f"%0{digits}d"

    return os.path.join(folder, _VFX_PADDING.sub(printf, name))


def padding_hint(path: str | os.PathLike[str]) -> str:
    """For a name with a VFX frame number (``printf_name``), the end of a message naming its printf pattern; else ""."""
    pattern = printf_name(path)
    return "" if pattern is None else f"; {_padding(path)} is not read as a frame number: give the printf pattern {pattern}"


def _padding(path: str | os.PathLike[str]) -> str:
    m = _VFX_PADDING.search(os.path.basename(os.fspath(path)))
    return repr(m.group(0)) if m else ""


def one_image_error(out: Path, frames: str, instead: str | None = None) -> OutputError:
    """The refusal of one image (``depth.png``) for an input of ``frames`` (``"3 frames"``, ``"more
    than one frame"``); ``instead``: what to write, where a pattern is no choice (the views: video)."""
    pattern = printf_name(out)
    if instead is None and pattern is not None:  # plate.####.exr: the user meant a sequence
        return OutputError(f"one image, of an input of {frames}: {_padding(out)} is not read as a frame number: "
                           f"write the printf pattern {pattern} (one image a frame)", out)
    instead = instead or (f"a pattern such as {out.with_name(out.stem + '_%06d' + out.suffix)} "
                          "(one image a frame) or a video")
    return OutputError(f"one image, of an input of {frames}: write {instead}, or add --max-frames 1 for "
                       "the first frame's", out)


def check_float_output(out: Path, codec: str, pix_fmt: str, float_map: object | None) -> None:
    """``OutputError`` for a float output (``.pfm`` / ``.exr``) of depth that came in as integers
    (``float_map``: the run's ``floatdepth.FloatMap``, None for integer depth)."""
    if codec in FLOAT_CODECS and float_map is None:
        raise OutputError(f"a {out.suffix} output writes float depth, for float depth in (PFM, EXR, "
                          f"grayf32le); this depth is {pix_fmt}: write .png or .tif", out)


def check_one_frame(out: Path, frames: int | None, instead: str | None = None) -> None:
    """``OutputError`` (``one_image_error``) for one image of an input that has more frames than one."""
    if frames is not None and frames > 1:
        raise one_image_error(out, f"{frames} frames", instead)


#: images an input folder or pattern may hold
IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", ".pnm", ".dpx", ".exr", ".pfm",
                  ".jp2", ".j2k")
#: Image suffixes a user may give a pattern that this writer does not write (lossy, 8-bit only or no gray;
#: ``.j2k``, a bare JPEG 2000 codestream: JPEG 2000 depth is written as .jp2, the file format).
OTHER_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".j2k", ".qoi")


def pattern_suffix_problem(out: str | os.PathLike[str], depth: bool = False) -> str | None:
    """What is wrong with an image pattern whose suffix the writer does not write (``out/%06d.jpg``),
    with one depth image of such a suffix (``depth``: the depth output, ``depth.jpg``), or with a
    NumPy output (``.npy`` / ``.npz``, file or pattern), or None."""
    name = os.path.basename(os.fspath(out))
    suffix = os.path.splitext(name)[1].lower()
    if suffix in (".npy", ".npz"):  # read by ``arrays``; not an output format
        return ("NumPy arrays are read, not written: write float depth as out/%06d.pfm or .exr (in the input's "
                "units), integer depth as .mkv or out/%06d.png")
    why = " (a bare codestream; JPEG 2000 depth is written as .jp2, the file format)" if suffix == ".j2k" else ""
    if "%" in name and suffix in OTHER_IMAGE_SUFFIXES:
        return (f"image-sequence outputs are {', '.join(sorted(SEQUENCE_CODECS))} (depth kept exactly), not "
                f"{suffix}{why}")
    if depth and suffix in OTHER_IMAGE_SUFFIXES:
        return f"image outputs of depth are {', '.join(sorted(SEQUENCE_CODECS))} (depth kept exactly), not {suffix}{why}"
    return None


def sequence_codec(out: Path) -> str:
    return SEQUENCE_CODECS[out.suffix.lower()]


def number_regex(spec: str) -> str:
    """The frame numbers ``%d`` / ``%0Nd`` writes (FFmpeg zero-pads ``%Nd`` too): N digits or more,
    and no leading zero beyond the padding (``%d``: 0, 7, 12, never 007; ``%03d``: 007, 1234)."""
    width = int(spec[1:-1] or 0)
    return rf"(?:\d{{{width}}}|[1-9]\d{{{width},}})" if width > 1 else r"(?:\d|[1-9]\d+)"


def _name_regex(name: str) -> re.Pattern[str]:
    parts = re.split(r"(%0?\d*d|%%)", name)
    if sum(1 for p in parts if p.startswith("%") and p != "%%") != 1 or any(
            "%" in p for p in parts if not re.fullmatch(r"%0?\d*d|%%", p)):
        raise OutputError("an image-sequence output takes one frame number, %d or %0Nd, e.g. out/%06d.png", name)
    return re.compile("".join(number_regex(p) if p.startswith("%") and p != "%%" else re.escape(p.replace("%%", "%"))
                              for p in parts))


def sequence_written(out: str | os.PathLike[str]) -> bool:
    """Whether the folder of pattern ``out`` holds frames of that pattern: a finished run's, since the
    folder is put in place as a whole (``igde-stream batch --resume`` skips such a clip)."""
    out = Path(out)
    regex = _name_regex(out.name)
    try:
        return out.parent.is_dir() and any(regex.fullmatch(n) for n in os.listdir(out.parent))
    except OSError:
        return False


def _same_folder(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


#: what an OS writes into a folder it shows (Finder's view settings, Explorer's thumbnails and settings):
#: none of the user's frames; compared in lower case but .DS_Store (Windows' names are case-blind)
OS_FILES = (".DS_Store", "thumbs.db", "desktop.ini")


def is_os_file(name: str) -> bool:
    """Whether file ``name`` is one an OS writes into a folder (``OS_FILES``), not the user's."""
    return name == OS_FILES[0] or name.lower() in OS_FILES[1:]


def check_sequence_output(out: Path, overwrite: bool, inputs: Iterable[Path] = ()) -> None:
    """Refuse a pattern whose folder cannot take a new sequence (see the module docstring), or that
    holds one of the ``inputs`` (a file in it, an image folder, or the folder of an input pattern)."""
    regex = _name_regex(out.name)
    folder = out.parent
    for path in inputs:
        if _same_folder(folder, path) or (not os.path.isdir(path) and _same_folder(folder, path.parent)):
            raise OutputError(f"the output folder {str(folder)!r} holds the input {path}", out)
    if "%" in str(folder):
        raise OutputError("only the file name may hold the frame number (%d)", out)
    if str(folder) in ("", "."):
        folder_name = out.name.split("%")[0].rstrip("._- ") or "out"  # shot010_enh.%04d.exr -> shot010_enh/
        raise OutputError(f"an image sequence needs a folder of its own, e.g. {Path(folder_name) / out.name}", out)
    if folder.exists():
        if not folder.is_dir():
            raise OutputError(f"{str(folder)!r} exists and is not a folder", out)
        names = [n for n in os.listdir(folder) if not is_os_file(n)]  # the OS's files stay, moved over
        others = sorted(n for n in names if not regex.fullmatch(n))
        if others:
            raise OutputError(f"folder {str(folder)!r} holds other files ({others[0]}, ...); "
                              "write the sequence into a new folder", out)
        if names and not overwrite:
            raise OutputError(f"folder {str(folder)!r} already holds frames (use -y / --overwrite to replace them)",
                              out)
    parent = folder.parent
    if not parent.is_dir():
        raise OutputError(f"folder {str(parent)!r} does not exist", out)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"folder {str(parent)!r} is not writable", out)
    from .parts import check_name_length  # here: parts imports this module

    check_name_length(folder)  # the frames go into a hidden folder .NAME.igde-part-PID beside it


# ---- input: the files of a folder or a pattern ---------------------------------------------------------

def _pattern_regex(name: str) -> re.Pattern[str]:
    """A regex for the file names a printf pattern (``%d``, ``%06d``, ``%%``) stands for."""
    out, i = [], 0
    while i < len(name):
        m = re.match(r"%(0?)(\d*)d", name[i:])
        if name.startswith("%%", i):
            out.append("%")
            i += 2
        elif m:  # the names FFmpeg opens: N digits, more only without a leading zero (number_regex)
            out.append(f"({number_regex(m.group(0))})")
            i += m.end()
        elif name[i] == "%":
            raise InputError("a pattern takes %d or %0Nd (and %% for a literal %)", name)
        else:
            out.append(re.escape(name[i]))
            i += 1
    if sum(1 for part in out if part.startswith("(")) != 1:
        raise InputError("a pattern needs exactly one frame number (%d or %0Nd), e.g. depth/%06d.png", name)
    return re.compile("".join(out))


def _glob_escape(text: str) -> str:
    return re.sub(r"([\\*?\[\]{}])", r"\\\1", text)


def _folder_images(path: str) -> list[str]:
    """The names of the image files in folder ``path`` (``IMAGE_SUFFIXES``, hidden ones left out), sorted."""
    return sorted(n for n in os.listdir(path) if not n.startswith(".")
                  and os.path.splitext(n)[1].lower() in IMAGE_SUFFIXES and os.path.isfile(os.path.join(path, n)))


def _check_name_order(path: str, names: list[str]) -> None:
    """Refuse a folder whose images are named PREFIX + NUMBER + SUFFIX (one prefix and suffix) with
    numbers that do not ascend in name order (1.png, 10.png, 11.png, 2.png: no zero padding): read in
    name order, as a folder is, its frames would come out of order (1, 10, 11, 2 ...), and the output's
    images numbered 0, 1, 2 ... would hold frames 1, 10, 11. A pattern reads them in number order."""
    parts = _numbered(names)
    if parts is None:
        _check_time_order(path, names)
        return
    numbers = [number for _, number, _ in parts]
    k = next((k for k in range(1, len(numbers)) if numbers[k] < numbers[k - 1]), None)
    if k is not None:
        pattern = os.path.join(path, parts[0][0].replace("%", "%%") + "%d" + parts[0][2])
        raise InputError(f"its images are numbered without zero padding, and a folder is read in name order, "
                         f"where {names[k - 1]} comes before {names[k]}: the frames would be out of order; give "
                         f"the pattern {pattern}, which reads them in number order", path)


def _check_time_order(path: str, names: list[str]) -> None:
    """Refuse a folder whose images are named PREFIX + SECONDS.FRACTION + SUFFIX (one prefix and
    suffix: a render's 9.966667.png, a camera's timestamps) whose times do not ascend in name order:
    whole seconds of several lengths (9.966667.png after 10.000000.png) would be read out of order."""
    parts = [re.fullmatch(r"(.*?)(\d+)\.(\d+)(\.[^.]+)", n) for n in names]
    if len(parts) < 2 or not all(parts) or len({(m.group(1), m.group(4)) for m in parts}) != 1:
        return
    times = [(int(m.group(2)), m.group(3).ljust(30, "0")) for m in parts]  # the fraction's digits compare as text
    k = next((k for k in range(1, len(times)) if times[k] < times[k - 1]), None)
    if k is not None:
        raise InputError(f"its images are named by times in seconds, and a folder is read in name order, where "
                         f"{names[k - 1]} comes before {names[k]}: the frames would be out of order; give the whole "
                         "seconds one length (leading zeros) or link the images in time order into a folder of "
                         "000000.png, 000001.png ... (docs/formats.md, \"Image sequences\")", path)


def sequence_frames(path: str) -> tuple[str, dict[str, str], int]:
    """(what image2 opens, its options, frame count) for a folder or a printf pattern."""
    if os.path.isdir(path):
        names = _folder_images(path)
        if not names:
            from ..bag_read import bag_refusal

            if said := bag_refusal(path):  # a ROS 2 bag's folder (metadata.yaml and its .mcap / .db3)
                raise InputError(said, path)
            raise InputError(f"is a folder without images ({', '.join(IMAGE_SUFFIXES)}); give a video file, "
                             "a folder of images or a pattern such as depth/%06d.png", path)
        suffixes = sorted({os.path.splitext(n)[1] for n in names})
        if len(suffixes) > 1:
            raise InputError(f"folder holds images of several kinds ({', '.join(suffixes)}); give a pattern such as "
                             f"{os.path.join(path, '%06d' + suffixes[0])}", path)
        _check_name_order(path, names)
        # a relative folder as ./NAME: FFmpeg then takes no protocol from a colon in it (seq:1), and the
        # file: prefix parts.ffmpeg_name would give instead is no folder to glob(3), which found nothing
        folder = path if os.path.isabs(path) else os.path.join(os.curdir, path)
        return os.path.join(_glob_escape(folder), "*" + _glob_escape(suffixes[0])), {"pattern_type": "glob"}, len(names)
    folder, name = os.path.split(path)
    if "%" in folder:
        raise InputError("only the file name may hold the frame number (%d)", path)
    regex = _pattern_regex(name)
    if not os.path.isdir(folder or "."):
        raise InputError(f"folder {folder!r} does not exist", path)
    numbers = sorted(int(m.group(1)) for n in os.listdir(folder or ".") if (m := regex.fullmatch(n)))
    if not numbers:
        raise InputError("no file matches this pattern", path)
    start = numbers[0]
    count = next((k for k, n in enumerate(numbers) if n != start + k), len(numbers))
    if count < len(numbers):
        raise InputError(f"the numbering has a gap: frame {frame_name(path, start + count)} is missing "
                         f"({count} frames from {start}, then {len(numbers) - count} more after the gap)", path)
    return path, {"pattern_type": "sequence", "start_number": str(start)}, count


def sequence_files(path: str) -> list[str]:
    """The image files of the folder or pattern ``path``, frame by frame, as ``sequence_frames`` reads
    them (a folder in name order, a pattern from its lowest number)."""
    _, options, count = sequence_frames(path)  # its checks: one kind of image, no gap in the numbers
    if options["pattern_type"] == "glob":
        return [os.path.join(path, n) for n in _folder_images(path)]
    return [frame_name(path, int(options["start_number"]) + k) for k in range(count)]


def first_number(path: str) -> int | None:
    """The number of the first frame of the image (or .npy) sequence ``path``, for outputs numbered as
    their input: a pattern's lowest number; a folder's when every image in it is named PREFIX + NUMBER +
    SUFFIX, one prefix and suffix, the numbers consecutive in name order (``depth/00003.png`` ...);
    else None (names that carry no frame number)."""
    if not os.path.isdir(path):
        try:
            _, options, _ = sequence_frames(path)
        except InputError:
            return None
        return int(options.get("start_number", 0))
    numbers = [n for n, _ in folder_numbers(path) or []]
    return numbers[0] if numbers and numbers == list(range(numbers[0], numbers[0] + len(numbers))) else None


def numbers_of(info: Any) -> int | None:
    """``first_number`` of the input ``info`` (a ``VideoInfo``) describes: its images' (or per-frame .npy
    files'), None for a video, a NumPy clip, names without numbers, or no input."""
    return first_number(info.path) if info is not None and info.kind in ("sequence", "array") else None


def folder_numbers(path: str) -> list[tuple[int, str]] | None:
    """(number, file name) of each image (or .npy) of the folder ``path``, in name order (the order it is
    read), where every one is named PREFIX + NUMBER + SUFFIX with one prefix and suffix; else None."""
    names = _folder_images(path) or sorted(n for n in os.listdir(path) if n.lower().endswith(".npy")
                                           and not n.startswith(".") and os.path.isfile(os.path.join(path, n)))
    parts = _numbered(names)
    return None if parts is None else [(number, n) for (_, number, _), n in zip(parts, names)]


def _numbered(names: list[str]) -> list[tuple[str, int, str]] | None:
    """(prefix, number, suffix) of each name, where every one is PREFIX + NUMBER + SUFFIX with one
    prefix and suffix among them; else (or for no names) None."""
    parts = [re.fullmatch(r"(.*?)(\d+)(\.[^.]+)", n) for n in names]
    if not parts or not all(parts) or len({(m.group(1), m.group(3)) for m in parts}) != 1:
        return None
    return [(m.group(1), int(m.group(2)), m.group(3)) for m in parts]


def frame_name(pattern: str, number: int) -> str:
    """The file FFmpeg's image2 opens for frame ``number`` of a printf ``pattern``: ``%d`` as is, ``%Nd``
    and ``%0Nd`` zero-padded to N digits (Python's ``%`` pads ``%Nd`` with spaces), ``%%`` as ``%``."""
    return re.sub(r"%%|%0?(\d*)d", lambda m: "%" if m.group(0) == "%%" else f"{number:0{m.group(1) or 1}d}", pattern)


__all__ = ["FLOAT_CODECS", "IMAGE_SUFFIXES", "OTHER_IMAGE_SUFFIXES", "SEQUENCE_CODECS", "check_float_output", "check_one_frame",
           "check_sequence_output", "first_number", "is_os_file", "folder_numbers", "frame_name", "image_codec", "is_pattern",
           "is_single_image", "numbers_of", "one_image_error", "padding_hint", "pattern_suffix_problem", "printf_name",
           "sequence_codec", "sequence_files", "sequence_frames"]

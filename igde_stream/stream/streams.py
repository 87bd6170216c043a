"""Which video stream of an input is the colour and which the depth (``choose_stream``), whether a
stream keeps one frame size and pixel format (``check_same_kind``), and whether two inputs' timings
can pair (``check_same_length``, ``check_timing``): image sequences, raw files and NumPy arrays carry
no timing of their own."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import re
from fractions import Fraction
from typing import Any, Callable, Iterator

import av

from ..errors import InputError, PairingError
from .formats import GRAY_FORMATS, YUV_HIGH_FORMATS

log = logging.getLogger("igde_stream.stream")

HDR_TRANSFERS = (16, 18)  # SMPTE ST 2084 (PQ), ARIB STD-B67 (HLG): phone and camera colour
BT2020_PRIMARIES = 9
UNTIMED = ("sequence", "raw", "array")  # input kinds (sources.kind_of, arrays) read at --fps, frame k at k / fps


def _depth_score(s: av.VideoStream) -> int:
    """How much a stream looks like depth: 2 gray (or float), 1 YUV of more than 8 bits, 0 other
    (8-bit YUV, RGB), -1 colour for sure (HDR or BT.2020 tags: what phones record, 10-bit too)."""
    cc = s.codec_context  # None for a codec FFmpeg cannot decode (the reader refuses it)
    if cc is None:
        return 0
    if cc.color_trc in HDR_TRANSFERS or cc.color_primaries == BT2020_PRIMARIES:
        return -1
    if cc.pix_fmt in GRAY_FORMATS or cc.pix_fmt in ("grayf32le", "grayf32be"):
        return 2
    return 1 if cc.pix_fmt in YUV_HIGH_FORMATS else 0


def _gray_bits(s: av.VideoStream) -> int:
    """The bits of a gray (or float) stream's samples: 8 for ``gray``, 16 for ``gray16le``, 32 for float."""
    try:
        return av.VideoFormat(s.codec_context.pix_fmt).components[0].bits
    except (AttributeError, TypeError, ValueError):
        return 0


#: what colour is read for: "model" (the model's guide, and views beside it), "views" or "rgbd" (``views
#: render``, no model: views, or the RGB-D layout), set by ``reading_for``; the HDR warning's advice follows it
READ_FOR: contextvars.ContextVar[str] = contextvars.ContextVar("igde_read_for", default="model")


@contextlib.contextmanager
def reading_for(what: str) -> Iterator[None]:
    """Inputs opened within are read for ``what`` (``READ_FOR``)."""
    token = READ_FOR.set(what)
    try:
        yield
    finally:
        READ_FOR.reset(token)


def warn_hdr_colour(cc: Any, path: str) -> None:
    """Colour tagged PQ or HLG is read as its coded values, not tone-mapped: say so (docs/formats.md),
    with the advice for the model's guide, or (``reading_for("views")``) what views of it hold."""
    if cc is not None and cc.color_trc in HDR_TRANSFERS:
        trc = "PQ" if cc.color_trc == HDR_TRANSFERS[0] else "HLG"
        then = {"views": f"the views hold them in 8 bits and say BT.2020 / {trc}, for a display or player that "
                         "reads the tags",
                "rgbd": "the RGB-D frames hold them in 8 bits, tagged BT.709 as their depth half is, so a player "
                        "shows the colour as SDR"}.get(
            READ_FOR.get(), "the model learned SDR colour and guides less well on it: convert it to SDR first")
        log.warning("%s: HDR colour (%s): read as its coded values without tone mapping, as ffmpeg -pix_fmt rgb24 "
                    "shows it; %s (docs/formats.md, \"HDR colour\")", path, trc, then)


def _is_picture(s: av.VideoStream) -> bool:
    """Cover art (an MP4 ``covr`` atom, a Matroska cover attachment): a still, never the video."""
    return bool(s.disposition & av.stream.Disposition.attached_pic)


def choose_stream(container: av.container.InputContainer, role: str, index: int | None, path: str) -> av.VideoStream:
    """The video stream ``role`` reads: ``index`` (counting video streams from 0), else, cover art
    left aside, colour from the first stream that looks least like depth and depth from the first
    that looks most like it (``_depth_score``: gray, then YUV of more than 8 bits; a stream tagged
    HDR / BT.2020 is colour); a warning when only the bit depth told two YUV streams apart."""
    video = list(container.streams.video)
    if not video:
        kinds = sorted({s.type for s in container.streams})  # a cut MP4's video track may read as data, or not at all
        if not kinds:
            raise InputError("no stream at all (a cut or damaged file?)", path)
        cut = ": a cut or damaged file?" if kinds == ["data"] else ""
        raise InputError(f"no video stream (only {', '.join(kinds)}{cut})", path)
    if index is not None:
        if not 0 <= index < len(video):
            option = "--color-stream" if role == "color" else "--depth-stream"
            raise InputError(f"{option} {index}: the input has {len(video)} video stream"
                             f"{'s' if len(video) > 1 else ''} (0..{len(video) - 1})", path)
        return video[index]
    moving = [s for s in video if not _is_picture(s)] or video
    scores = [_depth_score(s) for s in moving]
    # gray beside gray (an infrared camera's 8 bits beside 16-bit depth): the deeper one is the depth
    ranks = [(score, _gray_bits(s) if score == 2 else 0) for score, s in zip(scores, moving)]
    if role == "color":
        return moving[ranks.index(min(ranks))]
    depth = moving[ranks.index(max(ranks))]
    by_bits = min(ranks)[0] == 2 and min(ranks) < max(ranks)  # gray streams only, of two bit depths
    if (by_bits or max(scores) == 1 and scores.count(0)) and role == "depth":
        # a stream without a decoder (no codec context) scores 0 too
        color = moving[ranks.index(min(ranks))] if by_bits else moving[scores.index(0)]
        log.warning("%s: depth taken from video stream %d (%s) and colour from stream %d (%s) by bit depth alone; "
                    "if they are the other way round, give --color-stream %d --depth-stream %d", path, video.index(depth),
                    depth.codec_context.pix_fmt, video.index(color), getattr(color.codec_context, "pix_fmt", "no decoder"),
                    video.index(depth), video.index(color))
    return depth


def check_same_length(color: Any, depth: Any) -> None:
    """Sequences, raw files and arrays pair by index: refuse colour and depth of different frame
    counts, naming both, before any frame is decoded (``color`` / ``depth``: ``VideoInfo``)."""
    if color.kind in UNTIMED and depth.kind in UNTIMED and color.frames != depth.frames:
        more = "; --pair nearest skips the extra colour frames" if color.frames > depth.frames else ""
        if _stamps(color) and _stamps(depth):  # --pair nearest pairs by position too: image k with image k
            more = (": their names are camera timestamps, which the pairing does not read (TUM RGB-D's rgb/ and "
                    f"depth/); {ASSOCIATE}")
        raise PairingError(
            f"the colour {color.kind} has {color.frames} frames and the depth {depth.kind} {depth.frames}: "
            f"frames pair by index, so both need the same number{more}", f"{color.path}, {depth.path}")


#: how far apart two rates may be (relative) and still be taken for the same: 29.97 and 30000/1001
#: (1e-6 apart) are, 30 and 30000/1001 (1e-3: one frame of drift in 33 s) are not
SAME_RATE = Fraction(1, 10000)


def rates_meet(untimed: Fraction, video: Fraction, time_base: Fraction | None, counts: list[int]) -> bool:
    """Whether an untimed input at ``untimed`` fps and a video at ``video`` fps run at the same rate:
    within ``SAME_RATE``, and beyond it by what the video's rate may be off where FFmpeg estimated it
    from timestamps in a coarse ``time_base`` (Matroska and FLV's 1 ms, no rate declared): two ticks
    over the shorter of the frame ``counts``, so 6 frames of 30000/1001 fps, read as 359/12 (0.18 %
    off), still meet --fps 30000/1001."""
    estimate = 2 * Fraction(time_base) * video / (min(counts) - 1) if time_base and counts and min(counts) > 1 else 0
    return abs(Fraction(untimed) - Fraction(video)) <= (SAME_RATE + estimate) * Fraction(video)


def check_timing(other: Any, depth: Any, role: str = "ground truth", nearest: bool = False,
                 fps_given: bool = False, index: bool = False) -> None:
    """``other`` (the ground truth, or the colour: ``role``) and ``depth`` pair by time. An image
    sequence, raw file or array carries no timing of its own (frame k at k / ``--fps``): beside a video of
    another frame rate its frames would meet the wrong frames, and depth written at the wrong rate
    (``rates_meet``), so refuse it, naming the rate to give (``other`` / ``depth``: ``VideoInfo``).
    ``nearest`` (the colour under ``--pair nearest``, made for streams of two rates) with ``fps_given``
    (``--fps`` said the untimed input's own rate): the two rates may differ; without ``--fps`` the
    refusal asks for the untimed input's own rate, not the video's. ``index``: the caller takes ``--pair
    index`` (the colour's frames paired by place, never refused here), which the refusal then names."""
    check_numbering(other, depth, role)
    if (other.kind in UNTIMED) == (depth.kind in UNTIMED) or other.rate is None or depth.rate is None:
        return
    seq, video = (other, depth) if other.kind in UNTIMED else (depth, other)
    if rates_meet(seq.rate, video.rate, getattr(video, "time_base", None),
                  [n for n in (getattr(seq, "frames", None), getattr(video, "frames", None)) if n]):
        return
    if nearest and fps_given:  # a camera and a depth sensor at two rates, each said
        return
    give = (f"give --fps with its own rate ({float(video.rate):g} where it runs at the video's; --pair nearest "
            "pairs two rates)" if nearest else f"give --fps {float(video.rate):g}"
            + (" (or, where the two run at rates of their own, --pair nearest)" if role == "colour" and fps_given else ""))
    raise PairingError(
        f"the {role if seq is other else 'depth'} {seq.kind} carries no timing and is read at "
        f"{float(seq.rate):g} fps (--fps{'' if fps_given else ', its default'}), but the "
        f"{'depth' if seq is other else role} video runs at {float(video.rate):.3f} fps; {give}{_variable(video, index and role == 'colour')}",
        f"{depth.path}, {other.path}")


def _variable(video: Any, index: bool = False) -> str:
    """Where a video's average rate is off the rate FFmpeg guesses from its timestamps (``VideoInfo``
    ``declared_rate``, which a variable rate puts at its shortest step), the case --fps cannot meet;
    ``index``: ``--pair index`` is named as the way to pair them as they are."""
    from .timing import RATE_SNAP

    declared = getattr(video, "declared_rate", None)
    if not declared or not video.rate or abs(Fraction(video.rate) / Fraction(declared) - 1) <= RATE_SNAP:
        return ""
    return (f" (FFmpeg's average rate of it; it guesses {float(declared):g} fps from the timestamps): if its frames come at "
            "irregular times (a variable frame rate, as phones record), no --fps pairs each image with its frame; "
            + ("--pair index pairs them so, as they are; or " if index else "")
            + f"re-time the video onto the rate R the depth was made at first, {retime_command(video.path, 'R')}, "
            'then --fps R (docs/formats.md, "Variable frame rate")')


def retime_command(path: Any, rate: Any) -> str:
    """The FFmpeg command that puts the frames of a variable-rate video ``path`` on the grid of ``rate``
    frames a second (frame k at k / rate, in order; losslessly), the filter quoted for a shell."""
    return f'ffmpeg -i {path} -vf "setpts=N/({rate}*TB)" -r {rate} -c:v ffv1 color_cfr.mkv'


def _numbers(info: Any) -> list[tuple[int, str]] | None:
    """(number, file name) of each image of an image sequence whose names carry frame numbers: a
    folder's where every name does (``imageseq.folder_numbers``), a pattern's (consecutive); else None."""
    from .imageseq import first_number, folder_numbers, sequence_files

    path = str(getattr(info, "path", ""))
    if getattr(info, "kind", None) != "sequence":
        return None
    try:
        if not os.path.isdir(path):
            start = first_number(path) or 0
            return [(start + k, os.path.basename(f)) for k, f in enumerate(sequence_files(path))]
        numbers = folder_numbers(path)
    except (InputError, OSError):  # not there (any more): the reader says so, not this check
        return None
    if numbers and _DECIMAL.search(numbers[0][1]):  # seconds.fraction: a timestamp, no frame number
        return None
    if not numbers or len(numbers) < 2:
        return numbers
    steps = sorted(b - a for (a, _), (b, _) in zip(numbers, numbers[1:]))
    # frame numbers step by 1, or a few where frames are left out; camera timestamps (TUM's
    # 1305031102.175304.png, microseconds, milliseconds) by the frame time: no frame numbers
    return numbers if steps[len(steps) // 2] <= MAX_FRAME_STEP else None


#: A folder's names are frame numbers where their median step is at most this (every 10th frame kept).
MAX_FRAME_STEP = 10
#: seconds.fraction, a timestamp: a name that is that alone (1305031102.175304.png, 0.033.png), or a
#: separator then 9 digits or more before the point (rgb_1305031102.175304.png: Unix seconds); not a version
#: or a date before a frame number, as VFX names have them (shot010_v1.1001.exr, plate.2.0001.png,
#: plate_20240101.1001.exr: frames 1001, 1, 1001)
_DECIMAL = re.compile(r"^\d+\.\d+\.[^.]+$|(?:^|[^A-Za-z0-9])\d{9,}\.\d+\.[^.]+$")


#: what to do with two folders named by their own cameras' timestamps
ASSOCIATE = ("match them by time first (TUM's associate.py rgb.txt depth.txt) and give two folders of the matched "
             "images, in that order (docs/formats.md, \"Image sequences\")")


def _stamps(info: Any) -> list[tuple[Fraction, str]] | None:
    """(time, file name) of each image of a folder whose names are camera timestamps: seconds.fraction
    (``_DECIMAL``: TUM's 1305031102.175304.png), or integers that step by more than ``MAX_FRAME_STEP``
    (micro- or milliseconds; their unit unknown, so only compared with names of the same form); else None."""
    from .imageseq import folder_numbers, sequence_files

    path = str(getattr(info, "path", ""))
    if getattr(info, "kind", None) != "sequence" or not os.path.isdir(path):
        return None
    try:
        names = [os.path.basename(f) for f in sequence_files(path)]
        numbers = folder_numbers(path)
    except (InputError, OSError):
        return None
    if len(names) < 2:
        return None
    found = [re.search(r"(\d+\.\d+)\.[^.]+$", n) if _DECIMAL.search(n) else None for n in names]
    if all(found):
        return [(Fraction(m.group(1)), n) for m, n in zip(found, names)]
    if numbers and not any(found) and _numbers(info) is None:
        return [(Fraction(k), n) for k, n in numbers]
    return None


def image_list(path: Any) -> str | None:
    """What to say of ``path`` where it is a text list of images, as TUM RGB-D's rgb.txt, depth.txt
    and associate.py's output are (``# comments``, then lines of ``TIME PATH`` pairs, one or two) or
    an image-pair list such as Open3D's ICL-NUIM ``rgbd.match`` (``PATH PATH``); else None. FFmpeg reads
    it as no video at all."""
    from .imageseq import IMAGE_SUFFIXES

    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except (OSError, TypeError):
        return None
    # a BOM (Notepad), names in another encoding or a character cut at 4096 bytes: no reason to say less;
    # a file of other bytes fails the line test below all the same
    text = head.decode("utf-8-sig", errors="replace")
    lines = [ln.split() for ln in text.splitlines()[:-1 if len(head) == 4096 else None]
             if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines or any(len(ln) not in (2, 4) for ln in lines):
        return None
    def image(name: str) -> bool:
        return os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES

    for ln in lines:
        if not (all(image(n) for n in ln) or all(re.fullmatch(r"\d+(\.\d+)?", t) and image(n)
                                                 for t, n in zip(ln[::2], ln[1::2]))):
            return None
    return ("a text list of images (TUM RGB-D's rgb.txt, depth.txt, associate.py's output, an rgbd.match), not a video: "
            f"the images themselves go in, as two folders; {ASSOCIATE}")


def _stamps_apart(a: list[tuple[Fraction, str]], b: list[tuple[Fraction, str]], role: str) -> str | None:
    """Where image k of two timestamp-named folders (``a``: the ``role``'s, ``b``: the depth's) lie more
    than a frame apart (the depth's median step between images), so that pairing by position meets
    images of other moments (a frame dropped from one camera): the problem, said; else None."""
    seconds = "." in b[0][1].rsplit(".", 1)[0]
    if ("." in a[0][1].rsplit(".", 1)[0]) != seconds:
        return None  # seconds beside integers of an unknown unit
    steps = sorted(y - x for (x, _), (y, _) in zip(b, b[1:]))
    step = steps[len(steps) // 2]
    # spans that do not meet: two clocks (a render's seconds from 0 beside a sensor's Unix time), compared
    # from each one's first image on; spans that meet are one clock, however late one camera started
    base = a[0][0] - b[0][0] if a[-1][0] < b[0][0] or b[-1][0] < a[0][0] else 0
    k = next((k for k, ((ta, _), (tb, _)) in enumerate(zip(a, b)) if abs(ta - base - tb) > step), None)
    if k is None or step <= 0:
        return None
    unit = (lambda t: f"{float(t):.3f} s") if seconds else (lambda t: f"{int(t)}")
    clocks = ", counted from each one's first image" if base else ""
    return (f"image {k} of the {role} is {a[k][1]} and of the depth {b[k][1]}: their names are timestamps "
            f"{unit(abs(a[k][0] - base - b[k][0]))} apart{clocks}, more than a depth frame ({unit(step)}), and image sequences "
            f"pair by position, not by time; {ASSOCIATE}")


def check_numbering(other: Any, depth: Any, role: str = "ground truth") -> None:
    """Image sequences pair by position (image k with frame k), never by name: refuse ``other`` (the
    ground truth) and ``depth`` where the frame numbers their names carry say that position pairs the
    wrong frames, whose PSNR would be reported; for the colour (``role``), which only guides, warn. Two
    numbered sequences whose numbers step apart (a ground truth of every other frame, 0, 2, 4, beside
    depth 0, 1, 2: image 1 would score 000002.png against depth frame 1); a numbered folder with a gap
    beside a video, whose frame k its image k would meet. A constant offset (colour from 1, depth from 0)
    and the same gaps in both pair right and pass."""
    a, b = _numbers(other), _numbers(depth)
    problem = None
    sa, sb = (_stamps(other), _stamps(depth)) if not (a or b) else (None, None)
    if sa and sb:
        problem = _stamps_apart(sa, sb, role)
    elif a and b:
        k = next((k for k, ((na, _), (nb, _)) in enumerate(zip(a, b)) if na - a[0][0] != nb - b[0][0]), None)
        if k is not None:
            problem = (f"image {k} of the {role} is {a[k][1]} and of the depth {b[k][1]}: image sequences pair by "
                       f"position, not by name, so from there the {role}'s frame numbers are not the depth's; give "
                       "both the same frames (one image each)")
    else:
        for seq, beside, name in ((a, depth, role), (b, other, "depth")):
            gap = next((k for k in range(1, len(seq)) if seq[k][0] != seq[k - 1][0] + 1), None) \
                if seq and beside.kind not in UNTIMED else None
            if gap is not None:
                problem = (f"the {name} images are numbered with a gap ({seq[gap - 1][1]}, then {seq[gap][1]}), but "
                           f"an image sequence is timed by position, image k at k / --fps, so {seq[gap][1]} would "
                           f"meet frame {gap} of the video beside it; give an image for every frame")
                break
    if problem is None:
        return
    if role == "colour":
        log.warning("%s, %s: %s (paired by position, as they are)", depth.path, other.path, problem)
    else:
        raise PairingError(problem, f"{depth.path}, {other.path}")


__all__ = ["BT2020_PRIMARIES", "HDR_TRANSFERS", "READ_FOR", "check_numbering", "check_same_kind", "check_same_length",
           "check_timing", "choose_stream", "rates_meet", "reading_for", "warn_hdr_colour", "retime_command"]


def check_same_kind(size: tuple[int, int], fmt: str, count: int, file: str | None, pts_time: float,
                    depth_fmt: str | None, first: tuple[int, int] | None, role_name: str,
                    check_format: Callable[[str], None] | None, path: str) -> str | None:
    """Refuse frame ``count`` (``size`` W x H, pixel format ``fmt``) where its size differs from the
    ``first`` frame's, or (depth: with ``check_format`` for the first frame's format) where its pixel
    format differs from the first's; returns the depth stream's format (None without
    ``check_format``: colour, packed halves). The message names the frame by its image ``file``, else
    by its time."""
    def where() -> str:  # built only for a message
        return f"{count} ({os.path.basename(file) if file else f'{pts_time:.3f} s'})"

    if first is not None and size != first:
        raise InputError(f"frame size changes mid-stream at frame {where()}: {first[0]}x{first[1]} before, "
                         f"{size[0]}x{size[1]} from there (a {role_name} stream must keep one size)", path)
    if check_format is None:
        return None
    if depth_fmt is None:
        check_format(fmt)
    elif fmt != depth_fmt:
        raise InputError(f"pixel format changes mid-stream at frame {where()}: {depth_fmt} before, {fmt} from "
                         f"there (a {role_name} stream must keep one format)", path)
    return fmt

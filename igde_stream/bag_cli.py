"""``igde-stream bag BAG OUTDIR``: a ROS bag's colour and depth images as two folders that pair by position.

A bag (a RealSense Viewer recording, ``rosbag record``, ``ros2 bag record``: ``igde_stream.bag_read``) holds
each camera's images at their own times and rates. Each depth image is paired with the colour image
nearest it in time (its header stamp; the earlier of two equally near; a colour image may serve two depth
images, where TUM RGB-D's associate.py uses each once), and the pairs are written as
``OUTDIR/color/000000.png ...`` (8-bit RGB) and ``OUTDIR/depth/000000.png ...`` (16-bit, the values as
recorded) or ``.npy`` (32FC1 metres, NaN kept), with ``pairs.txt`` (associate.py's lines: colour time,
file, depth time, file) and ``bag.json`` (the topics, depth units, rate and counts). It prints the
``igde-stream`` command that enhances them. The folder appears whole at the end, or not at all.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .cli_logging import setup_logging
from .cli_parser import OneLineParser
from .signals import EXIT_OK, EXIT_USER_ERROR, Terminated, say, signals_raise, stopped

PROG = "igde-stream bag"
log = logging.getLogger("igde_stream.cli")

EXAMPLES = """\
examples:
  igde-stream bag recording.bag rec/
      a RealSense Viewer (ROS 1) bag: rec/color, rec/depth, rec/pairs.txt, rec/bag.json; then the
      igde-stream command it prints, e.g. igde-stream rec/color rec/depth -o rec/enhanced/%06d.png
      --fps 30 --depth-order far-high --max-depth 4000
  igde-stream bag ros2_bag/ rec/ --depth-topic /camera/aligned_depth_to_color/image_raw
      a ROS 2 bag (its folder, .mcap or .db3), choosing the depth topic
  igde-stream bag ros2_bag/ rec/ --align
      the depth registered to the colour camera with the bag's camera_info and /tf_static
  igde-stream bag recording.bag --list
      the bag's image topics, their encodings, sizes and counts

Needs the rosbags library: pip install "igde-stream[ros]". exit status: 0 done, 2 bad bag, topic or
OUTDIR (one line, nothing written), 130 Ctrl-C, 143 SIGTERM (nothing left behind).
"""


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog=PROG, description="Export a ROS bag's colour and depth images, paired by time, as "
                                             "two image folders for igde-stream.",
                      epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("bag", metavar="BAG", help="a ROS 1 .bag, or a ROS 2 bag (its folder, .mcap or .db3)")
    p.add_argument("outdir", metavar="OUTDIR", nargs="?", help="a folder that does not exist yet")
    p.add_argument("--depth-topic", metavar="TOPIC", help="the depth images (default: an aligned_depth_to_color "
                   "topic, else the first 16UC1 / mono16 / 32FC1 topic named depth)")
    p.add_argument("--color-topic", metavar="TOPIC", help="the colour images (default: the first rgb8 / bgr8 / "
                   "rgba8 / bgra8 or compressed topic, those named color or rgb first; then YUV 4:2:2 and Bayer "
                   "ones; mono8 last)")
    p.add_argument("--max-gap", type=float, metavar="S", help="pair a depth image only with colour within S seconds "
                   "(default: one colour frame, the colour's median step)")
    p.add_argument("--align", action="store_true", help="register the depth to the colour camera with the bag's "
                   "camera_info and /tf_static (depth at the colour's size; for depth not recorded aligned)")
    p.add_argument("--list", action="store_true", help="list the bag's image topics and stop")
    p.add_argument("-q", "--quiet", action="store_true", help="errors only")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if not args.list and args.outdir is None:
        parser.error("OUTDIR is required (or --list)")
    if args.max_gap is not None and not (args.max_gap > 0 and math.isfinite(args.max_gap)):
        parser.error(f"--max-gap must be a positive number of seconds, got {args.max_gap}")
    setup_logging(args.quiet)
    from .errors import IGDEError, OutputError, cli_message

    part = None
    try:
        with signals_raise():
            if args.list:
                return _list(args.bag)
            part = _part_dir(args.outdir)
            try:
                summary = export(args.bag, part, args.depth_topic, args.color_topic, args.max_gap, final=args.outdir,
                                 align=args.align)
            except OSError as exc:  # a write (a full disk): the bag's own read errors are InputError
                raise OutputError(f"cannot be written: {exc.strerror or exc}", args.outdir) from None
            try:
                os.rename(part, args.outdir)
            except OSError as exc:  # made meanwhile by another program
                raise OutputError(f"cannot be written: {exc.strerror}", args.outdir) from None
            part = None
    except IGDEError as exc:
        print(f"igde-stream: error: {cli_message(exc)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt as e:
        return stopped("igde-stream", "term" if isinstance(e, Terminated) else "int")
    finally:
        if part is not None:
            shutil.rmtree(part, ignore_errors=True)
    if not args.quiet:
        _say_summary(args.outdir, summary)
    return EXIT_OK


def _part_dir(outdir: str) -> str:
    from .errors import OutputError
    from .stream.parts import temp_path

    out = os.path.normpath(outdir)
    if os.path.lexists(out):
        raise OutputError("exists: give a folder that does not exist yet (nothing is overwritten)", outdir)
    parent = os.path.dirname(out) or os.curdir
    if not os.path.isdir(parent):
        raise OutputError(f"its folder {parent} does not exist", outdir)
    part = str(temp_path(Path(out)))  # the hidden name every output of the project is written under
    try:
        os.makedirs(os.path.join(part, "color"))
        os.makedirs(os.path.join(part, "depth"))
    except OSError as exc:
        raise OutputError(f"cannot be written: {exc.strerror}", outdir) from None
    return part


def _list(path: str) -> int:
    from .bag_read import image_topics, open_bag

    with open_bag(path) as reader:
        for t in image_topics(reader):
            size = f"{t.size[0]}x{t.size[1]}" if t.size else "compressed"
            say(f"{t.name}  {t.encoding}  {size}  {t.count} images  {t.role or 'not read'}")
    return EXIT_OK


def _choose(topics: list[Any], role: str, name: str | None, path: str) -> Any:
    from .bag_read import COLOUR_ENCODINGS, COMPRESSED
    from .errors import InputError

    option, word = f"--{role}-topic", "colour" if role == "color" else role
    if name is not None:
        t = next((t for t in topics if t.name == name), None)
        if t is None:
            raise InputError(f"no image topic {name}; its image topics: "
                             f"{', '.join(t.name for t in topics) or 'none'} (igde-stream bag BAG --list)", path)
        if t.role != role:
            kinds = ("16UC1, mono16, 32FC1, compressedDepth" if role == "depth"
                     else "rgb8, bgr8, rgba8, bgra8, mono8, yuv422, yuv422_yuy2, uyvy, yuyv, bayer_rggb8 / bggr8 / "
                     "gbrg8 / grbg8 and their 16-bit forms, JPEG / PNG")
            if t.role is None:
                raise InputError(f"{word} topic {name} is in encoding {t.encoding}, which is not read ({word} "
                                 f"encodings read: {kinds})", path)
            raise InputError(f"{name} holds {t.encoding} images, not {word} ({kinds})", path)
        return t
    found = [t for t in topics if t.role == role]
    if not found:
        listed = ", ".join(f"{t.name} ({t.encoding}{'' if t.role else ', not read'})" for t in topics) or "none"
        raise InputError(f"no {word} image topic (image topics: {listed}); igde-stream needs a colour guide and "
                         f"depth, {option} picks one where its encoding is read", path)

    def rank(t: Any) -> tuple[int, int]:
        n = t.name.lower()
        if role == "depth":  # the sensor's integers before a float copy of them
            return 0 if "aligned_depth_to_color" in n else 1 if "depth" in n else 2, "32fc1" in t.encoding.lower()
        enc = t.encoding.lower()  # RGB as recorded, then what OpenCV converts here (YUV, Bayer), then gray
        return 2 if enc == "mono8" else 0 if enc in COLOUR_ENCODINGS or t.msgtype == COMPRESSED else 1, \
            0 if ("color" in n or "rgb" in n) else 1

    chosen = min(found, key=rank)  # min keeps the first by name among equals
    if len(found) > 1:
        log.info("%s: %s topic %s (%s); %s picks another of %s", path, word, chosen.name, chosen.encoding, option,
                 ", ".join(t.name for t in found if t is not chosen))
    return chosen


def _pairs(depth_ns: np.ndarray, color_ns: np.ndarray, max_gap: float | None) -> tuple[list[tuple[int, int]], float]:
    """(depth message index, colour message index) of each kept pair in depth time order, and the gap
    used (s): each depth image with the colour image nearest it in time, kept where within the gap."""
    corder = np.argsort(color_ns, kind="stable")
    ctimes = color_ns[corder]
    if max_gap is None:
        max_gap = float(np.median(np.diff(ctimes))) / 1e9 if len(ctimes) > 1 else math.inf
    pairs = []
    for i in np.argsort(depth_ns, kind="stable"):
        j = int(np.searchsorted(ctimes, depth_ns[i]))
        near = min((k for k in (j - 1, j) if 0 <= k < len(ctimes)),
                   key=lambda k: abs(int(ctimes[k]) - int(depth_ns[i])))
        if abs(int(ctimes[near]) - int(depth_ns[i])) <= max_gap * 1e9:
            pairs.append((int(i), int(corder[near])))
    return pairs, max_gap


def _rate(ns: list[int]) -> str:
    """The median rate of times ``ns`` as --fps takes it (30, 29.97, 15), or 25 for one image."""
    if len(ns) < 2:
        return "25"
    step = float(np.median(np.diff(np.asarray(ns, np.int64)))) / 1e9
    return f"{1 / step:.2f}".rstrip("0").rstrip(".") if step > 0 else "25"


def export(bag: str, outdir: str, depth_topic: str | None = None, color_topic: str | None = None,
           max_gap: float | None = None, final: str | None = None, align: bool = False) -> dict[str, Any]:
    """Write ``bag``'s paired colour and depth images into ``outdir`` (which holds ``color/`` and ``depth/``,
    empty; ``final``: the name it will have, for the command; ``align``: the depth registered to the colour
    camera, ``bag_align``); return what ``bag.json`` holds."""
    import cv2

    from .bag_align import aligner, camera_info, check_size, depth_to_colour, static_transforms
    from .bag_read import decode, depth_units, image_topics, messages, open_bag
    from .errors import InputError

    with open_bag(bag) as reader:
        topics = image_topics(reader)
        dt, ct = _choose(topics, "depth", depth_topic, bag), _choose(topics, "color", color_topic, bag)
        units = depth_units(reader)
        registered = aligner(reader, dt.name, ct.name, dt.size, units or 0.001, bag, ct.size) if align else None
        cams = (camera_info(reader, dt.name), camera_info(reader, ct.name))
        can_align = None not in cams and depth_to_colour(static_transforms(reader), cams[0].frame, cams[1].frame) \
            is not None
        depth_ns = np.array([t for t, _ in messages(reader, dt)], np.int64)
        color_ns = np.array([t for t, _ in messages(reader, ct)], np.int64)
        pairs, gap = _pairs(depth_ns, color_ns, max_gap)
        if not pairs:
            raise InputError(f"no depth image of {dt.name} has a colour image of {ct.name} within {gap:.3f} s "
                             "(--max-gap S widens it)", bag)
        out_of = {i: k for k, (i, _) in enumerate(pairs)}
        colour_for: dict[int, list[int]] = {}
        for k, (_, j) in enumerate(pairs):
            colour_for.setdefault(j, []).append(k)
        hist, hi, shape, suffix = np.zeros(65536, np.int64), 0.0, None, ".png"
        for i, (_, msg) in enumerate(messages(reader, dt)):
            if i not in out_of:
                continue
            d = decode(msg, dt, bag)
            if shape is not None and d.shape != shape:
                raise InputError(f"depth topic {dt.name} changes size at image {i} ({d.shape[1]}x{d.shape[0]}, "
                                 f"first {shape[1]}x{shape[0]})", bag)
            shape = d.shape
            if registered is not None:
                check_size(registered.depth, dt.name, (d.shape[1], d.shape[0]), bag)
                d = registered(d)
            name = os.path.join(outdir, "depth", f"{out_of[i]:06d}")
            if d.dtype == np.float32:
                suffix = ".npy"
                np.save(name + suffix, d)
                finite = d[np.isfinite(d) & (d > 0)]
                hi = max(hi, float(finite.max()) if finite.size else 0.0)
            else:
                hist += np.bincount(d.ravel(), minlength=65536)
                _written(cv2.imwrite(name + suffix, d), name + suffix, final or outdir)
        csize = None
        for j, (_, msg) in enumerate(messages(reader, ct)):
            if j not in colour_for:
                continue
            rgb = np.ascontiguousarray(decode(msg, ct, bag)[..., ::-1])  # OpenCV writes BGR
            if csize is not None and rgb.shape != csize:
                raise InputError(f"colour topic {ct.name} changes size at image {j}", bag)
            csize = rgb.shape
            if registered is not None:
                check_size(registered.colour, ct.name, (rgb.shape[1], rgb.shape[0]), bag)
            first = os.path.join(outdir, "color", f"{colour_for[j][0]:06d}.png")
            _written(cv2.imwrite(first, rgb), first, final or outdir)
            for k in colour_for[j][1:]:
                shutil.copyfile(first, os.path.join(outdir, "color", f"{k:06d}.png"))
    with open(os.path.join(outdir, "pairs.txt"), "w") as f:
        f.write("# colour time, file, depth time, file (TUM associate.py's form); igde-stream bag " + bag + "\n")
        for k, (i, j) in enumerate(pairs):
            f.write(f"{color_ns[j] / 1e9:.6f} color/{k:06d}.png {depth_ns[i] / 1e9:.6f} depth/{k:06d}{suffix}\n")
    kept_ns = [int(depth_ns[i]) for i, _ in pairs]
    summary: dict[str, Any] = {
        "bag": bag, "depth_topic": dt.name, "depth_encoding": dt.encoding, "color_topic": ct.name,
        "color_encoding": ct.encoding, "depth_size": [d.shape[1], d.shape[0]], "color_size": [csize[1], csize[0]],
        "pairs": len(pairs), "depth_images": len(depth_ns), "color_images": len(color_ns),
        "unpaired_depth": len(depth_ns) - len(pairs), "max_gap_s": gap, "fps": _rate(kept_ns),
        "depth_units_m": 1.0 if suffix == ".npy" else units or 0.001,
        "depth_units_from": "32FC1 is metres" if suffix == ".npy" else "the bag's Depth Units option" if units
        else "ROS's millimetres (REP 118)",
        "aligned": align or any(w in dt.name.lower() for w in ("aligned", "registered")), "registered": align,
        "can_align": can_align,
    }
    if suffix == ".npy":
        summary["float_range"] = [0.0, math.ceil(hi * 10) / 10 if hi > 0 else 1.0]
    else:
        measured = np.cumsum(hist[1:])
        p = int(np.searchsorted(measured, 0.995 * measured[-1])) + 1 if measured[-1] else 65535
        step = max(1, round(0.5 / summary["depth_units_m"]))  # half a metre
        summary["max_depth"] = min(65535, math.ceil(p / step) * step)
    summary["command"] = command(summary, final or outdir)
    with open(os.path.join(outdir, "bag.json"), "w") as f:
        json.dump(summary, f, indent=2)
    return summary


def _written(ok: bool, path: str, outdir: str) -> None:
    """OutputError where OpenCV could not write image ``path`` (it answers False, as on a full disk)."""
    if not ok:
        from .errors import OutputError

        raise OutputError(f"cannot be written: OpenCV could not write {os.path.basename(path)}", outdir)


def command(s: dict[str, Any], d: str) -> str:
    """The igde-stream command for the export of summary ``s`` in folder ``d``."""
    out = os.path.join(d, "enhanced", "%06d" + (".exr" if "float_range" in s else ".png"))
    rng = (f"--float-range {s['float_range'][0]:g}:{s['float_range'][1]:g}" if "float_range" in s
           else f"--max-depth {s['max_depth']}")
    q = shlex.quote
    return (f"igde-stream {q(os.path.join(d, 'color'))} {q(os.path.join(d, 'depth'))} -o {q(out)} --fps {s['fps']} "
            f"--depth-order far-high {rng}")


def _say_summary(outdir: str, s: dict[str, Any]) -> None:
    unit = f"{s['depth_units_m'] * 1000:g} mm" if s["depth_units_m"] < 1 else "1 m"
    say(f"wrote {outdir}: {s['pairs']} colour + depth pairs ({s['depth_topic']} {s['depth_encoding']} "
        f"{s['depth_size'][0]}x{s['depth_size'][1]}{' registered to the colour camera' if s['registered'] else ''} "
        f"in units of {unit}, {s['depth_units_from']}; {s['color_topic']} "
        f"{s['color_encoding']} {s['color_size'][0]}x{s['color_size'][1]}), {s['fps']} fps")
    if s["unpaired_depth"]:
        say(f"igde-stream: {s['unpaired_depth']} of {s['depth_images']} depth images had no colour image within "
            f"{s['max_gap_s']:.3f} s and were left out (--max-gap S)", err=True)
    if not s["aligned"]:
        say(f"igde-stream: {s['depth_topic']} is the depth camera's own view, not registered to the colour camera: "
            "the colour's edges sit off the depth's, more on near objects; "
            + ("--align registers it with the bag's camera_info and /tf_static" if s["can_align"] else
               "record depth aligned to the colour (RealSense SDK: rs.align; ROS 2 wrapper: align_depth.enable:=true, "
               "topic aligned_depth_to_color)") + " (docs/formats.md, \"ROS bags\")", err=True)
    say(f"next: {s['command']}")

"""Depth clips saved as NumPy arrays, as monocular video-depth estimators write them: read by NumPy,
not FFmpeg, and handed on as any depth stream's frames (``ArrayReader``, a ``VideoReader``).

- **One .npy**: T x H x W (a clip) or H x W (one frame), read through a memory map (``np.load(...,
  mmap_mode="r")``), a frame at a time.
- **One .npz** (Video Depth Anything's ``--save_npz``, DepthCrafter's ``depth``): the array named
  ``clip.npz:KEY``; else its only array; else the one named ``depth``; else an error listing the
  names. Its member is read from the zip a frame at a time (memory stays flat however long the clip).
- **Per-frame .npy files**: a folder (file-name order, hidden files left out) or a printf pattern
  ``depth/%06d.npy`` (numbered without gaps from its lowest number, as image sequences), each H x W.

Arrays carry no timing: frame k is shown at k / ``--fps`` (default 25), as an image sequence, and
pairs with colour as one does (``streams.check_timing``, ``check_same_length``). Float arrays
(float16, float32, float64; float64 read as float32, what PFM holds) are float depth, mapped to
16-bit codes by the run's ``floatdepth.FloatMap`` exactly as PFM / EXR are (NaN: no value); uint8 and
uint16 are integer depth, as from 8 / 16-bit PNG. Any other type (signed or wider integers, bool,
complex, objects: never unpickled), a shape that is not H x W or T x H x W, or 3 channels is refused
in one line. Arrays are depth (and ground truth) only, never colour.
"""

from __future__ import annotations

import logging
import os
import zipfile
import zlib
from fractions import Fraction
from typing import Any, BinaryIO, Iterator

import numpy as np

from ..errors import CorruptInputError, InputError
from .exrdepth import ExrChannelClip, channel_input, unfit_choice
from .imageseq import IMAGE_SUFFIXES, sequence_files
from .info import Frame, VideoInfo
from .orientation import Orientation
from .reader import VideoReader
from .sources import DEFAULT_FPS, InputOptions, check_input_path
from .urls import read_once

log = logging.getLogger("igde_stream.stream")

ARRAY_SUFFIXES = (".npy", ".npz")
NPZ_DEPTH_KEY = "depth"  # the array an .npz of several is read from (DepthCrafter's name)
TYPES = "float (float16, float32, float64) or uint8 / uint16"


def split_key(path: str) -> tuple[str, str | None]:
    """``clip.npz:KEY`` -> (``clip.npz``, ``KEY``); any other path (or an existing file of that
    name) as it is, with no key."""
    cut = path.lower().rfind(".npz:")
    if cut < 0 or os.path.exists(path):
        return path, None
    return path[:cut + 4], path[cut + 5:]


def _listing(folder: str, suffixes: tuple[str, ...]) -> list[str]:
    """The files of ``folder`` with one of ``suffixes``, hidden ones left out, in name order."""
    return sorted(n for n in os.listdir(folder) if not n.startswith(".")
                  and os.path.splitext(n)[1].lower() in suffixes and os.path.isfile(os.path.join(folder, n)))


def is_array_input(path: str, role: str, channel: str | None = None) -> bool:
    """Whether ``path`` is a NumPy input: a .npy / .npz file (``clip.npz:KEY`` too), a ``%d`` pattern of
    .npy files, or a folder of .npy files (for colour only one without images: its images are read).
    ``channel``: the depth's OpenEXR channel (``InputOptions.depth_channel``), refused for another input."""
    if read_once(path):  # stdin, a network stream
        if channel is not None and role == "depth":
            raise unfit_choice(channel, path)
        return False
    if channel_input(path, role, channel) is not None:  # OpenEXR depth in a channel FFmpeg does not read (exrdepth)
        return True
    if os.path.splitext(split_key(path)[0])[1].lower() in ARRAY_SUFFIXES:
        return True
    if not os.path.isdir(path):
        return False
    try:
        return bool(_listing(path, (".npy",))) and (role != "color" or not _listing(path, IMAGE_SUFFIXES))
    except OSError:
        return False


def _refuse_type(dtype: np.dtype, where: str) -> bool:
    """True for float depth, False for integer; ``InputError`` for any other sample type."""
    if dtype.kind == "f" and dtype.itemsize in (2, 4, 8):
        return True
    if dtype.kind == "u" and dtype.itemsize in (1, 2):
        return False
    what = {"b": "bool", "O": "Python object", "c": "complex", "V": "structured"}.get(dtype.kind, str(dtype))
    hint = "; cast it first, e.g. a.astype(np.uint16) or a.astype(np.float32)" if dtype.kind in "iu" else ""
    if dtype.kind == "i":  # a stereo matcher's disparity (OpenCV SGBM: int16 x 16, -16 invalid): astype wraps
        hint = ("; cast it first, negative values (a stereo matcher's invalid, OpenCV SGBM's -16) to 0, a hole: "
                "np.where(a < 0, 0, a).astype(np.uint16) (astype alone makes -16 65520, the nearest depth)")
    raise InputError(f"{where}holds {what} values ({dtype.str}); depth arrays are {TYPES}{hint}", None)


def _check_shape(shape: tuple[int, ...], clip: bool, where: str) -> tuple[int, int, int]:
    """(T, H, W) of an array of ``shape``: T x H x W or H x W when ``clip``, else H x W only."""
    text = " x ".join(map(str, shape)) or "a scalar"
    want = "T x H x W (a clip) or H x W (one frame)" if clip else "H x W (one frame per file)"
    if len(shape) == 3 and clip and shape[-1] in (3, 4) and min(shape[:2]) > 4:
        raise InputError(f"{where}is {text}: {shape[-1]} channels (a picture?); depth arrays are {want}, one value "
                         "per pixel", None)
    if len(shape) not in ((2, 3) if clip else (2,)):
        squeeze = "; drop the axis of length 1 first (np.squeeze)" if 1 in shape and len(shape) > 2 else ""
        raise InputError(f"{where}is {len(shape)}-D ({text}); depth arrays are {want}{squeeze}", None)
    t, h, w = (1, *shape) if len(shape) == 2 else shape
    if 0 in (t, h, w):
        raise InputError(f"{where}is empty ({text})", None)
    return t, h, w


def _header(fp: BinaryIO) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, Fortran order, dtype) from an .npy header; ``ValueError`` for anything else."""
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(fp)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(fp)
    raise ValueError(f".npy format version {version[0]}.{version[1]} (structured types) is not read")


def _as_depth(values: np.ndarray, is_float: bool) -> np.ndarray:
    """One frame as stored -> a C-ordered array of its own: native float32 (float64 narrowed, float16
    widened exactly), or uint8 / uint16 as they are."""
    with np.errstate(over="ignore"):  # a float64 beyond float32's range becomes inf: no value
        return np.array(values, dtype=np.float32 if is_float else values.dtype.newbyteorder("="), order="C")


class _Clip:
    """The frames of one array input: ``count`` x ``height`` x ``width`` of ``dtype`` (as stored)."""

    count: int
    height: int
    width: int
    dtype: np.dtype
    is_float: bool

    def _fix(self, shape: tuple[int, ...], dtype: np.dtype, where: str, clip: bool = True) -> None:
        self.is_float = _refuse_type(dtype, where)
        self.count, self.height, self.width = _check_shape(shape, clip, where)
        self.dtype = dtype

    def frames(self) -> Iterator[np.ndarray]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class _NpyClip(_Clip):
    """One .npy file, memory-mapped."""

    def __init__(self, path: str) -> None:
        check_input_path(path)
        try:
            with open(path, "rb") as fp:
                shape, _, dtype = _header(fp)
        except (ValueError, EOFError, SyntaxError) as exc:
            raise InputError(f"not a NumPy .npy file, or a damaged one ({exc})", path) from None
        self._fix(shape, dtype, "")
        try:
            self._array: Any = np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError) as exc:  # data shorter than the header says
            raise CorruptInputError(f"truncated or damaged .npy data ({exc})", path) from None

    def frames(self) -> Iterator[np.ndarray]:
        array = self._array if self._array.ndim == 3 else self._array[None]
        for k in range(self.count):
            yield _as_depth(array[k], self.is_float)

    def close(self) -> None:
        self._array = None  # the memory map closes with its last reference


class _NpzClip(_Clip):
    """One array of an .npz (a zip of .npy files, deflated or stored), read from the zip in order."""

    def __init__(self, path: str, key: str | None, name: str) -> None:
        check_input_path(path)
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise InputError(f"not a NumPy .npz file (a zip of .npy arrays), or a damaged one ({exc})", name) from None
        try:
            keys = [n[:-4] for n in self._zip.namelist() if n.endswith(".npy")]
            self.key = self._choose(keys, key, path, name)
            self._member = self.key + ".npy"
            with self._zip.open(self._member) as fp:
                shape, self._fortran, dtype = _header(fp)
            self._fix(shape, dtype, f"array {self.key!r} ")
        except InputError as exc:
            self._zip.close()
            raise InputError(exc.problem, name) from None
        except (ValueError, EOFError, SyntaxError, zipfile.BadZipFile, zlib.error, OSError, NotImplementedError,
                RuntimeError) as exc:  # the last two: a compression zipfile lacks, an encrypted member
            self._zip.close()
            raise InputError(f"array {self.key!r} is not a readable .npy ({exc})", name) from None

    @staticmethod
    def _choose(keys: list[str], key: str | None, path: str, name: str) -> str:
        listed = ", ".join(keys)
        if key is not None:
            if key in keys:
                return key
            raise InputError(f"has no array {key!r}" + (f"; its arrays: {listed}" if keys else " (it holds none)"),
                             name)
        if len(keys) == 1:
            return keys[0]
        if NPZ_DEPTH_KEY in keys:
            return NPZ_DEPTH_KEY
        if not keys:
            raise InputError("holds no array", name)
        raise InputError(f"holds {len(keys)} arrays ({listed}) and none named {NPZ_DEPTH_KEY!r}: name the depth, "
                         f"e.g. {path}:{keys[0]}", name)

    def frames(self) -> Iterator[np.ndarray]:
        with self._zip.open(self._member) as fp:
            if self._fortran:  # column-major: no frame is contiguous, so the array is read whole
                clip = np.lib.format.read_array(fp, allow_pickle=False)
                clip = clip if clip.ndim == 3 else clip[None]
                for k in range(self.count):
                    yield _as_depth(clip[k], self.is_float)
                return
            _header(fp)
            size = self.height * self.width * self.dtype.itemsize
            for k in range(self.count):
                data = fp.read(size)
                if len(data) < size:
                    raise EOFError(f"the data ends in frame {k} of {self.count}")
                yield _as_depth(np.frombuffer(data, self.dtype).reshape(self.height, self.width), self.is_float)
            fp.read(1)  # to the member's end: the zip checks its CRC there

    def close(self) -> None:
        self._zip.close()


class _FilesClip(_Clip):
    """Per-frame .npy files (a folder, or a ``%d`` pattern), each H x W of one type and size."""

    def __init__(self, path: str) -> None:
        if os.path.isdir(path):
            images = _listing(path, IMAGE_SUFFIXES)
            if images:
                raise InputError(f"folder holds .npy arrays and images ({images[0]}, ...): give a pattern such as "
                                 f"{os.path.join(path, '%06d.npy')}", path)
            self.files = [os.path.join(path, n) for n in _listing(path, (".npy",))]
        else:
            self.files = sequence_files(path)  # a pattern: from its lowest number, a gap is an error
        self._first = self._open(0)
        self._fix(self._first.shape, self._first.dtype, f"frame 0 ({os.path.basename(self.files[0])}) ", clip=False)
        self.count = len(self.files)
        for k in range(1, self.count):  # every header (a few hundred bytes) before any frame is read
            try:
                with open(self.files[k], "rb") as fp:
                    shape, _, dtype = _header(fp)
            except (OSError, ValueError, EOFError, SyntaxError):
                break  # said in the words of np.load where the run reaches it
            self._check_frame(k, shape, dtype)

    def _open(self, k: int) -> Any:
        file = self.files[k]
        check_input_path(file)
        try:
            return np.load(file, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise InputError(f"frame {k}: not a readable NumPy .npy file ({exc})", file) from None

    def _check_frame(self, k: int, shape: tuple[int, ...], dtype: np.dtype) -> None:
        if shape != (self.height, self.width) or dtype != self.dtype:
            raise InputError(f"frame {k} ({os.path.basename(self.files[k])}) is {' x '.join(map(str, shape))} {dtype}, "
                             f"the frames before it {self.height} x {self.width} {self.dtype}: every frame keeps one "
                             "size and type", self.files[k])

    def frames(self) -> Iterator[np.ndarray]:
        for k in range(self.count):
            values = self._first if k == 0 else self._open(k)
            self._check_frame(k, values.shape, values.dtype)  # a file changed since the opening
            yield _as_depth(values, self.is_float)
        self._first = None


def open_clip(path: str, channel: str | None = None) -> _Clip:
    """The array input ``path`` (see the module docstring), or an OpenEXR depth sequence read from a
    channel (``exrdepth``: ``channel``, or the one it finds by name); ``InputError`` naming it when it is unfit."""
    if (channel := channel or channel_input(path, "depth")) is not None:
        return ExrChannelClip(path, channel)  # type: ignore[return-value]
    file, key = split_key(path)
    suffix = os.path.splitext(file)[1].lower()
    try:
        if suffix == ".npz" and "%" not in os.path.basename(file):
            if key == "":
                raise InputError("name the array after the colon, e.g. clip.npz:depth", path)
            return _NpzClip(file, key, path)
        if suffix == ".npy" and "%" not in os.path.basename(file):
            return _NpyClip(file)
        if suffix == ".npz":
            raise InputError("a pattern of .npz files is not read: give per-frame .npy files, or one .npz", path)
        return _FilesClip(path)
    except InputError as exc:
        if exc.path is None:
            raise type(exc)(exc.problem, path) from None
        raise


def array_frames(path: str, channel: str | None = None) -> Iterator[np.ndarray]:
    """The frames of array input ``path`` as ``ArrayReader`` reads them (float32 for float arrays; an
    OpenEXR depth from ``channel``, its ``channel``), through an opening of their own, closed when the
    generator ends or is closed: the first one for a float range, every one for the range of a whole clip
    (``floatdepth``)."""
    clip = open_clip(path, channel)
    try:
        yield from clip.frames()
    finally:
        clip.close()


class ArrayReader(VideoReader):
    """A ``VideoReader`` of a NumPy depth input (``VideoReader(path, ...)`` gives one for such a path):
    ``info`` describes it as gray (uint8), gray16le (uint16) or grayf32le (float) at ``--fps``, frame k
    at pts k in a time base of 1 / fps; float frames go through ``float_map`` as the base class's do."""

    _packed = None  # never half of a packed RGB-D frame

    def __init__(self, path: str | os.PathLike[str], role: str, *, size: tuple[int, int] | None = None,
                 threads: int = 0, sync: str = "relative", source: InputOptions | None = None,
                 enlarge: str = "nearest") -> None:
        self._start(path, role, sync, enlarge)
        options = (source or InputOptions()).for_input(self.path)
        self.autorotate = options.autorotate
        if role == "color":
            raise InputError("NumPy arrays are read as depth (and --gt), not as colour: give the colour as a video "
                             "or images", self.path)
        self.channel = channel_input(self.path, role, options.depth_channel)  # OpenEXR: the channel read
        self._clip = open_clip(self.path, self.channel)
        if isinstance(self._clip, ExrChannelClip):
            log.info("%s %s: OpenEXR depth read from channel %s (FFmpeg's decoder, the channel renamed Y)", role,
                     self.path, self._clip.channel)
        if role == "depth" and options.depth_colormap != "gray":  # as a gray video's reader says
            log.info("depth %s is a NumPy array: read as stored (--depth-colormap %s is for colour pictures)",
                     self.path, options.depth_colormap)
        try:
            c = self._clip
            rate = Fraction(options.fps or DEFAULT_FPS)
            pix_fmt = "grayf32le" if c.is_float else "gray16le" if c.dtype.itemsize == 2 else "gray"
            codec = "exr" if isinstance(c, ExrChannelClip) else "npy"
            self.info = VideoInfo(path=self.path, codec=codec, width=c.width, height=c.height, pix_fmt=pix_fmt,
                                  time_base=1 / rate, rate=rate, start_pts=0, frames=c.count, duration=None,
                                  kind="array")
            self.orientation, self._probed = Orientation(), False
            self.stored_size = (c.width, c.height)
            self.rotated = None
            self._fit(size)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self._closed = True
        if (reading := getattr(self, "_reading", None)) is not None:
            try:  # a read stopped early (the first frame, for the float range) lets go of its file
                reading.close()
            except ValueError:  # still running in a reader thread given up on after an interrupt
                pass
        if (clip := getattr(self, "_clip", None)) is not None:
            clip.close()

    def frames(self, stop: Any = None) -> Iterator[Frame]:
        """Every frame in order, frame k at k / fps; stops early when ``stop`` is set (see the base class)."""
        self._read_once()
        tb, k = self.info.time_base, 0
        self._reading = self._clip.frames()
        try:
            for values in self._reading:
                if stop is not None and stop.is_set():
                    return
                if self.skip_before is not None and float(k * tb) < self.skip_before:  # before --start
                    self.passed, k = (k, float(k * tb)), k + 1
                    continue
                d = self._float_codes(values, k) if self._clip.is_float else values
                d = d if self.size is None else self._enlarge(d, *self.size)
                yield Frame(index=k, pts=k, time=float(k * tb), pts_time=float(k * tb), data=d,
                            values=self.__dict__.pop("kept_values", None))
                k += 1
        except (EOFError, zipfile.BadZipFile, zlib.error, OSError) as exc:  # a zip reads ahead: k is where it was found
            raise CorruptInputError(f"truncated or damaged array data (found reading frame {k}): {exc}",
                                    self.path) from None


__all__ = ["ARRAY_SUFFIXES", "ArrayReader", "NPZ_DEPTH_KEY", "array_frames", "is_array_input", "open_clip", "split_key"]

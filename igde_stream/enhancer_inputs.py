"""The ``Enhancer``'s frames as a caller hands them over: anything ``np.asarray`` takes (a NumPy array
of any memory order, a read-only one, a CPU tensor, a list of frames), checked for layout at the API
boundary. Each refusal is one ``EnhancerError`` that names what was given, in the caller's own shapes
(not the batch axis added to a single frame), and what is wanted."""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import EnhancerError

COLOR_WANTED = "H x W x 3 uint8 RGB (one frame) or N x H x W x 3 (a batch)"


def as_array(frames: Any, what: str) -> np.ndarray:
    """``frames`` as one array. A list of frames of different sizes, an iterator (a generator of
    frames), or an object that refuses to become an array (a tensor that requires grad, a CUDA
    tensor) is an ``EnhancerError`` naming ``what``."""
    if frames is not None and not hasattr(frames, "__array__") and not hasattr(frames, "__len__") \
            and hasattr(frames, "__next__"):
        raise EnhancerError(f"{what}: a {type(frames).__name__} is not an array of frames: pass one frame or a "
                            "batch as an array (np.stack(list(frames))), or enhance the frames one call each")
    try:
        array = np.asarray(frames)
    except ValueError:  # NumPy's "inhomogeneous shape"
        raise EnhancerError(f"{what}: not an array of one shape (frames of different sizes are not one batch: "
                            "enhance them one call each)") from None
    except (TypeError, RuntimeError) as exc:  # torch: a CUDA tensor, one that requires grad
        raise EnhancerError(f"{what}: a {type(frames).__name__} that cannot be read as a NumPy array "
                            f"({str(exc).strip()})") from None
    if array.dtype == object:
        given = "None" if frames is None else f"a {type(frames).__name__}"
        hint = ("; its .data?" if isinstance(getattr(frames, "data", None), np.ndarray)  # stream.Frame
                else "; its .to_ndarray()?" if hasattr(frames, "to_ndarray") else "")  # av.VideoFrame
        raise EnhancerError(f"{what}: {given} is not an array of frames (NumPy reads it as Python objects); "
                            f"pass a NumPy array{hint}")
    return array


def depth_type_hint(dtype: Any) -> str:
    """What to do with depth of a sample type the Enhancer does not take: float depth is mapped to
    uint16 codes; other integers (a PIL "I" image, a PyTorch int64 tensor) are cast, as the command
    advises for such NumPy arrays, where their values fit."""
    kind = np.dtype(dtype).kind
    if kind == "f":
        return " (float depth: map it to uint16 codes first, e.g. igde_stream.stream.floatdepth.FloatMap)"
    if kind in "iu":
        return " (integer depth: cast it first, depth.astype(np.uint16), where its values fit 0..65535)"
    return ""


def _shape(a: np.ndarray) -> str:
    return " x ".join(map(str, a.shape)) if a.ndim else "a scalar"


def looks_swapped(color: np.ndarray, depth: np.ndarray) -> bool:
    """Depth and colour handed over the other way round: ``depth`` (N x) H x W x 3 beside ``color`` of
    its frames' shape without the three channels ((N x) H x W, or with a channel axis of 1)."""
    if np.ndim(depth) not in (3, 4) or np.shape(depth)[-1] != 3:
        return False
    frames = tuple(np.shape(depth)[:-1])
    return tuple(np.shape(color)) in (frames, frames + (1,))


def check_layout(color: np.ndarray, depth: np.ndarray) -> None:
    """Colour H x W x 3 with depth H x W, or N x H x W x 3 with N x H x W: else one ``EnhancerError``
    saying which of the two is wrong and how (the two swapped, channels, a channel axis on depth, frame
    count, size)."""
    if looks_swapped(color, depth):
        raise EnhancerError(f"colour is {_shape(color)} and depth {_shape(depth)}: the two look swapped; colour "
                            "comes first: enhance(color, depth)")
    if color.ndim not in (3, 4) or color.shape[-1] != 3:
        gray = "np.repeat(color[..., None], 3, axis=-1) is the RGB the command reads gray colour as"
        if color.shape == depth.shape:  # gray frames beside their depth (a monochrome camera)
            have = f"no channel axis (gray: {gray})"
        elif color.ndim in (3, 4):
            k = color.shape[-1]
            have = f"{k} channel{'s' * (k != 1)}" + (" (RGBA? drop alpha: color[..., :3])" if k == 4 else
                                                    f" (gray? {gray.replace('[..., None]', '')})" if k == 1 else "")
            if color.shape[-3] == 3:
                have += " (channels first? move them last)"
        elif color.ndim == 2:
            have = "no channel axis (gray?)"
        else:
            have = f"{color.ndim} ax{'i' if color.ndim == 1 else 'e'}s"
        raise EnhancerError(f"colour is {_shape(color)}: {have}; wanted {COLOR_WANTED}")
    single = color.ndim == 3
    wanted = "H x W" if single else "N x H x W"
    if depth.ndim != color.ndim - 1:
        hint = ""
        if depth.ndim == color.ndim and depth.shape[-1] == 1:
            hint = " (a channel axis: give depth[..., 0])"
        elif depth.ndim == color.ndim and depth.shape[-3] == 1:
            hint = f" (a channel axis: give {'depth[0]' if single else 'depth[:, 0]'})"
        elif depth.ndim == color.ndim and depth.shape[-1] == 3:  # cv2.imread(path) makes 8-bit BGR of any PNG
            hint = " (3 channels: a depth map read as colour? cv2.imread(path, cv2.IMREAD_UNCHANGED) keeps its bits)"
        raise EnhancerError(f"depth is {_shape(depth)}{hint}; colour {_shape(color)} is "
                            f"{'one frame' if single else 'a batch'}, so depth must be {wanted}")
    if not single and color.shape[0] != depth.shape[0]:
        raise EnhancerError(f"colour is {color.shape[0]} frames ({_shape(color)}) but depth is {depth.shape[0]} "
                            f"({_shape(depth)}): one colour frame per depth frame")
    if color.shape[-3:-1] != depth.shape[-2:]:
        (ch, cw), (dh, dw) = color.shape[-3:-1], depth.shape[-2:]
        raise EnhancerError(f"colour frames are {cw}x{ch} pixels ({_shape(color)}) but depth frames {dw}x{dh} "
                            f"({_shape(depth)}): colour and depth must be the same size (W x H; "
                            f"igde_stream.stream.rgb.resize_colour(color, ({dw}, {dh})) resizes the colour as the "
                            "command does, VideoReader(path, 'color', size=(W, H)) reads it at that size)")

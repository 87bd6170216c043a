"""The stream plugin: paired PyAV decoding, batched enhancement, depth video writer, PSNR report.

``enhance_file(color, depth, out, gt_path=..., report_path=...)`` runs a whole file pair (what the
``igde-stream`` command runs); the pieces are importable for embedding: ``VideoReader`` /
``pair_frames`` (pairing), ``DepthWriter`` (writer), ``PsnrReport`` (report). The multiview stage on
video files (render N views, view quality) is ``igde_stream.stream.views``.
"""

from .pipeline import enhance_file
from .pairing import pair_frames
from .reader import DEPTH_FORMATS, Frame, VideoInfo, VideoReader
from .report import PsnrReport
from .writer import DEFAULT_CODEC, DepthWriter

__all__ = [
    "enhance_file", "VideoReader", "VideoInfo", "Frame", "pair_frames", "DepthWriter", "PsnrReport",
    "DEPTH_FORMATS", "DEFAULT_CODEC",
]

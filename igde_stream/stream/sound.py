"""The note for views / RGB-D files written without the colour's sound (``--no-audio``; by default
their videos carry it, ``audio.AudioTrack``): after such a run from a colour file with audio, one line
says so and gives the FFmpeg command that adds it back without re-encoding the picture
(docs/formats.md, "Other metadata")."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

#: audio codecs an MP4 holds as they are; anything else (a master's PCM) is coded to AAC there
MP4_AUDIO = ("aac", "mp3", "ac3", "eac3", "alac", "opus", "flac")


def audio_codecs(path: str) -> list[str]:
    """The codec names of the audio streams of the file ``path`` (none for a pipe, a URL, an image
    folder or pattern, or a file FFmpeg cannot open: those were read already or say so elsewhere)."""
    if path == "-" or "://" in path or "%" in path or not os.path.isfile(path):
        return []
    import av

    try:
        with av.open(path) as c:
            return [s.codec_context.name if s.codec_context is not None else "unknown" for s in c.streams.audio]
    except (av.FFmpegError, OSError, ValueError):
        return []


def _ffv1(path: Path) -> bool:
    """Whether the file ``path`` holds FFV1 video (PyAV's view; False where it cannot be read)."""
    import av

    try:
        with av.open(str(path)) as c:
            return any(s.codec_context is not None and s.codec_context.name == "ffv1" for s in c.streams.video)
    except (av.FFmpegError, OSError, ValueError):
        return False


def sound_note(color: str, outputs: Sequence[str | Path], stereo: bool = False, carried: bool = False) -> str:
    """One line for the views / RGB-D ``outputs`` of a run whose colour file ``color`` has sound: that
    they hold none, and the command that muxes the colour's sound beside the first of them (the sound
    copied where the output's container holds it, else coded to AAC); "" without sound or outputs.

    ``stereo``: the first output is a stereo pair (sbs, tab). FFmpeg copies its stereo packing into
    the new file (Matroska's StereoMode as it is), but writes the MP4 ``st3d`` box only with ``-strict
    unofficial`` and in MOV never: an MP4 / MOV pair gets ``-strict unofficial`` and an ``.mp4`` result.
    FFV1 in MP4 (which the views writer's FFmpeg writes) gets an ``.mkv`` result: FFmpeg's mp4 muxer
    in releases still shipped (5.1, Debian 12's) has no tag for FFV1 and refuses the copy. ``carried``:
    the outputs carry the sound where they can (not ``--no-audio``): only the others are considered."""
    if carried:  # the video files that carry the sound (``audio.AudioTrack``) need no note
        from .audio import carries_audio

        outputs = [p for p in outputs if not carries_audio(p)]
    files = [Path(p) for p in outputs if str(p) != "-" and "://" not in str(p) and Path(p).suffix.lower()
             in (".mp4", ".m4v", ".mov", ".mkv")]
    if not files:  # a run that wrote the depth only: the colour is not opened again
        return ""
    codecs = audio_codecs(str(color))
    if not codecs:
        return ""
    out = files[0]
    iso = out.suffix.lower() in (".mp4", ".m4v", ".mov")
    to_mkv = iso and _ffv1(out)  # Matroska holds FFV1 in every FFmpeg, and the pair's StereoMode
    keep_st3d = stereo and iso and not to_mkv
    suffix = ".mkv" if to_mkv else ".mp4" if keep_st3d else out.suffix
    copy = suffix.lower() in (".mkv", ".mov") or all(c in MP4_AUDIO for c in codecs)
    audio = ("-c copy" if copy else "-c:v copy -c:a aac") + (" -strict unofficial" if keep_st3d else "")
    n = len(codecs)
    return (f"{color} has sound ({n} audio stream{'s' if n > 1 else ''}: {', '.join(codecs)}), which the views and "
            f"RGB-D files do not carry: to add it, ffmpeg -i {out} -i {color} -map 0:v -map 1:a {audio} "
            f"{out.with_name(out.stem + '_sound' + suffix)}")


__all__ = ["MP4_AUDIO", "audio_codecs", "sound_note"]

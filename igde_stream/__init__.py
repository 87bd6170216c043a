"""igde-stream: image-guided depth edge enhancement (IGDE) for video streams."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from .errors import EnhancerBusyError, EnhancerError, IGDEError  # the API's exceptions (NumPy-free, cheap)

__version__ = "0.1.0"

__all__ = ["__version__", "list_models", "create_model", "Enhancer", "enhance_file", "IGDEError", "EnhancerError",
           "EnhancerBusyError"]


def list_models() -> list[str]:
    """Names of the registered models, sorted: the IGDE variants (``igde-tiny``, ``igde-small``,
    ``igde-small-hq``, ``igde-base``, ...) and the baseline networks (``decnn-*``, ``drecnn-*``,
    ``dencbpn-*``, ``rdn-depth-*``); ``create_model`` builds any of them. Needs PyTorch: without it (the
    runtime install) a ``ModuleNotFoundError`` that names the extra to install and the shipped models
    the ``Enhancer`` runs on ONNX Runtime."""
    with _torch_needed("list_models"):
        from .models import list_models as _list

    return _list()


def create_model(name: str, **overrides: Any):
    """Build an IGDE variant (needs PyTorch); ``pretrained=True`` loads the shipped weights. Without
    PyTorch, as ``list_models``, a ``ModuleNotFoundError`` naming the extra to install."""
    with _torch_needed("create_model"):
        from .models import create_model as _create

    return _create(name, **overrides)


@contextmanager
def _torch_needed(what: str) -> Iterator[None]:
    """The model registry builds PyTorch networks: without PyTorch (the runtime install), a
    ``ModuleNotFoundError`` that says so and names what runs without it, not "No module named 'torch'"."""
    try:
        yield
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] != "torch":
            raise
        from pathlib import Path

        shipped = sorted(p.stem for p in (Path(__file__).parent / "weights").glob("*.onnx"))
        raise ModuleNotFoundError(
            f"igde_stream.{what}() builds PyTorch networks and needs PyTorch, which is not installed (pip install "
            f"'igde-stream[torch]'); without it the Enhancer runs the shipped models on ONNX Runtime: "
            f"Enhancer(model=NAME) with NAME one of {', '.join(shipped) or 'none installed'}, or an .onnx file",
            name="torch") from exc


def __getattr__(name: str) -> Any:
    # Heavy pieces load on first use so that `import igde_stream` stays cheap and torch-free.
    if name == "Enhancer":
        from .enhancer import Enhancer

        return Enhancer
    if name == "enhance_file":
        from .stream import enhance_file

        return enhance_file
    raise AttributeError(f"module 'igde_stream' has no attribute {name!r}")

"""igde-stream: image-guided depth edge enhancement (IGDE) for video streams."""

from __future__ import annotations

from typing import Any

from .errors import EnhancerBusyError, EnhancerError, IGDEError  # the API's exceptions (NumPy-free, cheap)

__version__ = "0.1.0"

__all__ = ["__version__", "list_models", "create_model", "Enhancer", "enhance_file", "IGDEError", "EnhancerError",
           "EnhancerBusyError"]


def list_models() -> list[str]:
    """Names of the registered models, sorted: the IGDE variants (``igde-tiny``, ``igde-small``,
    ``igde-small-hq``, ``igde-base``, ...) and the baseline networks (``decnn-*``, ``drecnn-*``,
    ``dencbpn-*``, ``rdn-depth-*``); ``create_model`` builds any of them."""
    from .models import list_models as _list

    return _list()


def create_model(name: str, **overrides: Any):
    """Build an IGDE variant (needs PyTorch); ``pretrained=True`` loads the shipped weights."""
    from .models import create_model as _create

    return _create(name, **overrides)


def __getattr__(name: str) -> Any:
    # Heavy pieces load on first use so that `import igde_stream` stays cheap and torch-free.
    if name == "Enhancer":
        from .enhancer import Enhancer

        return Enhancer
    if name == "enhance_file":
        from .stream import enhance_file

        return enhance_file
    raise AttributeError(f"module 'igde_stream' has no attribute {name!r}")

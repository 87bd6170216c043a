"""Write ``igde_stream/stream/colormap_data.py``: matplotlib's 8-bit tables of its listed colour maps
(inferno, magma, plasma, viridis, turbo) as ``(cmap.colors * 255).astype(uint8)`` (truncated), the
table that Video Depth Anything and other matplotlib-based tools draw with. OpenCV's
``cv2.applyColorMap`` holds the same maps rounded instead (``colormaps`` reads those from OpenCV);
Spectral_r and matplotlib's jet are computed from their anchors there. Needs matplotlib:
``python tools/colormap_tables.py [--check]`` (``--check``: compare with the module, write nothing)."""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from igde_stream.bench.common import write_text_atomic  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "igde_stream" / "stream" / "colormap_data.py"
LISTED = ("inferno", "magma", "plasma", "viridis", "turbo")


def module_text() -> str:
    import matplotlib

    lines = [
        '"""matplotlib\'s 8-bit tables of its listed colour maps, ``(colors * 255).astype(uint8)``: 256 RGB',
        "entries, 6 hex digits each (written by ``tools/colormap_tables.py`` from matplotlib "
        f"{matplotlib.__version__};",
        '``colormaps.renderings`` reads them)."""',
        "",
        "TRUNCATED = {",
    ]
    for name in LISTED:
        table = (np.asarray(matplotlib.colormaps[name].colors)[:, :3] * 255).astype(np.uint8)
        assert table.shape == (256, 3), name
        text = table.tobytes().hex()
        lines.append(f'    "{name}": (')
        lines += [f'        "{chunk}"' for chunk in textwrap.wrap(text, 96)]
        lines.append("    ),")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", action="store_true",
                   help="compare the tables with the module's and write nothing (exit 1 when they differ)")
    args = p.parse_args(argv)
    text = module_text()
    if args.check:
        same = OUT.read_text().split('"""', 2)[2] == text.split('"""', 2)[2]
        print(f"{OUT}: {'the same tables' if same else 'DIFFERS'}")
        return 0 if same else 1
    write_text_atomic(OUT, text)  # a cut run leaves the module as it was
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

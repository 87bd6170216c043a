"""The multiview stage: same as ``igde-stream views`` (``igde_stream/views_cli.py``), kept for old
command lines: ``python tools/render_views.py render C.mp4 D.mkv -o views.mkv``."""

import sys

from igde_stream.views_cli import main

if __name__ == "__main__":
    sys.exit(main())

"""One-call GPU checks for the PyTorch CUDA backend: correctness, speed, FP16 accuracy.

    PYTHONPATH=. python tools/gpu_checks.py --out "$OUT"            # on the GPU machine (~3 min)
    PYTHONPATH=. python tools/gpu_checks.py --device cpu --quick --out /tmp/gc   # smoke run anywhere

Same as ``python tools/bench.py gpu ...``; what is measured and how: igde_stream/bench/gpu.py.
"""

import sys

from igde_stream.bench.gpu import main

if __name__ == "__main__":
    sys.exit(main())

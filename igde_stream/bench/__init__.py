"""Benchmarks behind ``python tools/bench.py KIND ...``: each module has ``main(argv) -> int``."""

KINDS = {
    "stream": "igde_stream.bench.stream",  # decode / inference / end to end, peak memory
    "infer": "igde_stream.bench.infer",  # backend x precision x batch x resolution
    "views": "igde_stream.bench.views",  # multiview renderer vs inference
    "gpu": "igde_stream.bench.gpu",
    "models": "igde_stream.bench.models",  # models and filters side by side on the CPU  # CUDA correctness, FP16 accuracy, speed (tools/gpu_checks.py)
    "seek": "igde_stream.bench.seek",  # --start with and without seeking
    "viewmem": "igde_stream.bench.viewmem",  # memory of the views' encoders and renderer
    "rgb": "igde_stream.bench.rgb",  # 8-bit YUV -> RGB routes: time and error against the formulas
}

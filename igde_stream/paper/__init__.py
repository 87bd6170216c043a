"""The paper's experiments (section 4, Tables I-III, Fig. 10) on the project's own data.

Three pieces, each usable alone:

- the *suite*: which models to train (``LEARNED``) and which rows each table shows (``TABLES``).
  Every learned row trains with one recipe (``igde_stream.training.train``: Adam, lr 5e-4, the
  same synthetic crops, batch, crop size, number of steps and seed); only the model and, for
  Table II, the loss weights (a, b, c) of eq. (5) differ. Learned baselines use the full loss (5),
  as the paper trains them "with our training configuration". Rows shared between tables (IGDE with
  all three losses and three colour taps) are trained once.
- ``train_suite``: trains the rows as separate processes, ``jobs`` at a time, and writes one small
  checkpoint (config + weights, no optimizer) and one JSON record (steps reached, seed, seconds,
  validation) per row into a folder.
- ``evaluate_suite``: runs the degraded input, the three OpenCV filters and every checkpoint found
  in such a folder on the synthetic test split and on ICL-NUIM (same degradation), and writes
  ``paper_tables.md``, ``paper_tables.json`` and Fig. 10-style PNGs.

Metrics and aggregation are those of :mod:`igde_stream.evaluation` (PSNR from the frame-averaged
MSE; SSIM and RMSE per-frame means; temporal stability over consecutive test frames).

Modules: ``suite`` (LEARNED, TABLES), ``train`` (train_one, equalize, train_suite), ``evaluate``
(filter_methods, evaluate_suite), ``tables`` (build_tables, claims, tables_markdown) and ``figures``
(save_fig10, real_pictures).
"""

from __future__ import annotations

from . import tables, train
from .evaluate import evaluate_suite, filter_methods
from .figures import REAL_FRAMES, real_pictures, save_fig10
from .suite import LEARNED, TABLE_TITLES, TABLES, Learned
from .tables import build_tables, claims, tables_markdown
from .train import train_one, train_suite

# public but not in __all__, as before the split into a package
equalize, TIE_DB = train.equalize, tables.TIE_DB

__all__ = [
    "Learned", "LEARNED", "TABLES", "TABLE_TITLES", "train_one", "train_suite", "filter_methods",
    "evaluate_suite", "build_tables", "tables_markdown", "claims", "save_fig10", "real_pictures", "REAL_FRAMES",
]

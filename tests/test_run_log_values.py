"""Values of ``run_log.py`` (mutation campaign 58c), from its docstrings: ``best_of`` is -inf when a
``best.pt`` cannot say its validation PSNR (damaged, or saved without one); without tqdm the
progress bar is a stand-in whose ``write`` prints and whose other calls do nothing; the final
validation row of ``log.csv`` has no loss or learning rate."""

from __future__ import annotations

import csv
import math
import sys

import torch

from igde_stream.run_log import LOG_COLUMNS, best_of, log_final, progress_bar


def test_best_of_is_minus_infinity_when_the_file_cannot_say(tmp_path):
    damaged = tmp_path / "damaged.pt"
    damaged.write_bytes(b"not a checkpoint")
    assert best_of(damaged) == -math.inf
    assert best_of(tmp_path / "missing.pt") == -math.inf
    torch.save({"val": None}, tmp_path / "no_val.pt")
    assert best_of(tmp_path / "no_val.pt") == -math.inf
    torch.save({"val": {"psnr": 41.5}}, tmp_path / "best.pt")
    assert best_of(tmp_path / "best.pt") == 41.5


def test_without_tqdm_the_bar_prints_what_it_is_told_to_write(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm raises ImportError
    bar = progress_bar(100, 10, enabled=True)
    bar.update()
    bar.update(5)
    bar.set_postfix(loss=0.1)
    bar.write("step 10: val psnr 40.00")
    bar.close()
    assert capsys.readouterr().out == "step 10: val psnr 40.00\n"


def test_the_final_row_is_the_validation_alone(tmp_path):
    p = tmp_path / "log.csv"
    p.write_text(",".join(LOG_COLUMNS) + "\n")
    log_final(p, 300, 61.26, {"psnr": 40.123456, "psnr_t": 41.0, "psnr_f": 39.99999, "ssim": 0.98766, "rmse": 2.5})
    with open(p, newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows == [{"step": "300", "time_s": "61.3", "lr": "", "l2_share": "", "loss": "", "samples_per_s": "",
                     "val_psnr": "40.1235", "val_psnr_t": "41.0000", "val_psnr_f": "40.0000", "val_ssim": "0.9877",
                     "val_rmse": "2.5000"}]

"""The suite: which models to train (``LEARNED``) and which rows each table shows (``TABLES``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Learned:
    """One model to train: registered architecture ``arch`` (the variant is ``arch-scale``),
    config ``overrides`` and the loss weights (a, b, c) of eq. (5)."""

    arch: str
    overrides: dict[str, Any] = field(default_factory=dict)
    loss_weights: tuple[float, float, float] = (1.0, 1.0, 1.0)


# key (file stem of the checkpoint) -> what to train
LEARNED: dict[str, Learned] = {
    "igde": Learned("igde"),
    "decnn": Learned("decnn"),
    "drecnn": Learned("drecnn"),
    "dencbpn": Learned("dencbpn"),
    "rdn-depth": Learned("rdn-depth"),
    "igde-l1": Learned("igde", loss_weights=(1.0, 0.0, 0.0)),
    "igde-l1-focal": Learned("igde", loss_weights=(1.0, 1.0, 0.0)),
    "igde-l1-sobel": Learned("igde", loss_weights=(1.0, 0.0, 1.0)),
    "igde-taps0": Learned("igde", {"color_taps": 0}),
    "igde-taps1": Learned("igde", {"color_taps": 1}),
    "igde-taps2": Learned("igde", {"color_taps": 2}),
}

# table -> rows (label, method key); a method key is "input", "filter:<name>" or a LEARNED key
TABLES: dict[str, list[tuple[str, str]]] = {
    "table1": [
        ("degraded input", "input"),
        ("joint bilateral filter", "filter:joint-bilateral"),
        ("guided filter", "filter:guided"),
        ("weighted median filter", "filter:weighted-median"),
        ("fast global smoother", "filter:global-smoother"),
        ("DE-CNN", "decnn"),
        ("DRECNN", "drecnn"),
        ("DEN+CBPN", "dencbpn"),
        ("RDN (depth only)", "rdn-depth"),
        ("IGDE", "igde"),
    ],
    "table2": [
        ("L1", "igde-l1"),
        ("L1 + focal", "igde-l1-focal"),
        ("L1 + Sobel", "igde-l1-sobel"),
        ("L1 + focal + Sobel", "igde"),
    ],
    "table3": [
        ("0 colour taps", "igde-taps0"),
        ("1 colour tap", "igde-taps1"),
        ("2 colour taps", "igde-taps2"),
        ("3 colour taps", "igde"),
    ],
}
TABLE_TITLES = {
    "table1": "Table I: comparison with other methods",
    "table2": "Table II: loss functions (weights a, b, c of eq. (5))",
    "table3": "Table III: colour feature taps into the depth branch",
}

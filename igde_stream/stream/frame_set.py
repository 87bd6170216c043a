"""``FrameSet``: the numbers of the frames a run used from a stream, in the order it used them
(increasing), held as 8 bytes a frame and looked up by bisection: the ground-truth frames a report
compared (``PsnrReport.gt_compared``), which need not be consecutive (a ground truth at twice the
depth's rate has every other frame compared, the ones between passed over)."""

from __future__ import annotations

import operator
from array import array
from bisect import bisect_left
from typing import Iterator

__all__ = ["FrameSet"]


class FrameSet:
    def __init__(self) -> None:
        self._numbers = array("q")

    def add(self, number: int) -> None:
        """Add frame ``number``: above every number held (a stream is used in order), or held already."""
        if self._numbers and number <= self._numbers[-1]:
            if number not in self:
                raise ValueError(f"frame {number} comes after frame {self._numbers[-1]}: frames are added in order")
            return
        self._numbers.append(number)

    def __contains__(self, number: object) -> bool:
        try:
            n = operator.index(number)  # a NumPy integer too; not 6.0
        except TypeError:
            return False
        i = bisect_left(self._numbers, n)
        return i < len(self._numbers) and self._numbers[i] == n

    def __len__(self) -> int:
        return len(self._numbers)

    def __iter__(self) -> Iterator[int]:
        return iter(self._numbers)

    def __repr__(self) -> str:
        return f"FrameSet({list(self._numbers)!r})"

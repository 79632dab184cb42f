"""Paper sizes and how a sheet sits on the page."""

from __future__ import annotations

from typing import Literal, NamedTuple


class Paper(NamedTuple):
    code: int  # the sheet's paperSize in OOXML
    width: float  # points, portrait
    height: float


PAPERS = {
    "Letter": Paper(1, 612, 792),
    "Legal": Paper(5, 612, 1008),
    "A3": Paper(8, 842, 1191),
    "A4": Paper(9, 595, 842),
    "A5": Paper(11, 420, 595),
}
DEFAULT_PAPER = {"en": "Letter", "zh": "A4"}  # unless the settings say `paper`
SIDE_MARGIN = 0.4  # inches, left and right
END_MARGIN = 0.6  # inches, top and bottom (the page header and footer inside)
# Points a column unit takes on paper at 100 %: Calibri 11's "0" is 7 pixels
# (5.25 pt), and each column adds its padding; LibreOffice with Carlito
# measured 5.5.
POINTS_PER_UNIT = 5.5
PORTRAIT_SCALE = 0.9  # portrait when it prints at least this size (10 pt)


def orientation(width: float, paper: str) -> Literal["portrait", "landscape"]:
    """Portrait when columns `width` units wide print at nearly full size on
    the paper's width, landscape otherwise (where fitting to the width shrinks
    a wide sheet the least)."""
    printable = PAPERS[paper].width - 2 * SIDE_MARGIN * 72
    fits = width * POINTS_PER_UNIT * PORTRAIT_SCALE <= printable
    return "portrait" if fits else "landscape"

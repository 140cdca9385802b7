"""Text in any script in the figures: a class named ``犬``, ``🐦 bird`` or ``ปลา`` is drawn, not
shown as empty boxes.

Matplotlib draws with DejaVu Sans, which has Latin, Greek and Cyrillic but no Han, kana, Hangul,
Thai, Indic scripts or emoji. A text with characters DejaVu Sans lacks gets Noto fonts as
fallbacks (matplotlib takes each glyph from the first family in the list that has it); the Noto
files come from PyPI packages in the workflow's environment (``manimgx-fonts``: Noto Sans, Noto
Emoji, Noto Sans Symbols and the Noto Sans faces of twenty scripts; ``manimgx-fonts-cjk``: Noto
Sans CJK). A text drawable in DejaVu Sans alone is left as it is, so figures of Latin-named
classes are the same bytes with or without the fallbacks. A character that no font has is a
warning on the console naming the text and the figure.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import logging
import os
import unicodedata
from pathlib import Path

from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.text import Text

PACKAGES = ("manimgx_fonts", "manimgx_fonts_cjk")
# Han characters are drawn in their Simplified Chinese forms; kana and Hangul are in it too.
CJK = "Noto Sans CJK SC"
# Tried in this order after the text's own font: Latin extensions, symbols, emoji, other scripts.
FIRST = ("Noto Sans", "Noto Sans Symbols", "Noto Emoji")
# Characters that draw nothing of their own: controls, format characters (zero-width joiner),
# variation selectors (the emoji-presentation U+FE0F after ❤).
INVISIBLE = frozenset({"Cc", "Cf"})

console = logging.getLogger("latent_atlas.console")


def _invisible(ch: str) -> bool:
    code = ord(ch)
    return (
        unicodedata.category(ch) in INVISIBLE
        or 0xFE00 <= code <= 0xFE0F
        or 0xE0100 <= code <= 0xE01EF
        or ch.isspace()
    )


@functools.cache
def fallbacks() -> tuple[tuple[str, frozenset[int]], ...]:
    """(family, characters it has) for each Noto family, registered with matplotlib on first use;
    empty where the font packages are not installed (then every missing glyph is a warning)."""
    for package in PACKAGES:
        try:
            folder = Path(str(importlib.resources.files(package)))
        except ModuleNotFoundError:
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in {".ttf", ".otf", ".ttc"}:
                font_manager.fontManager.addfont(os.fspath(path))
    # Noto Sans CJK's variable font says weight 100 (its lightest instance); matplotlib then
    # warns on every lookup of the normal weight. It is the only instance there is: call it 400.
    font_manager.fontManager.ttflist = [
        dataclasses.replace(f, weight=400) if f.name.startswith(CJK[:13]) else f
        for f in font_manager.fontManager.ttflist
    ]
    names = sorted({f.name for f in font_manager.fontManager.ttflist if f.name.startswith("Noto")})
    scripts = [n for n in names if n not in FIRST and "CJK" not in n]
    order = [n for n in (*FIRST, *scripts, CJK) if n in names]
    return tuple((name, _characters(font_manager.FontProperties(family=name))) for name in order)


@functools.cache
def _characters_at(path: str) -> frozenset[int]:
    return frozenset(font_manager.get_font(path).get_charmap())


def _characters(prop: font_manager.FontProperties) -> frozenset[int]:
    """The code points of the font matplotlib picks for ``prop`` (its first family)."""
    return _characters_at(font_manager.findfont(prop, fallback_to_default=True))


def plan(text: str, own: frozenset[int]) -> tuple[list[str], list[str]]:
    """For ``text`` drawn in a font with characters ``own``: the fallback families it needs,
    fewest first-come, and the characters no font has."""
    needed: list[str] = []
    missing: list[str] = []
    for ch in dict.fromkeys(text):
        if ord(ch) in own or _invisible(ch):
            continue
        family = next((name for name, chars in fallbacks() if ord(ch) in chars), None)
        if family is None:
            missing.append(ch)
        elif family not in needed:
            needed.append(family)
    return needed, missing


def fit(fig: Figure, figure_name: str | os.PathLike[str]) -> list[str]:
    """Give each text of ``fig`` the fallback fonts its characters need; warn (on the console and
    in the rule's log) for the characters no font has. Returns those warnings."""
    warnings = []
    for text in fig.findobj(Text):
        content = text.get_text()
        if not content or content.isascii():
            continue
        prop = text.get_fontproperties()
        needed, missing = plan(content, _characters(prop))
        if needed:
            text.set_fontfamily([*prop.get_family(), *needed])
        if missing:
            chars = ", ".join(
                f"{ch!r} (U+{ord(ch):04X} {unicodedata.name(ch, '?')})" for ch in missing
            )
            warnings.append(
                f"{os.fspath(figure_name)}: the text {content!r} has characters no installed "
                f"font can draw: {chars}; they show as empty boxes in this figure (the HTML "
                "report and atlas show them as the browser draws them)"
            )
    for message in warnings:
        console.warning("%s", message)
    return warnings

"""Class names in any script are drawn in the figures (Noto fallbacks after DejaVu Sans); a
character no installed font has is a warning on the console naming the text and the figure."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from latent_atlas import fonts, logs, map_plots, plotting

OTHER_SCRIPTS = ["犬", "🐦 bird", "🐟fish", "ねこ", "고양이", "ปลา", "🌧️ rain", "कुत्ता"]
NO_FONT = "𓀀 glyph"  # an Egyptian hieroglyph: no installed font has it


def _frame(n_classes: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "x": rng.normal(size=60),
            "y": rng.normal(size=60),
            "label": np.arange(60) % n_classes,
            "split": ["train"] * 45 + ["test"] * 15,
        }
    )


def _missing_glyphs(fig, path: Path) -> list[str]:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        plotting.save(fig, path)
    return [str(w.message) for w in seen if "missing from font" in str(w.message)]


@pytest.mark.parametrize("name", OTHER_SCRIPTS)
def test_a_class_name_in_any_script_is_drawn_in_the_legend(tmp_path: Path, name: str):
    names = [name, "plain"]
    fig = map_plots.map_figure(_frame(2), "pca", {"knn_acc_5": 0.5}, names, "a map")
    assert _missing_glyphs(fig, tmp_path / "map.png") == []
    # without the fallbacks the same legend has missing glyphs (the check can fail)
    fig = map_plots.map_figure(_frame(2), "pca", {"knn_acc_5": 0.5}, names, "a map")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        fig.savefig(tmp_path / "bare.png")
    assert [w for w in seen if "missing from font" in str(w.message)], name


def test_each_text_gets_only_the_fallbacks_it_needs():
    own = fonts._characters(fonts.font_manager.FontProperties(family="DejaVu Sans"))
    assert fonts.plan("t-SNE — 5-NN ψ", own) == ([], [])
    assert fonts.plan("犬 🐦", own) == ([fonts.CJK, "Noto Emoji"], [])
    assert fonts.plan("❤\ufe0f\u200d", own)[1] == []  # selectors and joiners draw nothing
    assert fonts.plan(NO_FONT, own) == ([], ["𓀀"])


def test_latin_names_leave_the_figure_byte_identical(tmp_path: Path, monkeypatch):
    names = ["zero", "one", "two"]
    fig = map_plots.map_figure(_frame(3), "tsne", {"knn_acc_5": 0.5}, names, "Ωmega — naïve")
    plotting.save(fig, tmp_path / "fit.png")
    monkeypatch.setattr(fonts, "fit", lambda fig, name: [])
    fig = map_plots.map_figure(_frame(3), "tsne", {"knn_acc_5": 0.5}, names, "Ωmega — naïve")
    plotting.save(fig, tmp_path / "plain.png")
    assert (tmp_path / "fit.png").read_bytes() == (tmp_path / "plain.png").read_bytes()


@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")  # matplotlib's, in the log
def test_a_glyph_no_font_has_is_a_console_warning_naming_class_and_figure(tmp_path: Path, capfd):
    log = tmp_path / "logs/plot.log"
    png = tmp_path / "figures/tsne.png"
    png.parent.mkdir()
    with logs.rule_log(log):  # as a job runs: stderr goes to the log
        fig = map_plots.map_figure(_frame(2), "tsne", {}, [NO_FONT, "犬"], "a map")
        plotting.save(fig, png)
    shown = capfd.readouterr().err
    assert NO_FONT in shown and str(png) in shown and "U+13000" in shown, shown
    assert str(log) in shown  # where the rest is
    assert "犬" not in shown  # drawn: no word about it
    assert NO_FONT in log.read_text()
    assert png.stat().st_size > 1000  # the figure is still written

"""Locate the bundled resources (style sheet, icons, balance profile, demo session)."""

from __future__ import annotations

from pathlib import Path

from resources import BALANCE_PROFILE, DEMO_DIR, ROOT

STYLE_QSS = ROOT / "style.qss"
ICONS_DIR = ROOT / "icons"


def icon_path(name: str) -> Path:
    return ICONS_DIR / name


def style_sheet() -> str:
    try:
        return STYLE_QSS.read_text(encoding="utf-8")
    except OSError:
        return ""


__all__ = ["BALANCE_PROFILE", "DEMO_DIR", "ICONS_DIR", "ROOT", "STYLE_QSS", "icon_path", "style_sheet"]

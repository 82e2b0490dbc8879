"""Bundled data: the balance and tonal profiles, the demo session, icons and the style sheet."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent
DEMO_DIR = ROOT / "demo"
BALANCE_PROFILE = ROOT / "balance_profile.json"
TONAL_PROFILE = ROOT / "profiles" / "electronic.tonal.json"

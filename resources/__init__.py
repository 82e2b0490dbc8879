"""Bundled data: the balance and tonal profiles, the demo session, icons and the style sheet."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent
DEMO_DIR = ROOT / "demo"
PROFILES_DIR = ROOT / "profiles"
#: The default balance profile (pop-rock, a cited prior).
BALANCE_PROFILE = PROFILES_DIR / "pop-rock.json"
#: The tonal shapes used when a profile carries none: the electronic profile's.
TONAL_PROFILE = PROFILES_DIR / "electronic.json"

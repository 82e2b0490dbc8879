"""The MixingBuddy desktop app (PySide6) and the critique CLI."""

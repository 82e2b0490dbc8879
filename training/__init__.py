"""mixingbuddy-train: data synthesis, training, evaluation and scoring (headless)."""

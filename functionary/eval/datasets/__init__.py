"""Evaluation sets shipped with functionary (read with importlib.resources)."""

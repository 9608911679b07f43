"""Scoring stored evidence against the rubric: pure functions, never a fetch."""

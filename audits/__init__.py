"""dvc-audit: audit Vietnam's online public services against the UN's 20 essential services."""

__version__ = "0.1.0"

"""dvc-audit's foundations: the rubric model and loader, the safe YAML reader, the vocabulary and
the results store. Every other package stands on this one; it imports none of them."""

__version__ = "0.1.0"

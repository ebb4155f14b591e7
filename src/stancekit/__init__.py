"""stancekit: label, validate and release conditional-stance datasets with Label Studio."""

__version__ = "0.1.0"

"""stancekit: label, validate and release conditional-stance datasets with Label Studio."""

from .read import load

__version__ = "0.1.0"
__all__ = ["load"]

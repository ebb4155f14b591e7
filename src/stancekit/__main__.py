"""`python -m stancekit` runs the CLI."""

from .cli import main

main()

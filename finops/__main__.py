"""`python -m finops` runs the command line."""

from finops.cli import main

main()

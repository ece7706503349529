"""`python -m plainsql` runs the command line."""

from plainsql.cli import main

main()

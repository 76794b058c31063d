"""`python -m adapters.cli`: the same command line as the `pathways` script."""

from adapters.cli import main

main()

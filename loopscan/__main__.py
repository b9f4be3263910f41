"""`python -m loopscan` runs the command line."""

from loopscan.cli import main

main()

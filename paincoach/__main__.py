"""`python -m paincoach`: the same as the `paincoach` command."""

from paincoach.cli import main

main()

"""`python -m rolloutctl`: the same as the `rolloutctl` command."""
from rolloutctl.cli import main

main()

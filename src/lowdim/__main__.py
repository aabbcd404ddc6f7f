"""``python3 -m lowdim`` is the ``lowdim`` command."""

from .cli import main

main()

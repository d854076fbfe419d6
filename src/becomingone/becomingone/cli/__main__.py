"""``python -m becomingone.cli``: the ``becomingone`` command."""

from becomingone.cli import console_main

console_main()

"""`python -m bot` runs the deskwatch command line."""

from bot.cli import main

raise SystemExit(main())

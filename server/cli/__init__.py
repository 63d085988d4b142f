"""The admin CLI (`scanfloor`): one module per command group, shared options in `options`."""

from server.cli.main import main

__all__ = ["main"]

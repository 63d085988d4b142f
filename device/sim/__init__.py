"""Simulated floor hardware for tests and the demo."""

from .zpl_printer import ZplPrinterSim

__all__ = ["ZplPrinterSim"]

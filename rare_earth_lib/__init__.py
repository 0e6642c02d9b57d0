"""Rare-earth alliance briefings: the data package, calculations and report helpers."""

__version__ = "0.1.0"

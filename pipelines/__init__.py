"""GB Market-wide Half-Hourly Settlement (MHHS) data flows."""

__version__ = "0.1.0"

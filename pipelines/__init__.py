"""GB Market-wide Half-Hourly Settlement (MHHS) data flows."""

from importlib import metadata

DISTRIBUTION = "mhhs-settlement"  # pyproject.toml's project name, which holds the one version number

try:
    __version__ = metadata.version(DISTRIBUTION)
except metadata.PackageNotFoundError:  # run from a checkout that was never installed
    __version__ = "unknown (not installed: make setup)"

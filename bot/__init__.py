"""socialbot: talking to people (channels, dialogue, rendering, storage)."""

__version__ = "0.1.0"

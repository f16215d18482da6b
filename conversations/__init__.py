"""How to do it: procedures as YAML, walked by a pure state machine (see FORMAT.md)."""

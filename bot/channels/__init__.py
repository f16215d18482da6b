"""Thin adapters: each turns its own events into Messages and Replies into its own output."""

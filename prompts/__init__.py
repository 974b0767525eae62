"""Prompts, one file per role, loaded by name."""

"""Agents: one file per specialist, each with a build_<name>_agent(model) factory."""

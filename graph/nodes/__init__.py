"""Nodes of the orchestrator graph, one module each."""

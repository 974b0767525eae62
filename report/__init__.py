"""The report of a run: its data from the CDP and checkpoints, and the Markdown and HTML (inline SVG)
built from it. Below graph/: it reads plain dicts and the CDP, never the orchestrator itself."""

"""The `cdp-agents` command line."""

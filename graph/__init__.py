"""The orchestrator graph: state, context, supervisor, dispatcher and synthesizer."""

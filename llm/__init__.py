"""Chat models: the offline scripted model and OpenAI-compatible endpoints."""

"""Function-calling evaluation against any OpenAI-compatible endpoint."""

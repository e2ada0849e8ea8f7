"""functionary: an OpenAI-compatible server whose tool calls always parse and validate."""

"""Fine-tuning for function calling on our own stack (`python -m functionary.train`)."""

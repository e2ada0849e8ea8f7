"""Synthetic function-calling training data from nothing but a list of tools
(`python -m functionary.data synth`)."""

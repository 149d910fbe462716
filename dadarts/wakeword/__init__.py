"""Your own wake word from its text: one command chaining every stage (command.py)."""

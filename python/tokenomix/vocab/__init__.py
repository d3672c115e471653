"""Vocabulary files: the bundled OpenAI rank files and their definitions."""

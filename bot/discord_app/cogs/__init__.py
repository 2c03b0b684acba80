"""Thin discord.py adapters: parse the interaction or message, call a function, send a reply."""

"""End-to-end tests: the real bot and discord.py client against tests/fakediscord."""

# Before anything imports discord: discord.py 2.7 imports the deprecated stdlib audioop, and
# the project turns warnings into errors. The fake's package imports it with that silenced.
import tests.fakediscord  # noqa: F401

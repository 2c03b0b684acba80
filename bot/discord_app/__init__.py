"""The Discord bot: a discord.py commands.Bot, its cogs, and the pure pieces they call."""

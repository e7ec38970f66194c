"""The chat commands, one module per area, listed here by name.

A command exists because its module is in ``MODULES``; a new handler module left out of the list
fails ``tests/unit/test_command_modules.py`` instead of silently not existing.
"""

from bot.handlers import channels, contracts, general, orders, printing, production, rebates, warehouse

MODULES = (general, orders, contracts, warehouse, channels, rebates, printing, production)

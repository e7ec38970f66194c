"""Helpers the tests share (builders, shortcuts, waiting, the CLI, the platforms' set-up), kept here
so that no test module imports another; fixtures stay in the conftest files."""

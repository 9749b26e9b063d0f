"""carina-tui: a keyboard-driven terminal console for Docker clusters."""

__version__ = "0.1.0"
APP_NAME = "carina-tui"

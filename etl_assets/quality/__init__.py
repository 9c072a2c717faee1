"""Quality: typed asset boundaries and asset checks."""

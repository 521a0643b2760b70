"""Pure functions that turn discovered hardware into a desired tree."""

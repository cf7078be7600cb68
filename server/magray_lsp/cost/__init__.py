"""Prices and spend."""

"""Loopback fake LLM providers that speak each vendor's exact wire format (see base.py)."""

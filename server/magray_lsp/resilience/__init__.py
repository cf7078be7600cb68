"""Surviving provider failures: retry with backoff, circuit breakers, health, fallback."""

"""Routing: which models may take a task (hard filters) and in which order (scores, rules)."""

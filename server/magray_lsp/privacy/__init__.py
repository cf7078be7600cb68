"""Privacy: which content is private (it may only reach local providers)."""

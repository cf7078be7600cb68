"""The language server: thin pygls handlers over actions/ and the gateway."""

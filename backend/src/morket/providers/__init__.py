"""Data providers: registry, adapters, and the gateway that protects and caches their calls."""

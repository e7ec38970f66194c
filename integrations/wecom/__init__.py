"""wecom adapter."""

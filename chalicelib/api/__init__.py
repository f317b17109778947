"""HTTP layer: one blueprint per area of the API, plus the shared request helpers."""

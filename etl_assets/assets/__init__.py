"""Bronze, silver and gold assets. Thin: load, call a transform, return frame and metadata."""

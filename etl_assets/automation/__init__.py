"""Jobs (schedules, sensors and automation conditions join them here)."""

"""Jobs, schedules, sensors, automation conditions and alerts."""

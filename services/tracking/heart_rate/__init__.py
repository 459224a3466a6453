"""Heart-rate zones: a maximum heart rate and the time spent in each zone over a window."""

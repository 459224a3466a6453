"""Goals: targets over recurring periods, their progress from sample aggregates, and achievements."""

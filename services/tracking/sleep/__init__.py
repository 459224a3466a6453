"""Sleep sessions with their stages, and the analysis of a window of nights."""

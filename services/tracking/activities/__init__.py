"""Activities (workouts): summary figures, heart-rate series and route."""

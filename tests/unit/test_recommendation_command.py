"""`healthmesh recommendations` renders what the API answers: each recommendation's severity,
title, reason with its numbers and steps; an empty answer says so."""

from client.recommendation_commands import render


def test_render_lists_each_recommendation_with_its_steps():
    text = render({"startDate": "2026-03-02", "endDate": "2026-03-31", "recommendations": [
        {"id": "short_sleep", "title": "Sleep longer", "severity": "CRITICAL",
         "reason": "You slept 4.9 h a night on average over the 9 nights with sleep data in the last 30 days.",
         "actionSteps": ["Keep the same bedtime."]},
        {"id": "low_steps", "title": "Walk more", "severity": "WARNING",
         "reason": "You averaged 4,218 steps a day on the 23 days with data in the last 30 days.",
         "actionSteps": ["Take a walk.", "Use the stairs."]}]})
    lines = text.splitlines()
    assert lines[0] == "Recommendations for 2026-03-02 to 2026-03-31:"
    assert "1. [!!critical] Sleep longer" in lines and "2. [! warning] Walk more" in lines
    assert "4,218 steps a day" in text and "   - Use the stairs." in lines


def test_render_says_when_there_is_nothing_to_recommend():
    assert render({"startDate": "2026-03-02", "endDate": "2026-03-31"}).startswith("No recommendations for 2026-03-02")

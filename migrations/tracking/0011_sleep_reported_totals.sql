-- A sleep session's totals as its source reported them (Health Auto Export's inBed and totalSleep,
-- issue 17): time_in_bed_seconds and asleep_seconds are these when given. NULL: none reported.
ALTER TABLE tracking.sleep_sessions
    ADD COLUMN reported_time_in_bed_seconds integer,
    ADD COLUMN reported_asleep_seconds integer;

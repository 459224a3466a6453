-- Tracking: activities (with heart-rate series and route) and sleep sessions (with stages).
-- Every key starts with user_id, so the tables can be distributed by user (Citus) and the
-- children stay co-located with their parent. Ids are UUIDv7 made in Python.

CREATE TABLE tracking.activities (
    user_id uuid NOT NULL,
    id uuid NOT NULL,
    request_id text,
    type text NOT NULL,
    display_name text NOT NULL DEFAULT '',
    start_time timestamptz NOT NULL,
    end_time timestamptz NOT NULL,
    utc_offset_minutes integer NOT NULL DEFAULT 0,
    duration_seconds integer NOT NULL DEFAULT 0,  -- 0: not given, end minus start on read
    distance_meters double precision,
    active_energy_kcal double precision,
    total_energy_kcal double precision,
    steps integer,
    elevation_ascent_meters double precision,
    elevation_descent_meters double precision,
    pace_seconds_per_km double precision,  -- as given; computed on read when NULL
    speed_meters_per_second double precision,  -- as given; computed on read when NULL
    hr_min_bpm double precision,  -- the heart-rate summary as given
    hr_avg_bpm double precision,
    hr_max_bpm double precision,
    series_min_bpm double precision,  -- the same, computed from the series when it is written
    series_avg_bpm double precision,
    series_max_bpm double precision,
    indoor boolean,
    weather_temperature_celsius double precision,
    weather_humidity_percent double precision,
    weather_conditions text,  -- NULL: no weather at all
    notes text NOT NULL DEFAULT '',
    source text NOT NULL DEFAULT '',
    create_time timestamptz NOT NULL,
    update_time timestamptz NOT NULL,
    CONSTRAINT pk_activities PRIMARY KEY (user_id, id),
    CONSTRAINT uq_activities_user_id_request_id UNIQUE (user_id, request_id),
    CONSTRAINT ck_activities_end_not_before_start CHECK (end_time >= start_time),
    CONSTRAINT ck_activities_duration_not_negative CHECK (duration_seconds >= 0)
);
-- Lists: newest start first, optionally one type or source, keyset on (start_time, id).
CREATE INDEX ix_activities_user_id_start_time_id ON tracking.activities (user_id, start_time DESC, id DESC);

CREATE TABLE tracking.activity_heart_rate_points (
    user_id uuid NOT NULL,
    activity_id uuid NOT NULL,
    idx integer NOT NULL,  -- position in the series, oldest first
    time timestamptz NOT NULL,
    bpm double precision NOT NULL,
    min_bpm double precision,
    max_bpm double precision,
    CONSTRAINT pk_activity_heart_rate_points PRIMARY KEY (user_id, activity_id, idx),
    CONSTRAINT fk_activity_heart_rate_points_user_id_activities FOREIGN KEY (user_id, activity_id)
        REFERENCES tracking.activities (user_id, id) ON DELETE CASCADE
);

CREATE TABLE tracking.activity_route_points (
    user_id uuid NOT NULL,
    activity_id uuid NOT NULL,
    idx integer NOT NULL,
    time timestamptz NOT NULL,
    latitude double precision NOT NULL,
    longitude double precision NOT NULL,
    altitude_meters double precision,
    speed_meters_per_second double precision,
    course_degrees double precision,
    horizontal_accuracy_meters double precision,
    vertical_accuracy_meters double precision,
    CONSTRAINT pk_activity_route_points PRIMARY KEY (user_id, activity_id, idx),
    CONSTRAINT fk_activity_route_points_user_id_activities FOREIGN KEY (user_id, activity_id)
        REFERENCES tracking.activities (user_id, id) ON DELETE CASCADE,
    CONSTRAINT ck_activity_route_points_on_the_globe
        CHECK (latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180)
);

CREATE TABLE tracking.sleep_sessions (
    user_id uuid NOT NULL,
    id uuid NOT NULL,
    request_id text,
    start_time timestamptz NOT NULL,
    end_time timestamptz NOT NULL,
    utc_offset_minutes integer NOT NULL DEFAULT 0,
    local_date date NOT NULL,  -- the local date end_time falls on, at utc_offset_minutes
    -- Derived from the stages when written, so nights can be summed without reading stages.
    time_in_bed_seconds integer NOT NULL,
    asleep_seconds integer NOT NULL,
    score smallint,  -- the source's own; NULL: computed on read
    notes text NOT NULL DEFAULT '',
    source text NOT NULL DEFAULT '',
    create_time timestamptz NOT NULL,
    update_time timestamptz NOT NULL,
    CONSTRAINT pk_sleep_sessions PRIMARY KEY (user_id, id),
    CONSTRAINT uq_sleep_sessions_user_id_request_id UNIQUE (user_id, request_id),
    CONSTRAINT ck_sleep_sessions_end_after_start
        CHECK (end_time > start_time AND end_time - start_time <= interval '24 hours'),
    CONSTRAINT ck_sleep_sessions_score_range CHECK (score BETWEEN 0 AND 100)
);
-- Lists and analyses: newest end first, keyset on (end_time, id).
CREATE INDEX ix_sleep_sessions_user_id_end_time_id ON tracking.sleep_sessions (user_id, end_time DESC, id DESC);
CREATE INDEX ix_sleep_sessions_user_id_local_date ON tracking.sleep_sessions (user_id, local_date);

CREATE TABLE tracking.sleep_stages (
    user_id uuid NOT NULL,
    sleep_session_id uuid NOT NULL,
    idx integer NOT NULL,  -- position in the session, oldest first
    stage smallint NOT NULL,
    start_time timestamptz NOT NULL,
    end_time timestamptz NOT NULL,
    CONSTRAINT pk_sleep_stages PRIMARY KEY (user_id, sleep_session_id, idx),
    CONSTRAINT fk_sleep_stages_user_id_sleep_sessions FOREIGN KEY (user_id, sleep_session_id)
        REFERENCES tracking.sleep_sessions (user_id, id) ON DELETE CASCADE,
    CONSTRAINT ck_sleep_stages_end_after_start CHECK (end_time > start_time),
    CONSTRAINT ck_sleep_stages_known_stage CHECK (stage BETWEEN 1 AND 8)
);

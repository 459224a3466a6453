-- Samples: one row per measured point, in monthly partitions of start_time that writes create on
-- demand. The natural key (user_id, type, start_time, source) is the primary key; it includes
-- the partition key, as PostgreSQL requires.

CREATE TABLE tracking.samples (
    user_id uuid NOT NULL,
    type text NOT NULL,
    start_time timestamptz NOT NULL,
    source text NOT NULL DEFAULT '',
    id uuid NOT NULL,
    end_time timestamptz NOT NULL,
    utc_offset_minutes smallint NOT NULL,
    value double precision NOT NULL,
    min double precision,
    max double precision,
    value2 double precision,
    original_value double precision,
    original_unit text NOT NULL DEFAULT '',
    meal_context smallint NOT NULL DEFAULT 0,
    ingest_id text NOT NULL DEFAULT '',
    create_time timestamptz NOT NULL,
    update_time timestamptz NOT NULL,
    CONSTRAINT pk_samples PRIMARY KEY (user_id, type, start_time, source)
) PARTITION BY RANGE (start_time);

-- Lists across types, and lookups by id (an id carries its start time, see domain.new_sample_id).
CREATE INDEX ix_samples_user_id_start_time ON tracking.samples (user_id, start_time);

-- Hourly rollups per source, on the samples' own local hours. utc_offset_minutes is part of the
-- key so a local hour is a well-defined UTC interval even for travellers.
CREATE TABLE tracking.sample_hours (
    user_id uuid NOT NULL,
    type text NOT NULL,
    local_hour timestamp NOT NULL,
    utc_offset_minutes smallint NOT NULL,
    source text NOT NULL,
    count integer NOT NULL,
    sum double precision NOT NULL,
    min double precision NOT NULL,
    max double precision NOT NULL,
    CONSTRAINT pk_sample_hours PRIMARY KEY (user_id, type, local_hour, utc_offset_minutes, source)
);

-- Daily rollups per source, made from the hourly ones; long windows of level types read these.
CREATE TABLE tracking.sample_days (
    user_id uuid NOT NULL,
    type text NOT NULL,
    local_date date NOT NULL,
    utc_offset_minutes smallint NOT NULL,
    source text NOT NULL,
    count integer NOT NULL,
    sum double precision NOT NULL,
    min double precision NOT NULL,
    max double precision NOT NULL,
    CONSTRAINT pk_sample_days PRIMARY KEY (user_id, type, local_date, utc_offset_minutes, source)
);

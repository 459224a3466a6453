-- Tracking: nutrition entries, goals and their achievements. Every key starts with user_id, so
-- the tables can be distributed by user (Citus) as they are.

CREATE TABLE tracking.nutrition_entries (
    user_id uuid NOT NULL,
    id uuid NOT NULL,
    meal_type smallint NOT NULL DEFAULT 0,
    consume_time timestamptz NOT NULL,
    utc_offset_minutes integer NOT NULL,
    local_date date NOT NULL,  -- consume_time at utc_offset_minutes; daily totals group on it
    food_name text NOT NULL DEFAULT '',
    notes text NOT NULL DEFAULT '',
    source text NOT NULL DEFAULT '',
    calories_kcal double precision,
    protein_grams double precision,
    carbs_grams double precision,
    fat_grams double precision,
    fiber_grams double precision,
    sugar_grams double precision,
    water_ml double precision,
    caffeine_mg double precision,
    request_id text,
    create_time timestamptz NOT NULL,
    update_time timestamptz NOT NULL,
    CONSTRAINT pk_nutrition_entries PRIMARY KEY (user_id, id),
    CONSTRAINT uq_nutrition_entries_user_id_request_id UNIQUE (user_id, request_id),
    CONSTRAINT ck_nutrition_entries_utc_offset_minutes CHECK (utc_offset_minutes BETWEEN -1080 AND 1080),
    CONSTRAINT ck_nutrition_entries_amounts_not_negative CHECK (
        coalesce(calories_kcal, 0) >= 0 AND coalesce(protein_grams, 0) >= 0 AND coalesce(carbs_grams, 0) >= 0
        AND coalesce(fat_grams, 0) >= 0 AND coalesce(fiber_grams, 0) >= 0 AND coalesce(sugar_grams, 0) >= 0
        AND coalesce(water_ml, 0) >= 0 AND coalesce(caffeine_mg, 0) >= 0)
);
-- Lists (newest consume_time first, keyset on (consume_time, id)) and the dietary-sample mirror.
CREATE INDEX ix_nutrition_entries_user_id_consume_time_id
    ON tracking.nutrition_entries (user_id, consume_time DESC, id DESC);
CREATE INDEX ix_nutrition_entries_user_id_local_date ON tracking.nutrition_entries (user_id, local_date);

CREATE TABLE tracking.goals (
    user_id uuid NOT NULL,
    id uuid NOT NULL,
    display_name text NOT NULL,
    metric text NOT NULL,
    target_value double precision NOT NULL,
    unit text NOT NULL,
    comparison smallint NOT NULL,
    period smallint NOT NULL,
    start_date date NOT NULL,
    target_date date,
    state smallint NOT NULL,
    request_id text,
    create_time timestamptz NOT NULL,
    update_time timestamptz NOT NULL,
    CONSTRAINT pk_goals PRIMARY KEY (user_id, id),
    CONSTRAINT uq_goals_user_id_request_id UNIQUE (user_id, request_id),
    CONSTRAINT ck_goals_target_value_positive CHECK (target_value > 0),
    CONSTRAINT ck_goals_target_date_after_start CHECK (target_date IS NULL OR target_date >= start_date)
);
-- The primary key (user_id, id) already serves "newest first" (UUIDv7) lists, backwards.

CREATE TABLE tracking.achievements (
    user_id uuid NOT NULL,
    id uuid NOT NULL,
    goal_id uuid NOT NULL,
    kind smallint NOT NULL,
    title text NOT NULL,
    description text NOT NULL,
    period_start_date date NOT NULL,
    value double precision NOT NULL,
    streak_length integer NOT NULL DEFAULT 0,
    create_time timestamptz NOT NULL,
    CONSTRAINT pk_achievements PRIMARY KEY (user_id, id),
    -- Each milestone once per goal: awarding is idempotent under concurrent progress reads.
    CONSTRAINT uq_achievements_user_id_goal_id_kind_streak_length UNIQUE (user_id, goal_id, kind, streak_length),
    CONSTRAINT fk_achievements_user_id_goals FOREIGN KEY (user_id, goal_id)
        REFERENCES tracking.goals (user_id, id) ON DELETE CASCADE
);

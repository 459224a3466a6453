"""Ingest's columnar samples (records.SampleRows): built from records or by the HAE reader,
joined and cut into batches, and sent as the columns Tracking decodes."""

from __future__ import annotations

import datetime as dt
import json
import math
import random

from services.common.convert import to_micros
from services.ingest import convert, sources
from services.ingest.hae import HaeParser
from services.ingest.hae.parser import SPILL_BATCH
from services.ingest.hae.metrics import metric_items
from services.ingest.records import ItemPaths, SampleRecord, SampleRows
from services.tracking.samples import convert as tracking_convert

AT = dt.datetime(2026, 3, 1, 7, tzinfo=dt.UTC)


def record(i: int, **fields) -> SampleRecord:
    values = dict(metric="m", path=f"$[{i}]", type="heart_rate", start_time=AT + dt.timedelta(minutes=i),
                  end_time=None, utc_offset_minutes=60, value=60.0 + i, unit="count/min", source="Watch")
    return SampleRecord(**(values | fields))


def rows_of(records: list[SampleRecord], with_offset: bool = True) -> SampleRows:
    rows = SampleRows("m", [] if with_offset else None)
    for r in records:
        rows.add(r)
    return rows


def test_optional_columns_stay_empty_until_a_row_has_them_then_cover_every_row():
    plain = [record(0), record(1)]
    rows = rows_of(plain)
    assert (rows.end_us, rows.min, rows.max, rows.value2, rows.meal_context) == ([], [], [], [], [])
    assert rows.records() == plain
    mixed = plain + [record(2, end_time=AT + dt.timedelta(hours=1), min=50.0), record(3, meal_context=2),
                     record(4, value2=80.0)]
    rows = rows_of(mixed)
    assert rows.end_us == [*rows.start_us[:2], rows.start_us[0] + 3_600_000_000, *rows.start_us[3:]]
    assert [x if x == x else None for x in rows.min] == [None, None, 50.0, None, None]
    assert rows.meal_context == [0, 0, 0, 2, 0] and math.isnan(rows.value2[0]) and rows.value2[4] == 80.0
    assert rows.records() == mixed


def test_joined_and_cut_rows_keep_every_row_in_order():
    first = [record(i) for i in range(3)]
    second = [record(i, min=float(i), end_time=AT + dt.timedelta(days=1)) for i in range(3, 7)]
    rows = rows_of(first)
    rows.extend(rows_of(second))
    assert len(rows) == 7 and rows.records() == first + second
    head, tail = rows.split(5)
    assert head.records() == (first + second)[:5] and tail.records() == (first + second)[5:]
    no_offset = rows_of([record(0, utc_offset_minutes=None)], with_offset=False)
    no_offset.extend(rows_of([record(1, utc_offset_minutes=None)], with_offset=False))
    assert no_offset.offset is None and [r.utc_offset_minutes for r in no_offset.records()] == [None, None]


def test_tracking_decodes_the_columns_sent_to_what_the_rows_hold():
    records = [record(0), record(1, min=55.0, max=70.0), record(2, end_time=AT + dt.timedelta(hours=2),
                                                            source="Phone", unit="bpm")]
    decoded = tracking_convert.sample_columns(convert.sample_columns(rows_of(records))).as_lists()
    strings = decoded.strings
    assert [strings[i] for i in decoded.source] == ["Watch", "Watch", "Phone"]
    assert [strings[i] for i in decoded.unit] == ["count/min", "count/min", "bpm"]
    assert decoded.start_us == rows_of(records).start_us
    assert decoded.end_us[2] == to_micros(AT + dt.timedelta(hours=2)) and decoded.end_us[0] == decoded.start_us[0]
    assert decoded.min == [None, 55.0, None] and decoded.max == [None, 70.0, None]
    assert decoded.value2 == [None] * 3 and decoded.meal_context == [0] * 3 and decoded.offset == [60] * 3
    sent = convert.sample_columns(rows_of([record(0), record(1)]))
    assert not sent.end_time_micros  # points in time: no end column at all, and each ends at its start
    points = tracking_convert.sample_columns(sent).as_lists()
    assert points.end_us == points.start_us == rows_of([record(0), record(1)]).start_us


def test_the_hae_reader_fills_the_same_columns_as_records_would():
    items = metric_items("blood_glucose", "mg/dL")
    assert items.add({"date": "2026-03-01 08:00:00 +0100", "qty": 95, "mealTime": "Before Meal"}, "$[0]") is None
    assert items.add({"date": "2026-03-01 09:00:00 +0100", "qty": "x"}, "$[1]").reason == "INVALID_VALUE"
    assert items.add({"startDate": "2026-03-01 10:00:00 +0100", "endDate": "2026-03-01 10:05:00 +0100", "qty": 101.5,
                      "source": "Meter"}, "$[2]") is None
    rows = items.take()
    assert items.take() is None  # handed over: the next rows start afresh
    assert rows.records() == [  # 08:00 at +0100 is AT
        SampleRecord("blood_glucose", "$[0]", "blood_glucose", AT, None, 60, 95.0, "mg/dL", "", meal_context=3),
        SampleRecord("blood_glucose", "$[2]", "blood_glucose", AT + dt.timedelta(hours=2),
                     AT + dt.timedelta(hours=2, minutes=5), 60, 101.5, "mg/dL", "Meter")]


async def test_record_batches_count_rows_so_a_metric_read_late_still_comes_in_small_batches():
    """A metric whose "data" comes before its "name" is read back in one go once the name is
    known; the batches handed on are still cut at BATCH items, counting each row."""
    points = [{"date": f"2026-03-{1 + i // 1440:02d} {i // 60 % 24:02d}:{i % 60:02d}:00 +0000", "qty": 1.0}
              for i in range(20_000)]
    body = json.dumps({"data": {"metrics": [{"data": points, "name": "step_count", "units": "count"}]}}).encode()

    async def chunks():
        for i in range(0, len(body), 65536):
            yield body[i:i + 65536]

    sizes = [sum(len(r) if isinstance(r, SampleRows) else 1 for r in batch)
             async for batch in sources.incremental(HaeParser)(chunks())]
    assert sum(sizes) == 20_000
    assert max(sizes) < sources.BATCH + SPILL_BATCH  # a batch stops at the record that reaches BATCH


def test_a_series_block_is_taken_whole_exactly_as_its_items_one_by_one():
    keys = ("Avg", "Max", "Min", "date", "source")
    values = [(60.0 + i, 70.0, 50.0, f"2026-03-01 08:{i:02d}:00 +0100", "Watch") for i in range(50)]
    paths = [f"$[{i}]" for i in range(50)]
    whole, one_by_one = metric_items("heart_rate", "count/min"), metric_items("heart_rate", "count/min")
    assert whole.add_series(keys, values, "$[", 0)
    for v, path in zip(values, paths):
        assert one_by_one.add(dict(zip(keys, v)), path) is None
    assert whole.take().records() == one_by_one.take().records()
    # Anything unusual (an integer value, a date that is not one, units of its own): none taken.
    unusual = [(keys, [*values[:49], (60, 70.0, 50.0, values[49][3], "Watch")]),
               (keys, [*values[:49], (60.0, 70.0, 50.0, "2026-02-30 08:00:00 +0100", "Watch")]),
               ((*keys, "units"), [(*v, "bpm") for v in values])]
    for unusual_keys, unusual_values in unusual:
        assert not whole.add_series(unusual_keys, unusual_values, "$[", 0)
        assert whole.take() is None


def test_item_paths_hold_what_a_list_of_the_paths_would():
    rng = random.Random(3)
    for _ in range(300):
        paths, model = ItemPaths(), []
        for _ in range(rng.randrange(1, 8)):
            step = rng.randrange(4)
            if step == 0:
                path = f"/HealthData/Record[{rng.randrange(100)}]"
                paths.append(path)
                model.append(path)
            elif step in (1, 2):  # a run, often right after the last one
                prefix, first, count = rng.choice(["$.a[", "$.b["]), rng.randrange(20), rng.randrange(5)
                paths.add_run(prefix, first, count)
                model += [f"{prefix}{i}]" for i in range(first, first + count)]
            else:
                n = rng.randrange(len(model) + 2)
                head, tail = paths.split(n)
                assert (list(head), list(tail)) == (model[:n], model[n:])
                paths = head if rng.random() < 0.5 else tail
                model = model[:n] if paths is head else model[n:]
                other = ItemPaths()
                other.extend(paths)
                paths = other
        assert len(paths) == len(model) and list(paths) == model
        assert [paths[i] for i in range(len(model))] == model
        for i in (-1, len(model)):
            try:
                paths[i]
            except IndexError:
                continue
            raise AssertionError(f"{i} is out of range")

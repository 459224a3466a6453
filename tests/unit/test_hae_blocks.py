"""Runs of usual series points read in one step (SampleItems.add_block, dates.parse_dates_us)
give exactly the records that reading them item by item gives, whatever the run holds."""

from __future__ import annotations

import json
import random
import re

import pytest

from services.ingest.hae import HaeParser
from services.ingest.hae import metrics as hae_metrics
from services.ingest.hae.dates import DateError, parse_date_us, parse_dates_us
from services.ingest.records import SampleRows

COLUMNS = ("paths", "type", "unit", "source", "start_us", "offset", "value", "end_us", "min", "max", "value2",
           "meal_context")


def usual(rng: random.Random, i: int, kind: str) -> dict:
    day, minute = divmod(i, 1440)
    offset = rng.choice(["+0100", "-0800", "+0545"])
    item = {"date": f"20{rng.choice(['25', '26'])}-0{1 + day % 9}-{10 + day % 18} "
                    f"{minute // 60:02d}:{minute % 60:02d}:{rng.randrange(60):02d} {offset}"}
    if kind == "heart_rate":
        avg = round(rng.uniform(40, 180), rng.choice([0, 1, 3]))
        item.update(Min=avg - 3, Avg=avg, Max=avg + 4.5)
    else:
        item["qty"] = rng.choice([rng.randrange(1000), rng.random() * 100, -0.0])
    if rng.random() < 0.8:
        item["source"] = rng.choice(["Apple Watch", "Jane\u2019s iPhone", 'a "b" [c]', ""])
    return item


ODD = [
    lambda it: it.update(date="2026-03-01 7:00:00\u202fpm -0800"),  # another form of date
    lambda it: it.update(date="2026-02-30 07:00:00 +0100"),  # no such day
    lambda it: it.update(date="0001-01-01 00:00:00 +0100"),  # out of range in UTC
    lambda it: it.update(date=12),
    lambda it: it.pop("date"),
    lambda it: it.update(source=None),
    lambda it: it.update(source=5),
    lambda it: it.update(units="bpm"),
    lambda it: it.update(extra=[1, {"x": "]"}]),
    lambda it: it.update({k: "61,5" for k in ("Avg", "qty") if k in it}),
    lambda it: it.update({k: True for k in ("Min", "qty") if k in it}),
    lambda it: it.update({k: None for k in ("Max", "qty") if k in it}),
    lambda it: it.pop("Avg", None) or it.pop("qty", None),
]


def body(items: list, name: str, units: str, huge: str | None = None) -> bytes:
    text = json.dumps({"data": {"metrics": [{"name": name, "units": units, "data": items}]}},
                      separators=(",", ":"), ensure_ascii=False)
    if huge:  # numbers json.dumps cannot write: 1e400 (inf once read), an integer too large for a float
        text = text.replace('"HUGE"', huge)
    return text.encode()


def parse(data: bytes, chunk: int) -> list:
    p = HaeParser()
    out = []
    for i in range(0, len(data), chunk):
        out += p.feed(data[i:i + chunk])
    out += p.close()
    rows = {c: [] for c in COLUMNS}
    others = []
    for r in out:
        if isinstance(r, SampleRows):
            for c in COLUMNS:
                rows[c] += getattr(r, c) or []
        else:
            others.append(r)
    return [rows, sorted(others, key=lambda r: r.path)]


@pytest.mark.parametrize("seed", range(12))
def test_a_run_read_in_one_step_gives_what_reading_it_item_by_item_gives(seed, monkeypatch):
    rng = random.Random(seed)
    kind, name, units = rng.choice([("heart_rate", "heart_rate", "count/min"), ("qty", "step_count", "count")])
    items = [usual(rng, i, kind) for i in range(rng.randrange(200, 3000))]
    odd = rng.sample(items, rng.choice([0, 0, 1, 5]))
    for item in odd:
        rng.choice(ODD)(item)
    huge = None
    if rng.random() < 0.3:
        rng.choice(items)["Avg" if kind == "heart_rate" else "qty"] = "HUGE"
        huge = rng.choice(["1e400", "-1e400", "1" + "0" * 400])
    data = body(items, name, units, huge)
    chunk = rng.choice([1 << 20, 4096, 50_000])

    taken = []
    add_block = hae_metrics.SampleItems.add_block
    monkeypatch.setattr(hae_metrics.SampleItems, "add_block",
                        lambda self, *args: taken.append(add_block(self, *args)) or taken[-1])
    in_blocks = parse(data, chunk)
    monkeypatch.setattr(hae_metrics.SampleItems, "add_block", lambda self, *args: 0)
    one_by_one = parse(data, chunk)

    assert in_blocks == one_by_one
    assert len(in_blocks[0]["paths"]) + len(in_blocks[1]) == len(items)
    if not odd and huge is None:
        assert sum(taken) >= len(items) - len(data) // chunk - 1  # all but the last item of each feed's text


def test_a_clean_series_is_read_in_blocks(monkeypatch):
    rng = random.Random(7)
    items = [usual(rng, i, "heart_rate") for i in range(5000)]
    taken = []
    add_block = hae_metrics.SampleItems.add_block
    monkeypatch.setattr(hae_metrics.SampleItems, "add_block",
                        lambda self, *args: taken.append(add_block(self, *args)) or taken[-1])
    rows, others = parse(body(items, "heart_rate", "count/min"), 65536)
    assert others == [] and len(rows["paths"]) == 5000
    assert sum(taken) > 4900  # all but the last item of each feed's text
    assert rows["paths"][:2] == ["$.data.metrics[0].data[0]", "$.data.metrics[0].data[1]"]
    assert rows["value"][0] == items[0]["Avg"] and rows["min"][0] == items[0]["Min"]


def test_many_dates_at_once_are_read_as_one_by_one():
    dates = [f"2026-0{m}-1{d} {h:02d}:{mi:02d}:{s:02d} {o}" for m in (1, 3) for d in (0, 9) for h in (0, 23)
             for mi in (0, 59) for s in (0, 30) for o in ("+0100", "-0930", "+0000")]
    starts, offsets = parse_dates_us(dates)
    assert list(zip(starts, offsets)) == [parse_date_us(d) for d in dates]
    for odd in ("2026-03-01 7:00:00 pm -0800", "2026-03-01 07:00:00 +01:00", "2026-03-01T07:00:00+0100",
                "2026-13-01 07:00:00 +0100", "0001-01-01 00:30:00 +0100", 5, "2026-03-01\n07:00:00 +0100"):
        with pytest.raises(DateError):
            parse_dates_us([*dates, odd])
    with pytest.raises(DateError):  # one character short, the next one more: no date shifts into another's place
        parse_dates_us([*dates, "2026-03-01 07:00:00 +010", "02026-03-01 07:00:00 +0100", *dates])


def test_many_dates_at_once_agree_with_one_by_one_on_random_and_broken_dates():
    rng = random.Random(11)

    def date() -> str:
        m = rng.choice([-16 * 60, -570, -1, 0, 1, 345, 960, *range(-900, 901, 15)])
        sign = "-" if m < 0 or (m == 0 and rng.random() < 0.1) else "+"
        return (f"{rng.randint(1, 9999):04d}-{rng.randint(0, 13):02d}-{rng.randint(0, 32):02d} "
                f"{rng.randint(0, 24):02d}:{rng.randint(0, 60):02d}:{rng.randint(0, 60):02d} "
                f"{sign}{abs(m) // 60:02d}{abs(m) % 60:02d}")

    def one(value):
        try:
            return parse_date_us(value)
        except DateError:
            return None

    def of_the_form(d: str) -> bool:  # what the bulk read takes (the rest goes one by one)
        return bool(re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}", d)
                    and 2 <= int(d[:4]) <= 9998 and int(d[23:]) % 15 == 0
                    and int(d[21:23]) * 60 + int(d[23:]) <= 960 and d[20:] != "-0000")

    read = 0
    for _ in range(3000):
        dates = [date() for _ in range(rng.randint(1, 4))]
        if rng.random() < 0.3:  # one character changed, added or taken away
            i, k = rng.randrange(len(dates)), rng.randrange(25)
            dates[i] = dates[i][:k] + rng.choice(["", "x", "0", " ", "-", ":", "\u202f", "\u0663"]) + dates[i][k + 1:]
        singles = [one(d) for d in dates]
        taken = all(s is not None and of_the_form(d) for d, s in zip(dates, singles))
        try:
            starts, offsets = parse_dates_us(dates)
        except DateError:
            assert not taken, dates
            continue
        assert taken, dates
        assert list(zip(starts, offsets)) == singles
        read += 1
    assert read > 300

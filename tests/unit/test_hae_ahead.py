"""Reading ahead for a metric's name and units (services/ingest/hae/ahead.py), and the parser
that uses it: items that come before their metric's name are mapped as they are read, exactly as
if the name had come first."""

from __future__ import annotations

import json
import random

import pytest

from services.ingest.hae import HaeParser
from services.ingest.hae.ahead import TAIL_CHARS, Ahead, Held
from services.ingest.hae.parser import _scan
from services.ingest.records import SampleRows

TRICKY = ["]", "[", "\\", '"', '\\"]', "],\"name\":\"fake\"", "\u2019", "\\u005d", "}{", ""]


def skim(text: str, pieces: list[int], has_name=False, name=None, has_units=False, units=None) -> Ahead:
    """Feeds `text` (what follows a data array's "[") to an Ahead, cut at the given positions."""
    ahead = Ahead(_scan, has_name, name, has_units, units)
    cuts = [0, *sorted(pieces), len(text)]
    for a, b in zip(cuts, cuts[1:]):
        if ahead.add(text, a) if b == len(text) else ahead.add(text[:b], a):
            break
    return ahead


def after_bracket(metric: dict, **dumps) -> str:
    text = json.dumps(metric, **dumps)
    return text[text.index("[") + 1:]


def random_item(rng: random.Random) -> dict:
    item = {"date": "2026-03-01 07:00:00 +0100", "qty": rng.random() * 100}
    for _ in range(rng.randrange(3)):
        item[rng.choice(TRICKY) + str(rng.randrange(9))] = rng.choice([
            rng.choice(TRICKY), [rng.choice(TRICKY), [1, {"x": rng.choice(TRICKY)}]], {"n": [rng.choice(TRICKY)]},
            rng.randrange(-5, 5), None, True])
    return item


@pytest.mark.parametrize("seed", range(40))
def test_finds_what_follows_the_array_whatever_the_items_hold_and_wherever_the_text_is_cut(seed):
    rng = random.Random(seed)
    metric = {"data": [random_item(rng) for _ in range(rng.randrange(0, 30))],
              "name": rng.choice(["heart_rate", "step\\count", "weird]name", "é"]),
              "units": rng.choice(["count", "", None, 5, "mg/dL\"x"])}
    dumps = rng.choice([{}, {"ensure_ascii": False}, {"indent": 2}, {"separators": (",", ":")}])
    text = after_bracket(metric, **dumps)
    cuts = [rng.randrange(len(text) + 1) for _ in range(rng.randrange(6))]
    ahead = skim(text, cuts)
    assert ahead.done
    assert ahead.found == (metric["name"], metric["units"])


def test_an_escape_cut_from_the_character_it_escapes_is_still_an_escape():
    text = after_bracket({"data": [{"source": 'a\\"]'}], "name": "n", "units": "u"})
    at = text.index("\\") + 1  # the piece ends right after the first backslash
    for cut in (at, at + 1, at - 1):
        assert skim(text, [cut]).found == ("n", "u")


def test_keeps_what_the_metric_already_had_and_takes_the_last_of_repeated_members():
    text = after_bracket({"data": [], "units": "kg"})
    assert skim(text, [], has_name=True, name="weight").found == ("weight", "kg")
    text = '{"qty": 1}], "name": "a", "name": "b", "units": "u"}'
    assert skim(text, [3, 20]).found == ("b", "u")
    text = '], "name": 7, "units": {"x": 1}}'
    assert skim(text, []).found == (None, None)  # as the parser takes them: no name, no units


@pytest.mark.parametrize("text", [
    '{"qty": 1}], "name": "step_count"}',  # the metric ends without units
    '{"qty": 1}], "name": "step_count", "data": [], "units": "count"}',  # more items before it is known
    '{"qty": 1}] "name": "x", "units": "y"}',  # invalid: left to the parser to say where
    '{"qty": 1}], "note": "' + "x" * 2 * TAIL_CHARS + '", "name": "x", "units": "y"}',  # too long to wait for them
])
def test_gives_up_when_the_name_or_units_are_not_simply_there(text):
    ahead = skim(text, list(range(0, len(text), 1000)))
    assert ahead.done and ahead.found is None


def test_waits_for_a_number_that_may_go_on_in_the_next_piece():
    ahead = Ahead(_scan, True, "n", False, None)
    assert not ahead.add('], "units": 12')
    assert ahead.add('3}')
    assert ahead.found == ("n", 123)


def test_held_text_comes_back_in_order_and_can_be_read_ahead_without_taking_it():
    held = Held()
    for text in ("a", "", "é" * 3, "z"):
        held.append(text)
    assert list(held.unread()) == ["a", "", "ééé", "z"]
    assert held.pop() == "a"
    assert list(held.unread()) == ["", "ééé", "z"]
    assert [held.pop() for _ in range(3)] == ["", "ééé", "z"]
    assert not held
    held.close()


def rows_of(records) -> list:
    out = []
    for r in records:
        if isinstance(r, SampleRows):
            out.extend((r.metric, *row) for row in zip(r.paths, r.start_us, r.value, r.source))
        else:
            out.append(r)
    return out


def parse(data: bytes, chunk: int) -> tuple[list, list]:
    """The records, and how many came out of each feed."""
    p = HaeParser()
    out, per_feed = [], []
    for i in range(0, len(data), chunk):
        records = rows_of(p.feed(data[i:i + chunk]))
        per_feed.append(len(records))
        out += records
    out += rows_of(p.close())
    return out, per_feed


def test_items_before_the_name_are_mapped_as_they_are_read_and_nothing_is_spilled(monkeypatch):
    from services.ingest.hae import parser as hae_parser

    def no_spill(*args):
        raise AssertionError("spilled")

    monkeypatch.setattr(hae_parser.HaeParser, "_spill", no_spill)
    points = [{"date": f"2026-03-01 07:{m:02d}:00 +0100", "qty": m, "source": 'Watch "]["'} for m in range(60)]
    named_first = json.dumps({"data": {"metrics": [
        {"name": "step_count", "units": "count", "data": points},
        {"name": "active_energy", "units": "kJ", "data": points[:5]}]}}).encode()
    sorted_keys = json.dumps(json.loads(named_first), sort_keys=True).encode()
    expected, _ = parse(named_first, 1 << 20)
    assert len(expected) == 65
    for chunk in (1 << 20, 97, 5):
        got, per_feed = parse(sorted_keys, chunk)
        assert got == expected
        if chunk == 97:  # the first metric's rows wait for its name, then come out together with it
            assert per_feed.index(next(n for n in per_feed if n)) == sorted_keys.index(b'"name"') // 97


def test_a_payload_that_ends_while_reading_ahead_is_truncated_and_says_so():
    from services.ingest.records import PayloadError

    body = b'{"data": {"metrics": [{"data": [{"date": "2026-03-01 07:00:00 +0100", "qty": 1}, {"da'
    p = HaeParser()
    assert list(p.feed(body[:40])) == []
    assert list(p.feed(body[40:])) == []
    with pytest.raises(PayloadError) as e:
        list(p.close())
    assert e.value.reason == "TRUNCATED"


@pytest.mark.parametrize("chunk", [1, 7, 100, 4096])
@pytest.mark.parametrize("cut", [None, 0.5, 0.97])
def test_each_skim_sees_the_text_after_its_array_once_and_in_order(monkeypatch, chunk, cut):
    """Whatever the feeds (one byte of a multi-byte character, a body cut short), every Ahead is
    given exactly the text that follows its array's "[", in order, each piece once."""
    from services.ingest.hae import ahead as hae_ahead
    from services.ingest.records import PayloadError

    points = [{"date": f"2026-03-01 07:{m:02d}:00 +0100", "qty": m, "source": 'Jane\u2019s "Watch" ]'}
              for m in range(40)]
    metrics = [{"name": n, "units": u, "data": points[:k]} for n, u, k in
               [("step_count", "count", 40), ("active_energy", "kJ", 3), ("weight", "lb", 20)]]
    text = json.dumps({"data": {"metrics": metrics}}, sort_keys=True, ensure_ascii=False)
    data = text.encode()
    if cut is not None:
        data = data[:int(len(data) * cut)]
    fed: dict[int, list[str]] = {}
    add = hae_ahead.Ahead.add
    monkeypatch.setattr(hae_ahead.Ahead, "add", lambda self, t, start=0: (
        fed.setdefault(id(self), []).append(t[start:]) if not self.done else None, add(self, t, start))[1])
    keep = []  # the Aheads, so that no id is reused
    init = hae_ahead.Ahead.__init__
    monkeypatch.setattr(hae_ahead.Ahead, "__init__", lambda self, *a: (keep.append(self), init(self, *a))[1])
    p = HaeParser()
    try:
        for i in range(0, len(data), chunk):
            list(p.feed(data[i:i + chunk]))
        list(p.close())
    except PayloadError:
        assert cut is not None
    starts = [i + len('"data": [') for i in range(len(text)) if text.startswith('"data": [', i)]
    assert len(keep) == (3 if cut is None else len(fed))
    for ahead in keep:
        seen = "".join(fed.get(id(ahead), []))
        assert any(text.startswith(seen, s) for s in starts), seen[:80]

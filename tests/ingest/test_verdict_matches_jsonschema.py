"""The loader's verdict on every line equals jsonschema's (SPEC §3–4), checked end to end through `ingest`.

The oracle is computed here, independently of the code under test (see ingest_support.reference_verdict):
strict JSON (no NaN/Infinity), the envelope (an object whose `event` is one of the nine), the 1 MiB rule, then
Draft202012Validator with the date-time format asserted on the schema read from schemas/events/.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from ingest.loader import ingest
from tests.support.event_lines import (
    DATETIMES,
    EVENT_IDS,
    NAMES,
    NOT_OBJECTS,
    NUMBER_TOKENS,
    STRINGS,
    WRONG_TYPES,
    Pairs,
    Raw,
    dump,
    encode,
    file_lines,
    random_valid_event,
)
from tests.support.ingest_support import (
    FEATURE_OF,
    SCHEMAS,
    expect,
    has_surrogate,
    phase_field,
    rows,
    time_field,
    utc_micros,
)
from tests.support.tiers import sized


def complete_lines(data: bytes) -> tuple[list[bytes], int]:
    """The file's complete lines as SPEC §3 defines them (`\\n` or `\\r\\n` ends) and whether a partial tail waits."""
    parts = data.split(b"\n")
    tail = parts.pop()
    return [p[:-1] if p.endswith(b"\r") else p for p in parts], int(tail != b"")


def check_file_against_reference(home: Path, path: Path, data: bytes, result) -> None:
    lines, pending = complete_lines(data)
    exp = expect(lines)
    got = (result.lines, result.loaded, result.rejected, result.duplicates, result.pending_partial)
    assert got == (exp.lines, len(exp.loaded), len(exp.rejected), exp.duplicates, pending)
    # every non-blank line in exactly one place
    assert result.lines == result.loaded + result.rejected + result.duplicates

    source = str(path.resolve())
    loaded = rows(home, "select line_no, event, feature, phase, epoch_us(event_at), event_id, payload::varchar "
                        "from raw.events where source_file = ? order by line_no", [source])
    assert [r[0] for r in loaded] == exp.loaded
    for line_no, event, feature, phase, at_us, event_id, payload in loaded:
        obj = exp.objects[line_no]
        assert event == obj["event"]
        assert feature == FEATURE_OF[event]
        assert phase == obj[phase_field(event)]
        assert at_us == utc_micros(obj[time_field(event)]), (line_no, obj[time_field(event)])
        if not has_surrogate(obj):
            assert event_id == obj.get("event_id")
            assert json.loads(payload) == obj

    rejected = rows(home, "select line_no, json_path, message, line_bytes, raw_line from raw.rejected_events "
                          "where source_file = ? order by line_no", [source])
    assert [r[0] for r in rejected] == exp.rejected
    for line_no, json_path, message, line_bytes, raw_line in rejected:
        assert json_path.startswith("$")
        assert message.strip()
        assert line_bytes == len(lines[line_no - 1])
        assert raw_line


@pytest.mark.scaled
@settings(max_examples=sized(40, 150), deadline=None, derandomize=False,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(generated=file_lines())
def test_each_line_verdict_equals_jsonschema(generated, tmp_path_factory):
    data, _ = generated
    base = tmp_path_factory.mktemp("prop")
    path = base / "events.jsonl"
    path.write_bytes(data)
    result = ingest(base / "home", [path])
    check_file_against_reference(base / "home", path, data, result)

    again = ingest(base / "home", [path])
    assert (again.lines, again.loaded, again.rejected, again.duplicates) == (0, 0, 0, 0)
    assert again.pending_partial == result.pending_partial


def _corpus() -> list[bytes]:
    """Every catalogued edge value in every place it can go, for every event type, written both with \\u escapes
    (the slow path) and as raw UTF-8 (the fast path where it can)."""
    rng = random.Random(20260301)
    values: list = []
    for name in NAMES:
        schema = SCHEMAS[name]
        base = random_valid_event(rng, name)
        values.append(base)
        for ts in DATETIMES:
            values.append({**base, time_field(name): ts})
        for prop, sub in schema["properties"].items():
            if sub.get("type") in ("number", "integer"):
                values += [{**base, prop: Raw(tok)} for tok in NUMBER_TOKENS]
            if sub.get("type") == "string" and "format" not in sub and prop != "event_id":
                values += [{**base, prop: s} for s in STRINGS]
            values += [{**base, prop: w} for w in WRONG_TYPES]
            if prop in schema["required"]:
                values.append({k: v for k, v in base.items() if k != prop})
            if "enum" in sub:
                values += [{**base, prop: v} for v in (sub["enum"][0].lower(), sub["enum"][0] + " ", None)]
        values += [{**base, "event_id": e} for e in EVENT_IDS]
        values += [{**base, "extra": 1}, {**base, "event": name.upper()},
                   Pairs(tuple(base.items()) + (("event", "nope"),)),
                   Pairs((("event", "nope"),) + tuple(base.items())),
                   Raw(dump(base)[:-1] + ",}"), Raw(dump(base)[:-1] + " , }"), Raw(" \t" + dump(base) + " \t")]
    values += [Raw(t) for t in NOT_OBJECTS]
    lines = []
    for v in values:
        lines.append(encode(dump(v, ascii_=True)))
        lines.append(encode(dump(v, ascii_=False, compact=False)))
    return lines


def test_catalogued_edge_cases_verdict_equals_jsonschema(tmp_path):
    lines = _corpus()
    data = b"".join(line + (b"\r\n" if i % 3 == 0 else b"\n") for i, line in enumerate(lines))
    path = tmp_path / "corpus.jsonl"
    path.write_bytes(data)
    result = ingest(tmp_path / "home", [path])
    check_file_against_reference(tmp_path / "home", path, data, result)
    # the corpus is not trivially one-sided
    assert result.loaded > 200 and result.rejected > 1000

"""`rolloutctl schema diff OLD NEW`: backward compatibility of a schema change for lines already loaded (issue 15)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from ingest.schema_diff import diff_schemas
from tests.support.event_lines import random_valid_event
from tests.support.ingest_support import SCHEMA_DIR, cli

EVENT = "merge.diff.apply"


def _copy(tmp_path: Path, name: str, change=None) -> Path:
    folder = tmp_path / name
    shutil.copytree(SCHEMA_DIR, folder)
    if change:
        doc = json.loads((folder / "merge.json").read_text())
        change(doc["$defs"])
        (folder / "merge.json").write_text(json.dumps(doc))
    return folder


def _prop(name: str, **update):
    return lambda defs: defs[EVENT]["properties"][name].update(update)


INCOMPATIBLE = {
    "a field made required": (lambda d: d[EVENT]["required"].append("event_id"), "made required: event_id"),
    "an enum narrowed": (_prop("precision", enum=["legacy", "beta"]), 'enum narrowed: ["stable"] no longer allowed'),
    "a type changed": (_prop("hunk_count", type="string"), "type ['integer'] → ['string']"),
    "a max lowered": (_prop("auto_accept_ratio", maximum=0.5), "maximum lowered: 1 → 0.5"),
    "a min raised": (_prop("hunk_count", minimum=1), "minimum raised: 0 → 1"),
    "a maxLength lowered": (_prop("event_id", maxLength=10), "maxLength lowered: 128 → 10"),
    "additionalProperties tightened": (
        lambda d: d[EVENT]["properties"]["auto_accepted"].update(type="object", additionalProperties=False),
        "type ['boolean'] → ['object']"),
    "an event removed": (lambda d: d.pop(EVENT), "event removed"),
    "a pattern added": (_prop("event_id", pattern="^m-"), "pattern added"),
    "a property dropped from a closed object": (lambda d: d[EVENT]["properties"].pop("hunk_count"),
                                                "now refuses every value"),
    "its feature changed": (lambda d: d[EVENT].update({"x-feature": "other"}), "feature 'merge' → 'other'"),
}

COMPATIBLE = {
    "an enum grown": (_prop("precision", enum=["legacy", "beta", "stable", "exact"]), "enum grown"),
    "a bound relaxed": (_prop("auto_accept_ratio", maximum=2), "maximum 1 → 2 (relaxed)"),
    "an optional property added": (lambda d: d[EVENT]["properties"].update(note={"type": "string"}),
                                   "property added"),
    "no longer required": (lambda d: d[EVENT]["required"].remove("hunk_count"), "no longer required: hunk_count"),
    "an event added": (lambda d: d.update({"merge.other": {**d[EVENT], "properties": {
        **d[EVENT]["properties"], "event": {"const": "merge.other"}}}}), "event added"),
    "a description edited": (_prop("precision", description="changed"), None),
}


@pytest.mark.parametrize("name", sorted(INCOMPATIBLE))
def test_an_incompatible_change_is_named(tmp_path, name):
    change, message = INCOMPATIBLE[name]
    result = diff_schemas(_copy(tmp_path, "old"), _copy(tmp_path, "new", change))
    assert not result.compatible
    assert any(message in c.message for c in result.changes if not c.compatible), result.changes


@pytest.mark.parametrize("name", sorted(COMPATIBLE))
def test_a_compatible_change_is_compatible(tmp_path, name):
    change, message = COMPATIBLE[name]
    old, new = _copy(tmp_path, "old"), _copy(tmp_path, "new", change)
    result = diff_schemas(old, new)
    assert result.compatible, result.changes
    if message:
        assert any(message in c.message for c in result.changes)
    else:
        assert result.changes == []
    # and really so: lines the old schema accepts, the new one accepts
    doc_new = json.loads((new / "merge.json").read_text())["$defs"]
    checker = Draft202012Validator.FORMAT_CHECKER
    import random
    rng = random.Random(3)
    for _ in range(200):
        obj = random_valid_event(rng, EVENT)
        assert Draft202012Validator(doc_new[EVENT], format_checker=checker).is_valid(obj)


def test_cli_schema_diff_exit_status_and_json(tmp_path):
    old, new = _copy(tmp_path, "old"), _copy(tmp_path, "new", INCOMPATIBLE["an enum narrowed"][0])
    same = cli("schema", "diff", str(old), str(old))
    assert same.returncode == 0 and b"backward compatible" in same.stdout
    proc = cli("schema", "diff", "--json", str(old / "merge.json"), str(new / "merge.json"))
    assert proc.returncode == 3, proc.stderr
    out = json.loads(proc.stdout)
    assert out["compatible"] is False
    assert out["incompatible"] == [{"event": EVENT, "where": "/properties/precision",
                                    "message": 'enum narrowed: ["stable"] no longer allowed'}]
    text = cli("schema", "diff", str(old), str(new))
    assert text.returncode == 3 and b"NOT backward compatible" in text.stdout


def test_cli_schema_diff_names_a_broken_side(tmp_path):
    old = _copy(tmp_path, "old")
    (tmp_path / "bad.json").write_text("{ nope")
    proc = cli("schema", "diff", str(old), str(tmp_path / "bad.json"))
    assert proc.returncode == 1
    assert b"bad.json: not valid JSON" in proc.stderr
    assert b"Traceback" not in proc.stderr

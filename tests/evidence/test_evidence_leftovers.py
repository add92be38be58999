"""A collect killed mid-way (kill -9) leaves hidden folders next to the bundle; the next collect
puts a moved-aside earlier bundle back, removes what is no longer needed, and keeps fresh staging
folders (another collect may be writing them)."""

from __future__ import annotations

import os
import time

import pytest

from breakglass_aws.errors import AwsFailure
from breakglass_aws.incident.evidence import EvidenceOptions, collect_evidence
from tests.support.evidence import FailingSource, collect, incident, siblings  # noqa: F401 - fixture


def test_an_earlier_bundle_left_aside_is_put_back_even_if_the_new_collect_fails(
    incident,  # noqa: F811
    cli,
    make_runtime,
    tmp_path,
):
    folder = tmp_path / "bundle"
    assert collect(cli, incident["incident_id"], folder).exit_code == 0
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    folder.rename(tmp_path / ".bundle.old-0badc0de")  # killed between the two renames of an install
    with pytest.raises(AwsFailure):
        collect_evidence(make_runtime(), incident["incident_id"], folder, EvidenceOptions(), source=FailingSource())
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert siblings(folder) == ["bundle"]
    assert cli("evidence", "verify", str(folder)).exit_code == 0


def test_leftovers_next_to_a_bundle_are_cleared(incident, cli, tmp_path):  # noqa: F811
    folder = tmp_path / "bundle"
    assert collect(cli, incident["incident_id"], folder).exit_code == 0
    (tmp_path / ".bundle.old-00000001").mkdir()  # killed after the install, before the clean-up
    stale = tmp_path / ".bundle.partial-stale"
    stale.mkdir()
    (stale / "cloudtrail-events.jsonl").write_text("{}\n")
    day_ago = time.time() - 25 * 3600
    for path in (stale / "cloudtrail-events.jsonl", stale):
        os.utime(path, (day_ago, day_ago))
    fresh = tmp_path / ".bundle.partial-fresh"
    fresh.mkdir()
    again = collect(cli, incident["incident_id"], folder)
    assert again.exit_code == 0, again.stderr
    assert siblings(folder) == [".bundle.partial-fresh", "bundle"]
    assert cli("evidence", "verify", str(folder)).exit_code == 0

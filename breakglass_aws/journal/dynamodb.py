"""The shared store: one DynamoDB table (pk/sk), for a team and for the scheduled restore.

Items:
  INC#<id>  / META               the incident (JSON body) and its `version`: every save is a
                                 compare-and-set on it, so no concurrent update is lost
  INCIDENTS / <created>#<ns>#<id>  the index, newest first by Query (<ns>: insertion order
                                 within one second)
  INC#<id>  / J#<seq>            journal entries from <seq> on: one entry, or several written
                                 together (`entries`, through `last_seq`; `hash` is the last
                                 one's). A conditional put makes each start unique, and every
                                 writer starts after the last entry it knows, so no two items
                                 overlap. Reading the incident (one query, newest first) also
                                 reads its last journal item, so the next write needs no read.
                                 The incident item carries a hint of the last entry its writer
                                 knew (`head_seq`, `head_hash`): a writer that read it elsewhere
                                 finds the head with one read of the items after it; a stale
                                 hint costs a retry
  LOCK#<t>  / GUARD              a held target: `holders` maps each holding incident to when it
                                 took the target; taken when absent or empty, joined only while
                                 held, released by removing one holder (one write, no transaction)
  ALERT#<k> / ALERT              an alert already sent

Expiry is the incident's own `expires_at`; DynamoDB TTL is never the clock.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from breakglass_aws.aws import ClientFactory, aws_errors
from breakglass_aws.clock import Clock, isoformat, utcnow
from breakglass_aws.journal.base import (
    ClaimLost,
    Entries,
    IncidentChanged,
    IncidentNotFound,
    NothingToJoin,
    TargetLocked,
    UnreadableIncident,
    Versions,
    claim_token,
    log,
    parse_incident,
)
from breakglass_aws.journal.chain import GENESIS, UNREADABLE, chain_entries, load_data
from breakglass_aws.models import Incident, JournalEntry

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import PutTypeDef, TransactWriteItemTypeDef

__all__ = ["DynamoStore", "create_table"]

INDEX = "INCIDENTS"
APPEND_ATTEMPTS = 20
HEAD_PROBE = 25  # entries read at once when looking for the journal's head
BATCH_KEYS = 100  # BatchGetItem's limit


def create_table(db: DynamoDBClient, table: str) -> None:
    """The table this store expects (as terraform/modules/control-plane creates it): for the
    sandbox, the benchmarks and the tests. `db` is a DynamoDB client."""
    db.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
    )


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _guard_key(target: str) -> dict[str, Any]:
    return {"pk": _s(f"LOCK#{target}"), "sk": _s("GUARD")}


def _failed_condition(err: Any) -> bool:
    code = err.response.get("Error", {}).get("Code", "")
    if code == "ConditionalCheckFailedException":
        return True
    reasons = err.response.get("CancellationReasons") or []
    return code == "TransactionCanceledException" and any(r.get("Code") == "ConditionalCheckFailed" for r in reasons)


class DynamoStore:
    def __init__(self, factory: ClientFactory, table: str, clock: Clock = utcnow, region: str | None = None) -> None:
        self.table = table
        self.clock = clock
        self.db = factory.client("dynamodb", region)
        self._heads: dict[str, tuple[int, str]] = {}  # last entry this writer saw, per incident
        self._hints: dict[str, tuple[int, str]] = {}  # an entry known to exist (from the incident item)
        self.versions = Versions()

    def _meta(self, incident: Incident, head: tuple[int, str] | None = None) -> dict[str, Any]:
        item = {
            "pk": _s(f"INC#{incident.incident_id}"),
            "sk": _s("META"),
            "body": _s(incident.model_dump_json()),
            "version": {"N": "1"},
        }
        head = head or self._heads.get(incident.incident_id) or self._hints.get(incident.incident_id)
        if head is not None:
            item["head_seq"], item["head_hash"] = {"N": str(head[0])}, _s(head[1])
        token = claim_token(incident)
        if token is not None:  # what a fenced journal write compares, without parsing the body
            item["claim"] = _s(token)
        return item

    @staticmethod
    def _index_key(incident: Incident) -> str:
        return f"{isoformat(incident.created_at)}#{time.time_ns():020d}#{incident.incident_id}"

    def _parse(self, incident_id: str, item: dict[str, Any]) -> Incident:
        incident = parse_incident(incident_id, item["body"]["S"], f"table {self.table}")
        self.versions.remember(incident, int(item.get("version", {}).get("N", "0")))
        if "head_seq" in item and "head_hash" in item:
            hint = (int(item["head_seq"]["N"]), item["head_hash"]["S"])
            if hint[0] > self._hints.get(incident_id, (0, ""))[0]:
                self._hints[incident_id] = hint
        return incident

    # incidents ---------------------------------------------------------------------------------
    def create_incident(self, incident: Incident, join: bool = False, entries: Entries = ()) -> list[JournalEntry]:
        written = chain_entries(incident.incident_id, (0, GENESIS), isoformat(self.clock()), entries)
        head = (written[-1].seq, written[-1].hash) if written else None
        items: list[TransactWriteItemTypeDef] = [
            self._put(self._meta(incident, head), "attribute_not_exists(pk)"),
            self._put(
                {
                    "pk": _s(INDEX),
                    "sk": _s(self._index_key(incident)),
                    "incident_id": _s(incident.incident_id),
                }
            ),
        ]
        for target in incident.lock_targets():
            items += self._hold(target, incident.incident_id, join)
        if written:
            items.append(self._put(_journal_item(incident.incident_id, written), "attribute_not_exists(pk)"))
        with aws_errors():
            try:
                self.db.transact_write_items(TransactItems=items)
            except self.db.exceptions.TransactionCanceledException as err:
                if not _failed_condition(err):
                    raise
                self._explain_conflict(incident, join)
                raise TargetLocked(incident.targets[0], "another incident") from None
        self.versions.remember(incident, 1)
        if head is not None:
            self._heads[incident.incident_id] = head
        return written

    def _hold(self, target: str, incident_id: str, join: bool) -> list[TransactWriteItemTypeDef]:
        key = _guard_key(target)
        names = {"#h": "holders", "#i": incident_id}
        stamp = {"N": str(time.time_ns())}
        if join:
            return [
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": key,
                        "UpdateExpression": "SET #h.#i = :at",
                        "ConditionExpression": "attribute_exists(#h) AND size(#h) > :zero",  # held by someone
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": {":at": stamp, ":zero": {"N": "0"}},
                    }
                }
            ]
        # absent, or left empty by releases at once: nobody holds it (a guard an earlier version
        # wrote, counting its holders, is held while its count is above zero)
        return [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": {**key, "holders": {"M": {incident_id: stamp}}},
                    "ConditionExpression": (
                        "(attribute_not_exists(#h) OR size(#h) = :zero) AND (attribute_not_exists(#c) OR #c <= :zero)"
                    ),
                    "ExpressionAttributeNames": {"#h": "holders", "#c": "count"},
                    "ExpressionAttributeValues": {":zero": {"N": "0"}},
                }
            }
        ]

    def _explain_conflict(self, incident: Incident, join: bool) -> None:
        for target in incident.lock_targets():
            holder = self.lock_holder(target)
            if holder and not join:
                raise TargetLocked(target, holder)
            if not holder and join:
                raise NothingToJoin(target)

    def _put(self, item: dict[str, Any], condition: str | None = None) -> TransactWriteItemTypeDef:
        put: PutTypeDef = {"TableName": self.table, "Item": item}
        if condition:
            put["ConditionExpression"] = condition
        return {"Put": put}

    def get_incident(self, incident_id: str) -> Incident:
        """The record, and in the same read its journal's last item (the items sort before it),
        so that the next journal write needs no read of its own."""
        with aws_errors():
            items = self.db.query(
                TableName=self.table,
                KeyConditionExpression="pk = :p",
                ExpressionAttributeValues={":p": _s(f"INC#{incident_id}")},
                ScanIndexForward=False,
                Limit=2,
                ConsistentRead=True,
            ).get("Items", [])
        found = next((item for item in items if item["sk"]["S"] == "META"), None)
        if not found:
            raise IncidentNotFound(incident_id)
        last = next((item for item in items if item["sk"]["S"].startswith("J#")), None)
        if last is not None and incident_id not in self._heads:
            self._heads[incident_id] = _end_of(last)
        return self._parse(incident_id, found)

    def save_incident(
        self, incident: Incident, entries: Entries = (), release: Sequence[str] = ()
    ) -> list[JournalEntry]:
        read_at = self.versions.of(incident)
        if read_at is None:  # not read from here (a copy from the offline store): overwrite it
            read_at = self._stored_version(incident.incident_id)
        if not entries and not release:
            self._put_meta(incident, read_at)
            return []
        letting_go = list(release)
        for _ in range(APPEND_ATTEMPTS):
            head = self._heads.get(incident.incident_id) or self._find_head(incident.incident_id)
            written = chain_entries(incident.incident_id, head, isoformat(self.clock()), entries)
            last = (written[-1].seq, written[-1].hash) if written else head
            items = [self._versioned_put(incident, read_at, last)]
            if written:
                items.append(self._put(_journal_item(incident.incident_id, written), "attribute_not_exists(pk)"))
            items += [self._let_go(target, incident.incident_id) for target in letting_go]
            failed = self._transact(items)
            if failed is None:
                self.versions.remember(incident, read_at + 1)
                self._heads[incident.incident_id] = last
                return written
            if failed == 0:
                self._stored_version(incident.incident_id)  # IncidentNotFound when it is gone
                raise IncidentChanged(incident.incident_id)
            if written and failed == 1:  # another writer took this seq: chain onto theirs
                self._heads.pop(incident.incident_id, None)
                self._hints[incident.incident_id] = head
                continue
            del letting_go[failed - (2 if written else 1)]  # no longer held by us: nothing to let go
        raise TargetLocked(incident.incident_id, "too many concurrent journal writers")

    def _put_meta(self, incident: Incident, read_at: int) -> None:
        put = self._versioned_put(incident, read_at)["Put"]
        put["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        with aws_errors():
            try:
                self.db.put_item(**put)
            except self.db.exceptions.ConditionalCheckFailedException as err:
                if not err.response.get("Item"):
                    raise IncidentNotFound(incident.incident_id) from None
                raise IncidentChanged(incident.incident_id) from None
        self.versions.remember(incident, read_at + 1)

    def _versioned_put(
        self, incident: Incident, read_at: int, head: tuple[int, str] | None = None
    ) -> TransactWriteItemTypeDef:
        """The record, written only while the table still holds the version it was read at."""
        item = {**self._meta(incident, head), "version": {"N": str(read_at + 1)}}
        put: PutTypeDef = {"TableName": self.table, "Item": item, "ExpressionAttributeNames": {"#v": "version"}}
        if read_at == 0:  # written before saves were versioned
            put["ConditionExpression"] = "attribute_exists(pk) AND attribute_not_exists(#v)"
        else:
            put["ConditionExpression"] = "#v = :read"
            put["ExpressionAttributeValues"] = {":read": {"N": str(read_at)}}
        return {"Put": put}

    def _let_go(self, target: str, incident_id: str) -> TransactWriteItemTypeDef:
        """Inside a transaction: remove one holder from a target's guard (an empty guard holds
        nothing); cancelled when the incident no longer holds it."""
        return {
            "Update": {
                "TableName": self.table,
                "Key": _guard_key(target),
                "UpdateExpression": "REMOVE #h.#i",
                "ConditionExpression": "attribute_exists(#h.#i)",
                "ExpressionAttributeNames": {"#h": "holders", "#i": incident_id},
            }
        }

    def _transact(self, items: list[TransactWriteItemTypeDef]) -> int | None:
        """Write `items` together; None when done, else the index of the first item whose
        condition failed."""
        with aws_errors():
            try:
                self.db.transact_write_items(TransactItems=items)
            except self.db.exceptions.TransactionCanceledException as err:
                reasons = err.response.get("CancellationReasons") or []
                for index, reason in enumerate(reasons):
                    if reason.get("Code") == "ConditionalCheckFailed":
                        return index
                raise
        return None

    def _stored_version(self, incident_id: str) -> int:
        with aws_errors():
            found = self.db.get_item(
                TableName=self.table,
                Key={"pk": _s(f"INC#{incident_id}"), "sk": _s("META")},
                ConsistentRead=True,
                ProjectionExpression="#v, pk",
                ExpressionAttributeNames={"#v": "version"},
            ).get("Item")
        if not found:
            raise IncidentNotFound(incident_id)
        return int(found.get("version", {}).get("N", "0"))

    def list_incidents(self, limit: int = 50, skipped: list[str] | None = None) -> list[Incident]:
        ids: list[str] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": _s(INDEX)},
            "ScanIndexForward": False,
        }
        with aws_errors():
            while len(ids) < limit:
                page = self.db.query(**kwargs, Limit=min(limit - len(ids), 1000))
                ids += [item["incident_id"]["S"] for item in page.get("Items", [])]
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
            return self._batch_get(ids, skipped)

    def _batch_get(self, ids: list[str], skipped: list[str] | None = None) -> list[Incident]:
        found: dict[str, Incident] = {}
        for start in range(0, len(ids), 100):
            keys = [{"pk": _s(f"INC#{i}"), "sk": _s("META")} for i in ids[start : start + 100]]
            request: dict[str, Any] = {self.table: {"Keys": keys, "ConsistentRead": True}}
            while request:
                answer = self.db.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self.table, []):
                    incident_id = item["pk"]["S"].removeprefix("INC#")
                    try:
                        found[incident_id] = self._parse(incident_id, item)
                    except UnreadableIncident as err:
                        log.warning("skipped: %s", err.message)
                        if skipped is not None:
                            skipped.append(incident_id)
                request = answer.get("UnprocessedKeys") or {}
        return [found[i] for i in ids if i in found]

    def import_incident(self, incident: Incident, hold: bool) -> None:
        """Copy an incident kept offline. It holds its targets only while still open, sharing
        them (reference-counted) with whatever holds them in the shared store."""
        items: list[TransactWriteItemTypeDef] = [
            self._put(self._meta(incident), "attribute_not_exists(pk)"),
            self._put(
                {
                    "pk": _s(INDEX),
                    "sk": _s(self._index_key(incident)),
                    "incident_id": _s(incident.incident_id),
                }
            ),
        ]
        for target in incident.lock_targets() if hold else []:
            items += self._hold(target, incident.incident_id, join=bool(self.holders(target)))
        with aws_errors():
            self.db.transact_write_items(TransactItems=items)
        self.versions.remember(incident, 1)

    def put_entry(self, entry: JournalEntry) -> bool:
        """Copy one journal entry as it is (its hash links unchanged); False if already there."""
        item = {
            "pk": _s(f"INC#{entry.incident_id}"),
            "sk": _s(f"J#{entry.seq:08d}"),
            "at": _s(entry.at),
            "kind": _s(entry.kind),
            "data": _s(json.dumps(entry.data, sort_keys=True)),
            "prev_hash": _s(entry.prev_hash),
            "hash": _s(entry.hash),
        }
        with aws_errors():
            try:
                self.db.put_item(TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(pk)")
            except self.db.exceptions.ConditionalCheckFailedException:
                return False
        self._heads.pop(entry.incident_id, None)
        return True

    # target holders ----------------------------------------------------------------------------
    def holders(self, target: str) -> list[str]:
        """Who holds the target, first taker first: one strongly consistent read of its guard."""
        with aws_errors():
            found = self.db.get_item(TableName=self.table, Key=_guard_key(target), ConsistentRead=True).get("Item")
        return _holders_in(found)

    def holders_of(self, incident_id: str, targets: list[str]) -> dict[str, list[str]]:
        """The holders of each target, in one batch read that also reads the incident's journal
        after its hint, so that its next entry needs no read of its own."""
        if len(targets) + HEAD_PROBE > BATCH_KEYS:
            return {target: self.holders(target) for target in targets}
        head = self._hints.get(incident_id, (0, GENESIS))
        known = incident_id in self._heads  # e.g. read with the incident: no probe needed
        seqs = range(head[0] + 1, head[0] + 1 + (0 if known else HEAD_PROBE))
        keys = [_guard_key(t) for t in targets] + _entry_keys(incident_id, seqs)
        items = self._batch_read(keys) if keys else []
        guards = {item["pk"]["S"].removeprefix("LOCK#"): item for item in items if item["sk"]["S"] == "GUARD"}
        found = {int(item["sk"]["S"][2:]): item for item in items if item["sk"]["S"].startswith("J#")}
        walked = _walk(head, found)
        if walked[0] + 1 < seqs.stop and incident_id not in self._heads:
            self._heads[incident_id] = walked
        return {target: _holders_in(guards.get(target)) for target in targets}

    def lock_holder(self, target: str) -> str | None:
        found = self.holders(target)
        return found[0] if found else None

    def release_locks(self, incident_id: str, targets: list[str] | None = None) -> None:
        for target in targets if targets is not None else self.get_incident(incident_id).lock_targets():
            self._release(target, incident_id)

    def _release(self, target: str, incident_id: str) -> None:
        """The last holder deletes the guard; any other removes itself from it. Either is one
        conditional write, and a release that already happened is a no-op."""
        names = {"#h": "holders", "#i": incident_id}
        with aws_errors():
            try:
                self.db.delete_item(
                    TableName=self.table,
                    Key=_guard_key(target),
                    ConditionExpression="attribute_exists(#h.#i) AND size(#h) = :one",
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues={":one": {"N": "1"}},
                )
                return
            except self.db.exceptions.ConditionalCheckFailedException:
                pass  # others hold it too, or it is no longer ours
            try:
                self.db.update_item(
                    TableName=self.table,
                    Key=_guard_key(target),
                    UpdateExpression="REMOVE #h.#i",
                    ConditionExpression="attribute_exists(#h.#i)",
                    ExpressionAttributeNames=names,
                )
            except self.db.exceptions.ConditionalCheckFailedException:
                return  # already released

    # journal -----------------------------------------------------------------------------------
    def append(self, incident_id: str, kind: str, data: dict[str, Any]) -> JournalEntry:
        return self.append_many(incident_id, [(kind, data)])[0]

    def append_many(self, incident_id: str, entries: Entries, fence: str | None = None) -> list[JournalEntry]:
        for _ in range(APPEND_ATTEMPTS):
            head = self._heads.get(incident_id) or self._find_head(incident_id)
            written = chain_entries(incident_id, head, isoformat(self.clock()), entries)
            put = self._put(_journal_item(incident_id, written), "attribute_not_exists(pk)")
            if fence is None:
                taken = self._put_entry(put["Put"])
            else:
                failed = self._transact([self._fence(incident_id, fence), put])
                if failed == 0:
                    raise ClaimLost(incident_id)
                taken = failed is None
            if not taken:
                self._heads.pop(incident_id, None)
                self._hints[incident_id] = head  # still true: the head is further on
                continue  # another writer took this seq: chain onto theirs
            self._heads[incident_id] = (written[-1].seq, written[-1].hash)
            return written
        raise TargetLocked(incident_id, "too many concurrent journal writers")

    def _put_entry(self, put: PutTypeDef) -> bool:
        with aws_errors():
            try:
                self.db.put_item(**put)
            except self.db.exceptions.ConditionalCheckFailedException:
                return False
        return True

    def _fence(self, incident_id: str, token: str) -> TransactWriteItemTypeDef:
        return {
            "ConditionCheck": {
                "TableName": self.table,
                "Key": {"pk": _s(f"INC#{incident_id}"), "sk": _s("META")},
                "ConditionExpression": "#c = :token",
                "ExpressionAttributeNames": {"#c": "claim"},
                "ExpressionAttributeValues": {":token": _s(token)},
            }
        }

    def head(self, incident_id: str) -> tuple[int, str]:
        return self._heads.get(incident_id) or self._find_head(incident_id)

    def _find_head(self, incident_id: str) -> tuple[int, str]:
        """The last entry: read the items after the last entry known to exist (the hint, or the
        start) with strongly consistent batch reads, following each item to its end."""
        head = self._hints.get(incident_id, (0, GENESIS))
        while True:
            seqs = range(head[0] + 1, head[0] + 1 + HEAD_PROBE)
            found = {int(item["sk"]["S"][2:]): item for item in self._batch_read(_entry_keys(incident_id, seqs))}
            head = _walk(head, found)
            if head[0] + 1 < seqs.stop:
                return head  # the item after the head would start inside the window: there is none

    def _batch_read(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Journal items (their start, end and last hash) and target guards, strongly consistent."""
        request: dict[str, Any] = {
            self.table: {
                "Keys": keys,
                "ConsistentRead": True,
                "ProjectionExpression": "pk, sk, #h, last_seq, holders",
                "ExpressionAttributeNames": {"#h": "hash"},
            }
        }
        items: list[dict[str, Any]] = []
        with aws_errors():
            while request:
                answer = self.db.batch_get_item(RequestItems=request)
                items += answer.get("Responses", {}).get(self.table, [])
                request = answer.get("UnprocessedKeys") or {}
        return items

    def entries(self, incident_id: str) -> list[JournalEntry]:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :j)",
            "ExpressionAttributeValues": {":p": _s(f"INC#{incident_id}"), ":j": _s("J#")},
            "ConsistentRead": True,
        }
        found: list[JournalEntry] = []
        with aws_errors():
            while True:
                page = self.db.query(**kwargs)
                found += [entry for item in page.get("Items", []) for entry in _entries(incident_id, item)]
                if "LastEvaluatedKey" not in page:
                    return found
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def record_alert(self, key: str) -> bool:
        with aws_errors():
            try:
                self.db.put_item(
                    TableName=self.table,
                    Item={"pk": _s(f"ALERT#{key}"), "sk": _s("ALERT"), "at": _s(isoformat(self.clock()))},
                    ConditionExpression="attribute_not_exists(pk)",
                )
            except self.db.exceptions.ConditionalCheckFailedException:
                return False
        return True

    def forget_alert(self, key: str) -> None:
        with aws_errors():
            self.db.delete_item(TableName=self.table, Key={"pk": _s(f"ALERT#{key}"), "sk": _s("ALERT")})

    def close(self) -> None:
        return None


def _holders_in(guard: dict[str, Any] | None) -> list[str]:
    held = (guard or {}).get("holders", {}).get("M", {})
    return [i for i, _ in sorted(held.items(), key=lambda kv: (int(kv[1]["N"]), kv[0]))]


def _entry_keys(incident_id: str, seqs: range) -> list[dict[str, Any]]:
    return [{"pk": _s(f"INC#{incident_id}"), "sk": _s(f"J#{seq:08d}")} for seq in seqs]


def _end_of(item: dict[str, Any]) -> tuple[int, str]:
    """The last entry a journal item holds: its sequence and hash."""
    first = int(item["sk"]["S"][2:])
    return int(item.get("last_seq", {}).get("N", first)), item["hash"]["S"]


def _walk(head: tuple[int, str], found: dict[int, dict[str, Any]]) -> tuple[int, str]:
    """From an entry known to exist, follow the journal items that start right after it."""
    while head[0] + 1 in found:
        head = _end_of(found[head[0] + 1])
    return head


def _journal_item(incident_id: str, entries: list[JournalEntry]) -> dict[str, Any]:
    first = entries[0]
    item = {"pk": _s(f"INC#{incident_id}"), "sk": _s(f"J#{first.seq:08d}"), "hash": _s(entries[-1].hash)}
    if len(entries) == 1:
        return {
            **item,
            "at": _s(first.at),
            "kind": _s(first.kind),
            "data": _s(json.dumps(first.data, sort_keys=True)),
            "prev_hash": _s(first.prev_hash),
        }
    together = [e.model_dump(exclude={"incident_id", "seq"}) for e in entries]
    return {**item, "last_seq": {"N": str(entries[-1].seq)}, "entries": _s(json.dumps(together, sort_keys=True))}


def _entries(incident_id: str, item: dict[str, Any]) -> list[JournalEntry]:
    if "entries" not in item:
        return [_entry(incident_id, item)]
    first, text = int(item["sk"]["S"][2:]), item["entries"]["S"]
    try:
        return [
            JournalEntry(incident_id=incident_id, seq=first + n, **fields) for n, fields in enumerate(json.loads(text))
        ]
    except (ValueError, TypeError):  # damaged or edited by hand: `journal verify` reports it
        return [
            JournalEntry(
                incident_id=incident_id,
                seq=first,
                at="",
                kind="unreadable",
                data={UNREADABLE: text[:200]},
                prev_hash="",
                hash=item.get("hash", {}).get("S", ""),
            )
        ]


def _entry(incident_id: str, item: dict[str, Any]) -> JournalEntry:
    return JournalEntry(
        incident_id=incident_id,
        seq=int(item["sk"]["S"][2:]),
        at=item["at"]["S"],
        kind=item["kind"]["S"],
        data=load_data(item["data"]["S"]),
        prev_hash=item["prev_hash"]["S"],
        hash=item["hash"]["S"],
    )

"""The audit chain: canonical encoding, hashing and verification, with no storage.

Each entry stores ``entry_hash = SHA-256(prev_hash + "\\n" + canonical(entry))`` where the
canonical encoding is compact, key-sorted JSON of (seq, at, actor, action, target, details).
Changing, removing, reordering or inserting any entry breaks the chain from that point, and
:func:`verify` names the first entry that does not fit and how. An attacker who can rewrite
the whole table can also recompute every hash, so the head is anchored outside the database
(``gatehouse audit head`` prints it for the daily log; ``verify --anchor`` checks it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64
_SEQ_SEARCH = 64  # how far to look for where a moved entry came from


@dataclass(frozen=True, slots=True)
class AuditRecord:
    seq: int
    at: str  # ISO 8601 UTC
    actor: str
    action: str
    target: str
    details: Mapping[str, Any]
    prev_hash: str
    entry_hash: str


def canonical(
    seq: int, at: str, actor: str, action: str, target: str, details: Mapping[str, Any]
) -> bytes:
    body = {
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": action,
        "target": target,
        "details": details,
    }
    return json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode("utf-8")


def entry_hash(
    prev_hash: str,
    seq: int,
    at: str,
    actor: str,
    action: str,
    target: str,
    details: Mapping[str, Any],
) -> str:
    digest = hashlib.sha256()
    digest.update(prev_hash.encode("ascii") + b"\n")
    digest.update(canonical(seq, at, actor, action, target, details))
    return digest.hexdigest()


def _hash_of(record: AuditRecord, seq: int | None = None) -> str:
    return entry_hash(
        record.prev_hash,
        record.seq if seq is None else seq,
        record.at,
        record.actor,
        record.action,
        record.target,
        record.details,
    )


@dataclass(frozen=True, slots=True)
class ChainReport:
    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    first_bad: int | None = None
    problem: str = ""  # edited | removed | reordered | inserted | anchor
    message: str = ""


def verify(records: Iterable[AuditRecord], anchors: Iterable[tuple[int, str]] = ()) -> ChainReport:
    """Walk the chain in ``seq`` order; stop at the first entry that does not fit."""
    wanted = dict(anchors)
    previous = GENESIS
    expected_seq = 1
    seen: dict[str, int] = {}
    count = 0
    for record in records:
        count += 1
        bad = _diagnose(record, previous, expected_seq, seen)
        if bad is not None:
            problem, message = bad
            return ChainReport(
                False, count, expected_seq - 1, previous, record.seq, problem, message
            )
        if record.seq in wanted and wanted.pop(record.seq) != record.entry_hash:
            return ChainReport(
                False,
                count,
                expected_seq - 1,
                previous,
                record.seq,
                "anchor",
                f"entry {record.seq} differs from the anchored hash: the chain was rewritten",
            )
        seen[record.entry_hash] = record.seq
        previous = record.entry_hash
        expected_seq = record.seq + 1
    if wanted:
        seq = min(wanted)
        return ChainReport(
            False,
            count,
            expected_seq - 1,
            previous,
            seq,
            "removed",
            f"anchored entry {seq} is no longer in the log",
        )
    return ChainReport(True, count, expected_seq - 1, previous)


def _diagnose(
    record: AuditRecord, previous: str, expected_seq: int, seen: dict[str, int]
) -> tuple[str, str] | None:
    content_ok = _hash_of(record) == record.entry_hash
    if not content_ok:
        for offset in range(1, _SEQ_SEARCH):
            for other in (record.seq - offset, record.seq + offset):
                if other > 0 and _hash_of(record, other) == record.entry_hash:
                    return "reordered", (
                        f"entry at position {record.seq} was written as entry {other}: reordered"
                    )
        return "edited", f"entry {record.seq} does not match its hash: it was edited"
    if record.seq != expected_seq:
        if record.seq > expected_seq:
            return (
                "removed",
                f"entries {expected_seq}..{record.seq - 1} are missing: they were removed",
            )
        return "reordered", f"entry {record.seq} appears after entry {expected_seq - 1}"
    if record.prev_hash != previous:
        if record.prev_hash in seen:
            return (
                "reordered",
                f"entry {record.seq} follows {seen[record.prev_hash]}, not {expected_seq - 1}",
            )
        return (
            "inserted",
            f"entry {record.seq} does not follow the one before it: an entry was inserted",
        )
    return None

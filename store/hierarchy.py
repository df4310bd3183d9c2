"""Where a call sits in its tree, filled in at write time by every backend. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from .rows import Entry


def parents_outside(entries: Sequence[Entry]) -> set[str]:
    """The parent ids a batch refers to that are not in the batch: a backend looks them up."""
    in_batch = {e.call["id"] for e in entries}
    return {parent for e in entries if (parent := e.call.get("parent_id"))} - in_batch


def link_hierarchy(entries: Sequence[Entry], stored: dict[str, tuple[str | None, int]]) -> None:
    """Fill `root_id` and `depth` from the parent, found in this batch or in `stored` (parents
    outside the batch as stored: id -> (root_id, depth))."""
    in_batch = {e.call["id"]: e.call for e in entries}
    for entry in entries:  # ids are time-sorted, so a parent in the batch precedes its children
        call = entry.call
        parent = call.get("parent_id")
        if not parent:
            call["root_id"], call["depth"] = call["id"], 0
        elif parent in in_batch and in_batch[parent] is not call:
            p = in_batch[parent]
            call["root_id"], call["depth"] = p.get("root_id") or parent, (p.get("depth") or 0) + 1
        elif parent in stored:
            root, depth = stored[parent]
            call["root_id"], call["depth"] = root or parent, depth + 1
        else:  # parent not logged (yet): it is the root as far as we know
            call["root_id"], call["depth"] = parent, 1

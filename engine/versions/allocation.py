"""Which version of a pathway a new case gets.

A randomised split lets commissioners compare versions fairly. The draw for a client is a
pure function of the policy's seed, the pathway and the client id (SHA-256 to a number in
[0, 1)), so:

* anyone holding the recorded seed can recompute every allocation, without the database;
* the same seed gives the same allocation, whatever order cases start in;
* a client starting the same pathway twice stays in the same arm, and changing only the
  weights moves as few clients between arms as possible.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.errors import InvalidArgumentError
from engine.model import AllocationPolicy


@dataclass(frozen=True)
class Allocation:
    version: int
    event: dict[str, Any]  # what the case's version_allocated event records


def new_seed() -> str:
    return secrets.token_hex(8)


def draw(seed: str, pathway: str, client_id: int) -> float:
    """The client's uniform draw in [0, 1) under this seed."""
    digest = hashlib.sha256(f"{seed}:{pathway}:{client_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def pick(weights: Mapping[int, int], value: float) -> int:
    """The version whose share of the cumulative weights holds value (versions ascending)."""
    total = sum(weights.values())
    point = value * total
    running = 0
    ordered = sorted(weights.items())
    for version, weight in ordered:
        running += weight
        if point < running:
            return version
    return ordered[-1][0]


def allocate(policy: AllocationPolicy | None, pathway: str, client_id: int,
             latest: int) -> Allocation:
    """The version a new case of the client gets under the policy (None: the latest)."""
    if policy is None or policy.kind == "latest":
        return Allocation(latest, {"policy": "latest", "version": latest})
    if policy.kind == "fixed":
        assert policy.version is not None
        return Allocation(policy.version, {"policy": "fixed", "version": policy.version,
                                           "policy_id": policy.id})
    assert policy.seed is not None
    value = draw(policy.seed, pathway, client_id)
    version = pick(policy.weights, value)
    return Allocation(version, {
        "policy": "split", "version": version, "policy_id": policy.id,
        "weights": {str(k): v for k, v in sorted(policy.weights.items())},
        "seed": policy.seed, "draw": value})


def check_policy(kind: str, version: int | None, weights: Mapping[int, int],
                 published: Sequence[int]) -> None:
    """Refuse a policy naming versions that do not exist or weights that make no split."""
    known = set(published)
    if kind == "fixed":
        if version is None or version not in known:
            raise InvalidArgumentError(
                f"--fixed {version}: not a published version (published: "
                f"{', '.join(map(str, sorted(known))) or 'none'})",
                details={"field": "fixed", "version": version})
    elif kind == "split":
        if len(weights) < 2:
            raise InvalidArgumentError("--split needs at least two versions, e.g. 1=50,2=50",
                                       details={"field": "split"})
        for number, weight in weights.items():
            if number not in known:
                raise InvalidArgumentError(
                    f"--split {number}={weight}: version {number} is not published",
                    details={"field": f"split.{number}", "version": number})
            if weight <= 0:
                raise InvalidArgumentError(
                    f"--split {number}={weight}: weights must be positive whole numbers",
                    details={"field": f"split.{number}", "weight": weight})
    elif kind != "latest":
        raise InvalidArgumentError(f"unknown allocation policy {kind!r}",
                                   details={"field": "kind"})

"""The allocation formula the README publishes, pinned from the README's own words.

README (Versions, "Allocation"): the draw is the first 8 bytes of the SHA-256 digest of the
UTF-8 text `seed:pathway:client_id`, read as a big-endian unsigned number and divided by
2^64; the split's versions, in ascending order, share [0, 1) in proportion to their weights
and the client gets the version whose share holds the draw. Anyone holding a recorded seed
relies on exactly this to recompute allocations without the database, so the expected values
here are computed independently of engine.versions.allocation (exact fractions, not its code), and a
few are pinned to digests taken with coreutils `sha256sum`: a change to the hashed text, the
bytes used, their order or the way weights split the interval fails here.
"""

from __future__ import annotations

import hashlib
from fractions import Fraction

import pytest

from dsl import compile_pathway, load_pathway
from engine import Engine
from engine.model import AllocationPolicy
from engine.versions.allocation import allocate, draw
from tests.pathway_texts import REFERRAL
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory

# (seed, pathway, client) -> first 16 hex digits of `printf '%s' 'seed:pathway:client' | sha256sum`
SHA256SUM_PREFIXES = {
    ("s-1", "referral", 7): "2c11ce09dbb74baf",
    ("fixed seed", "gate_reception", 1): "37c8bbba5c0618e2",
    ("0a1b2c3d4e5f6071", "referral", 123456): "6592a4299a634e56",
    ("ünïcode seed", "referral", 42): "3981eec645df46b1",
}


def readme_draw(seed: str, pathway: str, client_id: int) -> Fraction:
    """The draw exactly as the README words it, as an exact fraction."""
    text = f"{seed}:{pathway}:{client_id}".encode()  # UTF-8
    first_eight = hashlib.sha256(text).digest()[:8]
    return Fraction(int.from_bytes(first_eight, "big"), 2**64)


def readme_version(weights: dict[int, int], value: Fraction) -> int:
    """The version whose share of [0, 1) holds the draw (versions ascending)."""
    total = sum(weights.values())
    upper = Fraction(0)
    for version in sorted(weights):
        upper += Fraction(weights[version], total)
        if value < upper:
            return version
    raise AssertionError("a draw in [0, 1) always falls in some share")


@pytest.mark.parametrize(("key", "prefix"), sorted(SHA256SUM_PREFIXES.items()))
def test_the_draw_is_the_digests_first_eight_bytes_over_two_to_the_64(
        key: tuple[str, str, int], prefix: str) -> None:
    seed, pathway, client = key
    assert draw(seed, pathway, client) == int(prefix, 16) / 2**64
    assert readme_draw(seed, pathway, client) == Fraction(int(prefix, 16), 2**64)


@pytest.mark.parametrize("seed", ["s-1", "fixed seed", "0a1b2c3d4e5f6071", "ünïcode seed"])
@pytest.mark.parametrize("pathway", ["referral", "gate_reception"])
def test_every_draw_matches_the_readme_formula(seed: str, pathway: str) -> None:
    for client in (1, 2, 3, 10, 99, 1000, 65_537, 10**9):
        assert draw(seed, pathway, client) == float(readme_draw(seed, pathway, client))


@pytest.mark.parametrize("weights", [
    {1: 50, 2: 50}, {1: 30, 2: 70}, {1: 1, 2: 1, 3: 2}, {2: 5, 7: 1, 3: 4}, {4: 5, 9: 95}])
@pytest.mark.parametrize("seed", ["s-1", "0a1b2c3d4e5f6071"])
def test_the_arm_is_the_share_of_the_unit_interval_holding_the_draw(
        weights: dict[int, int], seed: str) -> None:
    policy = AllocationPolicy("referral", "split", weights=weights, seed=seed)
    arms = set()
    for client in range(1, 301):
        expected = readme_version(weights, readme_draw(seed, "referral", client))
        allocation = allocate(policy, "referral", client, max(weights))
        assert allocation.version == expected, (client, allocation.event)
        assert allocation.event["draw"] == float(readme_draw(seed, "referral", client))
        arms.add(expected)
    assert arms == set(weights)  # every arm is reached, so no share is mis-placed unseen


def test_cases_started_under_a_split_land_where_the_readme_formula_says() -> None:
    """End to end through the engine: the recorded seed alone recomputes every arm."""
    engine = Engine(uow=FakeUnitOfWorkFactory(), clock=FakeClock())
    for title in ("Referral", "Referral, second version", "Referral, third version"):
        text = REFERRAL.replace("title: Referral", f"title: {title}", 1)
        compiled = compile_pathway(load_pathway(text, "referral.yaml"))
        engine.publish(compiled.files(), compiled.bpmn_file)
    weights = {1: 20, 2: 30, 3: 50}
    engine.set_allocation("referral", "split", weights=weights, seed="trial-2026")
    for number in range(60):
        client = engine.add_client(f"client {number}").id
        assert client is not None
        case = engine.start_case("referral", client).case
        recorded = next(e for e in engine.events(case.id or 0) if e.type == "version_allocated")
        seed = recorded.data["seed"]
        expected = readme_version({int(k): v for k, v in recorded.data["weights"].items()},
                                  readme_draw(seed, "referral", client))
        assert case.version == recorded.data["version"] == expected

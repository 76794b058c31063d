"""Every number the dashboard reads from a query string is bounded (issue 10, item 5).

`/dashboard?comparison=1E%2B999999999` once held the interpreter for minutes (big-integer
arithmetic under the GIL), and `size=9999…9` or `comparison=1e400` answered 500. Each bad
value must now be refused quickly (422, the reason on the page, the values kept in the form),
on SQLite and PostgreSQL alike. The payment engine bounds its own inputs too, whatever they
come from (the programme file, imported outcome data, the form).
"""

from __future__ import annotations

import time
from decimal import Decimal
from urllib.parse import quote

import pytest

from engine.errors import InvalidArgumentError
from engine.outcomes.payments import CohortInput, PaymentMechanism, mechanism_from_config
from tests.web.conftest import Site, sign_in, site  # noqa: F401 - site: a fixture
from tests.web.test_dashboard import programme  # noqa: F401 - a fixture

BUDGET = 2.0  # seconds per request

BAD = [
    ("comparison", "1E+999999999"), ("comparison", "1e400"), ("comparison", "1E-999999999"),
    ("comparison", "Infinity"), ("comparison", "NaN"), ("comparison", "-5"),
    ("comparison", "0"), ("comparison", "9" * 5000), ("comparison", "1." + "0" * 5000),
    ("size", "9" * 5000), ("size", "99999999999999999999"), ("size", "1e3"), ("size", "-1"),
    ("size", "0"), ("size", "12.5"), ("size", "10000000000"),
    ("events", "9" * 4300), ("events", "-1"), ("events", "1E+999999999"), ("events", "0x10"),
    ("events", "999999999999"),
]


@pytest.mark.parametrize(("name", "value"), BAD)
def test_a_bad_number_is_refused_quickly_and_kept_in_the_form(
        programme: Site, name: str, value: str) -> None:  # noqa: F811
    client = programme.client()
    sign_in(client, "cam")
    values = {"size": "1000", "events": "1420", "comparison": "155", name: value}
    query = "&".join(f"{k}={quote(v)}" for k, v in values.items())
    started = time.monotonic()
    page = client.get(f"/dashboard?pathway=gate_reception&{query}")
    elapsed = time.monotonic() - started
    assert elapsed < BUDGET, f"{name}={value[:20]}… took {elapsed:.1f} s"
    assert page.status_code in (400, 422), page.status_code
    assert 'role="alert"' in page.text
    label = {"size": "cohort size", "events": "events", "comparison": "comparison"}[name]
    assert label in page.text.lower()
    if len(value) < 40:  # what was typed stays in the form, to be corrected
        assert f'value="{value}"' in page.text


def test_other_query_numbers_are_bounded_too(programme: Site) -> None:  # noqa: F811
    client = programme.client()
    sign_in(client, "cam")
    for query in ("final=" + "9" * 5000, "outcome=" + "9" * 5000, "field=" + "1e999999"):
        started = time.monotonic()
        page = client.get(f"/dashboard?pathway=gate_reception&{query}")
        assert time.monotonic() - started < BUDGET
        assert page.status_code < 500


def test_good_numbers_still_compute(programme: Site) -> None:  # noqa: F811
    client = programme.client()
    sign_in(client, "cam")
    page = client.get("/dashboard?size=1000&events=1420&comparison=155.5")
    assert page.status_code == 200
    assert '<pre class="statement">' in page.text


def test_the_payment_engine_bounds_its_inputs() -> None:
    """Whatever the caller: a cohort or a mechanism with an absurd number is refused at once
    rather than worked out with exact fractions of 10^999999999."""
    absurd = [
        {"size": 10 ** 4000, "intervention_events": 1, "comparison_rate": Decimal(155)},
        {"size": 1000, "intervention_events": 10 ** 4000, "comparison_rate": Decimal(155)},
        {"size": 1000, "intervention_events": 1, "comparison_rate": Decimal("1E+999999999")},
        {"size": 1000, "intervention_events": 1, "comparison_rate": Decimal("1E-999999999")},
        {"size": 1000, "intervention_events": 1, "comparison_events": 10 ** 4000},
        {"size": 1000, "intervention_events": 1, "comparison_events": 5,
         "comparison_size": 10 ** 4000},
    ]
    for fields in absurd:
        started = time.monotonic()
        with pytest.raises(InvalidArgumentError):
            CohortInput("cohort 1", **fields)
        assert time.monotonic() - started < BUDGET
    for price in (Decimal("1E+999999999"), Decimal("1E-999999999"), Decimal(10) ** 40):
        with pytest.raises(InvalidArgumentError):
            PaymentMechanism(Decimal(10), Decimal("7.5"), price)
    with pytest.raises(InvalidArgumentError):
        PaymentMechanism(Decimal(10), Decimal("7.5"), Decimal(100), per=10 ** 4000)
    config = {"measure": "frequency", "per": 100, "cohort_threshold_percent": "1E-999999999",
              "overall_threshold_percent": 7.5, "price_per_event_avoided": "1E+999999999"}
    started = time.monotonic()
    with pytest.raises(InvalidArgumentError):
        mechanism_from_config(config)
    assert time.monotonic() - started < BUDGET

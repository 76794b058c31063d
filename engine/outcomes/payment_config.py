"""Reading a programme file (definitions/programmes/*.yaml, parsed): its payment mechanism,
cohorts and outcome measures, every problem reported by field path (InvalidArgumentError's
details["fields"])."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.errors import InvalidArgumentError
from engine.outcomes.outcome_measures import OutcomeMeasure, outcome_directions
from engine.outcomes.payment_checks import (
    MAX_AMOUNT,
    MAX_PER,
    Problems,
    add_problem,
    invalid,
    out_of_bounds,
)
from engine.outcomes.payment_mechanism import (
    ASSUMABLE,
    MEASURES,
    CohortDefinition,
    PaymentMechanism,
    Programme,
)

_MECHANISM_KEYS = {
    "measure", "per", "cohort_threshold_percent", "overall_threshold_percent",
    "price_per_event_avoided", "early_payment", "caps", "assumed",
}
_CAP_KEYS = {"per_cohort", "overall"}
_PROGRAMME_KEYS = {"programme", "description", "payment_mechanism", "cohorts",
                   "outcome_measures"}
_COHORT_KEYS = {"name", "releases_from", "releases_to", "description"}
_MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")

At = Callable[[str], str]
"""A key -> its field path (prefixed with where the mapping is)."""


# -- the payment mechanism -------------------------------------------------------------------


def mechanism_from_config(config: object, *, path: str = "") -> PaymentMechanism:
    """A PaymentMechanism from a mapping such as definitions/programme.yaml's
    `payment_mechanism`:

        measure: frequency                 # optional, the only measure known so far
        per: 100                           # optional, rates are events per 100 people
        cohort_threshold_percent: 10       # required
        overall_threshold_percent: 7.5     # required
        price_per_event_avoided: 10000     # required, pounds
        early_payment: true                # optional, default true
        caps: {per_cohort: 3000000, overall: 6000000}   # optional; null = no cap
        assumed: [price_per_event_avoided]  # optional: placeholders, not the contract's

    Raises InvalidArgumentError listing every problem by field path (prefixed with `path`).
    """
    problems: Problems = {}
    at = _at(path)
    if not isinstance(config, Mapping):
        raise invalid("invalid payment mechanism",
                      {path or "(config)": [f"must be a mapping, not {_kind(config)}"]})
    _unknown_keys(config, _MECHANISM_KEYS, path, problems)
    measure, per = _measure(config, at, problems)
    cohort_threshold = _percentage(config, "cohort_threshold_percent", at, problems)
    overall_threshold = _percentage(config, "overall_threshold_percent", at, problems)
    price = _number(config, "price_per_event_avoided", at, problems, required=True)
    if price is not None and price <= 0:
        add_problem(problems, at("price_per_event_avoided"), f"must be above 0, not {price}")
    early = config.get("early_payment", True)
    if not isinstance(early, bool):
        add_problem(problems, at("early_payment"), f"must be true or false, not {early!r}")
    cohort_cap, overall_cap = _caps(config, at, problems)
    assumed = _assumed(config, at, problems)
    if problems:
        raise invalid("invalid payment mechanism", problems)
    assert cohort_threshold is not None and overall_threshold is not None and price is not None
    assert isinstance(measure, str) and isinstance(per, int) and isinstance(early, bool)
    return PaymentMechanism(
        cohort_threshold=cohort_threshold, overall_threshold=overall_threshold,
        price_per_event=price, cohort_cap=cohort_cap, overall_cap=overall_cap,
        early_payment=early, measure=measure, per=per, assumed=tuple(assumed))


def _measure(config: Mapping[Any, Any], at: At, problems: Problems) -> tuple[object, object]:
    """The measure's name and the people its rates are per."""
    measure = config.get("measure", "frequency")
    if not isinstance(measure, str) or measure not in MEASURES:
        add_problem(problems, at("measure"),
                    f"unknown measure {measure!r}; known: {', '.join(sorted(MEASURES))}")
    per = config.get("per", 100)
    if isinstance(per, bool) or not isinstance(per, int) or not 0 < per <= MAX_PER:
        add_problem(problems, at("per"), f"must be a whole number above 0 and at most {MAX_PER}")
    return measure, per


def _caps(config: Mapping[Any, Any], at: At, problems: Problems
          ) -> tuple[Decimal | None, Decimal | None]:
    """(per cohort, overall); None: no cap."""
    caps = config.get("caps")
    if caps is None:
        return None, None
    if not isinstance(caps, Mapping):
        add_problem(problems, at("caps"), f"must be a mapping, not {_kind(caps)}")
        return None, None
    _unknown_keys(caps, _CAP_KEYS, at("caps"), problems)
    cap_at = _at(at("caps"))
    cohort_cap = _number(caps, "per_cohort", cap_at, problems, required=False)
    overall_cap = _number(caps, "overall", cap_at, problems, required=False)
    for key, cap in (("per_cohort", cohort_cap), ("overall", overall_cap)):
        if cap is not None and cap < 0:
            add_problem(problems, cap_at(key), f"must be 0 or more, not {cap}")
    return cohort_cap, overall_cap


def _assumed(config: Mapping[Any, Any], at: At, problems: Problems) -> list[str]:
    """The figures the file says are placeholders (ASSUMABLE's names)."""
    assumed = config.get("assumed", [])
    if not isinstance(assumed, list) or not all(isinstance(a, str) for a in assumed):
        add_problem(problems, at("assumed"), f"must be a list of figure names, not {assumed!r}")
        return []
    for index, name in enumerate(assumed):
        if name not in ASSUMABLE:
            add_problem(problems, f"{at('assumed')}[{index}]",
                        f"unknown figure {name!r}; known: {', '.join(sorted(ASSUMABLE))}")
    return assumed


# -- the programme ---------------------------------------------------------------------------


def programme_from_config(config: object) -> Programme:
    """A Programme from a whole programme file (definitions/programme.yaml, parsed):
    `programme` (name), `description`, `payment_mechanism` (see mechanism_from_config) and
    `cohorts` (a list of {name, releases_from: YYYY-MM, releases_to: YYYY-MM or null,
    description})."""
    if not isinstance(config, Mapping):
        raise invalid("invalid programme",
                      {"(config)": [f"must be a mapping, not {_kind(config)}"]})
    problems: Problems = {}
    _unknown_keys(config, _PROGRAMME_KEYS, "", problems)
    name = config.get("programme")
    if not isinstance(name, str) or not name.strip():
        add_problem(problems, "programme", "required: the programme's name")
    description = config.get("description", "")
    if not isinstance(description, str):
        add_problem(problems, "description", f"must be text, not {_kind(description)}")
    mechanism = _programme_mechanism(config, problems)
    cohorts = _cohorts(config, problems)
    measures = _measures(config, problems)
    try:
        outcome_directions(measures)
    except InvalidArgumentError as err:
        add_problem(problems, "outcome_measures", err.message)
    if problems:
        raise invalid("invalid programme", problems)
    assert isinstance(name, str) and isinstance(description, str) and mechanism is not None
    return Programme(name=name, mechanism=mechanism, cohorts=tuple(cohorts),
                     description=description, measures=tuple(measures))


def _programme_mechanism(config: Mapping[Any, Any], problems: Problems
                         ) -> PaymentMechanism | None:
    if "payment_mechanism" not in config:
        add_problem(problems, "payment_mechanism", "required")
        return None
    try:
        return mechanism_from_config(config["payment_mechanism"], path="payment_mechanism")
    except InvalidArgumentError as err:
        for where, messages in err.details["fields"].items():
            problems.setdefault(where, []).extend(messages)
        return None


def _listed(config: Mapping[Any, Any], key: str, problems: Problems) -> list[Any]:
    """The list under key (none: empty; not a list: a problem, and empty)."""
    items = config.get(key, [])
    if not isinstance(items, list):
        add_problem(problems, key, f"must be a list, not {_kind(items)}")
        return []
    return items


def _cohorts(config: Mapping[Any, Any], problems: Problems) -> list[CohortDefinition]:
    cohorts: list[CohortDefinition] = []
    seen: set[str] = set()
    for index, raw in enumerate(_listed(config, "cohorts", problems)):
        where = f"cohorts[{index}]"
        if not isinstance(raw, Mapping):
            add_problem(problems, where, f"must be a mapping, not {_kind(raw)}")
            continue
        cohorts.append(_cohort(raw, where, seen, problems))
    return cohorts


def _cohort(raw: Mapping[Any, Any], where: str, seen: set[str], problems: Problems
            ) -> CohortDefinition:
    """One cohort; its name is added to seen (names must be unique)."""
    _unknown_keys(raw, _COHORT_KEYS, where, problems)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        add_problem(problems, f"{where}.name", "required: the cohort's name")
        name = ""
    elif name in seen:
        add_problem(problems, f"{where}.name", f"another cohort is already called {name!r}")
    seen.add(name)
    first, last = _release_months(raw, where, problems)
    description = raw.get("description", "")
    if not isinstance(description, str):
        add_problem(problems, f"{where}.description", f"must be text, not {_kind(description)}")
        description = ""
    return CohortDefinition(name=name, releases_from=first, releases_to=last,
                            description=description)


def _release_months(raw: Mapping[Any, Any], where: str, problems: Problems
                    ) -> tuple[str | None, str | None]:
    """(releases_from, releases_to), each a YYYY-MM month or None."""
    months: dict[str, str | None] = {}
    for key in ("releases_from", "releases_to"):
        value = raw.get(key)
        if value is not None and not (isinstance(value, str) and _MONTH.match(value)):
            add_problem(problems, f"{where}.{key}", f"must be a month YYYY-MM, not {value!r}")
            value = None
        months[key] = value
    first, last = months["releases_from"], months["releases_to"]
    if first and last and last < first:
        add_problem(problems, f"{where}.releases_to", f"{last} is before releases_from {first}")
    return first, last


def _measures(config: Mapping[Any, Any], problems: Problems) -> list[OutcomeMeasure]:
    measures: list[OutcomeMeasure] = []
    for index, raw in enumerate(_listed(config, "outcome_measures", problems)):
        where = f"outcome_measures[{index}]"
        if not isinstance(raw, Mapping):
            add_problem(problems, where, f"must be a mapping, not {_kind(raw)}")
            continue
        try:
            measures.append(OutcomeMeasure.from_config(raw))
        except (InvalidArgumentError, TypeError) as err:
            _measure_problems(err, where, problems)
    return measures


def _measure_problems(err: InvalidArgumentError | TypeError, where: str,
                      problems: Problems) -> None:
    """A measure's refusal, its fields placed under where."""
    fields = err.details.get("fields", {}) if isinstance(err, InvalidArgumentError) else {}
    for key, messages in (fields or {"(measure)": [str(err)]}).items():
        for message in messages if isinstance(messages, list) else [messages]:
            add_problem(problems, f"{where}.{key}", str(message))


# -- reading a mapping ---------------------------------------------------------------------


def _at(prefix: str) -> At:
    def join(key: str) -> str:
        return f"{prefix}.{key}" if prefix else key
    return join


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _unknown_keys(config: Mapping[Any, Any], known: set[str], path: str,
                  problems: Problems) -> None:
    for key in config:
        if key not in known:
            add_problem(problems, _at(path)(str(key)),
                        f"unknown field; expected one of {', '.join(sorted(known))}")


def _number(config: Mapping[Any, Any], key: str, at: At, problems: Problems, *,
            required: bool) -> Decimal | None:
    """The number under key, within MAX_AMOUNT (missing or not one: a problem, and None)."""
    if key not in config or config[key] is None:
        if required:
            add_problem(problems, at(key), "required")
        return None
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        add_problem(problems, at(key), f"must be a number, not {_kind(value)}")
        return None
    try:
        number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        add_problem(problems, at(key), f"must be a number, not {value!r}")
        return None
    why = (f"must be a finite number, not {value!r}" if not number.is_finite()
           else out_of_bounds(number, MAX_AMOUNT))
    if why is not None:
        add_problem(problems, at(key), why)
        return None
    return number


def _percentage(config: Mapping[Any, Any], key: str, at: At, problems: Problems
                ) -> Decimal | None:
    value = _number(config, key, at, problems, required=True)
    if value is not None and not 0 < value < 100:
        add_problem(problems, at(key), f"must be a percentage above 0 and below 100, not {value}")
        return None
    return value

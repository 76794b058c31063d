"""Figures computed alongside a request's own (web.dashboard_cache.alongside): a cold
dashboard page computes the cohorts' results and the fields it may split by in other
threads while it counts the pathway's cases. What those threads compute must be what the
request itself would have computed: keyed by the same revision, from the same programme,
with the notes they leave (a version that cannot be loaded) on the page, and their
failures raised to the page, not lost."""

from __future__ import annotations

import threading

import pytest
from flask import g

from engine.errors import InvalidArgumentError
from tests.web.conftest import Site
from web.dashboard_cache import alongside, revision_key


def test_a_figure_computed_alongside_sees_the_request_and_brings_back_its_notes(
        site: Site) -> None:
    with site.app.test_request_context("/dashboard"):
        g.programme = "the programme read for this request"
        g.unloadable = {("housing", 1): "seen before"}
        request_thread = threading.current_thread()

        def compute() -> tuple[object, object, bool]:
            g.setdefault("unloadable", {})[("gate_reception", 2)] = "cannot be loaded"
            return (g.programme, g.figures_key,
                    threading.current_thread() is not request_thread)

        later = alongside(compute)
        programme, key, elsewhere = later()
        assert programme == "the programme read for this request"
        assert key == revision_key()  # one revision for the request's figures and these
        assert elsewhere
        assert g.unloadable == {("housing", 1): "seen before",
                                ("gate_reception", 2): "cannot be loaded"}


def test_what_a_figure_computed_alongside_raises_is_raised_where_it_is_awaited(
        site: Site) -> None:
    with site.app.test_request_context("/dashboard"):
        def compute() -> None:
            raise InvalidArgumentError("the programme file is wrong")

        later = alongside(compute)
        with pytest.raises(InvalidArgumentError, match="the programme file is wrong"):
            later()


def test_the_thread_does_not_change_the_requests_own_g(site: Site) -> None:
    with site.app.test_request_context("/dashboard"):
        g.chosen = "kept"

        def compute() -> str:
            g.chosen = "changed in the other thread"
            return "done"

        assert alongside(compute)() == "done"
        assert g.chosen == "kept"

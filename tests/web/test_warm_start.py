"""A server's first pages are as quick as its later ones: the app `pathways serve` builds has
parsed the published definitions and compiled its templates before it takes a request. Before,
each worker's first inbox parsed every pathway's definition and compiled its templates on the
request (0.45 s against 0.02 s on the demo programme), after every start and every restart of
a worker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from adapters.bootstrap import bootstrap
from adapters.cli.serve import serving_app
from adapters.settings import Settings
from engine.workflow import spec_cache
from tests.web.conftest import CHEAP_HASHER, Site, sign_in
from tests.web.test_pages import World, build_world, publish_shipped


@pytest.fixture
def world(site: Site) -> World:
    return build_world(site)


def _counted(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[object]:
    """Replace owner.name with a wrapper noting each call; the calls' first arguments."""
    calls: list[object] = []
    real: Callable[..., Any] = getattr(owner, name)

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0] if args else None)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, counting)
    return calls


def test_a_served_apps_first_pages_parse_no_definition_and_compile_no_template(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = world.application.settings
    spec_cache.forget_parses()  # as in a process just started
    app = serving_app(settings, {"TESTING": True})
    parses = _counted(monkeypatch, spec_cache, "parse_bundle")
    compiled = _counted(monkeypatch, app.jinja_env, "compile")
    worker = app.test_client()
    sign_in(worker, "sg_caseworker")
    for url in ("/inbox", f"/tasks/{world.tasks['aaron']}", f"/clients/{world.clients['aaron']}"):
        assert worker.get(url).status_code == 200, url
    commissioner = app.test_client()
    sign_in(commissioner, "sg_commissioner")
    assert commissioner.get("/dashboard?pathway=gate_reception").status_code == 200
    assert parses == [] and compiled == []
    app.extensions["pathways"].close()


def test_the_warm_up_loads_the_latest_version_of_every_pathway_first(site: Site) -> None:
    publish_shipped(site.application)
    engine = site.application.engine
    spec_cache.forget_parses()
    loaded = bootstrap(site.application.settings, hasher=CHEAP_HASHER)
    try:
        found = loaded.engine.load_definitions(limit=3)
        latest = sorted((v.pathway, v.number) for v in engine.definitions())[:3]
        assert found.failed == ()
        assert sorted(found.loaded) == latest  # the first three pathways' latest, no more
        everything = loaded.engine.load_definitions(limit=1000)
        versions = {(v.pathway, v.number) for v in engine.versions()}
        assert set(everything.loaded) == versions
        assert list(everything.loaded[:len(engine.definitions())]) == sorted(
            (v.pathway, v.number) for v in engine.definitions())
    finally:
        loaded.close()


def test_a_version_that_no_longer_parses_is_named_and_the_others_still_load(
        site: Site) -> None:
    publish_shipped(site.application)
    spec_cache.forget_parses()
    settings: Settings = site.application.settings
    loaded = bootstrap(settings, hasher=CHEAP_HASHER)

    def broken(files: Any, main_file: str) -> Any:
        if "family_support" in main_file:
            raise ValueError("the parser of this release refuses it")
        return real(files, main_file)

    real = spec_cache.parse_bundle
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(spec_cache, "parse_bundle", broken)
            found = loaded.engine.load_definitions(limit=1000)
        assert found.failed and all(p == "family_support" for p, _ in found.failed)
        assert found.loaded and all(p != "family_support" for p, _ in found.loaded)
    finally:
        loaded.close()

"""In a real browser: three learners with nicknames train at once; the teacher's Class page lists
them and opens one learner's run as the teacher's own active model."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from core.presets import PRESETS
from tests.browser.conftest import (
    assert_no_exception,
    build_preset,
    go_to,
    screenshot,
    served_app,
    start_training,
    wait_for_app,
)
from ui.teacher import ENV_VAR

pytestmark = pytest.mark.browser

KEY = "projector-key-2026"
LEARNERS = ("Mina", "Joon", "Ara")
MLP = "Tutorial MLP 784-64-10 (SGD)"  # the preset's title on the Build page
MLP_NAME = PRESETS["mlp_sgd"].spec.name  # the network's name, on the board and in the sidebar


@pytest.fixture(scope="module")
def class_url(tmp_path_factory) -> Iterator[str]:
    """A server of its own, started with a teacher key and an empty runs directory."""
    settings = {ENV_VAR: KEY, "DIGITLAB_MAX_TRAININGS": "2"}  # the third learner queues
    with served_app(tmp_path_factory.mktemp("class") / "runs", settings) as url:
        yield url


def new_page(browser: Browser) -> Page:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    return page


def open_class_page(page: Page) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text("Class", exact=True).click()
    expect(page.locator("h1").first).to_contain_text("Class", timeout=90_000)
    wait_for_app(page)


def open_picker(page: Page, count: int, timeout_s: float = 30) -> Locator:
    """Open the run picker until it lists `count` runs (it refreshes with the board)."""
    options = page.get_by_role("option")
    deadline = time.monotonic() + timeout_s
    while True:
        page.get_by_label("Run", exact=True).click()
        expect(options.first).to_be_visible()
        if options.count() == count or time.monotonic() > deadline:
            expect(options).to_have_count(count)
            return options
        page.keyboard.press("Escape")
        page.wait_for_timeout(1000)


def learner_trains(page: Page, url: str, nickname: str) -> None:
    """Open the app, type a nickname, build the tutorial MLP and start a short training."""
    page.goto(url)
    wait_for_app(page)
    box = page.get_by_test_id("stSidebar").get_by_label("Nickname", exact=True)
    box.fill(nickname)
    box.press("Enter")
    wait_for_app(page)
    expect(page).to_have_url(re.compile(rf"[?&]name={nickname}(&|$)"))
    build_preset(page, url, MLP, same_session=True)  # the sidebar keeps ?session= and ?name=
    go_to(page, "Train")
    start_training(page, "1,000 (seconds)", epochs=1)


def test_three_learners_and_the_teachers_view(browser, class_url):
    learners = {name: new_page(browser) for name in LEARNERS}
    teacher = new_page(browser)
    try:
        for name, page in learners.items():
            learner_trains(page, class_url, name)
        for page in learners.values():
            expect(page.get_by_text("Training finished")).to_be_visible(timeout=240_000)
            assert_no_exception(page)
        screenshot(learners["Ara"], "class-learner-trained")

        # A learner without the key sees the key form and no one's runs.
        mina = learners["Mina"]
        open_class_page(mina)
        expect(mina.get_by_label("Teacher key")).to_be_visible()
        expect(mina.get_by_test_id("stDataFrame")).to_have_count(0)
        expect(mina.get_by_text("Joon")).to_have_count(0)

        teacher.goto(class_url)
        wait_for_app(teacher)
        open_class_page(teacher)
        teacher.get_by_label("Teacher key").fill("not-the-key-at-all")
        teacher.get_by_role("button", name="Open the class view").click()
        wait_for_app(teacher)
        expect(teacher.get_by_text("That is not the teacher key")).to_be_visible()
        expect(teacher.get_by_test_id("stDataFrame")).to_have_count(0)
        teacher.get_by_label("Teacher key").fill(KEY)
        teacher.get_by_role("button", name="Open the class view").click()
        wait_for_app(teacher)
        expect(teacher.get_by_test_id("stDataFrame")).to_be_visible()
        expect(teacher.get_by_text("3 runs of 3 learners")).to_be_visible()
        assert_no_exception(teacher)
        screenshot(teacher, "class-board")

        # Mina trains again; the board shows her new run without the teacher touching anything.
        go_to(mina, "Train")
        mina.get_by_role("button", name="Train", exact=True).click()
        expect(mina.get_by_text("Training finished")).to_be_visible(timeout=240_000)
        expect(teacher.get_by_text("4 runs of 3 learners")).to_be_visible(timeout=60_000)
        screenshot(teacher, "class-board-refreshed")

        # The picker lists every run (the table itself is drawn on a canvas). The board may have
        # counted Mina's new run while it still trained: it becomes openable at the next refresh.
        options = open_picker(teacher, count=4)
        listed = " ".join(options.all_inner_texts())
        assert all(f". {name} · {MLP_NAME} · " in listed for name in LEARNERS), listed
        options.filter(has_text=". Joon · ").click()
        wait_for_app(teacher)
        teacher.get_by_role("button", name="Make it my active model").click()
        wait_for_app(teacher)
        expect(teacher.get_by_text("is now the active model of this tab")).to_be_visible()
        expect(teacher.get_by_test_id("stSidebar")).to_contain_text(f"{MLP_NAME} · Joon")
        go_to(teacher, "Mistakes")
        assert_no_exception(teacher)
        screenshot(teacher, "class-teacher-mistakes")
    finally:
        for page in [*learners.values(), teacher]:
            page.context.close()

"""The Lessons page in a real browser, in English and Korean: a step's link, the work, the tick.

Screenshots go to test-artifacts/lessons-*.png for people to look at.
"""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_no_exception, choose, screenshot, wait_for_app

pytestmark = pytest.mark.browser

# Per language: the page's heading, the first step's title, its link, Build's heading, the preset, the Build
# button, what Build says when done, the Lessons entry in the sidebar, and the status words.
TEXTS = {
    "en": {
        "heading": "Lessons: the five tutorials, step by step",
        "step": "1. Build the 784-64-10 network",
        "link": "Open Build",
        "build_heading": "Build a network",
        "preset_label": "Start from a preset",
        "preset": "Tutorial MLP 784-64-10 (SGD)",
        "build": "Build model",
        "built": "It is now the active model",
        "nav": "Lessons",
        "todo": "· to do",
        "done": "· done",
        "yours": "50,890 parameters (MLP 784-64-10)",
        "lesson_label": "Lesson",
        "checkpoints": "4. Checkpoints: untrained versus restored (0/6)",
        "savedmodel": "Download the SavedModel",
    },
    "ko": {
        "heading": "레슨: 다섯 튜토리얼을 한 단계씩",
        "step": "1. 784-64-10 신경망 만들기",
        "link": "모델 만들기 열기",
        "build_heading": "신경망 만들기",
        "preset_label": "프리셋으로 시작하기",
        "preset": "튜토리얼 MLP 784-64-10 (SGD)",
        "build": "모델 만들기",
        "built": "이제 이 모델이 현재 모델입니다",
        "nav": "레슨",
        "todo": "· 할 일",
        "done": "· 완료",
        "yours": "파라미터 50,890개 (MLP 784-64-10)",
        "lesson_label": "레슨",
        "checkpoints": "4. 체크포인트: 학습 전과 복원 후 비교 (0/6)",
        "savedmodel": "SavedModel 내려받기",
    },
}
FIRST_STEP = "[class*=st-key-lessons_step_first_mlp_build]"


@pytest.mark.parametrize("language", ["en", "ko"])
def test_a_step_opens_its_page_and_ticks_itself_off(page: Page, app_url, language):
    text = TEXTS[language]
    page.goto(f"{app_url}/lessons?lang={language}")
    wait_for_app(page)
    expect(page.locator("h1").first).to_have_text(text["heading"])
    assert_no_exception(page)
    step = page.locator(FIRST_STEP)
    expect(step).to_contain_text(text["step"])
    expect(step).to_contain_text(text["todo"])
    screenshot(page, f"lessons-{language}-start")

    # The step's link opens Build in the same session; build the tutorial's network there.
    step.get_by_role("link", name=text["link"]).click()
    # The first visit after the server starts loads TensorFlow first: wait for Build's heading.
    expect(page.locator("h1").first).to_have_text(text["build_heading"], timeout=90_000)
    wait_for_app(page)
    expect(page.get_by_label(text["preset_label"], exact=True)).to_be_visible()
    assert f"lang={language}" in page.url
    choose(page, text["preset_label"], text["preset"])
    page.get_by_role("button", name=text["build"], exact=True).click()
    expect(page.get_by_text(text["built"])).to_be_visible(timeout=90_000)
    wait_for_app(page)

    # Back on Lessons through the sidebar: the step is ticked, with the learner's own number.
    page.get_by_test_id("stSidebarNav").get_by_text(text["nav"], exact=True).click()
    expect(page.locator("h1").first).to_have_text(text["heading"], timeout=90_000)
    wait_for_app(page)
    assert_no_exception(page)
    step = page.locator(FIRST_STEP)
    expect(step).to_contain_text(text["done"])
    expect(step).not_to_contain_text(text["todo"])
    expect(step).to_contain_text(text["yours"])
    expect(page.get_by_test_id("stMain")).not_to_contain_text("**")  # every bold mark renders
    screenshot(page, f"lessons-{language}-ticked")

    # The checkpoint lesson now downloads and uploads the tutorial's own formats.
    choose(page, text["lesson_label"], text["checkpoints"])
    savedmodel = page.locator("[class*=st-key-lessons_step_checkpoints_savedmodel]")
    expect(savedmodel).to_contain_text(text["savedmodel"])
    expect(page.get_by_test_id("stMain")).not_to_contain_text("**")
    savedmodel.scroll_into_view_if_needed()
    screenshot(page, f"lessons-{language}-checkpoints")

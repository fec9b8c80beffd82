"""The web chat with the keyboard alone, as a professional types a description: the answer box
has the focus after every turn, Enter sends, and older messages keep what they listed."""

from sqlmodel import select

from models import Intervention
from tests.helpers import Chat
from tests.test_web_chat import web_app


def focused(page) -> str:
    """Waits until the answer box has the focus (or fails after 5 s); returns its tag."""
    page.wait_for_function("document.activeElement && document.activeElement.name === 'text'", timeout=5000)
    return page.evaluate("document.activeElement.tagName")


def type_and_enter(page, text: str) -> None:
    with page.expect_navigation():
        page.keyboard.type(text)
        page.keyboard.press("Enter")


def test_typing_a_description_needs_no_mouse(db, make_server, browser_page):
    server = make_server(web_app(db))
    page = browser_page
    page.goto(server.url + "/")
    page.fill("#name", "Fatima de Vries")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert focused(page) == "INPUT"
    type_and_enter(page, "nieuw")
    for answer in ["Buurtmoestuin Kruiskamp", "Kruiskamp", "Amersfoort", "overslaan", "1-3-2027", "31-12-2028"]:
        assert focused(page) == "INPUT"
        type_and_enter(page, answer)
    type_and_enter(page, "lopend")
    type_and_enter(page, "1, 3")
    assert focused(page) == "TEXTAREA"  # the problem: a long answer, on several lines
    page.keyboard.type("Weinig contact tussen buren.")
    page.keyboard.press("Shift+Enter")
    with page.expect_navigation():
        page.keyboard.type("Vooral ouderen zijn eenzaam.")
        page.keyboard.press("Enter")
    assert focused(page) == "TEXTAREA"
    box = page.evaluate("document.activeElement.getBoundingClientRect().toJSON()")
    assert box["top"] >= 0 and box["bottom"] <= page.evaluate("window.innerHeight") + 1  # scrolled into view
    with db.transaction() as s:
        iv = s.exec(select(Intervention)).one()
        assert (iv.title, iv.project_status, iv.themes) == (
            "Buurtmoestuin Kruiskamp",
            "lopend",
            ["sociale-cohesie", "woonomgeving"],
        )
        assert iv.situation == "Weinig contact tussen buren.\nVooral ouderen zijn eenzaam."
    assert "Hoe weet je dat?" in page.inner_text("#chat")


def test_older_messages_keep_their_lists(db, make_server, browser_page):
    author = Chat(db, name="Karin", external_id="U_KARIN")
    author.say("nieuw")
    author.say("Klushuizen Oost")
    author.say("pauze")
    server = make_server(web_app(db))
    page = browser_page
    page.goto(server.url + "/")
    page.fill("#name", "Fatima de Vries")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    type_and_enter(page, "nieuw")
    type_and_enter(page, "Buurtmoestuin")
    type_and_enter(page, "pauze")
    type_and_enter(page, "mijn")
    type_and_enter(page, "hulp")  # a newer message: the list above is no longer live
    listed = page.locator(".msg.bot ul.choices a")
    assert listed.count() == 1 and listed.first.inner_text().startswith("#2 Buurtmoestuin")
    with page.expect_navigation():
        listed.first.click()
    assert "Buurtmoestuin" in page.inner_text("h1")

"""Every kind of web page, checked in the browser by axe-core (the checker behind most
accessibility audits): nothing it rates serious or critical."""

from axe_playwright_python.sync_playwright import Axe

from tests.helpers import FULL_WALK, Chat
from tests.test_web_chat import web_app

SERIOUS = {"serious", "critical"}


def problems(page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in SERIOUS
    ]


def test_the_pages_have_no_serious_accessibility_problems(db, make_server, browser_page):
    colleague = Chat(db, name="Karin", external_id="U_KARIN")
    colleague.say("nieuw")
    for answer in FULL_WALK:
        colleague.say(answer)
    colleague.say("publiceer")
    server = make_server(web_app(db))
    page = browser_page
    found = {}

    def check(name: str) -> None:
        found[name] = problems(page)

    page.goto(server.url + "/")
    check("start")
    page.fill("#name", "Fatima de Vries")
    with page.expect_navigation():
        page.click("text=Begin")
    check("chat")
    for typed in ("nieuw", "Buurtmoestuin", "Kruiskamp", "Amersfoort", "overslaan", "1-3-2027", "31-12-2028"):
        with page.expect_navigation():
            page.fill("[name=text]", typed)
            page.keyboard.press("Enter")
    check("chat with choices")
    with page.expect_navigation():
        page.fill("[name=text]", "lopend")
        page.keyboard.press("Enter")
    check("chat with several choices")
    for step in (1, 4, 8):
        page.goto(server.url + f"/formulier/2/{step}")
        check(f"form step {step}")
    page.fill("[name='indicators.0.baseline']", "veel")
    with page.expect_navigation():
        page.click("button:has-text('Bewaar en verder')")
    assert page.locator("[aria-invalid=true]").count() == 1
    check("form with an error")
    for path in ("/beschrijvingen", "/beschrijvingen?q=moestuin", "/beschrijvingen/1", "/indicatoren"):
        page.goto(server.url + path)
        check(path)
    assert {name: found_ for name, found_ in found.items() if found_} == {}

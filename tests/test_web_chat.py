"""The web chat walked in a real headless Chromium (Debian's, driven by Playwright)."""

import re

from sqlmodel import select

from bot.settings import Settings
from models import Intervention, Person
from tests.helpers import Browser, Chat
from wwidw.app import Core, create_app


def web_app(db):
    return create_app(core=Core(Settings(database_url=db.url, slack_bot_token=None, slack_signing_secret=None), db))


def open_first_form(page, url: str, name: str) -> None:
    """A new web chat user asks for the form and opens step 1."""
    page.goto(url + "/")
    page.fill("#name", name)
    page.click("text=Begin")
    page.fill("[aria-label='Je antwoord']", "formulier")
    page.click("button:has-text('Stuur')")
    page.click("text=Open formulier stap 1")


def test_steps_one_and_two_in_a_browser(db, make_server, browser_page):
    server = make_server(web_app(db))
    page = browser_page
    page.goto(server.url + "/")
    page.fill("#name", "Fatima de Vries")
    page.click("text=Begin")
    page.click("button:has-text('Nieuwe beschrijving')")
    assert "Wat is de titel" in page.inner_text("#chat")

    def answer(text):
        page.fill("[aria-label='Je antwoord']", text)
        page.click("button:has-text('Stuur')")

    answer("Buurtmoestuin Kruiskamp")
    answer("Kruiskamp")
    answer("Amersfoort")
    answer("overslaan")
    answer("1-3-2027")
    answer("3 februari 2025")  # before the start date: refused with a reason
    assert "ligt voor 1-3-2027" in page.inner_text("#chat")
    answer("31-12-2028")
    page.click("button:has-text('Lopend')")
    page.check("input[value^='sociale-cohesie@']")
    page.check("input[value^='veiligheid@']")
    page.click("button:has-text('OK')")
    assert "Stap 1 is bewaard" in page.inner_text("#chat")
    answer("Weinig contact tussen buren.\nVooral ouderen zijn eenzaam.")
    page.click("button:has-text('Terug')")
    assert "Al ingevuld: Weinig contact" in page.inner_text("#chat")
    page.click("button:has-text('Overslaan')")
    answer("Bewonersenquête 2026")
    answer("Het contact blijft beperkt.")
    assert "Stap 3 van 8" in page.inner_text("#chat")

    with db.transaction() as s:
        iv = s.exec(select(Intervention)).one()
        author = s.get(Person, iv.author_id)
        assert author.display_name == "Fatima de Vries"
        assert (iv.title, iv.neighbourhood, iv.municipality) == ("Buurtmoestuin Kruiskamp", "Kruiskamp", "Amersfoort")
        assert iv.project_status == "lopend" and iv.themes == ["sociale-cohesie", "veiligheid"]
        assert str(iv.start_date) == "2027-03-01" and str(iv.end_date) == "2028-12-31"
        assert iv.situation == "Weinig contact tussen buren.\nVooral ouderen zijn eenzaam."
        assert iv.evidence == "Bewonersenquête 2026" and iv.status == "draft"

    # A reload shows the same conversation: the transcript is stored too.
    page.reload()
    assert "Bewonersenquête 2026" in page.inner_text("#chat")


def test_form_mode_in_a_browser(db, make_server, browser_page):
    server = make_server(web_app(db))
    page = browser_page
    open_first_form(page, server.url, "Joost")
    page.fill("[name='title']", "Klushuizen Oost")
    page.fill("[name='start_date']", "1-13-2027")
    page.click("button:has-text('Bewaar en verder')")
    assert "Die datum bestaat niet" in page.inner_text("main")
    with db.transaction() as s:
        assert s.exec(select(Intervention)).one().title is None  # nothing stored from an invalid form
    page.fill("[name='start_date']", "1-3-2027")
    page.select_option("[name='project_status']", "idee")
    page.click("button:has-text('Bewaar en verder')")
    assert "Stap 2 van 8" in page.inner_text("h1")
    with db.transaction() as s:
        iv = s.exec(select(Intervention)).one()
        assert (iv.title, iv.project_status, str(iv.start_date)) == ("Klushuizen Oost", "idee", "2027-03-01")


def test_description_pages_respect_visibility(db, make_server):
    server = make_server(web_app(db))
    author = Chat(db, name="Auteur", external_id="U_AUTHOR")
    author.say("nieuw")
    author.say("Privéproject")
    with db.transaction() as s:
        iv_id = s.exec(select(Intervention)).one().id
    with Browser(base_url=server.url) as anonymous:
        assert anonymous.get(f"/beschrijvingen/{iv_id}").status_code == 404
        assert anonymous.get(f"/beschrijvingen/{iv_id}.json").status_code == 404
        assert "Privéproject" not in anonymous.get("/beschrijvingen").text
        assert anonymous.get("/beschrijvingen/abc").status_code == 404
        assert anonymous.get("/healthz").json() == {"status": "ok"}
        huge = anonymous.post("/start", data={"name": "x" * 600_000})
        assert huge.status_code == 413
        assert anonymous.post("/start", data={"name": ""}).status_code == 400


def test_web_pages_show_only_what_the_readers_organisation_may_see(db, make_server):
    from models import Organisation

    server = make_server(web_app(db))
    author = Chat(db, name="Auteur", external_id="U_AUTHOR", platform="slack", workspace="T_CORP")
    titles = {"organisation": "Alleen eigen organisatie", "partners": "Voor partners", "public": "Voor iedereen"}
    for visibility, title in titles.items():
        author.say("nieuw")
        author.say(title)
        for answer in ["Wijk", "Gemeente", "overslaan", "overslaan", "overslaan", "lopend", "1"]:
            author.say(answer)
        author.say("bewerk stap 8")
        for answer in ["overslaan", "overslaan", "overslaan", visibility]:
            author.say(answer)
        with db.transaction() as s:
            iv = s.exec(select(Intervention).where(Intervention.title == title)).one()
            iv.situation = iv.final_target_group = iv.approach = "x"
            s.add(__import__("models").Effect(intervention_id=iv.id, name="Sociale cohesie"))
        author.say("publiceer")
        assert "Gepubliceerd" in author.texts(), author.texts()

    with Browser(base_url=server.url) as browser:
        browser.post("/start", data={"name": "Lezer"})
        listing = browser.get("/beschrijvingen").text
        assert "Voor iedereen" in listing and "Voor partners" not in listing and "Alleen eigen" not in listing
        with db.transaction() as s:
            ids = {iv.title: iv.id for iv in s.exec(select(Intervention))}
        assert browser.get(f"/beschrijvingen/{ids['Voor iedereen']}").status_code == 200
        assert browser.get(f"/beschrijvingen/{ids['Voor partners']}.json").status_code == 404
        assert browser.get(f"/beschrijvingen/{ids['Alleen eigen organisatie']}.md").status_code == 404
        with db.transaction() as s:  # both organisations join the partner network
            for org in s.exec(select(Organisation)):
                org.is_partner = True
        listing = browser.get("/beschrijvingen").text
        assert "Voor partners" in listing and "Alleen eigen" not in listing


def test_odd_form_posts_get_answers_not_errors(db, make_server):
    server = make_server(web_app(db))
    with Browser(base_url=server.url) as browser:
        browser.post("/start", data={"name": "Tester"})
        browser.post("/say", data={"text": "formulier"})
        with db.transaction() as s:
            iv_id = s.exec(select(Intervention)).one().id
        odd = [
            {"title": ["Een", "Twee"], "themes.other": ["a", "b"]},
            {"effects.99999999.name": "x", "onbekend": "y"},
            {"start_date": "x" * 100_000},
        ]
        for step, data in zip([1, 4, 1], odd, strict=True):
            response = browser.post(f"/formulier/{iv_id}/{step}", data=data, follow_redirects=False)
            assert response.status_code == 409, response.text  # no version: shown again, nothing stored
            page = browser.get(f"/formulier/{iv_id}/{step}").text
            version = re.search(r'name="__version" value="([^"]+)"', page)[1]
            response = browser.post(
                f"/formulier/{iv_id}/{step}", data={**data, "__version": version}, follow_redirects=False
            )
            assert response.status_code in (303, 400), response.text
        assert browser.post(f"/formulier/{iv_id}/9", data={"title": "x"}).status_code == 404
        assert browser.post(f"/formulier/{iv_id + 1}/1", data={"title": "x"}).status_code == 404
        assert browser.post("/say", data={"action": "cmd:doesnotexist"}, follow_redirects=False).status_code == 303
        assert browser.post("/say", data={"action": "opt:" + "x" * 5000}, follow_redirects=False).status_code == 303
    with db.transaction() as s:
        assert s.exec(select(Intervention)).one().title == "Een, Twee"


def test_a_form_left_open_while_the_chat_changed_things_is_shown_again(db, make_server, browser_page):
    server = make_server(web_app(db))
    page = browser_page
    open_first_form(page, server.url, "Sanne")
    page.fill("[name='title']", "Titel uit het formulier")
    chat = Chat(db, name="Sanne")  # the same person answers in the chat meanwhile (another tab)
    with db.transaction() as s:
        chat.person_id = s.exec(select(Intervention)).one().author_id
    chat.say("verder")
    chat.say("Titel uit de chat")
    page.click("button:has-text('Bewaar en verder')")
    assert "Terwijl dit formulier openstond" in page.inner_text("main")
    assert page.input_value("[name='title']") == "Titel uit de chat"
    with db.transaction() as s:
        assert s.exec(select(Intervention)).one().title == "Titel uit de chat"


def test_odd_ids_and_characters_on_the_web(db, make_server):
    server = make_server(web_app(db))
    with Browser(base_url=server.url) as browser:
        assert browser.get("/beschrijvingen/%C2%B2").status_code == 404
        assert browser.get("/beschrijvingen/" + "9" * 30).status_code == 404
        browser.post("/start", data={"name": "Nul\x00teken"})
        assert browser.get("/formulier/" + "9" * 30 + "/1").status_code == 404
        assert browser.post("/say", data={"text": "kies " + "9" * 30}, follow_redirects=False).status_code == 303
        assert browser.post("/say", data={"text": "nieuw"}, follow_redirects=False).status_code == 303
        assert browser.post("/say", data={"text": "Titel\x00met nul"}, follow_redirects=False).status_code == 303
        assert browser.post("/say", data={"action": "cmd:open:²"}, follow_redirects=False).status_code == 303
        for origin in ("https://evil.example", "null"):  # a page elsewhere posting into this chat
            refused = browser.post("/say", data={"text": "nieuw"}, headers={"Origin": origin}, follow_redirects=False)
            assert refused.status_code == 403
            refused = browser.post("/start", data={"name": "Eve"}, headers={"Origin": origin})
            assert refused.status_code == 403
        own = browser.post("/say", data={"text": "hallo"}, headers={"Origin": server.url}, follow_redirects=False)
        assert own.status_code == 303
        huge = "/beschrijvingen/" + "9" * 30 + "/reactie"
        assert browser.post(huge, data={"step": "1", "text": "Mooi"}, follow_redirects=False).status_code == 404
    with db.transaction() as s:
        assert s.exec(select(Intervention)).one().title == "Titelmet nul"
        assert s.exec(select(Person)).one().display_name == "Nulteken"


def test_a_long_chat_keeps_a_trimmed_transcript_and_the_newest_messages(db, make_server):
    from handlers.web.routes import KEPT
    from models import ChatMessage

    server = make_server(web_app(db))
    with Browser(base_url=server.url) as browser:
        browser.post("/start", data={"name": "Tester"})
        for n in range(KEPT // 2 + 10):
            browser.post("/say", data={"text": f"bericht {n}"})
        page = browser.get("/").text
    assert f"bericht {KEPT // 2 + 9}" in page
    with db.transaction() as s:
        kept = s.exec(select(ChatMessage.body).order_by(ChatMessage.id)).all()
    assert KEPT - 5 <= len(kept) <= KEPT
    assert {"text": "bericht 0"} not in kept and {"text": f"bericht {KEPT // 2 + 9}"} in kept


def test_every_page_forbids_framing_and_foreign_content_and_the_browser_needs_nothing_else(
    db, make_server, browser_page
):
    server = make_server(web_app(db))
    with Browser(base_url=server.url) as visitor:
        for path in ("/", "/beschrijvingen", "/indicatoren", "/beschrijvingen/999", "/healthz"):
            headers = visitor.get(path).headers
            assert "frame-ancestors 'none'" in headers["content-security-policy"], path
            assert "script-src 'self';" in headers["content-security-policy"]  # our own file; nothing inline
            assert (headers["referrer-policy"], headers["x-content-type-options"]) == ("same-origin", "nosniff")
            assert headers["x-frame-options"] == "DENY"
        script = visitor.get("/static/chat.js")
        assert script.headers["content-type"].startswith("text/javascript") and "requestSubmit" in script.text
        assert visitor.get("/static/../routes.py").status_code == 404
    refused = []
    browser_page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    browser_page.goto(server.url + "/")
    browser_page.fill("#name", "Fatima de Vries")
    browser_page.click("text=Begin")
    browser_page.click("button:has-text('Nieuwe beschrijving')")
    browser_page.goto(server.url + "/beschrijvingen")
    assert refused == []
    # The page's own styles apply under the policy.
    assert (
        browser_page.evaluate("getComputedStyle(document.querySelector('header')).backgroundColor")
        == "rgb(47, 107, 63)"
    )


def test_behind_a_trusted_proxy_the_cookie_is_secure_and_a_foreign_host_is_refused(db, make_server):
    server = make_server(web_app(db))
    with Browser(base_url=server.url) as browser:
        # uvicorn trusts X-Forwarded-Proto from 127.0.0.1 (FORWARDED_ALLOW_IPS): the proxy here.
        behind = browser.post("/start", data={"name": "Anna"}, headers={"X-Forwarded-Proto": "https"})
        assert "secure" in behind.headers["set-cookie"].lower()
    with Browser(base_url=server.url) as browser:
        plain = browser.post("/start", data={"name": "Bram"})
        assert "secure" not in plain.headers["set-cookie"].lower()
        # DNS rebinding: a page at evil.example whose name now points at this machine.
        assert browser.get("/", headers={"Host": "evil.example"}).status_code == 400
        foreign = browser.post("/start", data={"name": "Eve"}, headers={"Host": "evil.example:8000"})
        assert foreign.status_code == 400 and "frame-ancestors" in foreign.headers["content-security-policy"]
    with db.transaction() as s:
        assert sorted(p.display_name for p in s.exec(select(Person))) == ["Anna", "Bram"]


def test_anonymous_visitors_are_limited_in_rate_and_size(db, make_server):
    from handlers.web.routes import SHOWN
    from models import ChatMessage

    server = make_server(web_app(db))
    browsers = [Browser(base_url=server.url) for _ in range(11)]
    answers = [
        b.post("/start", data={"name": f"Bezoeker {n}", "organisation": f"Club {n}"}) for n, b in enumerate(browsers)
    ]
    assert [a.status_code for a in answers] == [303] * 10 + [429]
    assert answers[-1].headers["retry-after"] == "60" and "Wacht een minuut" in answers[-1].text
    with db.transaction() as s:
        assert len(s.exec(select(Person)).all()) == 10
    first = browsers[0]
    many = first.post("/say", data={"multi": "1", "opt": [str(n) for n in range(990)]})
    assert many.status_code == 400 and "meer keuzes" in many.text
    first.post("/say", data={"text": "lang " * 20_000})  # 100 kB typed
    with db.transaction() as s:
        kept = [m.body["text"] for m in s.exec(select(ChatMessage).where(ChatMessage.sender == "user"))]
    assert len(kept) == 1 and len(kept[0]) == SHOWN and kept[0].endswith("…")
    for b in browsers:
        b.close()

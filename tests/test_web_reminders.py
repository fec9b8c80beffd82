"""Reminders in the local web chat: delivered into the transcript, answered by typing."""

from __future__ import annotations

from datetime import datetime

import httpx
from sqlmodel import select

from bot.schedule import timezone
from bot.settings import Settings
from handlers.web.delivery import WebTransport
from models import Identity, Measurement
from reminders.engine import Engine
from reminders.outbox import OutboxSender
from tests.helpers import Browser
from tests.monitoring import published
from wwidw.app import Core, create_app

DUE = datetime(2027, 1, 29, 9, 0, tzinfo=timezone("Europe/Amsterdam"))


def browser(server, name: str) -> httpx.Client:
    client = Browser(base_url=server.url, follow_redirects=True)
    assert client.post("/start", data={"name": name}).status_code == 200
    return client


def test_a_reminder_in_the_web_chat_answered_by_typing(db, make_server):
    server = make_server(create_app(core=Core(Settings(database_url=db.url, _env_file=None))))
    anna = browser(server, "Anna")
    with db.transaction() as s:
        person_id = s.exec(select(Identity)).one().person_id
    iv_id, (ind_id,) = published(
        db, person_id, [{"remind_day": 29, "baseline": 4, "target": 8, "name": "Vrijwilligers"}]
    )
    sender = OutboxSender(db, {"web": WebTransport(db)}, workers=1)
    Engine(db).run(DUE)
    assert sender.drain(DUE) == 1
    assert sender.drain(DUE) == 0
    page = anna.get("/").text
    assert "Tijd voor een meting" in page and "Vrijwilligers&#39; in januari 2027?" in page
    assert 'value="rem:later:' in page  # the buttons are live

    reminder_id = int(page.split('value="rem:later:')[1].split('"')[0])
    for crafted in ("inf", "nan", "-inf", "1e300"):  # a confirm button carries a value typed before
        anna.post("/say", data={"action": f"rem:confirm:{reminder_id}:{crafted}"})
    with db.transaction() as s:
        assert s.exec(select(Measurement)).all() == []

    page = anna.post("/say", data={"text": "6"}).text
    assert "Genoteerd: 6 voor Vrijwilligers over januari 2027" in page
    with db.transaction() as s:
        assert [m.value for m in s.exec(select(Measurement))] == [6.0]

    page = anna.post("/say", data={"text": "voortgang"}).text
    assert f'src="/voortgang/{iv_id}.png"' in page
    chart = anna.get(f"/voortgang/{iv_id}.png")
    assert chart.status_code == 200 and chart.headers["content-type"] == "image/png"
    bram = browser(server, "Bram")  # a colleague: the description is visible to the organisation
    assert bram.get(f"/voortgang/{iv_id}.png").status_code == 200
    assert bram.get(f"/voortgang/{iv_id + 1}.png").status_code == 404
    assert httpx.get(f"{server.url}/voortgang/{iv_id}.png").status_code == 404  # no cookie, no chart
    sender.close()

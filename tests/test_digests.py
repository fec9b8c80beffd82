"""Digests in Slack channels: subscribing, what a digest holds and whom it spares, threads,
exactly once across replicas, and channels that are gone."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.people import ensure_person
from bot.schedule import next_digest
from bot.subscriptions import parse
from handlers.slack.delivery import SlackTransport
from handlers.slack.installations import OneWorkspace
from models import Effect, Indicator, Intervention, Measurement, Organisation, OutboxMessage, Person, Subscription
from reminders.digests import Digests
from reminders.engine import Engine
from reminders.outbox import OutboxSender
from reminders.runner import unreachable_handler
from tests.fakes.slack_api import TOKEN
from tests.slack_driver import texts

AMS = "Europe/Amsterdam"


def person(db, user: str, team: str = "T1", name: str | None = None) -> int:
    return ensure_person(db, "slack", team, user, name or f"Persoon {user}")


def organisation_of(db, person_id: int, name: str, partner: bool = False) -> int:
    with db.transaction() as s:
        org = s.get(Organisation, s.get(Person, person_id).organisation_id)
        org.name, org.is_partner = name, partner
        return org.id


def describe(db, author_id: int, title: str, when: datetime, visibility="public", status="published", **fields) -> int:
    """A description published (or changed) at `when`, with an effect and a measured indicator."""
    with db.transaction() as s:
        author = s.get(Person, author_id)
        iv = Intervention(
            organisation_id=author.organisation_id,
            author_id=author_id,
            status=status,
            title=title,
            visibility=visibility,
            neighbourhood=fields.pop("neighbourhood", "Kruiskamp"),
            municipality=fields.pop("municipality", "Amersfoort"),
            themes=fields.pop("themes", ["sociale-cohesie"]),
            published_at=when if status == "published" else None,
            updated_at=when,
            created_at=when,
            **fields,
        )
        s.add(iv)
        s.flush()
        s.add(
            Effect(intervention_id=iv.id, name="Meer ontmoeting", success_criterion="Twee keer per maand een tuindag.")
        )
        ind = Indicator(intervention_id=iv.id, name="Deelnemers", kind="output", unit="aantal", baseline=5, target=20)
        s.add(ind)
        s.flush()
        s.add(
            Measurement(
                indicator_id=ind.id,
                period_start=when.date().replace(day=1),
                period_end=when.date(),
                value=11,
                entered_by=author_id,
            )
        )
        return iv.id


def subscription(db, channel: str) -> Subscription:
    with db.transaction() as s:
        return s.exec(select(Subscription).where(Subscription.channel == channel)).one()


def a_day_back(db, channel: str) -> Subscription:
    """The subscription as if made a day before its first digest: what the test publishes after
    `since` then falls before the digest is due, whatever the time of day the test runs (made a
    few minutes before 09:00, the first daily digest is due within minutes)."""
    with db.transaction() as s:
        sub = s.exec(select(Subscription).where(Subscription.channel == channel)).one()
        sub.since = sub.next_due_at - timedelta(days=1)
        return sub


def sender_for(db, fake_slack) -> OutboxSender:
    return OutboxSender(
        db,
        {"slack": SlackTransport(OneWorkspace(TOKEN), fake_slack.url)},
        workers=4,
        on_unreachable=unreachable_handler(Engine(db)),
    )


def subscribed(db, slack, fake_slack, channel: str):
    """Anna (U1) subscribes `channel` and its confirmation is delivered: her person id, the
    subscription, when it started and is due, and the sender."""
    slack.user("U1").command("kanaal abonneer", channel=channel)
    sub = subscription(db, channel)
    since, due = sub.since.replace(tzinfo=UTC), sub.next_due_at.replace(tzinfo=UTC)
    sender = sender_for(db, fake_slack)
    deliver(sender, since)
    return person(db, "U1"), sub, since, due, sender


def deliver(sender: OutboxSender, now: datetime, seconds: int = 120) -> None:
    """Let the sender work for `seconds` of injected time (one message per channel per second)."""
    for step in range(0, seconds, 2):
        sender.drain(now + timedelta(seconds=step))


def first_ts(fake_slack) -> str:
    return fake_slack.history["C_LANG"][-1]["ts"]


def channel_posts(fake_slack, channel: str, after: int = 0) -> list[dict]:
    return [c.args for c in fake_slack.posts(after) if c.args.get("channel") == channel and c.result.get("ok")]


def test_a_channel_gets_one_weekly_digest_of_what_its_organisation_may_see(db, slack, fake_slack):
    anna = slack.user("U1")
    assert "wekelijks" in anna.command("kanaal abonneer", channel="C_WIJK").text
    anna_id = person(db, "U1")
    organisation_of(db, anna_id, "Woonstad")
    sub = subscription(db, "C_WIJK")
    assert (sub.frequency, sub.status, sub.organisation_id) == ("weekly", "active", sub.organisation_id)
    due = sub.next_due_at.replace(tzinfo=UTC) if sub.next_due_at.tzinfo is None else sub.next_due_at
    local = due.astimezone(next_digest.__globals__["timezone"](AMS))
    assert (local.weekday(), local.hour, local.minute) == (0, 9, 0)  # Monday 09:00 in Amsterdam

    since = sub.since.replace(tzinfo=UTC) if sub.since.tzinfo is None else sub.since
    other = person(db, "U9", team="T2")
    organisation_of(db, other, "Gemeente Zwolle")
    describe(db, anna_id, "Buurtmoestuin Kruiskamp", since + timedelta(hours=1), visibility="organisation")
    describe(db, other, "Klushuizen Zwolle", since + timedelta(hours=2), visibility="public", themes=["wonen"])
    describe(db, other, "Geheim plan Zwolle", since + timedelta(hours=3), visibility="organisation")
    describe(db, other, "Partnerplan Zwolle", since + timedelta(hours=4), visibility="partners")
    describe(db, anna_id, "Concept Kruiskamp", since + timedelta(hours=5), status="draft")
    describe(db, other, "Te laat", due + timedelta(minutes=1), visibility="public")

    sender = sender_for(db, fake_slack)
    deliver(sender, since)  # the confirmation in the channel
    assert "aangemeld voor het overzicht 'Nieuw in de kennisbank'" in texts(channel_posts(fake_slack, "C_WIJK")[-1])
    before = fake_slack.last_seq
    handled, messages = Digests(db).run(due + timedelta(seconds=30))
    assert (handled, messages) == (1, 1)
    deliver(sender, due + timedelta(seconds=30))
    (digest,) = channel_posts(fake_slack, "C_WIJK", before)
    shown = texts(digest)
    assert "Buurtmoestuin Kruiskamp" in shown and "Klushuizen Zwolle" in shown
    for hidden in ("Geheim plan", "Partnerplan", "Concept Kruiskamp", "Te laat"):
        assert hidden not in shown
    assert "Gemeente Zwolle · Kruiskamp, Amersfoort" in shown
    assert "Doel: Meer ontmoeting (Twee keer per maand een tuindag.)" in shown
    assert "Deelnemers: 5 → 11" in shown and "streefwaarde 20" in shown
    # Grouped by theme: each theme's name comes before its descriptions.
    assert shown.index("Sociale cohesie") < shown.index("Buurtmoestuin") < shown.index("Wonen en vastgoed")
    assert shown.index("Wonen en vastgoed") < shown.index("Klushuizen Zwolle")
    buttons = [b["accessory"] for b in digest["blocks"] if b.get("accessory")]
    assert [b["text"]["text"] for b in buttons] == ["Lees", "Lees"] and all(
        b["value"].startswith("read:") for b in buttons
    )

    # The same moment again, or a new replica: no second digest. Next week: only what changed since.
    assert Digests(db).run(due + timedelta(seconds=40)) == (0, 0)
    assert Digests(db).run(due + timedelta(days=7, seconds=30)) == (1, 1)
    deliver(sender, due + timedelta(days=7, seconds=30))
    (second,) = channel_posts(fake_slack, "C_WIJK", before)[1:]
    assert "Te laat" in texts(second) and "Klushuizen" not in texts(second)
    # A week with nothing new: no empty digest.
    assert Digests(db).run(due + timedelta(days=14, seconds=30)) == (1, 0)
    deliver(sender, due + timedelta(days=14, seconds=30))
    assert len(channel_posts(fake_slack, "C_WIJK", before)) == 2


def test_a_partner_channel_sees_partner_descriptions_and_filters_by_theme_and_neighbourhood(db, slack, fake_slack):
    bram = slack.user("U2", team="T3")
    bram_id = person(db, "U2", team="T3")
    organisation_of(db, bram_id, "Welzijn Noord", partner=True)
    reply = bram.command("kanaal abonneer dagelijks thema:wonen wijk:kruiskamp", channel="C_WONEN").text
    assert "dagelijks" in reply and "thema Wonen en vastgoed" in reply and "wijk kruiskamp" in reply
    sub = a_day_back(db, "C_WONEN")
    since, due = sub.since.replace(tzinfo=UTC), sub.next_due_at.replace(tzinfo=UTC)
    other = person(db, "U9", team="T2")
    describe(db, other, "Verkoop Kruiskamp", since + timedelta(minutes=5), visibility="partners", themes=["wonen"])
    describe(db, other, "Verkoop Vathorst", since + timedelta(minutes=6), visibility="partners", themes=["wonen"],
             neighbourhood="Vathorst")  # fmt: skip
    describe(db, other, "Tuin Kruiskamp", since + timedelta(minutes=7), visibility="public")
    before = fake_slack.last_seq
    assert Digests(db).run(due) == (1, 1)
    deliver(sender_for(db, fake_slack), due)
    shown = "\n".join(texts(m) for m in channel_posts(fake_slack, "C_WONEN", before))
    assert "Verkoop Kruiskamp" in shown and "Verkoop Vathorst" not in shown and "Tuin Kruiskamp" not in shown
    assert "Dit kanaal volgt: dagelijks" in shown


def test_a_long_digest_continues_in_its_thread_within_slacks_block_limit(db, slack, fake_slack):
    slack.user("U1").command("kanaal abonneer", channel="C_LANG")
    anna_id = person(db, "U1")
    sub = subscription(db, "C_LANG")
    since, due = sub.since.replace(tzinfo=UTC), sub.next_due_at.replace(tzinfo=UTC)
    themes = ["wonen", "veiligheid", "sociale-cohesie", "armoede", "jeugd", "zorg", "participatie"]
    for n in range(45):
        describe(db, anna_id, f"Project {n:02d}", since + timedelta(minutes=n + 1), themes=[themes[n % len(themes)]])
    sender = sender_for(db, fake_slack)
    deliver(sender, since)
    before = fake_slack.last_seq
    assert Digests(db).run(due) == (1, 3)
    deliver(sender, due)
    first, *rest = channel_posts(fake_slack, "C_LANG", before)
    assert "thread_ts" not in first and len(rest) == 2
    assert {m["thread_ts"] for m in rest} == {fake_slack.history["C_LANG"][-1]["ts"]}
    shown = "\n".join(texts(m) for m in [first, *rest])
    assert [n for n in range(45) if f"Project {n:02d}" not in shown] == []
    assert "Vervolg (2/3)" in texts(rest[0]) and "Vervolg (3/3)" in texts(rest[1])
    assert all(len(m["blocks"]) <= 50 for m in [first, *rest])
    assert not fake_slack.violations

    # A sender that died after Slack took the last page: the next one finds it in the thread.
    with db.transaction() as s:
        last = s.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key.like("digest:%:3"))).one()
        ts = last.external_ref
        last.status, last.lease_until, last.external_ref = "sending", due, None
    before = fake_slack.last_seq
    deliver(sender, due + timedelta(minutes=5))
    assert channel_posts(fake_slack, "C_LANG", before) == []
    assert [c.args["ts"] for c in fake_slack.of("conversations.replies", after=before)] == [first_ts(fake_slack)]
    with db.transaction() as s:
        assert (s.get(OutboxMessage, last.id).status, s.get(OutboxMessage, last.id).external_ref) == ("sent", ts)


def test_two_replicas_write_each_digest_once(db, slack, fake_slack):
    anna_id = person(db, "U1")
    for n in range(30):
        slack.user("U1").command("kanaal abonneer", channel=f"C_{n:02d}")
    sub = subscription(db, "C_00")
    since, due = sub.since.replace(tzinfo=UTC), sub.next_due_at.replace(tzinfo=UTC)
    for n in range(25):
        describe(db, anna_id, f"Project {n}", since + timedelta(minutes=n))
    with db.transaction() as s:
        s.exec(select(OutboxMessage)).all()
    results = []
    replicas = [Digests(db, batch=4) for _ in range(2)]
    threads = [threading.Thread(target=lambda d=d: results.append(d.run(due + timedelta(seconds=5)))) for d in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(handled for handled, _ in results) == 30
    with db.transaction() as s:
        digests = s.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key.like("digest:%"))).all()
    per_channel = {}
    for row in digests:
        per_channel.setdefault(row.channel, []).append(row)
    assert len(per_channel) == 30 and all(len(rows) == 2 for rows in per_channel.values())  # 25 items: 2 pages


def test_a_channel_that_is_gone_pauses_its_subscription_and_the_subscriber_is_told(db, slack, fake_slack):
    anna = slack.user("U1")
    anna.command("kanaal abonneer", channel="C_OUD")
    anna.command("kanaal abonneer", channel="C_GOED")
    anna_id = person(db, "U1")
    sub = subscription(db, "C_OUD")
    since, due = sub.since.replace(tzinfo=UTC), sub.next_due_at.replace(tzinfo=UTC)
    sender = sender_for(db, fake_slack)
    deliver(sender, since)
    describe(db, anna_id, "Buurtmoestuin", since + timedelta(minutes=1))
    fake_slack.closed["C_OUD"] = "is_archived"
    before = fake_slack.last_seq
    assert Digests(db).run(due) == (2, 2)
    deliver(sender, due)
    assert len(channel_posts(fake_slack, "C_GOED", before)) == 1  # the other channel carries on
    assert channel_posts(fake_slack, "C_OUD", before) == []
    paused = subscription(db, "C_OUD")
    assert (paused.status, paused.next_due_at, paused.paused_reason) == ("paused", None, "slack: is_archived")
    notice = texts(fake_slack.wait_for("chat.postMessage", after=before, channel="U1")[-1].args)
    assert "Overzicht gepauzeerd" in notice and "#c_oud" in notice
    assert "gepauzeerd (slack: is_archived)" in anna.command("kanaal lijst", channel="C_GOED").text

    # Back in the channel: subscribing again resumes it.
    del fake_slack.closed["C_OUD"]
    assert "krijgt nu het overzicht" in anna.command("kanaal abonneer", channel="C_OUD").text
    assert subscription(db, "C_OUD").status == "active"


def test_no_digest_goes_to_a_channel_shared_with_another_workspace(db, slack, fake_slack):
    """Slack Connect: people of other organisations read the channel, and a digest holds the
    organisation's private descriptions. Refused when subscribing, and checked again before every
    post, since a channel can be shared later."""
    anna = slack.user("U1")
    fake_slack.shared.add("C_CONNECT")
    assert "andere organisaties" in anna.command("kanaal abonneer", channel="C_CONNECT").text
    assert "geen overzicht" in anna.command("kanaal opzeggen", channel="C_CONNECT").text
    with db.transaction() as s:
        assert s.exec(select(Subscription)).all() == []

    anna_id, sub, since, due, sender = subscribed(db, slack, fake_slack, "C_WIJK")
    describe(db, anna_id, "Intern plan", since + timedelta(minutes=1), visibility="organisation")
    fake_slack.shared.add("C_WIJK")  # the channel is shared with a partner's workspace
    before = fake_slack.last_seq
    assert Digests(db).run(due) == (1, 1)
    deliver(sender, due)
    assert channel_posts(fake_slack, "C_WIJK", before) == []
    assert fake_slack.of("conversations.info", after=before, channel="C_WIJK")
    paused = subscription(db, "C_WIJK")
    assert (paused.status, paused.paused_reason) == ("paused", "slack: channel_shared")
    notice = texts(fake_slack.wait_for("chat.postMessage", after=before, channel="U1")[-1].args)
    assert "Overzicht gepauzeerd" in notice and "andere organisaties" in notice and "/wwidw kanaal abonneer" in notice
    with db.transaction() as s:
        (digest,) = s.exec(select(OutboxMessage).where(OutboxMessage.subscription_id == sub.id).offset(1)).all()
        assert (digest.status, digest.error) == ("failed", "channel_shared")


def test_a_revoked_token_holds_the_digest_and_keeps_the_subscription_and_a_missing_scope_pauses_it(
    db, slack, fake_slack
):
    anna_id, sub, since, due, sender = subscribed(db, slack, fake_slack, "C_WIJK")
    describe(db, anna_id, "Buurtmoestuin", since + timedelta(minutes=1))
    fake_slack.fail("conversations.info", 200, body={"ok": False, "error": "token_revoked"})
    Digests(db).run(due)
    deliver(sender, due)
    assert subscription(db, "C_WIJK").status == "active"  # a fault of the whole workspace, not of this channel
    with db.transaction() as s:
        digest = s.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key.startswith("digest:"))).one()
        assert (digest.status, digest.error) == ("pending", "token_revoked")  # waits for a new token
    deliver(sender, due + timedelta(minutes=11))
    assert "Buurtmoestuin" in texts(channel_posts(fake_slack, "C_WIJK")[-1])

    describe(db, anna_id, "Klushuizen", due + timedelta(days=1))
    fake_slack.fail("conversations.info", 200, body={"ok": False, "error": "missing_scope"})
    Digests(db).run(due + timedelta(days=7))
    deliver(sender, due + timedelta(days=7))
    paused = subscription(db, "C_WIJK")
    assert (paused.status, paused.paused_reason) == ("paused", "slack: missing_scope")


def test_a_digest_whose_sender_died_is_sent_where_the_bot_cannot_read_back(db, slack, fake_slack):
    """A public channel the bot posts in without having joined has no history to search after a
    crash: the digest is sent (once more at worst), never given up."""
    anna_id, sub, since, due, sender = subscribed(db, slack, fake_slack, "C_OPEN")
    fake_slack.unjoined.add("C_OPEN")
    describe(db, anna_id, "Buurtmoestuin", since + timedelta(minutes=1))
    Digests(db).run(due)
    sender.claim(due)  # … and the replica that claimed it is gone
    before = fake_slack.last_seq
    deliver(sender, due + timedelta(minutes=3))
    (digest,) = channel_posts(fake_slack, "C_OPEN", before)
    assert "Buurtmoestuin" in texts(digest)
    with db.transaction() as s:
        digest_row = select(OutboxMessage.status).where(OutboxMessage.dedupe_key.startswith("digest:"))
        assert s.exec(digest_row).one() == "sent"


def test_a_change_stamped_just_before_the_digest_waits_for_the_next_one(db, slack, fake_slack):
    """A change is stamped before its transaction commits; the digest leaves the last minute for
    the next one rather than risk never showing a change that committed just after it looked."""
    anna_id, sub, since, due, sender = subscribed(db, slack, fake_slack, "C_WIJK")
    describe(db, anna_id, "Vroeg plan", since + timedelta(minutes=1))
    describe(db, anna_id, "Laat plan", due - timedelta(seconds=20))
    before = fake_slack.last_seq
    Digests(db).run(due)
    deliver(sender, due)
    Digests(db).run(due + timedelta(days=7))
    deliver(sender, due + timedelta(days=7))
    first, second = (texts(post) for post in channel_posts(fake_slack, "C_WIJK", before))
    assert "Vroeg plan" in first and "Laat plan" not in first
    assert "Laat plan" in second and "Vroeg plan" not in second


def test_people_subscribing_one_channel_at_once_get_one_subscription(db, slack, fake_slack):
    people = [slack.user(f"U{n}") for n in range(6)]
    for user in people:
        user.command("organisatie")  # known before the race
    start = threading.Barrier(len(people))
    answers: list[str] = []

    def subscribe(user):
        start.wait()
        answers.append(user.command("kanaal abonneer", channel="C_DRUK").text)

    threads = [threading.Thread(target=subscribe, args=(user,)) for user in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == len(people) and all("krijgt nu het overzicht" in answer for answer in answers)
    assert subscription(db, "C_DRUK").status == "active"


def test_channel_commands_answer_every_kind_of_input(db, slack, fake_slack):
    anna = slack.user("U1")

    def say(text: str, channel: str = "C_WIJK", user=anna) -> str:
        response = user.command(text, channel=channel)
        assert response.status_code == 200
        return response.text

    assert "/wwidw kanaal abonneer" in say("kanaal")
    assert "niet in ons privégesprek" in say("kanaal abonneer", channel="DU1")
    assert "begrijp ik niet" in say("kanaal abonneer maandelijks")
    assert "thema ken ik niet" in say("kanaal abonneer thema:xy")
    assert "geen overzicht" in say("kanaal opzeggen")
    assert "nog geen kanalen" in say("kanaal lijst")
    assert "krijgt nu het overzicht" in say("kanaal abonneer wekelijks thema:" + "x" * 5000)
    assert "krijgt nu het overzicht" in say("kanaal abonneer")
    assert "#c_wijk: wekelijks" in say("kanaal lijst")
    # Someone of another workspace cannot end this workspace's subscription.
    stranger = slack.user("U7", team="T2")
    assert "geen overzicht" in say("kanaal opzeggen", user=stranger)
    assert "stopgezet" in say("kanaal opzeggen")
    assert subscription(db, "C_WIJK").status == "ended" and subscription(db, "C_WIJK").next_due_at is None


def test_only_a_workspace_admin_names_the_organisation(db, slack, fake_slack):
    anna, bram = slack.user("U1"), slack.user("U2")
    fake_slack.admins.add("U2")
    # Until an administrator names it, the organisation goes by the workspace's own name.
    assert "organisatie: Test Woonstad (" in anna.command("organisatie").text
    assert "Alleen een beheerder" in anna.command("organisatie Woonstad Rotterdam").text
    assert "hoort nu bij organisatie Woonstad Rotterdam" in bram.command("organisatie  Woonstad   Rotterdam").text
    assert "Woonstad Rotterdam (geen partner" in anna.command("organisatie").text
    assert "Woonstad Rotterdam (" in slack.user("U3").command("organisatie").text  # the name given stays
    other = slack.user("U5", team="T2")
    fake_slack.admins.add("U5")
    assert "organisatie: Slack T2 (" in other.command("organisatie").text  # a workspace Slack did not name to us
    assert "al een organisatie" in other.command("organisatie woonstad rotterdam").text
    assert "2 tot 200 tekens" in other.command("organisatie " + "x" * 300).text


def test_two_renames_to_one_free_name_at_once_give_it_to_one(db):
    from bot.organisations import rename

    first, second = ensure_person(db, "slack", "TA", "UA", "Ann"), ensure_person(db, "slack", "TB", "UB", "Bob")
    renamed, answers = threading.Event(), {}

    def take(person_id: int, name: str, hold: bool) -> None:
        with db.transaction() as s:
            answers[person_id] = rename(s, s.get(Organisation, s.get(Person, person_id).organisation_id), name)
            renamed.set()
            if hold:
                time.sleep(0.5)  # still uncommitted while the other rename reads

    holder = threading.Thread(target=take, args=(first, "Woonstad Rotterdam", True))
    holder.start()
    renamed.wait(5)
    take(second, "woonstad  rotterdam", False)
    holder.join()
    assert answers == {first: None, second: "organisation.taken"}
    with db.transaction() as s:
        names = s.exec(select(Organisation.name).where(Organisation.slack_team_id.in_(["TA", "TB"]))).all()
    assert sorted(names) == ["Slack TB", "Woonstad Rotterdam"]


def test_digest_moments_follow_the_local_clock():
    def local(moment):
        return moment.astimezone(next_digest.__globals__["timezone"](AMS)).strftime("%a %d %b %H:%M")

    sunday = datetime(2027, 3, 28, 12, 0, tzinfo=UTC)  # the day summer time starts; Monday is Easter Monday
    assert local(next_digest("weekly", AMS, sunday)) == "Tue 30 Mar 09:00"  # a holiday moves it on a day
    assert next_digest("weekly", AMS, sunday) == datetime(2027, 3, 30, 7, 0, tzinfo=UTC)
    april = datetime(2027, 4, 4, 12, 0, tzinfo=UTC)
    assert local(next_digest("weekly", AMS, april)) == "Mon 05 Apr 09:00"  # and back on Monday the week after
    christmas_eve = datetime(2026, 12, 24, 9, 0, tzinfo=UTC)
    assert local(next_digest("daily", AMS, christmas_eve)) == "Mon 28 Dec 09:00"  # not on the two Christmas days
    friday = datetime(2027, 1, 8, 9, 0, tzinfo=UTC)  # 10:00 in Amsterdam
    assert local(next_digest("daily", AMS, friday)) == "Mon 11 Jan 09:00"
    assert local(next_digest("daily", AMS, friday - timedelta(hours=2))) == "Fri 08 Jan 09:00"
    assert next_digest("weekly", "America/New_York", sunday) == datetime(2027, 3, 30, 13, 0, tzinfo=UTC)
    assert parse("abonneer weekly theme:housing").theme == "wonen"
    assert parse("subscribe daily neighbourhood: Kruiskamp Noord").neighbourhood == "Kruiskamp Noord"

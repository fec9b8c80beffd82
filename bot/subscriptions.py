"""Channels subscribed to a digest: the `kanaal` commands and when each digest is due.

A channel has at most one subscription per workspace. A channel that people of other
organisations read (Slack Connect, a Teams shared channel) gets no digest: a digest holds the
organisation's private descriptions. Subscribing again changes its rhythm or filters and
resumes a paused one; cancelling ends it. The adapter says who typed the command and in which
channel; everything else is decided here.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from bot import definition, formatting
from bot.i18n import t
from bot.messages import channel_message
from bot.names import naming
from bot.replies import Reply
from bot.schedule import next_digest, timezone
from models import Organisation, Person, Subscription
from models.tables import utcnow

FREQUENCIES = {
    "wekelijks": "weekly", "weekly": "weekly", "week": "weekly",
    "dagelijks": "daily", "daily": "daily", "dag": "daily",
}  # fmt: skip
ACTIONS = {
    "abonneer": "subscribe", "aanmelden": "subscribe", "subscribe": "subscribe",
    "opzeggen": "cancel", "opzegging": "cancel", "stop": "cancel", "afmelden": "cancel", "unsubscribe": "cancel",
    "lijst": "list", "list": "list", "overzicht": "list",
}  # fmt: skip
FILTER = re.compile(r"(thema|theme|wijk|buurt|neighbourhood|neighborhood)\s*:\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Where:
    """The channel a command was typed in."""

    platform: str
    workspace: str
    channel: str
    name: str | None = None
    shared: bool = False  # people of other organisations read this channel too
    seen_by_all: bool = False  # the answer is posted in the channel, not shown to the typist alone


@dataclass
class Request:
    action: str | None
    frequency: str = "weekly"
    theme: str | None = None
    neighbourhood: str | None = None
    problem: str | None = None  # a message key when the words could not be read


def parse(text: str) -> Request:
    """`abonneer [dagelijks|wekelijks] [thema:…] [wijk:…]`, `opzeggen`, `lijst` (Dutch or English)."""
    text = (text or "").strip()[:300]
    head, _, rest = text.partition(" ")
    request = Request(ACTIONS.get(head.casefold()))
    if request.action != "subscribe":
        return request
    parts = FILTER.split(rest)
    for word in parts[0].split():
        if word.casefold() not in FREQUENCIES:
            request.problem = "channel.bad_words"
            return request
        request.frequency = FREQUENCIES[word.casefold()]
    for name, value in zip(parts[1::2], parts[2::2], strict=True):
        value = value.strip()
        if not value:
            request.problem = "channel.bad_words"
        elif name.casefold() in ("thema", "theme"):
            request.theme = theme_key(value)
            if request.theme is None:
                request.problem = "channel.bad_theme"
        else:
            request.neighbourhood = value[:200]
    return request


def fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c)).strip()


def theme_options():
    return definition.find_field("themes")[1].options


def theme_key(text: str) -> str | None:
    """A theme option matched by key, label or the start of its label; a theme of its own is kept as typed
    (descriptions may have their own themes too)."""
    wanted = fold(text)
    for option in theme_options():
        if wanted in (fold(option.key), fold(option.nl), fold(option.en)):
            return option.key
    starts = [o for o in theme_options() if fold(o.nl).startswith(wanted) or fold(o.en).startswith(wanted)]
    if len(starts) == 1:
        return starts[0].key
    return text.strip()[:60] if len(wanted) >= 3 and not starts else None


def theme_label(key: str | None, locale: str) -> str:
    return formatting.option_label(theme_options(), key, locale) if key else t(locale, "digest.other_theme")


def when_text(moment: datetime, zone_name: str, locale: str) -> str:
    return formatting.moment(moment.astimezone(timezone(zone_name)), locale)


def describe(sub: Subscription, locale: str) -> str:
    """ "wekelijks (maandag 09:00) · thema Wonen en vastgoed · wijk Kruiskamp" """
    parts = [t(locale, f"channel.{sub.frequency}")]
    if sub.theme:
        parts.append(t(locale, "channel.theme", theme=theme_label(sub.theme, locale)))
    if sub.neighbourhood:
        parts.append(t(locale, "channel.neighbourhood", name=sub.neighbourhood))
    return " · ".join(parts)


def channel_command(
    session: Session, person: Person, where: Where, text: str, default_locale: str, default_tz: str
) -> str:
    """Run a `kanaal …` command typed by `person` in `where`; returns the answer to show them."""
    locale = person.locale or default_locale
    request = parse(text)
    if request.action is None or request.problem:
        return t(locale, request.problem or "channel.help", command=command_of(where.platform, locale))
    existing = session.exec(
        select(Subscription).where(
            Subscription.platform == where.platform,
            Subscription.workspace == where.workspace,
            Subscription.channel == where.channel,
        )
    ).first()
    if request.action == "list":
        return listing(session, person, where, locale)
    if request.action == "cancel":
        if existing is None or existing.status == "ended":
            return t(locale, "channel.none")
        existing.status, existing.next_due_at = "ended", None
        return t(locale, "channel.cancelled")
    if where.shared:
        return t(locale, "channel.shared")
    return subscribe(session, person, where, request, existing, locale, default_tz)


def subscribe(
    session: Session,
    person: Person,
    where: Where,
    request: Request,
    sub: Subscription | None,
    locale: str,
    default_tz: str,
) -> str:
    now = utcnow()
    if sub is None:
        sub = Subscription(platform=where.platform, workspace=where.workspace, channel=where.channel)
        session.add(sub)
    if sub.status != "active":
        sub.since = now  # a new or resumed subscription starts from today, not from a backlog
    sub.organisation_id = person.organisation_id
    sub.subscriber_id = person.id
    sub.channel_name = (where.name or sub.channel_name or "")[:120] or None
    sub.frequency = request.frequency
    sub.theme, sub.neighbourhood = request.theme, request.neighbourhood
    sub.locale = locale
    sub.timezone = person.timezone or default_tz
    sub.status, sub.paused_reason = "active", None
    sub.next_due_at = next_digest(sub.frequency, sub.timezone, now)
    session.flush()
    confirm_in_channel(session, sub, person, locale, now)
    answer = t(
        locale,
        "channel.subscribed",
        what=describe(sub, locale),
        organisation=organisation_name(session, sub.organisation_id),
        when=when_text(sub.next_due_at, sub.timezone, locale),
    )
    # In Teams the bot is in every channel of a team it was added to; in Slack it may need an invite.
    return answer + " " + t(locale, "channel.invite_hint") if where.platform == "slack" else answer


def confirm_in_channel(session: Session, sub: Subscription, person: Person, locale: str, now: datetime) -> None:
    """Tell the channel, through the outbox like a digest: a channel the bot cannot post in
    pauses the subscription at once, and the subscriber hears why."""
    text = t(locale, "channel.announce", name=naming(person.id, person.display_name), what=describe(sub, locale))
    key = f"subscribed:{sub.id}:{person.id}:{int(now.timestamp() * 1000)}"  # two people may subscribe at once
    session.add(channel_message(sub, key, [Reply(text=text)], now))


def command_of(platform: str, locale: str) -> str:
    """How the channel commands are typed on this platform: a slash command, or a mention."""
    return t(locale, "channel.command_teams" if platform == "teams" else "channel.command_slack")


def listing(session: Session, person: Person, where: Where, locale: str) -> str:
    """The organisation's subscriptions in this workspace, so colleagues see what goes where. An
    answer everyone in the channel reads tells only about this channel: the others may be private."""
    query = select(Subscription).where(
        Subscription.organisation_id == person.organisation_id,
        Subscription.platform == where.platform,
        Subscription.workspace == where.workspace,
        Subscription.status != "ended",
    )
    if where.seen_by_all:
        query = query.where(Subscription.channel == where.channel)
    subs = session.exec(query.order_by(Subscription.id)).all()
    if not subs:
        return t(locale, "channel.none" if where.seen_by_all else "channel.list_empty")
    lines = []
    for sub in subs:
        place = f"#{sub.channel_name}" if sub.channel_name else sub.channel
        line = f"• {place}: {describe(sub, locale)}"
        if sub.status == "paused":
            line += " · " + t(locale, "channel.paused_note", reason=sub.paused_reason or "?")
        elif sub.next_due_at:
            line += " · " + t(locale, "channel.next", when=when_text(sub.next_due_at, sub.timezone, locale))
        lines.append(line)
    return t(locale, "channel.list", lines="\n".join(lines))


def organisation_name(session: Session, organisation_id: int) -> str:
    org = session.get(Organisation, organisation_id)
    return org.name if org else "?"

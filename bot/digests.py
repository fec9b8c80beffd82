"""What goes into a channel's digest, and how it reads.

`Candidates` reads the published descriptions changed in a window once, with what their lines
need (organisation, aim, progress headline), so one pass can build hundreds of digests. Each
digest is split into pages of at most `PAGE_ITEMS` descriptions; a page is one message (on
Slack the first is posted in the channel and the rest in its thread). Texts come from the
Jinja2 templates in bot/templates.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_
from sqlmodel import Session, select

from bot import store
from bot.documents import templates
from bot.i18n import t
from bot.measuring import progress_text
from bot.monitor import Context
from bot.replies import Choice, Reply, reply_to_dict
from bot.schedule import as_utc
from bot.subscriptions import describe, fold, theme_label, when_text
from models import Analysis, Effect, Indicator, Intervention, Measurement, Organisation, Subscription

PAGE_ITEMS = 20  # one Slack message: an intro, a theme header per item at worst, one block per item
AIM_LENGTH = 160


@dataclass
class Item:
    iv: Intervention
    organisation: str
    aim: str | None
    headline: Context | None  # the indicator whose progress heads the line
    latest: Measurement | None
    analysed_at: datetime | None = None  # when its newest expert analysis in the window was published

    def changed_in(self, since: datetime, until: datetime) -> datetime | None:
        """When it last changed for a reader within (since, until]: its text, or a new analysis of
        it (a text changed again after `until` still has its analysis in this window)."""
        moments = [as_utc(m) for m in (self.iv.updated_at, self.analysed_at) if m is not None]
        return max((m for m in moments if since < m <= until), default=None)


class Candidates:
    """Published descriptions changed after `since` up to `until`, with what their lines need."""

    def __init__(self, s: Session, since: datetime, until: datetime):
        self.s = s
        self.since, self.until = since, until
        window = (Intervention.updated_at > since, Intervention.updated_at <= until)
        # A description with a new expert analysis is in the digest too ("nieuwe expertanalyse").
        analysed = dict(
            s.exec(
                select(Analysis.intervention_id, func.max(Analysis.published_at))
                .where(Analysis.published_at > since, Analysis.published_at <= until)
                .group_by(Analysis.intervention_id)
            ).all()
        )
        changed = or_(and_(*window), Intervention.id.in_(list(analysed))) if analysed else and_(*window)
        ivs = list(s.exec(select(Intervention).where(Intervention.status == "published", changed)))
        ids = [iv.id for iv in ivs]
        names = dict(s.exec(select(Organisation.id, Organisation.name)).all()) if ivs else {}
        aims: dict[int, str] = {}
        for effect in s.exec(
            select(Effect).where(Effect.intervention_id.in_(ids)).order_by(Effect.intervention_id, Effect.position)
        ):
            if effect.name and effect.intervention_id not in aims:
                aims[effect.intervention_id] = one_line(effect.name, effect.success_criterion)
        heads: dict[int, Indicator] = {}
        for ind in s.exec(
            select(Indicator)
            .where(Indicator.intervention_id.in_(ids), Indicator.name.is_not(None))
            .order_by(Indicator.intervention_id, Indicator.position)
        ):
            best = heads.get(ind.intervention_id)
            if best is None or (best.target is None and ind.target is not None):
                heads[ind.intervention_id] = ind
        latest: dict[int, Measurement] = {}
        for m in s.exec(
            select(Measurement)
            .where(
                Measurement.indicator_id.in_([i.id for i in heads.values()]),
                Measurement.replaced_at.is_(None),
                Measurement.value.is_not(None),
            )
            .order_by(Measurement.period_start)
        ):
            latest[m.indicator_id] = m
        self.items = {
            iv.id: Item(
                iv=iv,
                organisation=names.get(iv.organisation_id, "?"),
                aim=aims.get(iv.id) or first_sentence(iv.approach or iv.situation),
                headline=Context(heads[iv.id], iv) if iv.id in heads else None,
                latest=latest.get(heads[iv.id].id) if iv.id in heads else None,
                analysed_at=analysed.get(iv.id),
            )
            for iv in ivs
        }
        self._visible: dict[int, set[int]] = {}
        self._rendered: dict[tuple[int, str, bool], dict] = {}

    def visible(self, organisation: Organisation) -> set[int]:
        """Ids of the candidates `organisation` may see (the rule in `store.visible_to`)."""
        if organisation.id not in self._visible:
            ids = list(self.items)
            query = select(Intervention.id).where(store.visible_to(organisation), Intervention.id.in_(ids))
            self._visible[organisation.id] = set(self.s.exec(query)) if ids else set()
        return self._visible[organisation.id]

    def chosen(self, sub: Subscription, organisation: Organisation, until: datetime) -> list[Item]:
        """What this subscription's next digest holds, newest first."""
        wanted_place = fold(sub.neighbourhood) if sub.neighbourhood else None
        since = as_utc(sub.since)
        found = []
        for iv_id in self.visible(organisation):
            item = self.items.get(iv_id)
            if item is None or item.changed_in(since, until) is None:
                continue
            if sub.theme and sub.theme not in (item.iv.themes or []):
                continue
            if wanted_place and not any(
                wanted_place in fold(p or "") for p in (item.iv.neighbourhood, item.iv.municipality)
            ):
                continue
            found.append(item)
        return sorted(found, key=lambda i: (i.changed_in(since, until), i.iv.id), reverse=True)

    def pages(self, items: list[Item], sub: Subscription, until: datetime) -> list[list[dict]]:
        """The digest as pages of reply dicts, grouped by theme (a description under its first theme,
        or under the theme the channel follows)."""
        locale, since = sub.locale, as_utc(sub.since)
        groups: dict[str | None, list[Item]] = defaultdict(list)
        for item in items:
            groups[sub.theme or next(iter(item.iv.themes or []), None)].append(item)
        order = sorted(groups, key=lambda key: (key is None, fold(theme_label(key, locale))))
        flat = [(key, item) for key in order for item in groups[key]]
        chunks = [flat[i : i + PAGE_ITEMS] for i in range(0, len(flat), PAGE_ITEMS)]
        counts = Counter(news(item, since, until) for item in items)
        pages = []
        for page, chunk in enumerate(chunks, start=1):
            intro = self.render(
                "digest_intro.txt.j2",
                locale,
                page=page,
                pages=len(chunks),
                since=when_text(since, sub.timezone, locale),
                new=counts["new"],
                updated=counts["updated"] + counts["updated_analysed"],
                analysed=counts["analysed"],
                filters=describe(sub, locale) if sub.theme or sub.neighbourhood else "",
            )
            replies = [reply_to_dict(Reply(kind="digest", title=t(locale, "digest.title"), text=intro))]
            theme = object()
            for key, item in chunk:
                if key != theme:
                    replies.append(reply_to_dict(Reply(kind="digest_theme", text=theme_label(key, locale))))
                    theme = key
                replies.append(self.item_reply(item, locale, news(item, since, until)))
            pages.append(replies)
        return pages

    def item_reply(self, item: Item, locale: str, new: str) -> dict:
        """One description's lines; the same for every channel that gets it, so rendered once.
        `new`: what is new of it ("new", "updated", "analysed" or "updated_analysed")."""
        key = (item.iv.id, locale, new)
        if key not in self._rendered:
            iv = item.iv
            place = ", ".join(p for p in (iv.neighbourhood, iv.municipality) if p)
            progress = progress_text(item.headline, item.latest, locale) if item.headline else None
            text = self.render(
                "digest_item.txt.j2",
                locale,
                organisation=item.organisation,
                place=place,
                aim=item.aim,
                progress=progress,
            )
            self._rendered[key] = reply_to_dict(
                Reply(
                    kind="digest_item",
                    title=iv.title or t(locale, "untitled"),
                    text=text,
                    note=t(locale, f"digest.{new}"),
                    actions=[Choice(t(locale, "digest.read"), f"read:{iv.id}")],
                    intervention_id=iv.id,
                )
            )
        return self._rendered[key]

    @staticmethod
    def render(name: str, locale: str, **values) -> str:
        return templates().get_template(name).render(t=lambda key, **kw: t(locale, key, **kw), **values).strip()


def is_new(item: Item, since: datetime) -> bool:
    return item.iv.published_at is not None and as_utc(item.iv.published_at) > since


def news(item: Item, since: datetime, until: datetime) -> str:
    """What a digest of (since, until] says is new of a description: itself, its text, an expert
    analysis of it."""
    if is_new(item, since):
        return "new"
    analysed = item.analysed_at is not None and since < as_utc(item.analysed_at) <= until
    updated = since < as_utc(item.iv.updated_at) <= until
    return "updated_analysed" if analysed and updated else "analysed" if analysed else "updated"


def one_line(name: str, criterion: str | None) -> str:
    text = f"{name} ({first_sentence(criterion)})" if criterion else name
    return cut(text)


def first_sentence(text: str | None) -> str | None:
    if not text:
        return None
    line = text.strip().splitlines()[0]
    end = line.find(". ")
    return cut(line[: end + 1] if 0 < end < AIM_LENGTH else line)


def cut(text: str) -> str:
    return text if len(text) <= AIM_LENGTH else text[: AIM_LENGTH - 1].rstrip() + "…"

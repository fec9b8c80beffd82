"""The SQL tables. Alembic migrations (models/migrations) are the only thing that creates them."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Organisation(SQLModel, table=True):
    # One organisation per name outside Slack and Teams, so two first web users cannot each create "Lokaal".
    __table_args__ = (
        Index(
            "uq_organisation_local_name",
            "name",
            unique=True,
            sqlite_where=text("slack_team_id IS NULL AND teams_tenant_id IS NULL"),
            postgresql_where=text("slack_team_id IS NULL AND teams_tenant_id IS NULL"),
        ),
        Index("uq_organisation_teams_tenant_id", "teams_tenant_id", unique=True),
    )
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    # Member of the Wat Werkt in de Wijk partner network: sees descriptions shared with "partners".
    # Off until an administrator says so: a new workspace sees only public descriptions.
    is_partner: bool = False
    slack_team_id: str | None = Field(default=None, max_length=40, unique=True)
    teams_tenant_id: str | None = Field(default=None, max_length=64)  # a Microsoft 365 tenant
    created_at: datetime = Field(default_factory=utcnow)


class Person(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    display_name: str = Field(max_length=120)
    locale: str | None = Field(default=None, max_length=5)  # None: the deployment's default
    timezone: str | None = Field(default=None, max_length=64)
    # When reminders may arrive, in the person's own time zone: "08:00-18:00" and ISO weekdays "12345".
    working_hours: str | None = Field(default=None, max_length=11)
    working_days: str | None = Field(default=None, max_length=7)
    # The platform refused a message to them (account deactivated, app blocked): their reminders
    # pause until they talk to the bot again.
    unreachable_since: datetime | None = None
    unreachable_reason: str | None = Field(default=None, max_length=200)
    # Out of office up to and including this day (their own calendar): no reminders, nudges or
    # escalations for them until it is over. A day gone by means nothing any more.
    away_until: date | None = None
    created_at: datetime = Field(default_factory=utcnow)


class PersonRole(SQLModel, table=True):
    """A role of a person in the network (bot/roles.py): given by whoever runs the deployment or by
    a curator, and shown beside their name in what they write."""

    __tablename__ = "person_role"
    __table_args__ = (UniqueConstraint("person_id", "role"),)
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    role: str = Field(max_length=20)  # expert | curator
    granted_by: int | None = Field(default=None, foreign_key="person.id")  # None: the operator
    granted_at: datetime = Field(default_factory=utcnow)


class Identity(SQLModel, table=True):
    """How a person is known on one platform: a Slack user in a workspace, a web chat browser."""

    __table_args__ = (UniqueConstraint("platform", "workspace", "external_id"),)
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    platform: str = Field(max_length=20)  # slack | web | teams
    workspace: str = Field(default="", max_length=64)  # Slack team id; "" for the web chat
    external_id: str = Field(max_length=128)  # Slack user id; sha256 of the web chat token
    created_at: datetime = Field(default_factory=utcnow)


class Intervention(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    author_id: int = Field(foreign_key="person.id", index=True)
    status: str = Field(default="draft", max_length=20, index=True)  # draft | published
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    published_at: datetime | None = None
    # 1 Basisgegevens
    title: str | None = Field(default=None, max_length=200)
    neighbourhood: str | None = Field(default=None, max_length=200)
    municipality: str | None = Field(default=None, max_length=200)
    partner_organisations: list | None = Field(default=None, sa_column=Column(JSON))
    start_date: date | None = None
    end_date: date | None = None
    project_status: str | None = Field(default=None, max_length=20)
    themes: list | None = Field(default=None, sa_column=Column(JSON))
    # 2 Aanleiding en probleem
    situation: str | None = Field(default=None, sa_column=Column(Text))
    evidence: str | None = Field(default=None, sa_column=Column(Text))
    baseline_alternative: str | None = Field(default=None, sa_column=Column(Text))
    # 3 Doelgroep
    final_target_group: str | None = Field(default=None, sa_column=Column(Text))
    intermediate_target_group: str | None = Field(default=None, sa_column=Column(Text))
    target_group_size: int | None = None
    # 5 Aanpak en activiteiten
    approach: str | None = Field(default=None, sa_column=Column(Text))
    executors: str | None = Field(default=None, sa_column=Column(Text))
    activity_frequency: str | None = Field(default=None, max_length=200)
    expected_output: str | None = Field(default=None, sa_column=Column(Text))
    # 6 Werkzame bestanddelen
    theory_of_change: str | None = Field(default=None, sa_column=Column(Text))
    assumptions: str | None = Field(default=None, sa_column=Column(Text))
    dead_weight: str | None = Field(default=None, sa_column=Column(Text))
    attribution: str | None = Field(default=None, sa_column=Column(Text))
    literature: str | None = Field(default=None, sa_column=Column(Text))
    # 7 Inzet en kosten
    budget: float | None = None
    hours: float | None = None
    investors: str | None = Field(default=None, sa_column=Column(Text))
    beneficiaries: str | None = Field(default=None, sa_column=Column(Text))
    # 8 Meten en delen (indicators and reports are tables of their own)
    results_lessons: str | None = Field(default=None, sa_column=Column(Text))
    visibility: str | None = Field(default=None, max_length=20)  # organisation | partners | public
    # Where the wizard was in this draft ({"step", "field", "item", "sub"}), to resume it later.
    resume_at: dict | None = Field(default=None, sa_column=Column(JSON))
    # "description", or "archetype": a curator's draft of an archetype's next version (bot/curation.py).
    kind: str = Field(default="description", max_length=20)


class Effect(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    intervention_id: int = Field(foreign_key="intervention.id", index=True)
    position: int = 0
    name: str | None = Field(default=None, max_length=200)
    success_criterion: str | None = Field(default=None, sa_column=Column(Text))


class Indicator(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    intervention_id: int = Field(foreign_key="intervention.id", index=True)
    position: int = 0
    name: str | None = Field(default=None, max_length=200)
    kind: str | None = Field(default=None, max_length=20)  # output | outcome | cost
    unit: str | None = Field(default=None, max_length=60)
    baseline: float | None = None
    target: float | None = None
    baseline_date: date | None = None
    target_date: date | None = None
    direction: str | None = Field(default=None, max_length=10)  # up | down: which way is better
    # An option key (weekly, monthly, …) or a custom rhythm as typed ("elke 3 weken").
    frequency: str | None = Field(default=None, max_length=60)
    owner: str | None = Field(default=None, max_length=120)  # as typed; the people are in indicator_owner
    remind_day: int | None = None  # weekday 1-7 or day of the month 1-31; None: the period's last day
    remind_time: str | None = Field(default=None, max_length=5)  # "09:00" in the owner's time zone
    starts_on: date | None = None  # None: the intervention's start date
    ends_on: date | None = None  # None: the intervention's end date
    # The schedule (reminders/engine.py): the next reminder is due at `next_due_at` (UTC) and asks
    # for the period starting `next_period`. None: nothing scheduled (draft, no rhythm, ended).
    next_due_at: datetime | None = Field(default=None, index=True)
    next_period: date | None = None


class Report(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    intervention_id: int = Field(foreign_key="intervention.id", index=True)
    position: int = 0
    title: str | None = Field(default=None, max_length=200)
    url: str | None = Field(default=None, max_length=2000)


class Conversation(SQLModel, table=True):
    """Where a person is in the wizard. Saved in the same transaction as the answer it follows."""

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", unique=True)
    intervention_id: int | None = Field(default=None, foreign_key="intervention.id")
    phase: str = Field(default="idle", max_length=20)  # idle | asking | review
    step: int = 0
    field: str | None = Field(default=None, max_length=60)
    item: int = 0
    sub: str | None = Field(default=None, max_length=60)  # item field, or "__more__"
    failures: int = 0
    back_to_review: bool = False  # editing one step: return to the review when it is done
    # The reminder sent last: a plain number typed next answers it.
    reminder_id: int | None = Field(default=None, foreign_key="reminder.id")
    # The list the bot's last reply offered (outside a question's own answers), as [label, value]
    # pairs: a number or name typed next picks from it, as a click would.
    offered: list | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    updated_at: datetime = Field(default_factory=utcnow)

    @classmethod
    def new_row(cls, person_id: int, now: datetime | None = None) -> dict:
        """A fresh conversation's column values, for a bulk or conflict-tolerant INSERT."""
        row = cls(person_id=person_id).model_dump(exclude={"id"})
        return row | {"updated_at": now} if now else row


class ProcessedEvent(SQLModel, table=True):
    """Platform event ids already handled, inserted in the turn's own transaction."""

    __tablename__ = "processed_event"
    event_id: str = Field(primary_key=True, max_length=128)
    platform: str = Field(max_length=20)
    received_at: datetime = Field(default_factory=utcnow, index=True)


class ChatMessage(SQLModel, table=True):
    """The web chat's transcript, so a reload shows the conversation."""

    __tablename__ = "chat_message"
    id: int | None = Field(default=None, primary_key=True)
    identity_id: int = Field(foreign_key="identity.id", index=True)
    sender: str = Field(max_length=10)  # bot | user
    body: dict = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class IndicatorOwner(SQLModel, table=True):
    """Who measures an indicator. The first owner gets the reminders; the others are co-owners
    who hear about a period left unanswered."""

    __tablename__ = "indicator_owner"
    __table_args__ = (UniqueConstraint("indicator_id", "person_id"),)
    id: int | None = Field(default=None, primary_key=True)
    indicator_id: int = Field(foreign_key="indicator.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    position: int = 0


class Reminder(SQLModel, table=True):
    """One request for one period's value of one indicator; at most one per period."""

    __table_args__ = (UniqueConstraint("indicator_id", "period_start"),)
    id: int | None = Field(default=None, primary_key=True)
    indicator_id: int = Field(foreign_key="indicator.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    period_start: date
    period_end: date
    due_at: datetime
    status: str = Field(default="open", max_length=20)  # open | answered | none | skipped
    # When the engine looks at this reminder again (snooze over, nudge, escalation); None: never.
    follow_up_at: datetime | None = Field(default=None, index=True)
    snoozed: bool = False
    resent_at: datetime | None = None  # asked again when a snooze ended: nudges count from then
    nudged_at: datetime | None = None
    escalated_at: datetime | None = None
    answered_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Measurement(SQLModel, table=True):
    """A value for one period. An edit adds a row and marks the old one replaced: history stays."""

    __table_args__ = (
        Index(
            "uq_measurement_current",
            "indicator_id",
            "period_start",
            unique=True,
            sqlite_where=text("replaced_at IS NULL"),
            postgresql_where=text("replaced_at IS NULL"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    indicator_id: int = Field(foreign_key="indicator.id", index=True)
    period_start: date
    period_end: date
    value: float | None = None  # None: "no measurement this period"
    note: str | None = Field(default=None, sa_column=Column(Text))
    entered_by: int = Field(foreign_key="person.id")
    entered_at: datetime = Field(default_factory=utcnow)
    replaced_at: datetime | None = None


class OutboxMessage(SQLModel, table=True):
    """A message waiting to be delivered, written in the transaction that decided to send it.
    The sender (reminders/outbox.py) delivers it once, paced per channel."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_channel_pending", "channel", "status", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=120, unique=True)  # one message per purpose, e.g. "reminder:12"
    platform: str = Field(max_length=20)  # slack | web | teams
    workspace: str = Field(default="", max_length=64)
    channel: str = Field(max_length=128)  # where it goes: a Slack user or channel id, a web identity
    person_id: int | None = Field(default=None, foreign_key="person.id")
    body: dict = Field(sa_column=Column(JSON, nullable=False))  # {"locale", "replies": [...]}
    status: str = Field(default="pending", max_length=10)  # pending | sending | sent | failed
    not_before: datetime = Field(default_factory=utcnow, index=True)
    lease_until: datetime | None = None  # a sender holds it until then; after that it may be unsure
    attempts: int = 0
    error: str | None = Field(default=None, max_length=200)
    external_ref: str | None = Field(default=None, max_length=128)  # e.g. the Slack message ts
    # A message that became several platform messages: how many arrived before a retry, so the
    # retry sends only the rest (external_ref then holds the first one's reference).
    parts_sent: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # A digest's continuation goes into the thread of its first message, this outbox row.
    thread_of: int | None = Field(default=None, foreign_key="outbox.id")
    subscription_id: int | None = Field(default=None, foreign_key="subscription.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None


class Subscription(SQLModel, table=True):
    """A channel that gets a digest of new and updated descriptions its organisation may see.
    One row per channel: subscribing again changes it, cancelling ends it."""

    __table_args__ = (UniqueConstraint("platform", "workspace", "channel"),)
    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    platform: str = Field(max_length=20)
    workspace: str = Field(default="", max_length=64)
    channel: str = Field(max_length=128)
    channel_name: str | None = Field(default=None, max_length=120)
    subscriber_id: int = Field(foreign_key="person.id")  # told when the channel cannot be reached
    frequency: str = Field(default="weekly", max_length=10)  # daily | weekly
    theme: str | None = Field(default=None, max_length=60)  # a theme option key
    neighbourhood: str | None = Field(default=None, max_length=200)
    locale: str = Field(default="nl", max_length=5)
    timezone: str = Field(default="Europe/Amsterdam", max_length=64)
    status: str = Field(default="active", max_length=10)  # active | paused | ended
    paused_reason: str | None = Field(default=None, max_length=200)
    # The next digest covers what was published or changed after `since`, up to its due moment.
    since: datetime = Field(default_factory=utcnow)
    next_due_at: datetime | None = Field(default=None, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class Comment(SQLModel, table=True):
    """A reader's remark on one step of a published description (an expert's analysis, a question)."""

    id: int | None = Field(default=None, primary_key=True)
    intervention_id: int = Field(foreign_key="intervention.id", index=True)
    step: int
    author_id: int = Field(foreign_key="person.id")
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class Analysis(SQLModel, table=True):
    """An expert's analysis of a published description (bot/analyses.py): an assessment per step,
    the working elements as the expert sees them, the research it confronts, a judgement. One per
    expert and description; a draft until the expert publishes it."""

    __table_args__ = (UniqueConstraint("intervention_id", "expert_id"),)
    id: int | None = Field(default=None, primary_key=True)
    intervention_id: int = Field(foreign_key="intervention.id", index=True)
    expert_id: int = Field(foreign_key="person.id", index=True)
    steps: dict | None = Field(default=None, sa_column=Column(JSON))  # {"3": "assessment of step 3"}
    elements: str | None = Field(default=None, sa_column=Column(Text))  # werkzame bestanddelen
    references: list | None = Field(default=None, sa_column=Column(JSON))  # [{"link", "doi", "note"}]
    judgement: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    published_at: datetime | None = Field(default=None, index=True)


class Archetype(SQLModel, table=True):
    """A kind of intervention, kept by curators (bot/curation.py); its newest version is offered."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=80, unique=True)  # a slug: "verkoop-huurwoningen"
    last_number: int = 0  # of its versions, removed ones too: a number never means two versions
    created_at: datetime = Field(default_factory=utcnow)


class ArchetypeVersion(SQLModel, table=True):
    """One published version of an archetype; earlier versions stay readable. `fields` has the
    shape of a step field's values by key, as bot/archetypes.py checks them."""

    __tablename__ = "archetype_version"
    __table_args__ = (UniqueConstraint("archetype_id", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    archetype_id: int = Field(foreign_key="archetype.id", index=True)
    number: int
    name_nl: str = Field(max_length=200)
    name_en: str = Field(max_length=200)
    summary_nl: str = Field(sa_column=Column(Text, nullable=False))
    summary_en: str = Field(sa_column=Column(Text, nullable=False))
    aliases: list | None = Field(default=None, sa_column=Column(JSON))
    fields: dict = Field(sa_column=Column(JSON, nullable=False))
    meeting_name: str | None = Field(default=None, max_length=200)
    meeting_date: date | None = None
    meeting_place: str | None = Field(default=None, max_length=200)
    published_at: datetime = Field(default_factory=utcnow)
    published_by: int | None = Field(default=None, foreign_key="person.id")  # None: shipped with the bot


class ArchetypeSource(SQLModel, table=True):
    """A practice description an archetype version rests on; it goes when the description does."""

    __tablename__ = "archetype_source"
    version_id: int = Field(foreign_key="archetype_version.id", primary_key=True)
    intervention_id: int = Field(foreign_key="intervention.id", primary_key=True, index=True)


class ArchetypeOrigin(SQLModel, table=True):
    """The archetype version a description started from; for an archetype draft, the one it
    revises. A table of its own, so the key holds on SQLite without rebuilding `intervention`."""

    __tablename__ = "archetype_origin"
    intervention_id: int = Field(foreign_key="intervention.id", primary_key=True)
    version_id: int = Field(foreign_key="archetype_version.id", index=True)


class ArchetypeDraft(SQLModel, table=True):
    """What an archetype draft has beside its steps: the archetype it revises (None: a new one),
    its summary and what it rests on."""

    __tablename__ = "archetype_draft"
    intervention_id: int = Field(foreign_key="intervention.id", primary_key=True)
    archetype_id: int | None = Field(default=None, foreign_key="archetype.id", index=True)
    summary: str | None = Field(default=None, sa_column=Column(Text))
    sources: list | None = Field(default=None, sa_column=Column(JSON))
    meeting_name: str | None = Field(default=None, max_length=200)
    meeting_date: date | None = None
    meeting_place: str | None = Field(default=None, max_length=200)


class TeamsConversation(SQLModel, table=True):
    """Where the bot can write in Teams without being written to first (a proactive message):
    the conversation and the service URL the Bot Framework gave us on install or first contact."""

    __tablename__ = "teams_conversation"
    __table_args__ = (UniqueConstraint("tenant_id", "conversation_id"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(max_length=64)
    conversation_id: str = Field(max_length=400)
    service_url: str = Field(max_length=500)
    kind: str = Field(max_length=20)  # personal | channel | groupChat
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)  # a personal chat's person
    name: str | None = Field(default=None, max_length=200)  # a channel's name, for listings
    updated_at: datetime = Field(default_factory=utcnow)


class TeamsRegistration(SQLModel, table=True):
    """One organisation's own bot registration (an Entra app and its Azure Bot) in its Microsoft 365
    tenant: Azure creates only single-tenant bots, so a deployment serving many tenants holds many."""

    __tablename__ = "teams_registration"
    id: int | None = Field(default=None, primary_key=True)
    app_id: str = Field(max_length=64, unique=True)
    tenant_id: str = Field(max_length=64, unique=True)
    secret: str = Field(sa_column=Column(Text, nullable=False))  # the client secret, sealed (models/secrets.py)
    created_at: datetime = Field(default_factory=utcnow)


LIST_TABLES = {"effects": Effect, "indicators": Indicator, "reports": Report}


class WebSession(SQLModel, table=True):
    """A browser signed in with Slack or Microsoft: its cookie carries a random token (signed), the
    database only the token's SHA-256, so a dump of it opens no session."""

    __tablename__ = "web_session"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    identity_id: int = Field(foreign_key="identity.id", index=True)  # the person's web identity
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)


class WebSignIn(SQLModel, table=True):
    """A sign-in under way, from the redirect to the identity provider until its answer: the
    `state` it must bring back, the browser that asked, the id_token's `nonce` and msal's flow
    (which holds the PKCE verifier). Used once, and only for a few minutes."""

    __tablename__ = "web_sign_in"
    state: str = Field(primary_key=True, max_length=64)
    browser: str = Field(max_length=64)  # SHA-256 of the cookie of the browser that started it
    provider: str = Field(max_length=20)  # slack | microsoft
    nonce: str = Field(max_length=64)
    flow: dict = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, index=True)

"""The SQL tables. Alembic migrations (models/migrations) are the only thing that creates them."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Optional

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Organisation(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    # Member of the Wat Werkt in de Wijk partner network: sees descriptions shared with "partners".
    # Off until an administrator says so: a new workspace sees only public descriptions.
    is_partner: bool = False
    slack_team_id: Optional[str] = Field(default=None, max_length=40, unique=True)
    created_at: datetime = Field(default_factory=utcnow)


class Person(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    display_name: str = Field(max_length=120)
    locale: Optional[str] = Field(default=None, max_length=5)  # None: the deployment's default
    timezone: Optional[str] = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class Identity(SQLModel, table=True):
    """How a person is known on one platform: a Slack user in a workspace, a web chat browser."""

    __table_args__ = (UniqueConstraint("platform", "workspace", "external_id"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    platform: str = Field(max_length=20)  # slack | web | teams
    workspace: str = Field(default="", max_length=64)  # Slack team id; "" for the web chat
    external_id: str = Field(max_length=128)  # Slack user id; sha256 of the web chat token
    created_at: datetime = Field(default_factory=utcnow)


class Intervention(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    author_id: int = Field(foreign_key="person.id", index=True)
    status: str = Field(default="draft", max_length=20, index=True)  # draft | published
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    published_at: Optional[datetime] = None
    # 1 Basisgegevens
    title: Optional[str] = Field(default=None, max_length=200)
    neighbourhood: Optional[str] = Field(default=None, max_length=200)
    municipality: Optional[str] = Field(default=None, max_length=200)
    partner_organisations: Optional[list] = Field(default=None, sa_column=Column(JSON))
    start_date: Optional[date] = None
    end_date: Optional[date] = None
    project_status: Optional[str] = Field(default=None, max_length=20)
    themes: Optional[list] = Field(default=None, sa_column=Column(JSON))
    # 2 Aanleiding en probleem
    situation: Optional[str] = Field(default=None, sa_column=Column(Text))
    evidence: Optional[str] = Field(default=None, sa_column=Column(Text))
    baseline_alternative: Optional[str] = Field(default=None, sa_column=Column(Text))
    # 3 Doelgroep
    final_target_group: Optional[str] = Field(default=None, sa_column=Column(Text))
    intermediate_target_group: Optional[str] = Field(default=None, sa_column=Column(Text))
    target_group_size: Optional[int] = None
    # 5 Aanpak en activiteiten
    approach: Optional[str] = Field(default=None, sa_column=Column(Text))
    executors: Optional[str] = Field(default=None, sa_column=Column(Text))
    activity_frequency: Optional[str] = Field(default=None, max_length=200)
    expected_output: Optional[str] = Field(default=None, sa_column=Column(Text))
    # 6 Werkzame bestanddelen
    theory_of_change: Optional[str] = Field(default=None, sa_column=Column(Text))
    assumptions: Optional[str] = Field(default=None, sa_column=Column(Text))
    dead_weight: Optional[str] = Field(default=None, sa_column=Column(Text))
    attribution: Optional[str] = Field(default=None, sa_column=Column(Text))
    literature: Optional[str] = Field(default=None, sa_column=Column(Text))
    # 7 Inzet en kosten
    budget: Optional[float] = None
    hours: Optional[float] = None
    investors: Optional[str] = Field(default=None, sa_column=Column(Text))
    beneficiaries: Optional[str] = Field(default=None, sa_column=Column(Text))
    # 8 Meten en delen (indicators and reports are tables of their own)
    results_lessons: Optional[str] = Field(default=None, sa_column=Column(Text))
    visibility: Optional[str] = Field(default=None, max_length=20)  # organisation | partners | public
    # Where the wizard was in this draft ({"step", "field", "item", "sub"}), to resume it later.
    resume_at: Optional[dict] = Field(default=None, sa_column=Column(JSON))


class Effect(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    intervention_id: int = Field(foreign_key="intervention.id", index=True)
    position: int = 0
    name: Optional[str] = Field(default=None, max_length=200)
    success_criterion: Optional[str] = Field(default=None, sa_column=Column(Text))


class Indicator(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    intervention_id: int = Field(foreign_key="intervention.id", index=True)
    position: int = 0
    name: Optional[str] = Field(default=None, max_length=200)
    kind: Optional[str] = Field(default=None, max_length=20)  # output | outcome | cost
    unit: Optional[str] = Field(default=None, max_length=60)
    baseline: Optional[float] = None
    target: Optional[float] = None
    frequency: Optional[str] = Field(default=None, max_length=20)  # weekly | monthly | quarterly | yearly
    owner: Optional[str] = Field(default=None, max_length=120)


class Report(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    intervention_id: int = Field(foreign_key="intervention.id", index=True)
    position: int = 0
    title: Optional[str] = Field(default=None, max_length=200)
    url: Optional[str] = Field(default=None, max_length=2000)


class Conversation(SQLModel, table=True):
    """Where a person is in the wizard. Saved in the same transaction as the answer it follows."""

    id: Optional[int] = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", unique=True)
    intervention_id: Optional[int] = Field(default=None, foreign_key="intervention.id")
    phase: str = Field(default="idle", max_length=20)  # idle | asking | review
    step: int = 0
    field: Optional[str] = Field(default=None, max_length=60)
    item: int = 0
    sub: Optional[str] = Field(default=None, max_length=60)  # item field, or "__more__"
    failures: int = 0
    back_to_review: bool = False  # editing one step: return to the review when it is done
    updated_at: datetime = Field(default_factory=utcnow)


class ProcessedEvent(SQLModel, table=True):
    """Platform event ids already handled, inserted in the turn's own transaction."""

    __tablename__ = "processed_event"
    event_id: str = Field(primary_key=True, max_length=128)
    platform: str = Field(max_length=20)
    received_at: datetime = Field(default_factory=utcnow, index=True)


class ChatMessage(SQLModel, table=True):
    """The web chat's transcript, so a reload shows the conversation."""

    __tablename__ = "chat_message"
    id: Optional[int] = Field(default=None, primary_key=True)
    identity_id: int = Field(foreign_key="identity.id", index=True)
    sender: str = Field(max_length=10)  # bot | user
    body: dict = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


LIST_TABLES = {"effects": Effect, "indicators": Indicator, "reports": Report}

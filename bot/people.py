"""Who is talking: platform identities mapped to people and their organisations."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.monitor import reschedule_person
from bot.names import clean_name, skeleton
from models import Identity, Organisation, Person
from models.db import Database
from models.tables import utcnow


def find_person(session: Session, platform: str, workspace: str, external_id: str) -> Person | None:
    identity = session.exec(
        select(Identity).where(
            Identity.platform == platform, Identity.workspace == workspace, Identity.external_id == external_id
        )
    ).first()
    return session.get(Person, identity.person_id) if identity else None


# A Slack workspace or a Microsoft 365 tenant is one organisation: the column that says which.
WORKSPACE_COLUMN = {"slack": "slack_team_id", "teams": "teams_tenant_id"}
LOCAL = (Organisation.slack_team_id.is_(None), Organisation.teams_tenant_id.is_(None))


def default_name(platform: str, workspace: str) -> str:
    return f"{platform.capitalize()} {workspace}"[:200]


def workspace_organisation(session: Session, platform: str, workspace: str) -> Organisation:
    column = WORKSPACE_COLUMN[platform]
    org = session.exec(select(Organisation).where(getattr(Organisation, column) == workspace)).first()
    if org is None:
        # Named after the workspace until an administrator names it (`organisatie <naam>`).
        org = Organisation(name=default_name(platform, workspace), **{column: workspace})
        session.add(org)
        session.flush()
    return org


def named_organisation(session: Session, name: str) -> Organisation:
    """A web chat organisation by name (never a workspace's or tenant's: those are joined by signing in there)."""
    name, key = clean_name(name) or "Lokaal", skeleton(name)
    local = session.exec(select(Organisation).where(*LOCAL).order_by(Organisation.id))
    org = next((o for o in local if skeleton(o.name) == key), None)  # a look-alike name joins the same one
    if org is None:
        org = Organisation(name=name)
        session.add(org)
        session.flush()
    return org


def person_name(text: str | None) -> str:
    """A person's name as shown: what their platform says, cleaned of what hides or imitates."""
    return clean_name(text)[:120]


def update_profile(db: Database, person_id: int, name: str | None, tz: str | None, default_tz: str) -> None:
    """What the platform now says about a person: their name, and their time zone (a new zone
    reschedules their reminders)."""
    with db.transaction() as session:
        person = session.get(Person, person_id)
        if person is None:
            return
        name = person_name(name)
        if name and name != person.display_name:
            person.display_name = name
        if tz and tz != person.timezone:
            person.timezone = tz[:64]
            reschedule_person(session, person_id, utcnow(), default_tz)


def placeholders(db: Database, platform: str, workspace: str, limit: int = 10) -> list[tuple[int, str]]:
    """People known only by their platform id so far (named in a mention before they ever talked
    to the bot): (person id, external id)."""
    with db.transaction() as session:
        rows = session.exec(
            select(Person.id, Identity.external_id)
            .join(Identity, Identity.person_id == Person.id)
            .where(Identity.platform == platform, Identity.workspace == workspace)
            .where(Person.display_name == Identity.external_id)
            .limit(limit)
        )
        return [(person_id, external_id) for person_id, external_id in rows]


def web_key(platform: str, workspace: str, user_id: str) -> tuple[str, str, str]:
    """The web identity of someone who signs in on the web as `user_id` of a Slack workspace or a
    Microsoft tenant: where their web chat lives, apart from the local web chat's browsers."""
    return "web", f"{platform}:{workspace}"[:64], user_id[:128]


def ensure_person(
    db: Database,
    platform: str,
    workspace: str,
    external_id: str,
    display_name: str,
    organisation: str | None = None,
    also: tuple[str, str, str] | None = None,
) -> int:
    """The person behind a platform identity, created on first contact. Safe under concurrency.
    `also` is another identity the platform says is the same person (Teams: the Entra account
    someone signs in with on the web); whichever of the two came first decides the person."""

    def find_or_create(session: Session) -> int:
        person = find_person(session, platform, workspace, external_id)
        other = find_person(session, *also) if also else None
        if person is None:
            person = other
            if person is None:
                org = (
                    workspace_organisation(session, platform, workspace)
                    if platform in WORKSPACE_COLUMN
                    else named_organisation(session, organisation or "Lokaal")
                )
                person = Person(organisation_id=org.id, display_name=person_name(display_name) or external_id[:120])
                session.add(person)
                session.flush()
            session.add(Identity(person_id=person.id, platform=platform, workspace=workspace, external_id=external_id))
        if also and other is None:
            session.add(Identity(person_id=person.id, platform=also[0], workspace=also[1], external_id=also[2]))
        session.flush()
        return person.id

    return db.racing(find_or_create)


def sign_in(
    db: Database, platform: str, workspace: str, user_id: str, name: str, chat_id: str | None = None
) -> int | None:
    """Someone signed in on the web as `user_id` of a Slack workspace or Microsoft tenant: the id of
    their web identity, of the same person as in chat (`chat_id`, when the provider tells who they
    are there). None when that workspace or tenant has no organisation here (it never installed the
    bot), so signing in never makes one."""

    def find_or_create(session: Session) -> int | None:
        column = WORKSPACE_COLUMN[platform]
        org = session.exec(select(Organisation).where(getattr(Organisation, column) == workspace)).first()
        if org is None:
            return None
        key = web_key(platform, workspace, user_id)
        web = session.exec(
            select(Identity).where(
                Identity.platform == key[0], Identity.workspace == key[1], Identity.external_id == key[2]
            )
        ).first()
        if web is not None:
            return web.id
        person = find_person(session, platform, workspace, chat_id) if chat_id else None
        if person is None:
            person = Person(organisation_id=org.id, display_name=person_name(name) or user_id[:120])
            session.add(person)
            session.flush()
            if chat_id:
                session.add(Identity(person_id=person.id, platform=platform, workspace=workspace, external_id=chat_id))
        web = Identity(person_id=person.id, platform=key[0], workspace=key[1], external_id=key[2])
        session.add(web)
        session.flush()
        return web.id

    return db.racing(find_or_create)

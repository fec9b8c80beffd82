"""Small helpers shared by tests: a typed conversation with the engine, a browser over HTTP."""

from __future__ import annotations

import re

import httpx

from bot.people import ensure_person
from bot.replies import Turn
from bot.wizard import Wizard

# One answer for every question of a full walk, in the order the wizard asks them.
FULL_WALK = [
    "Buurtmoestuin Kruiskamp",  # title
    "Kruiskamp",  # neighbourhood
    "Amersfoort",  # municipality
    "gemeente Amersfoort, Welzijn Centraal",  # partner organisations
    "1-3-2027",  # start
    "31-12-2028",  # end
    "lopend",  # status
    "1, 3",  # themes
    "Weinig contact tussen buren; vooral ouderen zijn eenzaam.",  # situation
    "Bewonersenquête 2026: 40% kent de buren niet.",  # evidence
    "Zonder moestuin blijft het contact beperkt.",  # baseline alternative
    "Bewoners van de Kruiskamp",  # final target group
    "Vrijwilligers van de tuin",  # intermediate
    "250",  # size
    "Sociale cohesie",  # effect 1 name
    "Rapportcijfer stijgt van 5,8 naar 6,5",  # success
    "ja",  # another effect
    "Ontmoeting / sociale contacten",  # effect 2 (by its whole name; a word alone searches)
    "Twee keer per maand een tuindag met 20 deelnemers",
    "nee",
    "Wekelijkse tuindagen en een oogstfeest",  # approach
    "Opbouwwerker en vrijwilligers",  # executors
    "Elke woensdag",  # frequency
    "40 tuindagen, 25 vaste deelnemers",  # output
    "Samen tuinieren geeft een reden om elkaar te ontmoeten.",  # theory
    "Bewoners willen elkaar ontmoeten.",  # assumptions
    "Een deel van het contact was er ook zo gekomen.",  # dead weight
    "Ongeveer de helft",  # attribution
    "Onderzoek naar gemeenschapstuinen (Veen 2015)",  # literature
    "12.500",  # budget
    "320",  # hours
    "Corporatie 60%, gemeente 40%",  # investors
    "Bewoners en de corporatie",  # beneficiaries
    "1",  # indicator 1: first suggestion
    "overslaan",  # kind (prefilled from the suggestion)
    "overslaan",  # unit (prefilled)
    "5,8",  # baseline
    "1-1-2027",  # baseline date
    "6,5",  # target
    "31-12-2028",  # target date
    "hoger is beter",  # direction
    "jaarlijks",  # frequency
    "ik",  # owner
    "nee",  # another indicator
    "Projectplan 2027",  # report title
    "https://example.nl/projectplan.pdf",  # report url
    "nee",  # another report
    "De eerste tuindagen trekken vooral ouderen.",  # results and lessons
    "partners",  # visibility
]


class Chat:
    """A person typing to the wizard, as a test would describe a conversation."""

    def __init__(self, db, name="Anna", external_id="U_ANNA", platform="web", workspace=""):
        self.wizard = Wizard(db)
        self.person_id = ensure_person(db, platform, workspace, external_id, name)
        self.last = []

    def say(self, text=None, action=None):
        self.last = self.wizard.handle(self.person_id, Turn(text=text, action=action)).replies
        return self.last

    @property
    def question(self):
        questions = [r for r in self.last if r.kind == "question"]
        return questions[-1] if questions else None

    def kinds(self):
        return [r.kind for r in self.last]

    def texts(self):
        return "\n".join(" ".join(filter(None, [r.title, r.text, r.note])) for r in self.last)


class Browser(httpx.Client):
    """An HTTP client that posts forms as a browser posts ours: with the CSRF token its pages
    carry (one per browser cookie, read from the start page the first time)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._tokens: dict[str, str] = {}

    def csrf(self) -> str:
        cookie = self.cookies.get("wwidw_web") or self.cookies.get("wwidw_session") or ""
        if cookie not in self._tokens:
            found = re.search(r'name="csrf" value="([^"]*)"', self.get("/", follow_redirects=True).text)
            self._tokens[cookie] = found[1] if found else ""
        return self._tokens[cookie]

    def post(self, url, *, data=None, **kwargs):
        if isinstance(data, dict) and "csrf" not in data:
            data = {**data, "csrf": self.csrf()}
        return super().post(url, data=data, **kwargs)

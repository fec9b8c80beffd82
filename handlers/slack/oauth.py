"""Installing the app in a workspace: bolt's OAuth flow at `/slack/install` and
`/slack/oauth_redirect`, with our own pages around Slack's consent screen.

Bolt checks the OAuth `state` (stored, single use, tied to the installer's browser by a cookie)
and exchanges the code; a successful install creates (or joins) the workspace's organisation
and sends what waited for the workspace.
"""

from __future__ import annotations

import logging
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from slack_bolt import BoltResponse
from slack_bolt.oauth import OAuthFlow
from slack_bolt.oauth.callback_options import CallbackOptions, FailureArgs, SuccessArgs
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient

from bot.i18n import t
from handlers.slack.installations import ROTATE_BEFORE, STATE_LIFETIME, Workspaces

log = logging.getLogger("wwidw.slack")
# Bolt's OAuth logger names the code it could not exchange: keep it to errors.
quiet = logging.getLogger("wwidw.slack.oauth")
quiet.setLevel(logging.ERROR)
PAGES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(default=True)
)
# No code or state in a Referer to the pages linked from here, nor in a cache (the policy against
# scripts and framing is every page's: handlers/web/headers.py).
HEADERS = {"Content-Type": "text/html; charset=utf-8", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
FAILURES = {  # bolt's reason -> the text an installer reads
    "access_denied": "failed_cancelled",
    "invalid_browser": "failed_expired",
    "invalid_state": "failed_expired",
    "missing_code": "failed_code",
    "invalid_code": "failed_code",
    "enterprise_install": "failed_org",
}


def page(locale: str, status: int, args: SuccessArgs | FailureArgs, **texts) -> BoltResponse:
    """A page at the end of an install; the browser's state cookie has served its purpose."""
    headers = {**HEADERS, "Set-Cookie": [args.settings.state_utils.build_set_cookie_for_deletion()]}
    body = PAGES.get_template("install.html").render(locale=locale, **texts)
    return BoltResponse(status=status, body=body, headers=headers)


class InstallFlow(OAuthFlow):
    """Bolt's OAuth flow with an install page in the deployment's language."""

    locale = "nl"

    def build_install_page_html(self, url: str, request) -> str:
        locale = self.locale
        return PAGES.get_template("install.html").render(
            locale=locale,
            title=t(locale, "slack_install.title"),
            text=t(locale, "slack_install.text"),
            link=url,
            link_text=t(locale, "slack_install.button"),
            note=t(locale, "slack_install.note"),
        )

    def handle_installation(self, request) -> BoltResponse:
        response = super().handle_installation(request)
        response.headers.update({k.lower(): [v] for k, v in HEADERS.items() if k != "Content-Type"})
        return response


def install_flow(core, workspaces: Workspaces, client: WebClient) -> InstallFlow:
    settings, locale = core.settings, core.settings.wwidw_locale

    def installed(args: SuccessArgs) -> BoltResponse:
        installation = args.installation
        if not installation.team_id:  # an Enterprise Grid org-wide install; the manifest does not offer it
            workspaces.store.delete_all(enterprise_id=installation.enterprise_id, team_id=None)
            return failed(FailureArgs(args.request, "enterprise_install", None, 400, args.settings, args.default))
        workspaces.forget(installation.team_id)
        name = core.wizard.installed("slack", installation.team_id, installation.team_name or "")
        log.info("installed in workspace %s", installation.team_id)
        return page(
            locale,
            200,
            args,
            title=t(locale, "slack_install.done_title"),
            text=t(locale, "slack_install.done_text", name=name),
            link=f"slack://app?team={installation.team_id}&id={installation.app_id}",
            link_text=t(locale, "slack_install.done_link"),
        )

    def failed(args: FailureArgs) -> BoltResponse:
        log.info("an install did not complete: %s", args.reason)
        key = FAILURES.get(args.reason, "failed_other")
        return page(
            locale,
            args.suggested_status_code,
            args,
            title=t(locale, "slack_install.failed_title"),
            text=t(locale, f"slack_install.{key}", reason=str(args.reason)[:80]),
            link=args.settings.install_path,
            link_text=t(locale, "slack_install.again"),
        )

    oauth = OAuthSettings(
        client_id=workspaces.client_id,
        client_secret=workspaces.client_secret,
        scopes=settings.slack_scopes,
        redirect_uri=settings.slack_redirect_uri,
        installation_store=workspaces.store,
        installation_store_bot_only=True,
        token_rotation_expiration_minutes=ROTATE_BEFORE,
        state_store=workspaces.states,
        state_expiration_seconds=STATE_LIFETIME,
        callback_options=CallbackOptions(success=installed, failure=failed),
        logger=quiet,
    )
    flow = InstallFlow(client=client, logger=quiet, settings=oauth)
    flow.locale = locale
    return flow

"""The console: focusbot against a local stand-in for Slack, driven from the terminal or a pipe."""

import json
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from pydantic import SecretStr
from rich.console import Console as Terminal
from rich.text import Text
from slack_bolt.request import BoltRequest

from bot.app.factory import Focusbot, create_focusbot
from bot.common.recurrence import is_known_timezone, zone
from bot.console.fakeslack import BOT_USER_ID, FakeSlack, SignedRequest, SlackRequests
from bot.runtime.settings import Settings
from storage.base import utcnow
from storage.db import make_engine
from storage.schema import upgrade

CONSOLE_SECRET = "focusbot-console-signing-secret"
CONSOLE_TEAM = "T0CONSOLE"
DURATION = re.compile(r"^(\d+)\s*(m|min|h|d|w)$")
DURATION_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}

HELP = """\
Type slash commands as in Slack, for example:  /focus add Ship the eval harness
  click <n>            click button n of the messages shown
  home                 open your Home tab
  as <name>            act as someone else (as alex)
  in #<channel> | dm   move to a channel, or to your DM with focusbot
  tz <Area/City>       set the current person's timezone (tz Europe/Berlin)
  say <text>           post a message in the channel, as a person would
  react <emoji>        react to the last message said (react pain)
  shortcut <id>        use a message shortcut on the last message said (shortcut pain_log_message)
  wait <n><m|h|d|w>    move the clock forward and deliver what falls due (wait 3d)
  time                 show the console's clock
  help | quit"""


@dataclass
class Origin:
    """Where a rendered button lives: a message (with its response_url) or the Home tab."""

    channel_id: str | None
    response_url: str | None = None
    in_home: bool = False


@dataclass
class Session:
    """Who the console acts as, where, and at what time."""

    user: str = "you"
    channel: str = "#ml-team"
    offset: timedelta = timedelta()
    buttons: dict[int, tuple[dict[str, Any], Origin]] = field(default_factory=dict)
    last_message: dict[str, Any] | None = None


class FocusbotConsole:
    """Run focusbot in-process against FakeSlack and render what it says."""

    def __init__(self, settings: Settings, terminal: Terminal) -> None:
        self.terminal = terminal
        self.state = Session()
        self.fake = FakeSlack(default_timezone="UTC").start()
        console_settings = settings.model_copy(
            update={
                "slack_bot_token": SecretStr("xoxb-focusbot-console"),
                "slack_signing_secret": SecretStr(CONSOLE_SECRET),
                "slack_app_token": None,
                "slack_api_url": self.fake.base_url,
            }
        )
        engine = make_engine(console_settings.database_url)
        upgrade(engine)
        self.focusbot: Focusbot = create_focusbot(
            console_settings,
            engine=engine,
            clock=self.now,
            process_before_response=True,
        )
        self.requests = SlackRequests(CONSOLE_SECRET, team_id=CONSOLE_TEAM)
        self._seen_calls = len(self.fake.calls)
        self._responses = 0

    def now(self) -> datetime:
        """Return the console's clock: real time plus however far it was moved."""
        return utcnow() + self.state.offset

    def close(self) -> None:
        """Stop the local Slack stand-in."""
        self.fake.stop()

    def run(self, lines: Iterator[str], prompt: Callable[[], None] | None = None) -> None:
        """Read lines until `quit` or the end of input, answering each."""
        self.terminal.print(Text("focusbot console — type help for what you can do.", style="bold"))
        for line in lines:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line in ("quit", "exit"):
                return
            self.handle(line, lines)
            if prompt is not None:
                prompt()

    def handle(self, line: str, lines: Iterator[str]) -> None:
        """Answer one line of input."""
        self._echo(line)
        word, _, rest = line.partition(" ")
        handlers: dict[str, Callable[[str, Iterator[str]], None]] = {
            "click": self._click,
            "home": lambda _rest, more: self._home(more),
            "as": lambda rest, _more: self._act_as(rest),
            "in": lambda rest, _more: self._move_to(rest),
            "tz": lambda rest, _more: self._set_timezone(rest),
            "say": lambda rest, _more: self._say(rest),
            "react": lambda rest, more: self._react(rest, more),
            "shortcut": self._shortcut,
            "wait": lambda rest, more: self._wait(rest, more),
            "time": lambda _rest, _more: self._show_time(),
            "help": lambda _rest, _more: self.terminal.print(HELP),
        }
        if line.startswith("/"):
            self._slash(word, rest, lines)
        elif word in handlers:
            handlers[word](rest.strip(), lines)
        else:
            self.terminal.print(f"I don't know “{line}”. Type help.", style="yellow")
        self._deliver_due(lines)

    def _slash(self, command: str, text: str, lines: Iterator[str]) -> None:
        response_url = self._new_response_url()
        request = self.requests.command(
            command,
            self._as_slack_text(text),
            user_id=self._user_id(self.state.user),
            channel_id=self._channel_id(),
            response_url=response_url,
        )
        status, body = self._dispatch(request)
        if status == 404:
            self.terminal.print(f"focusbot has no {command} command.", style="yellow")
        elif body:
            self._render("only you", body, Origin(self._channel_id(), response_url))
        self._render_new_calls(lines)

    def _click(self, rest: str, lines: Iterator[str]) -> None:
        if not rest.isdecimal() or int(rest) not in self.state.buttons:
            self.terminal.print("Click a button by its number, as shown: click 1", style="yellow")
            return
        button, origin = self.state.buttons[int(rest)]
        action = {
            "type": button.get("type", "button"),
            "action_id": button["action_id"],
            "block_id": button.get("block_id") or "console",
            "value": button.get("value", ""),
        }
        if origin.in_home:
            request = self.requests.block_action(
                action,
                user_id=self._user_id(self.state.user),
                channel_id=None,
                response_url=None,
                container={"type": "view", "view_id": "VHOME"},
                view={"id": "VHOME", "type": "home"},
            )
        else:
            request = self.requests.block_action(
                action,
                user_id=self._user_id(self.state.user),
                channel_id=origin.channel_id,
                response_url=origin.response_url,
            )
        self._dispatch(request)
        self._render_new_calls(lines)

    def _home(self, lines: Iterator[str]) -> None:
        user_id = self._user_id(self.state.user)
        event = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": f"D{user_id}",
            "tab": "home",
        }
        self._dispatch(self.requests.event(event))
        self._render_new_calls(lines)

    def _act_as(self, name: str) -> None:
        name = name.lstrip("@").strip().lower()
        if not re.fullmatch(r"[a-z][a-z0-9._-]{0,20}", name):
            self.terminal.print("Give a short name: as alex", style="yellow")
            return
        self.state.user = name
        self.terminal.print(f"You are now @{name}.", style="cyan")

    def _move_to(self, where: str) -> None:
        where = where.strip().lower()
        if where == "dm":
            self.state.channel = "dm"
        elif re.fullmatch(r"#[a-z0-9._-]{1,40}", where):
            self.state.channel = where
        else:
            self.terminal.print("Say where: in #ml-team, or in dm", style="yellow")
            return
        place = "your DM with focusbot" if where == "dm" else where
        self.terminal.print(f"You are now in {place}.", style="cyan")

    def _set_timezone(self, name: str) -> None:
        if not is_known_timezone(name):
            self.terminal.print("Give an IANA timezone: tz Europe/Berlin", style="yellow")
            return
        self.fake.timezones[self._user_id(self.state.user)] = name
        self.terminal.print(f"@{self.state.user} now lives in {name}.", style="cyan")

    def _say(self, text: str) -> None:
        if not text:
            self.terminal.print("Say something: say the GPU queue is stuck again", style="yellow")
            return
        user_id = self._user_id(self.state.user)
        self.state.last_message = self.fake.say(
            self._channel_id(), user_id, self._as_slack_text(text)
        )

    def _react(self, emoji: str, lines: Iterator[str]) -> None:
        message = self.state.last_message
        if message is None or not emoji.strip(":"):
            self.terminal.print("First say something, then react to it: react pain", style="yellow")
            return
        event = {
            "type": "reaction_added",
            "user": self._user_id(self.state.user),
            "reaction": emoji.strip(":"),
            "item_user": message["user"],
            "item": {"type": "message", "channel": message["channel"], "ts": message["ts"]},
            "event_ts": message["ts"],
        }
        self._dispatch(self.requests.event(event, event_id=f"Ev{uuid.uuid4().hex[:12]}"))
        self._render_new_calls(lines)

    def _shortcut(self, callback_id: str, lines: Iterator[str]) -> None:
        message = self.state.last_message
        if message is None or not callback_id:
            self.terminal.print(
                "First say something, then: shortcut pain_log_message", style="yellow"
            )
            return
        response_url = self._new_response_url()
        request = self.requests.message_shortcut(
            callback_id, message, user_id=self._user_id(self.state.user), response_url=response_url
        )
        status, _ = self._dispatch(request)
        if status == 404:
            self.terminal.print(f"focusbot has no shortcut {callback_id}.", style="yellow")
        self._render_new_calls(lines)

    def _wait(self, rest: str, lines: Iterator[str]) -> None:
        match = DURATION.match(rest.replace(" ", ""))
        if not match:
            self.terminal.print("Say how long: wait 30m, wait 2h, wait 3d, wait 1w", style="yellow")
            return
        amount, unit = int(match.group(1)), DURATION_UNITS[match.group(2)]
        target = self.state.offset + timedelta(**{unit: amount})
        step = timedelta(hours=1)
        # Walk the clock forward an hour at a time so each post appears at its own moment.
        while self.state.offset < target:
            self.state.offset = min(self.state.offset + step, target)
            self._deliver_due(lines)
        self._show_time()

    def _show_time(self) -> None:
        tz = self.fake.timezones.get(self._user_id(self.state.user), "UTC")
        self.terminal.print(
            f"It is {self.now().astimezone(zone(tz)):%A %d %B %Y, %H:%M} ({tz}).", style="cyan"
        )

    def _deliver_due(self, lines: Iterator[str]) -> None:
        report = self.focusbot.scheduler.tick()
        for error in report.errors:
            self.terminal.print(f"(a scheduled post failed: {error})", style="red")
        self._render_new_calls(lines)

    def _dispatch(self, request: SignedRequest) -> tuple[int, dict[str, Any]]:
        response = self.focusbot.app.dispatch(
            BoltRequest(body=request.body, headers=dict[str, str | Sequence[str]](request.headers))
        )
        body = response.body
        try:
            return response.status, json.loads(body) if body else {}
        except ValueError:
            return response.status, {"text": body}

    def _render_new_calls(self, lines: Iterator[str]) -> None:
        while self._seen_calls < len(self.fake.calls):
            call = self.fake.calls[self._seen_calls]
            self._seen_calls += 1
            self._render_call(call.method, call.params, lines)

    def _render_call(self, method: str, params: dict[str, Any], lines: Iterator[str]) -> None:
        if method == "chat.postMessage":
            channel = str(params.get("channel", ""))
            label = f"focusbot in {self._channel_name(channel)}"
            self._render(label, params, Origin(channel, self._new_response_url()))
        elif method.startswith("/response/"):
            public = params.get("response_type") == "in_channel"
            label = "focusbot in " + self.state.channel if public else "only you"
            if params.get("replace_original"):
                label += ", updated"
            self._render(label, params, Origin(self._channel_id(), "http:" + method))
        elif method == "views.publish":
            self._render("your Home tab", _view_of(params), Origin(None, in_home=True))
        elif method == "views.open":
            self._fill_modal(_view_of(params), lines)

    def _render(self, label: str, message: dict[str, Any], origin: Origin) -> None:
        if origin.response_url and origin.response_url.startswith("http:/response/"):
            origin = replace(
                origin, response_url=self.fake.response_url(origin.response_url.split("/")[-1])
            )
        self.terminal.rule(label, style="dim")
        blocks = message.get("blocks") or []
        if not blocks:
            self.terminal.print(self._readable(str(message.get("text", ""))))
        for block in blocks:
            self._render_block(block, origin)

    def _render_block(self, block: dict[str, Any], origin: Origin) -> None:
        kind = block.get("type")
        if kind == "header":
            self.terminal.print(Text(block["text"]["text"], style="bold underline"))
        elif kind == "section":
            self.terminal.print(self._readable((block.get("text") or {}).get("text", "")))
            accessory = block.get("accessory")
            if accessory:
                self._render_elements([accessory], block.get("block_id"), origin)
        elif kind == "context":
            texts = [element.get("text", "") for element in block.get("elements", [])]
            self.terminal.print(Text(self._readable(" ".join(texts)), style="dim"))
        elif kind == "actions":
            self._render_elements(block.get("elements", []), block.get("block_id"), origin)
        elif kind == "divider":
            self.terminal.print(Text("─" * 40, style="dim"))

    def _render_elements(
        self, elements: list[dict[str, Any]], block_id: str | None, origin: Origin
    ) -> None:
        shown = Text()
        for element in elements:
            if element.get("type") != "button":
                continue
            number = len(self.state.buttons) + 1
            self.state.buttons[number] = ({**element, "block_id": block_id}, origin)
            shown.append(f"[{number}] {element['text']['text']}  ", style="bold magenta")
        if shown:
            self.terminal.print(shown)

    def _fill_modal(self, view: dict[str, Any], lines: Iterator[str]) -> None:
        title = (view.get("title") or {}).get("text", "")
        self.terminal.rule(f"modal: {title}", style="magenta")
        while True:
            values = self._read_inputs(view, lines)
            if values is None:
                self.terminal.print("(modal closed)", style="dim")
                return
            request = self.requests.view_submission(
                view, values, user_id=self._user_id(self.state.user)
            )
            _status, body = self._dispatch(request)
            if body.get("response_action") != "errors":
                self.terminal.print("(submitted)", style="dim")
                return
            for message in body.get("errors", {}).values():
                self.terminal.print(f"✗ {message}", style="red")

    def _read_inputs(self, view: dict[str, Any], lines: Iterator[str]) -> dict[str, Any] | None:
        values: dict[str, Any] = {}
        for block in view.get("blocks", []):
            if block.get("type") != "input":
                continue
            element = block["element"]
            label = block["label"]["text"]
            self.terminal.print(f"{label}:", style="magenta")
            answer = next(lines, None)
            if answer is None or answer.strip() == "cancel":
                return None
            self._echo(answer.strip())
            values[block["block_id"]] = {
                element["action_id"]: self._input_value(element, answer.strip())
            }
        return values

    def _input_value(self, element: dict[str, Any], answer: str) -> dict[str, Any]:
        kind = element.get("type")
        if kind == "multi_users_select":
            users = [self._user_id(name) for name in answer.replace("@", " ").split()]
            return {"type": kind, "selected_users": users}
        if kind == "static_select":
            options = element.get("options", [])
            chosen = next(
                (o for o in options if o["text"]["text"] == answer or o["value"] == answer), None
            )
            return {"type": kind, "selected_option": chosen}
        if kind == "datepicker":
            return {"type": kind, "selected_date": answer or None}
        return {"type": kind, "value": answer or None}

    def _echo(self, line: str) -> None:
        self.terminal.print(
            Text(f"@{self.state.user} {self.state.channel} › {line}", style="green")
        )

    def _as_slack_text(self, text: str) -> str:
        """Write @name and #channel the way Slack sends them with should_escape."""
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        escaped = re.sub(r"@(here|channel|everyone)\b", r"<!\1>", escaped)
        escaped = re.sub(
            r"(?<![\w<])@([a-z][a-z0-9._-]*)",
            lambda m: f"<@{self._user_id(m.group(1))}|{m.group(1)}>",
            escaped,
        )
        return re.sub(
            r"(?<![\w<])#([a-z0-9._-]+)",
            lambda m: f"<#{self._channel_id('#' + m.group(1))}|{m.group(1)}>",
            escaped,
        )

    def _readable(self, mrkdwn: str) -> str:
        text = re.sub(
            r"<@([A-Z0-9]+)(?:\|[^>]*)?>", lambda m: "@" + self._user_name(m.group(1)), mrkdwn
        )
        text = re.sub(r"<#([A-Z0-9]+)(?:\|[^>]*)?>", lambda m: self._channel_name(m.group(1)), text)
        return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

    def _new_response_url(self) -> str:
        self._responses += 1
        return self.fake.response_url(f"console{self._responses}")

    def _user_id(self, name: str) -> str:
        return "U" + re.sub(r"[^A-Z0-9]", "", name.upper())[:16]

    def _user_name(self, user_id: str) -> str:
        return "focusbot" if user_id == BOT_USER_ID else user_id[1:].lower()

    def _channel_id(self, channel: str | None = None) -> str:
        channel = channel or self.state.channel
        if channel == "dm":
            return "D" + self._user_id(self.state.user)[1:]
        return "C" + re.sub(r"[^A-Z0-9]", "", channel.upper())[:16]

    def _channel_name(self, channel_id: str) -> str:
        if channel_id.startswith("D") or channel_id.startswith("U"):
            return "your DM with focusbot"
        return "#" + self._known_channels().get(channel_id, channel_id[1:].lower())

    def _known_channels(self) -> dict[str, str]:
        name = self.state.channel.lstrip("#")
        return {self._channel_id(self.state.channel): name} if self.state.channel != "dm" else {}


def _view_of(params: dict[str, Any]) -> dict[str, Any]:
    view = params.get("view") or {}
    return json.loads(view) if isinstance(view, str) else view

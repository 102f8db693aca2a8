"""The console: focusbot against a local stand-in for Slack, driven from the terminal or a pipe."""

import json
import re
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import SecretStr
from rich.console import Console as Terminal
from rich.text import Text
from slack_bolt.request import BoltRequest

from bot.app.factory import Focusbot, create_focusbot
from bot.common.people import forget_timezone
from bot.common.recurrence import is_known_timezone, zone
from bot.console.deliveries import Delivery, summary
from bot.console.directory import Directory
from bot.console.fakeslack import FakeSlack, SignedRequest, SlackRequests
from bot.console.modals import Lines
from bot.console.mrkdwn import Names
from bot.console.render import Origin, Renderer
from bot.console.screen import Answered, Screen, Session
from bot.runtime.settings import Settings
from storage.base import Workspace, utcnow
from storage.db import make_engine
from storage.schedule import next_due_at
from storage.schema import upgrade

CONSOLE_SECRET = "focusbot-console-signing-secret"
CONSOLE_TEAM = "T0CONSOLE"
DURATION = re.compile(r"^(\d+)\s*(m|min|h|d|w)$")
DURATION_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}
QUIT_WORDS = ("quit", "exit")
MIN_STEP, MAX_STEP = timedelta(seconds=1), timedelta(days=1)

HELP = """\
Type slash commands as in Slack, for example:  /focus add Ship the eval harness
  click <n>            click button n of the newest message with buttons (click 1)
  click <m>.<n>        click button n of message m (click 3.2)
  home                 open your Home tab
  as <name>            act as someone else (as alex)
  in #<channel> | dm   move to a channel, or to your DM with focusbot
  tz <Area/City>       set the current person's timezone (tz Europe/Berlin)
  say <text>           post a message in the channel, as a person would
  react <emoji>        react to the last message said (react pain)
  shortcut <id>        use a message shortcut on the last message said (shortcut pain_log_message)
  wait <n><m|h|d|w>    move the clock forward and show what was posted meanwhile (wait 3d)
  time                 show the console's clock
  help | quit
In a modal, answer each input in turn: a number or an option's text; cancel closes it."""


class FocusbotConsole(Screen):
    """Run focusbot in-process against FakeSlack and render what it says."""

    def __init__(self, settings: Settings, terminal: Terminal) -> None:
        self.terminal = terminal
        self.state = Session()
        self.directory = Directory()
        self.renderer = Renderer(
            terminal, Names(self.directory.user_name, self.directory.channel_name)
        )
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
        self._answered: dict[str, Answered] = {}
        self._deliveries: list[Delivery] | None = None

    def now(self) -> datetime:
        """Return the console's clock: real time plus however far it was moved."""
        return utcnow() + self.state.offset

    def close(self) -> None:
        """Stop the local Slack stand-in."""
        self.fake.stop()

    def prompt(self) -> str:
        """Return the prompt: who acts, and where."""
        return f"@{self.state.user} {self.state.channel} › "

    def echo(self, prompt: str, line: str) -> None:
        """Show a line read from a pipe after its prompt, as if typed."""
        self.terminal.print(Text(prompt + line, style="green"))

    def run(self, lines: Lines) -> None:
        """Read lines until `quit` or the end of input, answering each."""
        self.terminal.print(Text("focusbot console — type help for what you can do.", style="bold"))
        while (line := lines.read(self.prompt())) is not None:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line in QUIT_WORDS:
                return
            self.handle(line, lines)

    def handle(self, line: str, lines: Lines) -> None:
        """Answer one line of input."""
        word, _, rest = line.partition(" ")
        handlers: dict[str, Callable[[str, Lines], None]] = {
            "click": self._click,
            "home": lambda _rest, more: self._home(more),
            "as": lambda rest, _more: self._act_as(rest),
            "in": lambda rest, _more: self._move_to(rest),
            "tz": lambda rest, _more: self._set_timezone(rest),
            "say": lambda rest, _more: self._say(rest),
            "react": self._react,
            "shortcut": self._shortcut,
            "wait": self._wait,
            "time": lambda _rest, _more: self._show_time(),
            "help": lambda _rest, _more: self.terminal.print(HELP, highlight=False),
        }
        if line.startswith("/"):
            self._slash(word, rest, lines)
        elif word.lower() in handlers:
            handlers[word.lower()](rest.strip(), lines)
        else:
            self._hint(f"I don't know “{line}”. Type help.")
        self._deliver_due(lines)

    def _slash(self, command: str, text: str, lines: Lines) -> None:
        response_url = self._new_response_url()
        request = self.requests.command(
            command,
            self._as_slack_text(text),
            user_id=self._me(),
            channel_id=self._channel_id(),
            response_url=response_url,
        )
        status, body = self._dispatch(request)
        if status == 404:
            self._hint(f"focusbot has no {command} command.")
        elif body:
            self.renderer.message("only you", body, Origin(self._channel_id(), response_url))
        self._render_new_calls(lines)

    def _click(self, rest: str, lines: Lines) -> None:
        button = self.renderer.shown.button(rest)
        if button is None:
            self._hint(
                "Click a button by its number: click 1 (the newest message's first button), "
                "or click 3.2 (message 3's second button)."
            )
            return
        element, origin = button.element, button.origin
        action = {
            "type": element.get("type", "button"),
            "action_id": element["action_id"],
            "block_id": element.get("block_id") or "console",
            "value": element.get("value", ""),
        }
        if origin.in_home:
            request = self.requests.block_action(
                action,
                user_id=self._me(),
                channel_id=None,
                response_url=None,
                container={"type": "view", "view_id": "VHOME"},
                view={"id": "VHOME", "type": "home"},
            )
        else:
            request = self.requests.block_action(
                action,
                user_id=self._me(),
                channel_id=origin.channel_id,
                response_url=origin.response_url,
            )
        self._dispatch(request)
        self._render_new_calls(lines)

    def _home(self, lines: Lines) -> None:
        user_id = self._me()
        event = {"type": "app_home_opened", "user": user_id, "channel": "D" + user_id[1:]}
        self._dispatch(self.requests.event({**event, "tab": "home"}))
        self._render_new_calls(lines)

    def _act_as(self, name: str) -> None:
        name = name.lstrip("@").strip().lower()
        if not re.fullmatch(r"[a-z][a-z0-9._-]{0,20}", name):
            self._hint("Give a short name: as alex")
            return
        self.state.user = name
        self.directory.user_id(name)
        self._note(f"You are now @{name}.")

    def _move_to(self, where: str) -> None:
        where = where.strip().lower()
        if where == "dm":
            self.state.channel = "dm"
        elif re.fullmatch(r"#[a-z0-9._-]{1,40}", where):
            self.state.channel = where
        else:
            self._hint("Say where: in #ml-team, or in dm")
            return
        self._note(f"You are now {'in your DM with focusbot' if where == 'dm' else 'in ' + where}.")

    def _set_timezone(self, name: str) -> None:
        if not is_known_timezone(name):
            self._hint("Give an IANA timezone: tz Europe/Berlin")
            return
        user_id = self._me()
        self.fake.timezones[user_id] = name
        with self.focusbot.services.session() as session:
            forget_timezone(session, Workspace(team_id=CONSOLE_TEAM), user_id)
        self._note(f"@{self.state.user} now lives in {name}.")

    def _say(self, text: str) -> None:
        if not text:
            self._hint("Say something: say the GPU queue is stuck again")
            return
        self.state.last_message = self.fake.say(
            self._channel_id(), self._me(), self._as_slack_text(text)
        )

    def _react(self, emoji: str, lines: Lines) -> None:
        message = self.state.last_message
        if message is None or not emoji.strip(":"):
            self._hint("First say something, then react to it: react pain")
            return
        event = {
            "type": "reaction_added",
            "user": self._me(),
            "reaction": emoji.strip(":"),
            "item_user": message["user"],
            "item": {"type": "message", "channel": message["channel"], "ts": message["ts"]},
            "event_ts": message["ts"],
        }
        self._dispatch(self.requests.event(event, event_id=f"Ev{uuid.uuid4().hex[:12]}"))
        self._render_new_calls(lines)

    def _shortcut(self, callback_id: str, lines: Lines) -> None:
        message = self.state.last_message
        if message is None or not callback_id:
            self._hint("First say something, then: shortcut pain_log_message")
            return
        request = self.requests.message_shortcut(
            callback_id, message, user_id=self._me(), response_url=self._new_response_url()
        )
        status, _ = self._dispatch(request)
        if status == 404:
            self._hint(f"focusbot has no shortcut {callback_id}.")
        self._render_new_calls(lines)

    def _wait(self, rest: str, lines: Lines) -> None:
        match = DURATION.match(rest.replace(" ", ""))
        if not match:
            self._hint("Say how long: wait 30m, wait 2h, wait 3d, wait 1w")
            return
        amount, unit = int(match.group(1)), DURATION_UNITS[match.group(2)]
        target = self.state.offset + timedelta(**{unit: amount})
        self._deliveries = []
        # Jump from one due post to the next, so each is delivered at its own moment.
        while self.state.offset < target:
            now = self.now()
            with self.focusbot.services.session() as session:
                due = next_due_at(session, now)
            step = min(due - now if due is not None else MAX_STEP, MAX_STEP)
            self.state.offset = min(self.state.offset + max(step, MIN_STEP), target)
            self._deliver_due(lines)
        deliveries, self._deliveries = self._deliveries, None
        first, summarised, last = summary(deliveries)
        for delivery in first:
            self._render_call(delivery.call, lines, f" · {self._local(delivery.at)}")
        if summarised:
            self._note(summarised)
        for delivery in last:
            self._render_call(delivery.call, lines, f" · {self._local(delivery.at)}")
        self._show_time()

    def _show_time(self) -> None:
        self._note(f"It is {self._local(self.now(), weekday='%A')} ({self._timezone()}).")

    def _local(self, moment: datetime, weekday: str = "%a") -> str:
        local = moment.astimezone(zone(self._timezone()))
        return f"{local:{weekday}} {local.day} {local:%b %Y, %H:%M}"

    def _timezone(self) -> str:
        return self.fake.timezones.get(self._me(), self.fake.default_timezone)

    def _deliver_due(self, lines: Lines) -> None:
        errors = self.focusbot.scheduler.tick().errors
        # What background work (reading calendars) found falls due now: deliver it in this step.
        self.focusbot.services.background.wait_idle()
        errors += self.focusbot.scheduler.tick().errors
        for error in errors:
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

    def _as_slack_text(self, text: str) -> str:
        """Write @name and #channel the way Slack sends them with should_escape."""
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        escaped = re.sub(r"@(here|channel|everyone)\b", r"<!\1>", escaped)
        escaped = re.sub(
            r"(?<![\w<])@([a-z][a-z0-9._-]*)",
            lambda m: f"<@{self.directory.user_id(m.group(1))}|{m.group(1)}>",
            escaped,
        )
        return re.sub(
            r"(?<![\w<])#([a-z0-9._-]+)",
            lambda m: f"<#{self._channel_id('#' + m.group(1))}|{m.group(1)}>",
            escaped,
        )

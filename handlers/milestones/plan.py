"""Carry out and render the probabilistic plan: approaches, what was tried, the forecast, charts."""

from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.models.blocks import Block
from sqlmodel import Session

from bot import milestones
from bot.common.dates import day_text
from bot.milestones import MilestoneError
from handlers.blocks import context, escape, section
from handlers.charts import Chart, Line, Panel, chart_reply
from handlers.slack import Reply, note
from storage.milestones import Milestone, MilestoneBoard

PlanCommand = (
    milestones.ListApproaches
    | milestones.AddApproach
    | milestones.SetApproachChance
    | milestones.DropApproach
    | milestones.DeriveConfidence
    | milestones.SetRequired
    | milestones.Tried
)
PLAN_COMMANDS = PlanCommand.__args__


def change_plan(
    session: Session, board: MilestoneBoard, actor: str, command: PlanCommand, now: datetime
) -> Reply:
    """Change a milestone's approaches, how its chance is set, whether it is required, or log."""
    if isinstance(command, milestones.ListApproaches):
        return approaches_reply(session, milestones.milestone_at(session, board, command.number))
    milestone = milestones.open_milestone_at(session, board, command.number)
    name = f"#{milestone.number} “{escape(milestone.title)}”"
    if isinstance(command, milestones.AddApproach):
        added = milestones.add_approach(
            session, milestone, actor, command.text, command.chance, now
        )
        headline = f"Added approach {added.number} to {name} at {added.chance}%."
    elif isinstance(command, milestones.SetApproachChance):
        milestones.set_approach_chance(
            session, milestone, actor, command.approach, command.chance, now
        )
        headline = f"Approach {command.approach} of {name} is now at {command.chance}%."
    elif isinstance(command, milestones.DropApproach):
        milestones.drop_approach(session, milestone, actor, command.approach, now)
        headline = f"Dropped approach {command.approach} of {name}."
    elif isinstance(command, milestones.DeriveConfidence):
        milestones.derive_from_approaches(session, milestone, actor, now)
        headline = f"{name} takes its chance from its approaches again."
    elif isinstance(command, milestones.SetRequired):
        milestones.set_required(session, milestone, actor, command.required, now)
        needed = "required for" if command.required else "not required for"
        return note(f"{name} is now {needed} the vision.", "`/milestone forecast` counts it.")
    else:
        tried = milestones.record_tried(
            session, milestone, actor, command.what, command.outcome, command.approach, now
        )
        return note(
            f"Logged on {name}: {escape(milestones.describe_tried(tried))}",
            "The weekly digest lists what was tried; the Home tab counts it over 4 weeks.",
        )
    return approaches_reply(session, milestone, headline)


def approaches_reply(session: Session, milestone: Milestone, headline: str = "") -> Reply:
    """Render a milestone's approaches and how its chance follows from them."""
    found = milestones.approaches(session, milestone)
    blocks: list[Block] = [section(headline)] if headline else []
    title = f"*#{milestone.number} {escape(milestone.title)}* · {milestone.confidence}%"
    if not found:
        blocks.append(
            section(
                f"{title}\n_No approaches yet._ Add one with "
                f"`/milestone approach {milestone.number} add &lt;text&gt; &lt;p&gt;%`."
            )
        )
        return Reply(headline or f"Approaches of #{milestone.number}", blocks)
    lines = [f"{a.number}. {escape(a.text)} — {a.chance}%" for a in found]
    derived = milestones.chance_of_any([a.chance for a in found])
    if milestone.confidence_direct:
        how = (
            f"The team set {milestone.confidence}% directly; the approaches say {derived}%. "
            f"`/milestone edit {milestone.number} confidence auto` derives it from them again."
        )
    else:
        how = f"At least one approach works: {derived}%."
    blocks += [
        section(title + "\n" + "\n".join(lines)),
        section(how),
        context(escape(milestones.APPROACH_HINT)),
    ]
    return Reply(headline or f"Approaches of #{milestone.number}", blocks)


def forecast_reply(session: Session, board: MilestoneBoard | None) -> Reply:
    """Render the Monte Carlo forecast of the vision, and its recalibrated figures when known."""
    outlook = milestones.forecast(session, board) if board else None
    if outlook is None:
        return note(
            "There are no open milestones to forecast.",
            "Add one with `/milestone add &lt;title&gt; target &lt;date&gt;`.",
        )
    when = day_text(outlook.vision_date)
    horizon = "the vision's date" if outlook.vision_date_set else "the latest target"
    which = "every required milestone" if outlook.required_marked else "every open milestone"
    total = len(outlook.plan)
    lines = [
        f"*Forecast to {when}* ({horizon}), over {outlook.runs:,} simulated runs",
        f"Expected to land: *{outlook.stated.expected:.1f} of {total}*",
        f"Chance that {which} lands: *{outlook.figure}%*",
    ]
    spread = " · ".join(
        f"{k}+: {share:.0%}" for k, share in enumerate(outlook.stated.at_least) if k
    )
    lines.append(f"At least k land: {spread}")
    if outlook.adjusted is not None:
        lines.append(
            f"Recalibrated by the team's history: expected *{outlook.adjusted.expected:.1f}*, "
            f"all land *{outlook.adjusted.all_required:.0%}*"
        )
    blocks: list[Block] = [section("\n".join(lines))]
    plan = [
        f"#{p.number} {escape(p.title)} — {p.chance}%"
        + (" · required" if p.required else "")
        + (
            f" · target {day_text(p.target)} is after {when}: counts as not landing"
            if p.target > outlook.vision_date
            else ""
        )
        for p in outlook.plan
    ]
    blocks.append(section("\n".join(plan)))
    hint = (
        "Each milestone lands with its confidence, independently; one whose target falls after "
        "the vision's date counts as not landing. Set the date with `/milestone vision date "
        "&lt;date&gt;`; mark what the vision needs with `/milestone edit &lt;n&gt; required yes`."
    )
    if not outlook.required_marked:
        hint += " No milestone is marked required, so all of them count."
    blocks.append(context(hint))
    return Reply(f"Forecast: {outlook.figure}% that {which} lands by {when}", blocks)


def calibration_chart_reply(
    session: Session, client: WebClient, board: MilestoneBoard | None, now: datetime
) -> Reply:
    """Answer `/milestone calibration chart`: draw the trails and the calibration curve."""
    if board is None:
        raise MilestoneError(
            "This conversation has no milestones yet, so there is nothing to draw."
        )
    trails = milestones.trails(session, board, now)
    curve = milestones.calibration_curve(milestones.calibration(session, board))
    return chart_reply(client, board.channel_id, _calibration_chart(trails, curve))


def _calibration_chart(
    trails: list[milestones.TrailSeries], curve: list[milestones.CalibrationPoint]
) -> Chart:
    trail_lines = [Line(t.label, t.moments, t.confidences, steps=True) for t in trails]
    stated = [point.stated for point in curve]
    curve_lines = []
    if curve:
        curve_lines = [
            Line("what happened", stated, [p.landed for p in curve]),
            Line("adjusted figure", stated, [p.adjusted for p in curve]),
        ]
    described = "; ".join(
        f"said {p.stated:.0f}%, {p.landed:.0f}% landed of {p.count}" for p in curve
    )
    alt = (
        f"Left: confidence over time of {len(trails)} open "
        f"milestone{'' if len(trails) == 1 else 's'}. Right: calibration "
        f"curve over ended milestones: {described or 'none has ended yet'}."
    )
    return Chart(
        "Milestone confidence and calibration",
        "milestone-calibration.png",
        alt,
        (
            Panel(
                "Confidence trails",
                "date",
                "confidence (%)",
                trail_lines,
                (0, 100),
                empty_note="No open milestones.",
            ),
            Panel(
                "Calibration",
                "confidence said (%)",
                "achieved (%)",
                curve_lines,
                (0, 100),
                diagonal=True,
                empty_note="No milestone has ended yet.",
            ),
        ),
    )


def meaning_note(report: milestones.CalibrationReport, confidence: int) -> str:
    """Say what the team's history says a confidence means, or nothing without enough of it."""
    found = milestones.meaning(report, confidence)
    return f" (history: ~{found.adjusted}%)" if found else ""

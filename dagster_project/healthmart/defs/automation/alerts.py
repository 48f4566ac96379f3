"""Failure alerts: what went wrong in a run, posted as Slack-compatible JSON to a webhook.

The run-failure sensor (healthmart.defs.automation.schedules) calls `failure_alert` for every
failed run of the daily job and posts it to HEALTHMART_ALERT_WEBHOOK (any endpoint that takes
Slack's `{"text": ...}`: Slack, Mattermost, Teams workflows, a chat bridge). The text names the
run, the failed steps with their first error line, the blocking checks that failed, and whether
the serving file was replaced (when it was not, the previous one is still served).
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import dagster as dg

from healthmart.defs.quality.systemic import blocked_because
from healthmart.defs.serving.assets import SERVING_KEY

ENV_ALERT_WEBHOOK = "HEALTHMART_ALERT_WEBHOOK"


@dataclass(frozen=True)
class FailedStep:
    step: str
    error: str  # the first line of the error


@dataclass(frozen=True)
class FailedCheck:
    check: str
    asset: str
    because: tuple[str, ...] = ()  # what a systemic check blocked for (file or source)


def first_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[0] if lines else "no error message"


def run_failures(
    instance: dg.DagsterInstance, run_id: str
) -> tuple[list[FailedStep], list[FailedCheck], bool]:
    """The failed steps, the failed blocking checks (ERROR severity), and whether the run
    published the serving file, from the run's event log."""
    steps, checks, published = [], [], False
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            error = event.step_failure_data.error
            steps.append(FailedStep(event.step_key or "?", first_line(error and error.message)))
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
                checks.append(
                    FailedCheck(
                        evaluation.check_name,
                        evaluation.asset_key.to_user_string(),
                        tuple(blocked_because(evaluation.metadata)),
                    )
                )
        elif event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            published = published or event.asset_key == SERVING_KEY
    return steps, checks, published


def failure_alert(
    run_id: str,
    job_name: str,
    steps: Sequence[FailedStep],
    checks: Sequence[FailedCheck],
    published: bool,
) -> dict[str, str]:
    """The Slack-compatible message of a failed run."""
    lines = [f"healthmart: run {run_id} of {job_name} failed."]
    for step in steps:
        lines.append(f"Failed step {step.step}: {step.error}")
    if checks:
        names = ", ".join(f"{c.check} on {c.asset}" for c in checks)
        lines.append(f"Blocking checks failed: {names}.")
        lines += [because for check in checks for because in check.because]
    if published:
        lines.append("The serving file was replaced before the failure.")
    else:
        lines.append(
            "The serving file was not replaced: the previous one is still served to BI tools."
        )
    return {"text": "\n".join(lines)}


def post_alert(url: str, message: Mapping[str, str], timeout: float = 10.0) -> int:
    """POST the message as JSON; the HTTP status (raises on a network error or HTTP error)."""
    request = urllib.request.Request(
        url,
        data=json.dumps(message).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status


def alert_webhook() -> str | None:
    return os.environ.get(ENV_ALERT_WEBHOOK) or None

"""Every mutating key on a protected container, in the real app against the real engine: refused
with the rule named where the user acted, the container unchanged, an audit line per attempt.
Starting a stopped protected container is allowed."""

from __future__ import annotations

import json

from pilot_helpers import SIZE, make_app, open_form, select_row, settle_workers, shown, started, submit, \
    type_text, wait_for

from carina_tui.core.audit import AuditLog
from carina_tui.core.paths import audit_log_path
from carina_tui.ui.forms import DisconnectScreen
from carina_tui.ui.screens import ConfirmScreen

RULE = 'label "carina.protected=true" (default)'


def notices(app) -> str:
    return "\n".join(n.message for n in app._notifications)


def audit_for(container_id: str) -> list[tuple[str, str, str]]:
    return [(line["action"], line["outcome"], line.get("rule", ""))
            for line in AuditLog(audit_log_path()).read() if line["target_id"] == container_id]


async def test_every_mutating_key_on_a_protected_container_is_refused_and_audited(docker_host, test_engine, scratch):
    net = scratch.network("agents")
    name = scratch.run("agent", network=net, labels={"carina.protected": "true"})
    before = json.loads(test_engine.docker("inspect", name))[0]
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await select_row(pilot, "containers", name)
        for key in ("s", "R", "d"):
            await pilot.press(key)
            await settle_workers(pilot, "mutate")
            assert not isinstance(app.screen, ConfirmScreen), f"{key} must not even ask"
        await wait_for(pilot, lambda: notices(app).count(f"is protected by the rule {RULE}") >= 3,
                       "each refusal names the rule")

        await shown(pilot, "networks", net)
        await select_row(pilot, "networks", net)
        await open_form(pilot, "x", DisconnectScreen)
        await type_text(pilot, "filter", name)
        sentence = await submit(pilot)
        assert f"is protected by the rule {RULE}" in sentence and "disconnect is refused" in sentence, sentence

    after = json.loads(test_engine.docker("inspect", name))[0]
    assert after["State"]["Status"] == "running" and after["State"]["StartedAt"] == before["State"]["StartedAt"]
    assert set(after["NetworkSettings"]["Networks"]) == {net}
    assert audit_for(before["Id"]) == [
        ("container.stop", "refused", RULE),
        ("container.restart", "refused", RULE),
        ("container.remove", "refused", RULE),
        ("network.disconnect", "refused", RULE),
    ]


async def test_the_system_pane_starts_a_stopped_agent_and_refuses_to_remove_it(docker_host, test_engine, scratch):
    name = scratch.create("carina-svcd", "sleep", "3600", exact_name=True)
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await pilot.press("4")
        row = await wait_for(pilot, lambda: next((r for r in app.pane("system").items.values()
                                                  if r.container.name == name), None), "the agent is listed")
        table = app.pane("system").table
        table.move_cursor(row=table.get_row_index(row.key))
        await pilot.press("d")
        await settle_workers(pilot, "mutate")
        await wait_for(pilot, lambda: 'is protected by the rule name "carina-svcd" (default)' in notices(app),
                       "remove is refused with the rule")
        await pilot.press("s")
        await settle_workers(pilot, "mutate")
        await wait_for(pilot, lambda: test_engine.docker("inspect", "--format", "{{.State.Status}}", name).strip()
                       == "running", "s starts the agent")
        cid = row.container.id
        await wait_for(pilot, lambda: app.pane("system").items[row.key].container.state == "running",
                       "the pane follows")
    assert audit_for(cid) == [("container.remove", "refused", 'name "carina-svcd" (default)'),
                              ("container.start", "done", "")]

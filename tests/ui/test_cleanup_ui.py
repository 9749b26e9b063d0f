"""``x`` in the Containers pane, driven with Pilot against the real engine: the plan follows the
pane's filter (words, label=, until=), the three lists, confirmation with the count, removal with
a summary, a race between plan and confirmation, and protected containers kept and audited."""

from __future__ import annotations

from pilot_helpers import SIZE, find, make_app, shown, started, wait_for
from textual.widgets import Checkbox, DataTable, ProgressBar, Static

from carina_tui.core.audit import AuditLog
from carina_tui.core.paths import audit_log_path
from carina_tui.ui.cleanup import CleanupScreen
from carina_tui.ui.screens import ConfirmScreen


def rows(screen: CleanupScreen, table: str) -> list[tuple[str, ...]]:
    t = screen.query_one(f"#{table}", DataTable)
    return [tuple(getattr(v, "plain", str(v)) for v in t.get_row_at(i)) for i in range(t.row_count)]


def text(screen: CleanupScreen, widget: str) -> str:
    return str(screen.query_one(f"#{widget}", Static).render())


async def filter_pane(pilot, words: str) -> None:
    await pilot.press("3", "slash", *words, "enter")
    await wait_for(pilot, lambda: pilot.app.pane("containers").filter_text == words, "the filter is set")


async def open_plan(pilot) -> CleanupScreen:
    await pilot.press("x")
    return await wait_for(pilot, lambda: isinstance(pilot.app.screen, CleanupScreen) and pilot.app.screen,
                          "x opens the cleanup plan")


async def plan_of_this_test(pilot, scratch, waits_for: str) -> CleanupScreen:
    """Once ``waits_for`` shows, filter the pane to this test's containers and open the plan."""
    await started(pilot)
    await shown(pilot, "containers", waits_for)
    await filter_pane(pilot, f"t{scratch.tag}")
    return await open_plan(pilot)


async def test_x_plans_what_the_filter_shows_and_removes_after_confirming_the_count(
        docker_host, test_engine, scratch):
    plain = [scratch.exited("job1"), scratch.create("job2")]
    keeper = scratch.exited("keeper", labels={"carina.protected": "true"})
    running = scratch.run("web")
    other = f"x{scratch.tag[::-1]}-other"  # stopped, but the filter hides it
    scratch.create(other, exact_name=True)
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        for name in (*plain, keeper, running, other):
            await shown(pilot, "containers", name)
        await filter_pane(pilot, f"t{scratch.tag}")
        screen = await open_plan(pilot)
        assert sorted(r[0] for r in rows(screen, "cleanup-remove")) == sorted(plain)
        assert rows(screen, "cleanup-kept") == [(keeper, "exited", find(app, "containers", keeper).node,
                                                  'label "carina.protected=true" (default)')]
        hidden = screen.plan.hidden_by_filter
        assert hidden >= 1 and f"Hidden by the filter: {hidden} stopped" in text(screen, "cleanup-hidden")
        assert screen.query_one("#cleanup-volumes", Checkbox).value is False
        await pilot.press("v")
        assert screen.query_one("#cleanup-volumes", Checkbox).value is True
        await pilot.press("v")

        await pilot.press("d")
        confirm = await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen,
                                 "d asks first")
        assert confirm.question == "Remove 2 stopped containers?"
        await pilot.press("y")
        await wait_for(pilot, lambda: screen.result is not None, "the removal finishes", timeout=30)
        summary = text(screen, "cleanup-summary")
        assert "Removed (2)" in summary and "Skipped (0)" in summary and "Failed (0)" in summary
        assert all(f"  {n}\n" in summary for n in plain), summary
        await wait_for(pilot, lambda: (bar := screen.query_one("#cleanup-progress", ProgressBar)).display
                       and bar.progress == bar.total == 2, "the progress bar shows every removal")
        await wait_for(pilot, lambda: not any(find(app, "containers", n) for n in plain),
                       "the removed containers leave the pane")
        await pilot.press("escape")
        assert not isinstance(app.screen, CleanupScreen)
    assert not any(test_engine.ids(f"name=^/{n}$") for n in plain)
    for name in (keeper, running, other):
        assert test_engine.ids(f"name=^/{name}$"), name
    audit = {(line["target_name"].rsplit("/", 1)[-1], line["outcome"]) for line in AuditLog(audit_log_path()).read()}
    assert {(plain[0], "done"), (plain[1], "done"), (keeper, "refused")} <= audit


async def test_a_container_renamed_to_the_agents_name_after_the_plan_is_skipped_with_the_reason(
        docker_host, test_engine, scratch):
    planned = scratch.exited("soon-agent")
    stays = scratch.exited("plain")
    assert not test_engine.ids("name=^/carina-svcd$")
    scratch.containers.append("carina-svcd")
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = pilot.app
        screen = await plan_of_this_test(pilot, scratch, stays)
        assert sorted(r[0] for r in rows(screen, "cleanup-remove")) == sorted([planned, stays])
        test_engine.docker("rename", planned, "carina-svcd")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "d asks first")
        await pilot.press("y")
        await wait_for(pilot, lambda: screen.result is not None, "the removal finishes", timeout=30)
        assert [o.reason for o in screen.result.skipped] == [
            'it is protected now (renamed to carina-svcd) by the rule name "carina-svcd" (default)']
        summary = text(screen, "cleanup-summary")
        assert "Removed (1)" in summary and "Skipped (1)" in summary and "renamed to carina-svcd" in summary
        await wait_for(pilot, lambda: find(app, "containers", "carina-svcd") and not find(app, "containers", stays),
                       "the pane follows the rename and the removal")
    assert test_engine.ids("name=^/carina-svcd$")
    assert not test_engine.ids(f"name=^/{stays}$")


async def test_the_pane_filter_understands_label_and_until(docker_host, test_engine, scratch):
    young = scratch.exited("young", labels={"carina.cleanup": scratch.tag})
    scratch.exited("unlabelled")
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await shown(pilot, "containers", young)
        pane = app.pane("containers")
        await filter_pane(pilot, f"label=carina.cleanup={scratch.tag}")
        await wait_for(pilot, lambda: [k for k in pane._shown] == [find(app, "containers", young).key],
                       "label= shows only the labelled container")
        screen = await open_plan(pilot)
        assert [r[0] for r in rows(screen, "cleanup-remove")] == [young]
        await pilot.press("escape")

        await pilot.press("escape")  # clear the filter
        await filter_pane(pilot, f"until=1h t{scratch.tag}")
        await wait_for(pilot, lambda: not pane._shown, "until=1h hides containers made a moment ago")
        screen = await open_plan(pilot)
        assert screen.plan.count == 0 and rows(screen, "cleanup-remove") == []
        assert "Nothing to remove" in text(screen, "cleanup-hint")
        await pilot.press("d")
        await pilot.pause()
        assert app.screen is screen, "with nothing to remove, d does nothing"
        await pilot.press("escape")
        await pilot.press("escape")
        await filter_pane(pilot, "until=soon")
        screen = await open_plan(pilot)
        assert "until= takes a duration such as 90s" in text(screen, "cleanup-filter")
    assert test_engine.ids(f"name=^/{young}$")


async def test_when_the_audit_log_cannot_be_written_nothing_is_removed_and_the_screen_says_why(
        docker_host, test_engine, scratch):
    plain = scratch.exited("job")
    keeper = scratch.exited("keeper", labels={"carina.protected": "true"})
    log = audit_log_path()
    log.parent.parent.mkdir(parents=True, exist_ok=True)
    log.parent.write_text("a file where the log folder should be\n")
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = pilot.app
        screen = await plan_of_this_test(pilot, scratch, keeper)
        assert [r[0] for r in rows(screen, "cleanup-remove")] == [plain]
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "d asks first")
        await pilot.press("y")
        sentence = f"The audit log {log} cannot be written ({log.parent} is not a folder)"
        await wait_for(pilot, lambda: sentence in text(screen, "cleanup-summary"), "the screen says why")
        assert sentence in "\n".join(n.message for n in app._notifications)
        assert not screen.running
    assert test_engine.ids(f"name=^/{plain}$") and test_engine.ids(f"name=^/{keeper}$")

"""The cursor stays on its container while rows come, go and get sorted; when its container goes,
it moves to the neighbour and the console says so. An action key acts on the container that was
highlighted, even when rows move between the key and the action."""

from __future__ import annotations

from pilot_helpers import SIZE, TRAPPED, burst, find, make_app, select_row, started, wait_for
from carina_tui.ui.app import CarinaApp
from carina_tui.ui.messages import ContainersChanged
from carina_tui.ui.tables import TablePane


def highlighted(app) -> str:
    pane = app.pane("containers")
    row = pane.table.get_row_at(pane.table.cursor_row)
    return row[0].plain


async def test_the_cursor_stays_on_its_container_and_says_where_it_went(docker_host, test_engine, scratch, monkeypatch):
    # An action key right after the cursor moved by itself is refused: made long enough to hit here.
    monkeypatch.setattr(TablePane, "MOVED_GRACE", 600.0)
    # Every sentence the console says, kept: Textual forgets a notification after 5 s, and on a
    # loaded machine a step of this test can take longer than that.
    said: list[str] = []
    shown_notify = CarinaApp.notify

    def notify(app, message, *args, **kwargs):
        said.append(str(message))
        return shown_notify(app, message, *args, **kwargs)

    monkeypatch.setattr(CarinaApp, "notify", notify)

    def notices(_app) -> str:
        return "\n".join(said)

    k = {n: scratch.run(f"k{n}", *TRAPPED) for n in range(1, 7)}
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        pane = app.pane("containers")
        # By name, so that where each row goes is plain (the default order, running first, moves
        # k4 down when it stops).
        pane.sort_by("name")
        await select_row(pilot, "containers", k[4])

        # New containers sorted before k4 and one removed before it: the rows shift, the cursor does not.
        early = [scratch.run(f"a{n}") for n in range(1, 4)]
        test_engine.docker("rm", "--force", k[2])
        await wait_for(pilot, lambda: all(find(app, "containers", n) for n in early)
                       and not find(app, "containers", k[2]), "the pane shows the new rows and drops k2")
        assert highlighted(app) == k[4] and pane.selected.name == k[4]

        # Rows move between the key and its action: s still stops k4, and only k4.
        gateway = app.session.gateways[docker_host]
        late = scratch.run("a0")
        fresh = gateway.containers(test_engine.ids(f"name=^/{late}$"))
        await burst(pilot, "s", news=(ContainersChanged(docker_host, fresh, set()),))
        await wait_for(pilot, lambda: (c := find(app, "containers", k[4])) and c.state == "exited",
                       "s stops the highlighted k4")
        assert highlighted(app) == k[4]
        for n in (1, 3, 5, 6):
            assert test_engine.docker("inspect", "--format", "{{.State.Status}}", k[n]).strip() == "running", k[n]

        # k4 goes: the cursor moves to the row that took its place, and the console names both.
        test_engine.docker("rm", "--force", k[4])
        await wait_for(pilot, lambda: not find(app, "containers", k[4]), "k4 leaves the pane")
        assert highlighted(app) == k[5]
        assert f"{k[4]} is gone; the cursor moved to {k[5]}." in notices(app)
        # An action key now would act on a container the user did not choose: refused once.
        await pilot.press("s")
        await wait_for(pilot, lambda: "nothing was done; press the key again to act on" in notices(app),
                       "s right after the move is refused")
        assert test_engine.docker("inspect", "--format", "{{.State.Status}}", k[5]).strip() == "running"

        # The last row goes: the cursor moves to the one before it.
        pane._set_filter(scratch.name("k"))
        await select_row(pilot, "containers", k[6])
        assert [r[0].plain for r in map(pane.table.get_row_at, range(pane.table.row_count))] == [k[1], k[3], k[5], k[6]]
        test_engine.docker("rm", "--force", k[6])
        await wait_for(pilot, lambda: not find(app, "containers", k[6]), "k6 leaves the pane")
        assert highlighted(app) == k[5]
        assert f"{k[6]} is gone; the cursor moved to {k[5]}." in notices(app)

        # The filter hides the highlighted row: the cursor moves too, and nothing is said.
        gone_said = notices(app).count("is gone")
        pane._set_filter(k[3])
        await pilot.pause()
        assert highlighted(app) == k[3]
        assert notices(app).count("is gone") == gone_said, "a filter is the user's doing: nothing to say"

"""Panes 6 Images and 7 Volumes (issue 16), driven with Pilot against the real engine: what the rows
say (dangling, who uses each, protected use), ``d`` with its confirmation and its refusals, ``p`` and
``P`` through the cleanup screen (preview, confirm, re-check, summary), and what the engine then
holds. Every plan is narrowed to the test's own label (``label=carina.stock=<tag>``): the engine
is shared by the whole run."""

from __future__ import annotations

from pilot_helpers import SIZE, make_app, notices, row_texts, started, wait_for
from textual.widgets import DataTable, Static

import harness
from carina_tui.ui.cleanup_screen import CleanupScreen
from carina_tui.ui.screens import ConfirmScreen
from storage_helpers import Stock

PROTECTED = {"carina.protected": "true"}



def rows(screen: CleanupScreen, table: str) -> list[tuple[str, ...]]:
    t = screen.query_one(f"#{table}", DataTable)
    return [tuple(getattr(v, "plain", str(v)) for v in t.get_row_at(i)) for i in range(t.row_count)]


def text(screen, widget: str) -> str:
    return str(screen.query_one(f"#{widget}", Static).render())


async def open_pane(pilot, key: str, name: str, stock: Stock):
    """Press the pane's number, narrow it to the test's label, wait for ``count`` rows."""
    app = pilot.app
    await pilot.press(key)
    pane = await wait_for(pilot, lambda: app.focused_pane() and str(app.focused_pane().NUMBER) == key
                          and app.focused_pane(), f"{key} focuses the {name} pane")
    await wait_for(pilot, lambda: pane.loaded, f"the {name} pane reads its list")
    await pilot.press("slash", *f"label={stock.label}", "enter")
    await wait_for(pilot, lambda: pane.filter_text == f"label={stock.label}", "the filter is set")
    return pane


def shown_rows(pane) -> dict[str, list[str]]:
    return {r[0]: r for r in row_texts(pane)}


async def choose(pilot, pane, key: str) -> None:
    table = pane.table
    table.focus()
    table.move_cursor(row=table.get_row_index(key))
    await pilot.pause()
    assert pane.selected is not None and pane.selected.key == key


async def test_images_pane_marks_dangling_and_protected_use_and_d_asks_then_removes(docker_host, test_engine,
                                                                                   scratch, stock):
    used = stock.image(f"t{scratch.tag}-used:1")
    stock.image()  # dangling
    spare = stock.image(f"t{scratch.tag}-spare:1")
    agent = scratch.create("agent", image=used, labels=PROTECTED)
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        await started(pilot)
        pane = await open_pane(pilot, "6", "Images", stock)
        await wait_for(pilot, lambda: len(pane._shown) == 3, "the test's three images show")
        shown = shown_rows(pane)
        assert set(shown) == {f"t{scratch.tag}-used:1", f"t{scratch.tag}-spare:1", "<none> dangling"}
        assert shown[f"t{scratch.tag}-used:1"][-1] == f"⚑ {agent}"
        assert shown[f"t{scratch.tag}-spare:1"][-1] == "-" and shown["<none> dangling"][-1] == "-"

        keep = next(i for i in pane.items.values() if i.id == used)
        await choose(pilot, pane, keep.key)
        await pilot.press("d")
        await wait_for(pilot, lambda: "is kept: the protected container" in notices(pilot.app),
                       "d on a protected image says why, at once")
        assert not isinstance(pilot.app.screen, ConfirmScreen)

        gone = next(i for i in pane.items.values() if i.id == spare)
        await choose(pilot, pane, gone.key)
        await pilot.press("d")
        confirm = await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen) and pilot.app.screen,
                                 "d asks first")
        assert confirm.question == f"Remove image t{scratch.tag}-spare:1 from node {gone.node}?"
        assert gone.node and f"Only node {gone.node}'s copy goes" in confirm.detail
        await pilot.press("y")
        await wait_for(pilot, lambda: gone.key not in pane.items, "the removed image leaves the pane")
        assert "was removed" in notices(pilot.app)
    assert stock.has_image(used) and not stock.has_image(spare)


async def test_an_image_with_two_tags_shows_both_names_and_d_names_its_node(docker_host, test_engine, scratch,
                                                                             stock):
    first, second = f"t{scratch.tag}-multi:latest", f"t{scratch.tag}-multi:qa"
    made = stock.image(first)
    stock.tag(first, second)
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        await started(pilot)
        pane = await open_pane(pilot, "6", "Images", stock)
        await wait_for(pilot, lambda: len(pane._shown) == 1, "the test's image shows once")
        (row,) = row_texts(pane)
        assert row[0] == f"{first} +1", row
        item = next(i for i in pane.items.values() if i.id == made)
        await choose(pilot, pane, item.key)
        await pilot.press("enter")
        await wait_for(pilot, lambda: f"{first}, {second}" in notices(pilot.app), "enter names every tag")
        await pilot.press("slash", *"multi:qa", "enter")
        await wait_for(pilot, lambda: pane.filter_text.endswith("multi:qa"), "the filter is set")
        await wait_for(pilot, lambda: len(pane._shown) == 1, "the filter finds it by its second name")
        await choose(pilot, pane, item.key)
        await pilot.press("d")
        confirm = await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen) and pilot.app.screen,
                                 "d asks first")
        assert confirm.question == f"Remove image {first} from node {item.node}?"
        assert f"All its names go from node {item.node}: {first}, {second}." in confirm.detail
        await pilot.press("y")
        await wait_for(pilot, lambda: item.key not in pane.items, "the removed image leaves the pane")
    assert not stock.has_image(made)


async def test_p_plans_the_unused_images_and_P_only_the_dangling_ones(docker_host, test_engine, scratch, stock):
    used = stock.image(f"t{scratch.tag}-used:1")
    bare = stock.image()
    spare = stock.image(f"t{scratch.tag}-spare:1")
    agent = scratch.create("agent", image=used, labels=PROTECTED)
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        pane = await open_pane(pilot, "6", "Images", stock)
        await wait_for(pilot, lambda: len(pane._shown) == 3, "the test's three images show")

        await pilot.press("P")
        screen = await wait_for(pilot, lambda: isinstance(app.screen, CleanupScreen) and app.screen,
                                "P opens the dangling-only plan")
        assert text(screen, "cleanup-remove-title") == "To remove (1)"
        assert [r[0] for r in rows(screen, "cleanup-remove")] == ["<none> (dangling)"]
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, CleanupScreen), "escape closes the plan")

        await pilot.press("p")
        screen = await wait_for(pilot, lambda: isinstance(app.screen, CleanupScreen) and app.screen,
                                "p opens the plan")
        assert sorted(r[0] for r in rows(screen, "cleanup-remove")) == sorted(
            ["<none> (dangling)", f"t{scratch.tag}-spare:1"])
        (kept,) = rows(screen, "cleanup-kept")
        assert kept[0] == f"t{scratch.tag}-used:1" and kept[2] == f"{agent} created"
        assert kept[3] == 'label "carina.protected=true" (default)'
        await pilot.press("d")
        confirm = await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen, "d asks")
        assert confirm.question == "Remove 2 unused images?"
        await pilot.press("y")
        await wait_for(pilot, lambda: screen.result is not None, "the prune finishes", timeout=30)
        summary = text(screen, "cleanup-summary")
        assert "Removed (2)" in summary and "Skipped (0)" in summary and "Failed (0)" in summary
        await pilot.press("escape")
        await wait_for(pilot, lambda: len(pane._shown) == 1, "the pane reads its list again")
    assert stock.has_image(used) and not stock.has_image(bare) and not stock.has_image(spare)


async def test_volumes_pane_prune_keeps_the_protected_ones_and_skips_one_mounted_after_the_plan(
        docker_host, test_engine, scratch, stock):
    data = stock.volume("data")
    late = stock.volume("late")
    spare = stock.volume("spare")
    agent = scratch.name("agent")
    scratch.containers.append(agent)
    test_engine.docker("create", "--name", agent, "--label", harness.TEST_LABEL, "-v", f"{data}:/data",
                       harness.CONSUL_IMAGE, "true")
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        pane = await open_pane(pilot, "7", "Volumes", stock)
        await wait_for(pilot, lambda: len(pane._shown) == 3, "the test's three volumes show")
        assert shown_rows(pane)[data][4] == f"⚑ {agent}"
        await pilot.press("p")
        screen = await wait_for(pilot, lambda: isinstance(app.screen, CleanupScreen) and app.screen,
                                "p opens the plan")
        assert sorted(r[0] for r in rows(screen, "cleanup-remove")) == sorted([late, spare])
        assert [(r[0], r[3]) for r in rows(screen, "cleanup-kept")] == [
            (data, 'image repository "carina/consul" (default)')]
        user = scratch.name("mounts-late")  # after the plan was shown, before it is confirmed
        scratch.containers.append(user)
        test_engine.docker("create", "--name", user, "--label", harness.TEST_LABEL, "-v", f"{late}:/data",
                           harness.BUSYBOX_IMAGE, "true")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "d asks")
        await pilot.press("y")
        await wait_for(pilot, lambda: screen.result is not None, "the prune finishes", timeout=30)
        assert [o.plain_name for o in screen.result.removed] == [spare]
        (skipped,) = screen.result.skipped
        assert skipped.plain_name == late and user in skipped.reason
        assert "Skipped (1)" in text(screen, "cleanup-summary")
    assert stock.has_volume(data) and stock.has_volume(late) and not stock.has_volume(spare)


async def test_at_80x24_the_images_pane_shows_names_and_users(docker_host, scratch, stock):
    used = stock.image(f"t{scratch.tag}-used:1")
    agent = scratch.create("agent", image=used, labels=PROTECTED)
    async with make_app(docker_host).run_test(size=(80, 24)) as pilot:
        await started(pilot)
        pane = await open_pane(pilot, "6", "Images", stock)
        await wait_for(pilot, lambda: len(pane._shown) == 1, "the test's image shows")
        table = pane.table
        line = "".join(seg.text for seg in table.render_line(1))  # the first row under the header
        assert f"t{scratch.tag}-used:1" in line and agent[:8] in line, line
        header = "".join(seg.text for seg in table.render_line(0))
        assert "Repository:tag" in header and "Used by" in header, header
        await pilot.press("z")  # zoomed to the whole terminal, 80 columns have room for these too
        await wait_for(pilot, lambda: "Node" in "".join(seg.text for seg in table.render_line(0)), "z shows Node")
        header = "".join(seg.text for seg in table.render_line(0))
        for column in ("Node", "Size"):
            assert column in header, header
        await pilot.press("z")
        await pilot.press("7")
        await wait_for(pilot, lambda: pilot.app.focused_pane() and pilot.app.focused_pane().TITLE == "Volumes",
                       "7 shows the Volumes pane")
        await pilot.press("3")
        await wait_for(pilot, lambda: pilot.app.focused_pane() and pilot.app.focused_pane().TITLE == "Containers",
                       "3 goes back to the console's Containers pane")


async def test_read_only_refuses_d_and_p(docker_host, scratch, stock):
    bare = stock.image()
    async with make_app(docker_host, read_only=True).run_test(size=SIZE) as pilot:
        await started(pilot)
        pane = await open_pane(pilot, "6", "Images", stock)
        await wait_for(pilot, lambda: len(pane._shown) == 1, "the image shows")
        await pilot.press("d", "p")
        await pilot.pause(0.3)
        assert not isinstance(pilot.app.screen, (ConfirmScreen, CleanupScreen))
    assert stock.has_image(bare)


async def test_an_image_committed_and_a_volume_created_elsewhere_show_without_r(docker_host, test_engine, scratch,
                                                                               stock):
    """The panes follow the engine's image and volume events (QA: a committed image showed only after r)."""
    base = scratch.run("base")
    committed = f"t{scratch.tag}-committed:1"
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        images = await open_pane(pilot, "6", "Images", stock)
        await wait_for(pilot, lambda: len(images._shown) == 0, "none of the test's images yet")
        test_engine.docker("commit", "--change", f"LABEL {stock.label}", base, committed)
        stock.refs.append(committed)
        await wait_for(pilot, lambda: [r[0] for r in row_texts(images)] == [committed],
                       "the committed image shows, without r", timeout=10)

        volumes = await open_pane(pilot, "7", "Volumes", stock)
        await wait_for(pilot, lambda: len(volumes._shown) == 0, "none of the test's volumes yet")
        made = stock.volume("made")
        await wait_for(pilot, lambda: made in shown_rows(volumes), "the new volume shows, without r", timeout=10)
        test_engine.docker("volume", "rm", made)
        await wait_for(pilot, lambda: made not in shown_rows(volumes), "a removed volume leaves, without r",
                       timeout=10)
        assert app.focused_pane() is volumes

"""Every mutating key on a protected container, in the real app against the real engine: refused
with the rule named where the user acted, the container unchanged, an audit line per attempt.
Starting a stopped protected container is allowed."""

from __future__ import annotations

import json

from pilot_helpers import SIZE, find, make_app, open_form, select_row, settle_workers, shown, started, submit, \
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


async def test_d_on_a_network_with_a_stopped_agent_attached_is_refused_with_its_name(docker_host, test_engine,
                                                                                     scratch):
    """Issue 13, hole 4: network inspect lists running members only; the guard looks at every one."""
    net = scratch.network("agents")
    scratch.containers.append("carina-svcd")
    test_engine.docker("create", "--name", "carina-svcd", "--network", net, "--label", "carina.test=1",
                       "busybox:latest", "sleep", "3600")
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await shown(pilot, "containers", "carina-svcd")
        await select_row(pilot, "networks", net)
        await pilot.press("d")
        await settle_workers(pilot, "mutate")
        await wait_for(pilot, lambda: f"Network {net} is refused: the protected container " in notices(app),
                       "d is refused")
        assert "carina-svcd (created) is attached" in notices(app), "the refusal names the agent"
        assert 'name "carina-svcd" (default)' in notices(app)
        assert not isinstance(app.screen, ConfirmScreen)
    assert test_engine.docker("network", "ls", "--quiet", "--filter", f"name=^{net}$").strip()
    test_engine.docker("start", "carina-svcd")
    assert test_engine.docker("inspect", "--format", "{{.State.Status}}", "carina-svcd").strip() == "running"


async def test_d_on_a_network_asks_before_removing_even_when_the_pane_expected_a_refusal(docker_host, test_engine,
                                                                                        scratch, monkeypatch):
    """The pane hands a refusal it expects to the guard to say why; when the guard finds nothing to
    refuse (the pane was behind the engine), the user is asked: d never removes without asking."""
    net = scratch.network("behind")
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        # The engine's news has not reached the pane yet: it still believes a protected member is attached.
        monkeypatch.setattr(app.session.guard, "would_refuse_network", lambda *a, **k: "a stale reason")
        await select_row(pilot, "networks", net)
        await pilot.press("d")
        await settle_workers(pilot, "mutate")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "d asks")
        assert test_engine.docker("network", "ls", "--quiet", "--filter", f"name=^{net}$").strip()
        await pilot.press("n")
        await pilot.pause()
    assert test_engine.docker("network", "ls", "--quiet", "--filter", f"name=^{net}$").strip(), "n keeps it"


async def test_d_on_an_agent_named_by_image_id_or_moved_tag_is_refused(docker_host, test_engine, scratch):
    """Issue 13, hole 1, in the console: the pane, the key and the guard agree on the image rule."""
    from carina_tui.sandbox.images import rootfs_tar

    consul = test_engine.docker("image", "inspect", "--format", "{{.Id}}", "carina/consul:latest").strip()
    by_id = scratch.create("by-id", image=consul[len("sha256:"):][:12])
    moved_tag = f"carina/consul:t{scratch.tag}"
    for label in ("before", "after"):  # the second import moves the tag to a new image
        test_engine.docker("import", "--change", f'LABEL carina.test.image="{scratch.tag}-{label}"', "-",
                           moved_tag, input=rootfs_tar(), timeout=120)
        if label == "before":
            first = test_engine.docker("image", "inspect", "--format", "{{.Id}}", moved_tag).strip()
            moved = scratch.create("moved", image=moved_tag)
    rule = 'image repository "carina/consul" (default)'
    try:
        async with make_app(docker_host).run_test(size=SIZE) as pilot:
            app = await started(pilot)
            for name in (by_id, moved):
                await select_row(pilot, "containers", name)
                await pilot.press("d")
                await settle_workers(pilot, "mutate")
                assert not isinstance(app.screen, ConfirmScreen), f"d must not even ask for {name}"
                await wait_for(pilot, lambda: f"{name} is protected by the rule {rule}" in notices(app),
                               f"d on {name} is refused with the image rule")
            assert app.pane("containers").items[find(app, "containers", moved).key].image == first, \
                "the engine lists the moved tag's agent by image id"
        for name in (by_id, moved):
            assert test_engine.ids(f"name=^/{name}$")
    finally:
        scratch.cleanup()
        test_engine.docker("rmi", moved_tag, first, check=False)

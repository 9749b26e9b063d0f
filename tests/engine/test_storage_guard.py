"""Images and volumes (issue 16) on the real engine: the lists, who uses each, the prune plans, and
the guard, which never removes one a protected container uses, running or stopped, however it
names the image, and decides each removal on a fresh look just before it.
"""

from __future__ import annotations

import pytest

import harness
from carina_tui.core.clusters import ClusterSpec
from carina_tui.core.errors import Conflict
from carina_tui.core.paths import audit_log_path
from carina_tui.core.permit import issue
from carina_tui.core.planner import plan_prune
from carina_tui.services.runner import execute
from carina_tui.services.session import Session
from carina_tui.services.storage import list_images, list_volumes
from storage_helpers import Stock, image_id

IMAGE_RULE = 'image repository "carina/consul" (default)'
LABEL_RULE = 'label "carina.protected=true" (default)'



@pytest.fixture
def session(docker_host):
    made = Session(ClusterSpec("test", "cli", (docker_host,)))
    yield made
    made.close()


def images_of(session, stock):
    """The test's own images (by its label), with their users, keyed by id."""
    containers = session.snapshot().containers
    listed = list_images(session, containers)
    assert listed.errors == ()
    return {i.id: i for i in listed.items if i.label_map.get(stock.key) == stock.value}


def image_plan(session, stock, **options):
    return plan_prune("images", images_of(session, stock).values(), stock.flt, **options)


def volume_plan(session, stock):
    listed = list_volumes(session, session.snapshot().containers)
    return plan_prune("volumes", listed.items, stock.flt)


def create(engine, scratch, base, ref, *options, start=False, protected=False):
    name = scratch.name(base)
    scratch.containers.append(name)
    labels = ["--label", harness.TEST_LABEL] + (["--label", "carina.protected=true"] if protected else [])
    engine.docker("create", "--name", name, *labels, *options, ref, "true")
    if start:
        engine.docker("start", "--attach", name, check=False)
    return name


# -- lists -------------------------------------------------------------------------------------


def test_the_lists_say_who_uses_each_image_and_volume(session, test_engine, scratch, stock):
    used = stock.image(f"t{scratch.tag}-used:1")
    idle = stock.image()  # no name: dangling
    vol = stock.volume("data")
    spare = stock.volume("spare")
    user = create(test_engine, scratch, "user", used, "-v", f"{vol}:/data", start=True)
    images = images_of(session, stock)
    assert images[used].tags == (f"t{scratch.tag}-used:1",) and not images[used].dangling
    assert [c.name for c in images[used].users] == [user] and images[used].users[0].state == "exited"
    assert images[idle].dangling and images[idle].users == () and images[idle].size > 0
    assert images[used].protected_by is None
    volumes = {v.name: v for v in list_volumes(session, session.snapshot().containers).items}
    assert [c.name for c in volumes[vol].users] == [user] and volumes[spare].users == ()
    assert volumes[vol].driver == "local" and volumes[vol].mountpoint.endswith(f"/{vol}/_data")
    assert volumes[vol].size is not None  # the engine's /system/df knows a local volume's size


# -- plans -------------------------------------------------------------------------------------


WAYS = ("image id", "short id", "its tag", "another tag", "tag moved onto another image", "a running agent")


def agent_for(way, engine, scratch, stock):
    """A protected container using the test's image in ``way``; returns (the image it must keep, its name)."""
    tag = f"t{scratch.tag}-agent:1"
    made = stock.image(tag)
    if way == "image id":
        ref = made
    elif way == "short id":
        ref = made.split(":", 1)[1][:8]
    elif way in ("its tag", "tag moved onto another image", "a running agent"):
        ref = tag
    else:
        ref = f"t{scratch.tag}-other:2"
        stock.tag(made, ref)
    if way == "a running agent":
        name = scratch.run("agent", image=ref, labels={"carina.protected": "true"})
    else:
        name = create(engine, scratch, "agent", ref, protected=True, start=True)
    if way == "tag moved onto another image":
        # ``made`` is dangling now, and the agent names ``other`` by its Config.Image, though made from ``made``
        other = stock.image(tag)
        return (made, other), name
    return (made,), name


def is_dangling(engine, image_id: str) -> bool:
    return engine.docker("image", "inspect", "--format", "{{len .RepoTags}}{{len .RepoDigests}}", image_id).strip() == "00"


@pytest.mark.parametrize("way", WAYS)
def test_an_image_a_protected_container_uses_is_never_planned(session, test_engine, scratch, stock, way):
    keep, agent = agent_for(way, test_engine, scratch, stock)
    spare = stock.image()
    for dangling_only in (False, True):
        plan = image_plan(session, stock, dangling_only=dangling_only)
        assert spare in [i.id for i in plan.to_remove]
        assert not set(keep) & {i.id for i in plan.to_remove}, way
        kept = {k.item.id: k for k in plan.protected_kept}
        # a dangling-only plan shows only the dangling ones among the kept (QA: it listed named ones)
        shown = {i for i in keep if not dangling_only or is_dangling(test_engine, i)}
        assert set(kept) & set(keep) == shown, way
        assert all(kept[i].container.name == agent and kept[i].rule.describe() == LABEL_RULE for i in shown)
    result = execute(session.guard, image_plan(session, stock).to_remove, kept=image_plan(session, stock).protected_kept)
    assert [o.id for o in result.removed] == [spare] and result.failed == []
    assert all(stock.has_image(i) for i in keep) and not stock.has_image(spare)
    # ``d`` on it: the guard says why, writes it down, and the engine still holds it
    for image_id_ in keep:
        image = images_of(session, stock)[image_id_]
        outcome = session.guard.remove_stored(image)
        assert outcome.result == "skipped" and agent in outcome.reason and LABEL_RULE in outcome.reason, outcome
        assert stock.has_image(image_id_)
    refused = [e for e in session.guard.audit.read() if e["action"] == "image.remove" and e["outcome"] == "refused"]
    assert {e["target_id"] for e in refused} >= set(keep)


def test_carina_consul_stays_while_a_stopped_agent_uses_it(session, test_engine, scratch, stock):
    """The agent's image rule, not a label: ``carina/consul`` with its own tag, used by a stopped agent."""
    tag = f"carina/consul:t{scratch.tag}"
    made = stock.image(tag)
    agent = create(test_engine, scratch, "svcd", tag, start=True)
    (kept,) = [k for k in image_plan(session, stock).protected_kept]
    assert kept.item.id == made and kept.container.name == agent and kept.rule.describe() == IMAGE_RULE
    outcome = session.guard.remove_stored(kept.item)
    assert outcome.result == "skipped" and IMAGE_RULE in outcome.reason and stock.has_image(made)
    test_engine.docker("rm", agent)
    plan = image_plan(session, stock)
    assert [i.id for i in plan.to_remove] == [made] and plan.protected_kept == ()


def test_dangling_only_leaves_named_unused_images_hidden(session, stock, scratch):
    named = stock.image(f"t{scratch.tag}-named:1")
    bare = stock.image()
    plan = image_plan(session, stock, dangling_only=True)
    assert [i.id for i in plan.to_remove] == [bare] and plan.hidden_by_filter == 1
    plan = image_plan(session, stock)
    assert sorted(i.id for i in plan.to_remove) == sorted([named, bare])


def test_an_image_in_use_by_a_plain_container_is_not_a_candidate(session, test_engine, scratch, stock):
    used = stock.image(f"t{scratch.tag}-used:1")
    user = create(test_engine, scratch, "user", used)
    plan = image_plan(session, stock)
    assert plan.to_remove == () and plan.protected_kept == ()
    outcome = session.guard.remove_stored(images_of(session, stock)[used])
    assert outcome.result == "skipped" and user in outcome.reason and stock.has_image(used)


# -- the re-check just before each removal -------------------------------------------------------


@pytest.mark.parametrize("protected", [False, True])
def test_a_container_made_from_a_planned_image_after_the_plan_stops_its_removal(session, test_engine, scratch, stock,
                                                                                protected):
    tag = f"t{scratch.tag}-late:1"
    late = stock.image(tag)
    other = stock.image()
    plan = image_plan(session, stock)
    assert sorted(i.id for i in plan.to_remove) == sorted([late, other])
    name = create(test_engine, scratch, "late", tag, protected=protected)
    result = execute(session.guard, plan.to_remove)
    (skipped,) = result.skipped
    assert skipped.id == late and name in skipped.reason
    assert (LABEL_RULE in skipped.reason) == protected
    assert [o.id for o in result.removed] == [other] and stock.has_image(late) and not stock.has_image(other)


def test_a_tag_moved_onto_a_planned_image_after_the_plan_stops_its_removal(session, test_engine, scratch, stock):
    """Only the guard can see this one: no container was made from the image, so the engine would remove it;
    but a protected container names it now (its Config.Image is the tag that moved onto it)."""
    tag = f"t{scratch.tag}-agent:1"
    stock.image(tag)
    agent = create(test_engine, scratch, "agent", tag, protected=True, start=True)
    spare = stock.image(f"t{scratch.tag}-spare:1")
    plan = image_plan(session, stock)
    assert [i.id for i in plan.to_remove] == [spare]
    stock.tag(spare, tag)
    result = execute(session.guard, plan.to_remove)
    assert result.removed == [] and agent in result.skipped[0].reason and LABEL_RULE in result.skipped[0].reason
    assert stock.has_image(spare)


def test_a_volume_mounted_after_the_plan_is_not_removed(session, test_engine, scratch, stock):
    late = stock.volume("late")
    spare = stock.volume("spare")
    plan = volume_plan(session, stock)
    assert sorted(v.name for v in plan.to_remove) == sorted([late, spare])
    user = create(test_engine, scratch, "user", harness.BUSYBOX_IMAGE, "-v", f"{late}:/data")
    result = execute(session.guard, plan.to_remove)
    assert [o.plain_name for o in result.removed] == [spare] and user in result.skipped[0].reason
    assert stock.has_volume(late) and not stock.has_volume(spare)


def test_a_volume_a_protected_container_mounts_is_kept(session, test_engine, scratch, stock):
    vol = stock.volume("consul-data")
    spare = stock.volume("spare")
    agent = create(test_engine, scratch, "svcd", harness.CONSUL_IMAGE, "-v", f"{vol}:/data", start=True)
    plan = volume_plan(session, stock)
    assert [v.name for v in plan.to_remove] == [spare]
    (kept,) = plan.protected_kept
    assert kept.item.name == vol and kept.container.name == agent and kept.rule.describe() == IMAGE_RULE
    outcome = session.guard.remove_stored(kept.item)
    assert outcome.result == "skipped" and agent in outcome.reason and IMAGE_RULE in outcome.reason
    assert stock.has_volume(vol)


# -- what the engine itself must hold to -------------------------------------------------------


def test_an_image_with_names_in_two_repositories_goes_whole(session, stock, scratch):
    made = stock.image(f"t{scratch.tag}-a:1")
    stock.tag(made, f"t{scratch.tag}-b:2")
    outcome = session.guard.remove_stored(images_of(session, stock)[made])
    assert outcome.result == "removed", outcome
    assert not stock.has_image(made)


def test_a_refused_removal_puts_back_the_names_it_took_off(docker_host, test_engine, scratch, stock):
    """The gateway alone (a permit from the test): the engine refuses the last step, the names come back."""
    from carina_tui.gateways.docker_gateway import DockerGateway

    made = stock.image(f"t{scratch.tag}-a:1")
    stock.tag(made, f"t{scratch.tag}-b:2")
    create(test_engine, scratch, "user", made)
    gateway = DockerGateway(docker_host)
    with pytest.raises(Conflict) as err:
        gateway.remove_image(issue("image.remove", made), made, untag=(f"t{scratch.tag}-b:2",))
    assert "being used" in str(err.value) or "must be forced" in str(err.value)
    assert sorted(gateway.stored_image(made).tags) == [f"t{scratch.tag}-a:1", f"t{scratch.tag}-b:2"]
    gateway.close()


def test_read_only_removes_nothing(docker_host, stock):
    made = stock.image()
    vol = stock.volume("ro")
    ro = Session(ClusterSpec("test", "cli", (docker_host,)), read_only=True)
    try:
        images = {i.id: i for i in list_images(ro, []).items}
        volumes = {v.name: v for v in list_volumes(ro, [], sizes=False).items}
        for item in (images[made], volumes[vol]):
            outcome = ro.guard.remove_stored(item)
            assert outcome.result == "skipped" and "read-only" in outcome.reason
    finally:
        ro.close()
    assert stock.has_image(made) and stock.has_volume(vol)


def test_an_unwritable_audit_log_removes_nothing(session, stock):
    made = stock.image()
    vol = stock.volume("audited")
    log = audit_log_path()
    log.mkdir(parents=True)  # a directory where the log should be: it cannot be opened for writing
    images = image_plan(session, stock)
    volumes = volume_plan(session, stock)
    from carina_tui.core.errors import AuditUnwritable

    for plan in (images, volumes):
        with pytest.raises(AuditUnwritable):
            execute(session.guard, plan.to_remove, kept=plan.protected_kept)
        (outcome,) = [session.guard.remove_stored(item) for item in plan.to_remove]
        assert outcome.result == "failed" and str(log) in outcome.reason
    assert stock.has_image(made) and stock.has_volume(vol)


def test_the_gateway_refuses_a_removal_without_the_guards_permit(docker_host, stock):
    from carina_tui.core.errors import GuardBypass
    from carina_tui.core.permit import Permit
    from carina_tui.gateways.docker_gateway import DockerGateway

    made = stock.image()
    vol = stock.volume("bypass")
    gateway = DockerGateway(docker_host)
    with pytest.raises(GuardBypass):
        gateway.remove_image(Permit("image.remove", made), made)
    with pytest.raises(GuardBypass):
        gateway.remove_volume(issue("image.remove", vol), vol)
    gateway.close()
    assert stock.has_image(made) and stock.has_volume(vol)


def test_image_id_helper_agrees_with_the_list(session, test_engine, stock, scratch):
    made = stock.image(f"t{scratch.tag}-x:1")
    assert image_id(test_engine, f"t{scratch.tag}-x:1") == made and made in images_of(session, stock)
